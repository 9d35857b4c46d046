//! Per-feature z-score statistics over a chosen row range (the training rows: scalers must never see
//! validation or test rows, see docs/design.md, "Data rules").
//!
//! Accumulation is in f64 and two-pass (mean first, then the sum of squared deviations), which avoids
//! the cancellation of the one-pass `E[x²] - E[x]²` formula on prices far from zero. Rows are summed in
//! fixed blocks whose partial sums are combined in block order, so the result is bit-identical whatever
//! the number of threads.

use std::ops::Range;

use rayon::prelude::*;

use super::series::{Sample, SeriesView};
use crate::error::fmt_shape;
use crate::{Error, Result};

/// Rows per partial sum. Fixed (not derived from the thread count) so results are reproducible.
const BLOCK_ROWS: usize = 4096;

/// Per-feature mean and standard deviation used to normalise as `(x - mean) / std`.
#[derive(Debug, Clone, PartialEq)]
pub struct ZScore {
    mean: Vec<f64>,
    std: Vec<f64>,
}

impl ZScore {
    /// Checks that `mean` and `std` have the same length (shape error), that every mean is finite and
    /// every std finite and `> 0` (configuration error naming the first bad feature).
    pub fn new(mean: Vec<f64>, std: Vec<f64>) -> Result<Self> {
        if mean.len() != std.len() {
            return Err(Error::shape(
                "std",
                fmt_shape(&[mean.len()]),
                fmt_shape(&[std.len()]),
            ));
        }
        if let Some(f) = mean.iter().position(|m| !m.is_finite()) {
            return Err(Error::Config(format!(
                "mean[{f}] must be finite, got {}",
                mean[f]
            )));
        }
        // 1/std must be finite too: a subnormal std would scale by infinity.
        if let Some(f) = std
            .iter()
            .position(|s| !(s.is_finite() && *s > 0.0 && (1.0 / s).is_finite()))
        {
            return Err(Error::Config(format!(
                "std[{f}] must be finite and > 0 (at least 1/f64::MAX), got {}",
                std[f]
            )));
        }
        Ok(Self { mean, std })
    }

    /// Per-feature means.
    pub fn mean(&self) -> &[f64] {
        &self.mean
    }

    /// Per-feature standard deviations (all finite and `> 0`).
    pub fn std(&self) -> &[f64] {
        &self.std
    }

    /// Number of features.
    pub fn len(&self) -> usize {
        self.mean.len()
    }

    /// True when there are no features (never the case for statistics of a series).
    pub fn is_empty(&self) -> bool {
        self.mean.is_empty()
    }

    /// Splits into `(mean, std)`.
    pub fn into_parts(self) -> (Vec<f64>, Vec<f64>) {
        (self.mean, self.std)
    }
}

/// Mean and population standard deviation (ddof = 0) of each column over rows `rows` only.
///
/// A column that is constant over those rows (its minimum equals its maximum) gets `mean` equal to that
/// value exactly and `std = 1.0` instead of 0, so normalising with the result is always safe and maps
/// the column to exactly 0. Every returned std is therefore finite and `> 0`, which is what
/// [`ZScore::new`] and [`sliding_windows`](super::sliding_windows) require.
///
/// Errors: a configuration error if `rows` is empty or ends past the series; a data error naming the
/// first row and column in `rows` holding NaN or Inf.
pub fn zscore_stats<T: Sample>(series: SeriesView<'_, T>, rows: Range<usize>) -> Result<ZScore> {
    if rows.end > series.rows() {
        return Err(Error::Config(format!(
            "row range {}..{} ends past the series, which has {} rows",
            rows.start,
            rows.end,
            series.rows()
        )));
    }
    if rows.start >= rows.end {
        return Err(Error::Config(format!(
            "row range {}..{} is empty: statistics need at least one row",
            rows.start, rows.end
        )));
    }
    series.check_finite(rows.clone())?;
    let cols = series.cols();
    let data = series.rows_slice(rows.clone());
    let n = (rows.end - rows.start) as f64;

    // Pass 1: sums, minima and maxima per column.
    let partials: Vec<(Vec<f64>, Vec<f64>, Vec<f64>)> = data
        .par_chunks(BLOCK_ROWS * cols)
        .map(|block| {
            let mut sum = vec![0.0f64; cols];
            let mut lo = vec![f64::INFINITY; cols];
            let mut hi = vec![f64::NEG_INFINITY; cols];
            for row in block.chunks_exact(cols) {
                for (((x, s), l), h) in row.iter().zip(&mut sum).zip(&mut lo).zip(&mut hi) {
                    let x = x.to_f64();
                    *s += x;
                    *l = l.min(x);
                    *h = h.max(x);
                }
            }
            (sum, lo, hi)
        })
        .collect();
    let mut mean = vec![0.0f64; cols];
    let mut lo = vec![f64::INFINITY; cols];
    let mut hi = vec![f64::NEG_INFINITY; cols];
    for (s, l, h) in &partials {
        for f in 0..cols {
            mean[f] += s[f];
            lo[f] = lo[f].min(l[f]);
            hi[f] = hi[f].max(h[f]);
        }
    }
    for m in &mut mean {
        *m /= n;
    }

    // Pass 2: squared deviations from the mean.
    let partials: Vec<Vec<f64>> = data
        .par_chunks(BLOCK_ROWS * cols)
        .map(|block| {
            let mut ss = vec![0.0f64; cols];
            for row in block.chunks_exact(cols) {
                for ((x, acc), m) in row.iter().zip(&mut ss).zip(&mean) {
                    let d = x.to_f64() - m;
                    *acc += d * d;
                }
            }
            ss
        })
        .collect();
    let mut std = vec![0.0f64; cols];
    for ss in &partials {
        for (acc, s) in std.iter_mut().zip(ss) {
            *acc += s;
        }
    }
    for f in 0..cols {
        if lo[f] == hi[f] {
            mean[f] = lo[f];
            std[f] = 1.0;
        } else {
            // Values differ, so the sum of squares is > 0 unless the spread underflows f64.
            std[f] = (std[f] / n).sqrt();
            if std[f] <= 0.0 {
                std[f] = f64::MIN_POSITIVE;
            }
        }
        if !(mean[f].is_finite() && std[f].is_finite()) {
            return Err(Error::Data(format!(
                "column {f}: values are too large for float64 statistics (mean {}, std {})",
                mean[f], std[f]
            )));
        }
    }
    ZScore::new(mean, std)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn population_std_on_a_row_range() {
        // Column 0: 1, 2, 3, 4, 100 ; column 1 constant 5 on rows 0..4.
        let data = [1.0, 5.0, 2.0, 5.0, 3.0, 5.0, 4.0, 5.0, 100.0, 6.0];
        let view = SeriesView::new(&data[..], 5, 2).unwrap();
        let z = zscore_stats(view, 0..4).unwrap();
        assert_eq!(z.mean(), &[2.5, 5.0]);
        assert!((z.std()[0] - 1.25f64.sqrt()).abs() < 1e-15);
        assert_eq!(z.std()[1], 1.0, "constant column gets std 1");
        let z = zscore_stats(view, 0..5).unwrap();
        assert!(z.std()[1] > 0.0 && z.std()[1] < 1.0);
    }

    #[test]
    fn range_errors() {
        let data = [1.0f32, 2.0, 3.0];
        let view = SeriesView::new(&data[..], 3, 1).unwrap();
        assert!(matches!(zscore_stats(view, 2..2), Err(Error::Config(_))));
        assert!(matches!(zscore_stats(view, 0..4), Err(Error::Config(_))));
    }

    #[test]
    fn zscore_new_validates() {
        assert!(matches!(
            ZScore::new(vec![0.0], vec![1.0, 1.0]),
            Err(Error::Shape { .. })
        ));
        assert!(matches!(
            ZScore::new(vec![0.0], vec![0.0]),
            Err(Error::Config(_))
        ));
        assert!(matches!(
            ZScore::new(vec![0.0], vec![-1.0]),
            Err(Error::Config(_))
        ));
        assert!(matches!(
            ZScore::new(vec![f64::NAN], vec![1.0]),
            Err(Error::Config(_))
        ));
        assert!(matches!(
            ZScore::new(vec![0.0], vec![f64::INFINITY]),
            Err(Error::Config(_))
        ));
    }
}
