//! Criterion benches of the LSTM building blocks: one cell step and a stacked bidirectional LSTM over
//! a window the size of the BiLSTMClassifier benchmark (105 steps x 4 features, hidden 128, 2 layers).

use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use nt_core::{Lstm, LstmCell, LstmConfig, LstmState};

fn cell_step(c: &mut Criterion) {
    let dev = Device::Cpu;
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &dev);
    let cell = LstmCell::new(128, 128, 0, "", &vb).expect("cell");
    let mut group = c.benchmark_group("lstm_cell_step");
    for batch in [1usize, 256] {
        let x = Tensor::randn(0f32, 1.0, (batch, 128), &dev).expect("x");
        let h = Tensor::zeros((batch, 128), DType::F32, &dev).expect("h");
        let state = LstmState { c: h.clone(), h };
        group.throughput(Throughput::Elements(batch as u64));
        group.bench_with_input(BenchmarkId::from_parameter(batch), &batch, |b, _| {
            b.iter(|| cell.step(&x, &state).expect("step"))
        });
    }
    group.finish();
}

fn stacked_lstm(c: &mut Criterion) {
    let dev = Device::Cpu;
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &dev);
    let cfg = LstmConfig {
        input_size: 4,
        hidden_size: 128,
        num_layers: 2,
        bidirectional: true,
    };
    let lstm = Lstm::new(cfg, vb).expect("lstm");
    let mut group = c.benchmark_group("stacked_bilstm_105x4_h128_l2");
    group.sample_size(10);
    for batch in [1usize, 256] {
        let x = Tensor::randn(0f32, 1.0, (batch, 105, 4), &dev).expect("x");
        group.throughput(Throughput::Elements(batch as u64));
        group.bench_with_input(BenchmarkId::from_parameter(batch), &batch, |b, _| {
            b.iter(|| lstm.forward(&x, None).expect("forward"))
        });
    }
    group.finish();
}

criterion_group!(benches, cell_step, stacked_lstm);
criterion_main!(benches);
