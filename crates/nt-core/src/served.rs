//! The contract of a served model: what the engine needs to know about a model and how it calls it.
//!
//! A served model is a backend built from a checkpoint (today: one on the CPU kernels per model, in
//! `models/*_cpu.rs`). It names its outputs and their per-sample shapes, and computes them for a
//! validated `(B, T, F)` batch given as a slice: no tensor is built on the way in or out. Optional
//! capabilities (attention weights, a teacher-forced pass, embeddings) are declared by the `*_shape` /
//! `*_size` methods returning `Some`; the engine checks them before calling, so the default bodies
//! (which refuse) are reached only by direct callers. The engine handles validation, chunking, output
//! allocation and threads, so a backend only computes.

use std::fmt::Debug;
use std::ops::Range;

use serde::Serialize;

use crate::cpu_threads::{batch_parts, map_index, pool_threads};
use crate::error::{Error, Result};

/// One named output of a model and the shape of one sample's part of it (`[]` for a scalar per sample).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputSpec {
    /// Name, as the key the PyTorch twin's forward uses (or `"logits"`, `"forecast"`, `"outputs"` for
    /// the single output of a model whose forward returns one tensor).
    pub name: String,
    /// Per-sample shape.
    pub shape: Vec<usize>,
}

impl OutputSpec {
    /// An output called `name` shaped `shape` per sample.
    pub fn new(name: impl Into<String>, shape: impl Into<Vec<usize>>) -> Self {
        Self {
            name: name.into(),
            shape: shape.into(),
        }
    }

    /// Values per sample.
    pub fn per_sample(&self) -> usize {
        self.shape.iter().product()
    }
}

/// A validated batch: row-major values of shape `dims = [B, T, F]`.
#[derive(Debug, Clone, Copy)]
pub struct Batch<'a> {
    /// `B * T * F` finite values.
    pub values: &'a [f32],
    /// `[B, T, F]`.
    pub dims: [usize; 3],
}

impl<'a> Batch<'a> {
    /// Samples `B`.
    pub fn batch(&self) -> usize {
        self.dims[0]
    }

    /// Time steps `T`.
    pub fn steps(&self) -> usize {
        self.dims[1]
    }

    /// Samples `rows` of the batch.
    pub fn rows(&self, rows: Range<usize>) -> Batch<'a> {
        let per = self.dims[1] * self.dims[2];
        Batch {
            values: &self.values[rows.start * per..rows.end * per],
            dims: [rows.len(), self.dims[1], self.dims[2]],
        }
    }
}

/// What a model computed for a batch of `B` samples: each output of [`ServedModel::outputs`], in order,
/// row-major `(B, *shape)`, and the attention weights `(B, *attention_shape)` when they were asked for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Computed {
    /// One buffer per output.
    pub outputs: Vec<Vec<f32>>,
    /// The attention weights, when asked for.
    pub attention: Option<Vec<f32>>,
}

/// A model the engine serves. See the module header for the contract.
pub trait ServedModel: Send + Sync + Debug {
    /// Registry name (`"bilstm_classifier"`, ...), as checkpoints store it.
    fn name(&self) -> &'static str;

    /// The config as JSON, field for field the Python dataclass.
    fn config_json(&self) -> Result<String>;

    /// Features per time step of the input.
    fn input_size(&self) -> usize;

    /// The outputs of [`predict`](Self::predict) for windows of `steps` steps, in order. One output for
    /// a model whose PyTorch forward returns one tensor; the forward's dict keys otherwise.
    fn outputs(&self, steps: usize) -> Vec<OutputSpec>;

    /// Floats of intermediates one sample of `steps` steps holds while it is computed: the engine sizes
    /// its chunks of a batch by it, to bound the working memory.
    fn working_set(&self, steps: usize) -> usize;

    /// Computes the outputs (and the attention weights when `with_attention`, if the model has any) of
    /// a batch with `B >= 1`.
    fn predict(&self, x: Batch<'_>, with_attention: bool) -> Result<Computed>;

    /// Per-sample shape of the attention weights for windows of `steps` steps, if the model has them.
    fn attention_shape(&self, _steps: usize) -> Option<Vec<usize>> {
        None
    }

    /// Per-sample shape of the targets a teacher-forced pass reads, if the model has one.
    fn target_shape(&self) -> Option<Vec<usize>> {
        None
    }

    /// Teacher-forced pass: every step after the first reads the true previous target `y`
    /// (`(B, *target_shape)`, validated). Returns the outputs as [`predict`](Self::predict).
    fn teacher_forced(&self, _x: Batch<'_>, _y: &[f32], _with_attention: bool) -> Result<Computed> {
        Err(unsupported(self.name(), "teacher_forced"))
    }

    /// Width of one sample's embedding, if the model gives embeddings.
    fn embedding_size(&self) -> Option<usize> {
        None
    }

    /// The embeddings of a batch, `(B, embedding_size)` row-major.
    fn embed(&self, _x: Batch<'_>) -> Result<Vec<f32>> {
        Err(unsupported(self.name(), "embed"))
    }
}

/// The error for a capability a model does not have.
pub fn unsupported(model: &str, what: &str) -> Error {
    Error::Config(format!("`{model}` has no {what}"))
}

/// A config as JSON text.
pub fn to_json(config: &impl Serialize) -> Result<String> {
    serde_json::to_string(config)
        .map_err(|e| Error::Config(format!("cannot serialise config: {e}")))
}

/// Floats of intermediates a stacked LSTM holds per sample of `steps` steps of `width` features: about
/// `8 * hidden` per time step (gates, states and outputs of a bidirectional layer).
pub fn lstm_working_set(steps: usize, width: usize, hidden: usize) -> usize {
    steps.saturating_mul(8).saturating_mul(hidden.max(width))
}

/// Runs `run(rows, threads)` on one contiguous part of a batch of `batch` samples per thread of the
/// current pool (the calling thread taking the first), and joins the parts in order; `threads` is what
/// each part may use itself (all of the pool's when the batch is not split). Parts are never a single
/// row (see [`batch_parts`]), so the result has the same bits at any thread count. The CPU backends run
/// a whole model per part: samples of a batch never interact, so no part waits for another.
pub(crate) fn in_parts(
    batch: usize,
    run: impl Fn(Range<usize>, usize) -> Result<Computed> + Sync,
) -> Result<Computed> {
    let threads = pool_threads();
    let ranges = batch_parts(batch, threads);
    if ranges.len() < 2 {
        return run(0..batch, threads);
    }
    let mut parts = map_index(ranges.len(), |i| run(ranges[i].clone(), 1)).into_iter();
    let mut part = || {
        parts
            .next()
            .flatten()
            .unwrap_or_else(|| Err(Error::Data("a part of the batch was not computed".into())))
    };
    let mut joined = part()?;
    for _ in 1..ranges.len() {
        let next = part()?;
        for (all, some) in joined.outputs.iter_mut().zip(next.outputs) {
            all.extend_from_slice(&some);
        }
        if let (Some(all), Some(some)) = (joined.attention.as_mut(), next.attention) {
            all.extend_from_slice(&some);
        }
    }
    Ok(joined)
}
