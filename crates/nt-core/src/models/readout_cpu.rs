//! The encoder readout of the CPU backends: a stacked (bi)LSTM on the CPU kernels, its last layer's
//! final hidden states, and optionally the attention readout over its outputs (the final states as the
//! one query, the outputs of every step as keys and values). What the classifiers' heads read.
//!
//! The same maths as the candle layers of `readout.rs`, built from the checkpoint's tensors by name
//! (`encoder.lstm.*`, `attention.*`); the two share only the configs.

use crate::attention_cpu::CpuAttention;
use crate::checkpoint::Checkpoint;
use crate::config::LstmConfig;
use crate::error::Result;
use crate::lstm_cpu::CpuLstm;
use crate::served::Batch;

/// An encoder and, for the attention models, its attention readout.
#[derive(Debug, Clone)]
pub(crate) struct CpuReadout {
    encoder: CpuLstm,
    attention: Option<CpuAttention>,
}

/// The features a head reads, `(B, width)`, and the attention weights `(B, T)` when there is attention.
pub(crate) struct Features {
    /// `final` `(B, H * dirs)`, or `[context; final]` `(B, 2 * H * dirs)` with attention.
    pub values: Vec<f32>,
    /// Head-averaged attention weights.
    pub weights: Option<Vec<f32>>,
}

impl CpuReadout {
    /// The encoder `encoder.lstm.*` of sizes `lstm` and, with `heads`, the attention `attention.*`
    /// over its `H * dirs`-wide outputs (the caller checked that `heads` divides that width).
    pub(crate) fn new(ck: &Checkpoint, lstm: LstmConfig, heads: Option<usize>) -> Result<Self> {
        let encoder = CpuLstm::from_tensors(&ck.tensors, "encoder.lstm.", lstm)?;
        let attention = heads
            .map(|heads| CpuAttention::new(ck, "attention.", lstm.output_size(), heads))
            .transpose()?;
        Ok(Self { encoder, attention })
    }

    /// Width of the features.
    pub(crate) fn width(&self) -> usize {
        let width = self.encoder.config().output_size();
        match self.attention {
            Some(_) => 2 * width,
            None => width,
        }
    }

    /// The features of a batch, with `threads` threads of the current pool for the encoder.
    pub(crate) fn features(&self, x: Batch<'_>, threads: usize) -> Features {
        let (batch, steps) = (x.batch(), x.steps());
        let (outputs, h_n, _) = self
            .encoder
            .forward_with(x.values, batch, steps, None, threads);
        let last = self.encoder.final_hidden(&h_n, batch);
        let Some(attention) = &self.attention else {
            return Features {
                values: last,
                weights: None,
            };
        };
        let (context, weights) = attention.attend_once(&last, &outputs, batch, steps);
        let width = self.encoder.config().output_size();
        let mut values = Vec::with_capacity(batch * 2 * width);
        for (c, f) in context.chunks_exact(width).zip(last.chunks_exact(width)) {
            values.extend_from_slice(c);
            values.extend_from_slice(f);
        }
        Features {
            values,
            weights: Some(weights),
        }
    }
}
