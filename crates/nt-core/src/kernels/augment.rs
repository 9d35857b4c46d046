//! OHLC(V) window augmentation: time warp, jitter and volatility scaling, each applied with its own
//! probability, that never produce an impossible candle.
//!
//! Input and output are C-ordered `(N, W, F)` float32 windows whose columns are open, high, low, close
//! and, when `F == 5`, volume. Each window is processed in f64 in this order:
//!
//! 1. **Time warp** (probability `time_warp_prob`): a smooth, strictly increasing map of the time axis
//!    onto itself with both ends fixed. The local speed of time is drawn at 5 evenly spaced knots
//!    uniformly from `[1 - time_warp_max, 1 + time_warp_max]`, interpolated linearly between knots,
//!    integrated over the steps and rescaled to span the window; each output step is the linear
//!    interpolation of the two source steps around its warped position. Interpolating two valid candles
//!    gives a valid candle, so the warp needs no repair when its input is valid.
//! 2. **Jitter** (probability `jitter_prob`): independent Gaussian noise on every value, with standard
//!    deviation `jitter_scale` times that feature's (population) standard deviation within the window;
//!    a constant feature gets no noise.
//! 3. **Volatility scaling** (probability `vol_scale_prob`): one factor `s` drawn uniformly from
//!    `vol_scale_range` scales both wicks around the candle body:
//!    `high = max(o, c) + s * (high - max(o, c))`, `low = min(o, c) - s * (min(o, c) - low)`; open and
//!    close (hence returns) are unchanged, only the intrabar range moves.
//!
//! The candle is **repaired** before the first step and after each one (`high = max(high, open,
//! close)`, `low = min(low, open, close)`, `volume = max(volume, 0)`), so every output row satisfies
//! `high >= max(open, close)`, `low <= min(open, close)`, `volume >= 0`, even when an input row did not.
//! Values are clamped to the float32 range when written back, so the output is always finite.
//!
//! Window `i` draws from `SplitMix64::for_stream(seed, DOMAIN_AUGMENT, i)`: results depend only on
//! `(seed, window index)`, never on the thread count.

use rayon::prelude::*;

use super::rng::{SplitMix64, DOMAIN_AUGMENT};
use super::series::{checked_len, first_non_finite, zeroed_vec};
use crate::error::fmt_shape;
use crate::{Error, Result};

const OPEN: usize = 0;
const HIGH: usize = 1;
const LOW: usize = 2;
const CLOSE: usize = 3;
const VOLUME: usize = 4;
/// Knots of the time-warp speed curve, at evenly spaced positions including both ends.
const WARP_KNOTS: usize = 5;

/// Parameters of [`augment`]; the defaults are those of the Python API and the recipe's
/// (`neural_trader.recipe`: `TIME_WARP_PROB = 0.5`, `JITTER_PROB = 0.5`, `VOL_SCALE_PROB = 0.3`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AugmentConfig {
    /// Probability of warping a window's time axis, in `[0, 1]`.
    pub time_warp_prob: f64,
    /// Largest relative change of the local speed of time, in `[0, 1)`.
    pub time_warp_max: f64,
    /// Probability of adding Gaussian jitter, in `[0, 1]`.
    pub jitter_prob: f64,
    /// Noise standard deviation as a fraction of each feature's standard deviation in the window, `>= 0`.
    pub jitter_scale: f64,
    /// Probability of scaling the wicks, in `[0, 1]`.
    pub vol_scale_prob: f64,
    /// Range `(lo, hi)` of the wick scale factor, `0 < lo <= hi`.
    pub vol_scale_range: (f64, f64),
}

impl Default for AugmentConfig {
    fn default() -> Self {
        Self {
            time_warp_prob: 0.5,
            time_warp_max: 0.12,
            jitter_prob: 0.5,
            jitter_scale: 0.05,
            vol_scale_prob: 0.3,
            vol_scale_range: (0.85, 1.15),
        }
    }
}

impl AugmentConfig {
    /// Configuration error naming the first field out of range.
    pub fn validate(&self) -> Result<()> {
        for (name, p) in [
            ("time_warp_prob", self.time_warp_prob),
            ("jitter_prob", self.jitter_prob),
            ("vol_scale_prob", self.vol_scale_prob),
        ] {
            if !(0.0..=1.0).contains(&p) {
                return Err(Error::Config(format!("{name} must be in [0, 1], got {p}")));
            }
        }
        if !(0.0..1.0).contains(&self.time_warp_max) {
            return Err(Error::Config(format!(
                "time_warp_max must be in [0, 1), got {}",
                self.time_warp_max
            )));
        }
        if !(self.jitter_scale.is_finite() && self.jitter_scale >= 0.0) {
            return Err(Error::Config(format!(
                "jitter_scale must be finite and >= 0, got {}",
                self.jitter_scale
            )));
        }
        let (lo, hi) = self.vol_scale_range;
        if !(lo.is_finite() && hi.is_finite() && lo > 0.0 && lo <= hi) {
            return Err(Error::Config(format!(
                "vol_scale_range must satisfy 0 < lo <= hi (finite), got ({lo}, {hi})"
            )));
        }
        Ok(())
    }
}

/// Checks an `(N, W, F)` window buffer: `F` is 4 or 5, the element count matches, and every value is
/// finite (data error naming the first bad window, step and column).
fn check_windows(windows: &[f32], shape: [usize; 3]) -> Result<()> {
    let [_, _, f] = shape;
    let expected = "(N, W, 4) or (N, W, 5): open, high, low, close[, volume]";
    if f != 4 && f != 5 {
        return Err(Error::shape("windows", expected, fmt_shape(&shape)));
    }
    if checked_len(&shape, "windows")? != windows.len() {
        return Err(Error::shape(
            "windows",
            format!("{} elements for shape {}", windows.len(), fmt_shape(&shape)),
            fmt_shape(&shape),
        ));
    }
    if let Some(i) = first_non_finite(windows) {
        let w = shape[1];
        return Err(Error::Data(format!(
            "windows have a non-finite value ({}) at window {}, step {}, column {}",
            windows[i],
            i / (w * f),
            (i / f) % w,
            i % f
        )));
    }
    Ok(())
}

/// Augments every window once: a C-ordered `(N, W, F)` buffer of the same shape. See the module
/// documentation for what each step does.
///
/// Errors: a shape error unless `F` is 4 or 5 and `windows.len()` matches `shape`; a configuration error
/// from [`AugmentConfig::validate`]; a data error naming the first NaN/Inf.
pub fn augment(
    windows: &[f32],
    shape: [usize; 3],
    cfg: &AugmentConfig,
    seed: u64,
) -> Result<Vec<f32>> {
    cfg.validate()?;
    check_windows(windows, shape)?;
    let mut out: Vec<f32> = zeroed_vec(windows.len(), "augmented windows")?;
    fill_augmented(windows, shape, &mut out, cfg, seed);
    Ok(out)
}

/// The originals followed by `num_augmentations` augmented copies: `((1 + k) * N, W, F)`. Output window
/// `N * (j + 1) + i` is an augmentation of window `i` drawn from stream `N * j + i`, so the first copy is
/// exactly [`augment`] with the same seed, and different copies (and seeds) are independent. The
/// originals are copied verbatim, not repaired.
///
/// Errors: those of [`augment`], and a configuration error if the output size overflows.
pub fn augment_dataset(
    windows: &[f32],
    shape: [usize; 3],
    num_augmentations: usize,
    cfg: &AugmentConfig,
    seed: u64,
) -> Result<(Vec<f32>, [usize; 3])> {
    cfg.validate()?;
    check_windows(windows, shape)?;
    let copies = num_augmentations
        .checked_add(1)
        .and_then(|c| c.checked_mul(shape[0]))
        .ok_or_else(|| Error::Config("num_augmentations * N overflows".into()))?;
    let out_shape = [copies, shape[1], shape[2]];
    let mut out: Vec<f32> = zeroed_vec(
        checked_len(&out_shape, "augmented dataset")?,
        "augmented dataset",
    )?;
    let (originals, augmented) = out.split_at_mut(windows.len());
    originals.copy_from_slice(windows);
    fill_augmented(windows, shape, augmented, cfg, seed);
    Ok((out, out_shape))
}

/// Writes augmentations of `windows` into `out` (a multiple of their size): window `j` of `out` is
/// window `j % N` augmented with stream `j`.
fn fill_augmented(
    windows: &[f32],
    shape: [usize; 3],
    out: &mut [f32],
    cfg: &AugmentConfig,
    seed: u64,
) {
    let [n, w, f] = shape;
    let block = w * f;
    if n == 0 || block == 0 {
        return;
    }
    out.par_chunks_mut(block).enumerate().for_each_init(
        || (Vec::new(), Vec::new()),
        |(buf, tmp), (j, dst)| {
            let i = j % n;
            let src = &windows[i * block..(i + 1) * block];
            let mut rng = SplitMix64::for_stream(seed, DOMAIN_AUGMENT, j as u64);
            buf.clear();
            buf.extend(src.iter().map(|&x| f64::from(x)));
            augment_window(buf, tmp, w, f, cfg, &mut rng);
            for (d, &x) in dst.iter_mut().zip(buf.iter()) {
                // Monotone rounding keeps every inequality between values, so repaired rows stay valid.
                *d = x.clamp(-f64::from(f32::MAX), f64::from(f32::MAX)) as f32;
            }
        },
    );
}

fn augment_window(
    buf: &mut [f64],
    tmp: &mut Vec<f64>,
    w: usize,
    f: usize,
    cfg: &AugmentConfig,
    rng: &mut SplitMix64,
) {
    let warp = rng.next_f64() < cfg.time_warp_prob;
    let jitter = rng.next_f64() < cfg.jitter_prob;
    let vol = rng.next_f64() < cfg.vol_scale_prob;
    repair(buf, f);
    if warp && w >= 2 && cfg.time_warp_max > 0.0 {
        time_warp(buf, tmp, w, f, cfg.time_warp_max, rng);
        repair(buf, f);
    }
    if jitter && cfg.jitter_scale > 0.0 {
        add_jitter(buf, w, f, cfg.jitter_scale, rng);
        repair(buf, f);
    }
    if vol {
        let (lo, hi) = cfg.vol_scale_range;
        scale_wicks(buf, f, rng.uniform(lo, hi));
        repair(buf, f);
    }
}

/// Enforces `high >= max(open, close)`, `low <= min(open, close)` and `volume >= 0` on every row.
fn repair(buf: &mut [f64], f: usize) {
    for row in buf.chunks_exact_mut(f) {
        let (o, c) = (row[OPEN], row[CLOSE]);
        row[HIGH] = row[HIGH].max(o).max(c);
        row[LOW] = row[LOW].min(o).min(c);
        if f > VOLUME {
            row[VOLUME] = row[VOLUME].max(0.0);
        }
    }
}

fn time_warp(
    buf: &mut [f64],
    tmp: &mut Vec<f64>,
    w: usize,
    f: usize,
    max: f64,
    rng: &mut SplitMix64,
) {
    let mut knots = [0.0f64; WARP_KNOTS];
    for k in &mut knots {
        *k = rng.uniform(1.0 - max, 1.0 + max);
    }
    let segments = (WARP_KNOTS - 1) as f64;
    let last = (w - 1) as f64;
    // Speed of time over step t -> t + 1, from the knot curve at the step's midpoint.
    let speed = |t: usize| {
        let x = (t as f64 + 0.5) / last * segments;
        let j = (x.floor() as usize).min(WARP_KNOTS - 2);
        let fr = x - j as f64;
        knots[j] * (1.0 - fr) + knots[j + 1] * fr
    };
    let total: f64 = (0..w - 1).map(speed).sum();
    let scale = last / total;

    tmp.clear();
    tmp.extend_from_slice(buf);
    let mut g = 0.0f64;
    for t in 0..w {
        let pos = (g * scale).clamp(0.0, last);
        let i0 = (pos.floor() as usize).min(w - 2);
        let fr = pos - i0 as f64;
        let (a, b) = (&tmp[i0 * f..(i0 + 1) * f], &tmp[(i0 + 1) * f..(i0 + 2) * f]);
        for ((d, x), y) in buf[t * f..(t + 1) * f].iter_mut().zip(a).zip(b) {
            *d = x * (1.0 - fr) + y * fr;
        }
        if t + 1 < w {
            g += speed(t);
        }
    }
}

fn add_jitter(buf: &mut [f64], w: usize, f: usize, scale: f64, rng: &mut SplitMix64) {
    let n = w as f64;
    for col in 0..f {
        let mean = buf.iter().skip(col).step_by(f).sum::<f64>() / n;
        let var = buf
            .iter()
            .skip(col)
            .step_by(f)
            .map(|x| (x - mean) * (x - mean))
            .sum::<f64>()
            / n;
        let sigma = scale * var.sqrt();
        if sigma > 0.0 && sigma.is_finite() {
            // Box-Muller gives normals in pairs; use both.
            let mut spare: Option<f64> = None;
            for x in buf.iter_mut().skip(col).step_by(f) {
                let z = match spare.take() {
                    Some(z) => z,
                    None => {
                        let (a, b) = rng.normal_pair();
                        spare = Some(b);
                        a
                    }
                };
                *x += sigma * z;
            }
        }
    }
}

fn scale_wicks(buf: &mut [f64], f: usize, s: f64) {
    for row in buf.chunks_exact_mut(f) {
        let top = row[OPEN].max(row[CLOSE]);
        let bottom = row[OPEN].min(row[CLOSE]);
        row[HIGH] = top + s * (row[HIGH] - top);
        row[LOW] = bottom - s * (bottom - row[LOW]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candles(n: usize, w: usize) -> Vec<f32> {
        let mut out = Vec::new();
        let mut price = 100.0f32;
        for t in 0..n * w {
            let step = ((t * 7919) % 13) as f32 - 6.0;
            let open = price;
            price += step * 0.1;
            let close = price;
            out.extend([
                open,
                open.max(close) + 0.3,
                open.min(close) - 0.2,
                close,
                1000.0 + t as f32,
            ]);
        }
        out
    }

    fn valid(rows: &[f32], f: usize) -> bool {
        rows.chunks_exact(f).all(|r| {
            r[HIGH] >= r[OPEN].max(r[CLOSE])
                && r[LOW] <= r[OPEN].min(r[CLOSE])
                && (f == 4 || r[VOLUME] >= 0.0)
        })
    }

    #[test]
    fn every_step_keeps_candles_valid() {
        let x = candles(64, 30);
        let cfg = AugmentConfig {
            time_warp_prob: 1.0,
            jitter_prob: 1.0,
            vol_scale_prob: 1.0,
            jitter_scale: 0.5,
            ..AugmentConfig::default()
        };
        let y = augment(&x, [64, 30, 5], &cfg, 11).unwrap();
        assert_eq!(y.len(), x.len());
        assert!(valid(&y, 5));
        assert_ne!(x, y);
    }

    #[test]
    fn no_steps_is_identity_on_valid_candles() {
        let x = candles(4, 10);
        let cfg = AugmentConfig {
            time_warp_prob: 0.0,
            jitter_prob: 0.0,
            vol_scale_prob: 0.0,
            ..AugmentConfig::default()
        };
        assert_eq!(augment(&x, [4, 10, 5], &cfg, 0).unwrap(), x);
    }

    #[test]
    fn time_warp_fixes_the_ends() {
        let x = candles(8, 20);
        let cfg = AugmentConfig {
            time_warp_prob: 1.0,
            time_warp_max: 0.5,
            jitter_prob: 0.0,
            vol_scale_prob: 0.0,
            ..AugmentConfig::default()
        };
        let y = augment(&x, [8, 20, 5], &cfg, 5).unwrap();
        for (a, b) in x.chunks(100).zip(y.chunks(100)) {
            assert_eq!(a[..5], b[..5]);
            assert!(a[95..]
                .iter()
                .zip(&b[95..])
                .all(|(p, q)| (p - q).abs() <= 1e-3 * p.abs()));
        }
        assert_ne!(x, y);
    }

    #[test]
    fn wick_scaling_keeps_the_body() {
        let x = candles(3, 10);
        let cfg = AugmentConfig {
            time_warp_prob: 0.0,
            jitter_prob: 0.0,
            vol_scale_prob: 1.0,
            vol_scale_range: (2.0, 2.0),
            ..AugmentConfig::default()
        };
        let y = augment(&x, [3, 10, 5], &cfg, 0).unwrap();
        for (a, b) in x.chunks(5).zip(y.chunks(5)) {
            assert_eq!(
                (a[OPEN], a[CLOSE], a[VOLUME]),
                (b[OPEN], b[CLOSE], b[VOLUME])
            );
            let top = a[OPEN].max(a[CLOSE]);
            assert!((b[HIGH] - top - 2.0 * (a[HIGH] - top)).abs() < 1e-3);
        }
    }

    #[test]
    fn bad_inputs() {
        let x = candles(2, 3);
        let cfg = AugmentConfig::default();
        assert!(matches!(
            augment(&x, [2, 3, 6], &cfg, 0),
            Err(Error::Shape { .. })
        ));
        assert!(matches!(
            augment(&x, [3, 3, 5], &cfg, 0),
            Err(Error::Shape { .. })
        ));
        let mut nan = x.clone();
        nan[17] = f32::NAN;
        let msg = augment(&nan, [2, 3, 5], &cfg, 0).unwrap_err().to_string();
        assert!(msg.contains("window 1, step 0, column 2"), "{msg}");
        let bad = AugmentConfig {
            vol_scale_range: (1.2, 1.1),
            ..cfg
        };
        assert!(matches!(
            augment(&x, [2, 3, 5], &bad, 0),
            Err(Error::Config(_))
        ));
        let bad = AugmentConfig {
            time_warp_max: 1.0,
            ..cfg
        };
        assert!(matches!(
            augment(&x, [2, 3, 5], &bad, 0),
            Err(Error::Config(_))
        ));
        let bad = AugmentConfig {
            jitter_prob: f64::NAN,
            ..cfg
        };
        assert!(matches!(
            augment(&x, [2, 3, 5], &bad, 0),
            Err(Error::Config(_))
        ));
    }
}
