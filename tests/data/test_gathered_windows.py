"""Windows gathered when read (``LazyWindows``) and batch by batch (``WindowBatches``): the same bits as the
windows materialised today, in the same batches, for one symbol and several, features and candles."""

from __future__ import annotations

import doctest
import importlib

import numpy as np
import pandas as pd
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from neural_trader import kernels
from neural_trader.data import (
    DataSpec,
    chronological_split,
    fit_scaler,
    load_ohlcv,
    load_series,
    make_loaders,
    make_multi_symbol_loaders,
    make_windows,
    relative_candles,
    series_from_bars,
)
from neural_trader.data.batches import WindowBatches, batch_loader
from neural_trader.data.gathered import EAGER_LIMIT_BYTES, LazyWindows, choose_windows
from neural_trader.data.scaling import Scaler
from neural_trader.errors import ConfigError, DataError, ShapeError


def _bits(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float32).view(np.uint32)


def _matrices(seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.normal(50.0, 9.0, (rows, 3)) for rows in (40, 25, 61)]


def test_every_window_is_the_sliding_window_of_its_own_matrix_bit_for_bit():
    mats = _matrices()
    scaler = Scaler.fit(np.concatenate(mats))
    mean, std = scaler.arrays()
    sources = np.array([2, 0, 1, 2, 0, 0, 1, 2])
    starts = np.array([0, 33, 18, 54, 5, 0, 7, 11])
    lazy = LazyWindows(mats, starts, 7, sources=sources, scaler=scaler)
    want = np.stack(
        [
            kernels.sliding_windows(mats[k], 7, mean=mean, std=std)[s]
            for k, s in zip(sources, starts, strict=True)
        ]
    )
    np.testing.assert_array_equal(_bits(np.asarray(lazy)), _bits(want))
    order = np.random.default_rng(1).permutation(len(starts))  # a shuffled batch: one call per matrix
    buffer = np.empty((len(order), 7, 3), np.float32)
    assert lazy.gather(order, out=buffer) is buffer
    np.testing.assert_array_equal(_bits(buffer), _bits(want[order]))
    np.testing.assert_array_equal(_bits(lazy.gather([3, 3, 0])), _bits(want[[3, 3, 0]]))


def test_indexing_follows_numpy_on_the_first_axis():
    x = np.random.default_rng(2).normal(size=(30, 4))
    lazy = LazyWindows([x], np.arange(0, 24, 3), 5)
    eager = np.asarray(lazy)
    assert lazy.shape == eager.shape == (8, 5, 4) and len(lazy) == 8 and lazy.nbytes == eager.nbytes
    mask = np.arange(8) % 3 == 0
    for key in (3, -1, slice(2, 7, 2), slice(None, None, -1), [5, 0, 5], np.array([-2, 1]), mask):
        np.testing.assert_array_equal(lazy[key], eager[key])
    for key in ((slice(None), -1, [0, 2]), (2, slice(1, 3)), (slice(0, 3), slice(None), 1)):
        np.testing.assert_array_equal(lazy[key], eager[key])
    np.testing.assert_array_equal(np.asarray(lazy, dtype=np.float64), eager.astype(np.float64))
    for bad in (8, -9, [0, 8], np.ones(3, bool), 1.5):
        with pytest.raises(IndexError):
            lazy[bad]


def test_bad_windows_buffers_and_pools_are_typed_errors():
    x = np.zeros((10, 2))
    with pytest.raises(DataError, match="window 1 starts at row 7"):
        LazyWindows([x], [0, 7], 4)
    with pytest.raises(DataError, match="starts at row -1"):
        LazyWindows([x], [-1], 4)
    with pytest.raises(ShapeError, match="same number of columns"):
        LazyWindows([x, np.zeros((10, 3))], [0], 4, sources=[0])
    with pytest.raises(ShapeError, match="sources"):
        LazyWindows([x, x], [0], 4)
    with pytest.raises(ShapeError, match="not a matrix index"):
        LazyWindows([x, x], [0, 1], 4, sources=[0, 2])
    with pytest.raises(ShapeError, match="scaler has 1 features"):
        LazyWindows([x], [0], 4, scaler=Scaler.fit(np.zeros((3, 1))))
    with pytest.raises(ConfigError, match="window"):
        LazyWindows([x], [0], 0)
    lazy = LazyWindows([x], [0, 1], 4)
    with pytest.raises(ShapeError, match="out must be"):
        lazy.gather([0, 1], out=np.empty((2, 4, 2), np.float64))
    with pytest.raises(ConfigError, match="pooled"):
        LazyWindows.concat([lazy, LazyWindows([x], [0], 3)])
    huge = np.array([[1e300, 0.0]] * 10)
    with pytest.raises(DataError, match="row"):  # beyond float32 once gathered: named, not Inf
        LazyWindows([huge], [0], 4).gather([0])


def test_pooled_windows_share_the_matrices_and_keep_each_symbols_windows():
    a, b = _matrices()[:2]
    wa = LazyWindows([a], [0, 10, 20], 5)
    wb = LazyWindows([b], [3, 4], 5)
    wab = LazyWindows.concat([wa, wb, LazyWindows([a], [30], 5)])
    assert len(wab.matrices) == 2 and wab.matrices[0] is wa.matrices[0]
    want = np.concatenate([np.asarray(wa), np.asarray(wb), np.asarray(LazyWindows([a], [30], 5))])
    np.testing.assert_array_equal(np.asarray(wab), want)


def test_the_choice_is_by_size_and_either_way_holds_the_same_bits():
    lazy = LazyWindows([np.random.default_rng(3).normal(size=(50, 2))], np.arange(40), 8)
    eager = choose_windows(lazy)
    assert isinstance(eager, np.ndarray) and lazy.nbytes <= EAGER_LIMIT_BYTES
    assert choose_windows(lazy, gather=True) is lazy
    np.testing.assert_array_equal(_bits(choose_windows(lazy, gather=False)), _bits(eager))


@pytest.mark.parametrize("inputs", ["features", "candles"])
def test_make_windows_gathered_materialised_and_the_eager_kernel_agree(sp500, inputs):
    spec = DataSpec(window=24, horizon=5, inputs=inputs)
    series = series_from_bars("sp500", sp500, 5)
    split = chronological_split(series.n_rows, horizon=5, index=series.index)
    scaler = fit_scaler([series], {"sp500": split.train}, spec)
    lazy = make_windows(series, spec, scaler, split.train, gather=True)
    eager = make_windows(series, spec, scaler, split.train, gather=False)
    assert isinstance(lazy.x, LazyWindows) and isinstance(eager.x, np.ndarray)
    # What windows were before they could be gathered: every window by the Rust kernel, then kept.
    start, stop = split.train
    if inputs == "features":
        mean, std = scaler.arrays()
        values = series.features.to_numpy(dtype=np.float64)[start:stop]
        before = kernels.sliding_windows(np.ascontiguousarray(values), 24, mean=mean, std=std)
    else:
        values = series.bars.to_numpy(dtype=np.float64)[start:stop]
        before = relative_candles(kernels.sliding_windows(np.ascontiguousarray(values), 24))
    before = before[lazy.end_rows - start - 23]
    np.testing.assert_array_equal(_bits(eager.x), _bits(before))
    np.testing.assert_array_equal(_bits(np.asarray(lazy.x)), _bits(before))
    rows = np.random.default_rng(0).permutation(len(before))[:300]
    np.testing.assert_array_equal(_bits(lazy.x.gather(rows)), _bits(before[rows]))
    np.testing.assert_array_equal(lazy.y, eager.y)


def test_batches_are_those_of_a_tensor_dataset_with_the_same_seed(sp500):
    spec = DataSpec(window=16, horizon=5)
    series = series_from_bars("sp500", sp500, 5)
    split = chronological_split(series.n_rows, horizon=5, index=series.index)
    scaler = fit_scaler([series], {"sp500": split.train}, spec)
    w = make_windows(series, spec, scaler, split.train, gather=True)
    eager = np.asarray(w.x)
    before = DataLoader(
        TensorDataset(torch.from_numpy(eager), torch.from_numpy(w.y)),
        batch_size=64,
        shuffle=True,
        generator=torch.Generator().manual_seed(7),
    )
    loaders = [batch_loader(WindowBatches(x, w.y), 64, seed=7) for x in (w.x, eager)]
    for _epoch in range(2):  # the generator moves on between epochs as DataLoader(shuffle=True)'s does
        for (xa, ya), (xl, yl), (xe, ye) in zip(before, *loaders, strict=True):
            assert torch.equal(xa, xl) and torch.equal(xa, xe)
            assert torch.equal(ya, yl) and torch.equal(ya, ye)
    in_order = [x.clone() for x, _ in batch_loader(WindowBatches(w.x, w.y), 100)]
    np.testing.assert_array_equal(torch.cat(in_order).numpy(), eager)


def test_a_batch_of_lazy_windows_reuses_one_buffer():
    lazy = LazyWindows([np.random.default_rng(4).normal(size=(40, 2))], np.arange(30), 6)
    ds = WindowBatches(lazy, np.zeros((30, 1)))
    a, _ = ds.__getitems__([1, 2, 3])
    b, _ = ds.__getitems__([4, 5])
    assert b.data_ptr() == a.data_ptr()  # the second batch overwrote the first one's memory
    x, y = ds[4]
    assert torch.equal(x, b[0]) and tuple(y.shape) == (1,)
    with pytest.raises(ShapeError, match="labels"):
        WindowBatches(lazy, np.zeros((29, 1)))


@pytest.mark.parametrize("multi", [False, True])
def test_library_loaders_give_the_same_batches_gathered_or_materialised(sp500, multi):
    if multi:
        bars = {"a": sp500.iloc[:2000], "b": sp500.iloc[2000:3500], "c": sp500.iloc[3500:]}
        make = lambda **kw: make_multi_symbol_loaders(bars, window=16, horizons=(5,), seed=3, **kw)  # noqa: E731
    else:
        make = lambda **kw: make_loaders(sp500, window=16, horizons=(5,), seed=3, **kw)  # noqa: E731
    auto, eager, lazy = make(), make(lazy=False), make(lazy=True)
    for part in ("train", "val", "test"):
        gathered = {}
        for name, loaders in (("auto", auto), ("eager", eager), ("lazy", lazy)):
            ds = getattr(loaders, part).dataset
            gathered[name] = {p.windows is None for p in (ds.parts().values() if multi else [ds])}
        assert gathered == {"auto": {False}, "eager": {False}, "lazy": {True}}  # small data: materialised
        batches = zip(*(getattr(loaders, part) for loaders in (auto, eager, lazy)), strict=True)
        for (xa, ya), (xe, ye), (xl, yl) in batches:
            assert torch.equal(xa, xe) and torch.equal(xe, xl)
            assert torch.equal(ya, ye) and torch.equal(ye, yl)


def test_a_multi_symbol_batch_keeps_its_order_across_symbols(sp500):
    bars = {"a": sp500.iloc[:1500], "b": sp500.iloc[1500:3000]}
    loaders = make_multi_symbol_loaders(bars, window=8, horizons=(5,), lazy=True)
    ds = loaders.train.dataset
    picks = [len(ds) - 1, 0, 5, -1, len(ds.datasets[0]), 3]
    for got, i in zip(ds.__getitems__(picks), picks, strict=True):
        want = ds[i]
        assert torch.equal(got[0], want[0]) and torch.equal(got[1], want[1])
    with pytest.raises(IndexError):
        ds.__getitems__([len(ds)])


def test_the_library_shuffle_is_dataloaders_without_its_list_of_indices(sp500):
    loaders = make_loaders(sp500, window=8, horizons=(5,), seed=5, batch_size=100)
    ds = loaders.train.dataset
    plain = DataLoader(ds, batch_size=100, shuffle=True, generator=torch.Generator().manual_seed(5))
    for _epoch in range(2):
        for (xa, ya), (xb, yb) in zip(loaders.train, plain, strict=True):
            assert torch.equal(xa, xb) and torch.equal(ya, yb)


@pytest.mark.parametrize("name", ["batches", "gathered"])
def test_the_docstring_examples_run(name):
    module = importlib.import_module(f"neural_trader.data.{name}")
    assert doctest.testmod(module, optionflags=doctest.ELLIPSIS).failed == 0


def test_blocks_of_one_array_are_gathered_in_one_call_with_the_same_bits():
    root = np.random.default_rng(5).normal(size=(126, 3))
    blocks = [root[0:40], root[40:65], root[65:126]]
    sources = np.array([2, 0, 1, 2, 0, 1, 1])
    starts = np.array([50, 3, 18, 0, 33, 0, 10])
    scaler = Scaler.fit(root)
    shared = LazyWindows(blocks, starts, 7, sources=sources, scaler=scaler)
    apart = LazyWindows([b.copy() for b in blocks], starts, 7, sources=sources, scaler=scaler)
    assert shared._root is root and apart._root is None
    order = np.random.default_rng(6).permutation(len(starts))
    np.testing.assert_array_equal(_bits(shared.gather(order)), _bits(apart.gather(order)))
    np.testing.assert_array_equal(_bits(np.asarray(shared)), _bits(np.asarray(apart)))


def test_a_folder_of_symbols_is_one_feature_matrix(tmp_path, make_bars):
    for k in range(3):
        bars = make_bars(300 + 50 * k, seed=k)
        bars.to_csv(tmp_path / f"s{k}.csv", index=False)
    series = load_series(tmp_path, 5)
    matrices = [s.features.to_numpy(dtype=np.float64) for s in series]
    assert all(m.base is matrices[0].base for m in matrices) and matrices[0].flags.c_contiguous
    for s in series:  # each symbol's rows are those of its own bars
        alone = series_from_bars(s.symbol, load_ohlcv(tmp_path / f"{s.symbol}.csv"), 5)
        pd.testing.assert_frame_equal(s.features, alone.features, check_exact=True)
        pd.testing.assert_frame_equal(s.labels, alone.labels, check_exact=True)
    spec = DataSpec(window=16, horizon=5)
    scaler = fit_scaler(series, {s.symbol: (0, s.n_rows) for s in series}, spec)
    pooled = LazyWindows.concat([make_windows(s, spec, scaler, gather=True).x for s in series])
    assert pooled._root is matrices[0].base
    alone = np.concatenate([make_windows(s, spec, scaler, gather=False).x for s in series])
    np.testing.assert_array_equal(_bits(np.asarray(pooled)), _bits(alone))
