//! Seeded fuzzing of the checkpoint parser and loader: mutated checkpoint bytes must give an `Err`, or a
//! model that then predicts, never a panic, and never an allocation far beyond the file's size.
//!
//! Inputs are valid checkpoints of every served model, mutated byte-wise (bit flips, overwritten and
//! inserted bytes, truncation, hostile header lengths) and structurally (the header parsed as JSON:
//! shapes, dtypes, offsets and config fields replaced by hostile values, keys removed or added). The RNG
//! is seeded, so a failure reproduces; the failing input is written to `target/fuzz-crashes/`.
//!
//! `cargo test --release -p nt-core --test fuzz_checkpoint` runs a quick pass (4,000 inputs);
//! `-- --ignored` the long one (`NT_FUZZ_ITERS`, default 1,000,000). A global allocator counts the bytes
//! each input makes the loader allocate at peak.

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::{BTreeMap, HashMap};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};

use candle_core::{Device, Tensor};
use nt_core::checkpoint::{param_spec, Checkpoint};
use nt_core::models::{
    BiLstmClassifier, BiLstmClassifierConfig, EnhancedSimpleLstm, EnhancedSimpleLstmConfig,
    LstmAttention, LstmAttentionConfig, LstmEncoder, LstmEncoderConfig, SimpleLstm,
    SimpleLstmConfig, TrendAttention, TrendAttentionConfig,
};
use nt_core::Engine;
use serde_json::{json, Value};

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; the counters are bookkeeping only.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
            let now = CURRENT.fetch_add(new_size, Ordering::Relaxed) + new_size;
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Peak bytes one input may make the loader allocate beyond its own size: the models are a few KB, so
/// anything near this is the loader building what a hostile header or config asks for.
const ALLOC_SLACK: usize = 64 << 20;

/// SplitMix64: small, seeded, good enough to drive mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

fn valid_checkpoint(model: &str, config: Value, seed: u64) -> Vec<u8> {
    let spec = match model {
        "bilstm_classifier" => {
            let cfg: BiLstmClassifierConfig = serde_json::from_value(config.clone()).unwrap();
            param_spec(|vb| BiLstmClassifier::new(cfg, vb)).unwrap()
        }
        "simple_lstm" => {
            let cfg: SimpleLstmConfig = serde_json::from_value(config.clone()).unwrap();
            param_spec(|vb| SimpleLstm::new(cfg, vb)).unwrap()
        }
        "enhanced_simple_lstm" => {
            let cfg: EnhancedSimpleLstmConfig = serde_json::from_value(config.clone()).unwrap();
            param_spec(|vb| EnhancedSimpleLstm::new(cfg, vb)).unwrap()
        }
        "trend_attention" => {
            let cfg: TrendAttentionConfig = serde_json::from_value(config.clone()).unwrap();
            param_spec(|vb| TrendAttention::new(cfg, vb)).unwrap()
        }
        "lstm_encoder" => {
            let cfg: LstmEncoderConfig = serde_json::from_value(config.clone()).unwrap();
            param_spec(|vb| LstmEncoder::new(cfg, vb)).unwrap()
        }
        _ => {
            let cfg: LstmAttentionConfig = serde_json::from_value(config.clone()).unwrap();
            param_spec(|vb| LstmAttention::new(cfg, vb)).unwrap()
        }
    };
    let mut rng = Rng(seed);
    let mut tensors = HashMap::new();
    for (name, shape) in spec {
        let n: usize = shape.iter().product();
        let values: Vec<f32> = (0..n)
            .map(|_| (rng.next() % 2000) as f32 / 1000.0 - 1.0)
            .collect();
        tensors.insert(
            name,
            Tensor::from_vec(values, shape.as_slice(), &Device::Cpu).unwrap(),
        );
    }
    let ck = Checkpoint {
        model: model.to_string(),
        config: config.to_string(),
        extra: BTreeMap::from([("scaler".to_string(), "{}".to_string())]),
        tensors,
    };
    ck.to_bytes().unwrap()
}

fn seeds() -> Vec<Vec<u8>> {
    vec![
        valid_checkpoint(
            "bilstm_classifier",
            json!({"input_size": 3, "hidden_size": 4, "num_layers": 2, "dropout": 0.0,
                   "bidirectional": true, "num_classes": 2}),
            1,
        ),
        valid_checkpoint(
            "bilstm_classifier",
            json!({"input_size": 2, "hidden_size": 3, "num_layers": 1, "dropout": 0.1,
                   "bidirectional": false, "num_classes": 3}),
            2,
        ),
        valid_checkpoint(
            "lstm_attention",
            json!({"input_size": 3, "output_size": 1, "horizon": 2, "hidden_size": 4,
                   "num_encoder_layers": 1, "num_decoder_layers": 1, "num_heads": 2,
                   "bidirectional": true, "dropout": 0.0, "teacher_forcing_ratio": 0.5,
                   "layer_norm": true, "target_indices": [0]}),
            3,
        ),
        valid_checkpoint(
            "simple_lstm",
            json!({"input_size": 3, "hidden_size": 4, "num_layers": 2, "dropout": 0.0,
                   "num_classes": 2, "head_hidden": [3]}),
            4,
        ),
        valid_checkpoint(
            "enhanced_simple_lstm",
            json!({"input_size": 2, "hidden_size": 4, "num_layers": 1, "num_heads": 2,
                   "dropout": 0.0, "num_classes": 3, "head_hidden": []}),
            5,
        ),
        valid_checkpoint(
            "trend_attention",
            json!({"input_size": 2, "hidden_size": 4, "num_layers": 1, "num_heads": 2,
                   "horizons": [2, 5], "head_hidden": [3], "dropout": 0.0}),
            6,
        ),
        valid_checkpoint(
            "lstm_encoder",
            json!({"input_size": 3, "hidden_size": 4, "num_layers": 2, "bidirectional": true,
                   "dropout": 0.0}),
            7,
        ),
    ]
}

fn split(bytes: &[u8]) -> Option<(Value, Vec<u8>)> {
    let n = u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?) as usize;
    let header = serde_json::from_slice(bytes.get(8..8usize.checked_add(n)?)?).ok()?;
    Some((header, bytes[8 + n..].to_vec()))
}

fn join(header: &Value, buffer: &[u8]) -> Vec<u8> {
    let text = header.to_string();
    let mut out = (text.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(buffer);
    out
}

const HOSTILE_NUMBERS: &[i128] = &[
    0,
    1,
    -1,
    2,
    3,
    64,
    65,
    1 << 20,
    (1 << 20) + 1,
    1 << 30,
    1 << 32,
    1 << 40,
    1 << 62,
    u64::MAX as i128,
];

fn hostile_value(rng: &mut Rng) -> Value {
    match rng.below(8) {
        0 => json!(*rng.pick(HOSTILE_NUMBERS) as i64),
        1 => json!(*rng.pick(HOSTILE_NUMBERS) as u64),
        2 => json!(rng.pick(&[0.5, -0.5, 1.0, 1e308, -1e308, 2.5])),
        3 => json!("x"),
        4 => Value::Null,
        5 => json!([rng.pick(HOSTILE_NUMBERS).unsigned_abs() as u64]),
        6 => json!({"a": 1}),
        _ => json!(true),
    }
}

/// A structural mutation of the parsed header (shapes, dtypes, offsets, metadata, config).
fn mutate_header(header: &mut Value, rng: &mut Rng) {
    let Some(obj) = header.as_object_mut() else {
        return;
    };
    let names: Vec<String> = obj.keys().cloned().collect();
    let name = rng.pick(&names).clone();
    if name == "__metadata__" {
        let Some(meta) = obj.get_mut(&name).and_then(Value::as_object_mut) else {
            return;
        };
        let keys: Vec<String> = meta.keys().cloned().collect();
        let key = rng.pick(&keys).clone();
        match rng.below(4) {
            0 => {
                meta.remove(&key);
            }
            1 => {
                meta.insert(key, hostile_value(rng));
            }
            _ => {
                // Mutate one config field (the config is JSON inside a string).
                let Some(text) = meta.get("config").and_then(Value::as_str) else {
                    return;
                };
                let Ok(mut config) = serde_json::from_str::<Value>(text) else {
                    return;
                };
                if let Some(fields) = config.as_object_mut() {
                    let keys: Vec<String> = fields.keys().cloned().collect();
                    let field = rng.pick(&keys).clone();
                    if rng.below(5) == 0 {
                        fields.remove(&field);
                    } else {
                        fields.insert(field, hostile_value(rng));
                    }
                }
                meta.insert("config".into(), Value::String(config.to_string()));
            }
        }
        return;
    }
    let Some(info) = obj.get_mut(&name).and_then(Value::as_object_mut) else {
        return;
    };
    match rng.below(6) {
        0 => {
            let dims = rng.below(4);
            let shape: Vec<Value> = (0..dims)
                .map(|_| json!(rng.pick(HOSTILE_NUMBERS).unsigned_abs() as u64))
                .collect();
            info.insert("shape".into(), Value::Array(shape));
        }
        1 => {
            let dtype = *rng.pick(&["F16", "F64", "I64", "BOOL", "U8", "BF16", "F8_E4M3", "X"]);
            info.insert("dtype".into(), json!(dtype));
        }
        2 => {
            let a = rng.pick(HOSTILE_NUMBERS).unsigned_abs() as u64;
            let b = rng.pick(HOSTILE_NUMBERS).unsigned_abs() as u64;
            info.insert("data_offsets".into(), json!([a, b]));
        }
        3 => {
            obj.remove(&name);
        }
        4 => {
            let renamed = format!("{name}_x");
            if let Some(v) = obj.remove(&name) {
                obj.insert(renamed, v);
            }
        }
        _ => {
            info.insert(
                "shape".into(),
                json!([rng.below(5) as u64, rng.below(5) as u64]),
            );
        }
    }
}

fn mutate(seed_bytes: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut data = seed_bytes.to_vec();
    for _ in 0..1 + rng.below(4) {
        match rng.below(9) {
            0 if !data.is_empty() => {
                let i = rng.below(data.len());
                data[i] ^= 1 << rng.below(8);
            }
            1 if !data.is_empty() => {
                let i = rng.below(data.len());
                data[i] = rng.next() as u8;
            }
            2 => {
                let cut = rng.below(data.len() + 1);
                data.truncate(cut);
            }
            3 => {
                let at = rng.below(data.len() + 1);
                let extra: Vec<u8> = (0..1 + rng.below(32)).map(|_| rng.next() as u8).collect();
                data.splice(at..at, extra);
            }
            4 if data.len() >= 8 => {
                let len = data.len() as u64;
                let n = match rng.below(6) {
                    0 => 0,
                    1 => len,
                    2 => len - 7,
                    3 => u64::MAX,
                    4 => 1 << 50,
                    _ => rng.next(),
                };
                data[..8].copy_from_slice(&n.to_le_bytes());
            }
            _ => {
                if let Some((mut header, buffer)) = split(&data) {
                    mutate_header(&mut header, rng);
                    data = join(&header, &buffer);
                }
            }
        }
    }
    data
}

/// Loads `data`, and predicts with what loads; returns whether it loaded. Panics propagate.
fn exercise(data: &[u8]) -> bool {
    let Ok(ck) = Checkpoint::from_bytes(data) else {
        return false;
    };
    let Ok(engine) = Engine::from_checkpoint(&ck) else {
        return false;
    };
    // A horizon up to MAX_HORIZON (2**20 decoder steps) is valid but makes one predict take seconds:
    // load such files, predict only with modest ones.
    let horizon = serde_json::from_str::<Value>(&ck.config)
        .ok()
        .and_then(|c| c.get("horizon").and_then(Value::as_u64))
        .unwrap_or(0);
    if horizon > 64 {
        return true;
    }
    let f = engine.input_size();
    let x = vec![0.5f32; 2 * 3 * f];
    let _ = engine.predict(&x, &[2, 3, f]);
    let _ = engine.to_checkpoint().and_then(|c| c.to_bytes());
    true
}

fn save_crash(kind: &str, i: usize, data: &[u8]) -> String {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/fuzz-crashes");
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join(format!("checkpoint-{kind}-{i}.safetensors"));
    let _ = std::fs::write(&path, data);
    path.display().to_string()
}

fn run(iterations: usize, seed: u64) {
    // Quiet panics: they are caught and reported with the input.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let corpus = seeds();
    for valid in &corpus {
        assert!(exercise(valid), "a valid seed checkpoint does not load");
    }
    let mut rng = Rng(seed);
    let (mut loaded, mut failures) = (0usize, Vec::new());
    for i in 0..iterations {
        if i > 0 && i % 100_000 == 0 {
            println!(
                "checkpoint fuzz: {i} inputs, {loaded} loaded, {} failures",
                failures.len()
            );
        }
        let pick = rng.below(corpus.len());
        let data = mutate(&corpus[pick], &mut rng);
        let base = CURRENT.load(Ordering::Relaxed);
        PEAK.store(base, Ordering::Relaxed);
        match catch_unwind(AssertUnwindSafe(|| exercise(&data))) {
            Ok(ok) => loaded += ok as usize,
            Err(_) => failures.push(format!("panic: {}", save_crash("panic", i, &data))),
        }
        let grew = PEAK.load(Ordering::Relaxed).saturating_sub(base);
        if grew > ALLOC_SLACK + 16 * data.len() {
            failures.push(format!(
                "allocated {grew} bytes for a {}-byte file: {}",
                data.len(),
                save_crash("alloc", i, &data)
            ));
        }
    }
    std::panic::set_hook(hook);
    println!(
        "checkpoint fuzz: {iterations} inputs, {loaded} loaded and predicted, {} failures",
        failures.len()
    );
    assert!(failures.is_empty(), "{failures:#?}");
    // Some mutations must keep the file loadable, or the loader's accept path was never exercised.
    assert!(loaded > 0);
}

#[test]
fn fuzz_checkpoint_quick() {
    run(4_000, 0x5EED);
}

#[test]
#[ignore = "long: cargo test --release -p nt-core --test fuzz_checkpoint -- --ignored"]
fn fuzz_checkpoint_long() {
    let iterations = std::env::var("NT_FUZZ_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    run(iterations, 0xF022);
}
