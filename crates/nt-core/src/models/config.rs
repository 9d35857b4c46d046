//! Configurations of the encoder-readout models: a stacked (bi)LSTM whose last layer's final hidden states
//! (and, with attention, a context they ask the encoder outputs for) feed a head; and of the encoder
//! alone. Each struct is field for field its Python dataclass (`neural_trader.models`), JSON being the
//! wire form; unknown fields are refused. Both backends of a model (candle struct and CPU backend) are
//! built from these.

use serde::{Deserialize, Serialize};

use crate::config::{
    attention_parameters, check_dropout, check_heads, check_widths, linear_parameters,
    mlp_parameters, sum_parameters, LstmConfig, ModelConfig,
};
use crate::error::{Error, Result};

fn default_hidden() -> usize {
    128
}
fn default_layers() -> usize {
    2
}
fn default_dropout() -> f64 {
    0.2
}
fn default_true() -> bool {
    true
}
fn default_classes() -> usize {
    2
}
fn default_heads() -> usize {
    4
}
fn default_head_hidden() -> Vec<usize> {
    vec![64]
}

/// Rejects fewer than two classes.
fn check_classes(num_classes: usize) -> Result<()> {
    if num_classes < 2 {
        return Err(Error::Config(format!(
            "num_classes must be at least 2, got {num_classes}"
        )));
    }
    Ok(())
}

/// Configuration of a BiLSTMClassifier, field for field the Python dataclass `BiLSTMClassifierConfig`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BiLstmClassifierConfig {
    /// Features per time step.
    pub input_size: usize,
    /// Hidden units per direction.
    #[serde(default = "default_hidden")]
    pub hidden_size: usize,
    /// Stacked LSTM layers.
    #[serde(default = "default_layers")]
    pub num_layers: usize,
    /// Dropout between LSTM layers and before the head (training only; inference ignores it).
    #[serde(default = "default_dropout")]
    pub dropout: f64,
    /// Whether the LSTM is bidirectional.
    #[serde(default = "default_true")]
    pub bidirectional: bool,
    /// Number of output classes.
    #[serde(default = "default_classes")]
    pub num_classes: usize,
}

impl BiLstmClassifierConfig {
    /// The encoder's LSTM sizes.
    pub fn lstm(&self) -> LstmConfig {
        LstmConfig {
            input_size: self.input_size,
            hidden_size: self.hidden_size,
            num_layers: self.num_layers,
            bidirectional: self.bidirectional,
        }
    }
}

impl ModelConfig for BiLstmClassifierConfig {
    const NAME: &'static str = "bilstm_classifier";

    /// Rejects sizes of zero, a dropout outside `[0, 1)` and fewer than two classes.
    fn validate(&self) -> Result<()> {
        self.lstm().validate()?;
        check_dropout(self.dropout)?;
        check_classes(self.num_classes)
    }

    fn num_parameters(&self) -> Option<usize> {
        let lstm = self.lstm();
        sum_parameters([
            lstm.num_parameters(),
            linear_parameters(lstm.output_size(), self.num_classes),
        ])
    }

    fn input_size(&self) -> usize {
        self.input_size
    }
}

/// Configuration of a SimpleLSTM (unidirectional LSTM, final hidden state, MLP head), field for field
/// the Python dataclass `SimpleLSTMConfig`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimpleLstmConfig {
    /// Features per time step.
    pub input_size: usize,
    /// Hidden units.
    #[serde(default = "default_hidden")]
    pub hidden_size: usize,
    /// Stacked LSTM layers.
    #[serde(default = "default_layers")]
    pub num_layers: usize,
    /// Dropout between LSTM layers and in the head (training only).
    #[serde(default = "default_dropout")]
    pub dropout: f64,
    /// Number of output classes.
    #[serde(default = "default_classes")]
    pub num_classes: usize,
    /// Widths of the head's hidden layers (`Linear -> ReLU -> Dropout` each).
    #[serde(default = "default_head_hidden")]
    pub head_hidden: Vec<usize>,
}

impl SimpleLstmConfig {
    /// The encoder's LSTM sizes (unidirectional).
    pub fn lstm(&self) -> LstmConfig {
        LstmConfig {
            input_size: self.input_size,
            hidden_size: self.hidden_size,
            num_layers: self.num_layers,
            bidirectional: false,
        }
    }
}

impl ModelConfig for SimpleLstmConfig {
    const NAME: &'static str = "simple_lstm";

    /// Rejects sizes of zero, a dropout outside `[0, 1)`, fewer than two classes and head widths of 0.
    fn validate(&self) -> Result<()> {
        self.lstm().validate()?;
        check_dropout(self.dropout)?;
        check_classes(self.num_classes)?;
        check_widths("head_hidden", &self.head_hidden)
    }

    fn num_parameters(&self) -> Option<usize> {
        let lstm = self.lstm();
        sum_parameters([
            lstm.num_parameters(),
            mlp_parameters(lstm.output_size(), &self.head_hidden, self.num_classes),
        ])
    }

    fn input_size(&self) -> usize {
        self.input_size
    }
}

/// Configuration of an EnhancedSimpleLSTM (BiLSTM, attention readout, MLP head over `[context; final]`),
/// field for field the Python dataclass `EnhancedSimpleLSTMConfig`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnhancedSimpleLstmConfig {
    /// Features per time step.
    pub input_size: usize,
    /// Hidden units per direction.
    #[serde(default = "default_hidden")]
    pub hidden_size: usize,
    /// Stacked LSTM layers.
    #[serde(default = "default_layers")]
    pub num_layers: usize,
    /// Attention heads; must divide `2 * hidden_size`.
    #[serde(default = "default_heads")]
    pub num_heads: usize,
    /// Dropout between LSTM layers and in the head (training only).
    #[serde(default = "default_dropout")]
    pub dropout: f64,
    /// Number of output classes.
    #[serde(default = "default_classes")]
    pub num_classes: usize,
    /// Widths of the head's hidden layers.
    #[serde(default = "default_head_hidden")]
    pub head_hidden: Vec<usize>,
}

impl EnhancedSimpleLstmConfig {
    /// The encoder's LSTM sizes (bidirectional).
    pub fn lstm(&self) -> LstmConfig {
        LstmConfig {
            input_size: self.input_size,
            hidden_size: self.hidden_size,
            num_layers: self.num_layers,
            bidirectional: true,
        }
    }
}

impl ModelConfig for EnhancedSimpleLstmConfig {
    const NAME: &'static str = "enhanced_simple_lstm";

    /// As [`SimpleLstmConfig`], and heads that divide the attention width `2 * hidden_size`.
    fn validate(&self) -> Result<()> {
        let lstm = self.lstm();
        lstm.validate()?;
        check_heads("2 * hidden_size", lstm.output_size(), self.num_heads)?;
        check_dropout(self.dropout)?;
        check_classes(self.num_classes)?;
        check_widths("head_hidden", &self.head_hidden)
    }

    fn num_parameters(&self) -> Option<usize> {
        let lstm = self.lstm();
        let width = lstm.output_size();
        sum_parameters([
            lstm.num_parameters(),
            attention_parameters(width),
            mlp_parameters(width.checked_mul(2)?, &self.head_hidden, self.num_classes),
        ])
    }

    fn input_size(&self) -> usize {
        self.input_size
    }
}

/// Configuration of the pre-trained encoder (`lstm_encoder`): the LSTM alone, field for field the
/// Python dataclass `PretrainedEncoderConfig`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LstmEncoderConfig {
    /// Features per time step.
    pub input_size: usize,
    /// Hidden units per direction.
    #[serde(default = "default_hidden")]
    pub hidden_size: usize,
    /// Stacked LSTM layers.
    #[serde(default = "default_layers")]
    pub num_layers: usize,
    /// Whether the LSTM is bidirectional.
    #[serde(default = "default_true")]
    pub bidirectional: bool,
    /// Dropout of the pre-training run (kept so a model built from this config behaves as that one did;
    /// inference ignores it).
    #[serde(default)]
    pub dropout: f64,
}

impl LstmEncoderConfig {
    /// The LSTM sizes.
    pub fn lstm(&self) -> LstmConfig {
        LstmConfig {
            input_size: self.input_size,
            hidden_size: self.hidden_size,
            num_layers: self.num_layers,
            bidirectional: self.bidirectional,
        }
    }
}

impl ModelConfig for LstmEncoderConfig {
    const NAME: &'static str = "lstm_encoder";

    /// Rejects sizes of zero and a dropout outside `[0, 1)`.
    fn validate(&self) -> Result<()> {
        self.lstm().validate()?;
        check_dropout(self.dropout)
    }

    fn num_parameters(&self) -> Option<usize> {
        self.lstm().num_parameters()
    }

    fn input_size(&self) -> usize {
        self.input_size
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifier_config_checks_and_defaults() {
        let cfg: BiLstmClassifierConfig = serde_json::from_str(r#"{"input_size": 4}"#).unwrap();
        assert_eq!(
            (cfg.hidden_size, cfg.num_layers, cfg.num_classes),
            (128, 2, 2)
        );
        assert!(cfg.bidirectional && cfg.validate().is_ok());
        for bad in [
            BiLstmClassifierConfig {
                num_classes: 1,
                ..cfg.clone()
            },
            BiLstmClassifierConfig {
                dropout: 1.0,
                ..cfg.clone()
            },
            BiLstmClassifierConfig {
                hidden_size: 0,
                ..cfg.clone()
            },
        ] {
            assert!(matches!(bad.validate(), Err(Error::Config(_))), "{bad:?}");
        }
        let unknown = serde_json::from_str::<BiLstmClassifierConfig>(
            r#"{"input_size": 4, "attention_heads": 2}"#,
        );
        assert!(unknown.is_err());
    }

    #[test]
    fn defaults_follow_the_python_dataclasses() {
        let simple: SimpleLstmConfig = serde_json::from_str(r#"{"input_size": 3}"#).unwrap();
        assert_eq!(
            (
                simple.hidden_size,
                simple.num_layers,
                simple.num_classes,
                simple.head_hidden.clone()
            ),
            (128, 2, 2, vec![64])
        );
        let enhanced: EnhancedSimpleLstmConfig =
            serde_json::from_str(r#"{"input_size": 3}"#).unwrap();
        assert_eq!(enhanced.num_heads, 4);
        let encoder: LstmEncoderConfig = serde_json::from_str(r#"{"input_size": 3}"#).unwrap();
        assert!(encoder.bidirectional && encoder.dropout == 0.0);
        for config in [
            serde_json::to_value(&simple).unwrap(),
            serde_json::to_value(&enhanced).unwrap(),
            serde_json::to_value(&encoder).unwrap(),
        ] {
            assert!(config.get("input_size").is_some());
        }
        assert!(simple.validate().is_ok() && enhanced.validate().is_ok());
        assert!(encoder.validate().is_ok());
    }

    #[test]
    fn invalid_encoder_family_configs_are_config_errors() {
        let simple = SimpleLstmConfig {
            input_size: 3,
            hidden_size: 8,
            num_layers: 1,
            dropout: 0.0,
            num_classes: 2,
            head_hidden: vec![4],
        };
        let enhanced = EnhancedSimpleLstmConfig {
            input_size: 3,
            hidden_size: 8,
            num_layers: 1,
            num_heads: 4,
            dropout: 0.0,
            num_classes: 2,
            head_hidden: vec![],
        };
        let encoder = LstmEncoderConfig {
            input_size: 3,
            hidden_size: 8,
            num_layers: 1,
            bidirectional: false,
            dropout: 0.0,
        };
        let errors = [
            SimpleLstmConfig {
                num_classes: 1,
                ..simple.clone()
            }
            .validate(),
            SimpleLstmConfig {
                head_hidden: vec![4, 0],
                ..simple.clone()
            }
            .validate(),
            SimpleLstmConfig {
                num_layers: 0,
                ..simple.clone()
            }
            .validate(),
            SimpleLstmConfig {
                dropout: f64::NAN,
                ..simple
            }
            .validate(),
            EnhancedSimpleLstmConfig {
                num_heads: 3,
                ..enhanced.clone()
            }
            .validate(),
            EnhancedSimpleLstmConfig {
                num_heads: 0,
                ..enhanced.clone()
            }
            .validate(),
            EnhancedSimpleLstmConfig {
                head_hidden: vec![usize::MAX],
                ..enhanced
            }
            .validate(),
            LstmEncoderConfig {
                hidden_size: 0,
                ..encoder.clone()
            }
            .validate(),
            LstmEncoderConfig {
                dropout: -0.5,
                ..encoder
            }
            .validate(),
        ];
        for (k, err) in errors.into_iter().enumerate() {
            assert!(matches!(err, Err(Error::Config(_))), "case {k}: {err:?}");
        }
        let unknown = serde_json::from_str::<SimpleLstmConfig>(r#"{"input_size": 3, "heads": 7}"#);
        assert!(unknown.is_err());
    }
}
