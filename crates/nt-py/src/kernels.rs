//! Bindings of nt-core's data kernels (`nt_core::kernels`): numpy in, numpy out, GIL released.
//!
//! Inputs must be C-contiguous, aligned, native-endian float32/float64 arrays of the right rank; anything
//! else is a `ShapeError` (rank, layout) or `DataError` (dtype), never a silent copy or a wrong read.
//! The Python wrappers in `neural_trader/kernels.py` convert dtype and layout before calling these.
//! Outputs are built as one `Vec` in Rust and handed to numpy without a copy (`from_vec` + `reshape`).

use numpy::ndarray::Dimension;
use numpy::{
    Element, PyArray, PyArray1, PyArray2, PyArray3, PyArrayMethods, PyReadonlyArray,
    PyUntypedArray, PyUntypedArrayMethods,
};
use pyo3::prelude::*;

use nt_core::error::fmt_shape;
use nt_core::kernels::{self, AugmentConfig, MaskConfig, MaskStrategy, SeriesView, ZScore};
use nt_core::Error;

use crate::errors::{to_py_err, IntoPyResult};

/// A 2-D series borrowed from numpy in one of the accepted dtypes.
pub(crate) enum Series<'py> {
    F32(PyReadonlyArray<'py, f32, numpy::Ix2>),
    F64(PyReadonlyArray<'py, f64, numpy::Ix2>),
}

/// Checks that `obj` is a C-contiguous numpy array of rank `ndim`; returns its shape.
pub(crate) fn check_layout(
    obj: &Bound<'_, PyAny>,
    what: &str,
    ndim: usize,
    expected: &str,
) -> PyResult<Vec<usize>> {
    let arr = obj.cast::<PyUntypedArray>().map_err(|_| {
        let ty = obj
            .get_type()
            .name()
            .map(|n| n.to_string())
            .unwrap_or_else(|_| "?".into());
        to_py_err(Error::Data(format!(
            "{what} must be a numpy array, got {ty}"
        )))
    })?;
    let shape = arr.shape().to_vec();
    if arr.ndim() != ndim {
        return Err(to_py_err(Error::shape(what, expected, fmt_shape(&shape))));
    }
    if !arr.is_c_contiguous() {
        return Err(to_py_err(Error::shape(
            what,
            format!("{expected}, C-contiguous"),
            format!("a non-C-contiguous array of shape {}", fmt_shape(&shape)),
        )));
    }
    Ok(shape)
}

/// Read-only borrow of `obj` as `PyArray<T, D>`, or `None` when its dtype is not `T`.
pub(crate) fn borrow_as<'py, T: Element, D: Dimension>(
    obj: &Bound<'py, PyAny>,
    what: &str,
) -> PyResult<Option<PyReadonlyArray<'py, T, D>>> {
    match obj.cast::<PyArray<T, D>>() {
        Ok(arr) => arr
            .try_readonly()
            .map(Some)
            .map_err(|e| to_py_err(Error::Data(format!("{what} cannot be read: {e}")))),
        Err(_) => Ok(None),
    }
}

pub(crate) fn dtype_error(obj: &Bound<'_, PyAny>, what: &str, accepted: &str) -> PyErr {
    let dtype = obj
        .cast::<PyUntypedArray>()
        .ok()
        .and_then(|a| a.dtype().str().ok().map(|s| s.to_string()))
        .unwrap_or_else(|| "?".into());
    to_py_err(Error::Data(format!(
        "{what} has dtype {dtype}; expected {accepted} (native byte order)"
    )))
}

/// The contiguous data of a borrowed array; unaligned arrays (e.g. from a byte buffer) are refused.
pub(crate) fn slice_of<'a, T: Element, D: Dimension>(
    arr: &'a PyReadonlyArray<'_, T, D>,
    what: &str,
) -> PyResult<&'a [T]> {
    arr.as_slice().map_err(|_| {
        to_py_err(Error::shape(
            what,
            "an aligned C-contiguous array",
            "an unaligned array",
        ))
    })
}

pub(crate) fn extract_series<'py>(obj: &Bound<'py, PyAny>) -> PyResult<(Series<'py>, [usize; 2])> {
    let shape = check_layout(obj, "series", 2, "(T, F)")?;
    let dims = match shape.as_slice() {
        [t, f] => [*t, *f],
        _ => {
            return Err(to_py_err(Error::shape(
                "series",
                "(T, F)",
                fmt_shape(&shape),
            )))
        }
    };
    if let Some(a) = borrow_as::<f32, numpy::Ix2>(obj, "series")? {
        return Ok((Series::F32(a), dims));
    }
    if let Some(a) = borrow_as::<f64, numpy::Ix2>(obj, "series")? {
        return Ok((Series::F64(a), dims));
    }
    Err(dtype_error(obj, "series", "float32 or float64"))
}

/// A 1-D float64 parameter vector (mean or std), copied (it is small).
fn extract_vector(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<f64>> {
    check_layout(obj, what, 1, "(F,)")?;
    match borrow_as::<f64, numpy::Ix1>(obj, what)? {
        Some(a) => Ok(slice_of(&a, what)?.to_vec()),
        None => Err(dtype_error(obj, what, "float64")),
    }
}

fn extract_windows<'py>(
    obj: &Bound<'py, PyAny>,
) -> PyResult<(PyReadonlyArray<'py, f32, numpy::Ix3>, [usize; 3])> {
    let expected = "(N, W, 4) or (N, W, 5)";
    let shape = check_layout(obj, "windows", 3, expected)?;
    let dims = match shape.as_slice() {
        [n, w, f] => [*n, *w, *f],
        _ => {
            return Err(to_py_err(Error::shape(
                "windows",
                expected,
                fmt_shape(&shape),
            )))
        }
    };
    match borrow_as::<f32, numpy::Ix3>(obj, "windows")? {
        Some(a) => Ok((a, dims)),
        None => Err(dtype_error(obj, "windows", "float32")),
    }
}

/// The optional z-score of a kernel: `mean` and `std` both given (validated) or both `None`.
pub(crate) fn extract_zscore(
    mean: Option<&Bound<'_, PyAny>>,
    std: Option<&Bound<'_, PyAny>>,
) -> PyResult<Option<ZScore>> {
    match (mean, std) {
        (None, None) => Ok(None),
        (Some(m), Some(s)) => Ok(Some(
            ZScore::new(extract_vector(m, "mean")?, extract_vector(s, "std")?).py_err()?,
        )),
        _ => Err(to_py_err(Error::Config(
            "pass both mean and std, or neither".into(),
        ))),
    }
}

pub(crate) fn to_array3(
    py: Python<'_>,
    data: Vec<f32>,
    shape: [usize; 3],
) -> PyResult<Bound<'_, PyArray3<f32>>> {
    PyArray1::from_vec(py, data).reshape(shape)
}

/// Windows of `window` rows every `stride` rows of a `(T, F)` series, as a `(N, window, F)` float32
/// array, optionally z-scored per feature with `mean` and `std` (both or neither).
#[pyfunction]
#[pyo3(signature = (series, window, stride = 1, mean = None, std = None))]
fn sliding_windows<'py>(
    py: Python<'py>,
    series: &Bound<'py, PyAny>,
    window: usize,
    stride: usize,
    mean: Option<&Bound<'py, PyAny>>,
    std: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyArray3<f32>>> {
    let zscore = extract_zscore(mean, std)?;
    let (arr, [rows, cols]) = extract_series(series)?;
    let (data, shape) = match &arr {
        Series::F32(a) => {
            let s = slice_of(a, "series")?;
            py.detach(|| {
                let view = SeriesView::new(s, rows, cols)?;
                kernels::sliding_windows(view, window, stride, zscore.as_ref())
            })
        }
        Series::F64(a) => {
            let s = slice_of(a, "series")?;
            py.detach(|| {
                let view = SeriesView::new(s, rows, cols)?;
                kernels::sliding_windows(view, window, stride, zscore.as_ref())
            })
        }
    }
    .py_err()?;
    to_array3(py, data, shape)
}

/// `(mean, std)` as two float64 arrays of shape `(F,)`.
type MeanStd<'py> = (Bound<'py, PyArray1<f64>>, Bound<'py, PyArray1<f64>>);

/// Per-feature mean and population std (float64) of rows `[start, stop)` of a `(T, F)` series; constant
/// columns get std 1.0.
#[pyfunction]
#[pyo3(signature = (series, start = 0, stop = None))]
fn zscore_stats<'py>(
    py: Python<'py>,
    series: &Bound<'py, PyAny>,
    start: usize,
    stop: Option<usize>,
) -> PyResult<MeanStd<'py>> {
    let (arr, [rows, cols]) = extract_series(series)?;
    let range = start..stop.unwrap_or(rows);
    let z = match &arr {
        Series::F32(a) => {
            let s = slice_of(a, "series")?;
            py.detach(|| kernels::zscore_stats(SeriesView::new(s, rows, cols)?, range))
        }
        Series::F64(a) => {
            let s = slice_of(a, "series")?;
            py.detach(|| kernels::zscore_stats(SeriesView::new(s, rows, cols)?, range))
        }
    }
    .py_err()?;
    let (mean, std) = z.into_parts();
    Ok((PyArray1::from_vec(py, mean), PyArray1::from_vec(py, std)))
}

/// `(n, length)` boolean masks (`True` = masked) of the given strategy, deterministic per seed.
#[pyfunction]
#[pyo3(signature = (n, length, ratio = 0.15, strategy = "random", patch_size = 7, seed = 0))]
fn mask<'py>(
    py: Python<'py>,
    n: usize,
    length: usize,
    ratio: f64,
    strategy: &str,
    patch_size: usize,
    seed: u64,
) -> PyResult<Bound<'py, PyArray2<bool>>> {
    let cfg = MaskConfig {
        ratio,
        strategy: strategy.parse::<MaskStrategy>().py_err()?,
        patch_size,
    };
    let data = py
        .detach(|| kernels::mask(n, length, &cfg, seed))
        .py_err()?;
    PyArray1::from_vec(py, data).reshape([n, length])
}

/// One augmented copy of `(N, W, 4|5)` float32 OHLC[V] windows.
#[pyfunction]
#[pyo3(signature = (
    windows, time_warp_prob = 0.5, time_warp_max = 0.12, jitter_prob = 0.5, jitter_scale = 0.05,
    vol_scale_prob = 0.3, vol_scale_range = (0.85, 1.15), seed = 0,
))]
#[allow(clippy::too_many_arguments)] // mirrors the Python keyword arguments one to one
fn augment<'py>(
    py: Python<'py>,
    windows: &Bound<'py, PyAny>,
    time_warp_prob: f64,
    time_warp_max: f64,
    jitter_prob: f64,
    jitter_scale: f64,
    vol_scale_prob: f64,
    vol_scale_range: (f64, f64),
    seed: u64,
) -> PyResult<Bound<'py, PyArray3<f32>>> {
    let cfg = AugmentConfig {
        time_warp_prob,
        time_warp_max,
        jitter_prob,
        jitter_scale,
        vol_scale_prob,
        vol_scale_range,
    };
    let (arr, shape) = extract_windows(windows)?;
    let s = slice_of(&arr, "windows")?;
    let data = py
        .detach(|| kernels::augment(s, shape, &cfg, seed))
        .py_err()?;
    to_array3(py, data, shape)
}

/// The windows followed by `num_augmentations` augmented copies: `((1 + k) * N, W, F)`.
#[pyfunction]
#[pyo3(signature = (
    windows, num_augmentations = 4, seed = 0, time_warp_prob = 0.5, time_warp_max = 0.12,
    jitter_prob = 0.5, jitter_scale = 0.05, vol_scale_prob = 0.3, vol_scale_range = (0.85, 1.15),
))]
#[allow(clippy::too_many_arguments)] // mirrors the Python keyword arguments one to one
fn augment_dataset<'py>(
    py: Python<'py>,
    windows: &Bound<'py, PyAny>,
    num_augmentations: usize,
    seed: u64,
    time_warp_prob: f64,
    time_warp_max: f64,
    jitter_prob: f64,
    jitter_scale: f64,
    vol_scale_prob: f64,
    vol_scale_range: (f64, f64),
) -> PyResult<Bound<'py, PyArray3<f32>>> {
    let cfg = AugmentConfig {
        time_warp_prob,
        time_warp_max,
        jitter_prob,
        jitter_scale,
        vol_scale_prob,
        vol_scale_range,
    };
    let (arr, shape) = extract_windows(windows)?;
    let s = slice_of(&arr, "windows")?;
    let (data, out_shape) = py
        .detach(|| kernels::augment_dataset(s, shape, num_augmentations, &cfg, seed))
        .py_err()?;
    to_array3(py, data, out_shape)
}

/// Adds the kernel functions to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(sliding_windows, m)?)?;
    m.add_function(wrap_pyfunction!(zscore_stats, m)?)?;
    m.add_function(wrap_pyfunction!(mask, m)?)?;
    m.add_function(wrap_pyfunction!(augment, m)?)?;
    m.add_function(wrap_pyfunction!(augment_dataset, m)?)?;
    Ok(())
}
