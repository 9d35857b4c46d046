//! Boolean masks over time steps for masked-reconstruction pre-training (`true` = masked).
//!
//! Three strategies, each masking a fixed amount per row so the loss is comparable across batches:
//!
//! * **random**: exactly `k = round(ratio * length)` steps, a uniformly random `k`-subset (Floyd's
//!   sampling algorithm, `k` draws, no scratch memory).
//! * **block**: exactly `k` steps again, but in `m` contiguous runs separated by at least one visible
//!   step, where `m = round(k / patch_size)` clamped to `[1, min(k, length - k + 1)]`; i.e. `patch_size`
//!   acts as the mean run length. The run lengths are a uniformly random composition of `k` into `m`
//!   positive parts and the visible gaps a uniformly random composition of the rest, so runs land
//!   anywhere, including at either end. Contiguous runs force the encoder to reconstruct from context
//!   rather than interpolate between immediate neighbours (as in the span masking of SpanBERT and the
//!   segment masking of Zerveas et al., "A Transformer-based Framework for Multivariate Time Series
//!   Representation Learning", KDD 2021).
//! * **patch**: whole patches of `patch_size` steps on the grid `[j * patch_size, (j + 1) * patch_size)`.
//!   Only complete patches count (`P = length / patch_size`, a trailing partial patch is never masked);
//!   `clamp(round(ratio * P), 1, P)` of them are masked, so at least one patch per row even at ratio 0.
//!
//! `round(x)` is `floor(x + 0.5)` in f64 (halves round up). Row `r` draws from its own generator
//! `SplitMix64::for_stream(seed, DOMAIN_MASK, r)`, so masks depend only on `(seed, row)`, never on the
//! rayon thread count or scheduling.

use std::str::FromStr;

use rayon::prelude::*;

use super::rng::{SplitMix64, DOMAIN_MASK};
use super::series::{checked_len, zeroed_vec};
use crate::{Error, Result};

/// How the masked steps of a row are arranged. See the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaskStrategy {
    /// A uniformly random set of `round(ratio * length)` steps.
    Random,
    /// `round(ratio * length)` steps in contiguous runs of mean length `patch_size`.
    Block,
    /// Whole patches of `patch_size` steps on the patch grid, at least one.
    Patch,
}

impl MaskStrategy {
    /// The name used by the Python API (`"random"`, `"block"`, `"patch"`).
    pub fn name(self) -> &'static str {
        match self {
            MaskStrategy::Random => "random",
            MaskStrategy::Block => "block",
            MaskStrategy::Patch => "patch",
        }
    }
}

impl FromStr for MaskStrategy {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "random" => Ok(MaskStrategy::Random),
            "block" => Ok(MaskStrategy::Block),
            "patch" => Ok(MaskStrategy::Patch),
            other => Err(Error::Config(format!(
                "unknown mask strategy {other:?}: expected \"random\", \"block\" or \"patch\""
            ))),
        }
    }
}

/// Parameters of [`mask`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MaskConfig {
    /// Fraction of steps to mask, in `[0, 1)`.
    pub ratio: f64,
    /// Arrangement of the masked steps.
    pub strategy: MaskStrategy,
    /// Patch length (`patch`, must be in `1..=length`) or mean run length (`block`, must be `>= 1`).
    /// Ignored by `random`.
    pub patch_size: usize,
}

impl Default for MaskConfig {
    fn default() -> Self {
        Self {
            ratio: 0.15,
            strategy: MaskStrategy::Random,
            patch_size: 7,
        }
    }
}

#[inline]
fn round_half_up(x: f64) -> usize {
    // x is finite and in [0, usize::MAX) here; `as` saturates anyway.
    (x + 0.5).floor() as usize
}

/// Number of steps that [`mask`] masks in every row of length `length` (all rows mask the same
/// number). Validates `length` and `cfg` exactly as [`mask`] does.
pub fn masked_steps(length: usize, cfg: &MaskConfig) -> Result<usize> {
    if length == 0 {
        return Err(Error::Config(
            "mask length must be at least 1, got 0".into(),
        ));
    }
    if !(cfg.ratio.is_finite() && (0.0..1.0).contains(&cfg.ratio)) {
        return Err(Error::Config(format!(
            "mask ratio must be in [0, 1), got {}",
            cfg.ratio
        )));
    }
    match cfg.strategy {
        MaskStrategy::Random | MaskStrategy::Block => {
            if cfg.strategy == MaskStrategy::Block && cfg.patch_size == 0 {
                return Err(Error::Config(
                    "patch_size (the mean block length) must be at least 1, got 0".into(),
                ));
            }
            Ok(round_half_up(cfg.ratio * length as f64).min(length))
        }
        MaskStrategy::Patch => {
            if cfg.patch_size == 0 || cfg.patch_size > length {
                return Err(Error::Config(format!(
                    "patch_size must be in 1..={length} (the mask length), got {}",
                    cfg.patch_size
                )));
            }
            let patches = length / cfg.patch_size;
            let chosen = round_half_up(cfg.ratio * patches as f64).clamp(1, patches);
            Ok(chosen * cfg.patch_size)
        }
    }
}

/// `n` masks of `length` steps as a flat C-ordered `(n, length)` buffer (`true` = masked).
///
/// Errors (configuration): `length == 0`, `ratio` outside `[0, 1)` or NaN, `patch_size` out of range for
/// the strategy, or `n * length` too large to address; a data error if the output cannot be allocated.
pub fn mask(n: usize, length: usize, cfg: &MaskConfig, seed: u64) -> Result<Vec<bool>> {
    let k = masked_steps(length, cfg)?;
    let len = checked_len(&[n, length], "mask")?;
    let mut out: Vec<bool> = zeroed_vec(len, "mask")?;
    if len == 0 {
        return Ok(out);
    }
    out.par_chunks_mut(length).enumerate().for_each_init(
        || (Vec::new(), Vec::new(), Vec::new()),
        |(flags, runs, gaps), (row, dst)| {
            let mut rng = SplitMix64::for_stream(seed, DOMAIN_MASK, row as u64);
            match cfg.strategy {
                MaskStrategy::Random => random_row(dst, k, &mut rng),
                MaskStrategy::Block => {
                    block_row(dst, k, cfg.patch_size, &mut rng, flags, runs, gaps)
                }
                MaskStrategy::Patch => patch_row(dst, k / cfg.patch_size, cfg.patch_size, &mut rng),
            }
        },
    );
    Ok(out)
}

/// Floyd's algorithm: marks a uniformly random `k`-subset of `dst`'s positions, using `dst` itself as
/// the membership set.
fn random_row(dst: &mut [bool], k: usize, rng: &mut SplitMix64) {
    let n = dst.len();
    for j in n - k..n {
        let t = rng.below_usize(j + 1);
        let pick = if dst[t] { j } else { t };
        dst[pick] = true;
    }
}

/// Same as [`random_row`] over patches: patch `p` is masked when its first step is.
fn patch_row(dst: &mut [bool], chosen: usize, size: usize, rng: &mut SplitMix64) {
    let patches = dst.len() / size;
    for j in patches - chosen..patches {
        let t = rng.below_usize(j + 1);
        let pick = if dst[t * size] { j } else { t };
        dst[pick * size..(pick + 1) * size].fill(true);
    }
}

/// Sorted uniformly random `k`-subset of `0..n` into `out` (Floyd's algorithm). Small subsets (the
/// usual case: a few runs per row) test membership in `out` itself and sort it; larger ones use a flag
/// buffer of `n` entries and a scan, which stays linear.
fn sorted_subset(
    n: usize,
    k: usize,
    rng: &mut SplitMix64,
    flags: &mut Vec<bool>,
    out: &mut Vec<usize>,
) {
    out.clear();
    if k <= 16 {
        for j in n - k..n {
            let t = rng.below_usize(j + 1);
            let pick = if out.contains(&t) { j } else { t };
            out.push(pick);
        }
        out.sort_unstable();
        return;
    }
    flags.clear();
    flags.resize(n, false);
    for j in n - k..n {
        let t = rng.below_usize(j + 1);
        let pick = if flags[t] { j } else { t };
        flags[pick] = true;
    }
    out.extend(flags.iter().enumerate().filter(|(_, &f)| f).map(|(i, _)| i));
}

/// `k` masked steps in `m` runs: run lengths are a random composition of `k` into `m` positive parts,
/// and the `length - k` visible steps a random composition into `m + 1` gaps whose inner `m - 1` are
/// positive (so runs never touch and there are exactly `m` of them).
fn block_row(
    dst: &mut [bool],
    k: usize,
    mean_len: usize,
    rng: &mut SplitMix64,
    flags: &mut Vec<bool>,
    runs: &mut Vec<usize>,
    gaps: &mut Vec<usize>,
) {
    if k == 0 {
        return;
    }
    let visible = dst.len() - k;
    let m = round_half_up(k as f64 / mean_len as f64).clamp(1, k.min(visible + 1));

    // Run lengths: cut 1..k into m parts at m - 1 distinct cut points.
    sorted_subset(k - 1, m - 1, rng, flags, gaps);
    runs.clear();
    let mut prev = 0;
    for &c in gaps.iter() {
        runs.push(c + 1 - prev);
        prev = c + 1;
    }
    runs.push(k - prev);

    // Gaps: stars and bars. `spare` visible steps go into m + 1 gaps freely, after reserving one
    // visible step for each of the m - 1 inner gaps.
    let spare = visible - (m - 1);
    sorted_subset(spare + m, m, rng, flags, gaps);
    let mut pos = 0;
    let mut prev_bar: Option<usize> = None;
    for (j, (&bar, &run)) in gaps.iter().zip(runs.iter()).enumerate() {
        let free = match prev_bar {
            None => bar,
            Some(p) => bar - p - 1,
        };
        prev_bar = Some(bar);
        pos += free + usize::from(j > 0);
        dst[pos..pos + run].fill(true);
        pos += run;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runs_of(row: &[bool]) -> Vec<usize> {
        let mut runs = Vec::new();
        let mut cur = 0;
        for &b in row {
            if b {
                cur += 1;
            } else if cur > 0 {
                runs.push(cur);
                cur = 0;
            }
        }
        if cur > 0 {
            runs.push(cur);
        }
        runs
    }

    #[test]
    fn random_masks_exact_count() {
        let cfg = MaskConfig::default();
        let m = mask(50, 100, &cfg, 1).unwrap();
        for row in m.chunks(100) {
            assert_eq!(row.iter().filter(|&&b| b).count(), 15);
        }
    }

    #[test]
    fn block_masks_count_in_expected_runs() {
        let cfg = MaskConfig {
            ratio: 0.3,
            strategy: MaskStrategy::Block,
            patch_size: 5,
        };
        let m = mask(200, 60, &cfg, 2).unwrap();
        let mut first_step = 0;
        let mut last_step = 0;
        for row in m.chunks(60) {
            assert_eq!(row.iter().filter(|&&b| b).count(), 18);
            // 18 / 5 -> 4 runs, never touching.
            assert_eq!(runs_of(row).len(), 4, "{row:?}");
            first_step += usize::from(row[0]);
            last_step += usize::from(row[59]);
        }
        // Runs can start at step 0 and end at the last step.
        assert!(first_step > 0 && last_step > 0);
    }

    #[test]
    fn block_mask_with_few_visible_steps() {
        // k = 9 of 10 with mean run 1: at most 2 runs fit around 1 visible step.
        let cfg = MaskConfig {
            ratio: 0.9,
            strategy: MaskStrategy::Block,
            patch_size: 1,
        };
        let m = mask(100, 10, &cfg, 3).unwrap();
        for row in m.chunks(10) {
            assert_eq!(row.iter().filter(|&&b| b).count(), 9);
            assert!(runs_of(row).len() <= 2);
        }
    }

    #[test]
    fn patch_masks_whole_patches() {
        let cfg = MaskConfig {
            ratio: 0.0,
            strategy: MaskStrategy::Patch,
            patch_size: 4,
        };
        let m = mask(30, 10, &cfg, 4).unwrap();
        for row in m.chunks(10) {
            assert_eq!(
                row.iter().filter(|&&b| b).count(),
                4,
                "one patch at ratio 0"
            );
            assert!(!row[8] && !row[9], "partial trailing patch is never masked");
            for p in 0..2 {
                let patch = &row[p * 4..p * 4 + 4];
                assert!(patch.iter().all(|&b| b) || patch.iter().all(|&b| !b));
            }
        }
    }

    #[test]
    fn invalid_configs() {
        let bad = |ratio, strategy, patch_size, length| {
            let cfg = MaskConfig {
                ratio,
                strategy,
                patch_size,
            };
            matches!(mask(2, length, &cfg, 0), Err(Error::Config(_)))
        };
        assert!(bad(1.0, MaskStrategy::Random, 7, 10));
        assert!(bad(-0.1, MaskStrategy::Random, 7, 10));
        assert!(bad(f64::NAN, MaskStrategy::Random, 7, 10));
        assert!(bad(0.1, MaskStrategy::Patch, 0, 10));
        assert!(bad(0.1, MaskStrategy::Patch, 11, 10));
        assert!(bad(0.1, MaskStrategy::Block, 0, 10));
        assert!(bad(0.1, MaskStrategy::Random, 7, 0));
        assert!(
            !bad(0.1, MaskStrategy::Random, 70, 10),
            "random ignores patch_size"
        );
        assert!("blocks".parse::<MaskStrategy>().is_err());
    }
}
