"""Triple-barrier labels (``neural_trader.kernels.triple_barrier``, a Rust kernel) against a plain Python
reference: a loop over events and rows with the same float64 formula, compared BIT for bit on real data
(S&P 500 daily, EUR/USD hourly) with a causal rolling volatility, then the edge cases and the errors.
"""

from __future__ import annotations

import doctest
import functools
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from neural_trader import _core, barriers, kernels
from neural_trader.errors import ConfigError, DataError, ShapeError

NAN = float("nan")


def reference_triple_barrier(
    close: np.ndarray,
    sigma: np.ndarray,
    horizon: int,
    upper: float | None,
    lower: float | None,
    vertical: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The documented rules, one event and one row at a time (``math.log`` is the C library's ``log``,
    as Rust's ``f64::ln``)."""
    n = len(close)
    x = [math.log(c) for c in close]
    label = np.full(n, np.nan, dtype=np.float32)
    t1 = np.full(n, -1, dtype=np.int64)
    ret = np.full(n, np.nan, dtype=np.float64)
    for e in range(n):
        s = float(sigma[e])
        if math.isnan(s) or s <= 0:
            continue
        up = x[e] + upper * s if upper else math.inf
        down = x[e] - lower * s if lower else -math.inf
        if up == x[e] or down == x[e]:
            continue  # the barrier rounds onto the entry: sigma too small to place it
        for t in range(e + 1, min(e + horizon, n - 1) + 1):
            if x[t] >= up:
                label[e], t1[e], ret[e] = 1.0, t, x[t] - x[e]
                break
            if x[t] <= down:
                label[e], t1[e], ret[e] = -1.0, t, x[t] - x[e]
                break
        else:
            if e + horizon <= n - 1:
                r = x[e + horizon] - x[e]
                label[e] = 0.0 if vertical == "zero" else (1.0 if r > 0 else -1.0 if r < 0 else 0.0)
                t1[e], ret[e] = e + horizon, r
    return label, t1, ret


def causal_sigma(close: np.ndarray, window: int = 20) -> np.ndarray:
    """Rolling std of one-bar log returns up to and including each row (NaN while warming up)."""
    return pd.Series(np.log(close)).diff().rolling(window).std().to_numpy()


def assert_bit_identical(got: tuple, want: tuple) -> None:
    label, t1, ret = got
    assert label.dtype == np.float32 and t1.dtype == np.int64 and ret.dtype == np.float64
    np.testing.assert_array_equal(label.view(np.uint32), want[0].view(np.uint32))
    np.testing.assert_array_equal(t1, want[1])
    np.testing.assert_array_equal(ret.view(np.uint64), want[2].view(np.uint64))


@functools.cache
def _read_close(path: Path) -> np.ndarray:
    return pd.read_csv(path)["close"].to_numpy(dtype=np.float64)


@pytest.fixture(params=["sp500_daily.csv", "eurusd_hourly.csv"])
def real_close(request: pytest.FixtureRequest, shared_data: Path) -> np.ndarray:
    """Real closes (S&P 500 daily, 5031 rows; EUR/USD hourly, 5000 rows), a fresh copy per test."""
    return _read_close(shared_data / request.param).copy()


@pytest.mark.parametrize(
    ("horizon", "upper", "lower", "vertical"),
    [
        (1, 1.0, 1.0, "zero"),
        (5, 1.0, 1.0, "sign"),
        (20, 2.0, 1.0, "zero"),
        (20, 0.5, None, "sign"),
        (60, None, 1.5, "zero"),
        (250, 3.0, 3.0, "sign"),
        (10, 0.0, 0.0, "sign"),  # both barriers off: labels are the sign of the 10-bar return
    ],
)
def test_bit_identical_to_the_reference_on_real_data(real_close, horizon, upper, lower, vertical):
    sigma = causal_sigma(real_close)
    got = kernels.triple_barrier(real_close, sigma, horizon, upper, lower, vertical)
    want = reference_triple_barrier(real_close, sigma, horizon, upper, lower, vertical)
    assert_bit_identical(got, want)
    label, t1, _ = got
    known = ~np.isnan(label)
    # Warm-up rows unknown, the rest mostly known; every known label ends inside (e, e + horizon].
    assert np.isnan(label[:20]).all() and known.mean() > 0.9
    rows = np.flatnonzero(known)
    assert ((t1[rows] > rows) & (t1[rows] <= rows + horizon)).all()
    if upper and lower:
        assert (label == 1).sum() > 50 and (label == -1).sum() > 50


def test_flat_prices():
    close = np.full(30, 50.0)
    # The rolling volatility of flat prices is 0: no barrier can be placed, every label unknown.
    label, t1, _ = kernels.triple_barrier(close, causal_sigma(close, 5), 3)
    assert np.isnan(label).all() and (t1 == -1).all()
    # With a given volatility, flat prices reach no barrier: the vertical one decides with a 0 return.
    for vertical in ("zero", "sign"):
        label, t1, ret = kernels.triple_barrier(close, np.full(30, 0.01), 3, vertical=vertical)
        np.testing.assert_array_equal(label[:27], 0.0)
        np.testing.assert_array_equal(t1[:27], np.arange(3, 30))
        np.testing.assert_array_equal(ret[:27], 0.0)
        assert np.isnan(label[27:]).all() and (t1[27:] == -1).all()


def test_nan_sigma_skips_exactly_those_events():
    close = 100 * np.exp(np.cumsum(np.random.default_rng(3).normal(0, 0.01, 200)))
    sigma = np.full(200, 0.01)
    full = kernels.triple_barrier(close, sigma, 10)
    sigma[[0, 17, 150]] = np.nan
    sigma[18] = 0.0
    sigma[19] = -0.5
    label, t1, ret = kernels.triple_barrier(close, sigma, 10)
    skipped = [0, 17, 18, 19, 150]
    assert np.isnan(label[skipped]).all() and (t1[skipped] == -1).all() and np.isnan(ret[skipped]).all()
    others = np.setdiff1d(np.arange(200), skipped)
    np.testing.assert_array_equal(label[others], full[0][others])
    np.testing.assert_array_equal(t1[others], full[1][others])


def test_barrier_hit_on_the_last_row_and_the_end_of_the_series():
    close = np.array([100.0, 100.0, 100.0, 100.0, 105.0])
    sigma = np.full(5, 0.01)
    label, t1, _ = kernels.triple_barrier(close, sigma, 4)
    # Every earlier event reaches the upper barrier on the last row, even those whose vertical barrier
    # (e + 4) lies past the end: the hit is known.
    np.testing.assert_array_equal(label[:4], 1.0)
    np.testing.assert_array_equal(t1[:4], 4)
    # The last row has no future at all.
    assert np.isnan(label[4]) and t1[4] == -1
    # Without the jump, events whose span is cut by the end are unknown; event 0 reaches e + 4 = 4.
    label, t1, _ = kernels.triple_barrier(close[:4].tolist() + [100.0], sigma, 4)
    assert label[0] == 0.0 and t1[0] == 4
    assert np.isnan(label[1:]).all()


@pytest.mark.parametrize("horizon", [10**6, 2**62, 2**64 - 1])
def test_huge_horizons_wait_for_the_horizontal_barriers(horizon):
    close = np.array([100.0, 101.0, 99.0, 100.0, 102.5, 100.0])
    sigma = np.full(6, 0.02)
    label, t1, ret = kernels.triple_barrier(close, sigma, horizon)
    want = reference_triple_barrier(close, sigma, 10**6, 1.0, 1.0, "zero")
    assert_bit_identical((label, t1, ret), want)
    assert label[0] == 1.0 and t1[0] == 4  # +2.5% >= +2% at row 4
    assert label[4] == -1.0 and t1[4] == 5  # a hit on the last row is known whatever the horizon
    assert np.isnan(label[5]) and t1[5] == -1  # the last row: no hit, the vertical barrier never comes


def test_horizon_one_is_the_next_bar():
    close = np.array([100.0, 103.0, 103.0, 99.0, 99.5])
    label, t1, ret = kernels.triple_barrier(close, np.full(5, 0.01), 1, vertical="sign")
    np.testing.assert_array_equal(label[:4], [1.0, 0.0, -1.0, 1.0])  # last: +0.5% < 1 sigma, sign +1
    np.testing.assert_array_equal(t1[:4], [1, 2, 3, 4])
    assert ret[1] == 0.0 and math.isclose(ret[0], math.log(1.03))


def test_inputs_are_converted_and_empty_input_is_empty():
    close = [100.0, 101.0, 100.5, 102.0]
    want = kernels.triple_barrier(np.array(close), np.full(4, 0.004), 2)
    for variant in (close, np.array(close, dtype=np.float32).astype(np.float64), np.repeat(close, 2)[::2]):
        assert_bit_identical(kernels.triple_barrier(variant, [0.004] * 4, 2), want)
    label, t1, ret = kernels.triple_barrier([], [], 5)
    assert label.shape == t1.shape == ret.shape == (0,)


@pytest.mark.parametrize(
    ("close", "sigma", "kwargs", "error", "match"),
    [
        ([1.0, 0.0, 1.0], [0.1] * 3, {}, DataError, "row 1"),
        ([1.0, -2.0, 1.0], [0.1] * 3, {}, DataError, "row 1"),
        ([1.0, 1.0, NAN], [0.1] * 3, {}, DataError, "row 2"),
        ([1.0, math.inf, 1.0], [0.1] * 3, {}, DataError, "row 1"),
        ([1.0, 1.0, 1.0], [0.1, math.inf, 0.1], {}, DataError, "sigma is inf at row 1"),
        ([1.0, 1.0, 1.0], [0.1] * 2, {}, ShapeError, "sigma"),
        ([[1.0, 1.0]], [0.1], {}, ShapeError, "close"),
        ([1.0, 1.0], [[0.1, 0.1]], {}, ShapeError, "sigma"),
        ([1.0, 1.0], [0.1] * 2, {"horizon": 0}, ConfigError, "horizon"),
        ([1.0, 1.0], [0.1] * 2, {"horizon": -1}, ConfigError, "horizon"),
        ([1.0, 1.0], [0.1] * 2, {"horizon": 2.0}, ConfigError, "horizon"),
        ([1.0, 1.0], [0.1] * 2, {"horizon": 2**64}, ConfigError, "horizon"),
        ([1.0, 1.0], [0.1] * 2, {"upper": -1.0}, ConfigError, "upper"),
        ([1.0, 1.0], [0.1] * 2, {"lower": NAN}, ConfigError, "lower"),
        ([1.0, 1.0], [0.1] * 2, {"lower": math.inf}, ConfigError, "lower"),
        ([1.0, 1.0], [0.1] * 2, {"upper": "wide"}, ConfigError, "upper"),
        ([1.0, 1.0], [0.1] * 2, {"vertical": "both"}, ConfigError, "vertical"),
        ([1.0, 1.0], [0.1] * 2, {"vertical": None}, ConfigError, "vertical"),
        (["a", "b"], [0.1] * 2, {}, DataError, "close"),
    ],
)
def test_bad_inputs_are_typed_errors(close, sigma, kwargs, error, match):
    with pytest.raises(error, match=match):
        kernels.triple_barrier(close, sigma, **{"horizon": 1, **kwargs})


def test_core_refuses_what_the_wrapper_converts():
    close = np.array([1.0, 2.0, 3.0])
    with pytest.raises(DataError, match="float32"):
        _core.triple_barrier(close.astype(np.float32), close, 1)
    with pytest.raises(ShapeError, match="C-contiguous"):
        _core.triple_barrier(np.repeat(close, 2)[::2], close, 1)
    with pytest.raises(DataError, match="numpy array"):
        _core.triple_barrier([1.0, 2.0, 3.0], close, 1)


def test_docstring_example():
    result = doctest.testmod(barriers, extraglobs={"np": np})
    assert result.attempted >= 3 and result.failed == 0


def test_the_benchmark_baselines_compute_the_same_labels(real_close):
    # The bench compares the kernel with these; they must do the same work to make the ratio honest.
    from neural_trader.benchmarks.training_kernels import numpy_triple_barrier, python_triple_barrier

    sigma = causal_sigma(real_close)
    label, t1, _ = kernels.triple_barrier(real_close, sigma, 20, 2.0, 2.0)
    numpy_label, numpy_t1 = numpy_triple_barrier(real_close, sigma, 20, 2.0, 2.0)
    np.testing.assert_array_equal(numpy_label, label)
    np.testing.assert_array_equal(numpy_t1, t1)
    loop = np.array(python_triple_barrier(real_close, sigma, 20, 2.0, 2.0, len(real_close)), dtype=np.float32)
    np.testing.assert_array_equal(loop, label)
