//! Multi-head attention on the CPU kernels: the serving sibling of the candle `attention.rs`, numerically
//! `torch.nn.MultiheadAttention(batch_first=True)` with one query per sample (a decoder step, or an
//! encoder's final state asking its outputs).
//!
//! Built from the tensors of a checkpoint by their torch names (`in_proj_weight` `(3E, E)`,
//! `in_proj_bias`, `out_proj.{weight,bias}`). Keys and values are projected once per sequence
//! ([`CpuAttention::memory`]); keys are stored per head and transposed, `(heads, head_dim, T)`, so a head's
//! scores are contiguous axpys. Weights are returned averaged over heads, as torch's default.

use crate::checkpoint::Checkpoint;
use crate::cpu_layers::Dense;
use crate::cpu_math::{softmax, transpose};
use crate::error::Result;

/// Multi-head attention with its projections packed for the CPU.
#[derive(Debug, Clone)]
pub(crate) struct CpuAttention {
    embed: usize,
    heads: usize,
    query: Dense,
    key: Dense,
    value: Dense,
    out_proj: Dense,
}

/// Keys and values of a batch of sequences, projected: keys by head `(B, heads, head_dim, T)` and values
/// `(B, T, E)`.
pub(crate) struct Memory {
    keys_t: Vec<f32>,
    values: Vec<f32>,
    steps: usize,
}

impl CpuAttention {
    /// The `nn.MultiheadAttention(embed, heads)` stored under `prefix` (e.g. `"attention."`). The caller
    /// has checked that `heads` divides `embed`.
    pub(crate) fn new(ck: &Checkpoint, prefix: &str, embed: usize, heads: usize) -> Result<Self> {
        let e = embed;
        let w = ck.values(&format!("{prefix}in_proj_weight"), &[3 * e, e])?;
        let b = ck.values(&format!("{prefix}in_proj_bias"), &[3 * e])?;
        // Rows 0..E of the input projection make the queries, E..2E the keys, 2E..3E the values.
        let part = |i: usize| {
            Dense::from_torch(&w[i * e * e..(i + 1) * e * e], e, e, &b[i * e..(i + 1) * e])
        };
        Ok(Self {
            embed,
            heads,
            query: part(0),
            key: part(1),
            value: part(2),
            out_proj: Dense::linear(ck, &format!("{prefix}out_proj."), e, e)?,
        })
    }

    /// Projects `kv` `(B, T, E)`, which serves as both keys and values.
    pub(crate) fn memory(&self, kv: &[f32], batch: usize, steps: usize) -> Memory {
        let (e, rows) = (self.embed, batch * steps);
        let keys = self.key.apply(kv, rows);
        let mut keys_t = vec![0f32; keys.len()];
        for (block, out) in keys
            .chunks_exact(steps * e)
            .zip(keys_t.chunks_exact_mut(steps * e))
        {
            out.copy_from_slice(&transpose(block, steps, e));
        }
        Memory {
            keys_t,
            values: self.value.apply(kv, rows),
            steps,
        }
    }

    /// Attention of one query per sample, `queries` `(B, E)`, over `memory`: the projected output
    /// `(B, E)` and the weights averaged over heads `(B, T)`.
    pub(crate) fn attend(
        &self,
        queries: &[f32],
        memory: &Memory,
        batch: usize,
    ) -> (Vec<f32>, Vec<f32>) {
        let (e, heads, steps) = (self.embed, self.heads, memory.steps);
        let d = e / heads;
        // Scale the queries before the product, as torch does, so rounding matches.
        let scale = 1.0 / (d as f32).sqrt();
        let mut q = self.query.apply(queries, batch);
        q.iter_mut().for_each(|v| *v *= scale);
        let mut merged = vec![0f32; batch * e];
        let mut mean = vec![0f32; batch * steps];
        let mut scores = vec![0f32; steps];
        for b in 0..batch {
            let keys_t = &memory.keys_t[b * steps * e..(b + 1) * steps * e];
            let values = &memory.values[b * steps * e..(b + 1) * steps * e];
            for head in 0..heads {
                scores.fill(0.0);
                for j in head * d..(head + 1) * d {
                    let qj = q[b * e + j];
                    for (s, k) in scores.iter_mut().zip(&keys_t[j * steps..(j + 1) * steps]) {
                        *s += qj * k;
                    }
                }
                softmax(&mut scores);
                let ctx = &mut merged[b * e + head * d..b * e + (head + 1) * d];
                for (t, &w) in scores.iter().enumerate() {
                    for (c, v) in ctx.iter_mut().zip(&values[t * e + head * d..]) {
                        *c += w * v;
                    }
                }
                for (m, w) in mean[b * steps..(b + 1) * steps].iter_mut().zip(&scores) {
                    *m += w / heads as f32;
                }
            }
        }
        (self.out_proj.apply(&merged, batch), mean)
    }
}
