//! Bindings of the kernels that feed training (`nt_core::kernels::{gather, barriers}`): the window
//! gather of constant-memory training, which writes into a caller's reused float32 buffer, and
//! triple-barrier labels. Same rules as `kernels.rs`: C-contiguous, aligned, native-endian arrays of
//! the right rank and dtype or a typed error, never a silent copy; the GIL is released for the work.

use numpy::{PyArray1, PyArray3, PyArrayMethods, PyReadonlyArray1, PyUntypedArrayMethods};
use pyo3::prelude::*;

use nt_core::error::fmt_shape;
use nt_core::kernels::{self, SeriesView, TripleBarrier, VerticalLabel};
use nt_core::Error;

use crate::errors::{to_py_err, IntoPyResult};
use crate::kernels::{
    borrow_as, check_layout, dtype_error, extract_series, extract_zscore, slice_of, to_array3,
    Series,
};

/// A 1-D array of `T` borrowed without a copy (`shape` and `accepted` describe it for errors).
fn extract_1d<'py, T: numpy::Element>(
    obj: &Bound<'py, PyAny>,
    what: &str,
    shape: &str,
    accepted: &str,
) -> PyResult<PyReadonlyArray1<'py, T>> {
    check_layout(obj, what, 1, shape)?;
    borrow_as::<T, numpy::Ix1>(obj, what)?.ok_or_else(|| dtype_error(obj, what, accepted))
}

/// The caller's output buffer, checked to be a writeable, C-contiguous float32 array of `shape` that
/// shares no memory with the series (which is borrowed first, so numpy's borrow tracker refuses an
/// overlap).
fn checked_out<'py>(
    obj: &Bound<'py, PyAny>,
    shape: [usize; 3],
) -> PyResult<Bound<'py, PyArray3<f32>>> {
    let expected = fmt_shape(&shape);
    let actual = check_layout(obj, "out", 3, &expected)?;
    let arr = obj
        .cast::<PyArray3<f32>>()
        .map_err(|_| dtype_error(obj, "out", "float32"))?;
    if actual != shape {
        return Err(to_py_err(Error::shape("out", expected, fmt_shape(&actual))));
    }
    if !arr.is_aligned() {
        return Err(to_py_err(Error::shape(
            "out",
            "an aligned C-contiguous array",
            "an unaligned array",
        )));
    }
    Ok(arr.clone())
}

/// Windows of `window` rows starting at rows `starts` of a `(T, F)` series, written (z-scored when
/// `mean` and `std` are given) into `out`, a `(B, window, F)` float32 array that is returned; a new
/// array when `out` is `None`.
#[pyfunction]
#[pyo3(signature = (series, starts, window, mean = None, std = None, out = None))]
fn gather_windows<'py>(
    py: Python<'py>,
    series: &Bound<'py, PyAny>,
    starts: &Bound<'py, PyAny>,
    window: usize,
    mean: Option<&Bound<'py, PyAny>>,
    std: Option<&Bound<'py, PyAny>>,
    out: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyArray3<f32>>> {
    let zscore = extract_zscore(mean, std)?;
    let (arr, [rows, cols]) = extract_series(series)?;
    let starts_arr = extract_1d::<i64>(starts, "starts", "(B,)", "int64")?;
    let starts = slice_of(&starts_arr, "starts")?;
    let z = zscore.as_ref();
    let Some(out) = out else {
        let (data, shape) = match &arr {
            Series::F32(a) => {
                let s = slice_of(a, "series")?;
                py.detach(|| {
                    kernels::gather_windows_new(SeriesView::new(s, rows, cols)?, starts, window, z)
                })
            }
            Series::F64(a) => {
                let s = slice_of(a, "series")?;
                py.detach(|| {
                    kernels::gather_windows_new(SeriesView::new(s, rows, cols)?, starts, window, z)
                })
            }
        }
        .py_err()?;
        return to_array3(py, data, shape);
    };
    let out = checked_out(out, [starts.len(), window, cols])?;
    let mut target = out.try_readwrite().map_err(|e| {
        to_py_err(Error::Data(format!(
            "out cannot be written ({e}): pass a writeable float32 array that shares no memory \
             with series"
        )))
    })?;
    let dst = target.as_slice_mut().map_err(|_| {
        to_py_err(Error::shape(
            "out",
            "a C-contiguous array",
            "a non-contiguous array",
        ))
    })?;
    match &arr {
        Series::F32(a) => {
            let s = slice_of(a, "series")?;
            py.detach(|| {
                kernels::gather_windows(SeriesView::new(s, rows, cols)?, starts, window, z, dst)
            })
        }
        Series::F64(a) => {
            let s = slice_of(a, "series")?;
            py.detach(|| {
                kernels::gather_windows(SeriesView::new(s, rows, cols)?, starts, window, z, dst)
            })
        }
    }
    .py_err()?;
    drop(target);
    Ok(out)
}

/// `(label, t1, ret)` of triple-barrier labelling: float32 labels (+1, -1, 0, NaN when unknown),
/// int64 deciding rows (-1 when unknown) and float64 log returns at those rows.
type Barriers<'py> = (
    Bound<'py, PyArray1<f32>>,
    Bound<'py, PyArray1<i64>>,
    Bound<'py, PyArray1<f64>>,
);

/// Triple-barrier labels of every row of a float64 close series, with float64 volatility `sigma`.
#[pyfunction]
#[pyo3(
    signature = (close, sigma, horizon, upper = Some(1.0), lower = Some(1.0), vertical = "zero"),
    text_signature = "(close, sigma, horizon, upper=1.0, lower=1.0, vertical='zero')"
)]
fn triple_barrier<'py>(
    py: Python<'py>,
    close: &Bound<'py, PyAny>,
    sigma: &Bound<'py, PyAny>,
    horizon: usize,
    upper: Option<f64>,
    lower: Option<f64>,
    vertical: &str,
) -> PyResult<Barriers<'py>> {
    let spec = TripleBarrier {
        horizon,
        upper,
        lower,
        vertical: vertical.parse::<VerticalLabel>().py_err()?,
    };
    let close_arr = extract_1d::<f64>(close, "close", "(T,)", "float64")?;
    let sigma_arr = extract_1d::<f64>(sigma, "sigma", "(T,)", "float64")?;
    let (c, s) = (
        slice_of(&close_arr, "close")?,
        slice_of(&sigma_arr, "sigma")?,
    );
    let out = py
        .detach(|| kernels::triple_barrier(c, s, &spec))
        .py_err()?;
    Ok((
        PyArray1::from_vec(py, out.label),
        PyArray1::from_vec(py, out.t1),
        PyArray1::from_vec(py, out.ret),
    ))
}

/// Adds the training kernels to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(gather_windows, m)?)?;
    m.add_function(wrap_pyfunction!(triple_barrier, m)?)?;
    Ok(())
}
