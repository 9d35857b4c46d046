//! LSTM against PyTorch golden numbers, shape properties, and checkpoint round trips.

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use nt_core::checkpoint::Checkpoint;
use nt_core::models::{BiLstmClassifier, BiLstmClassifierConfig};
use nt_core::{Engine, Error, Lstm, LstmCell, LstmConfig, LstmState};
use proptest::prelude::*;

fn linspace(n: usize, scale: f32) -> Vec<f32> {
    (0..n)
        .map(|k| (-0.5 + k as f32 / (n as f32 - 1.0)) * scale)
        .collect()
}

/// Expected values from PyTorch 2.x:
/// ```python
/// cell = torch.nn.LSTMCell(3, 2)
/// with torch.no_grad():
///     for i, p in enumerate(cell.parameters()):   # weight_ih, weight_hh, bias_ih, bias_hh
///         p.copy_(torch.linspace(-0.5, 0.5, p.numel()).reshape(p.shape) * (i + 1))
/// x = torch.tensor([[0.1, -0.2, 0.3]]); h = torch.tensor([[0.05, -0.1]]); c = torch.tensor([[0.2, 0.4]])
/// h1, c1 = cell(x, (h, c))
/// # h1 = [[0.04530005529522896, 0.20775841176509857]], c1 = [[0.04894556850194931, 0.21711449325084686]]
/// ```
#[test]
fn cell_step_matches_pytorch() {
    let dev = Device::Cpu;
    let mut ts = HashMap::new();
    ts.insert(
        "weight_ih_l0".to_string(),
        Tensor::from_vec(linspace(24, 1.0), (8, 3), &dev).unwrap(),
    );
    ts.insert(
        "weight_hh_l0".to_string(),
        Tensor::from_vec(linspace(16, 2.0), (8, 2), &dev).unwrap(),
    );
    ts.insert(
        "bias_ih_l0".to_string(),
        Tensor::from_vec(linspace(8, 3.0), 8, &dev).unwrap(),
    );
    ts.insert(
        "bias_hh_l0".to_string(),
        Tensor::from_vec(linspace(8, 4.0), 8, &dev).unwrap(),
    );
    let vb = VarBuilder::from_tensors(ts, DType::F32, &dev);
    let cell = LstmCell::new(3, 2, 0, "", &vb).unwrap();
    let x = Tensor::new(&[[0.1f32, -0.2, 0.3]], &dev).unwrap();
    let state = LstmState {
        h: Tensor::new(&[[0.05f32, -0.1]], &dev).unwrap(),
        c: Tensor::new(&[[0.2f32, 0.4]], &dev).unwrap(),
    };
    let next = cell.step(&x, &state).unwrap();
    let h: Vec<f32> = next.h.flatten_all().unwrap().to_vec1().unwrap();
    let c: Vec<f32> = next.c.flatten_all().unwrap().to_vec1().unwrap();
    for (got, want) in h.iter().zip([0.045_300_056, 0.207_758_4]) {
        assert!((got - want).abs() < 1e-6, "h {got} vs {want}");
    }
    for (got, want) in c.iter().zip([0.048_945_57, 0.217_114_5]) {
        assert!((got - want).abs() < 1e-6, "c {got} vs {want}");
    }
}

fn random_lstm(cfg: LstmConfig) -> Lstm {
    let varmap = candle_nn::VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
    Lstm::new(cfg, vb).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn output_and_state_shapes_match_torch(
        input in 1usize..6, hidden in 1usize..9, layers in 1usize..4,
        bidirectional: bool, batch in 1usize..5, steps in 1usize..7,
    ) {
        let cfg = LstmConfig { input_size: input, hidden_size: hidden, num_layers: layers, bidirectional };
        let lstm = random_lstm(cfg);
        let x = Tensor::randn(0f32, 1.0, (batch, steps, input), &Device::Cpu).unwrap();
        let (out, state) = lstm.forward(&x, None).unwrap();
        let dirs = if bidirectional { 2 } else { 1 };
        prop_assert_eq!(out.dims(), &[batch, steps, hidden * dirs]);
        prop_assert_eq!(state.h.dims(), &[layers * dirs, batch, hidden]);
        prop_assert_eq!(state.c.dims(), &[layers * dirs, batch, hidden]);
    }
}

#[test]
fn final_states_are_the_ends_of_the_output_sequence() {
    let cfg = LstmConfig {
        input_size: 3,
        hidden_size: 4,
        num_layers: 2,
        bidirectional: true,
    };
    let lstm = random_lstm(cfg);
    let x = Tensor::randn(0f32, 1.0, (2, 5, 3), &Device::Cpu).unwrap();
    let (out, state) = lstm.forward(&x, None).unwrap();
    // Forward direction ends at the last step, backward at the first; top layer is rows 2 and 3.
    let fwd_last = out.narrow(1, 4, 1).unwrap().narrow(2, 0, 4).unwrap();
    let bwd_first = out.narrow(1, 0, 1).unwrap().narrow(2, 4, 4).unwrap();
    let diff = |a: &Tensor, b: &Tensor| -> f32 {
        (a.flatten_all().unwrap() - b.flatten_all().unwrap())
            .unwrap()
            .abs()
            .unwrap()
            .max(0)
            .unwrap()
            .to_scalar()
            .unwrap()
    };
    assert!(diff(&fwd_last, &state.h.get(2).unwrap()) < 1e-7);
    assert!(diff(&bwd_first, &state.h.get(3).unwrap()) < 1e-7);
}

#[test]
fn wrong_input_width_and_state_are_shape_errors() {
    let cfg = LstmConfig {
        input_size: 3,
        hidden_size: 4,
        num_layers: 1,
        bidirectional: false,
    };
    let lstm = random_lstm(cfg);
    let x = Tensor::zeros((2, 5, 4), DType::F32, &Device::Cpu).unwrap();
    let err = lstm.forward(&x, None).unwrap_err();
    assert!(matches!(err, Error::Shape { .. }), "{err}");
    let x = Tensor::zeros((2, 5, 3), DType::F32, &Device::Cpu).unwrap();
    let bad = Tensor::zeros((1, 3, 4), DType::F32, &Device::Cpu).unwrap();
    let state = LstmState {
        h: bad.clone(),
        c: bad,
    };
    let err = lstm.forward(&x, Some(&state)).unwrap_err().to_string();
    assert!(
        err.contains("initial h_0") && err.contains("(1, 2, 4)"),
        "{err}"
    );
}

fn classifier_checkpoint() -> Checkpoint {
    let config = BiLstmClassifierConfig {
        input_size: 4,
        hidden_size: 6,
        num_layers: 2,
        dropout: 0.0,
        bidirectional: true,
        num_classes: 3,
    };
    let varmap = candle_nn::VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
    BiLstmClassifier::new(config.clone(), vb).unwrap();
    let tensors = varmap
        .data()
        .lock()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_tensor().detach()))
        .collect();
    Checkpoint {
        model: "bilstm_classifier".into(),
        config: serde_json::to_string(&config).unwrap(),
        extra: Default::default(),
        tensors,
    }
}

#[test]
fn checkpoint_round_trip_gives_identical_predictions() {
    let ck = classifier_checkpoint();
    let dir = std::env::temp_dir().join(format!("nt-core-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("clf.safetensors");
    ck.write(&path).unwrap();
    let a = Engine::from_checkpoint(&ck).unwrap();
    let b = Engine::load(&path).unwrap();
    let x: Vec<f32> = (0..2 * 7 * 4).map(|k| (k as f32 * 0.37).sin()).collect();
    let (ya, shape) = a.predict(&x, &[2, 7, 4]).unwrap();
    let (yb, _) = b.predict(&x, &[2, 7, 4]).unwrap();
    assert_eq!(shape, vec![2, 3]);
    assert_eq!(ya, yb);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn missing_extra_and_misshapen_tensors_are_named() {
    let mut ck = classifier_checkpoint();
    ck.tensors.remove("head.bias");
    ck.tensors.insert(
        "encoder.lstm.weight_hh_l1".into(),
        Tensor::zeros((24, 5), DType::F32, &Device::Cpu).unwrap(),
    );
    ck.tensors.insert(
        "surprise".into(),
        Tensor::zeros(1, DType::F32, &Device::Cpu).unwrap(),
    );
    let err = Engine::from_checkpoint(&ck).unwrap_err().to_string();
    assert!(
        err.contains("missing tensor `head.bias` (expected shape (3,))"),
        "{err}"
    );
    assert!(
        err.contains("tensor `encoder.lstm.weight_hh_l1` has shape (24, 5), expected (24, 6)"),
        "{err}"
    );
    assert!(err.contains("unexpected tensor `surprise`"), "{err}");
}

#[test]
fn hostile_bytes_are_checkpoint_errors() {
    let good = classifier_checkpoint().to_bytes().unwrap();
    let cases: Vec<Vec<u8>> = vec![vec![], good[..good.len() / 2].to_vec(), vec![0xff; 64], {
        let mut huge = good.clone();
        huge[..8].copy_from_slice(&u64::MAX.to_le_bytes());
        huge
    }];
    for bytes in cases {
        let err = Checkpoint::from_bytes(&bytes).unwrap_err();
        assert!(matches!(err, Error::Checkpoint(_)), "{err}");
    }
}

#[test]
fn unknown_model_and_bad_config_are_reported() {
    let mut ck = classifier_checkpoint();
    ck.model = "transformer".into();
    let err = Engine::from_checkpoint(&ck).unwrap_err().to_string();
    assert!(err.contains("`transformer` is not served"), "{err}");
    let mut ck = classifier_checkpoint();
    ck.config = r#"{"input_size": 4, "num_classes": 1}"#.into();
    let err = Engine::from_checkpoint(&ck).unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err}");
}

/// The CPU LSTM (what the engine serves) against the candle LSTM (training), built from the same
/// tensors: outputs and final states with and without an initial state, uni/bidirectional, 1-3 layers,
/// batch 1 (matrix-vector kernels) and 5 (GEMM kernels); and both read exactly the tensors that
/// `LstmConfig::param_spec` declares.
#[test]
fn cpu_lstm_matches_candle_lstm_from_the_same_tensors() {
    use nt_core::lstm_cpu::CpuLstm;
    for (layers, bidirectional, batch) in [(1, false, 1), (2, true, 1), (3, true, 5), (2, false, 5)]
    {
        let cfg = LstmConfig {
            input_size: 3,
            hidden_size: 7,
            num_layers: layers,
            bidirectional,
        };
        let spec = nt_core::checkpoint::param_spec(|vb| Lstm::new(cfg, vb)).unwrap();
        let mut declared = cfg.param_spec("");
        let mut requested = spec.clone();
        declared.sort();
        requested.sort();
        assert_eq!(declared, requested);
        let varmap = candle_nn::VarMap::new();
        Lstm::new(
            cfg,
            VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu),
        )
        .unwrap();
        let tensors: HashMap<String, Tensor> = varmap
            .data()
            .lock()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_tensor().detach()))
            .collect();
        let candle = Lstm::from_tensors(tensors.clone(), layers, bidirectional).unwrap();
        let cpu = CpuLstm::from_tensors(&tensors, "", cfg).unwrap();
        let steps = 6;
        let x = Tensor::randn(0f32, 1.0, (batch, steps, 3), &Device::Cpu).unwrap();
        let rows = layers * cfg.num_directions();
        let h0 = Tensor::randn(0f32, 0.5, (rows, batch, 7), &Device::Cpu).unwrap();
        let c0 = Tensor::randn(0f32, 0.5, (rows, batch, 7), &Device::Cpu).unwrap();
        let flat = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        for init in [None, Some(LstmState { h: h0, c: c0 })] {
            let (out, state) = candle.forward(&x, init.as_ref()).unwrap();
            let init_flat = init.as_ref().map(|s| (flat(&s.h), flat(&s.c)));
            let refs = init_flat
                .as_ref()
                .map(|(h, c)| (h.as_slice(), c.as_slice()));
            let (cpu_out, cpu_h, cpu_c) = cpu.forward(&flat(&x), batch, steps, refs);
            for (want, got) in [
                (flat(&out), cpu_out),
                (flat(&state.h), cpu_h),
                (flat(&state.c), cpu_c),
            ] {
                assert_eq!(want.len(), got.len());
                let worst = want
                    .iter()
                    .zip(&got)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0, f32::max);
                assert!(
                    worst < 1e-5,
                    "layers={layers} bi={bidirectional} b={batch}: {worst}"
                );
            }
        }
    }
}
