//! BiLSTMClassifier: a stacked (bi)LSTM whose last layer's final forward and final backward hidden
//! states (`h_n`, not `out[:, -1]`, which would give the backward direction one step of context) are
//! concatenated and mapped to class logits by one linear layer.
//!
//! Twin of `neural_trader.models.BiLSTMClassifier`; parameters `encoder.lstm.*` and `head.{weight,bias}`.

use candle_core::{Tensor, D};
use candle_nn::{Linear, Module, VarBuilder};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::lstm::{Lstm, LstmConfig};

/// Registry name written into checkpoints.
pub const NAME: &str = "bilstm_classifier";

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

/// Configuration, field for field the Python dataclass `BiLSTMClassifierConfig`.
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
    /// Rejects sizes of zero, a dropout outside `[0, 1)` and fewer than two classes.
    pub fn validate(&self) -> Result<()> {
        self.lstm().validate()?;
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(Error::Config(format!(
                "dropout must be in [0, 1), got {}",
                self.dropout
            )));
        }
        if self.num_classes < 2 {
            return Err(Error::Config(format!(
                "num_classes must be at least 2, got {}",
                self.num_classes
            )));
        }
        Ok(())
    }

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

/// The inference twin.
#[derive(Debug, Clone)]
pub struct BiLstmClassifier {
    config: BiLstmClassifierConfig,
    lstm: Lstm,
    head: Linear,
}

impl BiLstmClassifier {
    /// Builds the model from `vb` (names as in the torch `state_dict()`).
    pub fn new(config: BiLstmClassifierConfig, vb: VarBuilder) -> Result<Self> {
        config.validate()?;
        let lstm = Lstm::new(config.lstm(), vb.pp("encoder").pp("lstm"))?;
        let head = candle_nn::linear(
            config.lstm().output_size(),
            config.num_classes,
            vb.pp("head"),
        )?;
        Ok(Self { config, lstm, head })
    }

    /// The configuration.
    pub fn config(&self) -> &BiLstmClassifierConfig {
        &self.config
    }

    /// Logits `(B, num_classes)` for input `(B, T, input_size)`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (_, state) = self.lstm.forward(x, None)?;
        let dirs = self.config.lstm().num_directions();
        let last_layer = (self.config.num_layers - 1) * dirs;
        let top = state.h.narrow(0, last_layer, dirs)?; // (dirs, B, H)
        let features = if dirs == 1 {
            top.squeeze(0)?
        } else {
            Tensor::cat(&[top.get(0)?, top.get(1)?], D::Minus1)?
        };
        Ok(self.head.forward(&features)?)
    }
}
