"""Scaler and WindowDataset: the window contract, eager (Rust kernel) and lazy modes giving identical
samples, label alignment, and JSON-ready scaler statistics."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from neural_trader.data import Scaler, WindowDataset
from neural_trader.errors import ConfigError, DataError, ShapeError


def _series(rows=50, cols=3, seed=0):
    return np.random.default_rng(seed).normal(5.0, 2.0, (rows, cols))


def test_scaler_fits_the_given_rows_only_and_round_trips_through_json():
    series = _series()
    series[30:] += 1000.0  # rows outside the fitting range must not matter
    scaler = Scaler.fit(series, start=5, stop=30, columns=["a", "b", "c"])
    np.testing.assert_allclose(scaler.mean, series[5:30].mean(axis=0), rtol=1e-13)
    np.testing.assert_allclose(scaler.std, series[5:30].std(axis=0), rtol=1e-12)  # population std
    assert Scaler.fit(series[5:30], columns=["a", "b", "c"]) == scaler
    restored = Scaler.from_dict(json.loads(json.dumps(scaler.to_dict())))
    assert restored == scaler  # floats survive JSON exactly
    np.testing.assert_array_equal(restored.transform(series), scaler.transform(series))


def test_scaler_constant_column_and_transform():
    series = np.c_[np.full(10, 3.0), np.arange(10.0)]
    scaler = Scaler.fit(series)
    assert scaler.std[0] == 1.0 and scaler.mean[0] == 3.0 and scaler.columns == ("f0", "f1")
    z = scaler.transform(series)
    assert z.dtype == np.float32 and (z[:, 0] == 0).all()
    np.testing.assert_allclose(z[:, 1].mean(), 0, atol=1e-6)
    np.testing.assert_allclose(z[:, 1].std(), 1, rtol=1e-6)
    with pytest.raises(ShapeError):
        scaler.transform(np.zeros((4, 3)))


@pytest.mark.parametrize(
    "data",
    [
        {"mean": [0.0], "std": [1.0]},
        {"columns": ["a"], "mean": [0.0], "std": [0.0]},
        {"columns": ["a"], "mean": [float("nan")], "std": [1.0]},
        {"columns": ["a", "b"], "mean": [0.0], "std": [1.0]},
        {"columns": ["a"], "mean": ["0"], "std": [1.0]},
        {"columns": "a", "mean": [0.0], "std": [1.0]},
        {"columns": [], "mean": [], "std": []},
        [1, 2],
    ],
)
def test_scaler_from_dict_validates(data):
    with pytest.raises(ConfigError):
        Scaler.from_dict(data)


def test_scaler_fit_rejects_bad_rows():
    with pytest.raises(ShapeError):
        Scaler.fit(np.zeros(5))
    with pytest.raises(ShapeError):
        Scaler.fit(np.zeros((5, 2)), columns=["a"])
    bad = _series()
    bad[7, 1] = np.nan
    with pytest.raises(DataError):
        Scaler.fit(bad)
    assert Scaler.fit(bad, start=8).n_features == 3  # NaN outside the fitting rows is not read


@pytest.mark.parametrize("lazy", [False, True])
@pytest.mark.parametrize(
    ("window", "stride", "start", "stop"), [(1, 1, 0, None), (8, 3, 5, 47), (50, 1, 0, 50)]
)
def test_window_i_covers_the_documented_rows(lazy, window, stride, start, stop):
    series = _series()
    ds = WindowDataset(series, window=window, stride=stride, start=start, stop=stop, lazy=lazy)
    end = 50 if stop is None else stop
    assert len(ds) == (end - start - window) // stride + 1
    for i in range(len(ds)):
        first = start + i * stride
        np.testing.assert_array_equal(ds[i].numpy(), series[first : first + window].astype(np.float32))
        assert ds.window_end_rows[i] == first + window - 1


def test_eager_and_lazy_samples_are_bit_identical():
    series = _series(300, 4)
    labels = np.c_[np.arange(300.0), -np.arange(300.0)]
    labels[290:, 1] = np.nan
    scaler = Scaler.fit(series, stop=200)
    kwargs = dict(window=16, stride=2, start=10, stop=300, scaler=scaler)
    eager, lazy = WindowDataset(series, labels, **kwargs), WindowDataset(series, labels, lazy=True, **kwargs)
    assert eager.windows is not None and lazy.windows is None
    assert len(eager) == len(lazy) and eager.windows.shape == (len(eager), 16, 4)
    for i in range(len(eager)):
        (xe, ye), (xl, yl) = eager[i], lazy[i]
        assert xe.dtype == torch.float32 and torch.equal(xe, xl) and torch.equal(ye, yl)
    # samples are normalised with the scaler: window 0 starts at row 10
    np.testing.assert_array_equal(eager.windows[0], scaler.transform(series[10:26]))


def test_labels_are_those_of_the_window_end_and_unlabelled_windows_are_dropped():
    series = _series(40, 2)
    labels = np.arange(40.0)[:, None].repeat(2, axis=1)
    labels[35:, 0] = np.nan  # the future of the last rows is unknown
    labels[20, 1] = np.nan  # e.g. a dead-zone move
    ds = WindowDataset(series, labels, window=10)
    assert 20 not in ds.window_end_rows and ds.window_end_rows.max() == 34
    for i, end in enumerate(ds.window_end_rows):
        x, y = ds[i]
        assert y.tolist() == [end, end]
        np.testing.assert_array_equal(x.numpy(), series[end - 9 : end + 1].astype(np.float32))
    kept = WindowDataset(series, labels, window=10, drop_unlabeled=False)
    assert len(kept) == 31 and torch.isnan(kept[30][1][0])


def test_lazy_mode_reads_a_memory_mapped_series(tmp_path):
    series = _series(500, 3).astype(np.float32)
    mapped = np.lib.format.open_memmap(tmp_path / "series.npy", mode="w+", dtype=np.float32, shape=(500, 3))
    mapped[:] = series
    mapped.flush()
    readonly = np.load(tmp_path / "series.npy", mmap_mode="r")
    scaler = Scaler.fit(series, stop=300)
    ds = WindowDataset(readonly, window=32, stride=4, scaler=scaler, lazy=True)
    assert ds.series is readonly  # nothing copied
    loader = torch.utils.data.DataLoader(ds, batch_size=16)
    batches = torch.cat(list(loader))
    reference = WindowDataset(series, window=32, stride=4, scaler=scaler).windows
    np.testing.assert_array_equal(batches.numpy(), reference)


def test_bad_window_datasets():
    series = _series(20, 2)
    with pytest.raises(ShapeError):
        WindowDataset(np.zeros(20), window=2)
    with pytest.raises(ShapeError):
        WindowDataset(series, np.zeros((19, 1)), window=2)
    with pytest.raises(ShapeError):
        WindowDataset(series, window=2, scaler=Scaler.fit(_series(20, 3)))
    with pytest.raises(ConfigError):
        WindowDataset(series, window=0)
    with pytest.raises(ConfigError):
        WindowDataset(series, window=2, stride=0)
    with pytest.raises(ConfigError):
        WindowDataset(series, window=2, start=10, stop=5)
    with pytest.raises(DataError, match="fewer than one window"):
        WindowDataset(series, window=8, start=15)
    with pytest.raises(DataError, match="no window .* has a label"):
        WindowDataset(series, np.full((20, 1), np.nan), window=2)
    for lazy in (False, True):
        bad = series.copy()
        bad[13, 1] = np.inf
        with pytest.raises(DataError, match="series row 13, column 1"):
            WindowDataset(bad, window=4, lazy=lazy)
    WindowDataset(bad, window=4, stop=13)  # rows outside the part are not inputs
