"""make_loaders end to end on real data, and the leakage tests: nothing in the training arrays (windows,
labels, scaler) may depend on a row of the validation or test parts."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neural_trader.data import (
    Scaler,
    Split,
    feature_and_label_frames,
    feature_warmup,
    make_features,
    make_loaders,
    walk_forward_splits,
)
from neural_trader.errors import ConfigError, DataError

WINDOW = 32
HORIZONS = (1, 7, 30)


def _arrays(loaders, part):
    """All samples of a part as numpy arrays, read through the dataset's public interface."""
    ds = loaders.datasets()[part]
    xs, ys = zip(*(ds[i] for i in range(len(ds))), strict=True)
    return torch.stack(xs).numpy(), torch.stack(ys).numpy()


@pytest.fixture(scope="module")
def loaders(sp500):
    return make_loaders(sp500, window=WINDOW, horizons=HORIZONS, batch_size=128)


def test_shapes_columns_and_batches(loaders, sp500):
    n_rows = len(sp500) - feature_warmup()
    assert loaders.split.n_rows == n_rows == len(loaders.index)
    assert loaders.split.embargo == 30 and loaders.split.time_range[0] == "1999-03-16T00:00:00"
    assert len(loaders.feature_columns) == 28
    assert loaders.label_columns == tuple(f"{k}_{h}" for k in ("direction", "trend") for h in HORIZONS)
    x, y = next(iter(loaders.train))
    assert x.shape == (128, WINDOW, 28) and y.shape == (128, 6)
    assert x.dtype == torch.float32 and y.dtype == torch.float32
    assert set(torch.unique(y[:, :3]).tolist()) <= {0.0, 1.0} and y[:, 3:].abs().max() < 1
    # the training windows are standardised with training statistics: about mean 0, std 1
    train_x = loaders.train.dataset.windows
    assert (
        np.abs(train_x.mean(axis=(0, 1))).max() < 0.05 and np.abs(train_x.std(axis=(0, 1)) - 1).max() < 0.05
    )


def test_every_part_holds_exactly_its_windows(loaders):
    split = loaders.split
    for name, (start, stop) in split.parts().items():
        ds = loaders.datasets()[name]
        assert ds.window_starts[0] == start  # the first window starts on the part's first row
        assert ds.window_end_rows.max() <= stop - 1
        # every window that fits has a label, except the last 30 of the series (no future)
        expected = (stop - start - WINDOW + 1) - (30 if name == "test" else 0)
        assert len(ds) == expected
    test = loaders.datasets()["test"]
    assert test.window_end_rows.max() == split.n_rows - 1 - 30


def test_no_training_label_reads_a_validation_or_test_row(loaders):
    split = loaders.split
    for part, following in (("train", split.val), ("val", split.test)):
        last_row_read = loaders.datasets()[part].window_end_rows.max() + max(HORIZONS)
        assert last_row_read < following[0]
        assert last_row_read == following[0] - 1  # the embargo is exactly the horizon: tight, not lucky


def test_scaler_statistics_are_those_of_the_training_rows_alone(loaders, sp500):
    split, warmup = loaders.split, feature_warmup()
    # Bars up to the last training row only: validation and test rows do not even exist here.
    alone = make_features(sp500.iloc[: warmup + split.train[1]], drop_warmup=True)
    assert len(alone) == split.train[1]
    expected = Scaler.fit(alone.to_numpy(), columns=alone.columns)
    assert loaders.scaler == expected
    np.testing.assert_allclose(loaders.scaler.mean, alone.mean().to_numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(loaders.scaler.std, alone.std(ddof=0).to_numpy(), rtol=1e-10)
    everything = make_features(sp500, drop_warmup=True)
    assert not np.allclose(loaders.scaler.mean, everything.mean().to_numpy(), rtol=1e-3)


@pytest.mark.parametrize("lazy", [False, True])
def test_rewriting_the_future_leaves_training_arrays_bit_identical(loaders, sp500, rewrite, lazy):
    split, warmup = loaders.split, feature_warmup()
    first_val_bar = warmup + split.val[0]
    future = rewrite(sp500, first_val_bar)  # every validation and test bar: prices x10 with noise
    kwargs = dict(window=WINDOW, horizons=HORIZONS, split=split, lazy=lazy)
    base = make_loaders(sp500, **kwargs) if lazy else loaders
    other = make_loaders(future, **kwargs)
    x, y = _arrays(base, "train")
    x2, y2 = _arrays(other, "train")
    assert np.array_equal(x, x2) and np.array_equal(y, y2, equal_nan=True)
    assert other.scaler == base.scaler
    # ... while the validation arrays did change, so the comparison above has teeth.
    assert not np.array_equal(_arrays(base, "val")[0], _arrays(other, "val")[0])


def test_the_rewrite_test_notices_a_label_that_reads_one_row_further(loaders, sp500, rewrite):
    """Rewriting from the last embargo row instead of the first validation row must change the
    training labels: the last training window's 30-bar label reads exactly that row."""
    split = loaders.split
    future = rewrite(sp500, feature_warmup() + split.val[0] - 1)
    other = make_loaders(future, window=WINDOW, horizons=HORIZONS, split=split)
    x, y = _arrays(loaders, "train")
    x2, y2 = _arrays(other, "train")
    assert np.array_equal(x, x2)
    changed = np.flatnonzero((y != y2).any(axis=1))
    assert changed.tolist() == [len(y) - 1]


def test_a_split_with_a_short_embargo_is_refused(sp500):
    n = len(sp500) - feature_warmup()
    short = Split(train=(0, 3000), val=(3010, 4000), test=(4010, n), embargo=10, n_rows=n)
    with pytest.raises(ConfigError, match="embargo 10 < horizon 30"):
        make_loaders(sp500, split=short)
    with pytest.raises(ConfigError, match="embargo 10 < horizon 30"):
        make_loaders(sp500, embargo=10)
    make_loaders(sp500, split=short, horizons=(1, 7), window=16)  # fine for horizons <= 10


def test_walk_forward_fold_loaders(sp500, rewrite):
    feats, labels = feature_and_label_frames(sp500, horizons=(7,))
    assert len(feats) == len(labels) == len(sp500) - feature_warmup()
    folds = walk_forward_splits(len(feats), horizon=7, n_folds=3, mode="rolling", index=feats.index)
    first = make_loaders(sp500, window=16, horizons=(7,), split=folds[0], lazy=True)
    future = rewrite(sp500, feature_warmup() + folds[0].val[0])
    again = make_loaders(future, window=16, horizons=(7,), split=folds[0], lazy=True)
    assert np.array_equal(_arrays(first, "train")[0], _arrays(again, "train")[0])
    assert first.scaler == again.scaler
    last = make_loaders(sp500, window=16, horizons=(7,), split=folds[-1])
    assert last.datasets()["test"].window_end_rows.max() == len(feats) - 1 - 7


def test_training_order_is_seeded_and_evaluation_order_is_chronological(sp500):
    kwargs = dict(window=16, horizons=(1,), batch_size=64)
    a, b = make_loaders(sp500, seed=3, **kwargs), make_loaders(sp500, seed=3, **kwargs)
    assert torch.equal(next(iter(a.train))[0], next(iter(b.train))[0])
    c = make_loaders(sp500, seed=4, **kwargs)
    assert not torch.equal(next(iter(a.train))[0], next(iter(c.train))[0])
    x, _ = next(iter(a.val))
    np.testing.assert_array_equal(x.numpy(), a.val.dataset.windows[:64])


def test_label_selection_and_errors(sp500, make_bars):
    picked = make_loaders(sp500, window=16, labels=["trend_7"], horizons=(1, 7))
    assert picked.label_columns == ("trend_7",) and next(iter(picked.val))[1].shape[1] == 1
    with pytest.raises(ConfigError, match="unknown label column 'trend_30'"):
        make_loaders(sp500, horizons=(1, 7), labels=["trend_30"])
    with pytest.raises(DataError, match="val part: .*fewer than one window"):
        make_loaders(validate(make_bars(400)), window=64, horizons=(1,))
    bad = make_bars(200)
    bad.loc[150, "close"] = np.nan
    with pytest.raises(DataError, match="row 150"):
        make_loaders(bad, window=8, horizons=(1,))


def validate(raw):
    from neural_trader.data import validate_ohlcv

    return validate_ohlcv(raw)
