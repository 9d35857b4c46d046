//! LSTMAttention in Rust: gradients against PyTorch's (golden fixture), training with candle's AdamW,
//! and the engine's behaviour on this model.

use std::collections::HashMap;
use std::path::PathBuf;

use candle_core::{DType, Device, Tensor};
use candle_nn::optim::{AdamW, Optimizer, ParamsAdamW};
use candle_nn::{VarBuilder, VarMap};
use nt_core::checkpoint::Checkpoint;
use nt_core::models::lstm_attention::{self, LstmAttention, LstmAttentionConfig};
use nt_core::{Engine, Error};

fn fixture() -> Checkpoint {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/lstm_attention_grads.safetensors");
    Checkpoint::read(path).unwrap()
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    assert_eq!(a.dims(), b.dims());
    (a - b)
        .unwrap()
        .abs()
        .unwrap()
        .flatten_all()
        .unwrap()
        .max(0)
        .unwrap()
        .to_scalar::<f32>()
        .unwrap()
}

/// A trainable model on a fresh `VarMap` (candle's initialisation).
fn trainable(config: &LstmAttentionConfig) -> (VarMap, LstmAttention) {
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
    let model = LstmAttention::new(config.clone(), vb).unwrap();
    (varmap, model)
}

fn rebuild(config: &LstmAttentionConfig, varmap: &VarMap) -> LstmAttention {
    let vb = VarBuilder::from_varmap(varmap, DType::F32, &Device::Cpu);
    LstmAttention::new(config.clone(), vb).unwrap()
}

fn mse(pred: &Tensor, y: &Tensor) -> Tensor {
    (pred - y).unwrap().sqr().unwrap().mean_all().unwrap()
}

/// The fixture `tests/fixtures/lstm_attention_grads.safetensors` was written by
/// `tests/parity/make_lstm_attention_fixture.py` (PyTorch 2.x, CPU, float32):
/// ```python
/// torch.manual_seed(0)
/// cfg = nt.LSTMAttentionConfig(
///     input_size=3, output_size=2, horizon=4, hidden_size=8, num_encoder_layers=2,
///     num_decoder_layers=1, num_heads=2, bidirectional=True, dropout=0.0, layer_norm=True,
///     target_indices=[2, 0],
/// )
/// model = nt.LSTMAttention(cfg).eval()
/// x, y = torch.randn(3, 6, 3), torch.randn(3, 4, 2)
/// pred, attention = model(x, y, teacher_forcing_ratio=1.0, return_attention=True)
/// loss = torch.nn.functional.mse_loss(pred, y)
/// loss.backward()
/// ```
/// and stores `param.<name>`, `x`, `y`, `pred`, `attention`, `loss` and `grad.<name>`.
#[test]
fn teacher_forced_outputs_and_gradients_match_pytorch() {
    let ck = fixture();
    let config: LstmAttentionConfig = ck.parse_config().unwrap();
    let (varmap, _) = trainable(&config);
    let mut names: Vec<String> = varmap.data().lock().unwrap().keys().cloned().collect();
    names.sort();
    let mut torch_names: Vec<String> = ck
        .tensors
        .keys()
        .filter_map(|k| k.strip_prefix("param.").map(str::to_string))
        .collect();
    torch_names.sort();
    assert_eq!(
        names, torch_names,
        "parameter names differ from the torch state_dict"
    );
    let mut varmap = varmap;
    for name in &names {
        varmap
            .set_one(name, &ck.tensors[&format!("param.{name}")])
            .unwrap();
    }
    // The layers read their variables at call time, so building after the weights are set or before
    // gives the same model; building after keeps the order of the story.
    let model = rebuild(&config, &varmap);
    let (x, y) = (&ck.tensors["x"], &ck.tensors["y"]);
    let out = model.teacher_forced(x, y).unwrap();
    let pred_diff = max_abs_diff(&out.values, &ck.tensors["pred"]);
    let attn_diff = max_abs_diff(&out.attention, &ck.tensors["attention"]);
    assert!(pred_diff < 1e-5, "pred differs by {pred_diff}");
    assert!(attn_diff < 1e-5, "attention differs by {attn_diff}");

    let loss = mse(&out.values, y);
    let loss_diff = max_abs_diff(&loss.reshape(1).unwrap(), &ck.tensors["loss"]);
    assert!(loss_diff < 1e-5, "loss differs by {loss_diff}");
    let grads = loss.backward().unwrap();
    let vars = varmap.data().lock().unwrap();
    let mut worst = (0.0f32, String::new());
    for name in &names {
        let grad = grads
            .get(vars[name].as_tensor())
            .unwrap_or_else(|| panic!("no gradient for {name}"));
        let diff = max_abs_diff(grad, &ck.tensors[&format!("grad.{name}")]);
        if diff > worst.0 {
            worst = (diff, name.clone());
        }
    }
    eprintln!("max |grad_rust - grad_torch| = {:e} ({})", worst.0, worst.1);
    assert!(
        worst.0 < 1e-4,
        "gradient of {} differs by {}",
        worst.1,
        worst.0
    );
}

/// xorshift64*, so the test needs no RNG crate and is the same everywhere.
struct Rng(u64);

impl Rng {
    fn uniform(&mut self) -> f32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        ((self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 40) as f32) / (1u64 << 24) as f32
    }

    fn normal(&mut self) -> f32 {
        let (u, v) = (self.uniform().max(1e-7), self.uniform());
        (-2.0 * u.ln()).sqrt() * (std::f32::consts::TAU * v).cos()
    }
}

/// Windows of a noisy sine wave (period 16 steps, noise sd 0.05): inputs `(B, T, 1)` and the next
/// `horizon` values `(B, horizon, 1)`.
fn sine_batch(rng: &mut Rng, batch: usize, window: usize, horizon: usize) -> (Tensor, Tensor) {
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    for _ in 0..batch {
        let phase = rng.uniform() * std::f32::consts::TAU;
        for t in 0..window + horizon {
            let value =
                (std::f32::consts::TAU * t as f32 / 16.0 + phase).sin() + 0.05 * rng.normal();
            if t < window {
                xs.push(value);
            } else {
                ys.push(value);
            }
        }
    }
    (
        Tensor::from_vec(xs, (batch, window, 1), &Device::Cpu).unwrap(),
        Tensor::from_vec(ys, (batch, horizon, 1), &Device::Cpu).unwrap(),
    )
}

/// candle's CPU initialisation cannot be seeded: overwrite every variable from `rng`, as torch initialises
/// an LSTM (uniform in `±1 / sqrt(hidden)`), with LayerNorm weights at one, so the test is reproducible.
fn seeded_init(varmap: &mut VarMap, rng: &mut Rng, hidden: usize) {
    let bound = 1.0 / (hidden as f32).sqrt();
    let shapes: Vec<(String, Vec<usize>)> = {
        let vars = varmap.data().lock().unwrap();
        let mut v: Vec<_> = vars
            .iter()
            .map(|(k, t)| (k.clone(), t.dims().to_vec()))
            .collect();
        v.sort();
        v
    };
    for (name, dims) in shapes {
        let n = dims.iter().product();
        let values: Vec<f32> = if name == "output_norm.weight" {
            vec![1.0; n]
        } else {
            (0..n)
                .map(|_| (2.0 * rng.uniform() - 1.0) * bound)
                .collect()
        };
        let t = Tensor::from_vec(values, dims, &Device::Cpu).unwrap();
        varmap.set_one(&name, &t).unwrap();
    }
}

#[test]
fn trains_with_adamw_on_a_noisy_sine_and_serves_the_result() {
    let config = LstmAttentionConfig {
        hidden_size: 16,
        num_encoder_layers: 1,
        num_decoder_layers: 1,
        num_heads: 4,
        dropout: 0.0,
        ..LstmAttentionConfig::new(1, 1, 6)
    };
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (val_x, val_y) = sine_batch(&mut rng, 64, 24, config.horizon);
    let (mut varmap, _) = trainable(&config);
    seeded_init(&mut varmap, &mut rng, config.hidden_size);
    let model = rebuild(&config, &varmap);
    let before = mse(
        &model.teacher_forced(&val_x, &val_y).unwrap().values,
        &val_y,
    )
    .to_scalar::<f32>()
    .unwrap();
    let params = ParamsAdamW {
        lr: 1e-2,
        weight_decay: 0.0,
        ..Default::default()
    };
    let mut opt = AdamW::new(varmap.all_vars(), params).unwrap();
    // Built once: the model holds the Vars themselves, so AdamW's in-place updates reach it.
    let model = rebuild(&config, &varmap);
    for _ in 0..150 {
        let (x, y) = sine_batch(&mut rng, 32, 24, config.horizon);
        let loss = mse(&model.teacher_forced(&x, &y).unwrap().values, &y);
        opt.backward_step(&loss).unwrap();
    }
    let after = mse(
        &model.teacher_forced(&val_x, &val_y).unwrap().values,
        &val_y,
    )
    .to_scalar::<f32>()
    .unwrap();
    eprintln!("validation MSE (teacher-forced): {before:.5} -> {after:.5}");
    assert!(
        after * 10.0 <= before,
        "loss fell from {before} to only {after}"
    );

    // The trained variables make a checkpoint the engine serves with the same forecasts.
    let ck = lstm_attention::to_checkpoint(&config, &varmap).unwrap();
    let engine = Engine::from_checkpoint(&ck).unwrap();
    let want = model.forecast(&val_x).unwrap().values;
    let values = val_x.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    let (got, shape) = engine.predict(&values, val_x.dims()).unwrap();
    assert_eq!(shape, vec![64, config.horizon, 1]);
    let got = Tensor::from_vec(got, shape, &Device::Cpu).unwrap();
    // The engine's encoder runs on the CPU kernels, the trained model on candle ops: same maths,
    // another summation order.
    assert!(max_abs_diff(&got, &want) < 1e-5);
    let vars: usize = varmap.all_vars().iter().map(|v| v.elem_count()).sum();
    assert_eq!(engine.num_parameters(), vars);
}

fn engine_checkpoint() -> Checkpoint {
    let ck = fixture();
    let tensors: HashMap<String, Tensor> = ck
        .tensors
        .iter()
        .filter_map(|(k, v)| k.strip_prefix("param.").map(|n| (n.to_string(), v.clone())))
        .collect();
    Checkpoint { tensors, ..ck }
}

#[test]
fn engine_serves_forecasts_attention_and_saves_itself() {
    let ck = engine_checkpoint();
    let engine = Engine::from_checkpoint(&ck).unwrap();
    assert_eq!(engine.model_name(), "lstm_attention");
    let fx = fixture();
    let x = fx.tensors["x"]
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    let y = fx.tensors["y"]
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    let ((pred, pred_dims), (attn, attn_dims)) = engine
        .teacher_forced((&x, &[3, 6, 3]), (&y, &[3, 4, 2]))
        .unwrap();
    assert_eq!((pred_dims, attn_dims), (vec![3, 4, 2], vec![3, 4, 6]));
    let want = fx.tensors["pred"]
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    let worst = pred
        .iter()
        .zip(&want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    assert!(worst < 1e-5, "{worst}");
    for row in attn.chunks(6) {
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5);
    }
    let ((auto, dims), (_, adims)) = engine.predict_with_attention(&x, &[3, 6, 3]).unwrap();
    assert_eq!((dims, adims), (vec![3, 4, 2], vec![3, 4, 6]));
    // The first step reads the same input either way; later autoregressive steps differ from forced ones.
    for b in 0..3 {
        for o in 0..2 {
            assert!((auto[b * 8 + o] - pred[b * 8 + o]).abs() < 1e-6);
        }
    }
    assert!(auto.iter().zip(&pred).any(|(a, p)| (a - p).abs() > 1e-3));

    let dir = std::env::temp_dir().join(format!("nt-core-lstm-attention-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("m.safetensors");
    engine.save(&path).unwrap();
    let again = Engine::load(&path).unwrap();
    assert_eq!(again.config_json().unwrap(), engine.config_json().unwrap());
    assert_eq!(again.num_parameters(), engine.num_parameters());
    assert_eq!(again.predict(&x, &[3, 6, 3]).unwrap().0, auto);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn engine_rejects_bad_inputs_without_panicking() {
    let engine = Engine::from_checkpoint(&engine_checkpoint()).unwrap();
    let x = vec![0.5f32; 3 * 6 * 3];
    let y = vec![0.5f32; 3 * 4 * 2];
    let shape_errors = [
        engine.teacher_forced((&x, &[3, 6, 3]), (&y, &[3, 8, 1])),
        engine.teacher_forced((&x, &[3, 6, 3]), (&y[..16], &[2, 4, 2])),
        engine.teacher_forced((&x, &[3, 6, 3]), (&y, &[24])),
        engine.teacher_forced((&x, &[18, 3]), (&y, &[3, 4, 2])),
        engine.predict_with_attention(&x, &[3, 3, 6]),
    ];
    for r in shape_errors {
        assert!(matches!(r, Err(Error::Shape { .. })), "{r:?}");
    }
    let mut bad_y = y.clone();
    bad_y[5] = f32::INFINITY;
    let r = engine.teacher_forced((&x, &[3, 6, 3]), (&bad_y, &[3, 4, 2]));
    assert!(matches!(r, Err(Error::Data(_))), "{r:?}");
    // An empty batch is an empty answer, not an error.
    let ((p, pd), (_, ad)) = engine.predict_with_attention(&[], &[0, 6, 3]).unwrap();
    assert!(p.is_empty());
    assert_eq!((pd, ad), (vec![0, 4, 2], vec![0, 4, 6]));
}

#[test]
fn invalid_checkpoint_configs_are_config_errors() {
    let base = engine_checkpoint();
    for patch in [
        r#""num_heads": 3"#,
        r#""horizon": 0"#,
        r#""target_indices": [0, 7]"#,
        r#""target_indices": [1]"#,
        r#""teacher_forcing_ratio": 2.0"#,
    ] {
        let mut cfg: serde_json::Value = serde_json::from_str(&base.config).unwrap();
        let (key, value) = patch.split_once(": ").unwrap();
        cfg[key.trim_matches('"')] = serde_json::from_str(value).unwrap();
        let ck = Checkpoint {
            config: cfg.to_string(),
            ..base.clone()
        };
        let err = Engine::from_checkpoint(&ck).unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{patch}: {err}");
    }
    let mut cfg: serde_json::Value = serde_json::from_str(&base.config).unwrap();
    cfg["attention_heads"] = 2.into();
    let ck = Checkpoint {
        config: cfg.to_string(),
        ..base
    };
    let err = Engine::from_checkpoint(&ck).unwrap_err().to_string();
    assert!(err.contains("attention_heads"), "{err}");
}

/// A classifier checkpoint with candle's initialisation of `config`.
fn classifier_checkpoint(config: &nt_core::models::BiLstmClassifierConfig) -> Checkpoint {
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
    nt_core::models::BiLstmClassifier::new(config.clone(), vb).unwrap();
    let tensors = varmap
        .data()
        .lock()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_tensor().clone()))
        .collect();
    Checkpoint {
        model: "bilstm_classifier".into(),
        config: serde_json::to_string(config).unwrap(),
        extra: Default::default(),
        tensors,
    }
}

#[test]
fn classifier_engine_has_no_attention_or_teacher_forcing() {
    let config = nt_core::models::BiLstmClassifierConfig {
        input_size: 2,
        hidden_size: 4,
        num_layers: 1,
        dropout: 0.0,
        bidirectional: false,
        num_classes: 2,
    };
    let engine = Engine::from_checkpoint(&classifier_checkpoint(&config)).unwrap();
    assert_eq!(
        engine.num_parameters(),
        4 * 4 * (2 + 4) + 2 * 16 + 4 * 2 + 2
    );
    let x = vec![0.0f32; 10];
    let err = engine.predict_with_attention(&x, &[1, 5, 2]).unwrap_err();
    assert!(matches!(err, Error::Config(_)) && err.to_string().contains("bilstm_classifier"));
    let err = engine
        .teacher_forced((&x, &[1, 5, 2]), (&x, &[1, 5, 2]))
        .unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err}");
}

#[test]
fn scheduled_sampling_matches_teacher_forcing_until_the_first_own_prediction() {
    let ck = engine_checkpoint();
    let config: LstmAttentionConfig = ck.parse_config().unwrap();
    let vb = ck
        .var_builder(|vb| LstmAttention::new(config.clone(), vb))
        .unwrap();
    let model = LstmAttention::new(config, vb).unwrap();
    let fx = fixture();
    let (x, y) = (&fx.tensors["x"], &fx.tensors["y"]);
    let forced = model.teacher_forced(x, y).unwrap();
    // Step by step, reading the truth at steps 1 and 2 and its own forecast at step 3.
    let mixed = model.scheduled(x, y, &[true, true, false]).unwrap();
    let head = |t: &Tensor| t.narrow(1, 0, 3).unwrap();
    assert!(max_abs_diff(&head(&mixed.values), &head(&forced.values)) < 1e-6);
    assert!(max_abs_diff(&head(&mixed.attention), &head(&forced.attention)) < 1e-6);
    let last = |t: &Tensor| t.narrow(1, 3, 1).unwrap();
    assert!(max_abs_diff(&last(&mixed.values), &last(&forced.values)) > 1e-4);
    // With no step fed the truth, scheduled sampling is the autoregressive forecast (both candle ops).
    let free = model.scheduled(x, y, &[false; 3]).unwrap();
    assert!(max_abs_diff(&free.values, &model.forecast(x).unwrap().values) < 1e-6);
    let err = model.scheduled(x, y, &[true; 4]).unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err}");
    let err = model
        .teacher_forced(x, &x.narrow(1, 0, 4).unwrap())
        .unwrap_err();
    assert!(matches!(err, Error::Shape { .. }), "{err}");
}

/// The CPU backend the engine serves (packed kernels, batch split across threads) against the candle
/// struct, both built from the same checkpoint: autoregressive and teacher-forced forecasts and
/// attention, over uni/bidirectional encoders, layer norm on/off, 1-2 decoder layers, batch 1 and 7, on
/// 1 and 3 engine threads.
#[test]
fn cpu_backend_matches_candle_struct_from_the_same_checkpoint() {
    let mut rng = Rng(7);
    for (bidirectional, layer_norm, dec_layers) in
        [(true, true, 1), (false, true, 2), (true, false, 2)]
    {
        let config = LstmAttentionConfig {
            hidden_size: 12,
            num_encoder_layers: 2,
            num_decoder_layers: dec_layers,
            num_heads: 3,
            bidirectional,
            layer_norm,
            target_indices: Some(vec![2, 0]),
            ..LstmAttentionConfig::new(3, 2, 5)
        };
        let (varmap, _) = trainable(&config);
        let ck = lstm_attention::to_checkpoint(&config, &varmap).unwrap();
        let vb = ck
            .var_builder(|vb| LstmAttention::new(config.clone(), vb))
            .unwrap();
        let model = LstmAttention::new(config.clone(), vb).unwrap();
        for batch in [1, 7] {
            let x: Vec<f32> = (0..batch * 9 * 3).map(|_| rng.normal()).collect();
            let y: Vec<f32> = (0..batch * 5 * 2).map(|_| rng.normal()).collect();
            let xt = Tensor::from_vec(x.clone(), (batch, 9, 3), &Device::Cpu).unwrap();
            let yt = Tensor::from_vec(y.clone(), (batch, 5, 2), &Device::Cpu).unwrap();
            let own = model.forecast(&xt).unwrap();
            let forced = model.teacher_forced(&xt, &yt).unwrap();
            for threads in [1, 3] {
                let engine = Engine::from_checkpoint(&ck)
                    .unwrap()
                    .with_threads(threads)
                    .unwrap();
                let case = format!(
                    "bi={bidirectional} ln={layer_norm} dec={dec_layers} b={batch} t={threads}"
                );
                let (values, attention) =
                    engine.predict_with_attention(&x, &[batch, 9, 3]).unwrap();
                let values = Tensor::from_vec(values.0, values.1, &Device::Cpu).unwrap();
                let attention = Tensor::from_vec(attention.0, attention.1, &Device::Cpu).unwrap();
                assert!(max_abs_diff(&values, &own.values) < 1e-5, "{case}");
                assert!(max_abs_diff(&attention, &own.attention) < 1e-5, "{case}");
                let (values, attention) = engine
                    .teacher_forced((&x, &[batch, 9, 3]), (&y, &[batch, 5, 2]))
                    .unwrap();
                let values = Tensor::from_vec(values.0, values.1, &Device::Cpu).unwrap();
                let attention = Tensor::from_vec(attention.0, attention.1, &Device::Cpu).unwrap();
                assert!(max_abs_diff(&values, &forced.values) < 1e-5, "{case}");
                assert!(max_abs_diff(&attention, &forced.attention) < 1e-5, "{case}");
            }
        }
    }
}

/// For a given batch size, every engine thread count gives the same bits: batch parts never shrink to
/// the single row that would take the batch-1 kernels. Both served models, batches 1, 2, 3, 5 and 7,
/// threads 1 to 4; forecasts with and without the attention history agree too.
#[test]
fn outputs_are_bit_identical_across_thread_counts() {
    let config = LstmAttentionConfig {
        hidden_size: 8,
        num_heads: 2,
        ..LstmAttentionConfig::new(3, 1, 4)
    };
    let (varmap, _) = trainable(&config);
    let attention_ck = lstm_attention::to_checkpoint(&config, &varmap).unwrap();
    let classifier_ck = classifier_checkpoint(&nt_core::models::BiLstmClassifierConfig {
        input_size: 3,
        hidden_size: 8,
        num_layers: 2,
        dropout: 0.0,
        bidirectional: true,
        num_classes: 3,
    });
    let mut rng = Rng(11);
    for ck in [&attention_ck, &classifier_ck] {
        for batch in [1, 2, 3, 5, 7] {
            let x: Vec<f32> = (0..batch * 6 * 3).map(|_| rng.normal()).collect();
            let dims = [batch, 6, 3];
            let run = |threads: usize| {
                let engine = Engine::from_checkpoint(ck)
                    .unwrap()
                    .with_threads(threads)
                    .unwrap();
                engine.predict(&x, &dims).unwrap().0
            };
            let serial = run(1);
            for threads in 2..=4 {
                assert_eq!(run(threads), serial, "{} b={batch} t={threads}", ck.model);
            }
            if ck.model == "lstm_attention" {
                let engine = Engine::from_checkpoint(ck).unwrap();
                let (with, _) = engine.predict_with_attention(&x, &dims).unwrap();
                assert_eq!(with.0, serial, "b={batch}");
            }
        }
    }
}
