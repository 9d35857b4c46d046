//! LSTMAttention on the CPU kernels: the serving sibling of `lstm_attention.rs` (same maths, see that
//! module's header; same checkpoint), built from the checkpoint's tensors by name.
//!
//! The candle struct dispatches ~40 small tensor ops per decoder step, and on the CPU each candle matmul
//! also asks the OS how many cores there are (it reads `/proc/cpuinfo`); at batch 1 that overhead was
//! most of a forecast. Here every linear map is one packed GEMM with its bias fused, attention runs head
//! by head over keys stored transposed (`attention_cpu.rs`), and with several threads the batch is
//! split into one part per thread, each running the whole forecast.

use super::lstm_attention_config::LstmAttentionConfig;
use crate::attention_cpu::{CpuAttention, Memory};
use crate::checkpoint::Checkpoint;
use crate::config::ModelConfig;
use crate::cpu_layers::{Dense, LayerNorm};
use crate::error::Result;
use crate::kernels::series::zeroed_vec;
use crate::lstm_cpu::CpuLstm;
use crate::served::{
    in_parts, lstm_working_set, to_json, Batch, Computed, OutputSpec, ServedModel,
};

/// The forecaster's weights laid out for the CPU.
#[derive(Debug, Clone)]
pub struct CpuLstmAttention {
    /// With `target_indices` resolved.
    config: LstmAttentionConfig,
    targets: Vec<usize>,
    encoder: CpuLstm,
    decoder: CpuLstm,
    bridge_h: Dense,
    bridge_c: Dense,
    encoder_proj: Option<Dense>,
    attention: CpuAttention,
    norm: Option<LayerNorm>,
    output_proj: Dense,
}

impl CpuLstmAttention {
    /// Builds the backend from a checkpoint whose tensors were checked against the model's parameters
    /// (names as in the torch `state_dict()`).
    pub fn new(config: LstmAttentionConfig, ck: &Checkpoint) -> Result<Self> {
        config.validate()?;
        let config = config.resolved();
        let h = config.hidden_size;
        let (enc, layers) = (config.encoder_lstm(), config.num_decoder_layers);
        let bridge = |name: &str| Dense::linear(ck, name, config.bridge_inputs(), layers * h);
        let encoder_proj = if enc.output_size() != h {
            Some(Dense::linear(ck, "encoder_proj.", enc.output_size(), h)?)
        } else {
            None
        };
        let norm = if config.layer_norm {
            Some(LayerNorm::new(ck, "output_norm.", 2 * h)?)
        } else {
            None
        };
        Ok(Self {
            targets: config.targets(),
            encoder: CpuLstm::from_tensors(&ck.tensors, "encoder.lstm.", enc)?,
            decoder: CpuLstm::from_tensors(&ck.tensors, "decoder.", config.decoder_lstm())?,
            bridge_h: bridge("bridge_h.")?,
            bridge_c: bridge("bridge_c.")?,
            encoder_proj,
            attention: CpuAttention::new(ck, "attention.", h, config.num_heads)?,
            norm,
            output_proj: Dense::linear(ck, "output_proj.", 2 * h, config.output_size)?,
            config,
        })
    }

    /// Forecast of `x`: autoregressive, or teacher-forced from `truth` `(B, horizon, O)` (step `t > 0`
    /// reads `truth[:, t - 1]`). The attention history `(B, horizon, T)` is kept only `with_attention`.
    fn forecast(
        &self,
        x: Batch<'_>,
        truth: Option<&[f32]>,
        with_attention: bool,
    ) -> Result<Computed> {
        let per_y = self.config.horizon * self.config.output_size;
        in_parts(x.batch(), |rows, threads| {
            let y = truth.map(|y| &y[rows.start * per_y..rows.end * per_y]);
            self.run(x.rows(rows), y, with_attention, threads)
        })
    }

    fn run(
        &self,
        x: Batch<'_>,
        truth: Option<&[f32]>,
        with_attention: bool,
        threads: usize,
    ) -> Result<Computed> {
        let c = &self.config;
        let (o, horizon) = (c.output_size, c.horizon);
        let (batch, steps) = (x.batch(), x.steps());
        let (enc_out, h_n, c_n) = self
            .encoder
            .forward_with(x.values, batch, steps, None, threads);
        let rows = batch * steps;
        let keys = match &self.encoder_proj {
            Some(proj) => proj.apply(&enc_out, rows),
            None => enc_out,
        };
        let memory = self.attention.memory(&keys, batch, steps);
        let mut state_h = self.bridge(&self.bridge_h, &h_n, batch);
        state_h.iter_mut().for_each(|v| *v = v.tanh());
        let mut state_c = self.bridge(&self.bridge_c, &c_n, batch);
        // The first input is the last observed value of the target columns.
        let mut input: Vec<f32> = (0..batch)
            .flat_map(|b| {
                let last = &x.values[(b * steps + steps - 1) * c.input_size..];
                self.targets.iter().map(move |&i| last[i])
            })
            .collect();
        // Allocated fallibly: a forecast too large for memory is an error, not an abort.
        let mut values: Vec<f32> = zeroed_vec(batch * horizon * o, "forecast")?;
        let kept = if with_attention { steps } else { 0 };
        let mut attention: Vec<f32> = zeroed_vec(batch * horizon * kept, "attention weights")?;
        for t in 0..horizon {
            let (top, next_h, next_c) =
                self.decoder
                    .forward_with(&input, batch, 1, Some((&state_h, &state_c)), threads);
            (state_h, state_c) = (next_h, next_c);
            let value = self.step_output(&top, &memory, batch, &mut attention, t, kept);
            for b in 0..batch {
                values[(b * horizon + t) * o..][..o].copy_from_slice(&value[b * o..(b + 1) * o]);
            }
            input = match truth {
                Some(y) if t + 1 < horizon => (0..batch)
                    .flat_map(|b| &y[(b * horizon + t) * o..(b * horizon + t + 1) * o])
                    .copied()
                    .collect(),
                _ => value,
            };
        }
        Ok(Computed {
            outputs: vec![values],
            attention: with_attention.then_some(attention),
        })
    }

    /// One decoder step's output `(B, O)` from the decoder's top states `(B, H)`: attention over the
    /// memory, `[h; context]`, layer norm, projection. Keeps the step's weights in `attention` (`kept`
    /// columns of step `t`).
    fn step_output(
        &self,
        top: &[f32],
        memory: &Memory,
        batch: usize,
        attention: &mut [f32],
        t: usize,
        kept: usize,
    ) -> Vec<f32> {
        let h = self.config.hidden_size;
        let (context, weights) = self.attention.attend(top, memory, batch);
        let steps = weights.len() / batch.max(1);
        for b in 0..batch {
            attention[(b * self.config.horizon + t) * kept..][..kept]
                .copy_from_slice(&weights[b * steps..b * steps + kept]);
        }
        let mut features = Vec::with_capacity(batch * 2 * h);
        for b in 0..batch {
            let row_start = features.len();
            features.extend_from_slice(&top[b * h..(b + 1) * h]);
            features.extend_from_slice(&context[b * h..(b + 1) * h]);
            if let Some(norm) = &self.norm {
                norm.apply(&mut features[row_start..]);
            }
        }
        self.output_proj.apply(&features, batch)
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
}

impl ServedModel for CpuLstmAttention {
    fn name(&self) -> &'static str {
        LstmAttentionConfig::NAME
    }

    fn config_json(&self) -> Result<String> {
        to_json(&self.config)
    }

    fn input_size(&self) -> usize {
        self.config.input_size
    }

    /// The autoregressive forecast `(horizon, output_size)` per sample.
    fn outputs(&self, _steps: usize) -> Vec<OutputSpec> {
        vec![OutputSpec::new(
            "forecast",
            [self.config.horizon, self.config.output_size],
        )]
    }

    /// The encoder's intermediates, the attention memory, and the forecast with its attention.
    fn working_set(&self, steps: usize) -> usize {
        let c = &self.config;
        lstm_working_set(steps, c.input_size, c.hidden_size)
            .saturating_add(steps.saturating_mul(2 * c.hidden_size))
            .saturating_add(
                c.horizon
                    .saturating_mul(c.output_size.saturating_add(steps)),
            )
    }

    fn predict(&self, x: Batch<'_>, with_attention: bool) -> Result<Computed> {
        self.forecast(x, None, with_attention)
    }

    fn attention_shape(&self, steps: usize) -> Option<Vec<usize>> {
        Some(vec![self.config.horizon, steps])
    }

    fn target_shape(&self) -> Option<Vec<usize>> {
        Some(vec![self.config.horizon, self.config.output_size])
    }

    fn teacher_forced(&self, x: Batch<'_>, y: &[f32], with_attention: bool) -> Result<Computed> {
        self.forecast(x, Some(y), with_attention)
    }
}
