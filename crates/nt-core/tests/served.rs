//! The table of served models and the CPU backends of the encoder-readout models: every backend built
//! from a checkpoint against the candle struct built from the same checkpoint, every output; the engine's
//! calls that depend on what a model offers (several outputs, attention, embeddings).

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use nt_core::checkpoint::Checkpoint;
use nt_core::models::{
    EnhancedSimpleLstm, EnhancedSimpleLstmConfig, LstmEncoder, LstmEncoderConfig, SimpleLstm,
    SimpleLstmConfig, TrendAttention, TrendAttentionConfig,
};
use nt_core::registry::{served_names, SERVED};
use nt_core::{Engine, Error, ModelConfig};

/// SplitMix64 and a Box-Muller normal: seeded inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn uniform(&mut self) -> f32 {
        ((self.next() >> 40) as f32 + 0.5) / (1u64 << 24) as f32
    }
    fn normal(&mut self) -> f32 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (std::f32::consts::TAU * v).cos()
    }
    fn values(&mut self, n: usize, scale: f32) -> Vec<f32> {
        (0..n).map(|_| self.normal() * scale).collect()
    }
}

/// A checkpoint of `config` with weights drawn from a normal of `scale` (large enough that attention is
/// far from uniform and the heads' ReLUs cut).
fn checkpoint<C: ModelConfig, M>(
    config: &C,
    build: impl Fn(C, VarBuilder<'static>) -> nt_core::Result<M>,
    rng: &mut Rng,
) -> Checkpoint {
    let varmap = VarMap::new();
    build(
        config.clone(),
        VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu),
    )
    .unwrap();
    let tensors: HashMap<String, Tensor> = varmap
        .data()
        .lock()
        .unwrap()
        .iter()
        .map(|(name, var)| {
            let dims = var.as_tensor().dims().to_vec();
            let n = dims.iter().product();
            let t = Tensor::from_vec(rng.values(n, 0.4), dims, &Device::Cpu).unwrap();
            (name.clone(), t)
        })
        .collect();
    Checkpoint {
        model: C::NAME.to_string(),
        config: serde_json::to_string(config).unwrap(),
        extra: Default::default(),
        tensors,
    }
}

/// The candle struct's parameters, read from the checkpoint.
fn var_builder<M>(
    ck: &Checkpoint,
    build: impl FnOnce(VarBuilder<'static>) -> nt_core::Result<M>,
) -> VarBuilder<'static> {
    ck.var_builder(build).unwrap()
}

fn flat(t: &Tensor) -> Vec<f32> {
    t.flatten_all().unwrap().to_vec1().unwrap()
}

fn assert_close(got: &[f32], want: &[f32], case: &str) {
    assert_eq!(got.len(), want.len(), "{case}: lengths");
    let worst = got
        .iter()
        .zip(want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    assert!(worst < 1e-5, "{case}: max |diff| {worst}");
}

/// Runs `check(engine, x, dims, case)` for batches 1 and 5 on 1 and 3 engine threads, and checks that
/// the thread count never changes a bit.
fn for_each_batch(
    ck: &Checkpoint,
    features: usize,
    rng: &mut Rng,
    check: impl Fn(&Engine, &Tensor, &str),
) {
    for batch in [1, 5] {
        let steps = 9;
        let values = rng.values(batch * steps * features, 1.0);
        let x = Tensor::from_vec(values.clone(), (batch, steps, features), &Device::Cpu).unwrap();
        let mut serial = None;
        for threads in [1, 3] {
            let engine = Engine::from_checkpoint(ck)
                .unwrap()
                .with_threads(threads)
                .unwrap();
            check(&engine, &x, &format!("{} b={batch} t={threads}", ck.model));
            let all = engine.predict_outputs(&values, x.dims(), false).unwrap();
            match &serial {
                None => serial = Some(all),
                Some(first) => assert_eq!(first, &all, "{} b={batch}: bits differ", ck.model),
            }
        }
    }
}

#[test]
fn simple_lstm_backend_matches_candle_struct_from_the_same_checkpoint() {
    let mut rng = Rng(1);
    for (layers, head_hidden) in [(1, vec![]), (2, vec![6]), (3, vec![7, 5])] {
        let config = SimpleLstmConfig {
            input_size: 3,
            hidden_size: 8,
            num_layers: layers,
            dropout: 0.1,
            num_classes: 3,
            head_hidden,
        };
        let ck = checkpoint(&config, SimpleLstm::new, &mut rng);
        let model = SimpleLstm::new(
            config.clone(),
            var_builder(&ck, |vb| SimpleLstm::new(config.clone(), vb)),
        )
        .unwrap();
        for_each_batch(&ck, 3, &mut rng, |engine, x, case| {
            let (got, dims) = engine.predict(&flat(x), x.dims()).unwrap();
            assert_eq!(dims, vec![x.dims()[0], 3]);
            assert_close(&got, &flat(&model.forward(x).unwrap()), case);
        });
    }
}

#[test]
fn enhanced_simple_lstm_backend_matches_candle_struct_from_the_same_checkpoint() {
    let mut rng = Rng(2);
    for (layers, heads, head_hidden) in [(1, 1, vec![]), (2, 4, vec![6]), (3, 8, vec![7, 5])] {
        let config = EnhancedSimpleLstmConfig {
            input_size: 3,
            hidden_size: 8,
            num_layers: layers,
            num_heads: heads,
            dropout: 0.1,
            num_classes: 2,
            head_hidden,
        };
        let ck = checkpoint(&config, EnhancedSimpleLstm::new, &mut rng);
        let vb = var_builder(&ck, |vb| EnhancedSimpleLstm::new(config.clone(), vb));
        let model = EnhancedSimpleLstm::new(config.clone(), vb).unwrap();
        for_each_batch(&ck, 3, &mut rng, |engine, x, case| {
            let (logits, weights) = model.forward(x).unwrap();
            let ((got, _), (attention, dims)) =
                engine.predict_with_attention(&flat(x), x.dims()).unwrap();
            assert_eq!(dims, vec![x.dims()[0], x.dims()[1]]);
            assert_close(&got, &flat(&logits), case);
            assert_close(&attention, &flat(&weights), case);
            for row in attention.chunks(x.dims()[1]) {
                assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5, "{case}");
            }
        });
    }
}

#[test]
fn trend_attention_backend_matches_candle_struct_on_every_output() {
    let mut rng = Rng(3);
    for (layers, heads, horizons, head_hidden) in [
        (1, 2, vec![7], vec![]),
        (2, 4, vec![7, 30], vec![6, 4]),
        (3, 1, vec![1, 5, 20], vec![5]),
    ] {
        let config = TrendAttentionConfig {
            input_size: 3,
            hidden_size: 8,
            num_layers: layers,
            num_heads: heads,
            horizons: horizons.clone(),
            head_hidden,
            dropout: 0.0,
        };
        let ck = checkpoint(&config, TrendAttention::new, &mut rng);
        let vb = var_builder(&ck, |vb| TrendAttention::new(config.clone(), vb));
        let model = TrendAttention::new(config.clone(), vb).unwrap();
        for_each_batch(&ck, 3, &mut rng, |engine, x, case| {
            let want = model.forward(x).unwrap();
            let got = engine.predict_outputs(&flat(x), x.dims(), true).unwrap();
            let (b, t) = (x.dims()[0], x.dims()[1]);
            let mut expected = Vec::new();
            for (h, (trend, logits)) in horizons.iter().zip(&want.horizons) {
                expected.push((format!("trend_{h}"), vec![b], flat(trend)));
                expected.push((format!("direction_logits_{h}"), vec![b, 2], flat(logits)));
            }
            expected.push((
                "attention_weights".into(),
                vec![b, t],
                flat(&want.attention),
            ));
            assert_eq!(got.outputs.len(), expected.len(), "{case}");
            for ((name, (values, dims)), (want_name, want_dims, want_values)) in
                got.outputs.iter().zip(&expected)
            {
                assert_eq!((name, dims), (want_name, want_dims), "{case}");
                assert_close(values, want_values, &format!("{case} {name}"));
            }
            let (attention, dims) = got.attention.unwrap();
            assert_eq!(dims, vec![b, t]);
            assert_close(&attention, &flat(&want.attention), case);
            assert!(flat(&want.horizons[0].0).iter().all(|v| v.abs() <= 1.0));
        });
    }
}

#[test]
fn lstm_encoder_backend_matches_candle_struct_outputs_and_embeddings() {
    let mut rng = Rng(4);
    for (layers, bidirectional) in [(1, false), (2, true), (3, true), (2, false)] {
        let config = LstmEncoderConfig {
            input_size: 3,
            hidden_size: 8,
            num_layers: layers,
            bidirectional,
            dropout: 0.0,
        };
        let ck = checkpoint(&config, LstmEncoder::new, &mut rng);
        let vb = var_builder(&ck, |vb| LstmEncoder::new(config.clone(), vb));
        let model = LstmEncoder::new(config.clone(), vb).unwrap();
        let width = 8 * if bidirectional { 2 } else { 1 };
        for_each_batch(&ck, 3, &mut rng, |engine, x, case| {
            let (outputs, dims) = engine.predict(&flat(x), x.dims()).unwrap();
            assert_eq!(dims, vec![x.dims()[0], x.dims()[1], width]);
            assert_close(&outputs, &flat(&model.forward(x).unwrap()), case);
            let (embedding, dims) = engine.embed(&flat(x), x.dims()).unwrap();
            assert_eq!(dims, vec![x.dims()[0], width]);
            assert_close(&embedding, &flat(&model.embed(x).unwrap()), case);
        });
    }
}

#[test]
fn every_row_of_the_table_builds_the_model_it_names() {
    let mut rng = Rng(5);
    let checkpoints = [
        checkpoint(
            &SimpleLstmConfig {
                input_size: 2,
                hidden_size: 4,
                num_layers: 1,
                dropout: 0.0,
                num_classes: 2,
                head_hidden: vec![3],
            },
            SimpleLstm::new,
            &mut rng,
        ),
        checkpoint(
            &LstmEncoderConfig {
                input_size: 2,
                hidden_size: 4,
                num_layers: 1,
                bidirectional: true,
                dropout: 0.0,
            },
            LstmEncoder::new,
            &mut rng,
        ),
    ];
    for ck in &checkpoints {
        let engine = Engine::from_checkpoint(ck).unwrap();
        assert_eq!(engine.model_name(), ck.model);
        assert!(served_names().contains(&engine.model_name()));
        let config: serde_json::Value =
            serde_json::from_str(&engine.config_json().unwrap()).unwrap();
        assert_eq!(
            config,
            serde_json::from_str::<serde_json::Value>(&ck.config).unwrap()
        );
        // Each row refuses the other models' files: a row builds only the model it names.
        for row in SERVED.iter().filter(|row| row.name != ck.model) {
            let other = Checkpoint {
                model: row.name.to_string(),
                ..ck.clone()
            };
            assert!(
                (row.load)(&other, &Device::Cpu).is_err(),
                "{} took {}",
                row.name,
                ck.model
            );
        }
    }
    let names = served_names();
    let mut unique = names.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), names.len());
    for name in [
        "bilstm_classifier",
        "lstm_attention",
        "simple_lstm",
        "enhanced_simple_lstm",
        "trend_attention",
        "lstm_encoder",
    ] {
        assert!(names.contains(&name), "{name}");
    }
}

#[test]
fn calls_a_model_does_not_offer_are_config_errors() {
    let mut rng = Rng(6);
    let trend = checkpoint(
        &TrendAttentionConfig {
            input_size: 2,
            hidden_size: 4,
            num_layers: 1,
            num_heads: 2,
            horizons: vec![3, 5],
            head_hidden: vec![],
            dropout: 0.0,
        },
        TrendAttention::new,
        &mut rng,
    );
    let simple = checkpoint(
        &SimpleLstmConfig {
            input_size: 2,
            hidden_size: 4,
            num_layers: 1,
            dropout: 0.0,
            num_classes: 2,
            head_hidden: vec![],
        },
        SimpleLstm::new,
        &mut rng,
    );
    let x = vec![0.5f32; 2 * 4 * 2];
    let dims = [2, 4, 2];
    let trend = Engine::from_checkpoint(&trend).unwrap();
    let err = trend.predict(&x, &dims).unwrap_err().to_string();
    assert!(
        err.contains("several outputs") && err.contains("trend_3"),
        "{err}"
    );
    let names: Vec<String> = trend.outputs(4).into_iter().map(|o| o.name).collect();
    assert_eq!(
        names,
        [
            "trend_3",
            "direction_logits_3",
            "trend_5",
            "direction_logits_5",
            "attention_weights"
        ]
    );
    let simple = Engine::from_checkpoint(&simple).unwrap();
    for err in [
        simple.embed(&x, &dims).unwrap_err(),
        trend.embed(&x, &dims).unwrap_err(),
        simple.predict_with_attention(&x, &dims).unwrap_err(),
        trend.teacher_forced((&x, &dims), (&x, &dims)).unwrap_err(),
    ] {
        assert!(matches!(err, Error::Config(_)), "{err}");
    }
    // An empty batch is empty outputs of the right shapes, whatever the model.
    let empty = trend.predict_outputs(&[], &[0, 4, 2], true).unwrap();
    assert!(empty
        .outputs
        .iter()
        .all(|(_, (v, d))| v.is_empty() && d[0] == 0));
    assert_eq!(empty.attention.unwrap().1, vec![0, 4]);
}
