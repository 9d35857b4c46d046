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
//! Training in Rust: build from `VarBuilder::from_varmap` and rebuild the model after each optimizer step
//! (it is cheap: tensors are shared), because [`crate::lstm::LstmCell`] pre-sums its two biases when built.

use std::collections::{BTreeMap, HashMap};

use candle_core::{DType, Tensor, D};
use candle_nn::{Linear, Module, VarBuilder, VarMap};
use serde::{Deserialize, Serialize};

use crate::attention::{AttentionMemory, MultiHeadAttention};
use crate::checkpoint::Checkpoint;
use crate::error::{fmt_shape, Error, Result};
use crate::lstm::{Lstm, LstmConfig, LstmState};
use crate::models::lstm_attention_cpu::{CpuForecaster, Parts};

/// Registry name written into checkpoints.
pub const NAME: &str = "lstm_attention";

/// LayerNorm epsilon, torch's default.
const LAYER_NORM_EPS: f32 = 1e-5;

fn default_hidden() -> usize {
    128
}
fn default_layers() -> usize {
    2
}
fn default_heads() -> usize {
    8
}
fn default_true() -> bool {
    true
}
fn default_dropout() -> f64 {
    0.1
}
fn default_ratio() -> f64 {
    0.5
}

/// Configuration, field for field the Python dataclass `LSTMAttentionConfig`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LstmAttentionConfig {
    /// Features per time step of the input window.
    pub input_size: usize,
    /// Target columns forecast per step.
    pub output_size: usize,
    /// Steps forecast ahead.
    pub horizon: usize,
    /// Hidden units per direction of the encoder; hidden units of the decoder and width of attention.
    #[serde(default = "default_hidden")]
    pub hidden_size: usize,
    /// Stacked encoder LSTM layers.
    #[serde(default = "default_layers")]
    pub num_encoder_layers: usize,
    /// Stacked decoder LSTM layers.
    #[serde(default = "default_layers")]
    pub num_decoder_layers: usize,
    /// Attention heads; must divide `hidden_size`.
    #[serde(default = "default_heads")]
    pub num_heads: usize,
    /// Whether the encoder is bidirectional.
    #[serde(default = "default_true")]
    pub bidirectional: bool,
    /// Dropout of the PyTorch twin in training; ignored here.
    #[serde(default = "default_dropout")]
    pub dropout: f64,
    /// Probability, per decoder step in training, of feeding the true previous target.
    #[serde(default = "default_ratio")]
    pub teacher_forcing_ratio: f64,
    /// Whether a LayerNorm precedes the output projection.
    #[serde(default = "default_true")]
    pub layer_norm: bool,
    /// Input columns that the decoder forecasts and is seeded from; `None` (JSON `null`) means the
    /// first `output_size` columns. Checkpoints written by either twin hold the resolved list.
    #[serde(default)]
    pub target_indices: Option<Vec<usize>>,
}

/// Largest `horizon` a config may ask for. The horizon creates no parameter, so the checkpoint loader's
/// bound on parameters does not limit it; without this bound a file could make every `predict` run
/// for ever (`horizon = 2**62` decoder steps).
pub const MAX_HORIZON: usize = 1 << 20;

impl LstmAttentionConfig {
    /// A config with the documented defaults for everything but the three required sizes.
    pub fn new(input_size: usize, output_size: usize, horizon: usize) -> Self {
        Self {
            input_size,
            output_size,
            horizon,
            hidden_size: default_hidden(),
            num_encoder_layers: default_layers(),
            num_decoder_layers: default_layers(),
            num_heads: default_heads(),
            bidirectional: true,
            dropout: default_dropout(),
            teacher_forcing_ratio: default_ratio(),
            layer_norm: true,
            target_indices: None,
        }
    }

    /// Rejects zero sizes, a horizon beyond [`MAX_HORIZON`], heads that do not divide `hidden_size`,
    /// ratios outside their ranges and target indices that are out of range, repeated or not
    /// `output_size` of them.
    pub fn validate(&self) -> Result<()> {
        if self.horizon > MAX_HORIZON {
            return Err(Error::Config(format!(
                "horizon must be at most {MAX_HORIZON} decoder steps, got {}",
                self.horizon
            )));
        }
        for (name, v) in [
            ("input_size", self.input_size),
            ("output_size", self.output_size),
            ("horizon", self.horizon),
            ("hidden_size", self.hidden_size),
            ("num_encoder_layers", self.num_encoder_layers),
            ("num_decoder_layers", self.num_decoder_layers),
            ("num_heads", self.num_heads),
        ] {
            if v == 0 {
                return Err(Error::Config(format!("{name} must be at least 1, got 0")));
            }
        }
        if !self.hidden_size.is_multiple_of(self.num_heads) {
            return Err(Error::Config(format!(
                "hidden_size ({}) must be divisible by num_heads ({})",
                self.hidden_size, self.num_heads
            )));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(Error::Config(format!(
                "dropout must be in [0, 1), got {}",
                self.dropout
            )));
        }
        if !(0.0..=1.0).contains(&self.teacher_forcing_ratio) {
            return Err(Error::Config(format!(
                "teacher_forcing_ratio must be in [0, 1], got {}",
                self.teacher_forcing_ratio
            )));
        }
        match &self.target_indices {
            None if self.output_size > self.input_size => Err(Error::Config(format!(
                "output_size ({}) exceeds input_size ({}): give target_indices explicitly",
                self.output_size, self.input_size
            ))),
            None => Ok(()),
            Some(idx) => {
                if idx.len() != self.output_size {
                    return Err(Error::Config(format!(
                        "target_indices has {} entries, expected output_size = {}",
                        idx.len(),
                        self.output_size
                    )));
                }
                if let Some(bad) = idx.iter().find(|&&i| i >= self.input_size) {
                    return Err(Error::Config(format!(
                        "target index {bad} is out of range for input_size {}",
                        self.input_size
                    )));
                }
                for (k, i) in idx.iter().enumerate() {
                    if idx[..k].contains(i) {
                        return Err(Error::Config(format!("target index {i} is repeated")));
                    }
                }
                Ok(())
            }
        }
    }

    /// The target columns, with the default resolved.
    pub fn targets(&self) -> Vec<usize> {
        self.target_indices
            .clone()
            .unwrap_or_else(|| (0..self.output_size).collect())
    }

    /// Number of scalar parameters this config implies, as `num_parameters()` of either twin, or `None`
    /// when it overflows `usize`. The engine compares it with a file's contents before building anything,
    /// so a hostile config cannot make it allocate more than the file holds.
    pub fn num_parameters(&self) -> Option<usize> {
        let h = self.hidden_size;
        // Per direction of a layer reading `input` features: weight_ih (4H, in), weight_hh (4H, H) and
        // two biases (4H). Closed form, so a huge layer count cannot make this loop.
        let cell = |input: usize| {
            h.checked_mul(4)?
                .checked_mul(input.checked_add(h)?.checked_add(2)?)
        };
        let lstm = |cfg: LstmConfig| -> Option<usize> {
            let dirs = cfg.num_directions();
            let deeper = cell(h.checked_mul(dirs)?)?.checked_mul(cfg.num_layers - 1)?;
            cell(cfg.input_size)?.checked_add(deeper)?.checked_mul(dirs)
        };
        let linear = |i: usize, o: usize| i.checked_mul(o)?.checked_add(o);
        let enc = self.encoder_lstm();
        let enc_width = h.checked_mul(enc.num_directions())?;
        let states = self.num_encoder_layers.checked_mul(enc_width)?;
        let bridge = linear(states, self.num_decoder_layers.checked_mul(h)?)?;
        let proj = if enc.bidirectional {
            linear(enc_width, h)?
        } else {
            0
        };
        let attention = h.checked_mul(h)?.checked_add(h)?.checked_mul(4)?;
        let norm = if self.layer_norm {
            h.checked_mul(4)?
        } else {
            0
        };
        let head = linear(h.checked_mul(2)?, self.output_size)?;
        [
            lstm(enc)?,
            bridge,
            bridge,
            proj,
            lstm(self.decoder_lstm())?,
            attention,
            norm,
            head,
        ]
        .into_iter()
        .try_fold(0usize, |acc, n| acc.checked_add(n))
    }

    /// Encoder LSTM sizes.
    pub fn encoder_lstm(&self) -> LstmConfig {
        LstmConfig {
            input_size: self.input_size,
            hidden_size: self.hidden_size,
            num_layers: self.num_encoder_layers,
            bidirectional: self.bidirectional,
        }
    }

    /// Decoder LSTM sizes.
    pub fn decoder_lstm(&self) -> LstmConfig {
        LstmConfig {
            input_size: self.output_size,
            hidden_size: self.hidden_size,
            num_layers: self.num_decoder_layers,
            bidirectional: false,
        }
    }
}

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
    /// The CPU inference path, present for inference weights on the CPU (see `lstm_attention_cpu`).
    cpu: Option<CpuForecaster>,
}

impl LstmAttention {
    /// Builds the model from `vb` (names as in the torch `state_dict()`). The stored config has its
    /// `target_indices` resolved.
    pub fn new(config: LstmAttentionConfig, vb: VarBuilder) -> Result<Self> {
        config.validate()?;
        let config = LstmAttentionConfig {
            target_indices: Some(config.targets()),
            ..config
        };
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
        // Both LSTMs hold inference weights on the CPU exactly when the whole model does.
        let cpu = match (encoder.cpu(), decoder.cpu()) {
            (Some(enc), Some(dec)) => Some(CpuForecaster::new(Parts {
                config: &config,
                encoder: enc.clone(),
                decoder: dec.clone(),
                bridge_h: &bridge_h,
                bridge_c: &bridge_c,
                encoder_proj: encoder_proj.as_ref(),
                attention: attention.parameters(),
                norm: output_norm.as_ref().map(|(w, b)| (w, b)),
                output_proj: &output_proj,
            })?),
            _ => None,
        };
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
            cpu,
        })
    }

    /// The autoregressive forecast `(B, horizon, O)` alone: on the CPU path the attention history is
    /// then never stored (it is `horizon * T` values per sample).
    pub fn forecast_values(&self, x: &Tensor) -> Result<Tensor> {
        self.check_input(x)?;
        match self.decode_cpu(x, &Feed::Own, false)? {
            Some(f) => Ok(f.values),
            None => Ok(self.forecast(x)?.values),
        }
    }

    /// The CPU path's forecast, when it applies: inference weights, a CPU float32 input that needs no
    /// gradient, and a feed it knows (its own predictions or the truth). Without `with_attention` the
    /// returned attention is empty `(B, horizon, 0)`.
    fn decode_cpu(
        &self,
        x: &Tensor,
        feed: &Feed<'_>,
        with_attention: bool,
    ) -> Result<Option<Forecast>> {
        let Some(cpu) = &self.cpu else {
            return Ok(None);
        };
        let cpu_f32 = |t: &Tensor| t.device().is_cpu() && t.dtype() == DType::F32 && !t.track_op();
        let truth = match feed {
            Feed::Own => None,
            Feed::Truth(y) if cpu_f32(y) => Some(y.flatten_all()?.to_vec1::<f32>()?),
            _ => return Ok(None),
        };
        if !cpu_f32(x) {
            return Ok(None);
        }
        let (batch, steps, _) = x.dims3()?;
        let values: Vec<f32> = x.flatten_all()?.to_vec1()?;
        let (forecast, attention) =
            cpu.forecast(&values, batch, steps, truth.as_deref(), with_attention)?;
        let c = &self.config;
        let kept = if with_attention { steps } else { 0 };
        Ok(Some(Forecast {
            values: Tensor::from_vec(forecast, (batch, c.horizon, c.output_size), x.device())?,
            attention: Tensor::from_vec(attention, (batch, c.horizon, kept), x.device())?,
        }))
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
        if let Some(forecast) = self.decode_cpu(x, &feed, true)? {
            return Ok(forecast);
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
    let config = LstmAttentionConfig {
        target_indices: Some(config.targets()),
        ..config.clone()
    };
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
        model: NAME.to_string(),
        config,
        extra: BTreeMap::new(),
        tensors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_configs_are_config_errors() {
        let ok = LstmAttentionConfig {
            hidden_size: 16,
            ..LstmAttentionConfig::new(3, 2, 4)
        };
        assert!(ok.validate().is_ok());
        let cases = [
            LstmAttentionConfig {
                horizon: 0,
                ..ok.clone()
            },
            LstmAttentionConfig {
                num_heads: 3,
                ..ok.clone()
            },
            LstmAttentionConfig {
                num_heads: 0,
                ..ok.clone()
            },
            LstmAttentionConfig {
                dropout: 1.0,
                ..ok.clone()
            },
            LstmAttentionConfig {
                teacher_forcing_ratio: 1.5,
                ..ok.clone()
            },
            LstmAttentionConfig {
                teacher_forcing_ratio: f64::NAN,
                ..ok.clone()
            },
            LstmAttentionConfig {
                output_size: 4,
                ..ok.clone()
            },
            LstmAttentionConfig {
                target_indices: Some(vec![0, 3]),
                ..ok.clone()
            },
            LstmAttentionConfig {
                target_indices: Some(vec![1]),
                ..ok.clone()
            },
            LstmAttentionConfig {
                target_indices: Some(vec![1, 1]),
                ..ok.clone()
            },
        ];
        for cfg in cases {
            let err = cfg.validate().unwrap_err();
            assert!(matches!(err, Error::Config(_)), "{cfg:?}: {err}");
        }
    }

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
        let huge = LstmAttentionConfig {
            hidden_size: 1 << 40,
            num_encoder_layers: usize::MAX,
            ..base
        };
        assert_eq!(huge.num_parameters(), None);
    }

    #[test]
    fn json_null_targets_mean_default_and_unknown_fields_fail() {
        let cfg: LstmAttentionConfig = serde_json::from_str(
            r#"{"input_size": 4, "output_size": 2, "horizon": 3, "target_indices": null}"#,
        )
        .unwrap();
        assert_eq!(cfg.targets(), vec![0, 1]);
        assert_eq!(cfg.num_heads, 8);
        let bad = serde_json::from_str::<LstmAttentionConfig>(
            r#"{"input_size": 4, "output_size": 2, "horizon": 3, "heads": 2}"#,
        );
        assert!(bad.is_err());
    }
}
