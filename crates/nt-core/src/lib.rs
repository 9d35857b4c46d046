//! nt-core: the native engine of neural_trader.
//!
//! Pure Rust on candle: the LSTM cell and stacked bidirectional LSTM, the models (each as a candle struct
//! for training and a CPU backend for serving, built from the same checkpoint), the table of served models
//! and the engine that serves them, the windowing/masking/augmentation kernels, and safetensors
//! checkpoints. Nothing here knows about Python; `nt-py` wraps it.
#![deny(missing_docs)]

pub mod attention;
mod attention_cpu;
pub mod checkpoint;
pub mod config;
mod cpu_helper;
mod cpu_layers;
mod cpu_math;
mod cpu_threads;
pub mod engine;
pub mod error;
pub mod input;
pub mod kernels;
pub mod lstm;
pub mod lstm_cpu;
pub mod models;
pub mod registry;
pub mod served;

pub use attention::{AttentionMemory, MultiHeadAttention};
pub use checkpoint::Checkpoint;
pub use config::{LstmConfig, ModelConfig};
pub use engine::Engine;
pub use error::{Error, Result};
pub use lstm::{Lstm, LstmCell, LstmState};
pub use served::ServedModel;
