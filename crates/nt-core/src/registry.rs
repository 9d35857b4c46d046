//! The table of served models: registry name -> constructor from a checkpoint. The one place that lists
//! them; the engine, `neural_trader._core.SERVED_MODELS` and the Python side all read it.
//!
//! Each row checks the checkpoint against the parameters its candle struct asks for (names and shapes,
//! found by building it once on a recording backend that allocates nothing: one declaration of a model's
//! parameters serves both backends), then builds the backend for the device: on the CPU, the model's CPU
//! backend. Serving on CUDA (a backend wrapping the candle struct) is not built yet: asking for it is a
//! config error, and its place is the `match` on the device in `backend`.
//!
//! Adding a served model: its config (in `models/`), its candle struct and its CPU backend (siblings that
//! import only the config and the shared layers), and one row below.

use candle_core::Device;
use candle_nn::VarBuilder;

use crate::checkpoint::Checkpoint;
use crate::config::ModelConfig;
use crate::error::{Error, Result};
use crate::models::{
    BiLstmClassifier, BiLstmClassifierConfig, CpuBiLstmClassifier, CpuEnhancedSimpleLstm,
    CpuLstmAttention, CpuLstmEncoder, CpuSimpleLstm, CpuTrendAttention, EnhancedSimpleLstm,
    EnhancedSimpleLstmConfig, LstmAttention, LstmAttentionConfig, LstmEncoder, LstmEncoderConfig,
    SimpleLstm, SimpleLstmConfig, TrendAttention, TrendAttentionConfig,
};
use crate::served::ServedModel;

/// Builds a served model from a checkpoint, for a device.
pub type Load = fn(&Checkpoint, &Device) -> Result<Box<dyn ServedModel>>;

/// One row of the table.
#[derive(Debug, Clone, Copy)]
pub struct Served {
    /// Registry name, as checkpoints store it.
    pub name: &'static str,
    /// The constructor.
    pub load: Load,
}

/// Every served model.
pub const SERVED: &[Served] = &[
    Served {
        name: BiLstmClassifierConfig::NAME,
        load: |ck, device| backend(ck, device, BiLstmClassifier::new, CpuBiLstmClassifier::new),
    },
    Served {
        name: LstmAttentionConfig::NAME,
        load: |ck, device| backend(ck, device, LstmAttention::new, CpuLstmAttention::new),
    },
    Served {
        name: SimpleLstmConfig::NAME,
        load: |ck, device| backend(ck, device, SimpleLstm::new, CpuSimpleLstm::new),
    },
    Served {
        name: EnhancedSimpleLstmConfig::NAME,
        load: |ck, device| {
            backend(
                ck,
                device,
                EnhancedSimpleLstm::new,
                CpuEnhancedSimpleLstm::new,
            )
        },
    },
    Served {
        name: TrendAttentionConfig::NAME,
        load: |ck, device| backend(ck, device, TrendAttention::new, CpuTrendAttention::new),
    },
    Served {
        name: LstmEncoderConfig::NAME,
        load: |ck, device| backend(ck, device, LstmEncoder::new, CpuLstmEncoder::new),
    },
];

/// Registry names of the served models, in table order.
pub fn served_names() -> Vec<&'static str> {
    SERVED.iter().map(|row| row.name).collect()
}

/// The served model a checkpoint holds (by its `model` name), built for `device`.
pub fn load(ck: &Checkpoint, device: &Device) -> Result<Box<dyn ServedModel>> {
    match SERVED.iter().find(|row| row.name == ck.model) {
        Some(row) => (row.load)(ck, device),
        None => Err(Error::Checkpoint(format!(
            "model `{}` is not served by the native engine (served: {})",
            ck.model,
            served_names().join(", ")
        ))),
    }
}

/// Parses and validates the config `C`, checks the tensors against the candle struct that `candle`
/// builds, and builds the backend for `device` (`cpu` on the CPU).
fn backend<C: ModelConfig, M, B: ServedModel + 'static>(
    ck: &Checkpoint,
    device: &Device,
    candle: fn(C, VarBuilder<'static>) -> Result<M>,
    cpu: fn(C, &Checkpoint) -> Result<B>,
) -> Result<Box<dyn ServedModel>> {
    let config: C = ck.parse_config()?;
    config.validate()?;
    ck.check_against(|vb| candle(config.clone(), vb))?;
    match device {
        Device::Cpu => Ok(Box::new(cpu(config, ck)?)),
        other => Err(Error::Config(format!(
            "`{}` is served on the CPU only in this build, not on {other:?}",
            C::NAME
        ))),
    }
}
