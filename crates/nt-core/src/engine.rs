//! The native engine: a served model chosen by the `model` name in a checkpoint's metadata.
//!
//! The engine keeps the checkpoint's tensors and extra metadata beside the model it built from them, so it
//! can count its parameters and write itself back to a file ([`Engine::save`]) that either twin loads.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use candle_core::Tensor;

use crate::checkpoint::Checkpoint;
use crate::error::{fmt_shape, Error, Result};
use crate::input::{sequence_batch, to_flat, FlatArray};
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
        self.pool.install(|| self.predict_here(values, dims))
    }

    fn predict_here(&self, values: &[f32], dims: &[usize]) -> Result<(Vec<f32>, Vec<usize>)> {
        let x = sequence_batch(values, dims, self.input_size(), "input x")?;
        let batch = dims[0];
        match &self.model {
            Model::BiLstmClassifier(m) => {
                let classes = m.config().num_classes;
                if batch == 0 {
                    return Ok((Vec::new(), vec![0, classes]));
                }
                let logits = m.forward(&x)?;
                Ok((flatten(&logits)?, vec![batch, classes]))
            }
            Model::LstmAttention(m) => Ok(self.forecast(m, &x, None)?.0),
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
        let x = sequence_batch(values, dims, self.input_size(), "input x")?;
        self.pool.install(|| self.forecast(m, &x, None))
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
        let xt = sequence_batch(x.0, x.1, c.input_size, "input x")?;
        let expected = [x.1[0], c.horizon, c.output_size];
        if y.1 != expected {
            return Err(Error::shape(
                "target y",
                fmt_shape(&expected),
                fmt_shape(y.1),
            ));
        }
        let yt = sequence_batch(y.0, y.1, c.output_size, "target y")?;
        self.pool.install(|| self.forecast(m, &xt, Some(&yt)))
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
        x: &Tensor,
        y: Option<&Tensor>,
    ) -> Result<(FlatArray, FlatArray)> {
        let c = m.config();
        let (batch, steps, _) = x.dims3()?;
        if batch == 0 {
            return Ok((
                (Vec::new(), vec![0, c.horizon, c.output_size]),
                (Vec::new(), vec![0, c.horizon, steps]),
            ));
        }
        let f = match y {
            Some(y) => m.teacher_forced(x, y)?,
            None => m.forecast(x)?,
        };
        Ok((to_flat(&f.values)?, to_flat(&f.attention)?))
    }
}

/// Row-major values of a tensor.
pub fn flatten(t: &Tensor) -> Result<Vec<f32>> {
    Ok(t.flatten_all()?.to_vec1::<f32>()?)
}
