//! Layers of the CPU backends, read from a checkpoint by their torch names: a linear map on the packed
//! GEMM of `cpu_math.rs` ([`Dense`]), an MLP of linear maps and ReLUs ([`Mlp`]) and layer norm
//! ([`LayerNorm`]). The candle twins build the same layers with candle-nn; nothing here imports them.

use std::sync::Mutex;

use crate::checkpoint::Checkpoint;
use crate::config::LAYER_NORM_EPS;
use crate::cpu_math::{gemm_bias, pack_panels, pad_to_panels, transpose, GEMM_PANEL, ROW_BLOCK};
use crate::cpu_threads::for_each_index;
use crate::error::Result;

/// Multiply-adds below which a product runs on one thread.
const PARALLEL_MIN_MACS: usize = 1 << 24;

/// A linear map `y = x W + b`, with `W` `(in, out)` packed for [`gemm_bias`] and `b` padded to it.
#[derive(Debug, Clone)]
pub(crate) struct Dense {
    inputs: usize,
    outputs: usize,
    panels: Vec<f32>,
    bias: Vec<f32>,
}

impl Dense {
    /// From `W` `(inputs, outputs)` row-major (the transpose of a torch `Linear` weight) and `b`.
    pub(crate) fn new(w: &[f32], inputs: usize, outputs: usize, bias: &[f32]) -> Self {
        Self {
            inputs,
            outputs,
            panels: pack_panels(w, inputs, outputs, GEMM_PANEL),
            bias: pad_to_panels(bias, GEMM_PANEL),
        }
    }

    /// From a torch `Linear` layout: `weight` `(outputs, inputs)` row-major and `bias` `(outputs,)`.
    pub(crate) fn from_torch(weight: &[f32], outputs: usize, inputs: usize, bias: &[f32]) -> Self {
        Self::new(&transpose(weight, outputs, inputs), inputs, outputs, bias)
    }

    /// The torch `Linear(inputs, outputs)` stored as `{prefix}weight` and `{prefix}bias`.
    pub(crate) fn linear(
        ck: &Checkpoint,
        prefix: &str,
        inputs: usize,
        outputs: usize,
    ) -> Result<Self> {
        let weight = ck.values(&format!("{prefix}weight"), &[outputs, inputs])?;
        let bias = ck.values(&format!("{prefix}bias"), &[outputs])?;
        Ok(Self::from_torch(&weight, outputs, inputs, &bias))
    }

    /// The bias, padded to whole [`GEMM_PANEL`] panels (what [`gemm_bias`] takes).
    pub(crate) fn padded_bias(&self) -> &[f32] {
        &self.bias
    }

    /// `x` `(rows, in)` -> `(rows, out)` on the calling thread.
    pub(crate) fn apply(&self, x: &[f32], rows: usize) -> Vec<f32> {
        self.apply_on(x, rows, 1)
    }

    /// `x` `(rows, in)` -> `(rows, out)` by [`ROW_BLOCK`]-row blocks, in up to `threads` groups of
    /// blocks spread over the current pool. Each row's sums run in the same order whatever the blocks,
    /// so a row's result does not depend on the rows around it or on the thread count.
    pub(crate) fn apply_on(&self, x: &[f32], rows: usize, threads: usize) -> Vec<f32> {
        let (k, n) = (self.inputs, self.outputs);
        let mut y = vec![0f32; rows * n];
        let block = |first_row: usize, out: &mut [f32]| {
            for (i, out) in out.chunks_mut(ROW_BLOCK * n).enumerate() {
                let a = &x[(first_row + i * ROW_BLOCK) * k..];
                gemm_bias(a, k, out.len() / n, k, &self.panels, &self.bias, out, n, n);
            }
        };
        let blocks = rows.div_ceil(ROW_BLOCK);
        let groups = threads.min(blocks);
        // Below about a quarter of a millisecond of work, waking a thread costs more than it saves and
        // makes the latency swing with the machine's load.
        if groups <= 1 || rows.saturating_mul(k).saturating_mul(n) < PARALLEL_MIN_MACS {
            block(0, &mut y);
            return y;
        }
        // Contiguous groups of whole blocks, one per thread, each behind its own (uncontended) lock.
        let per = blocks.div_ceil(groups) * ROW_BLOCK * n;
        let parts: Vec<Mutex<&mut [f32]>> = y.chunks_mut(per).map(Mutex::new).collect();
        for_each_index(parts.len(), |g| {
            if let Ok(mut out) = parts[g].lock() {
                block(g * per / n, &mut out);
            }
        });
        drop(parts);
        y
    }
}

/// An MLP as the PyTorch twins build it with `nn.Sequential`: `Linear -> ReLU -> Dropout` per hidden
/// width, then (for a head) a final `Linear`. Dropout is the identity at inference, so layer `k` is the
/// module at index `3k` of the sequence (`head.0`, `head.3`, ...).
#[derive(Debug, Clone)]
pub(crate) struct Mlp {
    inputs: usize,
    layers: Vec<Dense>,
    /// Whether the last layer is followed by a ReLU (a trunk) or not (a head ending in its outputs).
    relu_last: bool,
}

impl Mlp {
    /// The sequence under `prefix` (e.g. `"head."`) mapping `inputs` features through `hidden` widths
    /// and then, when `outputs` is given, to `outputs` (with no ReLU after it). `hidden` empty and no
    /// `outputs` is the identity (an empty `nn.Sequential`).
    pub(crate) fn new(
        ck: &Checkpoint,
        prefix: &str,
        inputs: usize,
        hidden: &[usize],
        outputs: Option<usize>,
    ) -> Result<Self> {
        let mut layers = Vec::with_capacity(hidden.len() + 1);
        let mut width = inputs;
        for (k, &units) in hidden.iter().chain(outputs.as_ref()).enumerate() {
            layers.push(Dense::linear(
                ck,
                &format!("{prefix}{}.", 3 * k),
                width,
                units,
            )?);
            width = units;
        }
        Ok(Self {
            inputs,
            layers,
            relu_last: outputs.is_none(),
        })
    }

    /// `x` `(rows, inputs)` -> `(rows, outputs)`.
    pub(crate) fn apply(&self, x: &[f32], rows: usize) -> Vec<f32> {
        let mut current: Option<Vec<f32>> = None;
        for (k, layer) in self.layers.iter().enumerate() {
            let mut y = layer.apply(current.as_deref().unwrap_or(x), rows);
            if self.relu_last || k + 1 < self.layers.len() {
                // Not `max(0.0)`, which would turn a NaN (from NaN weights) into 0; torch keeps it.
                y.iter_mut().filter(|v| **v < 0.0).for_each(|v| *v = 0.0);
            }
            current = Some(y);
        }
        current.unwrap_or_else(|| x[..rows * self.inputs].to_vec())
    }
}

/// LayerNorm `(weight, bias)` over a row: `(x - mean) / sqrt(var + eps) * w + b`, population variance
/// and torch's epsilon.
#[derive(Debug, Clone)]
pub(crate) struct LayerNorm {
    weight: Vec<f32>,
    bias: Vec<f32>,
}

impl LayerNorm {
    /// The torch `LayerNorm(width)` stored as `{prefix}weight` and `{prefix}bias`.
    pub(crate) fn new(ck: &Checkpoint, prefix: &str, width: usize) -> Result<Self> {
        Ok(Self {
            weight: ck.values(&format!("{prefix}weight"), &[width])?,
            bias: ck.values(&format!("{prefix}bias"), &[width])?,
        })
    }

    /// Normalises `row` in place.
    pub(crate) fn apply(&self, row: &mut [f32]) {
        let n = row.len() as f32;
        let mean = row.iter().sum::<f32>() / n;
        let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n;
        let inv = 1.0 / (var + LAYER_NORM_EPS).sqrt();
        for ((v, w), b) in row.iter_mut().zip(&self.weight).zip(&self.bias) {
            *v = (*v - mean) * inv * w + b;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu_threads::{with_engine_threads, EngineThreads};

    fn ramp(n: usize, seed: usize) -> Vec<f32> {
        (0..n)
            .map(|k| (((k + seed) * 7919) % 13) as f32 * 0.25 - 1.5)
            .collect()
    }

    #[test]
    fn a_product_spread_over_enginegives_the_serial_bits() {
        // Large enough to be spread (300 x 256 x 256 multiply-adds), with a partial last block.
        let (rows, k, n) = (300, 256, 256);
        let dense = Dense::new(&ramp(k * n, 1), k, n, &ramp(n, 2));
        let x = ramp(rows * k, 3);
        let serial = dense.apply(&x, rows);
        let engine = EngineThreads::new(
            rayon::ThreadPoolBuilder::new()
                .num_threads(3)
                .build()
                .unwrap(),
        );
        for threads in [2, 3] {
            assert_eq!(
                with_engine_threads(&engine, || dense.apply_on(&x, rows, threads)),
                serial
            );
            assert_eq!(
                engine.pool().install(|| dense.apply_on(&x, rows, threads)),
                serial
            );
        }
        let want: f32 = (0..k).map(|p| x[p] * ramp(k * n, 1)[p * n]).sum::<f32>() + ramp(n, 2)[0];
        assert!((serial[0] - want).abs() < 1e-2);
    }

    #[test]
    fn mlp_relus_between_layers_and_keeps_nan() {
        let ck = Checkpoint {
            model: "m".into(),
            config: "{}".into(),
            extra: Default::default(),
            tensors: [
                ("h.0.weight", vec![1.0f32, -1.0], vec![2, 1]),
                ("h.0.bias", vec![0.0, 0.0], vec![2]),
                ("h.3.weight", vec![1.0, 1.0], vec![1, 2]),
                ("h.3.bias", vec![f32::NAN], vec![1]),
            ]
            .into_iter()
            .map(|(name, v, d)| {
                let t = candle_core::Tensor::from_vec(v, d, &candle_core::Device::Cpu).unwrap();
                (name.to_string(), t)
            })
            .collect(),
        };
        let head = Mlp::new(&ck, "h.", 1, &[2], Some(1)).unwrap();
        assert!(head.apply(&[3.0], 1)[0].is_nan());
        let trunk = Mlp::new(&ck, "h.", 1, &[2], None).unwrap();
        assert_eq!(trunk.apply(&[-2.0], 1), vec![0.0, 2.0]);
        let identity = Mlp::new(&ck, "h.", 3, &[], None).unwrap();
        assert_eq!(identity.apply(&[1.0, 2.0, 3.0], 1), vec![1.0, 2.0, 3.0]);
    }
}
