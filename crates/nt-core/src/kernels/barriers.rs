//! Triple-barrier labels (López de Prado, *Advances in Financial Machine Learning*, 2018, ch. 3.4):
//! for each event row, which of an upper, a lower and a vertical barrier its future closes reach
//! first, and the row where that happens.
//!
//! For event row `e` with log close `x_e = ln(c_e)` and volatility `sigma_e` (float64, computed
//! causally by the caller, e.g. the rolling std of log returns up to and including `e`):
//!
//! * upper barrier `x_e + upper * sigma_e`, lower barrier `x_e - lower * sigma_e` (a multiplier of
//!   `None` or `0` disables that barrier);
//! * vertical barrier at row `e + h`.
//!
//! Rows `e + 1 ..= e + h` are scanned in order; the first with `x_t >= upper barrier` gives label
//! `+1`, the first with `x_t <= lower barrier` gives `-1`. A row cannot reach both: the barriers lie
//! on either side of `x_e` and an enabled barrier never equals `x_e` (below), so `upper > lower`. If
//! neither is reached by row `e + h`, the vertical barrier decides: label `0`, or with
//! [`VerticalLabel::Sign`] the sign of `x_{e+h} - x_e` (`0` when exactly flat).
//!
//! Outputs per event: the label, the row `t1` whose close decided it, and the log return
//! `x_{t1} - x_e`. The label is unknown (NaN label and return, `t1 = -1`) when `sigma_e` is NaN or
//! `<= 0`, when an enabled barrier rounds onto `x_e` itself (`multiplier * sigma_e` is below the
//! float64 resolution of `x_e`, about `1e-16 * |x_e|`: the volatility is too small to place it), or
//! when no barrier was reached and row `e + h` lies past the end of the data (the label's span is
//! not complete). A barrier reached before the data ends is known even if `e + h` is past the end:
//! later closes cannot change which barrier came first.
//!
//! Each event is an independent scan of at most `h` rows, done in parallel over fixed blocks of
//! events; the results do not depend on the number of threads.

use std::str::FromStr;

use rayon::prelude::*;

use super::series::zeroed_vec;
use crate::error::fmt_shape;
use crate::{Error, Result};

/// What the vertical barrier gives when neither horizontal barrier is reached within `h` rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VerticalLabel {
    /// Label `0` (the classic three-class triple barrier).
    #[default]
    Zero,
    /// The sign of the log return at the vertical barrier: `+1`, `-1`, or `0` when exactly flat.
    Sign,
}

impl FromStr for VerticalLabel {
    type Err = Error;

    /// `"zero"` or `"sign"`; anything else is a configuration error naming it.
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "zero" => Ok(Self::Zero),
            "sign" => Ok(Self::Sign),
            other => Err(Error::Config(format!(
                "vertical must be \"zero\" or \"sign\", got {other:?}"
            ))),
        }
    }
}

/// The barriers: multipliers of `sigma` for the horizontal ones and the vertical distance in rows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TripleBarrier {
    /// Rows to the vertical barrier, `h >= 1`.
    pub horizon: usize,
    /// Upper barrier at `ln(c_e) + upper * sigma_e`; `None` or `Some(0.0)` disables it.
    pub upper: Option<f64>,
    /// Lower barrier at `ln(c_e) - lower * sigma_e`; `None` or `Some(0.0)` disables it.
    pub lower: Option<f64>,
    /// The label when the vertical barrier decides.
    pub vertical: VerticalLabel,
}

/// Per-event outputs of [`triple_barrier`], one entry per row of the series.
#[derive(Debug, Clone, PartialEq)]
pub struct BarrierLabels {
    /// `+1`, `-1`, `0`, or NaN when unknown.
    pub label: Vec<f32>,
    /// The row whose close decided the label (the barrier row or `e + h`), `-1` when unknown.
    pub t1: Vec<i64>,
    /// `ln(c_{t1}) - ln(c_e)`, NaN when unknown.
    pub ret: Vec<f64>,
}

/// Events labelled per parallel task (fixed, so the work split never depends on the thread count).
const EVENT_BLOCK: usize = 4096;

/// Triple-barrier labels of every row of `close` (see the module documentation for the rules).
///
/// Errors: a shape error if `sigma` and `close` differ in length; a configuration error for
/// `horizon == 0` or a multiplier that is negative or not finite; a data error naming the first row
/// whose close is not finite or not `> 0`, or whose sigma is infinite (a NaN or non-positive sigma
/// is not an error: that event's label is unknown), or if the outputs cannot be allocated. An empty
/// series gives empty outputs.
///
/// ```
/// use nt_core::kernels::{triple_barrier, TripleBarrier, VerticalLabel};
/// let close = [100.0, 101.0, 103.0, 99.0, 100.0];
/// let sigma = [0.01; 5];
/// let spec = TripleBarrier { horizon: 2, upper: Some(2.0), lower: Some(2.0), vertical: VerticalLabel::Zero };
/// let out = triple_barrier(&close, &sigma, &spec).unwrap();
/// assert_eq!(out.label[0], 1.0); // +2.96% at row 2 crosses +2 sigma first
/// assert_eq!(out.t1[0], 2);
/// assert_eq!(out.label[1], -1.0); // -2.0% at row 3 crosses -2 sigma
/// assert!(out.label[4].is_nan()); // no barrier hit, row 6 is past the end
/// ```
pub fn triple_barrier(close: &[f64], sigma: &[f64], spec: &TripleBarrier) -> Result<BarrierLabels> {
    let rows = close.len();
    if sigma.len() != rows {
        return Err(Error::shape(
            "sigma",
            format!("{} (the length of close)", fmt_shape(&[rows])),
            fmt_shape(&[sigma.len()]),
        ));
    }
    if spec.horizon == 0 {
        return Err(Error::Config("horizon must be at least 1, got 0".into()));
    }
    let upper = barrier_offset(spec.upper, "upper")?;
    let lower = barrier_offset(spec.lower, "lower")?;
    if let Some(r) = close.iter().position(|c| !(c.is_finite() && *c > 0.0)) {
        return Err(Error::Data(format!(
            "close must be finite and > 0 (log prices), got {} at row {r}",
            close[r]
        )));
    }
    if let Some(r) = sigma.iter().position(|s| s.is_infinite()) {
        return Err(Error::Data(format!(
            "sigma is {} at row {r}; use NaN to leave an event unlabelled",
            sigma[r]
        )));
    }

    // Fallible allocations: an output that does not fit in memory is an error, not an abort.
    let mut log_close: Vec<f64> = zeroed_vec(rows, "log closes")?;
    log_close
        .par_chunks_mut(EVENT_BLOCK)
        .zip(close.par_chunks(EVENT_BLOCK))
        .for_each(|(dst, src)| {
            for (d, c) in dst.iter_mut().zip(src) {
                *d = c.ln();
            }
        });

    let mut out = BarrierLabels {
        label: zeroed_vec(rows, "labels")?,
        t1: zeroed_vec(rows, "label end rows")?,
        ret: zeroed_vec(rows, "label returns")?,
    };
    let scan = Scan {
        log_close: &log_close,
        sigma,
        upper,
        lower,
        horizon: spec.horizon,
        vertical: spec.vertical,
    };
    out.label
        .par_chunks_mut(EVENT_BLOCK)
        .zip(out.t1.par_chunks_mut(EVENT_BLOCK))
        .zip(out.ret.par_chunks_mut(EVENT_BLOCK))
        .enumerate()
        .for_each(|(block, ((label, t1), ret))| {
            let first = block * EVENT_BLOCK;
            for (k, ((l, t), r)) in label.iter_mut().zip(t1).zip(ret).enumerate() {
                (*l, *t, *r) = match scan.event(first + k) {
                    // row < len <= isize::MAX: exact as i64.
                    Some(hit) => (hit.label, hit.row as i64, hit.ret),
                    None => (f32::NAN, -1, f64::NAN),
                };
            }
        });
    Ok(out)
}

/// A multiplier as `Some(m)` for an enabled barrier, `None` for a disabled one (`None` or `0`).
fn barrier_offset(multiplier: Option<f64>, name: &str) -> Result<Option<f64>> {
    match multiplier {
        None => Ok(None),
        Some(m) if !(m.is_finite() && m >= 0.0) => Err(Error::Config(format!(
            "{name} must be finite and >= 0 (0 or None disables the barrier), got {m}"
        ))),
        Some(0.0) => Ok(None),
        Some(m) => Ok(Some(m)),
    }
}

/// One event's outcome.
struct Hit {
    label: f32,
    row: usize,
    ret: f64,
}

/// Everything an event's scan reads.
struct Scan<'a> {
    log_close: &'a [f64],
    sigma: &'a [f64],
    upper: Option<f64>,
    lower: Option<f64>,
    horizon: usize,
    vertical: VerticalLabel,
}

impl Scan<'_> {
    /// The outcome of event `e`, or `None` when its label is unknown.
    #[inline]
    fn event(&self, e: usize) -> Option<Hit> {
        let s = self.sigma[e];
        if s.is_nan() || s <= 0.0 {
            return None;
        }
        let entry = self.log_close[e];
        // A disabled barrier sits at ±inf, which no finite log close reaches. An enabled one that
        // rounds onto the entry (or, with a huge multiplier, overflows to ±inf) is decided here.
        let up = self.upper.map_or(f64::INFINITY, |m| entry + m * s);
        let down = self.lower.map_or(f64::NEG_INFINITY, |m| entry - m * s);
        if up == entry || down == entry {
            return None;
        }
        let last = self.log_close.len() - 1;
        let vertical_row = e.saturating_add(self.horizon);
        let end = vertical_row.min(last);
        // `end >= e`; when `e` is the last row the path is empty.
        let path = &self.log_close[e + 1..=end];
        if let Some(k) = path.iter().position(|&x| x >= up || x <= down) {
            let x = path[k];
            return Some(Hit {
                label: if x >= up { 1.0 } else { -1.0 },
                row: e + 1 + k,
                ret: x - entry,
            });
        }
        if vertical_row > last {
            return None;
        }
        let ret = self.log_close[vertical_row] - entry;
        let label = match self.vertical {
            VerticalLabel::Zero => 0.0,
            VerticalLabel::Sign if ret > 0.0 => 1.0,
            VerticalLabel::Sign if ret < 0.0 => -1.0,
            VerticalLabel::Sign => 0.0,
        };
        Some(Hit {
            label,
            row: vertical_row,
            ret,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(horizon: usize, upper: Option<f64>, lower: Option<f64>) -> TripleBarrier {
        TripleBarrier {
            horizon,
            upper,
            lower,
            vertical: VerticalLabel::Zero,
        }
    }

    #[test]
    fn first_barrier_reached_decides() {
        // Log returns from row 0: +1%, +2.5%, -3%: with sigma 1% and 2-sigma barriers, the upper one
        // is reached at row 2 before the lower one at row 3.
        let close: Vec<f64> = [0.0, 0.01, 0.025, -0.03, -0.03]
            .iter()
            .map(|r: &f64| 100.0 * r.exp())
            .collect();
        let sigma = [0.01; 5];
        let out = triple_barrier(&close, &sigma, &spec(3, Some(2.0), Some(2.0))).unwrap();
        assert_eq!((out.label[0], out.t1[0]), (1.0, 2));
        assert_eq!(out.ret[0], close[2].ln() - close[0].ln());
        // From row 1, the fall to -4% at row 3 reaches the lower barrier.
        assert_eq!((out.label[1], out.t1[1]), (-1.0, 3));
        // From row 3, nothing moves and the vertical barrier (row 6) is past the end: unknown.
        assert!(out.label[3].is_nan() && out.t1[3] == -1 && out.ret[3].is_nan());
    }

    #[test]
    fn vertical_barrier_gives_zero_or_the_sign() {
        let close = [100.0, 100.1, 100.2, 99.9, 100.2];
        let sigma = [0.5; 5];
        let mut s = spec(2, Some(1.0), Some(1.0));
        let zero = triple_barrier(&close, &sigma, &s).unwrap();
        assert_eq!(&zero.label[..3], &[0.0, 0.0, 0.0]);
        assert_eq!(&zero.t1[..3], &[2, 3, 4]);
        s.vertical = VerticalLabel::Sign;
        let sign = triple_barrier(&close, &sigma, &s).unwrap();
        // +0.2%, -0.2%, exactly flat.
        assert_eq!(&sign.label[..3], &[1.0, -1.0, 0.0]);
        let bits = |r: &[f64]| r.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&zero.ret), bits(&sign.ret));
        assert!(sign.label[3].is_nan() && sign.label[4].is_nan());
    }

    #[test]
    fn a_hit_before_the_end_is_known_even_when_the_span_is_not_complete() {
        let close = [100.0, 100.0, 100.0, 120.0];
        let sigma = [0.01; 4];
        let out = triple_barrier(&close, &sigma, &spec(1_000, Some(1.0), Some(1.0))).unwrap();
        assert_eq!(&out.label[..3], &[1.0, 1.0, 1.0]);
        assert_eq!(&out.t1[..3], &[3, 3, 3]);
        assert!(out.label[3].is_nan());
        // usize::MAX rows ahead does not overflow.
        let out = triple_barrier(&close, &sigma, &spec(usize::MAX, Some(1.0), None)).unwrap();
        assert_eq!(out.t1[0], 3);
    }

    #[test]
    fn unusable_sigma_and_disabled_barriers() {
        let close = [100.0, 103.0, 90.0];
        let sigma = [f64::NAN, 0.0, -1.0];
        let out = triple_barrier(&close, &sigma, &spec(1, Some(1.0), Some(1.0))).unwrap();
        assert!(out.label.iter().all(|l| l.is_nan()));
        assert!(out.t1.iter().all(|&t| t == -1));
        // Only the lower barrier: the +3% move is not a hit; the vertical barrier decides at row 1.
        let sigma = [0.01; 3];
        let out = triple_barrier(&close, &sigma, &spec(1, Some(0.0), Some(1.0))).unwrap();
        assert_eq!((out.label[0], out.t1[0]), (0.0, 1));
        assert_eq!((out.label[1], out.t1[1]), (-1.0, 2));
        // A sigma too small to move the barrier off the entry price leaves the event unknown.
        let sigma = [1e-300; 3];
        let out = triple_barrier(&close, &sigma, &spec(1, Some(1.0), None)).unwrap();
        assert!(out.label[0].is_nan());
    }

    #[test]
    fn bad_inputs_are_typed_errors_naming_the_value() {
        let ok = [100.0, 101.0, 102.0];
        let sigma = [0.01; 3];
        let s = spec(1, Some(1.0), Some(1.0));
        for (close, row) in [([100.0, 0.0, 1.0], 1), ([1.0, 1.0, f64::NAN], 2)] {
            let err = triple_barrier(&close, &sigma, &s).unwrap_err();
            assert!(matches!(err, Error::Data(_)));
            assert!(err.to_string().contains(&format!("row {row}")), "{err}");
        }
        let err = triple_barrier(&ok, &[0.01, f64::INFINITY, 0.01], &s).unwrap_err();
        assert!(err.to_string().contains("row 1"), "{err}");
        assert!(matches!(
            triple_barrier(&ok, &sigma[..2], &s),
            Err(Error::Shape { .. })
        ));
        assert!(matches!(
            triple_barrier(&ok, &sigma, &spec(0, Some(1.0), None)),
            Err(Error::Config(_))
        ));
        for bad in [-1.0, f64::NAN, f64::INFINITY] {
            let err = triple_barrier(&ok, &sigma, &spec(1, Some(1.0), Some(bad))).unwrap_err();
            assert!(
                err.to_string().starts_with("invalid configuration: lower"),
                "{err}"
            );
        }
        assert!(matches!(
            "both".parse::<VerticalLabel>(),
            Err(Error::Config(_))
        ));
        let empty = triple_barrier(&[], &[], &s).unwrap();
        assert!(empty.label.is_empty() && empty.t1.is_empty() && empty.ret.is_empty());
    }
}
