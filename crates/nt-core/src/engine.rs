//! The native engine: a served model chosen by the `model` name in a checkpoint's metadata.
//!
//! The engine keeps the checkpoint's tensors and extra metadata beside the model it built from them, so it
//! can count its parameters and write itself back to a file ([`Engine::save`]) that either twin loads.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use candle_core::{Device, Tensor};

use crate::checkpoint::Checkpoint;
use crate::error::{fmt_shape, Error, Result};
use crate::input::{check_sequence_batch, FlatArray};
use crate::kernels::series::zeroed_vec;
use crate::models::{
    bilstm_classifier, lstm_attention, BiLstmClassifier, BiLstmClassifierConfig, LstmAttention,
    LstmAttentionConfig,
};

/// A served model, dispatched on the checkpoint's `model` name.
#[derive(Debug, Clone)]
pub enum Model {
    /// See [`BiLstmClassifier`].
    BiLstmClassifier(BiLstmClassifier),
    /// See [`LstmAttention`] (boxed: it is much larger than the classifier).
    LstmAttention(Box<LstmAttention>),
}

/// A loaded model ready for inference, with the tensors and metadata it was loaded from.
///
/// Each engine owns its thread pool (default: one thread per core), so its kernels never compete with
/// PyTorch's pool or with another engine's.
#[derive(Debug, Clone)]
pub struct Engine {
    model: Model,
    tensors: HashMap<String, Tensor>,
    extra: BTreeMap<String, String>,
    pool: Arc<rayon::ThreadPool>,
}

fn thread_pool(threads: usize) -> Result<Arc<rayon::ThreadPool>> {
    if threads == 0 || threads > 1024 {
        return Err(Error::Config(format!(
            "threads must be in 1..=1024, got {threads}"
        )));
    }
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("nt-engine-{i}"))
        .build()
        .map(Arc::new)
        .map_err(|e| Error::Config(format!("cannot start {threads} engine threads: {e}")))
}

/// Threads an engine uses unless told otherwise: one per available core.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Registry names of the models the engine can serve.
pub const SERVED_MODELS: &[&str] = &[bilstm_classifier::NAME, lstm_attention::NAME];

impl Engine {
    /// Loads a checkpoint file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        Self::from_checkpoint(&Checkpoint::read(path)?).map_err(|e| match e {
            Error::Checkpoint(m) => Error::Checkpoint(format!("{}: {m}", path.display())),
            other => other,
        })
    }

    /// Builds the engine from parsed checkpoint contents.
    pub fn from_checkpoint(ck: &Checkpoint) -> Result<Self> {
        let model = match ck.model.as_str() {
            bilstm_classifier::NAME => {
                let config: BiLstmClassifierConfig = ck.parse_config()?;
                config.validate()?;
                let vb = ck.var_builder(|vb| BiLstmClassifier::new(config.clone(), vb))?;
                Model::BiLstmClassifier(BiLstmClassifier::new(config, vb)?)
            }
            lstm_attention::NAME => {
                let config: LstmAttentionConfig = ck.parse_config()?;
                config.validate()?;
                let vb = ck.var_builder(|vb| LstmAttention::new(config.clone(), vb))?;
                Model::LstmAttention(Box::new(LstmAttention::new(config, vb)?))
            }
            other => {
                return Err(Error::Checkpoint(format!(
                    "model `{other}` is not served by the native engine (served: {})",
                    SERVED_MODELS.join(", ")
                )))
            }
        };
        Ok(Self {
            model,
            tensors: ck.tensors.clone(),
            extra: ck.extra.clone(),
            pool: thread_pool(default_threads())?,
        })
    }

    /// The same engine running on `threads` threads of its own.
    pub fn with_threads(mut self, threads: usize) -> Result<Self> {
        self.pool = thread_pool(threads)?;
        Ok(self)
    }

    /// Runs `work` on this engine's threads. A one-thread engine runs it on the calling thread itself:
    /// handing it to a pool thread costs a wake-up and a context switch per call (~10% of a batch-1
    /// classifier call), and outside a pool the CPU kernels run serially anyway.
    fn on_pool<R: Send>(&self, work: impl FnOnce() -> R + Send) -> R {
        // Inside another rayon pool the CPU kernels would take that pool's threads: use our own.
        if self.threads() == 1 && rayon::current_thread_index().is_none() {
            work()
        } else {
            self.pool.install(work)
        }
    }

    /// Threads of this engine's pool.
    pub fn threads(&self) -> usize {
        self.pool.current_num_threads()
    }

    /// The served model.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Registry name of the model.
    pub fn model_name(&self) -> &'static str {
        match &self.model {
            Model::BiLstmClassifier(_) => bilstm_classifier::NAME,
            Model::LstmAttention(_) => lstm_attention::NAME,
        }
    }

    /// The model's config as JSON, field for field the Python dataclass.
    pub fn config_json(&self) -> Result<String> {
        let json = match &self.model {
            Model::BiLstmClassifier(m) => serde_json::to_string(m.config()),
            Model::LstmAttention(m) => serde_json::to_string(m.config()),
        };
        json.map_err(|e| Error::Config(format!("cannot serialise config: {e}")))
    }

    /// Features per time step the model expects.
    pub fn input_size(&self) -> usize {
        match &self.model {
            Model::BiLstmClassifier(m) => m.config().input_size,
            Model::LstmAttention(m) => m.config().input_size,
        }
    }

    /// Number of scalar parameters: the elements of every tensor the model was loaded from (each one
    /// checked against the model's own parameter list at load), as the PyTorch twin's `num_parameters()`.
    pub fn num_parameters(&self) -> usize {
        self.tensors.values().map(|t| t.elem_count()).sum::<usize>()
    }

    /// The checkpoint this engine would save: its model name, config, tensors and extra metadata.
    pub fn to_checkpoint(&self) -> Result<Checkpoint> {
        Ok(Checkpoint {
            model: self.model_name().to_string(),
            config: self.config_json()?,
            extra: self.extra.clone(),
            tensors: self.tensors.clone(),
        })
    }

    /// Writes the model to a checkpoint file, atomically.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        self.to_checkpoint()?.write(path)
    }

    /// Validates a flat `(B, T, F)` batch and runs the model. Returns the output values and shape:
    /// logits `(B, num_classes)` for a classifier, the autoregressive forecast `(B, horizon, output_size)`
    /// for LSTMAttention.
    pub fn predict(&self, values: &[f32], dims: &[usize]) -> Result<(Vec<f32>, Vec<usize>)> {
        self.on_pool(|| self.predict_here(values, dims))
    }

    fn predict_here(&self, values: &[f32], dims: &[usize]) -> Result<(Vec<f32>, Vec<usize>)> {
        let x = check_sequence_batch(values, dims, self.input_size(), "input x")?;
        match &self.model {
            Model::BiLstmClassifier(m) => {
                let classes = m.config().num_classes;
                let working = lstm_working_set(x, m.config().hidden_size);
                let [logits] = in_chunks((values, x), None, working, [classes], |x, _| {
                    Ok([m.forward(x)?])
                })?;
                Ok((logits, vec![x[0], classes]))
            }
            Model::LstmAttention(m) => Ok(self.forecast(m, (values, x), None, false)?.0),
        }
    }

    /// Autoregressive forecast and head-averaged attention weights `(B, horizon, T)`. Only models with
    /// attention have them: for others this is a config error.
    pub fn predict_with_attention(
        &self,
        values: &[f32],
        dims: &[usize],
    ) -> Result<(FlatArray, FlatArray)> {
        let m = self.attention_model("return_attention=True")?;
        let x = check_sequence_batch(values, dims, self.input_size(), "input x")?;
        self.on_pool(|| self.forecast(m, (values, x), None, true))
    }

    /// Teacher-forced forward pass (every step after the first reads the true previous target):
    /// predictions `(B, horizon, output_size)` and attention `(B, horizon, T)`. `y` is
    /// `(B, horizon, output_size)`. Only for encoder-decoder models; others give a config error.
    pub fn teacher_forced(
        &self,
        x: (&[f32], &[usize]),
        y: (&[f32], &[usize]),
    ) -> Result<(FlatArray, FlatArray)> {
        let m = self.attention_model("teacher_forced")?;
        let c = m.config();
        let xt = check_sequence_batch(x.0, x.1, c.input_size, "input x")?;
        let expected = [x.1[0], c.horizon, c.output_size];
        if y.1 != expected {
            return Err(Error::shape(
                "target y",
                fmt_shape(&expected),
                fmt_shape(y.1),
            ));
        }
        let yt = check_sequence_batch(y.0, y.1, c.output_size, "target y")?;
        self.on_pool(|| self.forecast(m, (x.0, xt), Some((y.0, yt)), true))
    }

    fn attention_model(&self, what: &str) -> Result<&LstmAttention> {
        match &self.model {
            Model::LstmAttention(m) => Ok(m),
            Model::BiLstmClassifier(_) => Err(Error::Config(format!(
                "{what} needs an encoder-decoder model with attention ({}); this engine serves `{}`",
                lstm_attention::NAME,
                self.model_name()
            ))),
        }
    }

    /// Runs the forecaster (teacher-forced when `y` is given); an empty batch gives empty outputs.
    fn forecast(
        &self,
        m: &LstmAttention,
        x: Batch<'_>,
        y: Option<Batch<'_>>,
        with_attention: bool,
    ) -> Result<(FlatArray, FlatArray)> {
        let c = m.config();
        let [batch, steps, _] = x.1;
        let attention_len = if with_attention { c.horizon * steps } else { 0 };
        let per_sample = [c.horizon * c.output_size, attention_len];
        // The encoder's intermediates, the attention memory, and the forecast with its attention.
        let working = lstm_working_set(x.1, c.hidden_size)
            .saturating_add(steps.saturating_mul(2 * c.hidden_size))
            .saturating_add(per_sample[0].saturating_add(attention_len));
        let [values, attention] = in_chunks(x, y, working, per_sample, |x, y| {
            if !with_attention && y.is_none() {
                let nothing = Tensor::zeros(0, candle_core::DType::F32, &Device::Cpu)?;
                return Ok([m.forecast_values(x)?, nothing]);
            }
            let f = match y {
                Some(y) => m.teacher_forced(x, y)?,
                None => m.forecast(x)?,
            };
            Ok([f.values, f.attention])
        })?;
        let attention_dims = if with_attention {
            vec![batch, c.horizon, steps]
        } else {
            vec![0]
        };
        Ok((
            (values, vec![batch, c.horizon, c.output_size]),
            (attention, attention_dims),
        ))
    }
}

/// A validated `(B, T, F)` batch: row-major values and dims.
type Batch<'a> = (&'a [f32], [usize; 3]);

/// Floats of intermediates one chunk of a batch may hold (about 128 MiB).
const CHUNK_WORKING_SET: usize = 1 << 25;

/// Floats of intermediates a stacked LSTM holds per sample of `(B, T, F)` input: about `8 * hidden`
/// per time step (gates, states and outputs of a bidirectional layer).
fn lstm_working_set([_, steps, width]: [usize; 3], hidden: usize) -> usize {
    steps.saturating_mul(8).saturating_mul(hidden.max(width))
}

/// Runs `run` on consecutive chunks of the batch rows of `x` (and of `y`, row for row), sized so that
/// a chunk's intermediates (`working` floats per sample) stay near [`CHUNK_WORKING_SET`], and gathers
/// each output's rows (`per_sample[i]` floats each; 0 drops that output) into buffers allocated up
/// front. So a batch too large for memory is a data error before any work, never an abort of the
/// process part way through, and a huge batch needs no more working memory than a moderate one. An
/// empty batch gives empty outputs.
fn in_chunks<const N: usize>(
    x: Batch<'_>,
    y: Option<Batch<'_>>,
    working: usize,
    per_sample: [usize; N],
    run: impl Fn(&Tensor, Option<&Tensor>) -> Result<[Tensor; N]>,
) -> Result<[Vec<f32>; N]> {
    let batch = x.1[0];
    let mut outputs: [Vec<f32>; N] = std::array::from_fn(|_| Vec::new());
    for (out, &per) in outputs.iter_mut().zip(&per_sample) {
        let len = batch.checked_mul(per).ok_or_else(|| {
            Error::Data(format!(
                "output of {batch} samples x {per} values overflows"
            ))
        })?;
        *out = zeroed_vec(len, "predict output")?;
    }
    let rows = (CHUNK_WORKING_SET / working.max(1)).max(1);
    for start in (0..batch).step_by(rows) {
        let n = rows.min(batch - start);
        let chunk = |(values, [_, t, f]): Batch<'_>| {
            let per = t * f;
            Tensor::from_slice(
                &values[start * per..(start + n) * per],
                (n, t, f),
                &Device::Cpu,
            )
        };
        let yt = y.map(chunk).transpose()?;
        let results = run(&chunk(x)?, yt.as_ref())?;
        for ((out, result), &per) in outputs.iter_mut().zip(&results).zip(&per_sample) {
            if per == 0 {
                continue; // an output the caller does not want
            }
            let values = flatten(result)?;
            if values.len() != n * per {
                return Err(Error::shape(
                    "chunk output",
                    format!("{} values", n * per),
                    values.len(),
                ));
            }
            out[start * per..(start + n) * per].copy_from_slice(&values);
        }
    }
    Ok(outputs)
}

/// Row-major values of a tensor.
pub fn flatten(t: &Tensor) -> Result<Vec<f32>> {
    Ok(t.flatten_all()?.to_vec1::<f32>()?)
}
