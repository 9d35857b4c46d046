"""Property-based fuzzing of the Python API with Hypothesis, run as cases (so a crash is caught).

Each case runs one property for ``FUZZ_EXAMPLES`` examples (``NT_FUZZ_EXAMPLES`` in the environment,
default 150; the exhaustive variant uses 3000) with a fixed seed (``derandomize``), so a failure
reproduces. A property passes an input when the call raises a typed error (``NeuralTraderError``; for
the raw ``_core`` layer also pyo3's argument errors) or returns a result of the documented shape.
The case returns how many examples ran, which the test sums into the executions it reports.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from rel_cases import add
from rel_fixtures import att_engine, clf_engine

import neural_trader as nt
from neural_trader import kernels
from neural_trader.errors import NeuralTraderError

DTYPES = [np.float32, np.float64, np.float16, np.int64, np.int8, np.uint8, np.bool_, np.complex64]


def _examples(slow: bool) -> int:
    return int(os.environ.get("NT_FUZZ_EXAMPLES", "3000" if slow else "150"))


def _arrays(max_rank: int = 4, max_side: int = 6) -> st.SearchStrategy[np.ndarray]:
    return st.sampled_from(DTYPES).flatmap(
        lambda dt: hnp.arrays(
            dt,
            hnp.array_shapes(min_dims=0, max_dims=max_rank, min_side=0, max_side=max_side),
            elements=_elements(dt),
        )
    )


def _elements(dt: type) -> st.SearchStrategy[Any] | None:
    if np.dtype(dt).kind == "f":
        width = 16 if dt is np.float16 else 32 if dt is np.float32 else 64
        return st.floats(allow_nan=True, allow_infinity=True, width=width)
    return None


def _layout(draw: st.DrawFn, a: np.ndarray) -> np.ndarray:
    kind = draw(st.sampled_from(["c", "fortran", "reversed", "strided"]))
    if kind == "fortran":
        return np.asfortranarray(a)
    if kind == "reversed" and a.ndim:
        return a[::-1].copy()[::-1]
    if kind == "strided" and a.ndim:
        return np.repeat(a, 2, axis=-1)[..., ::2]
    return a


@st.composite
def hostile_arrays(draw: st.DrawFn, max_rank: int = 4) -> np.ndarray:
    return _layout(draw, draw(_arrays(max_rank)))


def run_property(prop: Callable[..., None], strategy: st.SearchStrategy[Any], n: int) -> str:
    """Runs ``prop`` on ``n`` examples of ``strategy``; returns a summary with the count."""
    count = 0

    @settings(
        max_examples=n,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def test(value: Any) -> None:
        nonlocal count
        count += 1
        prop(value)

    test()
    return f"examples={count}"


def _typed_or(check: Callable[[Any], None], call: Callable[[], Any]) -> None:
    try:
        out = call()
    except NeuralTraderError:
        return
    check(out)


def prop_predict(x: np.ndarray) -> None:
    def check(out: np.ndarray) -> None:
        assert out.dtype == np.float32 and out.shape == (x.shape[0], 2), out.shape
        assert np.isfinite(out).all()

    _typed_or(check, lambda: clf_engine().predict(x))


def prop_forecast(x: np.ndarray) -> None:
    def check(out: tuple[np.ndarray, np.ndarray]) -> None:
        values, attn = out
        assert values.shape == (x.shape[0], 3, 1) and attn.shape == (x.shape[0], 3, x.shape[1])

    _typed_or(check, lambda: att_engine().predict(x, return_attention=True))


@st.composite
def windows_args(draw: st.DrawFn) -> tuple[np.ndarray, int, int]:
    x = draw(hostile_arrays(max_rank=3))
    window = draw(st.one_of(st.integers(-2, 8), st.sampled_from([2**31, 2**63 - 1, 2**64 - 1])))
    stride = draw(st.one_of(st.integers(-1, 5), st.sampled_from([2**62])))
    return x, window, stride


def prop_windows(args: tuple[np.ndarray, int, int]) -> None:
    x, window, stride = args

    def check(out: np.ndarray) -> None:
        t, f = x.shape
        assert out.shape == ((t - window) // stride + 1, window, f), (out.shape, x.shape, window, stride)

    _typed_or(check, lambda: kernels.sliding_windows(x, window, stride))


def prop_zscore_stats(args: tuple[np.ndarray, int, int]) -> None:
    x, start, stop = args

    def check(out: tuple[np.ndarray, np.ndarray]) -> None:
        mean, std = out
        assert mean.shape == std.shape == (x.shape[1],)
        assert np.isfinite(std).all() and (std > 0).all()

    _typed_or(check, lambda: kernels.zscore_stats(x, start, None if stop < 0 else stop))


@st.composite
def mask_args(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "n": draw(st.one_of(st.integers(-1, 6), st.sampled_from([2**40, 2**63]))),
        "length": draw(st.one_of(st.integers(-1, 40), st.sampled_from([2**40]))),
        "ratio": draw(st.floats(allow_nan=True, allow_infinity=True)),
        "strategy": draw(st.sampled_from(["random", "block", "patch", "other", ""])),
        "patch_size": draw(st.integers(-1, 50)),
        "seed": draw(st.one_of(st.integers(-1, 2**64), st.just(2**64 - 1))),
    }


def prop_mask(kw: dict[str, Any]) -> None:
    def check(out: np.ndarray) -> None:
        assert out.shape == (kw["n"], kw["length"]) and out.dtype == np.bool_
        if kw["strategy"] in ("random", "block") and out.size:
            k = int(np.floor(kw["ratio"] * kw["length"] + 0.5))
            assert (out.sum(axis=1) == k).all(), (out.sum(axis=1), k)

    _typed_or(check, lambda: kernels.mask(**kw))


@st.composite
def augment_args(draw: st.DrawFn) -> tuple[np.ndarray, dict[str, Any]]:
    n, w, f = draw(st.integers(0, 3)), draw(st.integers(0, 9)), draw(st.sampled_from([3, 4, 5]))
    x = draw(hnp.arrays(np.float32, (n, w, f), elements=st.floats(-(2.0**127), 2.0**127, width=32)))
    prob = st.one_of(st.floats(-0.5, 1.5), st.just(float("nan")))
    kw = {
        "time_warp_prob": draw(prob),
        "time_warp_max": draw(prob),
        "jitter_prob": draw(prob),
        "jitter_scale": draw(st.one_of(st.floats(-1, 1e30), st.sampled_from([float("nan"), float("inf")]))),
        "vol_scale_prob": draw(prob),
        "vol_scale_range": (
            draw(st.one_of(st.floats(-1, 1e6), st.just(float("nan")))),
            draw(st.floats(-1, 1e6)),
        ),
        "seed": draw(st.integers(0, 2**64 - 1)),
    }
    return x, kw


def prop_augment(args: tuple[np.ndarray, dict[str, Any]]) -> None:
    x, kw = args

    def check(y: np.ndarray) -> None:
        assert y.shape == x.shape and np.isfinite(y).all()
        o, h, low, c = (y[..., k] for k in range(4))
        assert (h >= np.maximum(o, c)).all() and (low <= np.minimum(o, c)).all()

    _typed_or(check, lambda: kernels.augment(x, **kw))


@st.composite
def mutated_checkpoints(draw: st.DrawFn) -> bytes:
    from rel_cases_checkpoints import valid_bytes

    data = bytearray(valid_bytes(draw(st.sampled_from(["bilstm_classifier", "lstm_attention"]))))
    for _ in range(draw(st.integers(1, 8))):
        op = draw(st.sampled_from(["flip", "set", "truncate", "insert", "header_len"]))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "set" and data:
            data[pos] = draw(st.integers(0, 255))
        elif op == "truncate":
            del data[pos:]
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=16))
        elif op == "header_len" and len(data) >= 8:
            data[:8] = draw(st.integers(0, 2**64 - 1)).to_bytes(8, "little")
    return bytes(data)


def prop_checkpoint_bytes(data: bytes) -> None:
    for load in (nt.native.from_bytes, _torch_load):
        try:
            load(data)
        except NeuralTraderError:
            pass


def _torch_load(data: bytes) -> Any:
    ck = nt.Checkpoint.from_bytes(data)
    cls = nt.MODELS.get(ck.model)
    if cls is None:
        return ck
    return cls.from_checkpoint(ck)


PROPERTIES: dict[str, tuple[Callable[[Any], None], Callable[[], st.SearchStrategy[Any]]]] = {
    "native.predict": (prop_predict, lambda: hostile_arrays(max_rank=4)),
    "native.predict_attention": (prop_forecast, lambda: hostile_arrays(max_rank=4)),
    "kernels.sliding_windows": (prop_windows, windows_args),
    "kernels.zscore_stats": (
        prop_zscore_stats,
        lambda: st.tuples(hostile_arrays(max_rank=3), st.integers(-1, 8), st.integers(-1, 8)),
    ),
    "kernels.mask": (prop_mask, mask_args),
    "kernels.augment": (prop_augment, augment_args),
    "checkpoint.mutated_bytes": (prop_checkpoint_bytes, mutated_checkpoints),
}

for _name, (_prop, _strategy) in PROPERTIES.items():
    for _slow in (False, True):
        add(
            f"fuzz.{_name}/{'exhaustive' if _slow else 'quick'}",
            lambda p=_prop, s=_strategy, sl=_slow: run_property(p, s(), _examples(sl)),
            None,
            slow=_slow,
            group="fuzz",
            max_rss_growth_mb=1024,
        )
