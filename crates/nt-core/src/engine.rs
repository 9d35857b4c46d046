//! The native engine: the served model a checkpoint names (looked up in [`crate::registry`]), called
//! through [`ServedModel`] on slices of the caller's buffer.
//!
//! The engine validates inputs, works through a batch in chunks of bounded working memory, allocates every
//! output before any work (so a batch whose output cannot fit is a data error, never an abort part way),
//! and runs the model on its own thread pool. It keeps the checkpoint's tensors and extra metadata beside
//! the model, so it can count its parameters and write itself back to a file ([`Engine::save`]) that
//! either twin loads. Nothing here knows which models exist.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use candle_core::{Device, Tensor};

use crate::checkpoint::Checkpoint;
use crate::cpu_threads::{with_engine_threads, EngineThreads};
use crate::error::{fmt_shape, Error, Result};
use crate::input::{check_finite, check_sequence_shape, FlatArray};
use crate::kernels::series::zeroed_vec;
use crate::registry;
use crate::served::{Batch, Computed, OutputSpec, ServedModel};

/// A loaded model ready for inference, with the tensors and metadata it was loaded from.
///
/// Each engine owns its thread pool (default: one thread per core), so its kernels never compete with
/// PyTorch's pool or with another engine's. The calling thread works too: a call to an engine of `n`
/// threads uses the caller and up to `n - 1` pool threads.
#[derive(Debug, Clone)]
pub struct Engine {
    model: Arc<dyn ServedModel>,
    tensors: HashMap<String, Tensor>,
    extra: BTreeMap<String, String>,
    threads: EngineThreads,
}

/// Every output of a prediction, by name, and the attention weights when they were asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// `(name, (values, shape))` in the model's order; shapes are `(B, *per-sample shape)`.
    pub outputs: Vec<(String, FlatArray)>,
    /// The attention weights `(B, *attention shape)`, when asked for.
    pub attention: Option<FlatArray>,
}

fn engine_threads(threads: usize) -> Result<EngineThreads> {
    if threads == 0 || threads > 1024 {
        return Err(Error::Config(format!(
            "threads must be in 1..=1024, got {threads}"
        )));
    }
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("nt-engine-{i}"))
        .build()
        .map(EngineThreads::new)
        .map_err(|e| Error::Config(format!("cannot start {threads} engine threads: {e}")))
}

/// Threads an engine uses unless told otherwise: one per available core.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

impl Engine {
    /// Loads a checkpoint file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        Self::from_checkpoint(&Checkpoint::read(path)?).map_err(|e| match e {
            Error::Checkpoint(m) => Error::Checkpoint(format!("{}: {m}", path.display())),
            other => other,
        })
    }

    /// Builds the engine from parsed checkpoint contents, on the CPU.
    pub fn from_checkpoint(ck: &Checkpoint) -> Result<Self> {
        Self::from_checkpoint_on(ck, &Device::Cpu)
    }

    /// Builds the engine from parsed checkpoint contents for `device` (the CPU is the one served today;
    /// another device is a config error).
    pub fn from_checkpoint_on(ck: &Checkpoint, device: &Device) -> Result<Self> {
        Ok(Self {
            model: Arc::from(registry::load(ck, device)?),
            tensors: ck.tensors.clone(),
            extra: ck.extra.clone(),
            threads: engine_threads(default_threads())?,
        })
    }

    /// The same engine running on `threads` threads of its own.
    pub fn with_threads(mut self, threads: usize) -> Result<Self> {
        self.threads = engine_threads(threads)?;
        Ok(self)
    }

    /// Runs `work` with this engine's threads. The calling thread does the work itself, with the
    /// engine's pool as the place the CPU kernels spread parallel work to (the parts of a batch, the
    /// helper direction of a batch-1 BiLSTM): handing the whole call to a pool thread would cost a
    /// wake-up and a context switch per call, and the calling thread would sit idle. Called from a worker
    /// of a rayon pool (which the kernels would otherwise use), the call moves into the engine's own pool.
    fn on_pool<R: Send>(&self, work: impl FnOnce() -> R + Send) -> R {
        if rayon::current_thread_index().is_some() {
            self.threads.pool().install(work)
        } else {
            with_engine_threads(&self.threads, work)
        }
    }

    /// Threads of this engine's pool.
    pub fn threads(&self) -> usize {
        self.threads.pool().current_num_threads()
    }

    /// The served model.
    pub fn model(&self) -> &dyn ServedModel {
        self.model.as_ref()
    }

    /// Registry name of the model.
    pub fn model_name(&self) -> &'static str {
        self.model.name()
    }

    /// The model's config as JSON, field for field the Python dataclass.
    pub fn config_json(&self) -> Result<String> {
        self.model.config_json()
    }

    /// Features per time step the model expects.
    pub fn input_size(&self) -> usize {
        self.model.input_size()
    }

    /// The named outputs of [`predict_outputs`](Self::predict_outputs) for windows of `steps` steps.
    pub fn outputs(&self, steps: usize) -> Vec<OutputSpec> {
        self.model.outputs(steps)
    }

    /// Number of scalar parameters: the elements of every tensor the model was loaded from (each one
    /// checked against the model's own parameter list at load), as the PyTorch twin's `num_parameters()`.
    pub fn num_parameters(&self) -> usize {
        self.tensors.values().map(|t| t.elem_count()).sum::<usize>()
    }

    /// The checkpoint this engine would save: its model name, config, tensors and extra metadata.
    pub fn to_checkpoint(&self) -> Result<Checkpoint> {
        Ok(Checkpoint {
            model: self.model_name().to_string(),
            config: self.config_json()?,
            extra: self.extra.clone(),
            tensors: self.tensors.clone(),
        })
    }

    /// Writes the model to a checkpoint file, atomically.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        self.to_checkpoint()?.write(path)
    }

    /// Validates a flat `(B, T, F)` batch and runs a model with one output (logits `(B, num_classes)`
    /// for a classifier, the forecast `(B, horizon, output_size)` for LSTMAttention, ...). A model with
    /// several outputs is a config error here: use [`predict_outputs`](Self::predict_outputs).
    pub fn predict(&self, values: &[f32], dims: &[usize]) -> Result<FlatArray> {
        let mut p = self.predict_outputs(values, dims, false)?;
        match (p.outputs.pop(), p.outputs.is_empty()) {
            (Some((_, out)), true) => Ok(out),
            _ => Err(self.several_outputs()),
        }
    }

    /// Validates a flat `(B, T, F)` batch and runs the model: every output by name, and the attention
    /// weights when `with_attention` (a config error for a model without attention).
    pub fn predict_outputs(
        &self,
        values: &[f32],
        dims: &[usize],
        with_attention: bool,
    ) -> Result<Prediction> {
        let x = self.batch(values, dims)?;
        let attention = if with_attention {
            Some(self.attention_shape(x.steps(), "return_attention=True")?)
        } else {
            None
        };
        self.on_pool(|| {
            let run = |x: Batch<'_>, _: Option<&[f32]>| self.model.predict(x, with_attention);
            self.in_chunks(x, None, attention, run)
        })
    }

    /// The single output and the attention weights, e.g. LSTMAttention's forecast and its attention
    /// `(B, horizon, T)`. A model without attention is a config error.
    pub fn predict_with_attention(
        &self,
        values: &[f32],
        dims: &[usize],
    ) -> Result<(FlatArray, FlatArray)> {
        let p = self.predict_outputs(values, dims, true)?;
        self.single_with_attention(p)
    }

    /// Teacher-forced forward pass (every step after the first reads the true previous target):
    /// predictions and attention, e.g. `(B, horizon, output_size)` and `(B, horizon, T)` for
    /// LSTMAttention, whose `y` is `(B, horizon, output_size)`. A model without a teacher-forced pass is
    /// a config error.
    pub fn teacher_forced(
        &self,
        x: (&[f32], &[usize]),
        y: (&[f32], &[usize]),
    ) -> Result<(FlatArray, FlatArray)> {
        let Some(target) = self.model.target_shape() else {
            return Err(Error::Config(format!(
                "teacher_forced needs an encoder-decoder model; this engine serves `{}`, which has no \
                 teacher-forced pass",
                self.model_name()
            )));
        };
        let xb = self.batch(x.0, x.1)?;
        let expected: Vec<usize> = [xb.batch()]
            .into_iter()
            .chain(target.iter().copied())
            .collect();
        if y.1 != expected.as_slice() {
            return Err(Error::shape(
                "target y",
                fmt_shape(&expected),
                fmt_shape(y.1),
            ));
        }
        let per_y = target.iter().product::<usize>();
        if xb.batch().checked_mul(per_y) != Some(y.0.len()) {
            return Err(Error::shape(
                "target y",
                format!("{} elements for {}", y.0.len(), fmt_shape(y.1)),
                fmt_shape(y.1),
            ));
        }
        let attention = self.attention_shape(xb.steps(), "teacher_forced")?;
        let p = self.on_pool(|| {
            let run = |x: Batch<'_>, y: Option<&[f32]>| {
                self.model.teacher_forced(x, y.unwrap_or_default(), true)
            };
            self.in_chunks(xb, Some((y.0, y.1)), Some(attention), run)
        })?;
        self.single_with_attention(p)
    }

    /// The embeddings `(B, embedding_size)` of a flat `(B, T, F)` batch (e.g. an encoder's final states).
    /// A model without embeddings is a config error.
    pub fn embed(&self, values: &[f32], dims: &[usize]) -> Result<FlatArray> {
        let Some(width) = self.model.embedding_size() else {
            return Err(Error::Config(format!(
                "embed needs an encoder model; this engine serves `{}`, which gives no embeddings",
                self.model_name()
            )));
        };
        let x = self.batch(values, dims)?;
        let embedded = self.on_pool(|| {
            let run = |x: Batch<'_>, _: Option<&[f32]>| {
                Ok(Computed {
                    outputs: vec![self.model.embed(x)?],
                    attention: None,
                })
            };
            let embedding = OutputSpec::new("embedding", [width]);
            self.chunked(x, None, &[embedding], None, run)
        })?;
        embedded
            .outputs
            .into_iter()
            .next()
            .map(|(_, values)| values)
            .ok_or_else(|| Error::shape("embeddings", "one output", "none"))
    }

    fn batch<'a>(&self, values: &'a [f32], dims: &[usize]) -> Result<Batch<'a>> {
        let dims = check_sequence_shape(values, dims, self.input_size(), "input x")?;
        Ok(Batch { values, dims })
    }

    fn attention_shape(&self, steps: usize, what: &str) -> Result<Vec<usize>> {
        self.model.attention_shape(steps).ok_or_else(|| {
            Error::Config(format!(
                "{what} needs a model with attention weights; this engine serves `{}`, which has none",
                self.model_name()
            ))
        })
    }

    fn several_outputs(&self) -> Error {
        let names: Vec<String> = self.outputs(1).into_iter().map(|o| o.name).collect();
        Error::Config(format!(
            "`{}` has several outputs ({}): ask for them all (predict_outputs)",
            self.model_name(),
            names.join(", ")
        ))
    }

    fn single_with_attention(&self, mut p: Prediction) -> Result<(FlatArray, FlatArray)> {
        match (p.outputs.pop(), p.outputs.is_empty(), p.attention) {
            (Some((_, out)), true, Some(attention)) => Ok((out, attention)),
            _ => Err(self.several_outputs()),
        }
    }

    /// [`chunked`](Self::chunked) with the model's own outputs.
    fn in_chunks(
        &self,
        x: Batch<'_>,
        y: Option<(&[f32], &[usize])>,
        attention: Option<Vec<usize>>,
        run: impl Fn(Batch<'_>, Option<&[f32]>) -> Result<Computed>,
    ) -> Result<Prediction> {
        let outputs = self.outputs(x.steps());
        self.chunked(x, y, &outputs, attention, run)
    }

    /// Runs `run` on consecutive chunks of the samples of `x` (and of `y`, `(B, ...)`, row for row), sized
    /// so that a chunk's intermediates stay near [`CHUNK_WORKING_SET`], and gathers each output's rows
    /// into buffers allocated up front. So a batch too large for memory is a data error before any work
    /// (and before the input is read: it may be a memory map far larger than memory), never an abort of
    /// the process part way through, and a huge batch needs no more working memory than a moderate one.
    /// An empty batch gives empty outputs.
    fn chunked(
        &self,
        x: Batch<'_>,
        y: Option<(&[f32], &[usize])>,
        outputs: &[OutputSpec],
        attention: Option<Vec<usize>>,
        run: impl Fn(Batch<'_>, Option<&[f32]>) -> Result<Computed>,
    ) -> Result<Prediction> {
        let batch = x.batch();
        let per_attention = attention.as_ref().map(|s| s.iter().product::<usize>());
        let allocate = |per: usize, what: &str| {
            let len = batch.checked_mul(per).ok_or_else(|| {
                Error::Data(format!(
                    "{what} of {batch} samples x {per} values overflows"
                ))
            })?;
            zeroed_vec(len, what)
        };
        let mut buffers = outputs
            .iter()
            .map(|o| allocate(o.per_sample(), "predict output"))
            .collect::<Result<Vec<_>>>()?;
        let mut weights = per_attention
            .map(|per| allocate(per, "attention weights"))
            .transpose()?;
        let working = self.model.working_set(x.steps()).max(1);
        if working > CHUNK_WORKING_SET && batch > 0 {
            // One sample alone needs more than a chunk: make sure its intermediates can exist at all
            // (a window of 2**34 steps would otherwise abort the process inside the model).
            drop(zeroed_vec::<f32>(working, "working memory of one sample")?);
        }
        check_finite(x.values, &x.dims, "input x")?;
        if let Some((values, dims)) = y {
            check_finite(values, dims, "target y")?;
        }
        let per_y = y.map_or(0, |(_, dims)| dims.iter().skip(1).product::<usize>());
        for rows in chunks(batch, (CHUNK_WORKING_SET / working).max(1)) {
            let ys = y.map(|(y, _)| &y[rows.start * per_y..rows.end * per_y]);
            let computed = run(x.rows(rows.clone()), ys)?;
            let n = rows.len();
            if computed.outputs.len() != buffers.len() {
                return Err(Error::shape(
                    "model outputs",
                    buffers.len(),
                    computed.outputs.len(),
                ));
            }
            for ((buffer, part), spec) in buffers.iter_mut().zip(&computed.outputs).zip(outputs) {
                copy_rows(buffer, part, rows.start, n, spec.per_sample())?;
            }
            if let (Some(all), Some(per)) = (weights.as_mut(), per_attention) {
                let part = computed.attention.as_deref().unwrap_or_default();
                copy_rows(all, part, rows.start, n, per)?;
            }
        }
        let shaped = |spec: &[usize]| [batch].into_iter().chain(spec.iter().copied()).collect();
        Ok(Prediction {
            outputs: outputs
                .iter()
                .zip(buffers)
                .map(|(spec, values)| (spec.name.clone(), (values, shaped(&spec.shape))))
                .collect(),
            attention: weights.zip(attention).map(|(w, s)| (w, shaped(&s))),
        })
    }
}

/// Floats of intermediates one chunk of a batch may hold (about 128 MiB).
const CHUNK_WORKING_SET: usize = 1 << 25;

/// `batch` samples in chunks of at most `most` rows, of nearly equal sizes (a batch just over the limit
/// gives two halves, not a full chunk and a one-row tail).
fn chunks(batch: usize, most: usize) -> Vec<std::ops::Range<usize>> {
    let count = batch.div_ceil(most.max(1));
    (0..count)
        .map(|i| i * batch / count..(i + 1) * batch / count)
        .collect()
}

/// Copies the `n` rows of `part` (`per` values each) into rows `start..start + n` of `all`.
fn copy_rows(all: &mut [f32], part: &[f32], start: usize, n: usize, per: usize) -> Result<()> {
    if part.len() != n * per {
        return Err(Error::shape(
            "chunk output",
            format!("{} values", n * per),
            part.len(),
        ));
    }
    all[start * per..(start + n) * per].copy_from_slice(part);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_balanced_and_cover_the_batch() {
        assert!(chunks(0, 5).is_empty());
        assert_eq!(chunks(7, 10), vec![0..7]);
        assert_eq!(chunks(314, 313), vec![0..157, 157..314]);
        for (batch, most) in [(1, 1), (10, 3), (1000, 313)] {
            let parts = chunks(batch, most);
            assert_eq!(parts.first().map(|r| r.start), Some(0));
            assert_eq!(parts.last().map(|r| r.end), Some(batch));
            assert!(parts.windows(2).all(|w| w[0].end == w[1].start));
            assert!(parts.iter().all(|r| !r.is_empty() && r.len() <= most));
        }
    }
}
