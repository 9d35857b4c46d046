//! Invariants of the kernels that feed training batches: the window gather (shapes, equality with
//! `sliding_windows`, typed errors) and triple-barrier labels (against a naive per-event scan, the
//! span rules), both independent of the thread count.

use nt_core::kernels::{
    gather_windows, gather_windows_new, sliding_windows, triple_barrier, SeriesView, TripleBarrier,
    VerticalLabel, ZScore,
};
use nt_core::Error;
use proptest::prelude::*;

fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("thread pool")
}

/// A random walk of positive closes.
fn closes(rows: usize, seed: u64, step: f64) -> Vec<f64> {
    let mut rng = nt_core::kernels::rng::SplitMix64::new(seed);
    let mut price = 100.0;
    (0..rows)
        .map(|_| {
            price *= (step * (rng.next_f64() - 0.5)).exp();
            price
        })
        .collect()
}

/// The rules of `triple_barrier` for one event, written as plainly as possible.
fn naive_event(close: &[f64], sigma: f64, e: usize, spec: &TripleBarrier) -> (f32, i64, f64) {
    let unknown = (f32::NAN, -1, f64::NAN);
    if sigma.is_nan() || sigma <= 0.0 {
        return unknown;
    }
    let entry = close[e].ln();
    let up = match spec.upper {
        Some(m) if m > 0.0 => entry + m * sigma,
        _ => f64::INFINITY,
    };
    let down = match spec.lower {
        Some(m) if m > 0.0 => entry - m * sigma,
        _ => f64::NEG_INFINITY,
    };
    if up == entry || down == entry {
        return unknown;
    }
    let mut t = e + 1;
    while t < close.len() && t - e <= spec.horizon {
        let x = close[t].ln();
        if x >= up {
            return (1.0, t as i64, x - entry);
        }
        if x <= down {
            return (-1.0, t as i64, x - entry);
        }
        t += 1;
    }
    if close.len() - 1 - e < spec.horizon {
        return unknown;
    }
    let r = close[e + spec.horizon].ln() - entry;
    let label = match spec.vertical {
        VerticalLabel::Zero => 0.0,
        VerticalLabel::Sign => {
            if r > 0.0 {
                1.0
            } else if r < 0.0 {
                -1.0
            } else {
                0.0
            }
        }
    };
    (label, (e + spec.horizon) as i64, r)
}

fn multiplier() -> impl Strategy<Value = Option<f64>> {
    prop_oneof![Just(None), Just(Some(0.0)), (0.1f64..4.0).prop_map(Some)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn gathered_windows_are_the_sliding_windows_at_those_starts(
        rows in 1usize..120, cols in 1usize..6, window_frac in 0.0f64..1.0,
        picks in proptest::collection::vec(0.0f64..1.0, 0..40), zscored: bool, wide: bool,
    ) {
        let window = 1 + ((rows - 1) as f64 * window_frac) as usize;
        let last = rows - window;
        let starts: Vec<i64> = picks.iter().map(|p| (p * (last + 1) as f64) as i64).collect();
        let data64: Vec<f64> = (0..rows * cols).map(|i| (i as f64 * 0.61).cos() * 9.0 + 3.0).collect();
        let data32: Vec<f32> = data64.iter().map(|&v| v as f32).collect();
        let z = ZScore::new(vec![2.5; cols], vec![3.25; cols]).unwrap();
        let z = zscored.then_some(&z);
        let block = window * cols;
        let (got, all) = if wide {
            let view = SeriesView::new(&data64, rows, cols).unwrap();
            (gather_windows_new(view, &starts, window, z).unwrap(), sliding_windows(view, window, 1, z).unwrap())
        } else {
            let view = SeriesView::new(&data32, rows, cols).unwrap();
            (gather_windows_new(view, &starts, window, z).unwrap(), sliding_windows(view, window, 1, z).unwrap())
        };
        prop_assert_eq!(got.1, [starts.len(), window, cols]);
        prop_assert_eq!(got.0.len(), starts.len() * block);
        for (b, &s) in starts.iter().enumerate() {
            let s = s as usize;
            prop_assert_eq!(&got.0[b * block..(b + 1) * block], &all.0[s * block..(s + 1) * block]);
        }
    }

    #[test]
    fn gather_refuses_bad_starts_and_buffers_without_panicking(
        rows in 1usize..40, window in 0usize..50, start in -5i64..60, extra in 0usize..3,
    ) {
        let data = vec![1.0f32; rows * 2];
        let view = SeriesView::new(&data, rows, 2).unwrap();
        let mut out = vec![0.0f32; 2 * window * 2 + extra];
        let result = gather_windows(view, &[0, start], window, None, &mut out);
        let fits = window >= 1 && window <= rows && start >= 0 && start as usize + window <= rows;
        prop_assert_eq!(result.is_ok(), fits && extra == 0);
        if let Err(e) = result {
            let typed = matches!(e, Error::Config(_) | Error::Shape { .. } | Error::Data(_));
            prop_assert!(typed, "{}", e);
        }
    }

    #[test]
    fn triple_barrier_matches_the_naive_scan(
        rows in 0usize..300, seed: u64, step in 0.0f64..0.08, horizon in 1usize..40,
        upper in multiplier(), lower in multiplier(), sign: bool, holes in 0usize..5,
    ) {
        let close = closes(rows, seed, step);
        // A rough volatility with some unusable entries (NaN, 0) among them.
        let sigma: Vec<f64> = (0..rows)
            .map(|e| match (e * 7 + holes) % 11 {
                0 if holes > 0 => f64::NAN,
                1 if holes > 2 => 0.0,
                k => step * (0.2 + k as f64 * 0.05),
            })
            .collect();
        let vertical = if sign { VerticalLabel::Sign } else { VerticalLabel::Zero };
        let spec = TripleBarrier { horizon, upper, lower, vertical };
        let out = triple_barrier(&close, &sigma, &spec).unwrap();
        for (e, &s) in sigma.iter().enumerate() {
            let (label, t1, ret) = naive_event(&close, s, e, &spec);
            prop_assert_eq!(out.label[e].to_bits(), label.to_bits(), "label of event {}", e);
            prop_assert_eq!(out.t1[e], t1);
            prop_assert_eq!(out.ret[e].to_bits(), ret.to_bits());
            if t1 >= 0 {
                prop_assert!(t1 as usize > e && t1 as usize <= e + horizon);
            }
        }
    }
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let rows = 50_000;
    let close = closes(rows, 7, 0.03);
    let sigma = vec![0.01; rows];
    let spec = TripleBarrier {
        horizon: 25,
        upper: Some(1.5),
        lower: Some(1.0),
        vertical: VerticalLabel::Sign,
    };
    let series: Vec<f64> = close.iter().flat_map(|&c| [c, c.ln(), 1.0 / c]).collect();
    let view = SeriesView::new(&series, rows, 3).expect("shape");
    let z = ZScore::new(vec![100.0, 4.6, 0.01], vec![5.0, 0.05, 0.001]).expect("z");
    let starts: Vec<i64> = (0..2_000)
        .map(|i| (i * 7_919 % (rows - 64)) as i64)
        .collect();
    let run = |threads: usize| {
        pool(threads).install(|| {
            let labels = triple_barrier(&close, &sigma, &spec).expect("labels");
            let windows = gather_windows_new(view, &starts, 64, Some(&z)).expect("gather");
            (labels, windows)
        })
    };
    let (one, four) = (run(1), run(4));
    assert_eq!(one.0.t1, four.0.t1);
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&one.0.label), bits(&four.0.label));
    assert_eq!(bits(&one.1 .0), bits(&four.1 .0));
    assert!(one.0.label.iter().filter(|l| **l == 1.0).count() > 1_000);
    assert!(one.0.label.iter().filter(|l| **l == -1.0).count() > 1_000);
}
