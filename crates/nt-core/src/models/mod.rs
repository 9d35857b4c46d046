//! The models, one family per file, each in two backends built from the same checkpoint: a candle struct
//! (`name.rs`: training, CUDA later) and a CPU backend (`name_cpu.rs`: what the engine serves). Neither
//! imports the other; both import the family's config (`config.rs`, `lstm_attention_config.rs`). The table
//! of served models is in `registry.rs`.

pub mod bilstm_classifier;
pub mod bilstm_classifier_cpu;
pub mod config;
pub mod lstm_attention;
pub mod lstm_attention_config;
pub mod lstm_attention_cpu;

pub use bilstm_classifier::BiLstmClassifier;
pub use bilstm_classifier_cpu::CpuBiLstmClassifier;
pub use config::BiLstmClassifierConfig;
pub use lstm_attention::{Forecast, LstmAttention};
pub use lstm_attention_config::LstmAttentionConfig;
pub use lstm_attention_cpu::CpuLstmAttention;
