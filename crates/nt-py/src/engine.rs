//! `NativeModel`: the served model behind `neural_trader.native`, and `lstm_forward` / `mha_forward` for
//! parity tests. Inputs to a model are borrowed from numpy and read in place with the GIL released;
//! outputs are handed to numpy without a copy.

use std::collections::HashMap;
use std::path::PathBuf;

use numpy::{PyArray1, PyArrayDyn, PyArrayMethods, PyReadonlyArrayDyn, PyUntypedArrayMethods};
use pyo3::exceptions::PyMemoryError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use nt_core::error::fmt_shape;
use nt_core::input::FlatArray;
use nt_core::{Checkpoint, Engine, Error};

use crate::errors::IntoPyResult;

/// Copies a numpy array's values and shape (the weights handed to the parity entry points); refuses
/// arrays that are not C-contiguous (numpy's `as_slice` would also hand out a Fortran-ordered buffer,
/// read in the wrong order) or not aligned. A copy that cannot be allocated is a `MemoryError`, not an
/// abort (the array may be a memory map far larger than memory).
pub fn values_of(x: &PyReadonlyArrayDyn<'_, f32>, what: &str) -> PyResult<(Vec<f32>, Vec<usize>)> {
    let (slice, dims) = borrowed(x, what)?;
    let mut values = Vec::new();
    values.try_reserve_exact(slice.len()).map_err(|_| {
        PyMemoryError::new_err(format!(
            "{what}: cannot allocate a copy of {} float32 values (shape {})",
            slice.len(),
            fmt_shape(&dims)
        ))
    })?;
    values.extend_from_slice(slice);
    Ok((values, dims))
}

/// The data of a numpy array, borrowed (no copy), with its shape; refuses arrays that are not
/// C-contiguous (numpy's `as_slice` would also hand out a Fortran-ordered buffer) or not aligned. The slice may be handed into a `py.detach` closure: the
/// read-only borrow keeps the array alive and unwritten by Rust while the GIL is released.
pub fn borrowed<'a>(
    x: &'a PyReadonlyArrayDyn<'_, f32>,
    what: &str,
) -> PyResult<(&'a [f32], Vec<usize>)> {
    let dims = x.shape().to_vec();
    let not_c_order = || {
        Error::shape(
            what,
            "a C-contiguous, aligned float32 array",
            format!(
                "a non-contiguous or unaligned array of shape {}",
                fmt_shape(&dims)
            ),
        )
    };
    if !x.is_c_contiguous() {
        return Err(not_c_order()).py_err();
    }
    let slice = x.as_slice().map_err(|_| not_c_order()).py_err()?;
    Ok((slice, dims))
}

/// Makes a numpy array of `dims` from row-major `values` without copying them.
pub fn to_numpy<'py>(
    py: Python<'py>,
    values: Vec<f32>,
    dims: &[usize],
) -> PyResult<Bound<'py, PyArrayDyn<f32>>> {
    PyArray1::from_vec(py, values).reshape(dims.to_vec())
}

/// A model loaded into the native engine.
#[pyclass(module = "neural_trader._core", frozen)]
pub struct NativeModel {
    engine: Engine,
}

#[pymethods]
impl NativeModel {
    /// Loads a neural_trader safetensors checkpoint; `threads` (default: one per core) sizes the
    /// engine's own thread pool.
    #[staticmethod]
    #[pyo3(signature = (path, threads=None))]
    fn load(py: Python<'_>, path: PathBuf, threads: Option<usize>) -> PyResult<Self> {
        let threads = threads.unwrap_or_else(nt_core::engine::default_threads);
        let engine = py
            .detach(|| Engine::load(&path).and_then(|e| e.with_threads(threads)))
            .py_err()?;
        Ok(Self { engine })
    }

    /// Loads a checkpoint from the bytes of a safetensors file.
    #[staticmethod]
    #[pyo3(signature = (data, threads=None))]
    fn from_bytes(py: Python<'_>, data: &[u8], threads: Option<usize>) -> PyResult<Self> {
        let threads = threads.unwrap_or_else(nt_core::engine::default_threads);
        let engine = py
            .detach(|| {
                Checkpoint::from_bytes(data)
                    .and_then(|ck| Engine::from_checkpoint(&ck))
                    .and_then(|e| e.with_threads(threads))
            })
            .py_err()?;
        Ok(Self { engine })
    }

    /// Threads of the engine's own pool.
    #[getter]
    fn threads(&self) -> usize {
        self.engine.threads()
    }

    /// Registry name of the model.
    #[getter]
    fn model(&self) -> &'static str {
        self.engine.model_name()
    }

    /// The model config as JSON.
    #[getter]
    fn config_json(&self) -> PyResult<String> {
        self.engine.config_json().py_err()
    }

    /// Features per time step.
    #[getter]
    fn input_size(&self) -> usize {
        self.engine.input_size()
    }

    /// Number of scalar parameters.
    #[getter]
    fn num_parameters(&self) -> usize {
        self.engine.num_parameters()
    }

    /// Runs the model on a C-contiguous float32 `(B, T, F)` array, with the GIL released (the array is
    /// read in place). Returns the output array, or a dict of arrays for a model with several named
    /// outputs; with `return_attention`, `(output, attention)` (models with attention only).
    #[pyo3(signature = (x, return_attention=false))]
    fn predict<'py>(
        &self,
        py: Python<'py>,
        x: PyReadonlyArrayDyn<'py, f32>,
        return_attention: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (values, dims) = borrowed(&x, "input x")?;
        let prediction = py
            .detach(|| self.engine.predict_outputs(values, &dims, return_attention))
            .py_err()?;
        let out = outputs(py, prediction.outputs)?;
        match prediction.attention {
            Some(attn) if return_attention => {
                let attn = to_numpy(py, attn.0, &attn.1)?.into_any();
                Ok(PyTuple::new(py, [out, attn])?.into_any())
            }
            _ => Ok(out),
        }
    }

    /// Teacher-forced forward pass of an encoder-decoder model: `x` `(B, T, F)`, `y`
    /// `(B, horizon, output_size)`, both read in place with the GIL released. Returns the predictions,
    /// or `(predictions, attention)`.
    #[pyo3(signature = (x, y, return_attention=false))]
    fn teacher_forced<'py>(
        &self,
        py: Python<'py>,
        x: PyReadonlyArrayDyn<'py, f32>,
        y: PyReadonlyArrayDyn<'py, f32>,
        return_attention: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (xv, xd) = borrowed(&x, "input x")?;
        let (yv, yd) = borrowed(&y, "target y")?;
        let (out, attn) = py
            .detach(|| self.engine.teacher_forced((xv, &xd), (yv, &yd)))
            .py_err()?;
        if return_attention {
            pair(py, out, attn)
        } else {
            Ok(to_numpy(py, out.0, &out.1)?.into_any())
        }
    }

    /// The embeddings `(B, embedding_size)` of a C-contiguous float32 `(B, T, F)` array (encoder models
    /// only), with the GIL released.
    fn embed<'py>(
        &self,
        py: Python<'py>,
        x: PyReadonlyArrayDyn<'py, f32>,
    ) -> PyResult<Bound<'py, PyArrayDyn<f32>>> {
        let (values, dims) = borrowed(&x, "input x")?;
        let (out, shape) = py.detach(|| self.engine.embed(values, &dims)).py_err()?;
        to_numpy(py, out, &shape)
    }

    /// Writes the model (config, tensors, extra metadata) to a checkpoint file, atomically.
    fn save(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        py.detach(|| self.engine.save(&path)).py_err()
    }
}

/// One output as an array; several as a dict of arrays by name, in the model's order.
fn outputs<'py>(
    py: Python<'py>,
    mut named: Vec<(String, FlatArray)>,
) -> PyResult<Bound<'py, PyAny>> {
    if named.len() == 1 {
        if let Some((_, (values, dims))) = named.pop() {
            return Ok(to_numpy(py, values, &dims)?.into_any());
        }
    }
    let dict = PyDict::new(py);
    for (name, (values, dims)) in named {
        dict.set_item(name, to_numpy(py, values, &dims)?)?;
    }
    Ok(dict.into_any())
}

/// A `(values, attention)` tuple of numpy arrays.
fn pair<'py>(
    py: Python<'py>,
    out: (Vec<f32>, Vec<usize>),
    attn: (Vec<f32>, Vec<usize>),
) -> PyResult<Bound<'py, PyAny>> {
    let out = to_numpy(py, out.0, &out.1)?;
    let attn = to_numpy(py, attn.0, &attn.1)?;
    Ok(PyTuple::new(py, [out, attn])?.into_any())
}

/// Runs a stacked LSTM built from PyTorch-named weights; returns `(output, h_n, c_n)`.
#[pyfunction]
#[pyo3(signature = (weights, x, num_layers, bidirectional, h0=None, c0=None))]
#[allow(clippy::type_complexity)]
pub fn lstm_forward<'py>(
    py: Python<'py>,
    weights: &Bound<'py, PyDict>,
    x: PyReadonlyArrayDyn<'py, f32>,
    num_layers: usize,
    bidirectional: bool,
    h0: Option<PyReadonlyArrayDyn<'py, f32>>,
    c0: Option<PyReadonlyArrayDyn<'py, f32>>,
) -> PyResult<(
    Bound<'py, PyArrayDyn<f32>>,
    Bound<'py, PyArrayDyn<f32>>,
    Bound<'py, PyArrayDyn<f32>>,
)> {
    let mut tensors = HashMap::new();
    for (key, value) in weights.iter() {
        let name: String = key.extract()?;
        let array: PyReadonlyArrayDyn<'py, f32> = value.extract()?;
        tensors.insert(name.clone(), values_of(&array, &format!("tensor {name}"))?);
    }
    let x = values_of(&x, "input x")?;
    let h0 = h0.map(|a| values_of(&a, "h0")).transpose()?;
    let c0 = c0.map(|a| values_of(&a, "c0")).transpose()?;
    let (out, h, c) = py
        .detach(|| nt_core::lstm_cpu::forward_arrays(tensors, x, num_layers, bidirectional, h0, c0))
        .py_err()?;
    Ok((
        to_numpy(py, out.0, &out.1)?,
        to_numpy(py, h.0, &h.1)?,
        to_numpy(py, c.0, &c.1)?,
    ))
}

/// Two numpy arrays, e.g. an output and its attention weights.
pub type ArrayPair<'py> = (Bound<'py, PyArrayDyn<f32>>, Bound<'py, PyArrayDyn<f32>>);

/// Runs multi-head attention built from PyTorch-named weights (`in_proj_weight`, `in_proj_bias`,
/// `out_proj.weight`, `out_proj.bias`); returns `(output, head-averaged weights)`.
#[pyfunction]
pub fn mha_forward<'py>(
    py: Python<'py>,
    weights: &Bound<'py, PyDict>,
    query: PyReadonlyArrayDyn<'py, f32>,
    key: PyReadonlyArrayDyn<'py, f32>,
    value: PyReadonlyArrayDyn<'py, f32>,
    num_heads: usize,
) -> PyResult<ArrayPair<'py>> {
    let mut tensors = HashMap::new();
    for (k, v) in weights.iter() {
        let name: String = k.extract()?;
        let array: PyReadonlyArrayDyn<'py, f32> = v.extract()?;
        tensors.insert(name.clone(), values_of(&array, &format!("tensor {name}"))?);
    }
    let q = values_of(&query, "attention query")?;
    let k = values_of(&key, "attention key")?;
    let v = values_of(&value, "attention value")?;
    let (out, w) = py
        .detach(|| nt_core::attention::forward_arrays(tensors, q, k, v, num_heads))
        .py_err()?;
    Ok((to_numpy(py, out.0, &out.1)?, to_numpy(py, w.0, &w.1)?))
}
