//! TrendAttention on the CPU kernels: the serving sibling of `trend_attention.rs` (same maths, see that
//! module's header; same checkpoint), built from the checkpoint's tensors by name. The encoder and the
//! attention readout run on the CPU LSTM and attention, every head on the packed GEMM; with several
//! threads the batch is split into one part per thread, each running the whole model.

use super::readout_cpu::CpuReadout;
use super::trend_attention_config::TrendAttentionConfig;
use crate::checkpoint::Checkpoint;
use crate::config::ModelConfig;
use crate::cpu_layers::{Dense, Mlp};
use crate::error::Result;
use crate::served::{
    in_parts, lstm_working_set, to_json, Batch, Computed, OutputSpec, ServedModel,
};

/// One horizon's head: trunk, trend score, direction logits.
#[derive(Debug, Clone)]
struct HorizonHead {
    trunk: Mlp,
    trend: Dense,
    direction: Dense,
}

/// TrendAttention's weights laid out for the CPU.
#[derive(Debug, Clone)]
pub struct CpuTrendAttention {
    config: TrendAttentionConfig,
    readout: CpuReadout,
    heads: Vec<HorizonHead>,
}

impl CpuTrendAttention {
    /// Builds the backend from a checkpoint whose tensors were checked against the model's parameters:
    /// `encoder.lstm.*`, `attention.*` and `heads.h{h}.*`.
    pub fn new(config: TrendAttentionConfig, ck: &Checkpoint) -> Result<Self> {
        config.validate()?;
        let readout = CpuReadout::new(ck, config.lstm(), Some(config.num_heads))?;
        let width = config.trunk_width();
        let heads = config
            .horizons
            .iter()
            .map(|h| {
                let prefix = format!("heads.h{h}.");
                Ok(HorizonHead {
                    trunk: Mlp::new(
                        ck,
                        &format!("{prefix}trunk."),
                        readout.width(),
                        &config.head_hidden,
                        None,
                    )?,
                    trend: Dense::linear(ck, &format!("{prefix}trend."), width, 1)?,
                    direction: Dense::linear(ck, &format!("{prefix}direction."), width, 2)?,
                })
            })
            .collect::<Result<_>>()?;
        Ok(Self {
            config,
            readout,
            heads,
        })
    }
}

impl ServedModel for CpuTrendAttention {
    fn name(&self) -> &'static str {
        TrendAttentionConfig::NAME
    }

    fn config_json(&self) -> Result<String> {
        to_json(&self.config)
    }

    fn input_size(&self) -> usize {
        self.config.input_size
    }

    /// `trend_{h}` (a scalar per sample) and `direction_logits_{h}` `(2,)` for each horizon, then
    /// `attention_weights` `(T,)`: the keys of the PyTorch forward's dict, in its order.
    fn outputs(&self, steps: usize) -> Vec<OutputSpec> {
        let mut outputs: Vec<OutputSpec> = self
            .config
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
        let c = &self.config;
        lstm_working_set(steps, c.input_size, c.hidden_size)
            .saturating_add(steps.saturating_mul(4 * c.hidden_size))
    }

    fn predict(&self, x: Batch<'_>, with_attention: bool) -> Result<Computed> {
        in_parts(x.batch(), |rows, threads| {
            let part = x.rows(rows);
            let n = part.batch();
            let features = self.readout.features(part, threads);
            let mut outputs = Vec::with_capacity(2 * self.heads.len() + 1);
            for head in &self.heads {
                let z = head.trunk.apply(&features.values, n);
                let mut trend = head.trend.apply(&z, n);
                trend.iter_mut().for_each(|v| *v = v.tanh());
                outputs.push(trend);
                outputs.push(head.direction.apply(&z, n));
            }
            let weights = features.weights.unwrap_or_default();
            let attention = with_attention.then(|| weights.clone());
            outputs.push(weights);
            Ok(Computed { outputs, attention })
        })
    }

    fn attention_shape(&self, steps: usize) -> Option<Vec<usize>> {
        Some(vec![steps])
    }
}
