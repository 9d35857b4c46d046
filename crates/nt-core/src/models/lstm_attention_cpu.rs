//! The CPU inference path of [`LstmAttention`](super::LstmAttention): the same maths as its candle
//! path (see that module's header), on plain slices and the kernels of [`crate::cpu_math`].
//!
//! The candle path dispatches ~40 small tensor ops per decoder step, and on the CPU each candle matmul
//! also asks the OS how many cores there are (it reads `/proc/cpuinfo`); at batch 1 that overhead was
//! most of a forecast. Here every linear map is one packed GEMM with its bias fused, attention runs head
//! by head over keys stored transposed (so scores are contiguous axpys), and with several threads the
//! batch is split into one part per thread, each running the whole forecast. Used for inference weights
//! on the CPU; training and CUDA stay on candle. Parity is tested against PyTorch like the candle path.

use candle_core::Tensor;
use candle_nn::Linear;
use rayon::prelude::*;

use super::lstm_attention::LstmAttentionConfig;
use crate::cpu_math::{batch_parts, pool_threads, softmax, transpose, Dense};
use crate::error::Result;
use crate::kernels::series::zeroed_vec;
use crate::lstm_cpu::CpuLstm;

/// A torch `Linear` weight `(out, in)` and bias as a [`Dense`] map.
fn dense(weight: &Tensor, bias: &Tensor) -> Result<Dense> {
    let (outputs, inputs) = weight.dims2()?;
    let w_t = transpose(&weight.flatten_all()?.to_vec1::<f32>()?, outputs, inputs);
    Ok(Dense::new(&w_t, inputs, outputs, &bias.to_vec1::<f32>()?))
}

/// A candle `Linear` as a [`Dense`] map (a missing bias is zero).
fn from_linear(linear: &Linear) -> Result<Dense> {
    let w = linear.weight();
    match linear.bias() {
        Some(bias) => dense(w, bias),
        None => dense(w, &Tensor::zeros(w.dim(0)?, w.dtype(), w.device())?),
    }
}

/// Weights of an [`LstmAttention`](super::LstmAttention) laid out for the CPU.
#[derive(Debug, Clone)]
pub(crate) struct CpuForecaster {
    config: LstmAttentionConfig,
    targets: Vec<usize>,
    encoder: CpuLstm,
    decoder: CpuLstm,
    bridge_h: Dense,
    bridge_c: Dense,
    encoder_proj: Option<Dense>,
    query: Dense,
    key: Dense,
    value: Dense,
    out_proj: Dense,
    /// LayerNorm `(weight, bias)` over `2H`.
    norm: Option<(Vec<f32>, Vec<f32>)>,
    output_proj: Dense,
}

/// The parts of the model the CPU path is built from.
pub(crate) struct Parts<'a> {
    pub config: &'a LstmAttentionConfig,
    pub encoder: CpuLstm,
    pub decoder: CpuLstm,
    pub bridge_h: &'a Linear,
    pub bridge_c: &'a Linear,
    pub encoder_proj: Option<&'a Linear>,
    /// `in_proj_weight` `(3H, H)`, `in_proj_bias` `(3H,)`, `out_proj`.
    pub attention: (&'a Tensor, &'a Tensor, &'a Linear),
    pub norm: Option<(&'a Tensor, &'a Tensor)>,
    pub output_proj: &'a Linear,
}

/// Predictions `(B, steps, O)` and head-averaged attention `(B, steps, T)`, row-major.
pub(crate) type CpuForecast = (Vec<f32>, Vec<f32>);

/// LayerNorm epsilon, torch's default (as the candle path).
const LAYER_NORM_EPS: f32 = 1e-5;

impl CpuForecaster {
    pub(crate) fn new(p: Parts<'_>) -> Result<Self> {
        let h = p.config.hidden_size;
        let (w, b, out) = p.attention;
        let part = |i: usize| dense(&w.narrow(0, i * h, h)?, &b.narrow(0, i * h, h)?);
        let norm = match p.norm {
            Some((w, b)) => Some((w.to_vec1::<f32>()?, b.to_vec1::<f32>()?)),
            None => None,
        };
        Ok(Self {
            config: p.config.clone(),
            targets: p.config.targets(),
            encoder: p.encoder,
            decoder: p.decoder,
            bridge_h: from_linear(p.bridge_h)?,
            bridge_c: from_linear(p.bridge_c)?,
            encoder_proj: p.encoder_proj.map(from_linear).transpose()?,
            query: part(0)?,
            key: part(1)?,
            value: part(2)?,
            out_proj: from_linear(out)?,
            norm,
            output_proj: from_linear(p.output_proj)?,
        })
    }

    /// Forecast of `x` `(B, T, input_size)`: autoregressive, or teacher-forced from `truth`
    /// `(B, horizon, O)` (step `t > 0` reads `truth[:, t - 1]`). The attention history is kept only
    /// `with_attention` (else it comes back empty); it and the predictions are allocated fallibly, so a
    /// forecast too large for memory is an error. With several threads of the current rayon pool the
    /// batch is split into one part per thread.
    pub(crate) fn forecast(
        &self,
        x: &[f32],
        batch: usize,
        steps: usize,
        truth: Option<&[f32]>,
        with_attention: bool,
    ) -> Result<CpuForecast> {
        let threads = pool_threads();
        let ranges = batch_parts(batch, threads);
        if ranges.len() < 2 {
            return self.run(x, (batch, steps), truth, with_attention, threads);
        }
        let (per_x, per_y) = (
            steps * self.config.input_size,
            self.config.horizon * self.config.output_size,
        );
        let results: Vec<CpuForecast> = ranges
            .par_iter()
            .map(|r| {
                let y = truth.map(|y| &y[r.start * per_y..r.end * per_y]);
                let part = &x[r.start * per_x..r.end * per_x];
                self.run(part, (r.len(), steps), y, with_attention, 1)
            })
            .collect::<Result<_>>()?;
        let (mut values, mut attention) = (Vec::new(), Vec::new());
        for (v, a) in results {
            values.extend_from_slice(&v);
            attention.extend_from_slice(&a);
        }
        Ok((values, attention))
    }

    fn run(
        &self,
        x: &[f32],
        (batch, steps): (usize, usize),
        truth: Option<&[f32]>,
        with_attention: bool,
        threads: usize,
    ) -> Result<CpuForecast> {
        let c = &self.config;
        let (o, horizon) = (c.output_size, c.horizon);
        let (enc_out, h_n, c_n) = self.encoder.forward_with(x, batch, steps, None, threads);
        let rows = batch * steps;
        let keys = match &self.encoder_proj {
            Some(proj) => proj.apply(&enc_out, rows),
            None => enc_out,
        };
        let memory = Memory {
            keys_t: self.keys_by_head(&self.key.apply(&keys, rows), batch, steps),
            values: self.value.apply(&keys, rows),
            steps,
        };
        let mut state_h = self.bridge(&self.bridge_h, &h_n, batch);
        state_h.iter_mut().for_each(|v| *v = v.tanh());
        let mut state_c = self.bridge(&self.bridge_c, &c_n, batch);
        // The first input is the last observed value of the target columns.
        let mut input: Vec<f32> = (0..batch)
            .flat_map(|b| {
                let last = &x[(b * steps + steps - 1) * c.input_size..];
                self.targets.iter().map(move |&i| last[i])
            })
            .collect();
        let mut values: Vec<f32> = zeroed_vec(batch * horizon * o, "forecast")?;
        let kept = if with_attention { steps } else { 0 };
        let mut attention: Vec<f32> = zeroed_vec(batch * horizon * kept, "attention weights")?;
        for t in 0..horizon {
            let (top, next_h, next_c) =
                self.decoder
                    .forward_with(&input, batch, 1, Some((&state_h, &state_c)), threads);
            (state_h, state_c) = (next_h, next_c);
            let (context, weights) = self.attend(&top, &memory, batch);
            let value = self
                .output_proj
                .apply(&self.features(&top, &context, batch), batch);
            for b in 0..batch {
                values[(b * horizon + t) * o..][..o].copy_from_slice(&value[b * o..(b + 1) * o]);
                attention[(b * horizon + t) * kept..][..kept]
                    .copy_from_slice(&weights[b * steps..b * steps + kept]);
            }
            input = match truth {
                Some(y) if t + 1 < horizon => (0..batch)
                    .flat_map(|b| &y[(b * horizon + t) * o..(b * horizon + t + 1) * o])
                    .copied()
                    .collect(),
                _ => value,
            };
        }
        Ok((values, attention))
    }

    /// `(Le * dirs, B, H)` final states -> per sample flattened in row order -> `(Ld, B, H)` initial
    /// decoder states.
    fn bridge(&self, map: &Dense, state: &[f32], batch: usize) -> Vec<f32> {
        let h = self.config.hidden_size;
        let rows = state.len() / (batch * h);
        let flat: Vec<f32> = (0..batch)
            .flat_map(|b| (0..rows).flat_map(move |r| &state[(r * batch + b) * h..][..h]))
            .copied()
            .collect();
        let mapped = map.apply(&flat, batch); // (B, Ld * H)
        let layers = self.config.num_decoder_layers;
        let mut out = vec![0f32; layers * batch * h];
        for b in 0..batch {
            for l in 0..layers {
                out[(l * batch + b) * h..][..h]
                    .copy_from_slice(&mapped[(b * layers + l) * h..][..h]);
            }
        }
        out
    }

    /// Projected keys `(B, T, H)` as `(B, heads, head_dim, T)`: one head's scores are then axpys over
    /// contiguous rows.
    fn keys_by_head(&self, keys: &[f32], batch: usize, steps: usize) -> Vec<f32> {
        let h = self.config.hidden_size;
        let mut out = vec![0f32; keys.len()];
        for b in 0..batch {
            let block = &keys[b * steps * h..(b + 1) * steps * h];
            out[b * steps * h..(b + 1) * steps * h].copy_from_slice(&transpose(block, steps, h));
        }
        out
    }

    /// Multi-head attention of the decoder's top states `(B, H)` over `memory`: the projected output
    /// `(B, H)` and the weights averaged over heads `(B, T)`.
    fn attend(&self, top: &[f32], memory: &Memory, batch: usize) -> (Vec<f32>, Vec<f32>) {
        let (h, heads, steps) = (self.config.hidden_size, self.config.num_heads, memory.steps);
        let d = h / heads;
        // Scale the queries before the product, as torch does, so rounding matches.
        let scale = 1.0 / (d as f32).sqrt();
        let mut q = self.query.apply(top, batch);
        q.iter_mut().for_each(|v| *v *= scale);
        let mut merged = vec![0f32; batch * h];
        let mut mean = vec![0f32; batch * steps];
        let mut scores = vec![0f32; steps];
        for b in 0..batch {
            let keys_t = &memory.keys_t[b * steps * h..(b + 1) * steps * h];
            let values = &memory.values[b * steps * h..(b + 1) * steps * h];
            for head in 0..heads {
                scores.fill(0.0);
                for j in head * d..(head + 1) * d {
                    let qj = q[b * h + j];
                    for (s, k) in scores.iter_mut().zip(&keys_t[j * steps..(j + 1) * steps]) {
                        *s += qj * k;
                    }
                }
                softmax(&mut scores);
                let ctx = &mut merged[b * h + head * d..b * h + (head + 1) * d];
                for (t, &w) in scores.iter().enumerate() {
                    for (c, v) in ctx.iter_mut().zip(&values[t * h + head * d..]) {
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

    /// `[h; context]` `(B, 2H)`, layer-normalised when the model has `output_norm`.
    fn features(&self, top: &[f32], context: &[f32], batch: usize) -> Vec<f32> {
        let h = self.config.hidden_size;
        let mut out = Vec::with_capacity(batch * 2 * h);
        for b in 0..batch {
            let row_start = out.len();
            out.extend_from_slice(&top[b * h..(b + 1) * h]);
            out.extend_from_slice(&context[b * h..(b + 1) * h]);
            if let Some((w, bias)) = &self.norm {
                layer_norm(&mut out[row_start..], w, bias);
            }
        }
        out
    }
}

/// Attention memory of one forecast: keys by head `(B, heads, head_dim, T)` and values `(B, T, H)`.
struct Memory {
    keys_t: Vec<f32>,
    values: Vec<f32>,
    steps: usize,
}

/// `(x - mean) / sqrt(var + eps) * w + b` over the row (population variance), as the candle path.
fn layer_norm(row: &mut [f32], w: &[f32], b: &[f32]) {
    let n = row.len() as f32;
    let mean = row.iter().sum::<f32>() / n;
    let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n;
    let inv = 1.0 / (var + LAYER_NORM_EPS).sqrt();
    for ((v, w), b) in row.iter_mut().zip(w).zip(b) {
        *v = (*v - mean) * inv * w + b;
    }
}
