//! Sliding windows over a `(T, F)` series, with an optional z-score fused into the copy.
//!
//! Window `i` covers rows `[i * stride, i * stride + window)` (the data contract in docs/design.md), so in a
//! row-major series each window is one contiguous run of `window * F` values: without normalisation a
//! window is a single `memcpy`, and the kernel runs at memory bandwidth. Windows are independent, so
//! they are filled in parallel (rayon) into one preallocated `(N, window, F)` buffer.

use rayon::prelude::*;

use super::series::{checked_len, first_non_finite, zeroed_vec, Sample, SeriesView};
use super::stats::ZScore;
use crate::error::fmt_shape;
use crate::{Error, Result};

/// Number of windows `N = (rows - window) / stride + 1`, after checking that `window >= 1`,
/// `stride >= 1` (configuration errors) and `window <= rows` (a shape error naming both).
pub fn num_windows(rows: usize, window: usize, stride: usize) -> Result<usize> {
    if window == 0 {
        return Err(Error::Config("window must be at least 1, got 0".into()));
    }
    if stride == 0 {
        return Err(Error::Config("stride must be at least 1, got 0".into()));
    }
    if window > rows {
        return Err(Error::shape(
            "series",
            format!("(T, F) with T >= {window} (the window length)"),
            format!("{rows} rows"),
        ));
    }
    Ok((rows - window) / stride + 1)
}

/// Cuts `series` into windows of `window` rows every `stride` rows and returns them as a flat C-ordered
/// `(N, window, F)` float32 buffer together with that shape.
///
/// With `zscore`, each value is written as `(x - mean[f]) / std[f]`, computed in f64 as
/// `(x - mean) * (1 / std)` and rounded once to f32. Each input value is transformed once: when windows
/// overlap (`N > 1` and `window > stride`, so rows are read about `window / stride` times) the rows are
/// first converted into a float32 buffer of at most `T x F` values and the windows are then plain
/// `memcpy`s; otherwise values are transformed as they are copied. Both routes apply the same f64
/// operations to each value, so the result is bit-identical either way. Float32 input without `zscore`
/// is copied directly.
///
/// Errors: the checks of [`num_windows`]; a shape error if `zscore` does not have `F` entries; a
/// configuration error if the output size overflows; a data error naming the first row and column
/// of the rows covered by windows that holds NaN or Inf, or if the output cannot be allocated.
pub fn sliding_windows<T: Sample>(
    series: SeriesView<'_, T>,
    window: usize,
    stride: usize,
    zscore: Option<&ZScore>,
) -> Result<(Vec<f32>, [usize; 3])> {
    let cols = series.cols();
    let n = num_windows(series.rows(), window, stride)?;
    let shape = [n, window, cols];
    let len = checked_len(&shape, "windows")?;
    if let Some(z) = zscore {
        if z.len() != cols {
            return Err(Error::shape(
                "mean/std",
                fmt_shape(&[cols]),
                fmt_shape(&[z.len()]),
            ));
        }
    }
    // Rows past the last window are never read, so they are not checked either.
    let used_rows = (n - 1) * stride + window;
    series.check_finite(0..used_rows)?;

    let data = series.rows_slice(0..used_rows);
    let scale = zscore.map(Scale::new);
    let mut out: Vec<f32> = zeroed_vec(len, "windows")?;
    let layout = Layout {
        cols,
        step: stride * cols,  // <= data.len(): no overflow
        block: window * cols, // <= len
    };
    match (T::as_f32(data), &scale) {
        // float32 copied as it is: finite in, finite out.
        (Some(raw), None) => fill_windows(raw, &mut out, &layout, None),
        _ if n > 1 && window > stride => {
            let mut staged: Vec<f32> = zeroed_vec(data.len(), "converted series")?;
            let chunk = STAGE_ROWS * cols;
            staged
                .par_chunks_mut(chunk)
                .zip(data.par_chunks(chunk))
                .for_each(|(dst, src)| convert(src, dst, cols, scale.as_ref()));
            check_fits(&staged, |i| i, data, cols)?;
            fill_windows(&staged, &mut out, &layout, None);
        }
        _ => {
            fill_windows(data, &mut out, &layout, scale.as_ref());
            // Each output value maps back to the series row of its window plus its row inside it.
            let source = |i: usize| (i / layout.block) * layout.step + i % layout.block;
            check_fits(&out, source, data, cols)?;
        }
    }
    Ok((out, shape))
}

/// Fails with a data error if a converted value overflowed float32 (a float64 input, or a z-score,
/// beyond ±3.4e38), naming the series value it came from: `source` maps an index of `converted` to
/// the index of that value in `data`.
fn check_fits<T: Sample>(
    converted: &[f32],
    source: impl Fn(usize) -> usize,
    data: &[T],
    cols: usize,
) -> Result<()> {
    match first_non_finite(converted) {
        None => Ok(()),
        Some(i) => {
            let at = source(i);
            Err(Error::Data(format!(
                "series value {:?} at row {}, column {} is beyond float32's range once converted \
                 (float32 holds at most ±3.4e38)",
                data[at].to_f64(),
                at / cols,
                at % cols
            )))
        }
    }
}

/// Rows converted per parallel task when staging (fixed, so the work split does not matter).
const STAGE_ROWS: usize = 1024;

/// Per-feature `mean` and `1 / std`: the one z-score arithmetic of the window kernels (also used by
/// [`super::gather`], which must match these windows bit for bit).
pub(super) struct Scale {
    mean: Vec<f64>,
    inv_std: Vec<f64>,
}

impl Scale {
    pub(super) fn new(z: &ZScore) -> Self {
        Self {
            mean: z.mean().to_vec(),
            inv_std: z.std().iter().map(|s| 1.0 / s).collect(),
        }
    }
}

/// Where windows lie in the flat series and output: `cols` per row, `step` values between window
/// starts, `block` values per window.
struct Layout {
    cols: usize,
    step: usize,
    block: usize,
}

fn fill_windows<S: Sample>(src: &[S], out: &mut [f32], at: &Layout, scale: Option<&Scale>) {
    out.par_chunks_mut(at.block)
        .enumerate()
        .for_each(|(i, dst)| {
            let start = i * at.step;
            convert(&src[start..start + at.block], dst, at.cols, scale);
        });
}

/// Copies whole rows of `cols` values to f32, z-scoring them when `scale` is given.
#[inline]
pub(super) fn convert<S: Sample>(src: &[S], dst: &mut [f32], cols: usize, scale: Option<&Scale>) {
    match scale {
        None => S::copy_to_f32(src, dst),
        Some(z) => {
            for (d_row, s_row) in dst.chunks_exact_mut(cols).zip(src.chunks_exact(cols)) {
                for (((d, s), m), k) in d_row.iter_mut().zip(s_row).zip(&z.mean).zip(&z.inv_std) {
                    *d = ((s.to_f64() - m) * k) as f32;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(rows: usize, cols: usize) -> Vec<f32> {
        (0..rows * cols).map(|i| i as f32).collect()
    }

    #[test]
    fn values_beyond_float32_are_data_errors_on_every_route() {
        // Row 2, column 1 holds a float64 value no float32 can hold.
        let mut data = vec![1.0f64; 5 * 2];
        data[2 * 2 + 1] = 1e39;
        let view = SeriesView::new(&data, 5, 2).unwrap();
        let unit = ZScore::new(vec![0.0; 2], vec![1.0; 2]).unwrap();
        // Plain conversion, staged (overlapping windows) and direct (window <= stride) routes.
        for (window, stride, z) in [
            (3, 1, None),
            (3, 1, Some(&unit)),
            (1, 1, None),
            (2, 2, None),
        ] {
            let err = sliding_windows(view, window, stride, z)
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("row 2, column 1") && err.contains("1e39"),
                "{window}/{stride}: {err}"
            );
        }
        // A float32-sized value can still overflow once z-scored by a tiny std.
        let small = vec![3e38f32, 0.0, 1.0, 2.0];
        let view = SeriesView::new(&small, 4, 1).unwrap();
        let tiny = ZScore::new(vec![0.0], vec![1e-3]).unwrap();
        let err = sliding_windows(view, 2, 1, Some(&tiny))
            .unwrap_err()
            .to_string();
        assert!(err.contains("row 0, column 0"), "{err}");
    }

    #[test]
    fn windows_cover_the_documented_rows() {
        let data = series(10, 3);
        let view = SeriesView::new(&data, 10, 3).unwrap();
        let (out, shape) = sliding_windows(view, 4, 3, None).unwrap();
        assert_eq!(shape, [3, 4, 3]);
        for i in 0..3 {
            for t in 0..4 {
                for f in 0..3 {
                    let got = out[(i * 4 + t) * 3 + f];
                    assert_eq!(got, ((i * 3 + t) * 3 + f) as f32);
                }
            }
        }
    }

    #[test]
    fn fused_zscore_matches_formula() {
        let data: Vec<f64> = series(6, 2).into_iter().map(f64::from).collect();
        let view = SeriesView::new(&data, 6, 2).unwrap();
        let z = ZScore::new(vec![1.0, -2.0], vec![2.0, 4.0]).unwrap();
        let (out, shape) = sliding_windows(view, 6, 1, Some(&z)).unwrap();
        assert_eq!(shape, [1, 6, 2]);
        for (k, v) in out.iter().enumerate() {
            let (m, s) = if k % 2 == 0 { (1.0, 2.0) } else { (-2.0, 4.0) };
            assert_eq!(*v, ((k as f64 - m) / s) as f32);
        }
    }

    #[test]
    fn staged_and_fused_routes_agree_bitwise() {
        let data: Vec<f64> = (0..40 * 3)
            .map(|i| (i as f64 * 0.731).sin() * 1e3 + 7.0)
            .collect();
        let view = SeriesView::new(&data, 40, 3).unwrap();
        let z = ZScore::new(vec![1.5, -2.0, 9.0], vec![3.0, 0.7, 11.0]).unwrap();
        for scale in [None, Some(&z)] {
            // stride 1 < window: staged; stride 5 == window: fused.
            let (overlapping, _) = sliding_windows(view, 5, 1, scale).unwrap();
            let (disjoint, shape) = sliding_windows(view, 5, 5, scale).unwrap();
            for i in 0..shape[0] {
                let a = &overlapping[i * 5 * 15..i * 5 * 15 + 15];
                assert_eq!(a, &disjoint[i * 15..(i + 1) * 15]);
            }
        }
    }

    #[test]
    fn bad_arguments_are_errors() {
        let data = series(5, 2);
        let view = SeriesView::new(&data, 5, 2).unwrap();
        assert!(matches!(
            sliding_windows(view, 6, 1, None),
            Err(Error::Shape { .. })
        ));
        assert!(matches!(
            sliding_windows(view, 0, 1, None),
            Err(Error::Config(_))
        ));
        assert!(matches!(
            sliding_windows(view, 2, 0, None),
            Err(Error::Config(_))
        ));
        let z = ZScore::new(vec![0.0; 3], vec![1.0; 3]).unwrap();
        assert!(matches!(
            sliding_windows(view, 2, 1, Some(&z)),
            Err(Error::Shape { .. })
        ));
    }
}
