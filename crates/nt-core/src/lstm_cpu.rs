//! Hand-written CPU inference path of the stacked LSTM.
//!
//! candle runs an LSTM step as ~15 separate tensor ops, each with its own allocation and dispatch; on a
//! CPU at batch 1 that overhead is most of the time. This path keeps the same maths with:
//! - weights copied once into plain `Vec<f32>`, `W_ih` pre-transposed for the sequence projection;
//! - the input projection of the whole sequence as one GEMM (the `gemm` crate that candle itself uses);
//! - the recurrent product as a 4-row-tiled dot-product kernel at batch 1 (AVX2+FMA when the CPU has
//!   it, chosen at run time) and as a GEMM written in place into the projected rows otherwise;
//! - the gate nonlinearities fused in one pass, with a branch-free `exp` that the compiler vectorises;
//! - the two directions of a layer run on two threads.
//!
//! It is used for inference only (weights that are not candle `Var`s, on the CPU); training and CUDA
//! stay on candle tensors. Parity with PyTorch is tested like the candle path (1e-5 absolute).

use crate::error::Result;
use crate::lstm::{LstmCell, LstmConfig};

/// Weights of one direction of one layer, laid out for the CPU kernels.
#[derive(Debug, Clone)]
pub(crate) struct CpuCell {
    input: usize,
    hidden: usize,
    /// `W_ih^T`, `(I, 4H)` row-major: the right operand of the sequence projection.
    w_ih_t: Vec<f32>,
    /// `W_hh`, `(4H, H)` row-major: one dot product per gate unit at batch 1.
    w_hh: Vec<f32>,
    /// `W_hh^T`, `(H, 4H)` row-major: the right operand of the batched recurrent GEMM.
    w_hh_t: Vec<f32>,
    /// `b_ih + b_hh`, `(4H,)`.
    bias: Vec<f32>,
}

fn transpose(m: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut t = vec![0f32; m.len()];
    for r in 0..rows {
        for c in 0..cols {
            t[c * rows + r] = m[r * cols + c];
        }
    }
    t
}

impl CpuCell {
    pub(crate) fn from_cell(cell: &LstmCell) -> Result<Self> {
        let (w_ih, w_hh, b_ih, b_hh) = cell.weights();
        let bias = (b_ih + b_hh)?;
        let (gates, input) = w_ih.dims2()?;
        let hidden = gates / 4;
        let w_ih: Vec<f32> = w_ih.flatten_all()?.to_vec1()?;
        let w_hh: Vec<f32> = w_hh.flatten_all()?.to_vec1()?;
        Ok(Self {
            input,
            hidden,
            w_ih_t: transpose(&w_ih, gates, input),
            w_hh_t: transpose(&w_hh, gates, hidden),
            w_hh,
            bias: bias.to_vec1()?,
        })
    }

    /// Runs over `x` `(B, T, I)`, backwards in time when `reverse`, from `(h, c)` `(B, H)` each, which
    /// are updated in place. Returns the hidden states `(B, T, H)` in input time order.
    fn run(
        &self,
        x: &[f32],
        batch: usize,
        steps: usize,
        h: &mut [f32],
        c: &mut [f32],
        reverse: bool,
    ) -> Vec<f32> {
        let (hid, g4) = (self.hidden, 4 * self.hidden);
        let mut proj = vec![0f32; batch * steps * g4];
        // SAFETY: every pointer/stride pair describes a buffer of exactly the stated extent:
        // x is (B*T, I), w_ih_t is (I, 4H), proj is (B*T, 4H), all row-major.
        unsafe {
            gemm::gemm(
                batch * steps,
                g4,
                self.input,
                proj.as_mut_ptr(),
                1,
                g4 as isize,
                false,
                x.as_ptr(),
                1,
                self.input as isize,
                self.w_ih_t.as_ptr(),
                1,
                g4 as isize,
                0.0,
                1.0,
                false,
                false,
                false,
                parallelism(batch * steps * g4 * self.input),
            );
        }
        let mut out = vec![0f32; batch * steps * hid];
        let mut gates = vec![0f32; g4];
        for k in 0..steps {
            let t = if reverse { steps - 1 - k } else { k };
            if batch == 1 {
                gates.copy_from_slice(&proj[t * g4..(t + 1) * g4]);
                matvec_add(&self.w_hh, hid, h, &mut gates);
                activate(&gates, &self.bias, &mut c[..hid], &mut h[..hid]);
                out[t * hid..(t + 1) * hid].copy_from_slice(&h[..hid]);
                continue;
            }
            // proj[b, t, :] += h[b, :] @ W_hh^T, written in place into the strided rows of step t.
            // SAFETY: dst rows start at proj[t * 4H] with row stride T * 4H: B rows of 4H floats,
            // all inside proj; h is (B, H) and w_hh_t is (H, 4H), row-major.
            unsafe {
                gemm::gemm(
                    batch,
                    g4,
                    hid,
                    proj.as_mut_ptr().add(t * g4),
                    1,
                    (steps * g4) as isize,
                    true,
                    h.as_ptr(),
                    1,
                    hid as isize,
                    self.w_hh_t.as_ptr(),
                    1,
                    g4 as isize,
                    1.0,
                    1.0,
                    false,
                    false,
                    false,
                    parallelism(batch * g4 * hid),
                );
            }
            for b in 0..batch {
                let row = (b * steps + t) * g4;
                let (hb, cb) = (
                    &mut h[b * hid..(b + 1) * hid],
                    &mut c[b * hid..(b + 1) * hid],
                );
                activate(&proj[row..row + g4], &self.bias, cb, hb);
                let o = (b * steps + t) * hid;
                out[o..o + hid].copy_from_slice(hb);
            }
        }
        out
    }
}

/// Multi-threaded GEMM only where the work pays for the fork (about 1 MFLOP).
fn parallelism(work: usize) -> gemm::Parallelism {
    let threads = rayon::current_num_threads();
    if threads > 1 && work >= 1 << 19 {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    }
}

/// The stacked LSTM on the CPU kernels.
#[derive(Debug, Clone)]
pub(crate) struct CpuLstm {
    config: LstmConfig,
    cells: Vec<Vec<CpuCell>>,
}

/// Output sequence `(B, T, H * dirs)`, `h_n` and `c_n` `(layers * dirs, B, H)`, all row-major.
pub(crate) type CpuOutput = (Vec<f32>, Vec<f32>, Vec<f32>);

impl CpuLstm {
    pub(crate) fn new(config: LstmConfig, cells: &[Vec<LstmCell>]) -> Result<Self> {
        let cells = cells
            .iter()
            .map(|dirs| dirs.iter().map(CpuCell::from_cell).collect())
            .collect::<Result<_>>()?;
        Ok(Self { config, cells })
    }

    /// `x` is `(B, T, input_size)`; `h0`/`c0` are `(layers * dirs, B, H)` (zeros when `None`).
    pub(crate) fn forward(
        &self,
        x: &[f32],
        batch: usize,
        steps: usize,
        init: Option<(&[f32], &[f32])>,
    ) -> CpuOutput {
        let (hid, dirs) = (self.config.hidden_size, self.config.num_directions());
        let state_len = self.config.num_layers * dirs * batch * hid;
        let (mut h_n, mut c_n) = match init {
            Some((h, c)) => (h.to_vec(), c.to_vec()),
            None => (vec![0f32; state_len], vec![0f32; state_len]),
        };
        let mut layer_input = x.to_vec();
        for (layer, cells) in self.cells.iter().enumerate() {
            let at = layer * dirs * batch * hid;
            let (h_layer, c_layer) = (
                &mut h_n[at..at + dirs * batch * hid],
                &mut c_n[at..at + dirs * batch * hid],
            );
            let input = &layer_input;
            let outputs: Vec<Vec<f32>> = if dirs == 1 {
                vec![cells[0].run(input, batch, steps, h_layer, c_layer, false)]
            } else {
                let (hf, hb) = h_layer.split_at_mut(batch * hid);
                let (cf, cb) = c_layer.split_at_mut(batch * hid);
                let (fwd, bwd) = rayon::join(
                    || cells[0].run(input, batch, steps, hf, cf, false),
                    || cells[1].run(input, batch, steps, hb, cb, true),
                );
                vec![fwd, bwd]
            };
            layer_input = interleave(&outputs, batch * steps, hid);
        }
        (layer_input, h_n, c_n)
    }
}

/// `(rows, H)` per direction -> `(rows, H * dirs)`, directions side by side as in PyTorch.
fn interleave(parts: &[Vec<f32>], rows: usize, hid: usize) -> Vec<f32> {
    if parts.len() == 1 {
        return parts[0].clone();
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

/// `c = σ(f) c + σ(i) tanh(g)`, `h = σ(o) tanh(c)` from pre-activations `[i; f; g; o]` plus bias.
#[inline]
fn activate(pre: &[f32], bias: &[f32], c: &mut [f32], h: &mut [f32]) {
    let hid = h.len();
    let (pi, rest) = pre.split_at(hid);
    let (pf, rest) = rest.split_at(hid);
    let (pg, po) = rest.split_at(hid);
    let (bi, rest) = bias.split_at(hid);
    let (bf, rest) = rest.split_at(hid);
    let (bg, bo) = rest.split_at(hid);
    for j in 0..hid {
        let i = sigmoid(pi[j] + bi[j]);
        let f = sigmoid(pf[j] + bf[j]);
        let g = tanh(pg[j] + bg[j]);
        let o = sigmoid(po[j] + bo[j]);
        let cj = f * c[j] + i * g;
        c[j] = cj;
        h[j] = o * tanh(cj);
    }
}

/// `e^x` to about 2 ulp, branch-free so loops over it vectorise (Cephes' polynomial).
#[inline(always)]
fn exp(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    // Round x / ln 2 to the nearest integer with the 1.5 * 2^23 trick (no SSE4.1 `round` needed).
    let n = (x * std::f32::consts::LOG2_E + 12_582_912.0) - 12_582_912.0;
    let r = x - n * 0.693_359_4 + n * 2.121_944_4e-4;
    let p = 1.987_569_1e-4;
    let p = p * r + 1.398_199_9e-3;
    let p = p * r + 8.333_452e-3;
    let p = p * r + 4.166_579_6e-2;
    let p = p * r + 0.166_666_65;
    let p = p * r + 0.5;
    let p = p * r * r + r + 1.0;
    p * f32::from_bits(((n as i32 + 127) as u32) << 23)
}

#[inline(always)]
fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

#[inline(always)]
fn tanh(x: f32) -> f32 {
    // 2σ(2x) - 1 loses relative precision near 0 but keeps the absolute error near 1e-7,
    // which is what parity is measured in.
    2.0 / (1.0 + exp(-2.0 * x)) - 1.0
}

/// `out[j] += W[j, :] · v` for `W` `(rows, cols)` row-major.
fn matvec_add(w: &[f32], cols: usize, v: &[f32], out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU supports the features this function is compiled for.
            unsafe { matvec_add_avx2(w, cols, v, out) };
            return;
        }
    }
    matvec_add_tiled::<false>(w, cols, v, out);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn matvec_add_avx2(w: &[f32], cols: usize, v: &[f32], out: &mut [f32]) {
    matvec_add_tiled::<true>(w, cols, v, out);
}

#[inline(always)]
fn madd<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FMA {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

const LANES: usize = 8;

/// Dot products four rows at a time, eight lanes each: 32 independent accumulators keep the FMA
/// units busy, and `v` is read once per four rows.
#[inline(always)]
fn matvec_add_tiled<const FMA: bool>(w: &[f32], cols: usize, v: &[f32], out: &mut [f32]) {
    let full = cols - cols % LANES;
    let mut row_blocks = w.chunks_exact(4 * cols);
    let mut out_blocks = out.chunks_exact_mut(4);
    for (rows, o) in (&mut row_blocks).zip(&mut out_blocks) {
        let (r0, rest) = rows.split_at(cols);
        let (r1, rest) = rest.split_at(cols);
        let (r2, r3) = rest.split_at(cols);
        let mut acc = [[0f32; LANES]; 4];
        for k in (0..full).step_by(LANES) {
            for l in 0..LANES {
                let x = v[k + l];
                acc[0][l] = madd::<FMA>(r0[k + l], x, acc[0][l]);
                acc[1][l] = madd::<FMA>(r1[k + l], x, acc[1][l]);
                acc[2][l] = madd::<FMA>(r2[k + l], x, acc[2][l]);
                acc[3][l] = madd::<FMA>(r3[k + l], x, acc[3][l]);
            }
        }
        for (q, row) in [r0, r1, r2, r3].iter().enumerate() {
            let mut s: f32 = acc[q].iter().sum();
            for k in full..cols {
                s = madd::<FMA>(row[k], v[k], s);
            }
            o[q] += s;
        }
    }
    for (row, o) in row_blocks
        .remainder()
        .chunks_exact(cols)
        .zip(out_blocks.into_remainder())
    {
        *o += row.iter().zip(v).map(|(a, b)| a * b).sum::<f32>();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_is_accurate_over_the_gate_range() {
        for k in -2000..=2000 {
            let x = k as f32 * 0.04;
            let (got, want) = (exp(x), x.exp());
            assert!(
                ((got - want) / want).abs() < 4e-7,
                "exp({x}) = {got}, want {want}"
            );
        }
        assert!(exp(-1e4) >= 0.0 && exp(1e4).is_finite());
    }

    #[test]
    fn sigmoid_and_tanh_saturate_without_nan() {
        for x in [-1e30f32, -100.0, -20.0, 0.0, 20.0, 100.0, 1e30] {
            let (s, t) = (sigmoid(x), tanh(x));
            assert!(
                (0.0..=1.0).contains(&s) && (-1.0..=1.0).contains(&t),
                "{x}: {s} {t}"
            );
            assert!((t - x.tanh()).abs() < 1e-6 && (s - 1.0 / (1.0 + (-x).exp())).abs() < 1e-6);
        }
    }

    #[test]
    fn matvec_matches_naive_for_odd_sizes() {
        for (rows, cols) in [(1, 1), (3, 5), (4, 8), (7, 19), (512, 128), (9, 33)] {
            let w: Vec<f32> = (0..rows * cols)
                .map(|k| ((k * 7919) % 13) as f32 - 6.0)
                .collect();
            let v: Vec<f32> = (0..cols).map(|k| (k % 5) as f32 * 0.5 - 1.0).collect();
            let mut out = vec![1.0f32; rows];
            matvec_add(&w, cols, &v, &mut out);
            for r in 0..rows {
                let want = 1.0 + (0..cols).map(|k| w[r * cols + k] * v[k]).sum::<f32>();
                assert!(
                    (out[r] - want).abs() < 1e-3,
                    "row {r}: {} vs {want}",
                    out[r]
                );
            }
        }
    }
}
