"""Your columns, mixed inputs and every label recipe on windows gathered when read: the same bits as the
windows materialised block by block (standardised columns by the sliding-window kernel, candles made
relative), the same labels and label ends, and pooled across symbols into one set of windows."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neural_trader import kernels
from neural_trader.checkpoint import Checkpoint
from neural_trader.data import (
    DataSpec,
    LazyWindows,
    chronological_split,
    fit_scaler,
    make_windows,
    relative_candles,
    resolve_spec,
    series_from_bars,
)
from neural_trader.data.inputs import input_matrix
from neural_trader.workflows import ModelOptions, TrainOptions, train
from neural_trader.workflows.train import part_windows, pool

SPECS = {
    "mixed": dict(inputs=["sent_news", "candles", "features"]),
    "your columns": dict(inputs=["sent_*"]),
    "candles then features": dict(inputs=["candles", "imbalance"]),
    "triple barrier": dict(label="triple_barrier", barriers=[1.0, 1.0], vol_window=10),
    "your classes": dict(inputs=["features", "imbalance"], label="classes", label_column="my_label"),
    "your values": dict(label="values", label_column="my_value"),
}


def _bits(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float32).view(np.uint32)


def _bars(make_bars, n: int, seed: int):
    rng = np.random.default_rng(seed)
    bars = make_bars(n, seed=seed)
    for name in ("sent_news", "sent_social", "imbalance", "my_value"):
        bars[name] = rng.normal(size=n)
    bars["my_label"] = rng.integers(0, 3, n).astype(np.float64)
    return bars


def _series(make_bars, symbol: str = "x", n: int = 400, seed: int = 0):
    keep = {"extra_columns": ["sent_*", "imbalance", "my_value"], "label_column": "my_label"}
    return series_from_bars(symbol, _bars(make_bars, n, seed), 5, **keep)


def _block_windows(series, spec, scaler, rows) -> np.ndarray:
    """The windows as they were materialised before they could be gathered: each block of columns by the
    sliding-window kernel (standardised ones with the scaler), candles made relative, side by side."""
    start, stop = rows
    columns = spec.input_columns
    out = np.empty((stop - start - spec.window + 1, spec.window, len(columns)), dtype=np.float32)
    if spec.scaled_columns:
        values = np.ascontiguousarray(input_matrix(series, spec.scaled_columns)[start:stop])
        mean, std = scaler.arrays()
        at = [columns.index(c) for c in spec.scaled_columns]
        out[:, :, at] = kernels.sliding_windows(values, spec.window, mean=mean, std=std)
    if spec.candle_columns:
        values = np.ascontiguousarray(series.bars[list(spec.candle_columns)].to_numpy()[start:stop])
        at = [columns.index(c) for c in spec.candle_columns]
        out[:, :, at] = relative_candles(kernels.sliding_windows(values, spec.window))
    return out


@pytest.mark.parametrize("name", list(SPECS))
def test_gathered_windows_are_the_block_windows_bit_for_bit(make_bars, name):
    series = _series(make_bars)
    split = chronological_split(series.n_rows, horizon=5, index=series.index)
    spec = resolve_spec(DataSpec(window=12, horizon=5, **SPECS[name]), [series], {"x": split.train})
    scaler = fit_scaler([series], {"x": split.train}, spec)
    for rows in (split.train, split.test):
        lazy = make_windows(series, spec, scaler, rows, gather=True)
        eager = make_windows(series, spec, scaler, rows, gather=False)
        assert isinstance(lazy.x, LazyWindows) and isinstance(eager.x, np.ndarray)
        before = _block_windows(series, spec, scaler, rows)[lazy.end_rows - rows[0] - spec.window + 1]
        np.testing.assert_array_equal(_bits(eager.x), _bits(before))
        np.testing.assert_array_equal(_bits(np.asarray(lazy.x)), _bits(before))
        picked = np.random.default_rng(1).permutation(len(before))[:50]
        np.testing.assert_array_equal(_bits(lazy.x.gather(picked)), _bits(before[picked]))
        for field in ("y", "end_rows", "label_ends"):
            np.testing.assert_array_equal(getattr(lazy, field), getattr(eager, field))


def test_mixed_inputs_of_several_symbols_pool_into_one_set_of_windows(make_bars):
    series = [_series(make_bars, f"s{k}", 300 + 40 * k, seed=k) for k in range(3)]
    splits = {s.symbol: chronological_split(s.n_rows, horizon=5, index=s.index) for s in series}
    rows = {sym: split.train for sym, split in splits.items()}
    spec = resolve_spec(DataSpec(window=12, horizon=5, **SPECS["mixed"]), series, rows)
    scaler = fit_scaler(series, rows, spec)
    windows = part_windows(series, spec, scaler, splits)
    lazy, eager = pool(windows, gather=True), pool(windows, gather=False)
    for part in ("train", "val", "test"):
        assert isinstance(lazy[part].x, LazyWindows) and len(lazy[part].x.matrices) == 3
        alone = np.concatenate(
            [make_windows(s, spec, scaler, getattr(splits[s.symbol], part)).x for s in series]
        )
        np.testing.assert_array_equal(_bits(np.asarray(lazy[part].x)), _bits(alone))
        np.testing.assert_array_equal(_bits(eager[part].x), _bits(alone))
        np.testing.assert_array_equal(lazy[part].y, eager[part].y)


@pytest.mark.parametrize("name", ["mixed", "triple barrier", "your values"])
def test_gathered_and_materialised_runs_train_the_same_weights(tmp_path, make_bars, name):
    series = [_series(make_bars, f"s{k}", 260, seed=k) for k in range(2)]
    splits = {s.symbol: chronological_split(s.n_rows, horizon=5, index=s.index) for s in series}
    spec = DataSpec(window=12, horizon=5, **SPECS[name])
    results = {}
    for gather in (True, False):
        options = TrainOptions(epochs=1, batch_size=32, device="cpu", progress=False, gather=gather)
        small = ModelOptions(hidden_size=8, num_layers=1)
        results[gather] = train(
            "bilstm_classifier",
            series,
            spec,
            splits,
            tmp_path / str(gather),
            model_options=small,
            options=options,
        )
    lazy, eager = (Checkpoint.read(results[g].checkpoint) for g in (True, False))
    for key, tensor in lazy.tensors.items():
        assert torch.equal(tensor, eager.tensors[key]), key
    assert results[True].test_metrics == results[False].test_metrics
    assert lazy.extra.get("label_scaler") == eager.extra.get("label_scaler")
