//! Hand-written CPU inference path of the stacked LSTM.
//!
//! candle runs an LSTM step as ~15 separate tensor ops, each with its own allocation and dispatch; on a
//! CPU that overhead is most of the time. This path keeps the same maths with weights packed once, at
//! load, for the kernels of [`crate::cpu_math`]:
//! - **batch 1** (latency): the input projection of the whole sequence is one GEMM; each step adds the
//!   recurrent product as broadcast-FMAs over `W_hh^T` packed in column panels (no horizontal sums),
//!   then the fused gate nonlinearities. The two directions of a layer run on two threads.
//! - **batched** (throughput): each step is one register-blocked GEMM of `[x_t, h]` against
//!   `[W_ih^T; W_hh^T]` with the bias in the accumulators, by row blocks that stay in cache, followed by
//!   the gates of those rows; no `(T, B, 4H)` projection is ever materialised. With several threads the
//!   batch is split into one contiguous part per thread, each running the whole stack on its own: rows
//!   of a batch never interact, so no step waits for another thread.
//!
//! It is used for inference only (weights that are not candle `Var`s, on the CPU); training and CUDA
//! stay on candle tensors. Parity with PyTorch is tested like the candle path (1e-5 absolute).

use std::ops::Range;

use rayon::prelude::*;

use crate::cpu_math::{
    activate, batch_parts, gemm_bias, pack_panels, pool_threads, transpose, vecmat_add, Dense,
    GEMM_PANEL, ROW_BLOCK, VEC_PANEL,
};
use crate::error::Result;
use crate::lstm::{LstmCell, LstmConfig};

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
    fn new(cell: &LstmCell) -> Result<Self> {
        let (wi, wh, bi, bh) = cell.weights();
        let (gates, input) = wi.dims2()?;
        let hidden = gates / 4;
        let w_ih_t = transpose(&wi.flatten_all()?.to_vec1::<f32>()?, gates, input);
        let w_hh_t = transpose(&wh.flatten_all()?.to_vec1::<f32>()?, gates, hidden);
        let bias: Vec<f32> = (bi + bh)?.to_vec1()?;
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
    fn new(cells: &[LstmCell]) -> Result<Self> {
        let (gates, input) = match cells.first() {
            Some(cell) => cell.weights().0.dims2()?,
            None => (0, 0),
        };
        Ok(Self {
            input,
            hidden: gates / 4,
            dirs: cells.iter().map(DirWeights::new).collect::<Result<_>>()?,
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
        let outputs: Vec<Vec<f32>> = if self.dirs.len() == 2 && threads > 1 {
            let (hf, hb) = h.split_at_mut(state);
            let (cf, cb) = c.split_at_mut(state);
            let per = threads / 2;
            let (fwd, bwd) = rayon::join(
                || self.direction_single(0, x, steps, hf, cf, per),
                || self.direction_single(1, x, steps, hb, cb, per),
            );
            vec![fwd, bwd]
        } else {
            states
                .enumerate()
                .map(|(d, (h, c))| self.direction_single(d, x, steps, h, c, threads))
                .collect()
        };
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
        let (hid, g4, w) = (self.hidden, 4 * self.hidden, &self.dirs[d]);
        // Biases included, spread over the threads this direction has.
        let mut proj = w.input.apply_on(x, steps, threads);
        let mut out = vec![0f32; steps * hid];
        for k in 0..steps {
            let t = if d == 1 { steps - 1 - k } else { k };
            let pre = &mut proj[t * g4..(t + 1) * g4];
            vecmat_add(&w.w_hh_panels, h, pre);
            activate(pre, c, h);
            out[t * hid..(t + 1) * hid].copy_from_slice(h);
        }
        out
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
pub(crate) struct CpuLstm {
    config: LstmConfig,
    layers: Vec<CpuLayer>,
}

/// Output sequence `(B, T, H * dirs)`, `h_n` and `c_n` `(layers * dirs, B, H)`, all row-major.
pub(crate) type CpuOutput = (Vec<f32>, Vec<f32>, Vec<f32>);

impl CpuLstm {
    pub(crate) fn new(config: LstmConfig, cells: &[Vec<LstmCell>]) -> Result<Self> {
        let layers = cells
            .iter()
            .map(|dirs| CpuLayer::new(dirs))
            .collect::<Result<_>>()?;
        Ok(Self { config, layers })
    }

    /// `x` is `(B, T, input_size)`; `h0`/`c0` are `(layers * dirs, B, H)` (zeros when `None`). Called
    /// from a rayon pool (an engine's own), it uses that pool's threads; elsewhere it runs on the
    /// calling thread alone.
    pub(crate) fn forward(
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
        let results: Vec<CpuOutput> = ranges
            .par_iter()
            .map(|r| {
                let own = init.map(|(h, c)| (self.rows_of(h, batch, r), self.rows_of(c, batch, r)));
                let part_init = own.as_ref().map(|(h, c)| (h.as_slice(), c.as_slice()));
                let part_x = &x[r.start * per_sample..r.end * per_sample];
                self.forward_with(part_x, r.len(), steps, part_init, 1)
            })
            .collect();
        self.stitch(&ranges, results, batch)
    }

    /// [`forward`](Self::forward) on `threads` threads of the current pool, without splitting the
    /// batch: at batch 1 the two directions of a layer run in parallel; batched steps run serially.
    pub(crate) fn forward_with(
        &self,
        x: &[f32],
        batch: usize,
        steps: usize,
        init: Option<(&[f32], &[f32])>,
        threads: usize,
    ) -> CpuOutput {
        let (hid, dirs) = (self.config.hidden_size, self.config.num_directions());
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
