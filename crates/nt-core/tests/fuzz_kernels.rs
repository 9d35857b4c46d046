//! Seeded fuzzing of the data kernels with hostile shapes, lengths, parameters and values: every call
//! must return an `Err` or a result of the documented shape (masks with the documented counts, valid
//! candles), never panic. A buffer whose length disagrees with its shape, zero and huge sizes, products
//! that overflow, NaN/Inf in data and parameters are all drawn.
//!
//! `cargo test --release -p nt-core --test fuzz_kernels` runs a quick pass (3,000 calls per kernel);
//! `-- --ignored` the long one (`NT_FUZZ_ITERS` per kernel, default 1,000,000).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};

use nt_core::kernels::{
    augment, augment_dataset, mask, sliding_windows, zscore_stats, AugmentConfig, MaskConfig,
    MaskStrategy, SeriesView, ZScore,
};

/// Calls that returned `Ok` (checked against the documented shape): the accept paths must be reached.
static ACCEPTED: AtomicUsize = AtomicUsize::new(0);

fn accepted() {
    ACCEPTED.fetch_add(1, Ordering::Relaxed);
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
    /// Mostly small sizes, sometimes zero, sometimes enormous. Enormous means at least 2**61, so any
    /// product with another size >= 1 is past what the kernels address (an `Err`, deterministically):
    /// sizes of a few GB would be legitimate requests that really allocate, on a shared machine.
    fn size(&mut self, small: usize) -> usize {
        match self.below(20) {
            0 => 0,
            1 => usize::MAX,
            2 => 1 << (61 + self.below(3)),
            3 => isize::MAX as usize / 4 + self.below(3),
            _ => self.below(small + 1),
        }
    }
    fn real(&mut self) -> f64 {
        match self.below(12) {
            0 => f64::NAN,
            1 => f64::INFINITY,
            2 => f64::NEG_INFINITY,
            3 => -1.0,
            4 => 1e308,
            5 => 0.0,
            6 => 1.0,
            _ => (self.next() % 10_000) as f64 / 5_000.0,
        }
    }
    /// A probability-like parameter: in `[0, 1]` mostly, hostile (NaN, Inf, negative, huge) sometimes.
    fn prob(&mut self) -> f64 {
        if self.below(8) == 0 {
            self.real()
        } else {
            (self.next() % 1001) as f64 / 1000.0
        }
    }
    fn value(&mut self) -> f32 {
        match self.below(2000) {
            0 => f32::NAN,
            1 => f32::INFINITY,
            2 => f32::MAX,
            3 => -f32::MAX,
            4 => f32::MIN_POSITIVE,
            _ => 100.0 + (self.next() % 1000) as f32 / 100.0,
        }
    }
    /// A buffer whose length usually matches `n` (capped), sometimes not.
    fn buffer(&mut self, n: usize) -> Vec<f32> {
        let len = match self.below(10) {
            0 => self.below(64),
            _ => n.min(4096),
        };
        (0..len).map(|_| self.value()).collect()
    }
}

fn iterations(quick: usize) -> usize {
    std::env::var("NT_FUZZ_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(quick)
}

fn check_windows(rng: &mut Rng) -> Result<(), String> {
    let (rows, cols) = (rng.size(40), rng.size(6));
    let data = rng.buffer(rows.saturating_mul(cols));
    let (window, stride) = (rng.size(12), rng.size(5));
    let zs = if rng.below(3) == 0 {
        let n = if rng.below(5) == 0 {
            rng.below(8)
        } else {
            cols.min(64)
        };
        let mean: Vec<f64> = (0..n).map(|_| rng.real()).collect();
        let std: Vec<f64> = (0..n).map(|_| rng.real()).collect();
        ZScore::new(mean, std).ok()
    } else {
        None
    };
    let Ok(view) = SeriesView::new(&data, rows, cols) else {
        return Ok(());
    };
    if let Ok((out, shape)) = sliding_windows(view, window, stride, zs.as_ref()) {
        accepted();
        let expected = [(rows - window) / stride + 1, window, cols];
        if shape != expected || out.len() != shape.iter().product::<usize>() {
            return Err(format!("windows: shape {shape:?}, expected {expected:?}"));
        }
    }
    let (start, stop) = (rng.size(40), rng.size(40));
    if let Ok(z) = zscore_stats(view, start..stop) {
        accepted();
        if z.len() != cols || z.std().iter().any(|s| !(s.is_finite() && *s > 0.0)) {
            return Err(format!("zscore_stats: {z:?}"));
        }
    }
    Ok(())
}

fn check_mask(rng: &mut Rng) -> Result<(), String> {
    let (n, length) = (rng.size(12), rng.size(50));
    let strategy = [
        MaskStrategy::Random,
        MaskStrategy::Block,
        MaskStrategy::Patch,
    ][rng.below(3)];
    let cfg = MaskConfig {
        ratio: rng.prob(),
        strategy,
        patch_size: rng.size(9),
    };
    let seed = rng.next();
    if let Ok(out) = mask(n, length, &cfg, seed) {
        accepted();
        if out.len() != n * length {
            return Err(format!("mask: {} values for {n} x {length}", out.len()));
        }
        if matches!(strategy, MaskStrategy::Random | MaskStrategy::Block) && length > 0 {
            let k = (cfg.ratio * length as f64 + 0.5).floor() as usize;
            if let Some(row) = out
                .chunks(length)
                .find(|r| r.iter().filter(|&&m| m).count() != k)
            {
                return Err(format!(
                    "mask: a row has {} masked, expected {k}",
                    row.iter().filter(|&&m| m).count()
                ));
            }
        }
    }
    Ok(())
}

fn check_augment(rng: &mut Rng) -> Result<(), String> {
    let shape = [rng.size(4), rng.size(10), [3, 4, 5, 6][rng.below(4)]];
    let data = rng.buffer(shape.iter().fold(1usize, |a, &d| a.saturating_mul(d)));
    let lo = rng.prob() + 0.01;
    let cfg = AugmentConfig {
        time_warp_prob: rng.prob(),
        time_warp_max: rng.prob() / 2.0,
        jitter_prob: rng.prob(),
        jitter_scale: rng.prob(),
        vol_scale_prob: rng.prob(),
        vol_scale_range: (lo, lo + rng.prob()),
    };
    let seed = rng.next();
    if let Ok(out) = augment(&data, shape, &cfg, seed) {
        accepted();
        check_candles(&out, shape[2])?;
    }
    let k = rng.size(3);
    if let Ok((out, out_shape)) = augment_dataset(&data, shape, k, &cfg, seed) {
        accepted();
        if out_shape[0] != (k + 1) * shape[0] || out.len() != out_shape.iter().product::<usize>() {
            return Err(format!(
                "augment_dataset: shape {out_shape:?} for k = {k}, {shape:?}"
            ));
        }
        check_candles(&out[data.len()..], shape[2])?;
    }
    Ok(())
}

fn check_candles(out: &[f32], f: usize) -> Result<(), String> {
    for c in out.chunks(f) {
        let (o, h, l, cl) = (c[0], c[1], c[2], c[3]);
        let ok = c.iter().all(|v| v.is_finite())
            && h >= o.max(cl)
            && l <= o.min(cl)
            && (f < 5 || c[4] >= 0.0);
        if !ok {
            return Err(format!("augment: invalid candle {c:?}"));
        }
    }
    Ok(())
}

fn run(kernel: &str, check: fn(&mut Rng) -> Result<(), String>, n: usize, seed: u64) {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut rng = Rng(seed);
    let mut failures = Vec::new();
    let before = ACCEPTED.load(Ordering::Relaxed);
    for i in 0..n {
        let state = rng.0;
        match catch_unwind(AssertUnwindSafe(|| check(&mut rng))) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => failures.push(format!("{kernel} #{i} (rng state {state:#x}): {e}")),
            Err(_) => failures.push(format!("{kernel} #{i} (rng state {state:#x}): panic")),
        }
        if failures.len() > 20 {
            break;
        }
    }
    std::panic::set_hook(hook);
    let ok = ACCEPTED.load(Ordering::Relaxed) - before;
    println!(
        "{kernel} fuzz: {n} inputs, {ok} results accepted and checked, {} failures",
        failures.len()
    );
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(
        ok > n / 20,
        "only {ok} of {n} inputs reached the kernel's accept path"
    );
}

#[test]
fn fuzz_kernels_quick() {
    run("windows+zscore_stats", check_windows, 3_000, 1);
    run("mask", check_mask, 3_000, 2);
    run("augment+augment_dataset", check_augment, 3_000, 3);
}

#[test]
#[ignore = "long: cargo test --release -p nt-core --test fuzz_kernels -- --ignored"]
fn fuzz_kernels_long() {
    let n = iterations(1_000_000);
    run("windows+zscore_stats", check_windows, n, 11);
    run("mask", check_mask, n, 12);
    run("augment+augment_dataset", check_augment, n, 13);
}
