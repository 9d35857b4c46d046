"""Argument conversion shared by the kernel wrappers (:mod:`neural_trader.kernels`): arrays in the layout
the Rust extension borrows without a copy, and integers and reals checked by name. The conversion rules
are documented in :mod:`neural_trader.kernels`.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from neural_trader.errors import ConfigError, DataError, ShapeError

MAX_U64 = 2**64
MAX_I64 = 2**63 - 1


def as_rows(x: Any, name: str) -> np.ndarray:
    """``x`` as a C-contiguous int64 vector of row numbers (integers only: floats and bools are refused,
    an empty list is accepted). int64 input is returned as it is (no copy)."""
    try:
        arr = np.asarray(x)
    except ValueError as e:
        raise ShapeError(f"{name} is not a rectangular array: {e}") from None
    if arr.ndim != 1:
        raise ShapeError(f"{name}: expected shape (B,), got {arr.shape}")
    if arr.size == 0 and arr.dtype.kind == "f":  # np.asarray([]) is float64
        return np.zeros(0, dtype=np.int64)
    if arr.dtype.kind not in "iu":
        raise DataError(f"{name} must hold integer row numbers, got dtype {arr.dtype}")
    if arr.dtype.kind == "u" and arr.dtype.itemsize == 8 and arr.size and arr.max() > MAX_I64:
        at = int(np.argmax(arr > MAX_I64))
        raise DataError(f"{name}[{at}] = {arr[at]} is out of range (beyond int64)")
    return np.require(arr, dtype=np.int64, requirements=["C_CONTIGUOUS", "ALIGNED"])


def count(value: Any, name: str, minimum: int = 0) -> int:
    """A Python/numpy integer ``>= minimum`` and ``< 2**64`` (bools and floats are refused)."""
    if isinstance(value, (bool, np.bool_)):
        raise ConfigError(f"{name} must be an integer, got {value!r}")
    try:
        number = operator.index(value)
    except TypeError:
        raise ConfigError(f"{name} must be an integer, got {value!r}") from None
    if number < minimum:
        raise ConfigError(f"{name} must be >= {minimum}, got {number}")
    if number >= MAX_U64:  # beyond the Rust side's 64-bit integers: refused here, by name
        raise ConfigError(f"{name} must be < 2**64, got {number}")
    return number


def seed(value: Any) -> int:
    """A random seed: an integer in ``[0, 2**64)``."""
    return count(value, "seed")


def real(value: Any, name: str) -> float:
    """``value`` as a Python float, or a ``ConfigError`` naming it."""
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a real number, got {value!r}") from None
