"""The one conversion of user arrays into what the Rust extension reads, for the kernels and the engine.

* float32 and float64 are used as they are; float16 becomes float32, other real dtypes (integers, long
  double) become float64; with ``float32_only`` (the native engine, the augmentation kernels) everything
  becomes float32. float64 values beyond float32's range become Inf here, and the extension then refuses
  them by position, so the error names where the bad value is.
* Object, complex, bool, string, bytes, void and datetime arrays raise ``DataError``: none of them is a
  number the models could read, and converting them would lose information without a word.
* Non-contiguous, Fortran-ordered, unaligned (a view of a byte buffer at an odd offset) or non-native-endian
  arrays are copied once into a C-contiguous native array; a C-contiguous array of the target dtype is
  never copied.
* A ragged nested list, or (with ``ndim``) the wrong number of dimensions, raises ``ShapeError``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from neural_trader.errors import DataError, ShapeError

_REJECTED_KINDS = {"b": "bool", "O": "object", "c": "complex", "U": "str", "S": "bytes", "V": "void"}


def as_real_array(
    x: Any,
    name: str = "x",
    ndim: int | None = None,
    shape_doc: str | None = None,
    *,
    float32_only: bool = False,
    dtype: Any = None,
) -> np.ndarray:
    """``x`` as a C-contiguous, aligned, native float32 or float64 array (see the module docstring).

    Args:
        x: anything ``np.asarray`` accepts.
        name: the argument's name, for error messages.
        ndim: the rank required, or None to leave the rank to the caller.
        shape_doc: the expected shape in words, e.g. ``"(T, F)"``, for the rank error.
        float32_only: convert every real dtype to float32 (what the native engine and the augmentation
            kernels compute in).
        dtype: convert to exactly this dtype (e.g. float64 for z-score parameters); overrides the rules.

    Raises:
        DataError: a dtype that does not hold real numbers. ShapeError: a ragged list or a wrong rank.

    Example:
        >>> as_real_array([[1, 2], [3, 4]], "series", 2, "(T, F)").dtype
        dtype('float64')
        >>> as_real_array(np.zeros(3, np.float64), float32_only=True).dtype
        dtype('float32')
    """
    try:
        arr = np.asarray(x)
    except ValueError as e:  # a ragged nested list: numpy cannot give it one shape
        raise ShapeError(f"{name} is not a rectangular array: {e}") from None
    kind = arr.dtype.kind
    if kind in _REJECTED_KINDS or kind not in "fiu":
        label = _REJECTED_KINDS.get(kind, str(arr.dtype))
        raise DataError(f"{name} has unsupported dtype {label}; expected real numbers (float32/float64)")
    if ndim is not None and arr.ndim != ndim:
        raise ShapeError(f"{name}: expected shape {shape_doc or f'of rank {ndim}'}, got {arr.shape}")
    if dtype is not None:
        target = np.dtype(dtype)
    elif float32_only or (kind == "f" and arr.dtype.itemsize <= 4):
        target = np.dtype(np.float32)
    else:
        target = np.dtype(np.float64)
    with np.errstate(over="ignore"):
        return np.require(arr, dtype=target, requirements=["C_CONTIGUOUS", "ALIGNED"])


def as_float32(x: Any, name: str = "x") -> np.ndarray:
    """``as_real_array(x, name, float32_only=True)``: the input form of the native engine.

    Example:
        >>> as_float32([[0.5]]).dtype
        dtype('float32')
    """
    return as_real_array(x, name, float32_only=True)
