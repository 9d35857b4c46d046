//! The pre-trained encoder (`lstm_encoder`): candle twin of `neural_trader.models.PretrainedEncoder`, what
//! masked pre-training ships (training, CUDA later; the engine serves the CPU sibling in
//! `lstm_encoder_cpu.rs`, built from the same checkpoint). Tensors `encoder.lstm.*` only.
//!
//! `forward` gives the encoder outputs `(B, T, H * dirs)`, as the PyTorch twin's forward; `embed` the
//! last layer's final hidden states, forward then backward, `(B, H * dirs)` (`LSTMEncoder.final_hidden`):
//! the embedding of a window that other models can take as features.

use candle_core::Tensor;
use candle_nn::VarBuilder;

use super::config::LstmEncoderConfig;
use super::readout::final_hidden;
use crate::config::ModelConfig;
use crate::error::Result;
use crate::lstm::Lstm;

/// The candle twin.
#[derive(Debug, Clone)]
pub struct LstmEncoder {
    config: LstmEncoderConfig,
    lstm: Lstm,
}

impl LstmEncoder {
    /// Builds the encoder from `vb` (names as in the torch `state_dict()`).
    pub fn new(config: LstmEncoderConfig, vb: VarBuilder) -> Result<Self> {
        config.validate()?;
        let lstm = Lstm::new(config.lstm(), vb.pp("encoder").pp("lstm"))?;
        Ok(Self { config, lstm })
    }

    /// The configuration.
    pub fn config(&self) -> &LstmEncoderConfig {
        &self.config
    }

    /// Encoder outputs `(B, T, H * dirs)` for input `(B, T, input_size)`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(self.lstm.forward(x, None)?.0)
    }

    /// The final hidden states `(B, H * dirs)` for input `(B, T, input_size)`.
    pub fn embed(&self, x: &Tensor) -> Result<Tensor> {
        let (_, state) = self.lstm.forward(x, None)?;
        final_hidden(&state.h, self.lstm.config())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::param_spec;

    #[test]
    fn parameters_are_the_lstm_alone() {
        for bidirectional in [false, true] {
            let cfg = LstmEncoderConfig {
                input_size: 3,
                hidden_size: 5,
                num_layers: 2,
                bidirectional,
                dropout: 0.0,
            };
            let spec = param_spec(|vb| LstmEncoder::new(cfg.clone(), vb)).unwrap();
            let built: usize = spec.iter().map(|(_, d)| d.iter().product::<usize>()).sum();
            assert_eq!(cfg.num_parameters(), Some(built));
            assert!(spec.iter().all(|(n, _)| n.starts_with("encoder.lstm.")));
        }
    }
}
