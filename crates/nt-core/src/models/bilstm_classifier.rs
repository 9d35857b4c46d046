//! BiLSTMClassifier: a stacked (bi)LSTM whose last layer's final forward and final backward hidden
//! states (`h_n`, not `out[:, -1]`, which would give the backward direction one step of context) are
//! concatenated and mapped to class logits by one linear layer.
//!
//! Twin of `neural_trader.models.BiLSTMClassifier`; parameters `encoder.lstm.*` and `head.{weight,bias}`.
//! This candle struct serves training (and CUDA later); the engine serves the CPU sibling
//! `bilstm_classifier_cpu.rs`, built from the same checkpoint. Both read [`BiLstmClassifierConfig`].

use candle_core::{Tensor, D};
use candle_nn::{Linear, Module, VarBuilder};

use super::config::BiLstmClassifierConfig;
use crate::config::ModelConfig;
use crate::error::Result;
use crate::lstm::Lstm;

/// The candle twin.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_count_formula_matches_the_built_model() {
        for (layers, bidirectional, classes) in [(1, false, 2), (2, true, 3), (3, true, 5)] {
            let cfg = BiLstmClassifierConfig {
                input_size: 3,
                hidden_size: 5,
                num_layers: layers,
                dropout: 0.0,
                bidirectional,
                num_classes: classes,
            };
            let spec =
                crate::checkpoint::param_spec(|vb| BiLstmClassifier::new(cfg.clone(), vb)).unwrap();
            let built: usize = spec.iter().map(|(_, d)| d.iter().product::<usize>()).sum();
            assert_eq!(cfg.num_parameters(), Some(built), "{cfg:?}");
        }
    }
}
