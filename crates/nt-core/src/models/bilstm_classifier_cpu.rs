//! BiLSTMClassifier on the CPU kernels: the serving sibling of `bilstm_classifier.rs` (same maths, same
//! checkpoint), built from the checkpoint's tensors by name. The encoder runs on the CPU LSTM, the head on
//! the packed GEMM; with several threads the batch is split into one part per thread, each running the
//! whole model.

use super::config::BiLstmClassifierConfig;
use super::readout_cpu::CpuReadout;
use crate::checkpoint::Checkpoint;
use crate::config::ModelConfig;
use crate::cpu_layers::Dense;
use crate::error::Result;
use crate::served::{
    in_parts, lstm_working_set, to_json, Batch, Computed, OutputSpec, ServedModel,
};

/// The classifier's weights laid out for the CPU.
#[derive(Debug, Clone)]
pub struct CpuBiLstmClassifier {
    config: BiLstmClassifierConfig,
    readout: CpuReadout,
    head: Dense,
}

impl CpuBiLstmClassifier {
    /// Builds the backend from a checkpoint whose tensors were checked against the model's parameters:
    /// `encoder.lstm.*` and `head.{weight,bias}`.
    pub fn new(config: BiLstmClassifierConfig, ck: &Checkpoint) -> Result<Self> {
        config.validate()?;
        let readout = CpuReadout::new(ck, config.lstm(), None)?;
        Ok(Self {
            head: Dense::linear(ck, "head.", readout.width(), config.num_classes)?,
            readout,
            config,
        })
    }
}

impl ServedModel for CpuBiLstmClassifier {
    fn name(&self) -> &'static str {
        BiLstmClassifierConfig::NAME
    }

    fn config_json(&self) -> Result<String> {
        to_json(&self.config)
    }

    fn input_size(&self) -> usize {
        self.config.input_size
    }

    fn outputs(&self, _steps: usize) -> Vec<OutputSpec> {
        vec![OutputSpec::new("logits", [self.config.num_classes])]
    }

    fn working_set(&self, steps: usize) -> usize {
        lstm_working_set(steps, self.config.input_size, self.config.hidden_size)
    }

    /// Logits `(B, num_classes)` from the last layer's final hidden states.
    fn predict(&self, x: Batch<'_>, _with_attention: bool) -> Result<Computed> {
        in_parts(x.batch(), |rows, threads| {
            let part = x.rows(rows);
            let features = self.readout.features(part, threads);
            Ok(Computed {
                outputs: vec![self.head.apply(&features.values, part.batch())],
                attention: None,
            })
        })
    }
}
