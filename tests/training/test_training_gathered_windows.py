"""``train`` on windows gathered batch by batch gives the run it gives on materialised windows: the same
weights, bit for bit, and the same test scores, for several symbols, feature and candle inputs."""

from __future__ import annotations

import pytest
import torch

from neural_trader.checkpoint import Checkpoint
from neural_trader.data import DataSpec, chronological_split, series_from_bars
from neural_trader.datasets import load_sp500_daily
from neural_trader.workflows import ModelOptions, TrainOptions, train


@pytest.fixture(scope="module")
def three_symbols():
    """The S&P 500 bars cut into three series of their own, as a folder of three symbols would be."""
    bars = load_sp500_daily()
    cuts = [(0, 1500), (1500, 3300), (3300, 5031)]
    return [series_from_bars(f"part{k}", bars.iloc[lo:hi], 5) for k, (lo, hi) in enumerate(cuts)]


@pytest.mark.parametrize("inputs", ["features", "candles"])
def test_gathered_and_materialised_windows_train_the_same_weights(tmp_path, three_symbols, inputs):
    spec = DataSpec(window=16, horizon=5, inputs=inputs)
    splits = {s.symbol: chronological_split(s.n_rows, horizon=5, index=s.index) for s in three_symbols}
    results = {}
    for gather in (True, False):
        options = TrainOptions(epochs=2, batch_size=128, device="cpu", progress=False, gather=gather)
        results[gather] = train(
            "bilstm_classifier",
            three_symbols,
            spec,
            splits,
            tmp_path / str(gather),
            model_options=ModelOptions(hidden_size=8, num_layers=1),
            options=options,
        )
    lazy, eager = (Checkpoint.read(results[g].checkpoint).tensors for g in (True, False))
    assert lazy.keys() == eager.keys()
    for name in lazy:
        assert torch.equal(lazy[name], eager[name]), name
    assert results[True].test_metrics == results[False].test_metrics
    assert results[True].windows == results[False].windows
