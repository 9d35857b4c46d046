//! Inference twins of the PyTorch models, one family per file.

pub mod bilstm_classifier;
pub mod lstm_attention;
mod lstm_attention_cpu;

pub use bilstm_classifier::{BiLstmClassifier, BiLstmClassifierConfig};
pub use lstm_attention::{Forecast, LstmAttention, LstmAttentionConfig};
