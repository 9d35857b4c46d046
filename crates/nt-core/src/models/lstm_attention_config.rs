//! Configuration of LSTMAttention, field for field the Python dataclass `LSTMAttentionConfig`, shared by
//! its candle struct (`lstm_attention.rs`) and its CPU backend (`lstm_attention_cpu.rs`).

use serde::{Deserialize, Serialize};

use crate::config::{
    attention_parameters, check_dropout, check_heads, linear_parameters, sum_parameters,
    LstmConfig, ModelConfig,
};
use crate::error::{Error, Result};

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

    /// The same config with `target_indices` resolved (what both twins store and save).
    pub fn resolved(&self) -> Self {
        Self {
            target_indices: Some(self.targets()),
            ..self.clone()
        }
    }

    /// The target columns, with the default resolved.
    pub fn targets(&self) -> Vec<usize> {
        self.target_indices
            .clone()
            .unwrap_or_else(|| (0..self.output_size).collect())
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

    /// Width of the flattened encoder final states the bridges read: `Le * dirs * H`.
    pub fn bridge_inputs(&self) -> usize {
        self.num_encoder_layers * self.encoder_lstm().output_size()
    }

    fn check_targets(&self) -> Result<()> {
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
}

impl ModelConfig for LstmAttentionConfig {
    const NAME: &'static str = "lstm_attention";

    /// Rejects zero sizes, a horizon beyond [`MAX_HORIZON`], heads that do not divide `hidden_size`,
    /// ratios outside their ranges and target indices that are out of range, repeated or not
    /// `output_size` of them.
    fn validate(&self) -> Result<()> {
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
        check_heads("hidden_size", self.hidden_size, self.num_heads)?;
        check_dropout(self.dropout)?;
        if !(0.0..=1.0).contains(&self.teacher_forcing_ratio) {
            return Err(Error::Config(format!(
                "teacher_forcing_ratio must be in [0, 1], got {}",
                self.teacher_forcing_ratio
            )));
        }
        self.check_targets()
    }

    /// Encoder, both bridges, the encoder projection (bidirectional only), decoder, attention, the
    /// layer norm over `2H` (when on) and the output projection.
    fn num_parameters(&self) -> Option<usize> {
        let h = self.hidden_size;
        let enc = self.encoder_lstm();
        let enc_width = h.checked_mul(enc.num_directions())?;
        let states = self.num_encoder_layers.checked_mul(enc_width)?;
        let bridge = linear_parameters(states, self.num_decoder_layers.checked_mul(h)?);
        let proj = if enc.bidirectional {
            linear_parameters(enc_width, h)
        } else {
            Some(0)
        };
        let norm = if self.layer_norm {
            h.checked_mul(4)
        } else {
            Some(0)
        };
        sum_parameters([
            enc.num_parameters(),
            bridge,
            bridge,
            proj,
            self.decoder_lstm().num_parameters(),
            attention_parameters(h),
            norm,
            linear_parameters(h.checked_mul(2)?, self.output_size),
        ])
    }

    fn input_size(&self) -> usize {
        self.input_size
    }
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
                horizon: MAX_HORIZON + 1,
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
    fn json_null_targets_mean_default_and_unknown_fields_fail() {
        let cfg: LstmAttentionConfig = serde_json::from_str(
            r#"{"input_size": 4, "output_size": 2, "horizon": 3, "target_indices": null}"#,
        )
        .unwrap();
        assert_eq!(cfg.targets(), vec![0, 1]);
        assert_eq!(cfg.resolved().target_indices, Some(vec![0, 1]));
        assert_eq!(cfg.num_heads, 8);
        let bad = serde_json::from_str::<LstmAttentionConfig>(
            r#"{"input_size": 4, "output_size": 2, "horizon": 3, "heads": 2}"#,
        );
        assert!(bad.is_err());
    }

    #[test]
    fn huge_configs_have_no_parameter_count() {
        let huge = LstmAttentionConfig {
            hidden_size: 1 << 40,
            num_encoder_layers: usize::MAX,
            ..LstmAttentionConfig::new(3, 2, 4)
        };
        assert_eq!(huge.num_parameters(), None);
    }
}
