//! Regression heads (`num_classes = 0`: one real output, a `(B, 1)` head trained with MSE) of the three
//! direction-family models, against numbers PyTorch computed: the golden files
//! `tests/fixtures/regression_{bilstm_classifier,simple_lstm,enhanced_simple_lstm}.safetensors` are
//! checkpoints the PyTorch twins saved, holding a batch and the twin's outputs in their metadata. They
//! were written by `tests/parity/make_regression_heads_fixture.py` (which needs the Python side of issue
//! 15's regression heads), from this snippet:
//!
//! ```python
//! torch.manual_seed(0)
//! model = nt.SimpleLSTM(nt.SimpleLSTMConfig(input_size=3, hidden_size=5, num_layers=2, num_classes=0,
//!                                           head_hidden=[4])).eval()   # and the two others
//! x = torch.randn(3, 6, 3)
//! out = model(x)                                                        # (3, 1)
//! model.save(path, extra={"golden_x": ..., "golden_dims": ..., "golden_out": ...})
//! ```
//!
//! Both backends are held to them: the CPU kernels and the candle struct that serves on CUDA.

use std::path::PathBuf;

use candle_core::Device;
use nt_core::device::Placement;
use nt_core::{Checkpoint, Engine, Error};

const MODELS: [&str; 3] = ["bilstm_classifier", "simple_lstm", "enhanced_simple_lstm"];

fn path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(format!("tests/fixtures/regression_{name}.safetensors"))
}

fn fixture(name: &str) -> Checkpoint {
    Checkpoint::read(path(name)).unwrap()
}

fn golden<T: serde::de::DeserializeOwned>(ck: &Checkpoint, key: &str) -> T {
    serde_json::from_str(&ck.extra[key]).unwrap()
}

#[test]
fn regression_heads_give_pytorchs_one_output_on_both_backends() {
    for name in MODELS {
        let ck = fixture(name);
        assert_eq!(ck.model, name);
        let config: serde_json::Value = serde_json::from_str(&ck.config).unwrap();
        assert_eq!(config["num_classes"], 0, "{name}");
        let x: Vec<f32> = golden(&ck, "golden_x");
        let dims: Vec<usize> = golden(&ck, "golden_dims");
        let want: Vec<f32> = golden(&ck, "golden_out");
        let engines = [
            Engine::load_on(path(name), &Device::Cpu).unwrap(),
            Engine::load_at(path(name), &Placement::parse("cpu:candle").unwrap()).unwrap(),
        ];
        assert_eq!(
            engines.each_ref().map(|e| e.device()),
            ["cpu", "cpu:candle"]
        );
        for engine in engines {
            let (got, shape) = engine.predict(&x, &dims).unwrap();
            assert_eq!(shape, vec![dims[0], 1], "{name} on {}", engine.device());
            let worst = got
                .iter()
                .zip(&want)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f32::max);
            assert!(
                worst < 1e-5,
                "{name} on {}: max |diff| {worst}",
                engine.device()
            );
            // The config round-trips with its 0, so a file the engine saves keeps the regression head.
            let saved: serde_json::Value =
                serde_json::from_str(&engine.config_json().unwrap()).unwrap();
            assert_eq!(saved, config, "{name}");
        }
    }
}

#[test]
fn one_class_is_refused_and_a_head_of_the_wrong_width_is_named() {
    for name in MODELS {
        let ck = fixture(name);
        let mut config: serde_json::Value = serde_json::from_str(&ck.config).unwrap();
        config["num_classes"] = 1.into();
        let one = Checkpoint {
            config: config.to_string(),
            ..ck.clone()
        };
        match Engine::from_checkpoint(&one) {
            Err(Error::Config(m)) => {
                assert!(m.contains("num_classes") && m.contains("got 1"), "{m}")
            }
            other => panic!("{name}: {other:?}"),
        }
        // Two classes asked of a file with a one-output head: the head's tensors do not fit.
        config["num_classes"] = 2.into();
        let two = Checkpoint {
            config: config.to_string(),
            ..ck
        };
        match Engine::from_checkpoint(&two) {
            Err(Error::Checkpoint(m)) => assert!(m.contains("head"), "{m}"),
            other => panic!("{name}: {other:?}"),
        }
    }
}
