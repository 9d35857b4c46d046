//! nt-core: the native engine of neural_trader.
//!
//! Pure Rust on candle: the LSTM cell and stacked bidirectional LSTM, the inference twins of the PyTorch
//! models, the windowing/masking/augmentation kernels, and safetensors checkpoints. Nothing here knows
//! about Python; `nt-py` wraps it.
#![deny(missing_docs)]

pub mod attention;
pub mod checkpoint;
mod cpu_math;
pub mod engine;
pub mod error;
pub mod input;
pub mod kernels;
pub mod lstm;
mod lstm_cpu;
pub mod models;

pub use attention::{AttentionMemory, MultiHeadAttention};
pub use checkpoint::Checkpoint;
pub use engine::Engine;
pub use error::{Error, Result};
pub use lstm::{Lstm, LstmCell, LstmConfig, LstmState};
