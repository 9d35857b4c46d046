//! The one mapping from `nt_core::Error` to Python exceptions.
//!
//! The exception classes live in `neural_trader/errors.py` (so `ShapeError` can derive from both
//! `NeuralTraderError` and `ValueError`, which a Rust-created class cannot); this module looks them up.

use pyo3::exceptions::{PyFileNotFoundError, PyOSError, PyRuntimeError};
use pyo3::prelude::*;
use pyo3::types::PyType;

/// Converts a core error into the matching Python exception (never a `{:?}` dump).
pub fn to_py_err(err: nt_core::Error) -> PyErr {
    use nt_core::Error as E;
    let msg = err.to_string();
    let class = match &err {
        E::Shape { .. } => "ShapeError",
        E::Config(_) => "ConfigError",
        E::Data(_) => "DataError",
        E::Checkpoint(_) => "CheckpointError",
        E::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            return PyFileNotFoundError::new_err(msg)
        }
        E::Io { .. } => return PyOSError::new_err(msg),
        E::Candle(_) => return PyRuntimeError::new_err(msg),
    };
    Python::attach(|py| match error_class(py, class) {
        Ok(cls) => PyErr::from_type(cls, msg),
        // The package is broken if its errors module is missing; still raise something readable.
        Err(_) => PyRuntimeError::new_err(format!("{class}: {msg}")),
    })
}

fn error_class<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyType>> {
    Ok(py
        .import("neural_trader.errors")?
        .getattr(name)?
        .cast_into::<PyType>()?)
}

/// Shorthand for `map_err(to_py_err)`.
pub trait IntoPyResult<T> {
    /// Maps an nt-core result to a Python one.
    fn py_err(self) -> PyResult<T>;
}

impl<T> IntoPyResult<T> for nt_core::Result<T> {
    fn py_err(self) -> PyResult<T> {
        self.map_err(to_py_err)
    }
}
