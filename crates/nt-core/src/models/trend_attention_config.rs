//! Configuration of TrendAttention, field for field the Python dataclass `TrendAttentionConfig`, shared by
//! its candle struct (`trend_attention.rs`) and its CPU backend (`trend_attention_cpu.rs`).

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
fn default_heads() -> usize {
    4
}
fn default_horizons() -> Vec<usize> {
    vec![7, 30]
}
fn default_trunk() -> Vec<usize> {
    vec![64, 32]
}
fn default_dropout() -> f64 {
    0.2
}

/// Configuration of a TrendAttention (BiLSTM, attention readout, one trend/direction head per horizon),
/// field for field the Python dataclass `TrendAttentionConfig`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrendAttentionConfig {
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
    /// One head per horizon, in bars; outputs are named after them (`trend_7`, ...). Distinct, not empty.
    #[serde(default = "default_horizons")]
    pub horizons: Vec<usize>,
    /// Widths of each head's MLP trunk (`Linear -> ReLU -> Dropout` each; may be empty).
    #[serde(default = "default_trunk")]
    pub head_hidden: Vec<usize>,
    /// Dropout between LSTM layers and inside the heads (training only).
    #[serde(default = "default_dropout")]
    pub dropout: f64,
}

impl TrendAttentionConfig {
    /// The encoder's LSTM sizes (bidirectional).
    pub fn lstm(&self) -> LstmConfig {
        LstmConfig {
            input_size: self.input_size,
            hidden_size: self.hidden_size,
            num_layers: self.num_layers,
            bidirectional: true,
        }
    }

    /// Width of a head's trunk output: its last hidden width, or the `[context; final]` features.
    pub fn trunk_width(&self) -> usize {
        self.head_hidden
            .last()
            .copied()
            .unwrap_or(2 * self.lstm().output_size())
    }
}

impl ModelConfig for TrendAttentionConfig {
    const NAME: &'static str = "trend_attention";

    /// Rejects sizes of zero, heads that do not divide `2 * hidden_size`, an empty or repeating list of
    /// horizons, head widths of 0 and a dropout outside `[0, 1)`.
    fn validate(&self) -> Result<()> {
        let lstm = self.lstm();
        lstm.validate()?;
        check_heads("2 * hidden_size", lstm.output_size(), self.num_heads)?;
        if self.horizons.is_empty() {
            return Err(Error::Config("horizons must not be empty".into()));
        }
        if let Some(&bad) = self.horizons.iter().find(|&&h| h == 0) {
            return Err(Error::Config(format!(
                "horizons entries must be at least 1, got {bad}"
            )));
        }
        for (k, h) in self.horizons.iter().enumerate() {
            if self.horizons[..k].contains(h) {
                return Err(Error::Config(format!("horizons repeats a value: {h}")));
            }
        }
        check_widths("head_hidden", &self.head_hidden)?;
        check_dropout(self.dropout)
    }

    fn num_parameters(&self) -> Option<usize> {
        let lstm = self.lstm();
        let features = lstm.output_size().checked_mul(2)?;
        let width = self.head_hidden.last().copied().unwrap_or(features);
        let trunk = match self.head_hidden.split_last() {
            Some((&last, hidden)) => mlp_parameters(features, hidden, last)?,
            None => 0,
        };
        let head = sum_parameters([
            Some(trunk),
            linear_parameters(width, 1),
            linear_parameters(width, 2),
        ])?;
        sum_parameters([
            lstm.num_parameters(),
            attention_parameters(lstm.output_size()),
            head.checked_mul(self.horizons.len()),
        ])
    }

    fn input_size(&self) -> usize {
        self.input_size
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> TrendAttentionConfig {
        TrendAttentionConfig {
            input_size: 3,
            hidden_size: 8,
            num_layers: 1,
            num_heads: 2,
            horizons: vec![3, 5],
            head_hidden: vec![4],
            dropout: 0.0,
        }
    }

    #[test]
    fn defaults_follow_the_python_dataclass() {
        let cfg: TrendAttentionConfig = serde_json::from_str(r#"{"input_size": 3}"#).unwrap();
        assert_eq!(
            (cfg.hidden_size, cfg.num_layers, cfg.num_heads),
            (128, 2, 4)
        );
        assert_eq!(
            (cfg.horizons.clone(), cfg.head_hidden.clone()),
            (vec![7, 30], vec![64, 32])
        );
        assert!(cfg.validate().is_ok());
        let unknown =
            serde_json::from_str::<TrendAttentionConfig>(r#"{"input_size": 3, "horizon": 7}"#);
        assert!(unknown.is_err());
    }

    #[test]
    fn invalid_configs_are_config_errors() {
        assert!(small().validate().is_ok());
        for bad in [
            TrendAttentionConfig {
                horizons: vec![],
                ..small()
            },
            TrendAttentionConfig {
                horizons: vec![3, 3],
                ..small()
            },
            TrendAttentionConfig {
                horizons: vec![0],
                ..small()
            },
            TrendAttentionConfig {
                num_heads: 5,
                ..small()
            },
            TrendAttentionConfig {
                num_heads: 0,
                ..small()
            },
            TrendAttentionConfig {
                head_hidden: vec![0],
                ..small()
            },
            TrendAttentionConfig {
                hidden_size: 0,
                ..small()
            },
            TrendAttentionConfig {
                dropout: 1.0,
                ..small()
            },
        ] {
            assert!(matches!(bad.validate(), Err(Error::Config(_))), "{bad:?}");
        }
    }

    #[test]
    fn trend_parameter_count_by_hand() {
        // H = 2, bidirectional: E = 4, features 8; one horizon, trunk [3].
        let cfg = TrendAttentionConfig {
            input_size: 1,
            hidden_size: 2,
            num_layers: 1,
            num_heads: 1,
            horizons: vec![5],
            head_hidden: vec![3],
            dropout: 0.0,
        };
        let lstm = 2 * (8 * (1 + 2 + 2));
        let attention = 4 * 16 + 4 * 4;
        let head = (8 * 3 + 3) + (3 + 1) + (3 * 2 + 2);
        assert_eq!(cfg.num_parameters(), Some(lstm + attention + head));
        assert_eq!(cfg.trunk_width(), 3);
        let no_trunk = TrendAttentionConfig {
            head_hidden: vec![],
            ..cfg
        };
        assert_eq!(no_trunk.trunk_width(), 8);
        assert_eq!(
            no_trunk.num_parameters(),
            Some(lstm + attention + (8 + 1) + (8 * 2 + 2))
        );
    }
}
