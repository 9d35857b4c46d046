//! TrendAttention: candle twin of `neural_trader.models.TrendAttention` (training, CUDA later; the engine
//! serves the CPU sibling in `trend_attention_cpu.rs`, built from the same checkpoint).
//!
//! With `H = hidden_size` and `E = 2H`:
//! 1. Encoder `encoder.lstm.*`: stacked BiLSTM over `x` `(B, T, input_size)` -> outputs `(B, T, E)`.
//! 2. `attention` (`nn.MultiheadAttention(E, num_heads)`): the final hidden states (forward and backward
//!    halves of the last layer) are the query, the outputs of every step the keys and values.
//! 3. `heads.h{h}` for every horizon `h`: an MLP trunk (`Linear -> ReLU -> Dropout` per entry of
//!    `head_hidden`) over `[context; final]` (`2E` features), then `trend` (one unit, `tanh`: a score in
//!    `[-1, 1]`) and `direction` (two logits: down, up).
//!
//! Outputs, named as the PyTorch forward's dict: `trend_{h}` `(B,)` and `direction_logits_{h}` `(B, 2)` for
//! each horizon in order, then `attention_weights` `(B, T)` (averaged over heads).

use candle_core::{Tensor, D};
use candle_nn::{Linear, Module, VarBuilder};

use super::readout::{attention_readout, final_hidden, Mlp};
use super::trend_attention_config::TrendAttentionConfig;
use crate::attention::MultiHeadAttention;
use crate::config::ModelConfig;
use crate::error::Result;
use crate::lstm::Lstm;

/// One horizon's head: trunk, trend score, direction logits.
#[derive(Debug, Clone)]
struct HorizonHead {
    trunk: Mlp,
    trend: Linear,
    direction: Linear,
}

/// The candle twin.
#[derive(Debug, Clone)]
pub struct TrendAttention {
    config: TrendAttentionConfig,
    lstm: Lstm,
    attention: MultiHeadAttention,
    heads: Vec<HorizonHead>,
}

/// What a forward pass gives, by horizon in the config's order.
#[derive(Debug, Clone)]
pub struct TrendOutputs {
    /// `(trend (B,), direction logits (B, 2))` per horizon.
    pub horizons: Vec<(Tensor, Tensor)>,
    /// Attention weights `(B, T)`, averaged over heads.
    pub attention: Tensor,
}

impl TrendAttention {
    /// Builds the model from `vb` (names as in the torch `state_dict()`).
    pub fn new(config: TrendAttentionConfig, vb: VarBuilder) -> Result<Self> {
        config.validate()?;
        let width = config.lstm().output_size();
        let lstm = Lstm::new(config.lstm(), vb.pp("encoder").pp("lstm"))?;
        let attention = MultiHeadAttention::new(width, config.num_heads, vb.pp("attention"))?;
        let trunk_width = config.trunk_width();
        let heads = config
            .horizons
            .iter()
            .map(|h| {
                let vb = vb.pp("heads").pp(format!("h{h}"));
                Ok(HorizonHead {
                    trunk: Mlp::new(2 * width, &config.head_hidden, None, vb.pp("trunk"))?,
                    trend: candle_nn::linear(trunk_width, 1, vb.pp("trend"))?,
                    direction: candle_nn::linear(trunk_width, 2, vb.pp("direction"))?,
                })
            })
            .collect::<Result<_>>()?;
        Ok(Self {
            config,
            lstm,
            attention,
            heads,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &TrendAttentionConfig {
        &self.config
    }

    /// Trend scores, direction logits and attention weights for input `(B, T, input_size)`.
    pub fn forward(&self, x: &Tensor) -> Result<TrendOutputs> {
        let (outputs, state) = self.lstm.forward(x, None)?;
        let last = final_hidden(&state.h, self.lstm.config())?;
        let (context, attention) = attention_readout(&self.attention, &outputs, &last)?;
        let features = Tensor::cat(&[&context, &last], D::Minus1)?;
        let horizons = self
            .heads
            .iter()
            .map(|head| {
                let z = head.trunk.forward(&features)?;
                let trend = head.trend.forward(&z)?.tanh()?.squeeze(D::Minus1)?;
                Ok((trend, head.direction.forward(&z)?))
            })
            .collect::<Result<_>>()?;
        Ok(TrendOutputs {
            horizons,
            attention,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::param_spec;

    #[test]
    fn parameter_names_and_counts_follow_the_torch_twin() {
        for hidden in [vec![], vec![5], vec![6, 3]] {
            let cfg = TrendAttentionConfig {
                input_size: 3,
                hidden_size: 4,
                num_layers: 2,
                num_heads: 2,
                horizons: vec![7, 30],
                head_hidden: hidden.clone(),
                dropout: 0.0,
            };
            let spec = param_spec(|vb| TrendAttention::new(cfg.clone(), vb)).unwrap();
            let built: usize = spec.iter().map(|(_, d)| d.iter().product::<usize>()).sum();
            assert_eq!(cfg.num_parameters(), Some(built), "{cfg:?}");
            let names: Vec<&str> = spec.iter().map(|(n, _)| n.as_str()).collect();
            for name in ["heads.h30.trend.weight", "heads.h7.direction.bias"] {
                assert!(names.contains(&name), "{name}: {names:?}");
            }
            let trunk = names
                .iter()
                .filter(|n| n.starts_with("heads.h7.trunk."))
                .count();
            assert_eq!(trunk, 2 * hidden.len());
        }
    }
}
