//! LSTMAttention: an encoder-decoder LSTM forecaster with multi-head attention over the encoder outputs
//! (Luong-style: the decoder's new top hidden state is the query), trained with teacher forcing and run
//! autoregressively at inference.
//!
//! Twin of `neural_trader.models.LSTMAttention`; the module docstring there describes the same maths.
//! With `H = hidden_size`, `E = H * dirs`, `Le`/`Ld` encoder/decoder layers, `O = output_size`:
//!
//! 1. Encoder `encoder.lstm.*`: stacked (bi)LSTM over `x` `(B, T, input_size)`: outputs `(B, T, E)` and
//!    final states `(Le * dirs, B, H)`.
//! 2. Bridge `bridge_h`, `bridge_c`: the final states of every encoder layer and direction, flattened per
//!    sample in PyTorch's `h_n` row order (layer-major, forward before backward) to `(B, Le * dirs * H)`,
//!    map linearly to `(B, Ld * H)`, one `H`-slice per decoder layer; `tanh` on the hidden half. One learned
//!    map handles both directions and any `Ld != Le`.
//! 3. Memory: encoder outputs, projected to `H` by `encoder_proj` when bidirectional (`E != H`), are the
//!    keys and values of `attention` (`nn.MultiheadAttention` layout, `H` wide, `num_heads` heads).
//! 4. Decoder `decoder.*`: unidirectional `Ld`-layer LSTM over `O`-wide inputs. Step `t` reads the
//!    previous value of the target columns: at `t = 0` the last observed `x[:, -1, target_indices]`,
//!    later the truth `y[:, t - 1]` (teacher forcing) or its own previous prediction.
//! 5. Output: `output_proj(output_norm([h_t; context_t]))`, `output_norm` a LayerNorm over `2H` when
//!    `layer_norm` (else absent), giving `(B, O)` per step.
//!
//! Dropout is a training-time regulariser of the PyTorch twin; this twin runs without it, so training
//! here is dropout-free. When every step is teacher-forced the decoder and attention run over all steps at
//! once; the step-by-step path gives the same numbers.
//!
//! This candle struct serves training (and CUDA later): every operation is a candle op, so gradients
//! flow, and the layers read their variables at call time, so an optimizer's in-place updates are seen
//! without rebuilding the model. The engine serves the CPU sibling `lstm_attention_cpu.rs`, built
//! from the same checkpoint; both read [`LstmAttentionConfig`].

use std::collections::{BTreeMap, HashMap};

use candle_core::{DType, Tensor, D};
use candle_nn::{Linear, Module, VarBuilder, VarMap};

pub use super::lstm_attention_config::{LstmAttentionConfig, MAX_HORIZON};
use crate::attention::{AttentionMemory, MultiHeadAttention};
use crate::checkpoint::Checkpoint;
use crate::config::{ModelConfig, LAYER_NORM_EPS};
use crate::error::{fmt_shape, Error, Result};
use crate::lstm::{Lstm, LstmState};

/// What each decoder step after the first reads.
#[derive(Clone, Copy)]
enum Feed<'a> {
    /// Its own previous prediction (inference).
    Own,
    /// The true previous target (teacher forcing).
    Truth(&'a Tensor),
    /// The truth where the flag of step `k + 1` is set, else its own prediction.
    Mixed(&'a Tensor, &'a [bool]),
}

/// Forecasts and the attention that produced them.
#[derive(Debug, Clone)]
pub struct Forecast {
    /// Predictions `(B, steps, output_size)`.
    pub values: Tensor,
    /// Attention weights over the input window, averaged over heads: `(B, steps, T)`.
    pub attention: Tensor,
}

/// The encoder-decoder model.
#[derive(Debug, Clone)]
pub struct LstmAttention {
    config: LstmAttentionConfig,
    encoder: Lstm,
    bridge_h: Linear,
    bridge_c: Linear,
    encoder_proj: Option<Linear>,
    decoder: Lstm,
    attention: MultiHeadAttention,
    /// LayerNorm `(weight, bias)` over `2H`.
    output_norm: Option<(Tensor, Tensor)>,
    output_proj: Linear,
}

impl LstmAttention {
    /// Builds the model from `vb` (names as in the torch `state_dict()`). The stored config has its
    /// `target_indices` resolved.
    pub fn new(config: LstmAttentionConfig, vb: VarBuilder) -> Result<Self> {
        config.validate()?;
        let config = config.resolved();
        let h = config.hidden_size;
        let enc = config.encoder_lstm();
        let encoder = Lstm::new(enc, vb.pp("encoder").pp("lstm"))?;
        let states = config.num_encoder_layers * enc.num_directions() * h;
        let bridge_h = candle_nn::linear(states, config.num_decoder_layers * h, vb.pp("bridge_h"))?;
        let bridge_c = candle_nn::linear(states, config.num_decoder_layers * h, vb.pp("bridge_c"))?;
        let encoder_proj = if enc.output_size() != h {
            Some(candle_nn::linear(
                enc.output_size(),
                h,
                vb.pp("encoder_proj"),
            )?)
        } else {
            None
        };
        let decoder = Lstm::new(config.decoder_lstm(), vb.pp("decoder"))?;
        let attention = MultiHeadAttention::new(h, config.num_heads, vb.pp("attention"))?;
        let output_norm = if config.layer_norm {
            let vb = vb.pp("output_norm");
            Some((
                vb.get_with_hints(2 * h, "weight", candle_nn::Init::Const(1.))?,
                vb.get_with_hints(2 * h, "bias", candle_nn::Init::Const(0.))?,
            ))
        } else {
            None
        };
        let output_proj = candle_nn::linear(2 * h, config.output_size, vb.pp("output_proj"))?;
        Ok(Self {
            config,
            encoder,
            bridge_h,
            bridge_c,
            encoder_proj,
            decoder,
            attention,
            output_norm,
            output_proj,
        })
    }

    /// The configuration (with `target_indices` resolved).
    pub fn config(&self) -> &LstmAttentionConfig {
        &self.config
    }

    /// Autoregressive forecast of `horizon` steps from windows `x` `(B, T, input_size)`.
    pub fn forecast(&self, x: &Tensor) -> Result<Forecast> {
        self.decode(x, Feed::Own)
    }

    /// Teacher-forced forward pass (ratio 1): step `t > 0` reads the truth `y[:, t - 1]`.
    /// `y` is `(B, horizon, output_size)`.
    pub fn teacher_forced(&self, x: &Tensor, y: &Tensor) -> Result<Forecast> {
        self.decode(x, Feed::Truth(y))
    }

    /// Scheduled sampling: the input of step `k + 1` is the truth `y[:, k]` where `feed_truth[k]`, else
    /// the model's own prediction of step `k` (gradients flow through it). `feed_truth` has `horizon - 1`
    /// entries; the caller draws them, e.g. each true with probability `teacher_forcing_ratio`.
    pub fn scheduled(&self, x: &Tensor, y: &Tensor, feed_truth: &[bool]) -> Result<Forecast> {
        let steps = self.config.horizon - 1;
        if feed_truth.len() != steps {
            return Err(Error::Config(format!(
                "feed_truth has {} entries, expected horizon - 1 = {steps}",
                feed_truth.len()
            )));
        }
        if feed_truth.iter().all(|&f| f) {
            self.decode(x, Feed::Truth(y))
        } else {
            self.decode(x, Feed::Mixed(y, feed_truth))
        }
    }

    fn decode(&self, x: &Tensor, feed: Feed<'_>) -> Result<Forecast> {
        let c = &self.config;
        let (batch, _) = self.check_input(x)?;
        if let Feed::Truth(y) | Feed::Mixed(y, _) = feed {
            let expected = [batch, c.horizon, c.output_size];
            if y.dims() != expected {
                return Err(Error::shape(
                    "target y",
                    fmt_shape(&expected),
                    fmt_shape(y.dims()),
                ));
            }
        }
        let (memory, state) = self.encode(x)?;
        let first = self.last_targets(x)?; // (B, 1, O)
        if let Feed::Truth(y) = feed {
            // Every input is known up front: one decoder pass and one attention call over all steps.
            let inputs = if c.horizon > 1 {
                Tensor::cat(&[&first, &y.narrow(1, 0, c.horizon - 1)?], 1)?
            } else {
                first
            };
            let (values, attention, _) = self.steps(&inputs, &state, &memory)?;
            return Ok(Forecast { values, attention });
        }
        let (mut values, mut weights) = (Vec::new(), Vec::new());
        let (mut input, mut state) = (first, state);
        for t in 0..c.horizon {
            let (value, w, next) = self.steps(&input, &state, &memory)?;
            state = next;
            input = match feed {
                Feed::Mixed(y, truth) if truth.get(t) == Some(&true) => y.narrow(1, t, 1)?,
                _ => value.clone(),
            };
            values.push(value);
            weights.push(w);
        }
        Ok(Forecast {
            values: Tensor::cat(&values, 1)?,
            attention: Tensor::cat(&weights, 1)?,
        })
    }

    fn check_input(&self, x: &Tensor) -> Result<(usize, usize)> {
        match *x.dims() {
            [b, t, f] if b > 0 && t > 0 && f == self.config.input_size => Ok((b, t)),
            _ => Err(Error::shape(
                "input x",
                format!("(batch >= 1, time >= 1, {})", self.config.input_size),
                fmt_shape(x.dims()),
            )),
        }
    }

    /// Encoder outputs as projected attention memory, and the decoder's initial state.
    fn encode(&self, x: &Tensor) -> Result<(AttentionMemory, LstmState)> {
        let (out, last) = self.encoder.forward(x, None)?;
        let keys = match &self.encoder_proj {
            Some(proj) => proj.forward(&out)?,
            None => out,
        };
        let memory = self.attention.project_memory(&keys, &keys)?;
        let state = LstmState {
            h: self.bridge(&self.bridge_h, &last.h)?.tanh()?,
            c: self.bridge(&self.bridge_c, &last.c)?,
        };
        Ok((memory, state))
    }

    /// `(Le * dirs, B, H)` -> `(B, Le * dirs * H)` -> linear -> `(Ld, B, H)`.
    fn bridge(&self, linear: &Linear, state: &Tensor) -> Result<Tensor> {
        let (rows, batch, h) = state.dims3()?;
        let flat = state.transpose(0, 1)?.reshape((batch, rows * h))?;
        let mapped = linear.forward(&flat)?;
        Ok(mapped
            .reshape((batch, self.config.num_decoder_layers, h))?
            .transpose(0, 1)?
            .contiguous()?)
    }

    /// `x[:, -1:, target_indices]`: `(B, 1, O)`.
    fn last_targets(&self, x: &Tensor) -> Result<Tensor> {
        let t = x.dim(1)?;
        let idx: Vec<u32> = self.config.targets().iter().map(|&i| i as u32).collect();
        let idx = Tensor::from_vec(idx, self.config.output_size, x.device())?;
        Ok(x.narrow(1, t - 1, 1)?.contiguous()?.index_select(&idx, 2)?)
    }

    /// Runs the decoder over `inputs` `(B, L, O)` from `state`, attends and projects: predictions
    /// `(B, L, O)`, head-averaged weights `(B, L, T)` and the state after the last step.
    fn steps(
        &self,
        inputs: &Tensor,
        state: &LstmState,
        memory: &AttentionMemory,
    ) -> Result<(Tensor, Tensor, LstmState)> {
        let (hidden, next) = self.decoder.forward(inputs, Some(state))?;
        let (context, weights) = self.attention.attend(&hidden, memory)?;
        let features = Tensor::cat(&[&hidden, &context], D::Minus1)?;
        let features = match &self.output_norm {
            // The composed layer norm, because candle's fused one has no backward pass.
            Some((w, b)) => candle_nn::ops::layer_norm_slow(&features, w, b, LAYER_NORM_EPS)?,
            None => features,
        };
        Ok((self.output_proj.forward(&features)?, weights, next))
    }
}

/// A checkpoint of a model trained in Rust: `config` and every variable of `varmap` (as built by
/// [`LstmAttention::new`] on `VarBuilder::from_varmap`), loadable by either twin.
pub fn to_checkpoint(config: &LstmAttentionConfig, varmap: &VarMap) -> Result<Checkpoint> {
    config.validate()?;
    let config = config.resolved();
    let vars = varmap
        .data()
        .lock()
        .map_err(|_| Error::Checkpoint("variable map poisoned".into()))?;
    let tensors: HashMap<String, Tensor> = vars
        .iter()
        .map(|(name, var)| Ok((name.clone(), var.as_tensor().to_dtype(DType::F32)?.detach())))
        .collect::<Result<_>>()?;
    let config = serde_json::to_string(&config)
        .map_err(|e| Error::Config(format!("cannot serialise config: {e}")))?;
    Ok(Checkpoint {
        model: LstmAttentionConfig::NAME.to_string(),
        config,
        extra: BTreeMap::new(),
        tensors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_count_formula_matches_the_built_model() {
        let base = LstmAttentionConfig {
            hidden_size: 8,
            num_heads: 2,
            ..LstmAttentionConfig::new(3, 2, 4)
        };
        for (enc, dec, bidirectional, layer_norm) in [
            (1, 1, false, false),
            (2, 1, true, true),
            (3, 2, true, false),
            (1, 3, false, true),
        ] {
            let cfg = LstmAttentionConfig {
                num_encoder_layers: enc,
                num_decoder_layers: dec,
                bidirectional,
                layer_norm,
                ..base.clone()
            };
            let spec =
                crate::checkpoint::param_spec(|vb| LstmAttention::new(cfg.clone(), vb)).unwrap();
            let built: usize = spec.iter().map(|(_, d)| d.iter().product::<usize>()).sum();
            assert_eq!(cfg.num_parameters(), Some(built), "{cfg:?}");
        }
    }
}
