//! Criterion benchmarks of the data kernels, reported as throughput so they compare with memory
//! bandwidth: `cargo bench -p nt-core --bench kernels`.
//!
//! Sizes follow issue 4: windows of 105 steps x 86 features over 100,000 rows. At stride 1 the output
//! would be 100,000 x 105 x 86 x 4 bytes = 3.6 GB, more than a small CI machine should allocate per
//! iteration, so the window benchmarks use stride 10 (9,990 windows, 361 MB of output). A plain
//! single-threaded copy of the same number of bytes into an existing buffer is measured alongside as
//! the physical limit (the kernels also pay for allocating and first-touching their output).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use nt_core::kernels::{
    augment, mask, sliding_windows, zscore_stats, AugmentConfig, MaskConfig, MaskStrategy,
    SeriesView,
};

const ROWS: usize = 100_000;
const FEATURES: usize = 86;
const WINDOW: usize = 105;
const STRIDE: usize = 10;

fn series() -> Vec<f32> {
    (0..ROWS * FEATURES)
        .map(|i| ((i as f32) * 0.001).sin() * 50.0 + 100.0)
        .collect()
}

fn bench_windows(c: &mut Criterion) {
    let data = series();
    let view = SeriesView::new(&data, ROWS, FEATURES).expect("valid shape");
    let z = zscore_stats(view, 0..ROWS).expect("finite series");
    let n = (ROWS - WINDOW) / STRIDE + 1;
    let out_bytes = (n * WINDOW * FEATURES * 4) as u64;

    let mut group = c.benchmark_group("sliding_windows_100k_x86_w105_s10");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(out_bytes));
    group.bench_function("plain", |b| {
        b.iter(|| sliding_windows(black_box(view), WINDOW, STRIDE, None).expect("ok"))
    });
    group.bench_function("zscore", |b| {
        b.iter(|| sliding_windows(black_box(view), WINDOW, STRIDE, Some(&z)).expect("ok"))
    });
    // The physical limit: copying the same number of bytes into an existing buffer (what numpy's
    // `np.copyto` measures in the Python benchmark).
    let len = n * WINDOW * FEATURES;
    let src = vec![1.0f32; len];
    let mut dst = vec![0.0f32; len];
    group.bench_function("memcpy_same_bytes", |b| {
        b.iter(|| {
            dst.copy_from_slice(black_box(&src));
            black_box(&dst);
        })
    });
    group.finish();

    let data64: Vec<f64> = data.iter().map(|&x| f64::from(x)).collect();
    let view64 = SeriesView::new(&data64, ROWS, FEATURES).expect("valid shape");
    let mut group = c.benchmark_group("zscore_stats_100k_x86");
    group.sample_size(10);
    group.throughput(Throughput::Bytes((ROWS * FEATURES * 8) as u64));
    group.bench_function("f64", |b| {
        b.iter(|| zscore_stats(black_box(view64), 0..ROWS).expect("ok"))
    });
    group.finish();
}

fn bench_masks(c: &mut Criterion) {
    let mut group = c.benchmark_group("mask_100k_x105");
    group.sample_size(20);
    group.throughput(Throughput::Elements(100_000));
    for strategy in [
        MaskStrategy::Random,
        MaskStrategy::Block,
        MaskStrategy::Patch,
    ] {
        let cfg = MaskConfig {
            strategy,
            ..MaskConfig::default()
        };
        group.bench_function(strategy.name(), |b| {
            b.iter(|| mask(100_000, 105, black_box(&cfg), 0).expect("ok"))
        });
    }
    group.finish();
}

fn bench_augment(c: &mut Criterion) {
    let (n, w) = (10_000, 105);
    let mut x = Vec::with_capacity(n * w * 5);
    let mut price = 100.0f32;
    for t in 0..n * w {
        let open = price;
        price += ((t * 7919) % 13) as f32 * 0.02 - 0.12;
        x.extend([
            open,
            open.max(price) + 0.3,
            open.min(price) - 0.2,
            price,
            1000.0,
        ]);
    }
    let cfg = AugmentConfig::default();
    let mut group = c.benchmark_group("augment_10k_x105x5");
    group.sample_size(10);
    group.throughput(Throughput::Elements(n as u64));
    group.bench_function("default", |b| {
        b.iter(|| augment(black_box(&x), [n, w, 5], &cfg, 0).expect("ok"))
    });
    group.finish();
}

criterion_group!(benches, bench_windows, bench_masks, bench_augment);
criterion_main!(benches);
