//! Configurations of the encoder-readout models: a stacked (bi)LSTM whose last layer's final hidden states
//! feed a head. Each struct is field for field its Python dataclass (`neural_trader.models`), JSON being
//! the wire form; unknown fields are refused. Both backends of a model (candle struct and CPU backend)
//! are built from these.

use serde::{Deserialize, Serialize};

use crate::config::{check_dropout, linear_parameters, sum_parameters, LstmConfig, ModelConfig};
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
}
