//! LSTM cell and stacked (bi)directional LSTM, numerically the same as `torch.nn.LSTM(batch_first=True)`.
//!
//! Parameters use PyTorch's layout and names: `weight_ih_l{k}` `(4H, I)`, `weight_hh_l{k}` `(4H, H)`,
//! `bias_ih_l{k}`, `bias_hh_l{k}` `(4H,)`, with `_reverse` for the backward direction, gate order i, f, g, o.
//! Unlike candle-nn's LSTM, the input projection of a whole sequence is one matmul; only the recurrent
//! matmul loops over time. All operations are candle ops, so the layer trains with candle's autograd and
//! runs on CUDA when the feature is on.

use candle_core::{Tensor, D};
use candle_nn::VarBuilder;
use serde::{Deserialize, Serialize};

use crate::error::{fmt_shape, Error, Result};
use crate::lstm_cpu::CpuLstm;

/// Largest `input_size` or `hidden_size` accepted (2^20).
pub const MAX_LSTM_WIDTH: usize = 1 << 20;
/// Largest `num_layers` accepted.
pub const MAX_LSTM_LAYERS: usize = 64;

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
}

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

    fn is_trainable(&self) -> bool {
        [&self.w_ih, &self.w_hh, &self.b_ih, &self.b_hh]
            .iter()
            .any(|t| t.is_variable())
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
    /// The hand-written CPU path, present for inference weights on the CPU (see `lstm_cpu`).
    cpu: Option<CpuLstm>,
}

impl Lstm {
    /// Loads all layers from `vb` with PyTorch's names (`vb` is the LSTM module's own prefix).
    pub fn new(config: LstmConfig, vb: VarBuilder) -> Result<Self> {
        config.validate()?;
        let mut cells = Vec::with_capacity(config.num_layers);
        for layer in 0..config.num_layers {
            let input = if layer == 0 {
                config.input_size
            } else {
                config.output_size()
            };
            let directions = (0..config.num_directions())
                .map(|d| {
                    let suffix = if d == 0 { "" } else { "_reverse" };
                    LstmCell::new(input, config.hidden_size, layer, suffix, &vb)
                })
                .collect::<Result<Vec<_>>>()?;
            cells.push(directions);
        }
        let inference_on_cpu = cells
            .iter()
            .flatten()
            .all(|c| !c.is_trainable() && c.w_ih.device().is_cpu());
        let cpu = if inference_on_cpu {
            Some(CpuLstm::new(config, &cells)?)
        } else {
            None
        };
        Ok(Self { config, cells, cpu })
    }

    /// The hand-written CPU path, when this LSTM holds inference weights on the CPU.
    pub(crate) fn cpu(&self) -> Option<&CpuLstm> {
        self.cpu.as_ref()
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
        if let (Some(cpu), false) = (&self.cpu, x.track_op()) {
            if x.device().is_cpu() && x.dtype() == candle_core::DType::F32 {
                return self.forward_cpu(cpu, x, init);
            }
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

    fn forward_cpu(
        &self,
        cpu: &CpuLstm,
        x: &Tensor,
        init: Option<&LstmState>,
    ) -> Result<(Tensor, LstmState)> {
        let (batch, steps, _) = x.dims3()?;
        let values: Vec<f32> = x.flatten_all()?.to_vec1()?;
        let init = match init {
            Some(s) => Some((
                s.h.flatten_all()?.to_vec1::<f32>()?,
                s.c.flatten_all()?.to_vec1::<f32>()?,
            )),
            None => None,
        };
        let init_refs = init.as_ref().map(|(h, c)| (h.as_slice(), c.as_slice()));
        let (out, h, c) = cpu.forward(&values, batch, steps, init_refs);
        let dev = x.device();
        let state_shape = (
            self.config.num_layers * self.config.num_directions(),
            batch,
            self.config.hidden_size,
        );
        Ok((
            Tensor::from_vec(out, (batch, steps, self.config.output_size()), dev)?,
            LstmState {
                h: Tensor::from_vec(h, state_shape, dev)?,
                c: Tensor::from_vec(c, state_shape, dev)?,
            },
        ))
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
        let dims = |name: &str| {
            tensors
                .get(name)
                .map(|t| t.dims().to_vec())
                .ok_or_else(|| Error::Checkpoint(format!("missing tensor `{name}`")))
        };
        let (w_ih, w_hh) = (dims("weight_ih_l0")?, dims("weight_hh_l0")?);
        let (&[gates, input_size], &[_, hidden_size]) = (w_ih.as_slice(), w_hh.as_slice()) else {
            return Err(Error::shape(
                "tensor weight_ih_l0 / weight_hh_l0",
                "(4H, I) and (4H, H)",
                format!("{} and {}", fmt_shape(&w_ih), fmt_shape(&w_hh)),
            ));
        };
        if gates != 4 * hidden_size {
            return Err(Error::shape(
                "tensor weight_ih_l0",
                format!("({}, {input_size})", 4 * hidden_size),
                fmt_shape(&w_ih),
            ));
        }
        let config = LstmConfig {
            input_size,
            hidden_size,
            num_layers,
            bidirectional,
        };
        config.validate()?;
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

/// Runs an LSTM given as PyTorch-named flat arrays on a flat `(B, T, F)` input with an optional initial
/// state; returns `(output, h_n, c_n)` as flat arrays. The entry point of the parity tests.
pub fn forward_arrays(
    weights: std::collections::HashMap<String, crate::input::FlatArray>,
    x: crate::input::FlatArray,
    num_layers: usize,
    bidirectional: bool,
    h0: Option<crate::input::FlatArray>,
    c0: Option<crate::input::FlatArray>,
) -> Result<(
    crate::input::FlatArray,
    crate::input::FlatArray,
    crate::input::FlatArray,
)> {
    use crate::input::{check_finite, tensor_from, to_flat};
    let mut tensors = std::collections::HashMap::new();
    for (name, (values, dims)) in weights {
        check_finite(&values, &dims, &format!("tensor {name}"))?;
        let t = tensor_from(values, &dims, &format!("tensor {name}"))?;
        tensors.insert(name, t);
    }
    let lstm = Lstm::from_tensors(tensors, num_layers, bidirectional)?;
    let x = crate::input::sequence_batch(&x.0, &x.1, lstm.config.input_size, "input x")?;
    let init = match (h0, c0) {
        (None, None) => None,
        (Some(h), Some(c)) => {
            check_finite(&h.0, &h.1, "h0")?;
            check_finite(&c.0, &c.1, "c0")?;
            Some(LstmState {
                h: tensor_from(h.0, &h.1, "h0")?,
                c: tensor_from(c.0, &c.1, "c0")?,
            })
        }
        _ => return Err(Error::Config("give both h0 and c0, or neither".to_string())),
    };
    if x.dim(0)? == 0 {
        return Err(Error::shape(
            "input x",
            "(batch >= 1, time, features)",
            fmt_shape(x.dims()),
        ));
    }
    let (out, state) = lstm.forward(&x, init.as_ref())?;
    Ok((to_flat(&out)?, to_flat(&state.h)?, to_flat(&state.c)?))
}
