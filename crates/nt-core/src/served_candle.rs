//! The candle backend: one generic wrapper that serves a model's candle struct on a device (CUDA, or the
//! CPU as a testing aid, `"cpu:candle"`).
//!
//! A candle struct says how to compute its outputs as tensors ([`CandleServed`]); [`CandleBackend`] does
//! the rest of [`ServedModel`]: the batch slice becomes a tensor on the device, the struct's forward runs,
//! and each output comes back to the host as a row-major `Vec`. What the outputs are called and shaped
//! comes from the config ([`ServedShapes`]), as for the CPU backend, and the engine's chunking bounds the
//! device memory a batch needs, as it bounds the host memory of the CPU backends.

use std::fmt::Debug;

use candle_core::{Device, Tensor};

use crate::config::ModelConfig;
use crate::error::{fmt_shape, Error, Result};
use crate::served::{to_json, unsupported, Batch, Computed, OutputSpec, ServedModel, ServedShapes};

/// Floats of intermediates a chunk of a batch may hold on a GPU (1 GiB).
const GPU_CHUNK_WORKING_SET: usize = 1 << 28;

/// What a candle struct computed: one tensor per output of its config's
/// [`ServedShapes::outputs`], in order, each `(B, *shape)`; and the attention weights
/// `(B, *attention_shape)` when they were asked for.
#[derive(Debug, Clone)]
pub struct Outputs {
    /// One tensor per output.
    pub outputs: Vec<Tensor>,
    /// The attention weights, when asked for.
    pub attention: Option<Tensor>,
}

/// A candle struct the engine can serve through [`CandleBackend`].
pub trait CandleServed: Debug + Send + Sync + 'static {
    /// Its config, which names and shapes its outputs.
    type Config: ServedShapes;

    /// The config the struct was built with.
    fn served_config(&self) -> &Self::Config;

    /// The outputs of a batch `x` `(B, T, F)` on the struct's device (and the attention weights when
    /// `with_attention`, for a model with attention).
    fn compute(&self, x: &Tensor, with_attention: bool) -> Result<Outputs>;

    /// The teacher-forced outputs, reading the true targets `y` `(B, *target_shape)`.
    fn compute_teacher_forced(&self, _x: &Tensor, _y: &Tensor) -> Result<Outputs> {
        Err(unsupported(Self::Config::NAME, "teacher_forced"))
    }

    /// The embeddings `(B, embedding_size)`.
    fn compute_embedding(&self, _x: &Tensor) -> Result<Tensor> {
        Err(unsupported(Self::Config::NAME, "embed"))
    }
}

/// A candle struct and the device its weights live on, served as a [`ServedModel`].
#[derive(Debug)]
pub struct CandleBackend<M> {
    model: M,
    device: Device,
}

impl<M: CandleServed> CandleBackend<M> {
    /// Serves `model`, whose weights are on `device`.
    pub fn new(model: M, device: Device) -> Self {
        Self { model, device }
    }

    /// The batch as a tensor on the device.
    fn tensor(&self, x: Batch<'_>) -> Result<Tensor> {
        Ok(Tensor::from_slice(
            x.values,
            x.dims.as_slice(),
            &self.device,
        )?)
    }

    /// Each output (and the attention weights, when `with_attention`) copied to the host, row-major,
    /// after checking it has the shape the config declares for a batch of `batch`.
    fn to_host(
        &self,
        computed: Outputs,
        batch: usize,
        steps: usize,
        with_attention: bool,
    ) -> Result<Computed> {
        let config = self.model.served_config();
        let specs = config.outputs(steps);
        if computed.outputs.len() != specs.len() {
            return Err(Error::shape(
                "model outputs",
                specs.len(),
                computed.outputs.len(),
            ));
        }
        let outputs = computed
            .outputs
            .iter()
            .zip(&specs)
            .map(|(t, spec)| host_values(t, batch, &spec.shape, &spec.name))
            .collect::<Result<Vec<_>>>()?;
        let attention = match (with_attention, config.attention_shape(steps)) {
            (true, Some(shape)) => {
                let weights = computed
                    .attention
                    .as_ref()
                    .ok_or_else(|| Error::shape("attention weights", "a tensor", "none"))?;
                Some(host_values(weights, batch, &shape, "attention weights")?)
            }
            _ => None,
        };
        Ok(Computed { outputs, attention })
    }
}

/// The values of `t`, which must be `(batch, *shape)`, on the host, row-major.
fn host_values(t: &Tensor, batch: usize, shape: &[usize], what: &str) -> Result<Vec<f32>> {
    let expected: Vec<usize> = [batch].into_iter().chain(shape.iter().copied()).collect();
    if t.dims() != expected.as_slice() {
        return Err(Error::shape(
            what,
            fmt_shape(&expected),
            fmt_shape(t.dims()),
        ));
    }
    Ok(t.flatten_all()?.to_vec1::<f32>()?)
}

impl<M: CandleServed> ServedModel for CandleBackend<M> {
    fn name(&self) -> &'static str {
        M::Config::NAME
    }

    fn config_json(&self) -> Result<String> {
        to_json(self.model.served_config())
    }

    fn input_size(&self) -> usize {
        self.model.served_config().input_size()
    }

    fn outputs(&self, steps: usize) -> Vec<OutputSpec> {
        self.model.served_config().outputs(steps)
    }

    fn working_set(&self, steps: usize) -> usize {
        self.model.served_config().working_set(steps)
    }

    /// On a GPU, chunks of up to 2^28 floats (1 GiB) of intermediates: a chunk costs a fixed launch
    /// overhead per operation, so small chunks would waste most of the device.
    fn chunk_limit(&self) -> Option<usize> {
        (!self.device.is_cpu()).then_some(GPU_CHUNK_WORKING_SET)
    }

    fn predict(&self, x: Batch<'_>, with_attention: bool) -> Result<Computed> {
        let computed = self.model.compute(&self.tensor(x)?, with_attention)?;
        self.to_host(computed, x.batch(), x.steps(), with_attention)
    }

    fn attention_shape(&self, steps: usize) -> Option<Vec<usize>> {
        self.model.served_config().attention_shape(steps)
    }

    fn target_shape(&self) -> Option<Vec<usize>> {
        self.model.served_config().target_shape()
    }

    fn teacher_forced(&self, x: Batch<'_>, y: &[f32], with_attention: bool) -> Result<Computed> {
        let target = self
            .target_shape()
            .ok_or_else(|| unsupported(self.name(), "teacher_forced"))?;
        let dims: Vec<usize> = [x.batch()].into_iter().chain(target).collect();
        let y = Tensor::from_slice(y, dims.as_slice(), &self.device)?;
        let computed = self.model.compute_teacher_forced(&self.tensor(x)?, &y)?;
        self.to_host(computed, x.batch(), x.steps(), with_attention)
    }

    fn embedding_size(&self) -> Option<usize> {
        self.model.served_config().embedding_size()
    }

    fn embed(&self, x: Batch<'_>) -> Result<Vec<f32>> {
        let width = self
            .embedding_size()
            .ok_or_else(|| unsupported(self.name(), "embed"))?;
        let embedded = self.model.compute_embedding(&self.tensor(x)?)?;
        host_values(&embedded, x.batch(), &[width], "embeddings")
    }
}
