//! What each served model's config declares about its outputs ([`ServedShapes`]): names, per-sample
//! shapes, working memory, and which of attention, teacher forcing and embeddings it has. The CPU
//! backend and the candle backend of a model both read this, so they give the same outputs by
//! construction; the names are the PyTorch twins' (`logits`, `forecast`, `outputs`, the dict keys of
//! `TrendAttention.forward`).

use super::config::{
    BiLstmClassifierConfig, EnhancedSimpleLstmConfig, LstmEncoderConfig, SimpleLstmConfig,
};
use super::lstm_attention_config::LstmAttentionConfig;
use super::trend_attention_config::TrendAttentionConfig;
use crate::served::{lstm_working_set, OutputSpec, ServedShapes};

impl ServedShapes for BiLstmClassifierConfig {
    /// Logits `(num_classes,)` (one value for a regression head, `num_classes = 0`).
    fn outputs(&self, _steps: usize) -> Vec<OutputSpec> {
        vec![OutputSpec::new("logits", [self.head_width()])]
    }

    fn working_set(&self, steps: usize) -> usize {
        lstm_working_set(steps, self.input_size, self.hidden_size)
    }
}

impl ServedShapes for SimpleLstmConfig {
    /// Logits `(num_classes,)` (one value for a regression head, `num_classes = 0`).
    fn outputs(&self, _steps: usize) -> Vec<OutputSpec> {
        vec![OutputSpec::new("logits", [self.head_width()])]
    }

    fn working_set(&self, steps: usize) -> usize {
        lstm_working_set(steps, self.input_size, self.hidden_size)
    }
}

impl ServedShapes for EnhancedSimpleLstmConfig {
    /// Logits `(num_classes,)` (one value for a regression head, `num_classes = 0`).
    fn outputs(&self, _steps: usize) -> Vec<OutputSpec> {
        vec![OutputSpec::new("logits", [self.head_width()])]
    }

    /// The encoder's intermediates and the attention memory (keys and values, `2 * 2H` per step).
    fn working_set(&self, steps: usize) -> usize {
        lstm_working_set(steps, self.input_size, self.hidden_size)
            .saturating_add(steps.saturating_mul(4 * self.hidden_size))
    }

    /// Head-averaged weights `(T,)` of the readout's one query.
    fn attention_shape(&self, steps: usize) -> Option<Vec<usize>> {
        Some(vec![steps])
    }
}

impl ServedShapes for TrendAttentionConfig {
    /// `trend_{h}` (a scalar per sample) and `direction_logits_{h}` `(2,)` for each horizon, then
    /// `attention_weights` `(T,)`: the keys of the PyTorch forward's dict, in its order.
    fn outputs(&self, steps: usize) -> Vec<OutputSpec> {
        let mut outputs: Vec<OutputSpec> = self
            .horizons
            .iter()
            .flat_map(|h| {
                [
                    OutputSpec::new(format!("trend_{h}"), []),
                    OutputSpec::new(format!("direction_logits_{h}"), [2]),
                ]
            })
            .collect();
        outputs.push(OutputSpec::new("attention_weights", [steps]));
        outputs
    }

    /// The encoder's intermediates and the attention memory (keys and values, `2 * 2H` per step).
    fn working_set(&self, steps: usize) -> usize {
        lstm_working_set(steps, self.input_size, self.hidden_size)
            .saturating_add(steps.saturating_mul(4 * self.hidden_size))
    }

    fn attention_shape(&self, steps: usize) -> Option<Vec<usize>> {
        Some(vec![steps])
    }
}

impl ServedShapes for LstmAttentionConfig {
    /// The autoregressive forecast `(horizon, output_size)` per sample.
    fn outputs(&self, _steps: usize) -> Vec<OutputSpec> {
        vec![OutputSpec::new(
            "forecast",
            [self.horizon, self.output_size],
        )]
    }

    /// The encoder's intermediates, the attention memory, and the forecast with its attention.
    fn working_set(&self, steps: usize) -> usize {
        lstm_working_set(steps, self.input_size, self.hidden_size)
            .saturating_add(steps.saturating_mul(2 * self.hidden_size))
            .saturating_add(
                self.horizon
                    .saturating_mul(self.output_size.saturating_add(steps)),
            )
    }

    /// Head-averaged weights `(horizon, T)`: one row per decoder step.
    fn attention_shape(&self, steps: usize) -> Option<Vec<usize>> {
        Some(vec![self.horizon, steps])
    }

    fn target_shape(&self) -> Option<Vec<usize>> {
        Some(vec![self.horizon, self.output_size])
    }
}

impl ServedShapes for LstmEncoderConfig {
    /// The encoder outputs `(T, H * dirs)` per sample, as the PyTorch twin's forward.
    fn outputs(&self, steps: usize) -> Vec<OutputSpec> {
        vec![OutputSpec::new(
            "outputs",
            [steps, self.lstm().output_size()],
        )]
    }

    fn working_set(&self, steps: usize) -> usize {
        lstm_working_set(steps, self.input_size, self.hidden_size)
    }

    /// The last layer's final hidden states, forward then backward: `(H * dirs,)`.
    fn embedding_size(&self) -> Option<usize> {
        Some(self.lstm().output_size())
    }
}
