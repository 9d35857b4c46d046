//! The models, one family per file, each in two backends built from the same checkpoint: a candle struct
//! (`name.rs`: training, CUDA later) and a CPU backend (`name_cpu.rs`: what the engine serves). Neither
//! imports the other; both import the family's config (`config.rs`, `lstm_attention_config.rs`,
//! `trend_attention_config.rs`) and their backend's shared layers (`readout.rs` / `readout_cpu.rs`). The
//! table of served models is in `registry.rs`.

pub mod bilstm_classifier;
pub mod bilstm_classifier_cpu;
pub mod config;
pub mod lstm_attention;
pub mod lstm_attention_config;
pub mod lstm_attention_cpu;
pub mod lstm_encoder;
pub mod lstm_encoder_cpu;
pub mod readout;
mod readout_cpu;
pub mod simple_lstm;
pub mod simple_lstm_cpu;
pub mod trend_attention;
pub mod trend_attention_config;
pub mod trend_attention_cpu;

pub use bilstm_classifier::BiLstmClassifier;
pub use bilstm_classifier_cpu::CpuBiLstmClassifier;
pub use config::{
    BiLstmClassifierConfig, EnhancedSimpleLstmConfig, LstmEncoderConfig, SimpleLstmConfig,
};
pub use lstm_attention::{Forecast, LstmAttention};
pub use lstm_attention_config::LstmAttentionConfig;
pub use lstm_attention_cpu::CpuLstmAttention;
pub use lstm_encoder::LstmEncoder;
pub use lstm_encoder_cpu::CpuLstmEncoder;
pub use simple_lstm::{EnhancedSimpleLstm, SimpleLstm};
pub use simple_lstm_cpu::{CpuEnhancedSimpleLstm, CpuSimpleLstm};
pub use trend_attention::{TrendAttention, TrendOutputs};
pub use trend_attention_config::TrendAttentionConfig;
pub use trend_attention_cpu::CpuTrendAttention;
