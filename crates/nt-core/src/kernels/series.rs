//! The input side of the kernels: a validated row-major `(rows, cols)` view over a flat slice, the
//! element types it accepts, and a fallible zero-filled allocation for outputs.

use std::ops::Range;

use rayon::prelude::*;

use crate::error::fmt_shape;
use crate::{Error, Result};

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// An element type the kernels read: `f32` or `f64` (sealed).
pub trait Sample: Copy + Send + Sync + sealed::Sealed + 'static {
    /// Numpy's name of the type, for messages.
    const DTYPE: &'static str;
    /// Widened to `f64`.
    fn to_f64(self) -> f64;
    /// Neither NaN nor infinite.
    fn finite(self) -> bool;
    /// Copies `src` into `dst` (same length), rounding to f32: a `memcpy` for f32.
    fn copy_to_f32(src: &[Self], dst: &mut [f32]);
    /// The slice itself when the type is f32 (no conversion needed), `None` otherwise.
    fn as_f32(src: &[Self]) -> Option<&[f32]>;
}

impl Sample for f32 {
    const DTYPE: &'static str = "float32";
    #[inline]
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    #[inline]
    fn finite(self) -> bool {
        self.is_finite()
    }
    #[inline]
    fn copy_to_f32(src: &[Self], dst: &mut [f32]) {
        dst.copy_from_slice(src);
    }
    #[inline]
    fn as_f32(src: &[Self]) -> Option<&[f32]> {
        Some(src)
    }
}

impl Sample for f64 {
    const DTYPE: &'static str = "float64";
    #[inline]
    fn to_f64(self) -> f64 {
        self
    }
    #[inline]
    fn finite(self) -> bool {
        self.is_finite()
    }
    #[inline]
    fn copy_to_f32(src: &[Self], dst: &mut [f32]) {
        for (d, s) in dst.iter_mut().zip(src) {
            *d = *s as f32;
        }
    }
    #[inline]
    fn as_f32(_: &[Self]) -> Option<&[f32]> {
        None
    }
}

/// A C-ordered (row-major) `(rows, cols)` matrix borrowed from a flat slice: row `r` is
/// `data[r * cols .. (r + 1) * cols]`. Rows are time steps, columns are features.
#[derive(Debug, Clone, Copy)]
pub struct SeriesView<'a, T> {
    data: &'a [T],
    rows: usize,
    cols: usize,
}

impl<'a, T: Sample> SeriesView<'a, T> {
    /// Wraps `data` as `(rows, cols)`. Fails with a shape error unless `rows * cols == data.len()`
    /// (computed without overflow) and `cols >= 1`.
    pub fn new(data: &'a [T], rows: usize, cols: usize) -> Result<Self> {
        let expected = "(T, F) with F >= 1 and T * F == number of elements";
        if cols == 0 {
            return Err(Error::shape("series", expected, fmt_shape(&[rows, cols])));
        }
        match rows.checked_mul(cols) {
            Some(n) if n == data.len() => Ok(Self { data, rows, cols }),
            _ => Err(Error::shape(
                "series",
                format!(
                    "{} elements for shape {}",
                    data.len(),
                    fmt_shape(&[rows, cols])
                ),
                fmt_shape(&[rows, cols]),
            )),
        }
    }

    /// Number of rows (time steps).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns (features).
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The flat row-major data.
    pub fn data(&self) -> &'a [T] {
        self.data
    }

    /// The flat data of rows `range` (which the caller has checked against [`rows`](Self::rows)).
    pub(crate) fn rows_slice(&self, range: Range<usize>) -> &'a [T] {
        &self.data[range.start * self.cols..range.end * self.cols]
    }

    /// Fails with a data error naming the first row and column (in row-major order) within `range`
    /// that holds NaN or ±Inf.
    pub fn check_finite(&self, range: Range<usize>) -> Result<()> {
        let part = self.rows_slice(range.clone());
        match first_non_finite(part) {
            None => Ok(()),
            Some(i) => {
                let value = part[i].to_f64();
                Err(Error::Data(format!(
                    "series has a non-finite value ({value}) at row {}, column {}",
                    range.start + i / self.cols,
                    i % self.cols
                )))
            }
        }
    }
}

/// Index of the first NaN or ±Inf in `data`, if any.
///
/// Scans fixed chunks in parallel with a branch-free test that the compiler vectorises, and only then
/// searches the first bad chunk element by element: rayon's per-element `position_first` costs tens of
/// nanoseconds per value and was slower than copying the windows.
pub(crate) fn first_non_finite<T: Sample>(data: &[T]) -> Option<usize> {
    const CHUNK: usize = 1 << 14;
    let chunk = data
        .par_chunks(CHUNK)
        .position_first(|c| !c.iter().fold(true, |ok, x| ok & x.finite()))?;
    let offset = chunk * CHUNK;
    data[offset..]
        .iter()
        .position(|x| !x.finite())
        .map(|i| offset + i)
}

/// Element types whose all-zero bit pattern is a valid value (`0.0`, `false`).
pub(crate) trait ZeroBits: Copy {}
impl ZeroBits for f32 {}
impl ZeroBits for f64 {}
impl ZeroBits for bool {}
impl ZeroBits for i64 {}

/// A zero-filled `Vec` of `len` elements that reports allocation failure as an error instead of
/// aborting the process, and costs no write pass: large zeroed allocations come straight from the
/// OS (calloc/mmap), so the kernel's own writes are the first touch of each page.
pub(crate) fn zeroed_vec<T: ZeroBits>(len: usize, what: &str) -> Result<Vec<T>> {
    if len == 0 || std::mem::size_of::<T>() == 0 {
        return Ok(Vec::new());
    }
    let too_big = || {
        Error::Data(format!(
            "{what}: cannot allocate {len} elements ({:.1} GiB)",
            len as f64 * std::mem::size_of::<T>() as f64 / (1u64 << 30) as f64
        ))
    };
    let layout = std::alloc::Layout::array::<T>(len).map_err(|_| too_big())?;
    // SAFETY: `layout` has non-zero size (len > 0, size_of::<T>() > 0).
    let ptr = unsafe { std::alloc::alloc_zeroed(layout) }.cast::<T>();
    if ptr.is_null() {
        return Err(too_big());
    }
    advise_huge_pages(ptr.cast::<u8>(), layout.size());
    // SAFETY: `ptr` was just allocated by the global allocator with the layout of `[T; len]`
    // (so size and alignment match what `Vec<T>` with capacity `len` deallocates), and all its
    // bytes are zero, which `ZeroBits` guarantees is a valid `T`; so all `len` elements are
    // initialised.
    Ok(unsafe { Vec::from_raw_parts(ptr, len, len) })
}

/// Asks Linux to back a large fresh allocation with transparent huge pages (2 MiB), as numpy does for
/// its arrays. Where THP is in `madvise` mode (the common default), a 361 MB window buffer otherwise
/// takes ~88,000 4 KiB page faults on first write, which cost several times the copy itself. Only a
/// hint: failure is ignored, and other systems do nothing.
#[cfg(target_os = "linux")]
fn advise_huge_pages(ptr: *mut u8, len: usize) {
    extern "C" {
        fn madvise(
            addr: *mut std::ffi::c_void,
            len: usize,
            advice: std::ffi::c_int,
        ) -> std::ffi::c_int;
    }
    const MADV_HUGEPAGE: std::ffi::c_int = 14;
    const PAGE: usize = 4096;
    if len < (4 << 20) {
        return;
    }
    let start = (ptr as usize).div_ceil(PAGE) * PAGE;
    let end = (ptr as usize + len) / PAGE * PAGE;
    if end > start {
        // SAFETY: [start, end) lies inside the allocation we own and is page aligned; MADV_HUGEPAGE
        // changes no contents, only how the kernel backs the pages.
        unsafe {
            madvise(start as *mut std::ffi::c_void, end - start, MADV_HUGEPAGE);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_huge_pages(_ptr: *mut u8, _len: usize) {}

/// `a * b * c` or a configuration error naming the shape, instead of a silent wrap-around.
pub(crate) fn checked_len(dims: &[usize], what: &str) -> Result<usize> {
    dims.iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .filter(|&n| n <= isize::MAX as usize / 8)
        .ok_or_else(|| {
            Error::Config(format!(
                "{what} of shape {} has too many elements to address",
                fmt_shape(dims)
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn view_checks_element_count() {
        let data = [0.0f32; 6];
        assert!(SeriesView::new(&data, 2, 3).is_ok());
        assert!(matches!(
            SeriesView::new(&data, 3, 3),
            Err(Error::Shape { .. })
        ));
        assert!(matches!(
            SeriesView::new(&data, 6, 0),
            Err(Error::Shape { .. })
        ));
        assert!(matches!(
            SeriesView::new(&data, usize::MAX, 2),
            Err(Error::Shape { .. })
        ));
    }

    #[test]
    fn check_finite_names_first_bad_cell() {
        let data = [0.0, 1.0, 2.0, 3.0, f64::NAN, 5.0, f64::INFINITY, 7.0];
        let view = SeriesView::new(&data, 4, 2).unwrap();
        let msg = view.check_finite(0..4).unwrap_err().to_string();
        assert!(msg.contains("row 2, column 0"), "{msg}");
        let msg = view.check_finite(3..4).unwrap_err().to_string();
        assert!(
            msg.contains("row 3, column 0") && msg.contains("inf"),
            "{msg}"
        );
        assert!(view.check_finite(0..2).is_ok());
    }

    #[test]
    fn zeroed_vec_is_zero_or_an_error() {
        let v: Vec<f32> = zeroed_vec(1000, "x").unwrap();
        assert!(v.iter().all(|&x| x == 0.0) && v.len() == 1000);
        let v: Vec<bool> = zeroed_vec(0, "x").unwrap();
        assert!(v.is_empty());
        assert!(matches!(
            zeroed_vec::<f64>(usize::MAX / 4, "x"),
            Err(Error::Data(_))
        ));
    }

    #[test]
    fn checked_len_catches_overflow() {
        assert_eq!(checked_len(&[2, 3, 4], "x").unwrap(), 24);
        assert!(matches!(
            checked_len(&[usize::MAX, 2], "x"),
            Err(Error::Config(_))
        ));
    }
}
