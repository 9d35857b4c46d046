//! The one error type of nt-core. Every message names the bad value or shape, because these errors
//! reach researchers through Python and must say what to fix.

use std::path::PathBuf;

/// Everything that can go wrong in nt-core.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An array or tensor has the wrong rank or shape. `what` names it (`"input x"`,
    /// `"tensor encoder.lstm.weight_ih_l0"`), `expected` and `actual` describe the shapes.
    #[error("{what}: expected shape {expected}, got {actual}")]
    Shape {
        /// The array or tensor at fault.
        what: String,
        /// The shape that was required, in words or as a tuple.
        expected: String,
        /// The shape that was given.
        actual: String,
    },
    /// A model or kernel configuration is invalid (out-of-range field, incompatible combination).
    #[error("invalid configuration: {0}")]
    Config(String),
    /// Input values are invalid: NaN or Inf, an empty series, labels out of range.
    #[error("invalid data: {0}")]
    Data(String),
    /// A checkpoint file is malformed, of another format, or does not match its model.
    #[error("bad checkpoint: {0}")]
    Checkpoint(String),
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// An error raised inside candle. Reaching it from user input is a bug in nt-core's validation.
    #[error("tensor operation failed: {0}")]
    Candle(#[from] candle_core::Error),
}

/// Result with nt-core's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// Shape error from anything printable.
    pub fn shape(what: impl Into<String>, expected: impl ToString, actual: impl ToString) -> Self {
        Error::Shape {
            what: what.into(),
            expected: expected.to_string(),
            actual: actual.to_string(),
        }
    }

    /// I/O error that remembers the path.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// `(2, 3, 4)`-style rendering of a shape, as Python prints it.
pub fn fmt_shape(dims: &[usize]) -> String {
    match dims {
        [one] => format!("({one},)"),
        _ => format!(
            "({})",
            dims.iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}
