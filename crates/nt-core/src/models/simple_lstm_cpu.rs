//! SimpleLSTM and EnhancedSimpleLSTM on the CPU kernels: the serving siblings of `simple_lstm.rs` (same
//! maths, same checkpoint), built from the checkpoint's tensors by name. The encoder and attention
//! readout run on the CPU LSTM and attention, the MLP head on the packed GEMM; with several threads the
//! batch is split into one part per thread, each running the whole model.

use super::config::{EnhancedSimpleLstmConfig, SimpleLstmConfig};
use super::readout_cpu::CpuReadout;
use crate::checkpoint::Checkpoint;
use crate::config::ModelConfig;
use crate::cpu_layers::Mlp;
use crate::error::Result;
use crate::served::{
    in_parts, lstm_working_set, to_json, Batch, Computed, OutputSpec, ServedModel,
};

/// SimpleLSTM's weights laid out for the CPU.
#[derive(Debug, Clone)]
pub struct CpuSimpleLstm {
    config: SimpleLstmConfig,
    readout: CpuReadout,
    head: Mlp,
}

impl CpuSimpleLstm {
    /// Builds the backend from a checkpoint whose tensors were checked against the model's parameters:
    /// `encoder.lstm.*` and `head.*`.
    pub fn new(config: SimpleLstmConfig, ck: &Checkpoint) -> Result<Self> {
        config.validate()?;
        let readout = CpuReadout::new(ck, config.lstm(), None)?;
        let head = Mlp::new(
            ck,
            "head.",
            readout.width(),
            &config.head_hidden,
            Some(config.num_classes),
        )?;
        Ok(Self {
            config,
            readout,
            head,
        })
    }
}

impl ServedModel for CpuSimpleLstm {
    fn name(&self) -> &'static str {
        SimpleLstmConfig::NAME
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

    /// Logits `(B, num_classes)` from the top layer's final hidden state.
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

/// EnhancedSimpleLSTM's weights laid out for the CPU.
#[derive(Debug, Clone)]
pub struct CpuEnhancedSimpleLstm {
    config: EnhancedSimpleLstmConfig,
    readout: CpuReadout,
    head: Mlp,
}

impl CpuEnhancedSimpleLstm {
    /// Builds the backend from a checkpoint whose tensors were checked against the model's parameters:
    /// `encoder.lstm.*`, `attention.*` and `head.*`.
    pub fn new(config: EnhancedSimpleLstmConfig, ck: &Checkpoint) -> Result<Self> {
        config.validate()?;
        let readout = CpuReadout::new(ck, config.lstm(), Some(config.num_heads))?;
        let head = Mlp::new(
            ck,
            "head.",
            readout.width(),
            &config.head_hidden,
            Some(config.num_classes),
        )?;
        Ok(Self {
            config,
            readout,
            head,
        })
    }
}

impl ServedModel for CpuEnhancedSimpleLstm {
    fn name(&self) -> &'static str {
        EnhancedSimpleLstmConfig::NAME
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

    /// The encoder's intermediates and the attention memory (keys and values, `2 * 2H` per step).
    fn working_set(&self, steps: usize) -> usize {
        let c = &self.config;
        lstm_working_set(steps, c.input_size, c.hidden_size)
            .saturating_add(steps.saturating_mul(4 * c.hidden_size))
    }

    /// Logits `(B, num_classes)` from `[context; final]`, and the attention weights `(B, T)`.
    fn predict(&self, x: Batch<'_>, with_attention: bool) -> Result<Computed> {
        in_parts(x.batch(), |rows, threads| {
            let part = x.rows(rows);
            let features = self.readout.features(part, threads);
            Ok(Computed {
                outputs: vec![self.head.apply(&features.values, part.batch())],
                attention: features.weights.filter(|_| with_attention),
            })
        })
    }

    fn attention_shape(&self, steps: usize) -> Option<Vec<usize>> {
        Some(vec![steps])
    }
}
