//! LSTM cell and stacked (bi)directional LSTM, numerically the same as `torch.nn.LSTM(batch_first=True)`.
//!
//! Parameters use PyTorch's layout and names: `weight_ih_l{k}` `(4H, I)`, `weight_hh_l{k}` `(4H, H)`,
//! `bias_ih_l{k}`, `bias_hh_l{k}` `(4H,)`, with `_reverse` for the backward direction, gate order i, f, g, o.
//! Unlike candle-nn's LSTM, the input projection of a whole sequence is one matmul; only the recurrent
//! matmul loops over time. All operations are candle ops, so the layer trains with candle's autograd and
//! runs on CUDA when the feature is on. Serving on the CPU uses its sibling `lstm_cpu.rs`, built from
//! the same tensors; the two share only [`LstmConfig`].

use candle_core::{Tensor, D};
use candle_nn::VarBuilder;

pub use crate::config::{LstmConfig, MAX_LSTM_LAYERS, MAX_LSTM_WIDTH};
use crate::error::{fmt_shape, Error, Result};

/// Hidden and cell state. For a cell: `(B, H)` each. For a stacked LSTM: `(layers * dirs, B, H)` each,
/// row `layer * dirs + direction`, as in PyTorch's `(h_n, c_n)`.
#[derive(Debug, Clone)]
pub struct LstmState {
    /// Hidden state.
    pub h: Tensor,
    /// Cell state.
    pub c: Tensor,
}

/// One direction of one layer: an LSTM cell with PyTorch's parameter layout.
#[derive(Debug, Clone)]
pub struct LstmCell {
    w_ih: Tensor,
    w_hh: Tensor,
    // Kept apart (not pre-summed) so a training loop that updates the Vars sees both.
    b_ih: Tensor,
    b_hh: Tensor,
    hidden_size: usize,
}

impl LstmCell {
    /// Loads `weight_ih_l{layer}{suffix}` and friends from `vb`; `suffix` is `""` or `"_reverse"`.
    pub fn new(
        input_size: usize,
        hidden_size: usize,
        layer: usize,
        suffix: &str,
        vb: &VarBuilder,
    ) -> Result<Self> {
        let gates = 4 * hidden_size;
        let init = candle_nn::init::DEFAULT_KAIMING_UNIFORM;
        let w_ih = vb.get_with_hints(
            (gates, input_size),
            &format!("weight_ih_l{layer}{suffix}"),
            init,
        )?;
        let w_hh = vb.get_with_hints(
            (gates, hidden_size),
            &format!("weight_hh_l{layer}{suffix}"),
            init,
        )?;
        let b_ih = vb.get_with_hints(gates, &format!("bias_ih_l{layer}{suffix}"), init)?;
        let b_hh = vb.get_with_hints(gates, &format!("bias_hh_l{layer}{suffix}"), init)?;
        Ok(Self {
            w_ih,
            w_hh,
            b_ih,
            b_hh,
            hidden_size,
        })
    }

    /// Hidden units.
    pub fn hidden_size(&self) -> usize {
        self.hidden_size
    }

    /// `(W_ih, W_hh, b_ih, b_hh)` in PyTorch's layout.
    pub fn weights(&self) -> (&Tensor, &Tensor, &Tensor, &Tensor) {
        (&self.w_ih, &self.w_hh, &self.b_ih, &self.b_hh)
    }

    fn bias(&self) -> Result<Tensor> {
        Ok((&self.b_ih + &self.b_hh)?)
    }

    /// Input projection of a whole sequence in one matmul: `(B, T, I) -> (B, T, 4H)`, biases included.
    pub fn project_inputs(&self, x: &Tensor) -> Result<Tensor> {
        let (b, t, i) = x.dims3()?;
        let flat = x.reshape((b * t, i))?;
        let projected = flat.matmul(&self.w_ih.t()?)?.broadcast_add(&self.bias()?)?;
        Ok(projected.reshape((b, t, 4 * self.hidden_size))?)
    }

    /// One step from an already projected input `(B, 4H)`.
    pub fn step_projected(&self, projected: &Tensor, state: &LstmState) -> Result<LstmState> {
        let gates = (projected + state.h.matmul(&self.w_hh.t()?)?)?;
        let chunks = gates.chunk(4, D::Minus1)?;
        let i = candle_nn::ops::sigmoid(&chunks[0])?;
        let f = candle_nn::ops::sigmoid(&chunks[1])?;
        let g = chunks[2].tanh()?;
        let o = candle_nn::ops::sigmoid(&chunks[3])?;
        let c = ((f * &state.c)? + (i * g)?)?;
        let h = (o * c.tanh()?)?;
        Ok(LstmState { h, c })
    }

    /// One step from a raw input `(B, I)`.
    pub fn step(&self, x: &Tensor, state: &LstmState) -> Result<LstmState> {
        let projected = x.matmul(&self.w_ih.t()?)?.broadcast_add(&self.bias()?)?;
        self.step_projected(&projected, state)
    }

    /// Runs the cell over a sequence `(B, T, I)`, backwards in time when `reverse`. Returns the outputs
    /// `(B, T, H)` (in input time order) and the state after the last processed step.
    pub fn run(&self, x: &Tensor, state: LstmState, reverse: bool) -> Result<(Tensor, LstmState)> {
        let projected = self.project_inputs(x)?;
        let steps = projected.dim(1)?;
        let mut state = state;
        let mut outputs = Vec::with_capacity(steps);
        for k in 0..steps {
            let t = if reverse { steps - 1 - k } else { k };
            let xt = projected.narrow(1, t, 1)?.squeeze(1)?;
            state = self.step_projected(&xt, &state)?;
            outputs.push(state.h.clone());
        }
        if reverse {
            outputs.reverse();
        }
        Ok((Tensor::stack(&outputs, 1)?, state))
    }
}

/// Stacked, optionally bidirectional LSTM over batch-first input `(B, T, F)`.
#[derive(Debug, Clone)]
pub struct Lstm {
    config: LstmConfig,
    /// `cells[layer][direction]`.
    cells: Vec<Vec<LstmCell>>,
}

impl Lstm {
    /// Loads all layers from `vb` with PyTorch's names (`vb` is the LSTM module's own prefix).
    pub fn new(config: LstmConfig, vb: VarBuilder) -> Result<Self> {
        config.validate()?;
        let mut cells = Vec::with_capacity(config.num_layers);
        for layer in 0..config.num_layers {
            let input = config.layer_input(layer);
            let directions = (0..config.num_directions())
                .map(|d| {
                    let suffix = if d == 0 { "" } else { "_reverse" };
                    LstmCell::new(input, config.hidden_size, layer, suffix, &vb)
                })
                .collect::<Result<Vec<_>>>()?;
            cells.push(directions);
        }
        Ok(Self { config, cells })
    }

    /// The sizes this LSTM was built with.
    pub fn config(&self) -> &LstmConfig {
        &self.config
    }

    /// Zero state `(layers * dirs, B, H)` for a batch of `batch`.
    pub fn zero_state(&self, x: &Tensor, batch: usize) -> Result<LstmState> {
        let shape = (
            self.config.num_layers * self.config.num_directions(),
            batch,
            self.config.hidden_size,
        );
        let h = Tensor::zeros(shape, x.dtype(), x.device())?;
        Ok(LstmState { c: h.clone(), h })
    }

    /// Runs the stack. `x` is `(B, T, input_size)`; `init` is `(h_0, c_0)` shaped
    /// `(layers * dirs, B, H)` or zeros. Returns the last layer's outputs `(B, T, H * dirs)` and
    /// `(h_n, c_n)` shaped `(layers * dirs, B, H)`, exactly as `torch.nn.LSTM`.
    pub fn forward(&self, x: &Tensor, init: Option<&LstmState>) -> Result<(Tensor, LstmState)> {
        let (batch, _, width) = self.check_input(x)?;
        if width != self.config.input_size {
            return Err(Error::shape(
                "LSTM input",
                format!("(B, T, {})", self.config.input_size),
                fmt_shape(x.dims()),
            ));
        }
        if let Some(state) = init {
            self.check_state(state, batch)?;
        }
        let init = match init {
            Some(state) => state.clone(),
            None => self.zero_state(x, batch)?,
        };
        let dirs = self.config.num_directions();
        let mut layer_input = x.clone();
        let (mut hs, mut cs) = (Vec::new(), Vec::new());
        for (layer, cells) in self.cells.iter().enumerate() {
            let mut outputs = Vec::with_capacity(dirs);
            for (d, cell) in cells.iter().enumerate() {
                let row = layer * dirs + d;
                let start = LstmState {
                    h: init.h.get(row)?,
                    c: init.c.get(row)?,
                };
                let (out, last) = cell.run(&layer_input, start, d == 1)?;
                outputs.push(out);
                hs.push(last.h);
                cs.push(last.c);
            }
            layer_input = if outputs.len() == 1 {
                outputs.remove(0)
            } else {
                Tensor::cat(&outputs, D::Minus1)?
            };
        }
        let final_state = LstmState {
            h: Tensor::stack(&hs, 0)?,
            c: Tensor::stack(&cs, 0)?,
        };
        Ok((layer_input, final_state))
    }

    fn check_input(&self, x: &Tensor) -> Result<(usize, usize, usize)> {
        match *x.dims() {
            [b, t, f] if b > 0 && t > 0 => Ok((b, t, f)),
            _ => Err(Error::shape(
                "LSTM input",
                format!("(B >= 1, T >= 1, {})", self.config.input_size),
                fmt_shape(x.dims()),
            )),
        }
    }

    fn check_state(&self, state: &LstmState, batch: usize) -> Result<()> {
        let expected = [
            self.config.num_layers * self.config.num_directions(),
            batch,
            self.config.hidden_size,
        ];
        for (name, t) in [("initial h_0", &state.h), ("initial c_0", &state.c)] {
            if t.dims() != expected {
                return Err(Error::shape(
                    name,
                    fmt_shape(&expected),
                    fmt_shape(t.dims()),
                ));
            }
        }
        Ok(())
    }
}

impl Lstm {
    /// Builds an LSTM from PyTorch-named tensors (`weight_ih_l0`, ...), inferring input and hidden
    /// sizes from layer 0. Every missing, misshapen or extra tensor is reported by name.
    pub fn from_tensors(
        tensors: std::collections::HashMap<String, Tensor>,
        num_layers: usize,
        bidirectional: bool,
    ) -> Result<Self> {
        let config = LstmConfig::infer(
            |name| tensors.get(name).map(|t| t.dims().to_vec()),
            "",
            num_layers,
            bidirectional,
        )?;
        let budget = tensors.values().map(|t| t.elem_count()).sum();
        let spec =
            crate::checkpoint::param_spec_within(crate::checkpoint::load_budget(budget), |vb| {
                Lstm::new(config, vb)
            })?;
        crate::checkpoint::check_tensors(&spec, &tensors)?;
        let vb =
            VarBuilder::from_tensors(tensors, candle_core::DType::F32, &candle_core::Device::Cpu);
        Lstm::new(config, vb)
    }
}
