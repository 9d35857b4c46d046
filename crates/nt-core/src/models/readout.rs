//! Candle layers shared by the encoder-readout models (training, CUDA later): the readout of an encoder's
//! final hidden states, the attention readout and the MLP heads, named as the PyTorch twins name them.
//!
//! The readout asks the encoder for its last layer's final forward and backward hidden states (`h_n`,
//! as `LSTMEncoder.final_hidden`: `out[:, -1]` would give the backward direction one step of context).
//! The attention readout (`attention_readout` of the PyTorch twins) uses them as the one query of a
//! multi-head attention whose keys and values are the encoder outputs of every step. The CPU backends
//! have the same pieces in `readout_cpu.rs`; the two share only the configs.

use candle_core::{Tensor, D};
use candle_nn::{Linear, Module, VarBuilder};

use crate::attention::MultiHeadAttention;
use crate::config::LstmConfig;
use crate::error::Result;

/// `h_n` `(layers * dirs, B, H)` -> the last layer's final states side by side `(B, H * dirs)`.
pub fn final_hidden(h_n: &Tensor, lstm: &LstmConfig) -> Result<Tensor> {
    let dirs = lstm.num_directions();
    let top = h_n.narrow(0, (lstm.num_layers - 1) * dirs, dirs)?; // (dirs, B, H)
    let parts = (0..dirs)
        .map(|d| top.get(d))
        .collect::<candle_core::Result<Vec<_>>>()?;
    Ok(Tensor::cat(&parts, D::Minus1)?)
}

/// The context `(B, E)` and head-averaged weights `(B, T)` of the final states `final_state` `(B, E)`
/// asking the encoder `outputs` `(B, T, E)`.
pub fn attention_readout(
    attention: &MultiHeadAttention,
    outputs: &Tensor,
    final_state: &Tensor,
) -> Result<(Tensor, Tensor)> {
    let query = final_state.unsqueeze(1)?;
    let (context, weights) = attention.forward(&query, outputs, outputs)?;
    Ok((context.squeeze(1)?, weights.squeeze(1)?))
}

/// An MLP as the PyTorch twins build it with `nn.Sequential`: `Linear -> ReLU -> Dropout` per hidden
/// width, then (for a head) a final `Linear`. Dropout is the identity here, so layer `k` is the module at
/// index `3k` of the sequence (`head.0`, `head.3`, ...).
#[derive(Debug, Clone)]
pub struct Mlp {
    layers: Vec<Linear>,
    /// Whether the last layer is followed by a ReLU (a trunk) or not (a head ending in its outputs).
    relu_last: bool,
}

impl Mlp {
    /// The sequence under `vb` mapping `inputs` features through `hidden` widths and then, when
    /// `outputs` is given, to `outputs` (with no ReLU after it). `hidden` empty and no `outputs` is the
    /// identity (an empty `nn.Sequential`).
    pub fn new(
        inputs: usize,
        hidden: &[usize],
        outputs: Option<usize>,
        vb: VarBuilder,
    ) -> Result<Self> {
        let mut layers = Vec::with_capacity(hidden.len() + 1);
        let mut width = inputs;
        for (k, &units) in hidden.iter().chain(outputs.as_ref()).enumerate() {
            layers.push(candle_nn::linear(width, units, vb.pp((3 * k).to_string()))?);
            width = units;
        }
        Ok(Self {
            layers,
            relu_last: outputs.is_none(),
        })
    }

    /// Applies the layers to `x` `(B, inputs)`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut y = x.clone();
        for (k, layer) in self.layers.iter().enumerate() {
            y = layer.forward(&y)?;
            if self.relu_last || k + 1 < self.layers.len() {
                y = y.relu()?;
            }
        }
        Ok(y)
    }
}
