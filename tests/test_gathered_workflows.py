"""``evaluate`` and ``predict`` read windows gathered per batch exactly as materialised ones: forcing the
gathered path (no size counts as small) changes no prediction, score or report number."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from neural_trader.data import DataSpec, chronological_split, fit_scaler, make_windows, series_from_bars
from neural_trader.data import gathered as gathered_module
from neural_trader.data.gathered import LazyWindows
from neural_trader.datasets import load_sp500_daily
from neural_trader.workflows import (
    EvaluateOptions,
    ModelOptions,
    TrainOptions,
    evaluate,
    predict,
    read_trained,
    train,
)
from neural_trader.workflows.run_identity import fingerprint

TINY = ModelOptions(hidden_size=8, num_layers=1, num_heads=2)


@pytest.fixture(scope="module")
def two_symbols():
    bars = load_sp500_daily()
    return [
        series_from_bars(name, bars.iloc[lo:hi], 5) for name, lo, hi in (("a", 0, 2500), ("b", 2500, 5031))
    ]


def _trained(tmp_path_factory, series, name: str, spec: DataSpec):
    splits = {s.symbol: chronological_split(s.n_rows, horizon=spec.horizon, index=s.index) for s in series}
    out = tmp_path_factory.mktemp(name)
    options = TrainOptions(epochs=1, batch_size=256, device="cpu", progress=False)
    result = train(name, series, spec, splits, out, model_options=TINY, options=options)
    return read_trained(result.checkpoint)


def test_predictions_torch_and_native_are_the_same_gathered(tmp_path_factory, two_symbols, monkeypatch):
    trained = _trained(tmp_path_factory, two_symbols, "bilstm_classifier", DataSpec(window=16, horizon=5))
    want = {native: predict(trained, two_symbols, use_native=native) for native in (False, True)}
    monkeypatch.setattr(gathered_module, "EAGER_LIMIT_BYTES", -1)  # no windows count as small
    assert isinstance(make_windows(two_symbols[0], trained.spec, trained.scaler).x, LazyWindows)
    for native in (False, True):
        got = predict(trained, two_symbols, use_native=native)
        pd.testing.assert_frame_equal(got, want[native], check_exact=True)


@pytest.mark.parametrize(
    ("name", "spec"),
    [
        ("bilstm_classifier", DataSpec(window=16, horizon=5)),
        ("lstm_attention", DataSpec(task="forecast", window=16, horizon=3, targets=["volatility_20"])),
    ],
)
def test_evaluation_is_the_same_gathered(tmp_path_factory, two_symbols, monkeypatch, name, spec):
    trained = _trained(tmp_path_factory, two_symbols, name, spec)
    options = EvaluateOptions(n_resamples=50, progress=False)
    want = evaluate([trained], two_symbols, options)
    monkeypatch.setattr(gathered_module, "EAGER_LIMIT_BYTES", -1)
    got = evaluate([trained], two_symbols, options)
    for a, b in zip(got, want, strict=True):
        assert (a is None) == (b is None)
        if a is not None:
            assert repr(a) == repr(b)


def test_gathered_windows_feed_a_model_like_an_array(two_symbols):
    spec = DataSpec(window=16, horizon=5)
    s = two_symbols[0]
    split = chronological_split(s.n_rows, horizon=5, index=s.index)
    scaler = fit_scaler([s], {s.symbol: split.train}, spec)
    lazy = make_windows(s, spec, scaler, split.test, gather=True).x
    eager = make_windows(s, spec, scaler, split.test, gather=False).x
    np.testing.assert_array_equal(lazy[:, :, [0, 3]], eager[:, :, [0, 3]])
    assert torch.equal(torch.from_numpy(lazy[10:20]), torch.from_numpy(eager[10:20]))


def test_the_resume_fingerprint_of_gathered_windows_is_that_of_the_materialised_ones(two_symbols):
    spec = DataSpec(window=16, horizon=5)
    s = two_symbols[1]
    split = chronological_split(s.n_rows, horizon=5, index=s.index)
    scaler = fit_scaler([s], {s.symbol: split.train}, spec)
    w = make_windows(s, spec, scaler, split.train, gather=True)
    assert isinstance(w.x, LazyWindows)
    assert fingerprint(w.x, w.y) == fingerprint(np.asarray(w.x), w.y)
    assert fingerprint(w.x, w.y) != fingerprint(np.asarray(w.x)[::-1], w.y)
