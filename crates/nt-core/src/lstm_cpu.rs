//! Hand-written CPU inference path of the stacked LSTM.
//!
//! candle runs an LSTM step as ~15 separate tensor ops, each with its own allocation and dispatch; on a
//! CPU that overhead is most of the time. This path keeps the same maths with weights packed once, at
//! load, for the kernels of `cpu_math.rs`:
//! - **batch 1** (latency): the input projection of the whole sequence is one GEMM; each step adds the
//!   recurrent product as broadcast-FMAs over `W_hh^T` packed in column panels (no horizontal sums),
//!   then the fused gate nonlinearities. With two threads, a bidirectional stack runs its forward
//!   directions on the calling thread and its backward ones on one helper thread (`lstm_cpu/lanes.rs`).
//! - **batched** (throughput): each step is one register-blocked GEMM of `[x_t, h]` against
//!   `[W_ih^T; W_hh^T]` with the bias in the accumulators, by row blocks that stay in cache, followed by
//!   the gates of those rows; no `(T, B, 4H)` projection is ever materialised. With several threads the
//!   batch is split into one contiguous part per thread, each running the whole stack on its own: rows
//!   of a batch never interact, so no step waits for another thread.
//!
//! It is built straight from the tensors of a checkpoint, by their `torch.nn.LSTM` names, and serves
//! inference only; training and CUDA use its sibling `lstm.rs` on candle tensors. The two
//! share [`LstmConfig`] and nothing else. Parity with PyTorch is tested at 1e-5 absolute.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

use candle_core::Tensor;

use crate::checkpoint::{check_tensors, tensor_values};
use crate::config::{lstm_tensor_names, LstmConfig};
use crate::cpu_layers::Dense;
use crate::cpu_math::{
    activate, gemm_bias, pack_panels, transpose, vecmat_add, GEMM_PANEL, ROW_BLOCK, VEC_PANEL,
};
use crate::cpu_threads::{batch_parts, map_index, pool_threads};

mod lanes;
use crate::error::{fmt_shape, Error, Result};
use crate::input::{check_finite, check_sequence_batch, tensor_from, FlatArray};

/// Weights of one direction of one layer, laid out for the CPU kernels.
#[derive(Debug, Clone)]
struct DirWeights {
    /// `x W_ih^T + b_ih + b_hh`: the batch-1 projection of the whole sequence. Its padded bias is
    /// also the bias of the batched step.
    input: Dense,
    /// `W_hh^T` `(H, 4H)` in [`VEC_PANEL`] panels: the batch-1 recurrent product.
    w_hh_panels: Vec<f32>,
    /// `[W_ih^T; W_hh^T]` `(I + H, 4H)` in [`GEMM_PANEL`] panels: the one GEMM of a batched step.
    fused_panels: Vec<f32>,
}

impl DirWeights {
    /// From torch's `weight_ih` `(4H, I)`, `weight_hh` `(4H, H)` and the two biases `(4H,)`.
    fn new(
        tensors: &HashMap<String, Tensor>,
        names: &[String; 4],
        input: usize,
        hidden: usize,
    ) -> Result<Self> {
        let gates = 4 * hidden;
        let [w_ih, w_hh, b_ih, b_hh] = names;
        let w_ih_t = transpose(
            &tensor_values(tensors, w_ih, &[gates, input])?,
            gates,
            input,
        );
        let w_hh_t = transpose(
            &tensor_values(tensors, w_hh, &[gates, hidden])?,
            gates,
            hidden,
        );
        let bias: Vec<f32> = tensor_values(tensors, b_ih, &[gates])?
            .iter()
            .zip(tensor_values(tensors, b_hh, &[gates])?)
            .map(|(a, b)| a + b)
            .collect();
        let fused: Vec<f32> = w_ih_t.iter().chain(&w_hh_t).copied().collect();
        Ok(Self {
            input: Dense::new(&w_ih_t, input, gates, &bias),
            w_hh_panels: pack_panels(&w_hh_t, hidden, gates, VEC_PANEL),
            fused_panels: pack_panels(&fused, input + hidden, gates, GEMM_PANEL),
        })
    }
}

/// Weights of one layer (all its directions).
#[derive(Debug, Clone)]
struct CpuLayer {
    input: usize,
    hidden: usize,
    dirs: Vec<DirWeights>,
}

impl CpuLayer {
    fn new(
        tensors: &HashMap<String, Tensor>,
        prefix: &str,
        config: &LstmConfig,
        layer: usize,
    ) -> Result<Self> {
        let (input, hidden) = (config.layer_input(layer), config.hidden_size);
        let dirs = (0..config.num_directions())
            .map(|d| DirWeights::new(tensors, &lstm_tensor_names(prefix, layer, d), input, hidden))
            .collect::<Result<_>>()?;
        Ok(Self {
            input,
            hidden,
            dirs,
        })
    }

    /// Runs every direction over batch-first `x` `(B, T, I)`. `h`/`c` hold this layer's `(dirs, B, H)`
    /// states and are updated in place. Returns the layer output `(B, T, dirs * H)`.
    #[allow(clippy::too_many_arguments)]
    fn run(
        &self,
        x: &[f32],
        batch: usize,
        steps: usize,
        h: &mut [f32],
        c: &mut [f32],
        threads: usize,
    ) -> Vec<f32> {
        let state = batch * self.hidden;
        let states = h.chunks_exact_mut(state).zip(c.chunks_exact_mut(state));
        if batch > 1 {
            // Each direction writes its own columns of the output rows.
            let mut out = vec![0f32; batch * steps * self.dirs.len() * self.hidden];
            for (d, (h, c)) in states.enumerate() {
                self.direction_batched(d, x, batch, steps, h, c, &mut out);
            }
            return out;
        }
        let outputs: Vec<Vec<f32>> = states
            .enumerate()
            .map(|(d, (h, c))| self.direction_single(d, x, steps, h, c, threads))
            .collect();
        interleave(outputs, steps, self.hidden)
    }

    /// Batch 1: one GEMM projects the whole sequence, then each step adds the recurrent product.
    fn direction_single(
        &self,
        d: usize,
        x: &[f32],
        steps: usize,
        h: &mut [f32],
        c: &mut [f32],
        threads: usize,
    ) -> Vec<f32> {
        self.direction_until(d, x, steps, (h, c), threads, &|| false)
            .unwrap_or_default()
    }

    /// [`direction_single`](Self::direction_single) that gives up (`None`) as soon as `stop()` says its
    /// result is no longer needed, checked every few steps.
    fn direction_until(
        &self,
        d: usize,
        x: &[f32],
        steps: usize,
        (h, c): (&mut [f32], &mut [f32]),
        threads: usize,
        stop: &dyn Fn() -> bool,
    ) -> Option<Vec<f32>> {
        let (hid, g4, w) = (self.hidden, 4 * self.hidden, &self.dirs[d]);
        // Biases included, spread over the threads this direction has.
        let mut proj = w.input.apply_on(x, steps, threads);
        let mut out = vec![0f32; steps * hid];
        for k in 0..steps {
            if k % 8 == 0 && stop() {
                return None;
            }
            let t = if d == 1 { steps - 1 - k } else { k };
            let pre = &mut proj[t * g4..(t + 1) * g4];
            vecmat_add(&w.w_hh_panels, h, pre);
            activate(pre, c, h);
            out[t * hid..(t + 1) * hid].copy_from_slice(h);
        }
        Some(out)
    }

    /// Batched: per step, one GEMM of `[x_t, h]` against the fused weights by row blocks, then the gates
    /// of each block while it is in cache. `h` lives inside the `[x_t, h]` rows between steps. Writes
    /// the hidden states into columns `d * H..(d + 1) * H` of `out` `(B, T, dirs * H)`.
    #[allow(clippy::too_many_arguments)]
    fn direction_batched(
        &self,
        d: usize,
        x: &[f32],
        batch: usize,
        steps: usize,
        h: &mut [f32],
        c: &mut [f32],
        out: &mut [f32],
    ) {
        let (inp, hid, w) = (self.input, self.hidden, &self.dirs[d]);
        let (k, g4, width) = (inp + hid, 4 * hid, self.dirs.len() * hid);
        let mut xh = vec![0f32; batch * k];
        for (row, h0) in xh.chunks_exact_mut(k).zip(h.chunks_exact(hid)) {
            row[inp..].copy_from_slice(h0);
        }
        let mut gates = vec![0f32; ROW_BLOCK.min(batch) * g4];
        for s in 0..steps {
            let t = if d == 1 { steps - 1 - s } else { s };
            for (b, row) in xh.chunks_exact_mut(k).enumerate() {
                row[..inp].copy_from_slice(&x[(b * steps + t) * inp..][..inp]);
            }
            for r0 in (0..batch).step_by(ROW_BLOCK) {
                let rows = ROW_BLOCK.min(batch - r0);
                gemm_bias(
                    &xh[r0 * k..],
                    k,
                    rows,
                    k,
                    &w.fused_panels,
                    w.input.padded_bias(),
                    &mut gates,
                    g4,
                    g4,
                );
                for (r, pre) in gates.chunks_exact(g4).take(rows).enumerate() {
                    let b = r0 + r;
                    let h_row = &mut xh[b * k + inp..(b + 1) * k];
                    activate(pre, &mut c[b * hid..(b + 1) * hid], h_row);
                    out[(b * steps + t) * width + d * hid..][..hid].copy_from_slice(h_row);
                }
            }
        }
        for (h_row, row) in h.chunks_exact_mut(hid).zip(xh.chunks_exact(k)) {
            h_row.copy_from_slice(&row[inp..]);
        }
    }
}

/// The stacked LSTM on the CPU kernels.
#[derive(Debug, Clone)]
pub struct CpuLstm {
    config: LstmConfig,
    /// Shared, so a helper thread of a batch-1 call can hold them beyond the call (`lanes.rs`).
    layers: Arc<Vec<CpuLayer>>,
}

/// Output sequence `(B, T, H * dirs)`, `h_n` and `c_n` `(layers * dirs, B, H)`, all row-major.
pub type CpuOutput = (Vec<f32>, Vec<f32>, Vec<f32>);

impl CpuLstm {
    /// The LSTM of `config` from tensors named as `torch.nn.LSTM`'s `state_dict()` under `prefix`
    /// (`"encoder.lstm."`, or `""` for a bare LSTM). A missing or misshapen tensor is a checkpoint error
    /// naming it.
    pub fn from_tensors(
        tensors: &HashMap<String, Tensor>,
        prefix: &str,
        config: LstmConfig,
    ) -> Result<Self> {
        config.validate()?;
        let layers = (0..config.num_layers)
            .map(|layer| CpuLayer::new(tensors, prefix, &config, layer))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            config,
            layers: Arc::new(layers),
        })
    }

    /// The sizes of this LSTM.
    pub fn config(&self) -> &LstmConfig {
        &self.config
    }

    /// `x` is `(B, T, input_size)`; `h0`/`c0` are `(layers * dirs, B, H)` (zeros when `None`). Within an
    /// engine's call (or a rayon pool) it uses the pool's threads; elsewhere it runs on the calling thread
    /// alone. The caller checks the sizes (as [`forward_arrays`] does).
    pub fn forward(
        &self,
        x: &[f32],
        batch: usize,
        steps: usize,
        init: Option<(&[f32], &[f32])>,
    ) -> CpuOutput {
        let threads = pool_threads();
        // One contiguous part of the batch per thread, each through the whole stack.
        let ranges = batch_parts(batch, threads);
        if ranges.len() < 2 {
            return self.forward_with(x, batch, steps, init, threads);
        }
        let per_sample = steps * self.config.input_size;
        let results = map_index(ranges.len(), |i| {
            let r = &ranges[i];
            let own = init.map(|(h, c)| (self.rows_of(h, batch, r), self.rows_of(c, batch, r)));
            let part_init = own.as_ref().map(|(h, c)| (h.as_slice(), c.as_slice()));
            let part_x = &x[r.start * per_sample..r.end * per_sample];
            self.forward_with(part_x, r.len(), steps, part_init, 1)
        });
        self.stitch(&ranges, results.into_iter().flatten().collect(), batch)
    }

    /// [`forward`](Self::forward) on `threads` threads of the current pool, without splitting the
    /// batch: at batch 1 the directions of a bidirectional stack run on two threads (and the input
    /// projection of a unidirectional one on all of them); batched steps run serially.
    pub fn forward_with(
        &self,
        x: &[f32],
        batch: usize,
        steps: usize,
        init: Option<(&[f32], &[f32])>,
        threads: usize,
    ) -> CpuOutput {
        let (hid, dirs) = (self.config.hidden_size, self.config.num_directions());
        if batch == 1 && dirs == 2 && threads > 1 {
            return self.forward_lanes(x, steps, init);
        }
        let state_len = self.config.num_layers * dirs * batch * hid;
        let (mut h_n, mut c_n) = match init {
            Some((h, c)) => (h.to_vec(), c.to_vec()),
            None => (vec![0f32; state_len], vec![0f32; state_len]),
        };
        let per_layer = dirs * batch * hid;
        let mut output: Option<Vec<f32>> = None;
        for ((layer, h), c) in self
            .layers
            .iter()
            .zip(h_n.chunks_exact_mut(per_layer))
            .zip(c_n.chunks_exact_mut(per_layer))
        {
            let input = output.as_deref().unwrap_or(x);
            output = Some(layer.run(input, batch, steps, h, c, threads));
        }
        (output.unwrap_or_default(), h_n, c_n)
    }

    /// The last layer's final hidden states, forward then backward, side by side: `(B, H * dirs)` from
    /// `h_n` `(layers * dirs, B, H)`, as `LSTMEncoder.final_hidden` of the PyTorch twins. (`out[:, -1]`
    /// would give the backward direction one step of context.)
    pub fn final_hidden(&self, h_n: &[f32], batch: usize) -> Vec<f32> {
        let (hid, dirs) = (self.config.hidden_size, self.config.num_directions());
        let top = (self.config.num_layers - 1) * dirs;
        let mut out = vec![0f32; batch * dirs * hid];
        for d in 0..dirs {
            let rows = &h_n[(top + d) * batch * hid..(top + d + 1) * batch * hid];
            for (b, row) in rows.chunks_exact(hid).enumerate() {
                out[(b * dirs + d) * hid..(b * dirs + d + 1) * hid].copy_from_slice(row);
            }
        }
        out
    }

    /// Rows `r` of the batch axis of a state `(layers * dirs, B, H)`.
    fn rows_of(&self, state: &[f32], batch: usize, r: &Range<usize>) -> Vec<f32> {
        let hid = self.config.hidden_size;
        state
            .chunks_exact(batch * hid)
            .flat_map(|layer| &layer[r.start * hid..r.end * hid])
            .copied()
            .collect()
    }

    /// Joins the outputs of the batch parts `ranges` back into one batch.
    fn stitch(&self, ranges: &[Range<usize>], parts: Vec<CpuOutput>, batch: usize) -> CpuOutput {
        let hid = self.config.hidden_size;
        let rows = self.config.num_layers * self.config.num_directions();
        let (mut h_n, mut c_n) = (
            vec![0f32; rows * batch * hid],
            vec![0f32; rows * batch * hid],
        );
        let mut out = Vec::new();
        for (r, (o, h, c)) in ranges.iter().zip(parts) {
            out.extend_from_slice(&o);
            for (whole, part) in [(&mut h_n, h), (&mut c_n, c)] {
                for (l, layer) in part.chunks_exact(r.len() * hid).enumerate() {
                    whole[(l * batch + r.start) * hid..(l * batch + r.end) * hid]
                        .copy_from_slice(layer);
                }
            }
        }
        (out, h_n, c_n)
    }
}

/// `(rows, H)` per direction -> `(rows, H * dirs)`, directions side by side as in PyTorch.
fn interleave(mut parts: Vec<Vec<f32>>, rows: usize, hid: usize) -> Vec<f32> {
    if parts.len() == 1 {
        return parts.pop().unwrap_or_default();
    }
    let refs: Vec<&[f32]> = parts.iter().map(Vec::as_slice).collect();
    side_by_side(&refs, rows, hid)
}

/// [`interleave`] of borrowed parts.
fn side_by_side(parts: &[&[f32]], rows: usize, hid: usize) -> Vec<f32> {
    let width = hid * parts.len();
    let mut out = vec![0f32; rows * width];
    for (d, part) in parts.iter().enumerate() {
        for r in 0..rows {
            out[r * width + d * hid..r * width + (d + 1) * hid]
                .copy_from_slice(&part[r * hid..(r + 1) * hid]);
        }
    }
    out
}

/// Runs an LSTM given as PyTorch-named flat arrays (`weight_ih_l0`, ...; input and hidden sizes read from
/// layer 0) on a flat `(B >= 1, T, F)` input with an optional initial state `(layers * dirs, B, H)`;
/// returns `(output, h_n, c_n)` as flat arrays. Every missing, misshapen or extra tensor is named in one
/// error. The entry point of the parity tests of the CPU LSTM.
pub fn forward_arrays(
    weights: HashMap<String, FlatArray>,
    x: FlatArray,
    num_layers: usize,
    bidirectional: bool,
    h0: Option<FlatArray>,
    c0: Option<FlatArray>,
) -> Result<(FlatArray, FlatArray, FlatArray)> {
    let mut tensors = HashMap::new();
    for (name, (values, dims)) in weights {
        check_finite(&values, &dims, &format!("tensor {name}"))?;
        let t = tensor_from(values, &dims, &format!("tensor {name}"))?;
        tensors.insert(name, t);
    }
    let config = LstmConfig::infer(
        |name| tensors.get(name).map(|t| t.dims().to_vec()),
        "",
        num_layers,
        bidirectional,
    )?;
    check_tensors(&config.param_spec(""), &tensors)?;
    let lstm = CpuLstm::from_tensors(&tensors, "", config)?;
    let [batch, steps, _] = check_sequence_batch(&x.0, &x.1, config.input_size, "input x")?;
    if batch == 0 {
        return Err(Error::shape(
            "input x",
            "(batch >= 1, time, features)",
            fmt_shape(&x.1),
        ));
    }
    let rows = config.num_layers * config.num_directions();
    let state_dims = [rows, batch, config.hidden_size];
    let init = match (h0, c0) {
        (None, None) => None,
        (Some(h), Some(c)) => {
            for (name, (values, dims)) in [("initial h_0", &h), ("initial c_0", &c)] {
                if dims.as_slice() != state_dims
                    || values.len() != rows * batch * config.hidden_size
                {
                    return Err(Error::shape(name, fmt_shape(&state_dims), fmt_shape(dims)));
                }
                check_finite(values, dims, name)?;
            }
            Some((h.0, c.0))
        }
        _ => return Err(Error::Config("give both h0 and c0, or neither".to_string())),
    };
    let init_refs = init.as_ref().map(|(h, c)| (h.as_slice(), c.as_slice()));
    let (out, h, c) = lstm.forward(&x.0, batch, steps, init_refs);
    Ok((
        (out, vec![batch, steps, config.output_size()]),
        (h, state_dims.to_vec()),
        (c, state_dims.to_vec()),
    ))
}
