"""Leakage tests for your columns and triple-barrier labels, in the style of test_data_leakage.py: rewriting
every bar (prices, volume and your columns) from the first validation bar on must leave the training
inputs, labels, label ends and scaler bit-identical, through the same road the workflows take."""

from __future__ import annotations

import numpy as np
import pytest

from neural_trader.data import (
    DataSpec,
    chronological_split,
    feature_warmup,
    fit_scaler,
    make_windows,
    resolve_spec,
    series_from_bars,
)

H = 10
COLUMNS = ["sent_*", "imbalance"]


def with_columns(bars, seed=5):
    rng = np.random.default_rng(seed)
    out = bars.copy()
    for name in ("sent_news", "sent_social", "imbalance"):
        out[name] = rng.normal(size=len(out))
    # A user class label reading H bars ahead: the sign of the H-bar move, -1/0/+1.
    move = np.log(out["close"]).shift(-H) - np.log(out["close"])
    out["my_label"] = np.sign(move.round(3))
    return out


def rewrite_columns(bars, first_row, seed=9):
    """Other, still valid, bars from ``first_row`` on, and other values in every user column."""
    out = bars.copy()
    rng = np.random.default_rng(seed)
    n = len(out) - first_row
    prices = out[["open", "high", "low", "close"]].iloc[first_row:].to_numpy()
    out.iloc[first_row:, out.columns.get_indexer(["open", "high", "low", "close"])] = (
        prices * 10 * (1 + rng.uniform(-0.05, 0.05, (n, 1)))
    )
    out.iloc[first_row:, out.columns.get_loc("volume")] = out["volume"].iloc[first_row:].to_numpy() * 7
    for name in ("sent_news", "sent_social", "imbalance"):
        out.iloc[first_row:, out.columns.get_loc(name)] = rng.normal(5.0, 3.0, n)
    out.iloc[first_row:, out.columns.get_loc("my_label")] = rng.choice([-1.0, 0.0, 1.0], n)
    return out


def road(bars, spec, split=None):
    """What `train` does with one symbol: rows, resolved spec, split, scaler, the training windows."""
    label = spec.label_column
    series = series_from_bars("sp500", bars, spec.horizon, extra_columns=COLUMNS, label_column=label)
    split = split or chronological_split(series.n_rows, horizon=spec.horizon, index=series.index)
    resolved = resolve_spec(spec, [series], {"sp500": split.train})
    scaler = fit_scaler([series], {"sp500": split.train}, resolved)
    parts = {p: make_windows(series, resolved, scaler, getattr(split, p)) for p in ("train", "val")}
    return split, resolved, scaler, parts


SPECS = {
    "triple_barrier": DataSpec(
        inputs=["features", "sent_*", "imbalance"], window=24, horizon=H, label="triple_barrier"
    ),
    "your_classes": DataSpec(
        inputs=["imbalance", "candles", "sent_*"],
        window=24,
        horizon=H,
        label="classes",
        label_column="my_label",
    ),
}


@pytest.fixture(scope="module")
def bars(sp500):
    return with_columns(sp500.reset_index())


@pytest.mark.parametrize("name", list(SPECS))
def test_rewriting_the_future_leaves_training_inputs_labels_and_scaler_bit_identical(bars, name):
    spec = SPECS[name]
    split, resolved, scaler, base = road(bars, spec)
    first_val_bar = feature_warmup() + split.val[0]
    _, resolved2, scaler2, other = road(rewrite_columns(bars, first_val_bar), spec, split)
    assert resolved2 == resolved  # the same columns and (for your classes) the same training classes
    assert scaler2 == scaler
    a, b = base["train"], other["train"]
    assert a.x.tobytes() == b.x.tobytes() and a.y.tobytes() == b.y.tobytes()
    np.testing.assert_array_equal(a.label_ends, b.label_ends)
    assert a.label_ends.max() < split.val[0]
    # ... while the validation windows did change, so the comparison above has teeth.
    assert base["val"].x.tobytes() != other["val"].x.tobytes()


def test_the_rewrite_notices_a_triple_barrier_label_that_reads_one_row_further(bars):
    """Rewriting from the last embargo row changes exactly training labels whose barrier span reaches
    that row, and leaves every label decided before it alone."""
    spec = SPECS["triple_barrier"]
    split, _, _, base = road(bars, spec)
    row = split.val[0] - 1
    _, _, _, other = road(rewrite_columns(bars, feature_warmup() + row), spec, split)
    a, b = base["train"], other["train"]
    assert a.x.tobytes() == b.x.tobytes()
    changed = (a.y != b.y).any(axis=1) | (a.label_ends != b.label_ends)
    reaches = a.label_ends >= row
    assert changed.any() and not (changed & ~reaches).any()
