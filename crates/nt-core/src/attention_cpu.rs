//! Multi-head attention on the CPU kernels: the serving sibling of the candle `attention.rs`, numerically
//! `torch.nn.MultiheadAttention(batch_first=True)` with one query per sample (a decoder step, or an
//! encoder's final state asking its outputs).
//!
//! Built from the tensors of a checkpoint by their torch names (`in_proj_weight` `(3E, E)`,
//! `in_proj_bias`, `out_proj.{weight,bias}`). Weights are returned averaged over heads, as torch's
//! default. Two ways to attend:
//! - many queries over one memory (a decoder's steps): keys and values are projected once per sequence
//!   ([`CpuAttention::memory`]), keys stored per head and transposed, `(heads, head_dim, T)`, so a head's
//!   scores are contiguous axpys ([`CpuAttention::attend`]);
//! - one query per sequence (an encoder's readout, [`CpuAttention::attend_once`]): the projections are
//!   folded into the query and the pooled values instead. A head's scores `q_h · (W_k,h x_t + b_k,h)` are
//!   `(W_k,h^T q_h) · x_t + q_h · b_k,h`, and its context `Σ_t w_t (W_v,h x_t + b_v,h)` is
//!   `W_v,h (Σ_t w_t x_t) + b_v,h` (the weights sum to 1): `2 E^2 + 2 heads T E` multiply-adds per
//!   sequence instead of the `2 T E^2` of projecting every step, the same maths in another order.

use crate::checkpoint::Checkpoint;
use crate::cpu_layers::Dense;
use crate::cpu_math::{axpy, dot, softmax, transpose};
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
    /// `in_proj_weight` and `in_proj_bias` as torch stores them, for [`CpuAttention::attend_once`].
    in_proj: (Vec<f32>, Vec<f32>),
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
            in_proj: (w, b),
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

    /// Attention of one query per sample, `queries` `(B, E)`, over its own sequence `kv` `(B, T, E)`
    /// (keys and values alike), with the projections folded (see the module header): the projected
    /// output `(B, E)` and the weights averaged over heads `(B, T)`.
    pub(crate) fn attend_once(
        &self,
        queries: &[f32],
        kv: &[f32],
        batch: usize,
        steps: usize,
    ) -> (Vec<f32>, Vec<f32>) {
        let (e, heads) = (self.embed, self.heads);
        let d = e / heads;
        let (w, b) = (&self.in_proj.0, &self.in_proj.1);
        let (w_key, b_key) = (&w[e * e..2 * e * e], &b[e..2 * e]);
        let (w_value, b_value) = (&w[2 * e * e..], &b[2 * e..]);
        // Scale the queries before the product, as torch does, so rounding stays close.
        let scale = 1.0 / (d as f32).sqrt();
        let mut q = self.query.apply(queries, batch);
        q.iter_mut().for_each(|v| *v *= scale);
        let mut merged = vec![0f32; batch * e];
        let mut mean = vec![0f32; batch * steps];
        let (mut folded, mut pooled, mut scores) =
            (vec![0f32; e], vec![0f32; e], vec![0f32; steps]);
        for s in 0..batch {
            let xs = &kv[s * steps * e..(s + 1) * steps * e];
            for head in 0..heads {
                let rows = head * d..(head + 1) * d;
                // W_k,h^T q_h and q_h · b_k,h.
                folded.fill(0.0);
                let mut offset = 0.0;
                for j in rows.clone() {
                    let qj = q[s * e + j];
                    axpy(qj, &w_key[j * e..(j + 1) * e], &mut folded);
                    offset += qj * b_key[j];
                }
                for (score, x) in scores.iter_mut().zip(xs.chunks_exact(e)) {
                    *score = dot(x, &folded) + offset;
                }
                softmax(&mut scores);
                pooled.fill(0.0);
                for (&weight, x) in scores.iter().zip(xs.chunks_exact(e)) {
                    axpy(weight, x, &mut pooled);
                }
                for j in rows {
                    merged[s * e + j] = dot(&w_value[j * e..(j + 1) * e], &pooled) + b_value[j];
                }
                for (m, w) in mean[s * steps..(s + 1) * steps].iter_mut().zip(&scores) {
                    *m += w / heads as f32;
                }
            }
        }
        (self.out_proj.apply(&merged, batch), mean)
    }
}
