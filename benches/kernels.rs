//! Criterion benchmarks of the data kernels, reported as throughput so they compare with memory
//! bandwidth: `cargo bench -p nt-core --bench kernels`.
//!
//! Sizes follow issue 4: windows of 105 steps x 86 features over 100,000 rows. At stride 1 the output
//! would be 100,000 x 105 x 86 x 4 bytes = 3.6 GB, more than a small CI machine should allocate per
//! iteration, so the window benchmarks use stride 10 (9,990 windows, 361 MB of output). A plain
//! single-threaded copy of the same number of bytes into an existing buffer is measured alongside as
//! the physical limit (the kernels also pay for allocating and first-touching their output). The window
//! gather (a training batch of 512 such windows from a 1M-row series, into a reused buffer) and
//! triple-barrier labels (1M closes, horizon 20) are measured the same way.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use nt_core::kernels::{
    augment, gather_windows, mask, sliding_windows, triple_barrier, zscore_stats, AugmentConfig,
    MaskConfig, MaskStrategy, SeriesView, TripleBarrier, VerticalLabel,
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

/// One training batch of 512 windows of 105 x 86 at random starts of a 1M-row float32 series, into a
/// reused buffer (constant-memory training), next to a copy of the same bytes.
fn bench_gather(c: &mut Criterion) {
    let rows = 1_000_000;
    let (batch, window) = (512, WINDOW);
    let data: Vec<f32> = (0..rows * FEATURES)
        .map(|i| ((i % 9_973) as f32) * 0.01 + 100.0)
        .collect();
    let view = SeriesView::new(&data, rows, FEATURES).expect("valid shape");
    let z = zscore_stats(view, 0..rows).expect("finite series");
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let starts: Vec<i64> = (0..batch)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % (rows - window + 1) as u64) as i64
        })
        .collect();
    let len = batch * window * FEATURES;
    let mut out = vec![0.0f32; len];
    let mut group = c.benchmark_group("gather_512x105x86_of_1m");
    group.sample_size(20);
    group.throughput(Throughput::Bytes((len * 4) as u64));
    group.bench_function("plain", |b| {
        b.iter(|| gather_windows(black_box(view), &starts, window, None, &mut out).expect("ok"))
    });
    group.bench_function("zscore", |b| {
        b.iter(|| gather_windows(black_box(view), &starts, window, Some(&z), &mut out).expect("ok"))
    });
    let src = vec![1.0f32; len];
    group.bench_function("memcpy_same_bytes", |b| {
        b.iter(|| {
            out.copy_from_slice(black_box(&src));
            black_box(&out);
        })
    });
    group.finish();
}

/// Triple-barrier labels of 1M closes, horizon 20, barriers at ±2 sigma.
fn bench_triple_barrier(c: &mut Criterion) {
    let rows = 1_000_000;
    let mut price = 100.0f64;
    let close: Vec<f64> = (0..rows)
        .map(|t| {
            price *= 1.0 + ((t * 7_919 % 201) as f64 - 100.0) * 1e-4;
            price
        })
        .collect();
    let sigma = vec![0.006; rows];
    let spec = TripleBarrier {
        horizon: 20,
        upper: Some(2.0),
        lower: Some(2.0),
        vertical: VerticalLabel::Zero,
    };
    let mut group = c.benchmark_group("triple_barrier_1m_h20");
    group.sample_size(10);
    group.throughput(Throughput::Elements(rows as u64));
    group.bench_function("two_sigma", |b| {
        b.iter(|| triple_barrier(black_box(&close), &sigma, &spec).expect("ok"))
    });
    group.finish();
}

criterion_group!(
    benches,
    bench_windows,
    bench_masks,
    bench_augment,
    bench_gather,
    bench_triple_barrier
);
criterion_main!(benches);
