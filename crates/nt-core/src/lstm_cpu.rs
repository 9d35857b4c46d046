//! Hand-written CPU inference path of the stacked LSTM.
//!
//! candle runs an LSTM step as ~15 separate tensor ops, each with its own allocation and dispatch; on a
//! CPU at batch 1 that overhead is most of the time. This path keeps the same maths with:
//! - weights copied once into plain `Vec<f32>`, `W_ih` pre-transposed for the sequence projection;
//! - the input projection of the whole sequence as one GEMM (the `gemm` crate that candle itself uses);
//! - a time-major layout, so each step's rows are contiguous;
//! - the recurrent product at batch 1 as broadcast-FMAs over `W_hh^T` packed in column panels (AVX2+FMA
//!   when the CPU has it, chosen at run time; no horizontal sums), and as a GEMM into the projected rows
//!   otherwise;
//! - the gate nonlinearities fused in one pass, with a branch-free `exp` that the compiler vectorises;
//! - the two directions of a layer run on two threads.
//!
//! It is used for inference only (weights that are not candle `Var`s, on the CPU); training and CUDA
//! stay on candle tensors. Parity with PyTorch is tested like the candle path (1e-5 absolute).

use crate::error::Result;
use crate::lstm::{LstmCell, LstmConfig};

/// Weights of one layer (all its directions), laid out for the CPU kernels.
#[derive(Debug, Clone)]
struct CpuLayer {
    input: usize,
    hidden: usize,
    dirs: usize,
    /// `[W_ih(fwd); W_ih(bwd)]^T`, `(I, dirs * 4H)` row-major: one GEMM projects the sequence for
    /// every direction at once.
    w_ih_t: Vec<f32>,
    /// `b_ih + b_hh` of each direction, `(dirs * 4H,)`.
    bias: Vec<f32>,
    /// `W_hh^T` per direction, `(H, 4H)` row-major: the right operand of the batched recurrent GEMM.
    w_hh_t: Vec<Vec<f32>>,
    /// The same `W_hh^T` per direction in [`pack_panels`] layout, for the batch-1 product.
    w_hh_panels: Vec<Vec<f32>>,
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

impl CpuLayer {
    fn new(cells: &[LstmCell]) -> Result<Self> {
        let (mut w_ih, mut bias, mut w_hh_t) = (Vec::new(), Vec::new(), Vec::new());
        let (mut input, mut hidden) = (0, 0);
        for cell in cells {
            let (wi, wh, bi, bh) = cell.weights();
            let (gates, i) = wi.dims2()?;
            (input, hidden) = (i, gates / 4);
            w_ih.extend(wi.flatten_all()?.to_vec1::<f32>()?);
            bias.extend((bi + bh)?.to_vec1::<f32>()?);
            let wh: Vec<f32> = wh.flatten_all()?.to_vec1()?;
            w_hh_t.push(transpose(&wh, gates, hidden));
        }
        let dirs = cells.len();
        let w_hh_panels = w_hh_t
            .iter()
            .map(|wt| pack_panels(wt, hidden, 4 * hidden))
            .collect();
        Ok(Self {
            input,
            hidden,
            dirs,
            w_ih_t: transpose(&w_ih, dirs * 4 * hidden, input),
            bias,
            w_hh_t,
            w_hh_panels,
        })
    }

    /// Runs every direction over time-major `x` `(T, B, I)`. `h`/`c` hold this layer's `(dirs, B, H)`
    /// states and are updated in place. Returns the time-major layer output `(T, B, dirs * H)`.
    fn run(&self, x: &[f32], batch: usize, steps: usize, h: &mut [f32], c: &mut [f32]) -> Vec<f32> {
        let width = self.dirs * 4 * self.hidden;
        let mut proj = vec![0f32; batch * steps * width];
        // SAFETY: x is (T*B, I), w_ih_t is (I, width), proj is (T*B, width), all row-major and
        // exactly that long.
        unsafe {
            gemm::gemm(
                batch * steps,
                width,
                self.input,
                proj.as_mut_ptr(),
                1,
                width as isize,
                false,
                x.as_ptr(),
                1,
                self.input as isize,
                self.w_ih_t.as_ptr(),
                1,
                width as isize,
                0.0,
                1.0,
                false,
                false,
                false,
                parallelism(
                    batch * steps * width * self.input,
                    rayon::current_num_threads(),
                ),
            );
        }
        let state = batch * self.hidden;
        let outputs: Vec<Vec<f32>> = if self.dirs == 1 {
            let threads = rayon::current_num_threads();
            vec![self.recur(0, &mut proj, batch, steps, h, c, threads)]
        } else {
            // Both directions read their own columns of `proj` and write their own rows in place;
            // split it by copying the backward half out (cheap next to the recurrence).
            let (hf, hb) = h.split_at_mut(state);
            let (cf, cb) = c.split_at_mut(state);
            let mut back = split_columns(&mut proj, 4 * self.hidden);
            let threads = rayon::current_num_threads();
            let (fwd, bwd) = if threads > 1 {
                let per = threads / 2;
                rayon::join(
                    || self.recur(0, &mut proj, batch, steps, hf, cf, per),
                    || self.recur(1, &mut back, batch, steps, hb, cb, per),
                )
            } else {
                (
                    self.recur(0, &mut proj, batch, steps, hf, cf, 1),
                    self.recur(1, &mut back, batch, steps, hb, cb, 1),
                )
            };
            vec![fwd, bwd]
        };
        interleave(&outputs, batch * steps, self.hidden)
    }

    /// The recurrence of direction `d` over its projected inputs `proj` `(T, B, 4H)` (time-major, biases
    /// not yet added), which it overwrites. Returns the hidden states `(T, B, H)`.
    #[allow(clippy::too_many_arguments)]
    fn recur(
        &self,
        d: usize,
        proj: &mut [f32],
        batch: usize,
        steps: usize,
        h: &mut [f32],
        c: &mut [f32],
        threads: usize,
    ) -> Vec<f32> {
        let (hid, g4) = (self.hidden, 4 * self.hidden);
        let (w_hh_t, panels) = (&self.w_hh_t[d], &self.w_hh_panels[d]);
        let bias = &self.bias[d * g4..(d + 1) * g4];
        let mut out = vec![0f32; batch * steps * hid];
        for k in 0..steps {
            let t = if d == 1 { steps - 1 - k } else { k };
            // Time-major layout: the B rows of step t are contiguous in `proj` and `out`.
            let rows = &mut proj[t * batch * g4..(t + 1) * batch * g4];
            if batch == 1 {
                vecmat_add(panels, h, rows);
            } else {
                // rows += h @ W_hh^T.
                // SAFETY: rows is (B, 4H), h is (B, H), w_hh_t is (H, 4H), all row-major and exactly
                // that long.
                unsafe {
                    gemm::gemm(
                        batch,
                        g4,
                        hid,
                        rows.as_mut_ptr(),
                        1,
                        g4 as isize,
                        true,
                        h.as_ptr(),
                        1,
                        hid as isize,
                        w_hh_t.as_ptr(),
                        1,
                        g4 as isize,
                        1.0,
                        1.0,
                        false,
                        false,
                        false,
                        parallelism(batch * g4 * hid, threads),
                    );
                }
            }
            for ((pre, hb), cb) in rows
                .chunks_exact(g4)
                .zip(h.chunks_exact_mut(hid))
                .zip(c.chunks_exact_mut(hid))
            {
                activate(pre, bias, cb, hb);
            }
            out[t * batch * hid..(t + 1) * batch * hid].copy_from_slice(h);
        }
        out
    }
}

/// Splits rows of `[fwd | bwd]` (each `half` wide) into `proj` holding the forward halves and a
/// returned buffer holding the backward halves, both `(rows, half)`.
fn split_columns(proj: &mut Vec<f32>, half: usize) -> Vec<f32> {
    let rows = proj.len() / (2 * half);
    let mut back = vec![0f32; rows * half];
    for r in 0..rows {
        back[r * half..(r + 1) * half]
            .copy_from_slice(&proj[(2 * r + 1) * half..(2 * r + 2) * half]);
        proj.copy_within(2 * r * half..(2 * r + 1) * half, r * half);
    }
    proj.truncate(rows * half);
    back
}

/// Multi-threaded GEMM only where the work pays for the fork (about 1 MFLOP).
fn parallelism(work: usize, threads: usize) -> gemm::Parallelism {
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
        // Time-major inside (each step's rows contiguous); the same thing at batch 1.
        let mut layer_input = swap_batch_time(x, batch, steps);
        let per_layer = dirs * batch * hid;
        for ((layer, h), c) in self
            .layers
            .iter()
            .zip(h_n.chunks_exact_mut(per_layer))
            .zip(c_n.chunks_exact_mut(per_layer))
        {
            layer_input = layer.run(&layer_input, batch, steps, h, c);
        }
        (swap_batch_time(&layer_input, steps, batch), h_n, c_n)
    }
}

/// `(A, B, F)` -> `(B, A, F)` for row-major `x`, `F` inferred; a copy when `A` or `B` is 1.
fn swap_batch_time(x: &[f32], a: usize, b: usize) -> Vec<f32> {
    if a == 1 || b == 1 {
        return x.to_vec();
    }
    let f = x.len() / (a * b);
    let mut out = vec![0f32; x.len()];
    for i in 0..a {
        for j in 0..b {
            out[(j * a + i) * f..(j * a + i + 1) * f]
                .copy_from_slice(&x[(i * b + j) * f..(i * b + j + 1) * f]);
        }
    }
    out
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
fn activate(pre: &[f32], bias: &[f32], c: &mut [f32], h: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        if has_avx2_fma() {
            // SAFETY: the CPU supports the features this function is compiled for.
            unsafe { activate_avx2(pre, bias, c, h) };
            return;
        }
    }
    activate_body(pre, bias, c, h);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn activate_avx2(pre: &[f32], bias: &[f32], c: &mut [f32], h: &mut [f32]) {
    activate_body(pre, bias, c, h);
}

/// Written with equal-length slices and no early exits so the compiler vectorises the whole loop.
#[inline(always)]
fn activate_body(pre: &[f32], bias: &[f32], c: &mut [f32], h: &mut [f32]) {
    let hid = h.len();
    let c = &mut c[..hid];
    let (pi, pf, pg, po) = (
        &pre[..hid],
        &pre[hid..2 * hid],
        &pre[2 * hid..3 * hid],
        &pre[3 * hid..4 * hid],
    );
    let (bi, bf, bg, bo) = (
        &bias[..hid],
        &bias[hid..2 * hid],
        &bias[2 * hid..3 * hid],
        &bias[3 * hid..4 * hid],
    );
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

fn has_avx2_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `e^x` to about 2 ulp, branch-free so loops over it vectorise (Cephes' polynomial).
#[inline(always)]
fn exp(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    // Round x / ln 2 to the nearest integer with the 1.5 * 2^23 trick (no SSE4.1 `round` needed).
    // The shifted sum's low mantissa bits hold n itself, which gives 2^n by integer arithmetic alone:
    // a float-to-int `as` cast saturates and checks NaN, which LLVM only does lane by lane.
    let shifted = x * std::f32::consts::LOG2_E + 12_582_912.0;
    let n = shifted - 12_582_912.0;
    let r = x - n * 0.693_359_4 + n * 2.121_944_4e-4;
    let p = 1.987_569_1e-4;
    let p = p * r + 1.398_199_9e-3;
    let p = p * r + 8.333_452e-3;
    let p = p * r + 4.166_579_6e-2;
    let p = p * r + 0.166_666_65;
    let p = p * r + 0.5;
    let p = p * r * r + r + 1.0;
    // 0x4B40_0000 is the bit pattern of 1.5 * 2^23; 127 is the exponent bias.
    p * f32::from_bits(shifted.to_bits().wrapping_sub(0x4B40_0000 - 127) << 23)
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

/// Columns per panel of [`pack_panels`]: eight AVX2 registers of accumulators.
const PANEL: usize = 8 * LANES;

/// `Wt` `(rows, cols)` row-major regrouped into panels of [`PANEL`] columns, each panel's rows stored
/// one after another and zero-padded past `cols`. The batch-1 product then reads every panel as one
/// contiguous stream (the hardware prefetcher's best case) instead of `rows` runs a row apart.
fn pack_panels(wt: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let blocks = cols.div_ceil(PANEL);
    let mut panels = vec![0f32; blocks * rows * PANEL];
    for b in 0..blocks {
        let width = PANEL.min(cols - b * PANEL);
        for k in 0..rows {
            let dst = (b * rows + k) * PANEL;
            panels[dst..dst + width].copy_from_slice(&wt[k * cols + b * PANEL..][..width]);
        }
    }
    panels
}

/// `out += v · Wt` for `Wt` `(len(v), len(out))` given as [`pack_panels`]: the batch-1 recurrent
/// product.
fn vecmat_add(panels: &[f32], v: &[f32], out: &mut [f32]) {
    debug_assert_eq!(panels.len(), out.len().div_ceil(PANEL) * v.len() * PANEL);
    #[cfg(target_arch = "x86_64")]
    {
        if has_avx2_fma() {
            // SAFETY: the CPU supports the features this function is compiled for.
            unsafe { vecmat_add_avx2(panels, v, out) };
            return;
        }
    }
    vecmat_add_portable(panels, v, out);
}

/// One panel at a time as broadcast-FMAs into eight registers: no horizontal sums, one load per FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn vecmat_add_avx2(panels: &[f32], v: &[f32], out: &mut [f32]) {
    use std::arch::x86_64::*;
    let rows = v.len();
    for (b, panel) in panels.chunks_exact(rows * PANEL).enumerate() {
        let mut acc = [_mm256_setzero_ps(); 8];
        for (k, &vk) in v.iter().enumerate() {
            let x = _mm256_set1_ps(vk);
            let row = panel.as_ptr().add(k * PANEL);
            for (i, a) in acc.iter_mut().enumerate() {
                *a = _mm256_fmadd_ps(_mm256_loadu_ps(row.add(i * LANES)), x, *a);
            }
        }
        let mut sums = [0f32; PANEL];
        for (i, a) in acc.iter().enumerate() {
            _mm256_storeu_ps(sums.as_mut_ptr().add(i * LANES), *a);
        }
        for (o, s) in out[b * PANEL..].iter_mut().zip(sums) {
            *o += s;
        }
    }
}

/// Portable fallback over the same panels (the compiler vectorises the inner loop).
fn vecmat_add_portable(panels: &[f32], v: &[f32], out: &mut [f32]) {
    let rows = v.len();
    for (b, panel) in panels.chunks_exact(rows * PANEL).enumerate() {
        let mut sums = [0f32; PANEL];
        for (row, &vk) in panel.chunks_exact(PANEL).zip(v) {
            for (s, w) in sums.iter_mut().zip(row) {
                *s += w * vk;
            }
        }
        for (o, s) in out[b * PANEL..].iter_mut().zip(sums) {
            *o += s;
        }
    }
}

const LANES: usize = 8;

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
    fn vecmat_matches_naive_for_odd_sizes() {
        // Column counts around the 64-wide AVX2 block: below, exact, with a tail, and the real 4H.
        for (rows, cols) in [(1, 1), (3, 5), (8, 64), (7, 70), (128, 512), (9, 130)] {
            let wt: Vec<f32> = (0..rows * cols)
                .map(|k| ((k * 7919) % 13) as f32 - 6.0)
                .collect();
            let v: Vec<f32> = (0..rows).map(|k| (k % 5) as f32 * 0.5 - 1.0).collect();
            let want: Vec<f32> = (0..cols)
                .map(|c| 1.0 + (0..rows).map(|k| wt[k * cols + c] * v[k]).sum::<f32>())
                .collect();
            let panels = pack_panels(&wt, rows, cols);
            let (mut fast, mut portable) = (vec![1.0f32; cols], vec![1.0f32; cols]);
            vecmat_add(&panels, &v, &mut fast);
            vecmat_add_portable(&panels, &v, &mut portable);
            for c in 0..cols {
                assert!(
                    (fast[c] - want[c]).abs() < 1e-3,
                    "col {c}: {} vs {}",
                    fast[c],
                    want[c]
                );
                assert!(
                    (portable[c] - want[c]).abs() < 1e-3,
                    "col {c}: {}",
                    portable[c]
                );
            }
        }
    }
}
