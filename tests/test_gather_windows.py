"""The window gather of constant-memory training (``neural_trader.kernels.gather_windows``, a Rust kernel):
bit for bit the windows ``sliding_windows`` makes, written into the caller's reused buffer, and typed errors
for every bad start, buffer and value.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neural_trader import _core, kernels
from neural_trader.errors import ConfigError, DataError, ShapeError

HYPOTHESIS = settings(max_examples=60, deadline=None)


@HYPOTHESIS
@given(
    rows=st.integers(1, 120),
    cols=st.integers(1, 7),
    window_frac=st.floats(0, 1),
    picks=st.lists(st.floats(0, 1, exclude_max=True), max_size=40),
    dtype=st.sampled_from([np.float32, np.float64]),
    zscored=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_equals_sliding_windows_at_the_starts(rows, cols, window_frac, picks, dtype, zscored, seed):
    x = np.random.default_rng(seed).normal(100, 20, size=(rows, cols)).astype(dtype)
    window = 1 + int((rows - 1) * window_frac)
    starts = np.array([int(p * (rows - window + 1)) for p in picks], dtype=np.int64)
    z = dict(zip(("mean", "std"), kernels.zscore_stats(x), strict=True)) if zscored else {}
    got = kernels.gather_windows(x, starts, window, **z)
    want = kernels.sliding_windows(x, window, **z)[starts]
    assert got.shape == (len(starts), window, cols) and got.dtype == np.float32 and got.flags.c_contiguous
    np.testing.assert_array_equal(got.view(np.uint32), want.view(np.uint32))


def test_real_bars_float32_and_float64_with_and_without_zscore(sp500_bars):
    starts = np.random.default_rng(0).integers(0, len(sp500_bars) - 60 + 1, size=300)
    starts[:3] = [0, len(sp500_bars) - 60, 0]  # the first and last windows, and a repeat
    for x in (sp500_bars, sp500_bars.astype(np.float32)):
        mean, std = kernels.zscore_stats(x, 0, 3000)
        for z in ({}, {"mean": mean, "std": std}):
            want = kernels.sliding_windows(x, 60, **z)[starts]
            got = kernels.gather_windows(x, starts, 60, **z)
            np.testing.assert_array_equal(got.view(np.uint32), want.view(np.uint32))


@pytest.fixture
def sp500_bars(shared_data) -> np.ndarray:
    import pandas as pd

    frame = pd.read_csv(shared_data / "sp500_daily.csv")
    return frame[["open", "high", "low", "close", "volume"]].to_numpy(dtype=np.float64)


def test_the_buffer_is_reused_in_place_batch_after_batch():
    x = np.random.default_rng(1).normal(size=(500, 6))
    mean, std = kernels.zscore_stats(x)
    buf = np.full((32, 20, 6), np.nan, dtype=np.float32)
    address = buf.__array_interface__["data"][0]
    all_windows = kernels.sliding_windows(x, 20, mean=mean, std=std)
    rng = np.random.default_rng(2)
    for _ in range(5):
        starts = rng.integers(0, 481, size=32)
        got = kernels.gather_windows(x, starts, 20, mean=mean, std=std, out=buf)
        assert got is buf and buf.__array_interface__["data"][0] == address
        np.testing.assert_array_equal(buf, all_windows[starts])
    # A view into a larger buffer (e.g. the first rows of a pinned tensor's numpy view) works too.
    big = np.zeros((64, 20, 6), dtype=np.float32)
    assert kernels.gather_windows(x, [3, 4], 20, out=big[:2]).base is big
    np.testing.assert_array_equal(big[:2], x[[range(3, 23), range(4, 24)]].astype(np.float32))
    assert (big[2:] == 0).all()


def test_new_array_when_no_buffer_and_empty_batches():
    x = np.arange(40, dtype=np.float32).reshape(20, 2)
    y = kernels.gather_windows(x, np.array([2]), 3)
    assert not np.shares_memory(x, y) and y.flags.writeable
    assert kernels.gather_windows(x, [], 3).shape == (0, 3, 2)
    assert kernels.gather_windows(x, [], 3, out=np.empty((0, 3, 2), np.float32)).shape == (0, 3, 2)


def test_series_is_borrowed_not_copied_and_other_layouts_are_converted():
    base = np.arange(60, dtype=np.float64).reshape(12, 5)
    want = kernels.gather_windows(base, [0, 8, 3], 4)
    for variant in (np.asfortranarray(base), base.astype(">f8"), base.astype(np.int32), base.tolist()):
        np.testing.assert_array_equal(kernels.gather_windows(variant, [0, 8, 3], 4), want)
    for starts in ([0, 8, 3], np.array([0, 8, 3], np.uint8), np.array([0, 0, 8, 0, 3, 0])[::2], (0, 8, 3)):
        np.testing.assert_array_equal(kernels.gather_windows(base, starts, 4), want)


@pytest.mark.parametrize(
    ("starts", "match"),
    [
        ([0, 9], r"starts\[1\] = 9 is out of range.*0 \.\.= 8"),
        ([4, 4, -1], r"starts\[2\] = -1"),
        (np.array([0, 2**63 - 1]), r"starts\[1\] = 9223372036854775807"),
        (np.array([1, 2**64 - 1], dtype=np.uint64), r"starts\[1\] = 18446744073709551615"),
    ],
)
def test_out_of_range_starts_are_named_with_their_position(starts, match):
    buf = np.zeros((len(starts), 4, 2), dtype=np.float32)
    with pytest.raises(DataError, match=match):
        kernels.gather_windows(np.ones((12, 2)), starts, 4, out=buf)
    assert (buf == 0).all(), "nothing is written when a start is bad"


def test_non_finite_and_overflowing_values_name_the_series_row_and_column():
    x = np.ones((30, 3))
    x[12, 2] = np.nan
    with pytest.raises(DataError, match=r"row 12, column 2.*starts\[1\] = 10"):
        kernels.gather_windows(x, [20, 10, 11], 5)
    assert kernels.gather_windows(x, [0, 20], 5).shape == (2, 5, 3)  # row 12 is in no window
    x[12, 2] = 1e39  # finite float64, beyond float32
    with pytest.raises(DataError, match=r"1e\+?39 at row 12, column 2.*float32"):
        kernels.gather_windows(x, [10], 5)
    x[12, 2] = 1e30  # fits float32, overflows once divided by a tiny std
    with pytest.raises(DataError, match=r"row 12, column 2.*float32"):
        kernels.gather_windows(x, [10], 5, mean=np.zeros(3), std=np.full(3, 1e-10))
    x32 = np.ones((30, 3), dtype=np.float32)
    x32[7, 0] = -np.inf
    with pytest.raises(DataError, match="row 7, column 0"):
        kernels.gather_windows(x32, [5], 5, out=np.empty((1, 5, 3), np.float32))


@pytest.mark.parametrize(
    ("out", "error", "match"),
    [
        (np.zeros((2, 4, 3), np.float32), ShapeError, r"expected shape \(2, 4, 2\), got \(2, 4, 3\)"),
        (np.zeros((3, 4, 2), np.float32), ShapeError, r"\(2, 4, 2\)"),
        (np.zeros((2, 8), np.float32), ShapeError, "out"),
        (np.zeros((2, 4, 2), np.float64), DataError, "float32"),
        (np.zeros((2, 4, 2), np.float32, order="F"), ShapeError, "C-contiguous"),
        (np.zeros((2, 4, 4), np.float32)[:, :, ::2], ShapeError, "C-contiguous"),
        (np.zeros((2, 4, 2), ">f4"), DataError, "float32"),
        ([[[0.0] * 2] * 4] * 2, DataError, "numpy array"),
    ],
)
def test_bad_output_buffers_are_refused(out, error, match):
    with pytest.raises(error, match=match):
        kernels.gather_windows(np.ones((12, 2)), [0, 1], 4, out=out)


def test_read_only_and_aliased_buffers_are_refused():
    x = np.ones((12, 2), dtype=np.float32)
    frozen = np.zeros((2, 4, 2), np.float32)
    frozen.flags.writeable = False
    with pytest.raises(DataError, match="not writeable"):
        kernels.gather_windows(x, [0, 1], 4, out=frozen)
    with pytest.raises(DataError, match="shares no memory"):
        kernels.gather_windows(x, [0, 1], 4, out=x[:8].reshape(2, 4, 2))
    assert (x == 1).all()


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        (([0], 0), {}, ConfigError, "window"),
        (([0], 13), {}, ShapeError, "T >= 13"),
        (([0], 2.0), {}, ConfigError, "window"),
        (([0.5], 2), {}, DataError, "integer"),
        (([True], 2), {}, DataError, "integer"),
        (([[0]], 2), {}, ShapeError, "starts"),
        (([0], 2), {"mean": np.zeros(2)}, ConfigError, "both"),
        (([0], 2), {"mean": np.zeros(3), "std": np.ones(3)}, ShapeError, "mean/std"),
        (([0], 2), {"mean": np.zeros(2), "std": np.zeros(2)}, ConfigError, "std"),
    ],
)
def test_argument_errors(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        kernels.gather_windows(np.ones((12, 2)), *args, **kwargs)


def test_core_refuses_what_the_wrapper_converts():
    x = np.ones((12, 2))
    with pytest.raises(DataError, match="int64"):
        _core.gather_windows(x, np.array([0], np.int32), 2)
    with pytest.raises(ShapeError, match="C-contiguous"):
        _core.gather_windows(np.asfortranarray(x), np.array([0]), 2)
    with pytest.raises(ShapeError, match="C-contiguous"):
        _core.gather_windows(x, np.array([0, 0, 0, 0])[::2], 2)
