//! SimpleLSTM and EnhancedSimpleLSTM, the fine-tuning classifiers of the recipes: candle twins of
//! `neural_trader.models.SimpleLSTM` and `EnhancedSimpleLSTM` (training, CUDA later; the engine serves the
//! CPU siblings in `simple_lstm_cpu.rs`, built from the same checkpoint).
//!
//! - **SimpleLSTM**: a unidirectional stacked LSTM `encoder.lstm.*`; the top layer's final hidden state
//!   `(B, H)` goes through the MLP head `head.*` to `num_classes` logits.
//! - **EnhancedSimpleLSTM**: a stacked BiLSTM `encoder.lstm.*`; its final hidden states `(B, 2H)` ask
//!   `attention` (`nn.MultiheadAttention(2H, num_heads)`) for a context over the outputs of every step;
//!   the head reads `[context; final]` `(B, 4H)`. Its attention weights `(B, T)` are averaged over heads.
//!
//! Heads: `Linear -> ReLU -> Dropout` per entry of `head_hidden`, then `Linear` to the logits.

use candle_core::{Tensor, D};
use candle_nn::VarBuilder;

use super::config::{EnhancedSimpleLstmConfig, SimpleLstmConfig};
use super::readout::{attention_readout, final_hidden, Mlp};
use crate::attention::MultiHeadAttention;
use crate::config::ModelConfig;
use crate::error::Result;
use crate::lstm::Lstm;

/// The candle twin of SimpleLSTM.
#[derive(Debug, Clone)]
pub struct SimpleLstm {
    config: SimpleLstmConfig,
    lstm: Lstm,
    head: Mlp,
}

impl SimpleLstm {
    /// Builds the model from `vb` (names as in the torch `state_dict()`).
    pub fn new(config: SimpleLstmConfig, vb: VarBuilder) -> Result<Self> {
        config.validate()?;
        let lstm = Lstm::new(config.lstm(), vb.pp("encoder").pp("lstm"))?;
        let head = Mlp::new(
            config.lstm().output_size(),
            &config.head_hidden,
            Some(config.num_classes),
            vb.pp("head"),
        )?;
        Ok(Self { config, lstm, head })
    }

    /// The configuration.
    pub fn config(&self) -> &SimpleLstmConfig {
        &self.config
    }

    /// Logits `(B, num_classes)` for input `(B, T, input_size)`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (_, state) = self.lstm.forward(x, None)?;
        self.head
            .forward(&final_hidden(&state.h, self.lstm.config())?)
    }
}

/// The candle twin of EnhancedSimpleLSTM.
#[derive(Debug, Clone)]
pub struct EnhancedSimpleLstm {
    config: EnhancedSimpleLstmConfig,
    lstm: Lstm,
    attention: MultiHeadAttention,
    head: Mlp,
}

impl EnhancedSimpleLstm {
    /// Builds the model from `vb` (names as in the torch `state_dict()`).
    pub fn new(config: EnhancedSimpleLstmConfig, vb: VarBuilder) -> Result<Self> {
        config.validate()?;
        let width = config.lstm().output_size();
        let lstm = Lstm::new(config.lstm(), vb.pp("encoder").pp("lstm"))?;
        let attention = MultiHeadAttention::new(width, config.num_heads, vb.pp("attention"))?;
        let head = Mlp::new(
            2 * width,
            &config.head_hidden,
            Some(config.num_classes),
            vb.pp("head"),
        )?;
        Ok(Self {
            config,
            lstm,
            attention,
            head,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &EnhancedSimpleLstmConfig {
        &self.config
    }

    /// Logits `(B, num_classes)` and the attention weights `(B, T)` for input `(B, T, input_size)`.
    pub fn forward(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        let (outputs, state) = self.lstm.forward(x, None)?;
        let last = final_hidden(&state.h, self.lstm.config())?;
        let (context, weights) = attention_readout(&self.attention, &outputs, &last)?;
        let features = Tensor::cat(&[&context, &last], D::Minus1)?;
        Ok((self.head.forward(&features)?, weights))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::param_spec;

    fn count(spec: &[(String, Vec<usize>)]) -> usize {
        spec.iter().map(|(_, d)| d.iter().product::<usize>()).sum()
    }

    #[test]
    fn parameter_names_and_counts_follow_the_torch_twins() {
        for (layers, hidden) in [(1, vec![]), (2, vec![6]), (3, vec![5, 4])] {
            let cfg = SimpleLstmConfig {
                input_size: 3,
                hidden_size: 4,
                num_layers: layers,
                dropout: 0.0,
                num_classes: 3,
                head_hidden: hidden.clone(),
            };
            let spec = param_spec(|vb| SimpleLstm::new(cfg.clone(), vb)).unwrap();
            assert_eq!(cfg.num_parameters(), Some(count(&spec)), "{cfg:?}");
            let last = format!("head.{}.weight", 3 * hidden.len());
            assert!(
                spec.iter().any(|(n, d)| *n == last && d[0] == 3),
                "{spec:?}"
            );
            let enhanced = EnhancedSimpleLstmConfig {
                input_size: 3,
                hidden_size: 4,
                num_layers: layers,
                num_heads: 2,
                dropout: 0.0,
                num_classes: 3,
                head_hidden: hidden,
            };
            let spec = param_spec(|vb| EnhancedSimpleLstm::new(enhanced.clone(), vb)).unwrap();
            assert_eq!(
                enhanced.num_parameters(),
                Some(count(&spec)),
                "{enhanced:?}"
            );
            for name in [
                "attention.in_proj_weight",
                "encoder.lstm.weight_hh_l0_reverse",
            ] {
                assert!(spec.iter().any(|(n, _)| n == name), "{name}");
            }
        }
    }
}
