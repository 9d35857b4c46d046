//! Window gather: one training batch of windows copied from a `(T, F)` series into a buffer that the
//! caller allocates once and reuses, so memory grows with `T x F` and never with the window length.
//!
//! Window `b` of the batch covers series rows `[starts[b], starts[b] + window)`; starts come in any
//! order and may repeat (shuffled sampling). In a row-major series each window is one contiguous run
//! of `window * F` values, so without normalisation a float32 window is a single `memcpy`. With a
//! z-score each value is written with the arithmetic of [`super::sliding_windows`]
//! (`(x - mean) * (1 / std)` in f64, rounded once to f32), so a gathered window is bit-identical to
//! the same window of `sliding_windows`. Windows are copied in parallel when the batch is large
//! enough to pay for it; each output value depends only on its own input, so the result never depends
//! on the thread count.

use rayon::prelude::*;

use super::series::{checked_len, zeroed_vec, Sample, SeriesView};
use super::stats::ZScore;
use super::windows::{convert, Scale};
use crate::error::fmt_shape;
use crate::{Error, Result};

/// Output values below which the batch is copied on the calling thread: a task hand-off costs a few
/// microseconds, as much as copying 64K values (256 KiB) from cache.
const PARALLEL_MIN_VALUES: usize = 1 << 16;

/// Values copied between two finiteness checks (4 KiB of float32).
const CHECK_VALUES: usize = 1024;

/// The output shape `(B, window, F)` of a gather of `batch` windows from `series`, after checking
/// that `1 <= window <= T` (configuration error for 0, shape error for too long) and that the
/// output can be addressed.
pub fn gather_shape<T: Sample>(
    series: SeriesView<'_, T>,
    batch: usize,
    window: usize,
) -> Result<[usize; 3]> {
    if window == 0 {
        return Err(Error::Config("window must be at least 1, got 0".into()));
    }
    if window > series.rows() {
        return Err(Error::shape(
            "series",
            format!("(T, F) with T >= {window} (the window length)"),
            format!("{} rows", series.rows()),
        ));
    }
    let shape = [batch, window, series.cols()];
    checked_len(&shape, "gathered windows")?;
    Ok(shape)
}

/// Copies the windows starting at rows `starts` of `series` into `out`, a flat C-ordered
/// `(B, window, F)` float32 buffer with `B = starts.len()`, z-scoring them when `zscore` is given.
///
/// Errors (checked before anything is written, except the last): those of [`gather_shape`]; a shape
/// error if `zscore` does not have `F` entries or `out` does not hold `B * window * F` values; a data
/// error naming the first start (its position in `starts` and its value) outside
/// `0 ..= T - window`; a data error naming the series row and column of the first value (in batch
/// order) that is NaN or Inf, or that overflows float32 once converted or normalised. After that
/// last error `out` is partly overwritten.
///
/// ```
/// use nt_core::kernels::{gather_windows, SeriesView};
/// let data: Vec<f32> = (0..20).map(|v| v as f32).collect(); // 10 rows x 2 features
/// let series = SeriesView::new(&data, 10, 2).unwrap();
/// let mut out = vec![0.0f32; 2 * 3 * 2];
/// gather_windows(series, &[7, 0], 3, None, &mut out).unwrap();
/// assert_eq!(&out[..6], &[14.0, 15.0, 16.0, 17.0, 18.0, 19.0]); // rows 7, 8, 9
/// assert_eq!(&out[6..], &[0.0, 1.0, 2.0, 3.0, 4.0, 5.0]); // rows 0, 1, 2
/// ```
pub fn gather_windows<T: Sample>(
    series: SeriesView<'_, T>,
    starts: &[i64],
    window: usize,
    zscore: Option<&ZScore>,
    out: &mut [f32],
) -> Result<()> {
    let cols = series.cols();
    let shape = gather_shape(series, starts.len(), window)?;
    if let Some(z) = zscore {
        if z.len() != cols {
            return Err(Error::shape(
                "mean/std",
                fmt_shape(&[cols]),
                fmt_shape(&[z.len()]),
            ));
        }
    }
    let block = window * cols;
    if out.len() != block * starts.len() {
        return Err(Error::shape(
            "out",
            fmt_shape(&shape),
            format!("a buffer of {} values", out.len()),
        ));
    }
    let last_start = series.rows() - window;
    if let Some(b) = starts
        .iter()
        .position(|&s| usize::try_from(s).map_or(true, |s| s > last_start))
    {
        return Err(Error::Data(format!(
            "starts[{b}] = {} is out of range: a window of {window} rows in a series of {} rows \
             starts at 0 ..= {last_start}",
            starts[b],
            series.rows()
        )));
    }
    if out.is_empty() {
        return Ok(());
    }

    let scale = zscore.map(Scale::new);
    let data = series.data();
    // Whole rows of about 4 KiB: each piece is checked while it is still in L1, which costs a third
    // of what checking the whole window after copying it does.
    let piece = (CHECK_VALUES / cols).max(1) * cols;
    // Copies window `b` into `dst` and returns the offset of its first non-finite value, if any.
    let copy = |b: usize, dst: &mut [f32]| -> Option<(usize, usize)> {
        let first = starts[b] as usize * cols; // checked above: 0 <= starts[b] <= last_start
        let src = &data[first..first + block];
        for (k, (d, s)) in dst.chunks_mut(piece).zip(src.chunks(piece)).enumerate() {
            convert(s, d, cols, scale.as_ref());
            if let Some(i) = first_non_finite(d) {
                return Some((b, k * piece + i));
            }
        }
        None
    };
    let bad = if out.len() < PARALLEL_MIN_VALUES {
        out.chunks_mut(block)
            .enumerate()
            .find_map(|(b, dst)| copy(b, dst))
    } else {
        out.par_chunks_mut(block)
            .with_min_len(PARALLEL_MIN_VALUES.div_ceil(block))
            .enumerate()
            .filter_map(|(b, dst)| copy(b, dst))
            .min()
    };
    match bad {
        None => Ok(()),
        Some((b, k)) => Err(value_error(series, starts[b] as usize, b, k)),
    }
}

/// Like [`gather_windows`] into a new buffer; returns it with its shape `(B, window, F)`.
///
/// Errors: those of [`gather_windows`], and a data error if the output cannot be allocated.
pub fn gather_windows_new<T: Sample>(
    series: SeriesView<'_, T>,
    starts: &[i64],
    window: usize,
    zscore: Option<&ZScore>,
) -> Result<(Vec<f32>, [usize; 3])> {
    let shape = gather_shape(series, starts.len(), window)?;
    let mut out: Vec<f32> = zeroed_vec(shape.iter().product(), "gathered windows")?;
    gather_windows(series, starts, window, zscore, &mut out)?;
    Ok((out, shape))
}

/// Index of the first NaN or ±Inf in a piece of a window: a branch-free pass that the compiler vectorises,
/// then a search only when something is wrong.
#[inline]
fn first_non_finite(values: &[f32]) -> Option<usize> {
    if values.iter().fold(true, |ok, v| ok & v.is_finite()) {
        return None;
    }
    values.iter().position(|v| !v.is_finite())
}

/// The data error for value `k` of window `b` (which starts at series row `start`): NaN or Inf in
/// the series itself, or a finite value that float32 cannot hold once converted or normalised.
fn value_error<T: Sample>(series: SeriesView<'_, T>, start: usize, b: usize, k: usize) -> Error {
    let cols = series.cols();
    let (row, col) = (start + k / cols, k % cols);
    let value = series.data()[row * cols + col].to_f64();
    if value.is_finite() {
        Error::Data(format!(
            "series value {value:?} at row {row}, column {col} (window starts[{b}] = {start}) is \
             beyond float32's range once converted (float32 holds at most ±3.4e38)"
        ))
    } else {
        Error::Data(format!(
            "series has a non-finite value ({value}) at row {row}, column {col} (window \
             starts[{b}] = {start})"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::super::sliding_windows;
    use super::*;

    fn series64(rows: usize, cols: usize) -> Vec<f64> {
        (0..rows * cols)
            .map(|i| (i as f64 * 0.37).sin() * 40.0 + 100.0)
            .collect()
    }

    #[test]
    fn gathered_windows_equal_sliding_windows_bitwise() {
        let (rows, cols, window) = (50, 3, 7);
        let data = series64(rows, cols);
        let view = SeriesView::new(&data, rows, cols).unwrap();
        let z = ZScore::new(vec![100.0, 90.0, 110.0], vec![3.0, 0.7, 11.0]).unwrap();
        let starts = [43i64, 0, 5, 5, 17];
        for scale in [None, Some(&z)] {
            let (all, _) = sliding_windows(view, window, 1, scale).unwrap();
            let (got, shape) = gather_windows_new(view, &starts, window, scale).unwrap();
            assert_eq!(shape, [5, window, cols]);
            let block = window * cols;
            for (b, &s) in starts.iter().enumerate() {
                let s = s as usize;
                assert_eq!(
                    &got[b * block..(b + 1) * block],
                    &all[s * block..(s + 1) * block]
                );
            }
        }
    }

    #[test]
    fn large_batches_take_the_parallel_route_with_the_same_result() {
        let (rows, cols, window) = (400, 5, 30);
        let data = series64(rows, cols);
        let view = SeriesView::new(&data, rows, cols).unwrap();
        // 600 windows of 150 values: 90,000 values, above PARALLEL_MIN_VALUES.
        let starts: Vec<i64> = (0..600).map(|i| (i * 37 % 371) as i64).collect();
        let (big, _) = gather_windows_new(view, &starts, window, None).unwrap();
        assert!(big.len() >= PARALLEL_MIN_VALUES);
        for (b, &s) in starts.iter().enumerate().step_by(41) {
            let (one, _) = gather_windows_new(view, &[s], window, None).unwrap();
            assert_eq!(&big[b * 150..(b + 1) * 150], &one[..]);
        }
    }

    #[test]
    fn out_of_range_starts_are_named_with_their_position() {
        let data = series64(10, 2);
        let view = SeriesView::new(&data, 10, 2).unwrap();
        let mut out = vec![0.0; 3 * 4 * 2];
        for (bad, position) in [([0, 7, 6], 1), ([-1, 0, 0], 0), ([0, 0, i64::MAX], 2)] {
            let err = gather_windows(view, &bad, 4, None, &mut out)
                .unwrap_err()
                .to_string();
            let want = format!("starts[{position}] = {}", bad[position]);
            assert!(err.contains(&want) && err.contains("0 ..= 6"), "{err}");
        }
        assert!(
            out.iter().all(|&v| v == 0.0),
            "nothing written on a bad start"
        );
    }

    #[test]
    fn non_finite_and_overflowing_values_name_the_series_cell() {
        let mut data = series64(10, 2);
        data[6 * 2 + 1] = f64::NAN;
        data[3 * 2] = 1e39;
        let view = SeriesView::new(&data, 10, 2).unwrap();
        let err = gather_windows_new(view, &[1, 5], 3, None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("1e39") && err.contains("row 3, column 0"),
            "{err}"
        );
        // The first bad value in batch order is reported: window 0 is fine here, window 1 has NaN.
        let err = gather_windows_new(view, &[7, 5, 0], 3, None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("NaN") && err.contains("row 6, column 1"),
            "{err}"
        );
        assert!(err.contains("starts[1] = 5"), "{err}");
        // Rows outside every window are not read.
        assert!(gather_windows_new(view, &[7, 0], 3, None).is_ok());
        // A finite float32 value overflowing once normalised by a tiny std.
        let small = [3e38f32, 0.0, 1.0, 2.0];
        let view = SeriesView::new(&small, 4, 1).unwrap();
        let tiny = ZScore::new(vec![0.0], vec![1e-3]).unwrap();
        let err = gather_windows_new(view, &[0], 2, Some(&tiny))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("row 0, column 0") && err.contains("float32"),
            "{err}"
        );
    }

    #[test]
    fn shape_and_parameter_errors() {
        let data = series64(10, 2);
        let view = SeriesView::new(&data, 10, 2).unwrap();
        let mut out = vec![0.0; 2 * 4 * 2];
        assert!(matches!(
            gather_windows(view, &[0, 1], 0, None, &mut out),
            Err(Error::Config(_))
        ));
        assert!(matches!(
            gather_windows(view, &[0, 1], 11, None, &mut out),
            Err(Error::Shape { .. })
        ));
        assert!(matches!(
            gather_windows(view, &[0, 1, 2], 4, None, &mut out),
            Err(Error::Shape { .. })
        ));
        let z = ZScore::new(vec![0.0; 3], vec![1.0; 3]).unwrap();
        assert!(matches!(
            gather_windows(view, &[0, 1], 4, Some(&z), &mut out),
            Err(Error::Shape { .. })
        ));
        // An empty batch is valid and writes nothing.
        assert!(gather_windows(view, &[], 4, None, &mut []).is_ok());
    }
}
