//! The pre-trained encoder on the CPU kernels: the serving sibling of `lstm_encoder.rs` (same maths, same
//! checkpoint), built from the checkpoint's tensors by name. `predict` gives the encoder outputs
//! `(B, T, H * dirs)`; `embed` the last layer's final hidden states `(B, H * dirs)`.

use super::config::LstmEncoderConfig;
use crate::checkpoint::Checkpoint;
use crate::config::ModelConfig;
use crate::error::Result;
use crate::lstm_cpu::CpuLstm;
use crate::served::{
    in_parts, lstm_working_set, to_json, Batch, Computed, OutputSpec, ServedModel,
};

/// The encoder's weights laid out for the CPU.
#[derive(Debug, Clone)]
pub struct CpuLstmEncoder {
    config: LstmEncoderConfig,
    encoder: CpuLstm,
}

impl CpuLstmEncoder {
    /// Builds the backend from a checkpoint whose tensors (`encoder.lstm.*`) were checked against the
    /// model's parameters.
    pub fn new(config: LstmEncoderConfig, ck: &Checkpoint) -> Result<Self> {
        config.validate()?;
        Ok(Self {
            encoder: CpuLstm::from_tensors(&ck.tensors, "encoder.lstm.", config.lstm())?,
            config,
        })
    }

    /// The encoder over a batch: outputs, or (`final_only`) the final hidden states.
    fn run(&self, x: Batch<'_>, final_only: bool) -> Result<Computed> {
        in_parts(x.batch(), |rows, threads| {
            let part = x.rows(rows);
            let (n, steps) = (part.batch(), part.steps());
            let (outputs, h_n, _) = self
                .encoder
                .forward_with(part.values, n, steps, None, threads);
            let out = if final_only {
                self.encoder.final_hidden(&h_n, n)
            } else {
                outputs
            };
            Ok(Computed {
                outputs: vec![out],
                attention: None,
            })
        })
    }
}

impl ServedModel for CpuLstmEncoder {
    fn name(&self) -> &'static str {
        LstmEncoderConfig::NAME
    }

    fn config_json(&self) -> Result<String> {
        to_json(&self.config)
    }

    fn input_size(&self) -> usize {
        self.config.input_size
    }

    /// The encoder outputs `(T, H * dirs)` per sample, as the PyTorch twin's forward.
    fn outputs(&self, steps: usize) -> Vec<OutputSpec> {
        vec![OutputSpec::new(
            "outputs",
            [steps, self.config.lstm().output_size()],
        )]
    }

    fn working_set(&self, steps: usize) -> usize {
        lstm_working_set(steps, self.config.input_size, self.config.hidden_size)
    }

    fn predict(&self, x: Batch<'_>, _with_attention: bool) -> Result<Computed> {
        self.run(x, false)
    }

    fn embedding_size(&self) -> Option<usize> {
        Some(self.config.lstm().output_size())
    }

    fn embed(&self, x: Batch<'_>) -> Result<Vec<f32>> {
        let mut computed = self.run(x, true)?;
        Ok(computed.outputs.pop().unwrap_or_default())
    }
}
