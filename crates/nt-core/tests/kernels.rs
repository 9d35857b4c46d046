//! Invariants of the data kernels: window shapes and contents, mask counts and layout, OHLC validity
//! after augmentation, determinism across thread counts, and errors (never panics) on bad input.

use nt_core::kernels::{
    augment, augment_dataset, mask, masked_steps, num_windows, sliding_windows, zscore_stats,
    AugmentConfig, MaskConfig, MaskStrategy, SeriesView, ZScore,
};
use nt_core::Error;
use proptest::prelude::*;

fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("thread pool")
}

fn runs(row: &[bool]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    for (t, &b) in row.iter().chain(std::iter::once(&false)).enumerate() {
        match (b, start) {
            (true, None) => start = Some(t),
            (false, Some(s)) => {
                out.push((s, t - s));
                start = None;
            }
            _ => {}
        }
    }
    out
}

/// Random OHLCV rows, valid or not (half of them get high/low swapped or negative volume).
fn candles(rows: usize, f: usize, seed: u64) -> Vec<f32> {
    let mut rng = nt_core::kernels::rng::SplitMix64::new(seed);
    let mut out = Vec::with_capacity(rows * f);
    let mut price = 50.0 + 100.0 * rng.next_f64();
    for _ in 0..rows {
        let open = price;
        price *= 1.0 + 0.02 * (rng.next_f64() - 0.5);
        let (hi, lo) = (open.max(price) * 1.01, open.min(price) * 0.99);
        let broken = rng.next_f64() < 0.5;
        let (hi, lo) = if broken { (lo, hi) } else { (hi, lo) };
        let vol = if broken { -5.0 } else { 1e6 * rng.next_f64() };
        out.extend([open, hi, lo, price, vol][..f].iter().map(|&x| x as f32));
    }
    out
}

fn is_valid_ohlc(x: &[f32], f: usize) -> bool {
    x.chunks_exact(f).all(|r| {
        r.iter().all(|v| v.is_finite())
            && r[1] >= r[0].max(r[3])
            && r[2] <= r[0].min(r[3])
            && (f == 4 || r[4] >= 0.0)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn windows_have_the_documented_shape_and_rows(
        rows in 1usize..120, cols in 1usize..7, window_frac in 0.0f64..1.0, stride in 1usize..25,
    ) {
        let window = 1 + ((rows - 1) as f64 * window_frac) as usize;
        let data: Vec<f64> = (0..rows * cols).map(|i| i as f64 * 0.5 - 3.0).collect();
        let view = SeriesView::new(&data, rows, cols).unwrap();
        let (out, shape) = sliding_windows(view, window, stride, None).unwrap();
        let n = (rows - window) / stride + 1;
        prop_assert_eq!(shape, [n, window, cols]);
        prop_assert_eq!(num_windows(rows, window, stride).unwrap(), n);
        prop_assert_eq!(out.len(), n * window * cols);
        for i in 0..n {
            for t in 0..window {
                for f in 0..cols {
                    let want = data[(i * stride + t) * cols + f] as f32;
                    prop_assert_eq!(out[(i * window + t) * cols + f], want);
                }
            }
        }
    }

    #[test]
    fn fused_zscore_equals_normalising_the_windows(
        rows in 2usize..80, cols in 1usize..6, stride in 1usize..5, seed in any::<u64>(),
    ) {
        let mut rng = nt_core::kernels::rng::SplitMix64::new(seed);
        let data: Vec<f32> = (0..rows * cols).map(|_| (rng.normal() * 30.0 + 1000.0) as f32).collect();
        let view = SeriesView::new(&data, rows, cols).unwrap();
        let z = zscore_stats(view, 0..rows / 2 + 1).unwrap();
        let window = rows / 2 + 1;
        let (plain, _) = sliding_windows(view, window, stride, None).unwrap();
        let (fused, _) = sliding_windows(view, window, stride, Some(&z)).unwrap();
        for (k, (&p, &q)) in plain.iter().zip(&fused).enumerate() {
            let f = k % cols;
            let want = (f64::from(p) - z.mean()[f]) / z.std()[f];
            prop_assert!((f64::from(q) - want).abs() <= 1e-6 * want.abs().max(1.0), "{} vs {}", q, want);
        }
    }

    #[test]
    fn zscore_stats_match_a_direct_computation(
        rows in 1usize..60, cols in 1usize..5, seed in any::<u64>(), start_frac in 0.0f64..1.0,
    ) {
        let mut rng = nt_core::kernels::rng::SplitMix64::new(seed);
        let data: Vec<f64> = (0..rows * cols).map(|_| rng.normal() * 5.0 - 2.0).collect();
        let view = SeriesView::new(&data, rows, cols).unwrap();
        let start = ((rows - 1) as f64 * start_frac) as usize;
        let z = zscore_stats(view, start..rows).unwrap();
        let n = (rows - start) as f64;
        for f in 0..cols {
            let col: Vec<f64> = (start..rows).map(|r| data[r * cols + f]).collect();
            let mean = col.iter().sum::<f64>() / n;
            let var = col.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
            prop_assert!((z.mean()[f] - mean).abs() < 1e-9);
            let want_std = if rows - start == 1 { 1.0 } else { var.sqrt() };
            prop_assert!((z.std()[f] - want_std).abs() < 1e-9, "{} vs {}", z.std()[f], want_std);
        }
    }

    #[test]
    fn random_and_block_masks_have_exact_counts(
        n in 0usize..40, length in 1usize..300, ratio in 0.0f64..1.0, mean_run in 1usize..20,
        block in any::<bool>(), seed in any::<u64>(),
    ) {
        let strategy = if block { MaskStrategy::Block } else { MaskStrategy::Random };
        let cfg = MaskConfig { ratio, strategy, patch_size: mean_run };
        let k = ((ratio * length as f64 + 0.5).floor() as usize).min(length);
        prop_assert_eq!(masked_steps(length, &cfg).unwrap(), k);
        let m = mask(n, length, &cfg, seed).unwrap();
        prop_assert_eq!(m.len(), n * length);
        for row in m.chunks(length) {
            prop_assert_eq!(row.iter().filter(|&&b| b).count(), k);
            if block && k > 0 {
                let expected_runs = ((k as f64 / mean_run as f64 + 0.5).floor() as usize)
                    .clamp(1, k.min(length - k + 1));
                prop_assert_eq!(runs(row).len(), expected_runs);
            }
        }
    }

    #[test]
    fn patch_masks_are_whole_patches_on_the_grid(
        n in 1usize..30, length in 1usize..200, ratio in 0.0f64..1.0, size_frac in 0.0f64..1.0,
        seed in any::<u64>(),
    ) {
        let patch = 1 + ((length - 1) as f64 * size_frac) as usize;
        let cfg = MaskConfig { ratio, strategy: MaskStrategy::Patch, patch_size: patch };
        let patches = length / patch;
        let chosen = ((ratio * patches as f64 + 0.5).floor() as usize).clamp(1, patches);
        let m = mask(n, length, &cfg, seed).unwrap();
        for row in m.chunks(length) {
            prop_assert_eq!(row.iter().filter(|&&b| b).count(), chosen * patch);
            for p in 0..patches {
                let cells = &row[p * patch..(p + 1) * patch];
                prop_assert!(cells.iter().all(|&b| b) || cells.iter().all(|&b| !b));
            }
            prop_assert!(row[patches * patch..].iter().all(|&b| !b));
        }
    }

    #[test]
    fn augmented_candles_are_always_valid(
        n in 0usize..12, w in 1usize..40, volume in any::<bool>(), seed in any::<u64>(),
        warp in 0.0f64..0.99, jitter in 0.0f64..2.0, lo in 0.01f64..3.0, span in 0.0f64..3.0,
        p in 0.0f64..=1.0,
    ) {
        let f = if volume { 5 } else { 4 };
        let x = candles(n * w, f, seed);
        let cfg = AugmentConfig {
            time_warp_prob: p,
            time_warp_max: warp,
            jitter_prob: p,
            jitter_scale: jitter,
            vol_scale_prob: p,
            vol_scale_range: (lo, lo + span),
        };
        let y = augment(&x, [n, w, f], &cfg, seed).unwrap();
        prop_assert_eq!(y.len(), x.len());
        prop_assert!(is_valid_ohlc(&y, f));
        let (z, shape) = augment_dataset(&x, [n, w, f], 2, &cfg, seed).unwrap();
        prop_assert_eq!(shape, [3 * n, w, f]);
        prop_assert_eq!(&z[..x.len()], &x[..]);
        prop_assert_eq!(&z[x.len()..2 * x.len()], &y[..]);
        prop_assert!(is_valid_ohlc(&z[x.len()..], f));
    }

    #[test]
    fn garbage_parameters_give_errors_not_panics(
        n in any::<usize>(), length in any::<usize>(), ratio in any::<f64>(), patch in any::<usize>(),
        window in any::<usize>(), stride in any::<usize>(),
    ) {
        // Only calls that must fail validation are run, so nothing large is allocated.
        let cfg = MaskConfig { ratio, strategy: MaskStrategy::Patch, patch_size: patch };
        if masked_steps(length, &cfg).is_err() {
            prop_assert!(matches!(mask(n, length, &cfg, 0), Err(Error::Config(_))));
        }
        if n.checked_mul(length).is_none() {
            prop_assert!(mask(n, length, &cfg, 0).is_err());
        }
        let data = [1.0f32; 12];
        let view = SeriesView::new(&data, 4, 3).unwrap();
        let _ = sliding_windows(view, window, stride, None);
        let _ = sliding_windows(view, window % 6, stride % 6, None);
    }
}

#[test]
fn masks_do_not_depend_on_the_thread_count() {
    for strategy in [
        MaskStrategy::Random,
        MaskStrategy::Block,
        MaskStrategy::Patch,
    ] {
        let cfg = MaskConfig {
            ratio: 0.3,
            strategy,
            patch_size: 5,
        };
        let one = pool(1).install(|| mask(5000, 64, &cfg, 42)).unwrap();
        let four = pool(4).install(|| mask(5000, 64, &cfg, 42)).unwrap();
        let seven = pool(7).install(|| mask(5000, 64, &cfg, 42)).unwrap();
        assert_eq!(one, four, "{strategy:?}");
        assert_eq!(one, seven, "{strategy:?}");
        let other_seed = pool(4).install(|| mask(5000, 64, &cfg, 43)).unwrap();
        assert_ne!(one, other_seed, "{strategy:?}");
        // Row r depends on (seed, r) only: a prefix of the rows is the same mask.
        let fewer = mask(100, 64, &cfg, 42).unwrap();
        assert_eq!(&one[..fewer.len()], &fewer[..]);
    }
}

#[test]
fn augmentation_and_stats_do_not_depend_on_the_thread_count() {
    let (n, w, f) = (3000, 30, 5);
    let x = candles(n * w, f, 9);
    let cfg = AugmentConfig::default();
    let one = pool(1)
        .install(|| augment_dataset(&x, [n, w, f], 3, &cfg, 7))
        .unwrap();
    let many = pool(6)
        .install(|| augment_dataset(&x, [n, w, f], 3, &cfg, 7))
        .unwrap();
    assert_eq!(one, many);
    assert_ne!(one.0, augment_dataset(&x, [n, w, f], 3, &cfg, 8).unwrap().0);

    // More rows than one accumulation block, so the reduction really is split.
    let rows = 50_000;
    let data: Vec<f32> = (0..rows * 3)
        .map(|i| ((i as f32) * 0.37).sin() * 1e3 + 1e4)
        .collect();
    let view = SeriesView::new(&data, rows, 3).unwrap();
    let a = pool(1).install(|| zscore_stats(view, 0..rows)).unwrap();
    let b = pool(5).install(|| zscore_stats(view, 0..rows)).unwrap();
    assert_eq!(a, b);
}

#[test]
fn every_augmentation_step_changes_something() {
    let (n, w, f) = (50, 20, 5);
    let x: Vec<f32> = candles(n * w, f, 3);
    let only = |warp: f64, jitter: f64, vol: f64| AugmentConfig {
        time_warp_prob: warp,
        jitter_prob: jitter,
        vol_scale_prob: vol,
        ..AugmentConfig::default()
    };
    let none = augment(&x, [n, w, f], &only(0.0, 0.0, 0.0), 1).unwrap();
    for cfg in [
        only(1.0, 0.0, 0.0),
        only(0.0, 1.0, 0.0),
        only(0.0, 0.0, 1.0),
    ] {
        let y = augment(&x, [n, w, f], &cfg, 1).unwrap();
        assert_ne!(y, none, "{cfg:?}");
        assert!(is_valid_ohlc(&y, f));
    }
    // With every probability 0 the output is the input, repaired.
    assert!(is_valid_ohlc(&none, f));
}

#[test]
fn constant_columns_get_unit_std() {
    let data = [3.0f64, 1.0, 3.0, 2.0, 3.0, 4.0];
    let view = SeriesView::new(&data, 3, 2).unwrap();
    let z = zscore_stats(view, 0..3).unwrap();
    assert_eq!(z.mean()[0], 3.0);
    assert_eq!(z.std()[0], 1.0);
    let (w, _) = sliding_windows(view, 3, 1, Some(&z)).unwrap();
    assert_eq!([w[0], w[2], w[4]], [0.0, 0.0, 0.0]);
}

#[test]
fn bad_inputs_are_typed_errors() {
    let data = [1.0f32, 2.0, f32::NAN, 4.0, 5.0, 6.0];
    let view = SeriesView::new(&data, 3, 2).unwrap();
    let err = sliding_windows(view, 2, 1, None).unwrap_err();
    assert!(
        matches!(&err, Error::Data(m) if m.contains("row 1, column 0")),
        "{err}"
    );
    assert!(matches!(zscore_stats(view, 0..3), Err(Error::Data(_))));
    assert!(zscore_stats(view, 2..3).is_ok());
    assert!(matches!(
        SeriesView::new(&data, 4, 2),
        Err(Error::Shape { .. })
    ));
    // Trailing rows that no window reaches are not read, so a NaN there is harmless.
    let tail_nan = [1.0f32, 2.0, 3.0, 4.0, f32::NAN, 6.0];
    let view = SeriesView::new(&tail_nan, 3, 2).unwrap();
    assert_eq!(sliding_windows(view, 2, 2, None).unwrap().1, [1, 2, 2]);
    assert!(sliding_windows(view, 2, 1, None).is_err());

    let good = [1.0f32; 6];
    let view = SeriesView::new(&good, 3, 2).unwrap();
    assert!(matches!(
        sliding_windows(view, 4, 1, None),
        Err(Error::Shape { .. })
    ));
    assert!(matches!(
        sliding_windows(view, 0, 1, None),
        Err(Error::Config(_))
    ));
    assert!(matches!(
        sliding_windows(view, 1, 0, None),
        Err(Error::Config(_))
    ));
    assert!(matches!(
        ZScore::new(vec![0.0; 2], vec![1.0, 0.0]),
        Err(Error::Config(_))
    ));
    let z3 = ZScore::new(vec![0.0; 3], vec![1.0; 3]).unwrap();
    assert!(matches!(
        sliding_windows(view, 1, 1, Some(&z3)),
        Err(Error::Shape { .. })
    ));

    assert!(matches!(
        mask(usize::MAX, 2, &MaskConfig::default(), 0),
        Err(Error::Config(_))
    ));
    assert!(matches!(
        "Random".parse::<MaskStrategy>(),
        Err(Error::Config(_))
    ));
    let x = candles(10, 5, 1);
    assert!(matches!(
        augment_dataset(&x, [2, 5, 5], usize::MAX, &AugmentConfig::default(), 0),
        Err(Error::Config(_))
    ));
}
