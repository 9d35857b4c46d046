//! What the two backends of a model share: the LSTM sizes and their limits, the layer-norm epsilon, the
//! checks every model config applies, and the parameter-count formulas.
//!
//! Each served model has a candle struct (training, CUDA) and a CPU backend (serving) built from the same
//! checkpoint. Neither imports the other; both import this module and their model's config (in
//! `models/`), so the two can never disagree on a size, a limit or an epsilon.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{fmt_shape, Error, Result};

/// Largest `input_size` or `hidden_size` accepted (2^20).
pub const MAX_LSTM_WIDTH: usize = 1 << 20;
/// Largest `num_layers` accepted.
pub const MAX_LSTM_LAYERS: usize = 64;

/// LayerNorm epsilon: torch's default, which the PyTorch twins use.
pub const LAYER_NORM_EPS: f32 = 1e-5;

/// A model's configuration, as its checkpoint holds it: the registry name it is saved under, its checks,
/// and the number of parameters it implies.
pub trait ModelConfig: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {
    /// Registry name written into checkpoints (`"bilstm_classifier"`, ...).
    const NAME: &'static str;

    /// Rejects a config that no model can be built from, naming the field.
    fn validate(&self) -> Result<()>;

    /// Scalar parameters this config implies, as `num_parameters()` of either twin; `None` when the count
    /// overflows `usize` (a hostile config).
    fn num_parameters(&self) -> Option<usize>;

    /// Features per time step of the model's input.
    fn input_size(&self) -> usize;
}

/// Sizes of a stacked LSTM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LstmConfig {
    /// Features per time step of the input.
    pub input_size: usize,
    /// Hidden units per direction.
    pub hidden_size: usize,
    /// Stacked layers.
    pub num_layers: usize,
    /// Whether each layer also runs backwards in time.
    pub bidirectional: bool,
}

impl LstmConfig {
    /// Number of directions (1 or 2).
    pub fn num_directions(&self) -> usize {
        if self.bidirectional {
            2
        } else {
            1
        }
    }

    /// Width of each output time step: `hidden_size * num_directions`.
    pub fn output_size(&self) -> usize {
        self.hidden_size * self.num_directions()
    }

    /// Width of the input of `layer`: the features for layer 0, the layer below's output after.
    pub fn layer_input(&self, layer: usize) -> usize {
        if layer == 0 {
            self.input_size
        } else {
            self.output_size()
        }
    }

    /// Rejects zero sizes and sizes beyond [`MAX_LSTM_WIDTH`] / [`MAX_LSTM_LAYERS`], which keeps every
    /// size product below overflow and a hostile config from asking for terabytes.
    pub fn validate(&self) -> Result<()> {
        for (name, v, max) in [
            ("input_size", self.input_size, MAX_LSTM_WIDTH),
            ("hidden_size", self.hidden_size, MAX_LSTM_WIDTH),
            ("num_layers", self.num_layers, MAX_LSTM_LAYERS),
        ] {
            if v == 0 || v > max {
                return Err(Error::Config(format!(
                    "LSTM {name} must be in 1..={max}, got {v}"
                )));
            }
        }
        Ok(())
    }

    /// Every tensor of the stack, named as in `torch.nn.LSTM`'s `state_dict()` (under `prefix`, e.g.
    /// `"encoder.lstm."`), with its shape: both backends read exactly these.
    pub fn param_spec(&self, prefix: &str) -> Vec<(String, Vec<usize>)> {
        let gates = 4 * self.hidden_size;
        let mut spec = Vec::with_capacity(4 * self.num_layers * self.num_directions());
        for layer in 0..self.num_layers {
            for direction in 0..self.num_directions() {
                let [w_ih, w_hh, b_ih, b_hh] = lstm_tensor_names(prefix, layer, direction);
                spec.push((w_ih, vec![gates, self.layer_input(layer)]));
                spec.push((w_hh, vec![gates, self.hidden_size]));
                spec.push((b_ih, vec![gates]));
                spec.push((b_hh, vec![gates]));
            }
        }
        spec
    }

    /// The sizes of an LSTM of `num_layers` layers whose layer-0 tensors (under `prefix`) have the shapes
    /// `dims_of` reports: `weight_ih_l0` `(4H, I)` and `weight_hh_l0` `(4H, H)`.
    pub fn infer(
        dims_of: impl Fn(&str) -> Option<Vec<usize>>,
        prefix: &str,
        num_layers: usize,
        bidirectional: bool,
    ) -> Result<Self> {
        let [w_ih, w_hh, _, _] = lstm_tensor_names(prefix, 0, 0);
        let dims = |name: &str| {
            dims_of(name).ok_or_else(|| Error::Checkpoint(format!("missing tensor `{name}`")))
        };
        let (ih, hh) = (dims(&w_ih)?, dims(&w_hh)?);
        let (&[gates, input_size], &[_, hidden_size]) = (ih.as_slice(), hh.as_slice()) else {
            return Err(Error::shape(
                format!("tensor {w_ih} / {w_hh}"),
                "(4H, I) and (4H, H)",
                format!("{} and {}", fmt_shape(&ih), fmt_shape(&hh)),
            ));
        };
        if gates != 4 * hidden_size {
            return Err(Error::shape(
                format!("tensor {w_ih}"),
                format!("({}, {input_size})", 4 * hidden_size),
                fmt_shape(&ih),
            ));
        }
        let config = Self {
            input_size,
            hidden_size,
            num_layers,
            bidirectional,
        };
        config.validate()?;
        Ok(config)
    }

    /// Scalar parameters: per direction of a layer reading `in` features, `weight_ih` `(4H, in)`,
    /// `weight_hh` `(4H, H)` and two biases `(4H,)`. Closed form, so a huge layer count cannot make it
    /// loop; `None` on overflow.
    pub fn num_parameters(&self) -> Option<usize> {
        let h = self.hidden_size;
        let cell = |input: usize| {
            h.checked_mul(4)?
                .checked_mul(input.checked_add(h)?.checked_add(2)?)
        };
        let dirs = self.num_directions();
        let deeper = cell(h.checked_mul(dirs)?)?.checked_mul(self.num_layers.checked_sub(1)?)?;
        cell(self.input_size)?
            .checked_add(deeper)?
            .checked_mul(dirs)
    }
}

/// Names of the four tensors of one direction (0 forward, 1 backward) of one layer, in PyTorch's order:
/// `weight_ih_l{layer}`, `weight_hh_l{layer}`, `bias_ih_l{layer}`, `bias_hh_l{layer}`, with `_reverse`
/// for the backward direction, all under `prefix`.
pub fn lstm_tensor_names(prefix: &str, layer: usize, direction: usize) -> [String; 4] {
    let suffix = if direction == 1 { "_reverse" } else { "" };
    ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]
        .map(|kind| format!("{prefix}{kind}_l{layer}{suffix}"))
}

/// Parameters of a torch `Linear(inputs, outputs)` with bias.
pub fn linear_parameters(inputs: usize, outputs: usize) -> Option<usize> {
    inputs.checked_mul(outputs)?.checked_add(outputs)
}

/// Parameters of a torch `MultiheadAttention(embed, heads)` with biases: `in_proj` `(3E, E)` + `(3E,)`
/// and `out_proj` `(E, E)` + `(E,)`.
pub fn attention_parameters(embed: usize) -> Option<usize> {
    embed.checked_mul(embed)?.checked_add(embed)?.checked_mul(4)
}

/// Parameters of an MLP: `Linear` layers `inputs -> hidden[0] -> ... -> outputs`.
pub fn mlp_parameters(inputs: usize, hidden: &[usize], outputs: usize) -> Option<usize> {
    let mut total = 0usize;
    let mut width = inputs;
    for &units in hidden.iter().chain([&outputs]) {
        total = total.checked_add(linear_parameters(width, units)?)?;
        width = units;
    }
    Some(total)
}

/// The sum of parameter counts, `None` if any is `None` or the sum overflows.
pub fn sum_parameters(parts: impl IntoIterator<Item = Option<usize>>) -> Option<usize> {
    parts
        .into_iter()
        .try_fold(0usize, |acc, n| acc.checked_add(n?))
}

/// Rejects a dropout rate outside `[0, 1)` (NaN included), as the PyTorch twins do.
pub fn check_dropout(dropout: f64) -> Result<()> {
    if (0.0..1.0).contains(&dropout) {
        Ok(())
    } else {
        Err(Error::Config(format!(
            "dropout must be in [0, 1), got {dropout}"
        )))
    }
}

/// Rejects widths of hidden MLP layers that are 0 or beyond [`MAX_LSTM_WIDTH`] (a list read from a file
/// must not ask for terabytes), naming the field.
pub fn check_widths(name: &str, widths: &[usize]) -> Result<()> {
    match widths.iter().find(|&&w| w == 0 || w > MAX_LSTM_WIDTH) {
        Some(bad) => Err(Error::Config(format!(
            "{name} entries must be in 1..={MAX_LSTM_WIDTH}, got {bad}"
        ))),
        None => Ok(()),
    }
}

/// Rejects a number of attention heads that is 0 or does not divide `width`.
pub fn check_heads(width_name: &str, width: usize, heads: usize) -> Result<()> {
    if heads == 0 || !width.is_multiple_of(heads) {
        return Err(Error::Config(format!(
            "{width_name} ({width}) must be divisible by num_heads ({heads})"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lstm_parameter_count_follows_torch() {
        // torch.nn.LSTM(4, 8, 2, bidirectional=True): layer 0 reads 4, layer 1 reads 16.
        let cfg = LstmConfig {
            input_size: 4,
            hidden_size: 8,
            num_layers: 2,
            bidirectional: true,
        };
        assert_eq!(
            cfg.num_parameters(),
            Some(2 * (32 * (4 + 8 + 2) + 32 * (16 + 8 + 2)))
        );
        let huge = LstmConfig {
            hidden_size: usize::MAX / 2,
            ..cfg
        };
        assert_eq!(huge.num_parameters(), None);
    }

    #[test]
    fn mlp_and_attention_counts() {
        assert_eq!(mlp_parameters(10, &[], 2), Some(22));
        assert_eq!(mlp_parameters(10, &[4, 3], 2), Some(44 + 15 + 8));
        assert_eq!(attention_parameters(6), Some(4 * 36 + 4 * 6));
        assert_eq!(mlp_parameters(usize::MAX, &[2], 1), None);
        assert_eq!(sum_parameters([Some(1), None]), None);
    }

    #[test]
    fn shared_checks_name_the_bad_value() {
        assert!(check_dropout(0.0).is_ok());
        for bad in [1.0, -0.1, f64::NAN] {
            assert!(matches!(check_dropout(bad), Err(Error::Config(_))));
        }
        let err = check_widths("head_hidden", &[4, 0])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("head_hidden") && err.contains("got 0"),
            "{err}"
        );
        assert!(check_heads("2 * hidden_size", 16, 3).is_err());
        assert!(check_heads("2 * hidden_size", 16, 0).is_err());
        assert!(check_heads("2 * hidden_size", 16, 4).is_ok());
    }
}
