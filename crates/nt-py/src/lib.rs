//! `neural_trader._core`: a thin PyO3 shim over nt-core. Each function extracts numpy arrays, releases the
//! GIL around the core call, and maps errors through [`errors::to_py_err`]. No maths lives here.
//!
//! Nothing that Python hands over may panic the interpreter: no `unwrap`/`expect`/`panic!`, no
//! indexing or slicing that can go out of bounds (use `get`, iterators or pattern matching), enforced
//! below for the whole crate.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::unreachable,
    clippy::todo,
    clippy::unimplemented
)]

use pyo3::prelude::*;

mod engine;
mod errors;
mod kernels;
mod kernels_training;

/// The native module.
#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    // The engine's table of served models: the one list the Python side reads.
    m.add(
        "SERVED_MODELS",
        pyo3::types::PyTuple::new(m.py(), nt_core::registry::served_names())?,
    )?;
    m.add_class::<engine::NativeModel>()?;
    m.add_function(wrap_pyfunction!(engine::lstm_forward, m)?)?;
    m.add_function(wrap_pyfunction!(engine::mha_forward, m)?)?;
    kernels::register(m)?;
    kernels_training::register(m)?;
    Ok(())
}
