//! Criterion benches of the engine: one LSTM cell step (candle ops), the stacked bidirectional LSTM on
//! the CPU kernels (105 steps x 4 features, hidden 128, 2 layers, as the BiLSTMClassifier benchmark),
//! and an LSTMAttention forecast on its CPU backend (168 steps x 5 features, hidden 128, horizon 24,
//! 8 heads), each at batch 1 and 256. Weights are random.

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use nt_core::lstm_cpu::CpuLstm;
use nt_core::models::{lstm_attention, LstmAttentionConfig};
use nt_core::{Engine, Lstm, LstmCell, LstmConfig, LstmState};

/// Random inference tensors of whatever `build` asks for (detached, so not trainable).
fn inference_tensors<M>(
    build: impl FnOnce(VarBuilder) -> nt_core::Result<M>,
) -> HashMap<String, Tensor> {
    let varmap = VarMap::new();
    build(VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu)).expect("build");
    let data = varmap.data().lock().expect("varmap");
    data.iter()
        .map(|(k, v)| (k.clone(), v.as_tensor().detach()))
        .collect()
}

fn cell_step(c: &mut Criterion) {
    let dev = Device::Cpu;
    let ts = inference_tensors(|vb| LstmCell::new(128, 128, 0, "", &vb));
    let vb = VarBuilder::from_tensors(ts, DType::F32, &dev);
    let cell = LstmCell::new(128, 128, 0, "", &vb).expect("cell");
    let mut group = c.benchmark_group("lstm_cell_step_candle");
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
    let cfg = LstmConfig {
        input_size: 4,
        hidden_size: 128,
        num_layers: 2,
        bidirectional: true,
    };
    let ts = inference_tensors(|vb| Lstm::new(cfg, vb));
    let lstm = CpuLstm::from_tensors(&ts, "", cfg).expect("lstm");
    let mut group = c.benchmark_group("stacked_bilstm_105x4_h128_l2");
    group.sample_size(10);
    for batch in [1usize, 256] {
        let x: Vec<f32> = (0..batch * 105 * 4)
            .map(|k| (k as f32 * 0.01).sin())
            .collect();
        group.throughput(Throughput::Elements(batch as u64));
        group.bench_with_input(BenchmarkId::from_parameter(batch), &batch, |b, _| {
            b.iter(|| lstm.forward(&x, batch, 105, None))
        });
    }
    group.finish();
}

fn lstm_attention_forecast(c: &mut Criterion) {
    let config = LstmAttentionConfig::new(5, 1, 24);
    let varmap = VarMap::new();
    lstm_attention::LstmAttention::new(
        config.clone(),
        VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu),
    )
    .expect("model");
    let ck = lstm_attention::to_checkpoint(&config, &varmap).expect("checkpoint");
    let engine = Engine::from_checkpoint(&ck).expect("engine");
    let mut group = c.benchmark_group("lstm_attention_forecast_168x5_h128_h24");
    group.sample_size(10);
    for batch in [1usize, 256] {
        let x: Vec<f32> = (0..batch * 168 * 5)
            .map(|k| (k as f32 * 0.01).sin())
            .collect();
        group.throughput(Throughput::Elements(batch as u64));
        group.bench_with_input(BenchmarkId::from_parameter(batch), &batch, |b, _| {
            b.iter(|| engine.predict(&x, &[batch, 168, 5]).expect("forecast"))
        });
    }
    group.finish();
}

criterion_group!(benches, cell_step, stacked_lstm, lstm_attention_forecast);
criterion_main!(benches);
