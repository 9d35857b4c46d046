"""Hostile arrays for every function that takes one: the native engine, the raw ``_core`` functions and
the kernels. Each function gets the same families of inputs:

* values: NaN, +Inf, -Inf (``DataError``); extreme finite values (a finite result or a typed error);
* dtypes: integers, float16/64, long double, big-endian (converted, same result as the converted
  input) and bool, complex, object, str, bytes, datetime, structured, ``None`` (``DataError``);
* layouts: Fortran order, strided, negative strides, transposed, unaligned, read-only, memory-mapped,
  nested lists, zero strides (same result as a C-contiguous copy; the raw ``_core`` functions refuse
  what they document they refuse);
* ranks 0 to 5 other than the right one (``ShapeError``), ragged nested lists;
* zero sizes on every axis (an empty result of the right shape, or a typed error);
* huge: zero-stride views of petabytes, sparse memory-maps of terabytes (a typed error or
  ``MemoryError``, never an abort).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided
from rel_cases import add
from rel_fixtures import (
    att_engine,
    clf_engine,
    encoder_engine,
    ohlcv_windows,
    sparse_memmap,
    trend_engine,
    windows,
    workdir,
)

from neural_trader import _core, kernels
from neural_trader.errors import ConfigError, DataError, NeuralTraderError, ShapeError

TYPED = (NeuralTraderError,)
EMPTY = "empty"  # zero-size axis: must return an empty array of the documented shape


@dataclass
class ArrayFn:
    """A function under test, seen through the one array argument that the cases vary."""

    name: str
    call: Callable[[Any], Any]
    base: Callable[[], np.ndarray]
    # The documented conversion: the dtype a given input dtype is computed in (None: no conversion,
    # the raw _core layer, which refuses other dtypes and layouts).
    target: Callable[[np.dtype], np.dtype] | None
    # Zero-size axis -> EMPTY (returns an empty array) or the exception classes allowed.
    zero_axes: dict[int, Any] = field(default_factory=dict)
    # Errors the raw layer raises for a dtype it does not take (pyo3's TypeError for typed arguments).
    raw_dtype_error: tuple[type[BaseException], ...] = (DataError,)
    positive: bool = False  # values must stay positive (OHLC candles): the integer variants keep them so
    slow_only: bool = False
    # Dtypes the raw layer takes as they are (the raw kernels take float32 and float64).
    raw_dtypes: tuple[str, ...] = ("float32",)


def _f32(_: np.dtype) -> np.dtype:
    return np.dtype(np.float32)


def _kernel_target(dt: np.dtype) -> np.dtype:
    # kernels.py: float32 stays, float16 -> float32, every other real dtype -> float64.
    return np.dtype(np.float32) if dt.kind == "f" and dt.itemsize <= 4 else np.dtype(np.float64)


def _lazy(make: Callable[[np.ndarray, str], Any], base: np.ndarray, name: str) -> Callable[[], Any]:
    made: list[Any] = []

    def get() -> Any:
        if not made:
            made.append(make(base, name))
        return made[0]

    return get


def _same_result(fn: ArrayFn, variant: Any) -> Callable[[Any], None]:
    """Check: the output equals the output of the documented conversion of the same input (``variant``
    may be a function that makes it)."""

    def check(got: Any) -> None:
        arr = np.asarray(variant() if callable(variant) else variant)
        canon = np.ascontiguousarray(arr, dtype=fn.target(arr.dtype) if fn.target else arr.dtype)
        want = fn.call(canon)
        for g, w in zip(_as_tuple(got), _as_tuple(want), strict=True):
            assert g.shape == w.shape and g.dtype == w.dtype, (g.shape, w.shape, g.dtype, w.dtype)
            np.testing.assert_array_equal(g, w)

    return check


def _as_tuple(v: Any) -> tuple:
    return v if isinstance(v, tuple) else (v,)


def _finite(got: Any) -> None:
    for g in _as_tuple(got):
        assert np.isfinite(g).all(), "non-finite output from finite input"


def _empty_of(axis: int, base: np.ndarray) -> Callable[[Any], None]:
    def check(got: Any) -> None:
        for g in _as_tuple(got):
            assert g.size == 0, f"expected an empty result for a zero-size axis {axis}, got {g.shape}"

    return check


def _unaligned(a: np.ndarray) -> np.ndarray:
    buf = bytearray(a.nbytes + 1)
    out = np.frombuffer(buf, dtype=a.dtype, offset=1, count=a.size).reshape(a.shape)
    out[...] = a
    assert not out.flags.aligned
    return out


def _strided(a: np.ndarray) -> np.ndarray:
    big = np.repeat(a, 2, axis=-1)
    return big[..., ::2]


def _negative(a: np.ndarray) -> np.ndarray:
    sl = (slice(None, None, -1),) * a.ndim
    return a[sl].copy()[sl]


def _readonly(a: np.ndarray) -> np.ndarray:
    b = a.copy()
    b.flags.writeable = False
    return b


def _memmap(a: np.ndarray, name: str) -> np.ndarray:
    path = workdir() / f"{name}.bin"
    a.tofile(path)
    return np.memmap(path, dtype=a.dtype, mode="r", shape=a.shape)


def _zero_stride(a: np.ndarray) -> np.ndarray:
    # Every row the same: a zero stride on axis 0, values equal to np.broadcast_to(a[:1]).
    return np.broadcast_to(a[:1], a.shape)


LAYOUTS: dict[str, Callable[[np.ndarray, str], Any]] = {
    "fortran": lambda a, n: np.asfortranarray(a),
    "strided": lambda a, n: _strided(a),
    "negative_strides": lambda a, n: _negative(a),
    "transposed": lambda a, n: np.ascontiguousarray(a.T).T,
    "unaligned": lambda a, n: _unaligned(a),
    "readonly": lambda a, n: _readonly(a),
    "memmap": lambda a, n: _memmap(a, n),
    "nested_list": lambda a, n: a.tolist(),
    "zero_stride": lambda a, n: _zero_stride(a),
}
# Layouts the raw _core functions accept as they are (C-contiguous, aligned, native); None = every one.
RAW_ACCEPTS = {"readonly", "memmap"}

CONVERTED_DTYPES = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint64", "float16", "float64"]
SLOW_DTYPES = ["uint32", "longdouble", ">f4", ">f8", "<f4"]
REFUSED_DTYPES: dict[str, Callable[[np.ndarray], Any]] = {
    "bool": lambda a: a > 0,
    "complex64": lambda a: a.astype(np.complex64),
    "complex128": lambda a: a.astype(np.complex128),
    "object_numbers": lambda a: a.astype(object),
    "object_none": lambda a: np.full(a.shape, None, dtype=object),
    "str": lambda a: a.astype(str),
    "bytes": lambda a: a.astype(bytes),
    "datetime64": lambda a: np.zeros(a.shape, dtype="datetime64[s]"),
    "timedelta64": lambda a: np.zeros(a.shape, dtype="timedelta64[s]"),
    "structured": lambda a: np.zeros(a.shape, dtype=[("x", "f4"), ("y", "f4")]),
    "None": lambda a: None,
    "string_scalar": lambda a: "not an array",
}


def _converted(a: np.ndarray, dtype: str, positive: bool) -> np.ndarray:
    dt = np.dtype(dtype)
    if dt.kind in "iu":
        v = np.round(a * 10)
        if dt.kind == "u" or positive:
            v = np.abs(v) + (1 if positive else 0)
        if positive:
            # Integer OHLC: keep high >= max(open, close) and low <= min(open, close) after rounding.
            v = np.round(a).clip(1, None)
        return v.astype(dt)
    return a.astype(dt)


def register_family(fn: ArrayFn) -> None:
    """Adds every case of the families in the module docstring for ``fn``."""
    base = fn.base()
    raw = fn.target is None
    slow = fn.slow_only

    def add_case(suffix: str, run: Callable[[], Any], *args: Any, slow_case: bool = False, **kw: Any) -> None:
        add(f"{fn.name}/{suffix}", run, *args, slow=slow or slow_case, **kw)

    # Values.
    for label, value in (("nan", np.nan), ("inf", np.inf), ("neg_inf", -np.inf)):
        for where in ("first", "last", "middle"):
            bad = base.copy()
            flat = bad.reshape(-1)
            flat[{"first": 0, "last": -1, "middle": flat.size // 2}[where]] = value
            add_case(
                f"value={label}@{where}", lambda b=bad: fn.call(b), DataError, slow_case=where != "middle"
            )
    for label, value in (("max_f32", np.finfo(np.float32).max), ("tiny_f32", np.finfo(np.float32).tiny)):
        extreme = np.full_like(base, value)
        if fn.positive:
            extreme[..., 1] = value  # keep candles valid: all equal is valid OHLC
        add_case(f"value={label}", lambda e=extreme: fn.call(e), None, _finite_or_typed(fn, extreme))

    # Dtypes.
    for dtype in CONVERTED_DTYPES + SLOW_DTYPES:
        variant = _converted(base, dtype, fn.positive)
        is_slow = dtype in SLOW_DTYPES
        if raw and not any(np.dtype(dtype) == np.dtype(d) for d in fn.raw_dtypes):
            add_case(f"dtype={dtype}", lambda v=variant: fn.call(v), fn.raw_dtype_error, slow_case=is_slow)
        elif raw and np.dtype(dtype) == base.dtype:
            continue
        else:
            add_case(
                f"dtype={dtype}",
                lambda v=variant: fn.call(v),
                None,
                _same_result(fn, variant),
                slow_case=is_slow,
            )
    if not raw or "float64" in fn.raw_dtypes:
        # Finite float64 beyond float32's range: a DataError (it is Inf once converted) or finite output.
        big = base.astype(np.float64) * 1e300
        add(
            f"{fn.name}/dtype=float64_beyond_float32",
            lambda b=big: _finite_or_data_error(fn.call, b),
            None,
            slow=slow,
        )
    for label, make in REFUSED_DTYPES.items():
        variant = make(base)
        allowed = (TypeError, DataError) if raw else (DataError,)
        if label in ("None", "string_scalar") and not raw:
            allowed = (DataError, ShapeError)
        add_case(f"dtype={label}", lambda v=variant: fn.call(v), allowed)

    # Layouts.
    for label, make in LAYOUTS.items():
        # Built when the case runs (a memory map is a file): registering cases writes nothing.
        variant = _lazy(make, base, f"{fn.name.replace('/', '_')}_{label}")
        if raw and label not in RAW_ACCEPTS:
            if label == "nested_list":
                allowed: tuple = (TypeError, DataError)
            elif label == "zero_stride":
                allowed = (ShapeError,)
            else:
                allowed = (ShapeError, *fn.raw_dtype_error)
            add_case(f"layout={label}", lambda v=variant: fn.call(v()), allowed)
        else:
            add_case(f"layout={label}", lambda v=variant: fn.call(v()), None, _same_result(fn, variant))

    # Ranks.
    for rank in range(0, 6):
        if rank == base.ndim:
            continue
        shape = (base.shape + (2,) * 6)[:rank] if rank > base.ndim else base.shape[:rank]
        wrong = np.zeros(shape, dtype=base.dtype)
        add_case(
            f"rank={rank}", lambda w=wrong: fn.call(w), ShapeError if not raw else (ShapeError, TypeError)
        )
    ragged = [base[0].tolist(), base[0][:-1].tolist()]
    add_case(
        "ragged_list",
        lambda r=ragged: fn.call(r),
        (ShapeError, DataError) if not raw else (TypeError, DataError),
    )

    # Zero sizes.
    for axis in range(base.ndim):
        shape = list(base.shape)
        shape[axis] = 0
        empty = np.zeros(shape, dtype=base.dtype)
        expect = fn.zero_axes.get(axis, (ShapeError, ConfigError))
        if expect == EMPTY:
            add_case(f"zero_axis={axis}", lambda e=empty: fn.call(e), None, _empty_of(axis, base))
        else:
            add_case(f"zero_axis={axis}", lambda e=empty: fn.call(e), expect)
    all_zero = np.zeros((0,) * base.ndim, dtype=base.dtype)
    add_case("zero_all_axes", lambda e=all_zero: _empty_or_typed(fn.call, e), None)

    # Huge.
    huge_shape = (2**40,) + base.shape[1:]
    huge_view = as_strided(base.reshape(-1)[:1], shape=huge_shape, strides=(0,) * base.ndim)
    add_case(
        "huge_zero_stride_view",
        lambda h=huge_view: fn.call(h),
        (ShapeError, MemoryError, ConfigError, DataError) if not raw else (ShapeError,),
        max_rss_growth_mb=512,
    )
    # A 1 TiB C-contiguous float32 memory map (a sparse file): the engine copies its input, and that copy
    # cannot be allocated. Run without the address-space cap, which would refuse the map itself; the
    # machine refuses the copy. (The kernels read such a map in place, as documented: no case for them.)
    if not fn.name.startswith(("native.", "_core.NativeModel")):
        return
    add_case(
        "huge_sparse_memmap",
        lambda: fn.call(
            sparse_memmap((2**38 // int(np.prod(base.shape[1:])),) + base.shape[1:], f"{fn.name}.mm")
        ),
        (NeuralTraderError, MemoryError),
        max_rss_growth_mb=512,
        as_extra_mb=0,
    )


def _finite_or_typed(fn: ArrayFn, inp: np.ndarray) -> Callable[[Any], None]:
    def check(got: Any) -> None:
        _finite(got)

    return check


def _finite_or_data_error(call: Callable[[Any], Any], x: Any) -> str:
    try:
        got = call(x)
    except DataError:
        return "DataError"
    _finite(got)
    return "finite output"


def _empty_or_typed(call: Callable[[Any], Any], x: Any) -> str:
    """An all-zero shape: an empty result, or a typed error."""
    try:
        got = call(x)
    except NeuralTraderError as e:
        return f"{type(e).__name__}: {e}"
    for g in _as_tuple(got):
        assert g.size == 0, f"all-zero shape gave a non-empty result {g.shape}"
    return "empty result"


# -------------------------------------------------------------------------------------- the functions
FUNCTIONS = [
    ArrayFn(
        "native.predict[bilstm_classifier]",
        lambda x: clf_engine().predict(x),
        lambda: windows(3, 7, 4),
        _f32,
        {0: EMPTY},
    ),
    ArrayFn(
        "native.predict[lstm_attention]",
        lambda x: att_engine().predict(x),
        lambda: windows(2, 6, 4, seed=1),
        _f32,
        {0: EMPTY},
    ),
    ArrayFn(
        "native.predict_attention[lstm_attention]",
        lambda x: att_engine().predict(x, return_attention=True),
        lambda: windows(2, 6, 4, seed=2),
        _f32,
        {0: EMPTY},
        slow_only=True,
    ),
    ArrayFn(
        "native.teacher_forced.x[lstm_attention]",
        lambda x: att_engine().teacher_forced(x, np.zeros((2, 3, 1), np.float32)),
        lambda: windows(2, 6, 4, seed=3),
        _f32,
        {0: (ShapeError,)},  # y still has batch 2
    ),
    ArrayFn(
        "native.teacher_forced.y[lstm_attention]",
        lambda y: att_engine().teacher_forced(windows(2, 6, 4, seed=4), y),
        lambda: windows(2, 3, 1, seed=5),
        _f32,
    ),
    ArrayFn(
        "native.predict[trend_attention]",
        lambda x: tuple(trend_engine().predict(x).values()),
        lambda: windows(2, 6, 4, seed=7),
        _f32,
        {0: EMPTY},
    ),
    ArrayFn(
        "native.embed[lstm_encoder]",
        lambda x: encoder_engine().embed(x),
        lambda: windows(2, 6, 4, seed=8),
        _f32,
        {0: EMPTY},
    ),
    ArrayFn(
        "_core.NativeModel.predict[bilstm_classifier]",
        lambda x: clf_engine()._inner.predict(x),
        lambda: windows(3, 7, 4),
        None,
        {0: EMPTY},
        raw_dtype_error=(TypeError,),
    ),
    ArrayFn(
        "_core.NativeModel.teacher_forced[lstm_attention]",
        lambda x: att_engine()._inner.teacher_forced(x, np.zeros((2, 3, 1), np.float32)),
        lambda: windows(2, 6, 4, seed=6),
        None,
        {0: (ShapeError,)},
        raw_dtype_error=(TypeError,),
        slow_only=True,
    ),
    ArrayFn(
        "kernels.sliding_windows",
        lambda x: kernels.sliding_windows(x, 3, 2),
        lambda: windows(1, 9, 3)[0],
        _kernel_target,
        {0: (ShapeError,), 1: (ShapeError,)},
    ),
    ArrayFn(
        "kernels.sliding_windows.zscored",
        lambda x: kernels.sliding_windows(x, 3, 1, np.zeros(3), np.full(3, 2.0)),
        lambda: windows(1, 9, 3, seed=7)[0],
        _kernel_target,
        {0: (ShapeError,), 1: (ShapeError,)},
        slow_only=True,
    ),
    ArrayFn(
        "kernels.zscore_stats",
        lambda x: kernels.zscore_stats(x),
        lambda: windows(1, 9, 3, seed=8)[0],
        _kernel_target,
        {0: (ConfigError,), 1: (ShapeError,)},
    ),
    ArrayFn(
        "kernels.zscore",
        lambda x: kernels.zscore(x, np.zeros(3), np.ones(3)),
        lambda: windows(1, 9, 3, seed=9)[0],
        _kernel_target,
        {0: (ShapeError, ConfigError, DataError), 1: (ShapeError,)},
    ),
    ArrayFn(
        "kernels.augment",
        lambda x: kernels.augment(x, seed=1),
        lambda: ohlcv_windows(3, 8, 5),
        _f32,
        {0: EMPTY, 1: EMPTY},
        positive=True,
    ),
    ArrayFn(
        "kernels.augment_dataset",
        lambda x: kernels.augment_dataset(x, 2, seed=1),
        lambda: ohlcv_windows(3, 8, 4, seed=1),
        _f32,
        {0: EMPTY, 1: EMPTY},
        positive=True,
    ),
    ArrayFn(
        "_core.sliding_windows",
        lambda x: _core.sliding_windows(x, 3, 2),
        lambda: windows(1, 9, 3, seed=10)[0],
        None,
        {0: (ShapeError,), 1: (ShapeError,)},
        raw_dtypes=("float32", "float64"),
    ),
    ArrayFn(
        "_core.zscore_stats",
        lambda x: _core.zscore_stats(x),
        lambda: windows(1, 9, 3, seed=11)[0],
        None,
        {0: (ConfigError,), 1: (ShapeError,)},
        raw_dtypes=("float32", "float64"),
    ),
    ArrayFn(
        "_core.augment",
        lambda x: _core.augment(x, seed=2),
        lambda: ohlcv_windows(3, 8, 5, seed=2),
        None,
        {0: EMPTY, 1: EMPTY},
        positive=True,
    ),
    ArrayFn(
        "_core.augment_dataset",
        lambda x: _core.augment_dataset(x, 2, 1),
        lambda: ohlcv_windows(2, 8, 4, seed=3),
        None,
        {0: EMPTY, 1: EMPTY},
        positive=True,
        slow_only=True,
    ),
]

for _fn in FUNCTIONS:
    register_family(_fn)


def _beyond_memory(engine: Callable[[], Any]) -> Any:
    # 2**24 steps of 4 features: a 256 MiB input whose intermediate activations, computed all at once,
    # would need several GiB, more than the child may map. The engine works through the batch in chunks
    # of bounded size, so the answer is a correct forecast, not an abort.
    x = np.zeros((2**16, 2**8, 4), dtype=np.float32)
    return engine().predict(x)


def _rows_of(n: int) -> Callable[[Any], None]:
    def check(out: Any) -> None:
        assert out.shape[0] == n and np.isfinite(out).all(), out.shape

    return check


for _name, _engine in (("bilstm_classifier", clf_engine), ("lstm_attention", att_engine)):
    add(
        f"native.predict[{_name}]/intermediates_beyond_memory",
        lambda e=_engine: _beyond_memory(e),
        None,
        _rows_of(2**16),
        as_extra_mb=1536,
        slow=True,  # several seconds of real work
    )
