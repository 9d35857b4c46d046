"""Chronological splits and walk-forward folds: sizes, order, the embargo rule (no training label reads a
validation or test input), real-data boundaries, and JSON round trips validated on load."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neural_trader.data import Split, chronological_split, feature_warmup, make_features, walk_forward_splits
from neural_trader.errors import ConfigError


def assert_no_label_crosses(split: Split, horizon: int) -> None:
    """The last window of a part ends on its last row and its label reads ``horizon`` rows further: that
    row must come before the next part's first (input) row."""
    parts = list(split.parts().values())
    for (_, stop), (next_start, _) in zip(parts, parts[1:], strict=False):
        assert stop - 1 + horizon < next_start


def test_default_split_on_real_data(sp500):
    feats = make_features(sp500, drop_warmup=True)
    n = len(feats)
    split = chronological_split(n, horizon=30, index=feats.index)
    assert n == 5031 - feature_warmup() == 4982
    assert split.embargo == 30
    assert split.train == (0, 3445) and split.val == (3475, 4213) and split.test == (4243, 4982)
    usable = n - 2 * 30
    sizes = [stop - start for start, stop in split.parts().values()]
    assert sum(sizes) == usable
    for size, share in zip(sizes, (0.70, 0.15, 0.15), strict=True):
        assert abs(size - share * usable) <= 1
    assert split.val[0] - split.train[1] == 30 and split.test[0] - split.val[1] == 30
    assert_no_label_crosses(split, 30)
    assert split.time_range == ("1999-03-16T00:00:00", "2018-12-31T00:00:00")
    # training ends in Nov 2012, validation starts in Jan 2013 (30 bars later), test in Jan 2016
    assert str(feats.index[split.train[1] - 1].date()) == "2012-11-20"
    assert str(feats.index[split.val[0]].date()) == "2013-01-07"
    assert str(feats.index[split.test[0]].date()) == "2016-01-26"


def test_embargo_must_cover_the_horizon():
    assert chronological_split(500, horizon=7).embargo == 7
    assert chronological_split(500, horizon=7, embargo=20).embargo == 20
    with pytest.raises(ConfigError, match="embargo 5 < horizon 7"):
        chronological_split(500, horizon=7, embargo=5)
    with pytest.raises(ConfigError, match="too few"):
        chronological_split(60, horizon=30)
    for fractions in ((0.8, 0.1), (0.5, 0.5, 0.0), (0.6, 0.2, 0.3)):
        with pytest.raises(ConfigError, match="fractions"):
            chronological_split(500, horizon=1, fractions=fractions)


@settings(max_examples=200, deadline=None)
@given(
    n_rows=st.integers(10, 20_000),
    horizon=st.integers(1, 60),
    extra=st.integers(0, 20),
    train=st.floats(0.05, 0.9),
    val=st.floats(0.05, 0.9),
)
def test_chronological_split_invariants(n_rows, horizon, extra, train, val):
    if train + val >= 0.95:
        return
    fractions = (train, val, 1 - train - val)
    try:
        split = chronological_split(n_rows, horizon=horizon, embargo=horizon + extra, fractions=fractions)
    except ConfigError as exc:
        assert "too few" in str(exc)
        return
    assert split.train[0] == 0 and split.test[1] == n_rows
    assert split.val[0] - split.train[1] == split.embargo == split.test[0] - split.val[1] == horizon + extra
    assert_no_label_crosses(split, horizon)


@pytest.mark.parametrize("mode", ["expanding", "rolling"])
def test_walk_forward_folds(mode):
    folds = walk_forward_splits(1000, horizon=10, n_folds=4, mode=mode, test_size=100, val_size=50)
    assert len(folds) == 4
    assert [f.test for f in folds] == [(600, 700), (700, 800), (800, 900), (900, 1000)]
    for k, fold in enumerate(folds):
        assert fold.embargo == 10 and fold.n_rows == 1000
        assert fold.val == (fold.test[0] - 60, fold.test[0] - 10)
        assert fold.train[1] == fold.val[0] - 10
        assert_no_label_crosses(fold, 10)
        # later test blocks are never trained on by earlier folds
        for later in folds[k + 1 :]:
            assert fold.train[1] <= later.test[0]
    starts = [f.train[0] for f in folds]
    lengths = [f.train[1] - f.train[0] for f in folds]
    if mode == "expanding":
        assert starts == [0] * 4 and lengths == [530, 630, 730, 830]
    else:
        assert lengths == [530] * 4 and starts == [0, 100, 200, 300]
    # val_size defaults to test_size: fold 0 validates on (490, 590) and trains up to 480
    rolled = walk_forward_splits(1000, horizon=10, n_folds=4, mode="rolling", test_size=100, train_size=200)
    assert [f.train for f in rolled] == [(280, 480), (380, 580), (480, 680), (580, 780)]


def test_walk_forward_defaults_on_real_data(sp500):
    n = len(sp500) - feature_warmup()
    folds = walk_forward_splits(n, horizon=30, n_folds=5)
    size = (n - 60) // 11
    assert [f.test[1] - f.test[0] for f in folds] == [size] * 5 and folds[-1].test[1] == n
    assert all(f.val[1] - f.val[0] == size for f in folds)
    assert folds[0].train[1] - folds[0].train[0] >= 5 * size
    for fold in folds:
        assert_no_label_crosses(fold, 30)


def test_walk_forward_bad_arguments():
    with pytest.raises(ConfigError, match="embargo"):
        walk_forward_splits(1000, horizon=10, embargo=3)
    with pytest.raises(ConfigError, match="mode"):
        walk_forward_splits(1000, horizon=10, mode="sliding")
    with pytest.raises(ConfigError, match="train_size applies to rolling"):
        walk_forward_splits(1000, horizon=10, train_size=100)
    with pytest.raises(ConfigError, match="no training rows"):
        walk_forward_splits(1000, horizon=10, n_folds=5, test_size=200)
    with pytest.raises(ConfigError, match="n_folds"):
        walk_forward_splits(1000, horizon=10, n_folds=0)
    with pytest.raises(ConfigError, match="train_size 900 exceeds"):
        walk_forward_splits(1000, horizon=10, mode="rolling", train_size=900)
    with pytest.raises(ConfigError, match="test_size"):
        walk_forward_splits(30, horizon=10, n_folds=5)


def test_json_round_trip(tmp_path, sp500):
    split = chronological_split(len(sp500), horizon=7, embargo=9, index=sp500.index)
    assert Split.from_json(split.to_json()) == split
    split.save(tmp_path / "split.json")
    assert Split.load(tmp_path / "split.json") == split
    doc = json.loads(split.to_json())
    assert (
        doc["format"] == "neural_trader.split" and doc["version"] == 1 and doc["train"] == list(split.train)
    )
    for fold in walk_forward_splits(1000, horizon=5, mode="rolling"):
        assert Split.from_json(fold.to_json()) == fold


def _doc(**changes):
    """A valid split document (train 0-63, val 68-81, test 86-100, embargo 5) with ``changes``."""

    def text():
        doc = json.loads(chronological_split(100, horizon=5).to_json())
        doc.update(changes)
        return json.dumps({k: v for k, v in doc.items() if v is not _DROP})

    return text


_DROP = object()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (lambda: "{not json", "cannot be parsed"),
        (lambda: "[1, 2]", "not a split document"),
        (_doc(format="other"), "not a split document"),
        (_doc(version=2), "unsupported split version 2"),
        (_doc(embargo=_DROP), "lacks field 'embargo'"),
        (_doc(val=[60, 81]), r"split val starts at row 60, only -3 rows after train ends \(63\)"),
        (_doc(val=[70, 81], test=[84, 100]), r"split test starts at row 84, only 3 rows after val"),
        (_doc(test=[86, 101]), r"split test \(86, 101\) must satisfy"),
        (_doc(train=[10, 5]), r"split train \(10, 5\) must satisfy"),
        (_doc(train=[0, 63.0]), "split train must be a .start, stop. pair of integers"),
        (_doc(train=[0, 63, 64]), "split train must be a .start, stop. pair"),
        (_doc(train="0-63"), "split train must be a .start, stop. list"),
        (_doc(embargo=True), "split embargo must be an integer"),
        (_doc(n_rows=-1), "split n_rows must be an integer >= 0"),
        (_doc(time_range=["2020"]), "time_range"),
    ],
)
def test_invalid_json_is_rejected_on_load(text, message):
    Split.from_json(_doc()())  # the unedited document is valid
    with pytest.raises(ConfigError, match=message):
        Split.from_json(text())


def test_check_against_the_series(sp500):
    split = chronological_split(len(sp500), horizon=7, index=sp500.index)
    split.check(n_rows=len(sp500), horizon=7, index=sp500.index)
    with pytest.raises(ConfigError, match="indexes 5031 rows but the series has 5030"):
        split.check(n_rows=5030, horizon=7)
    with pytest.raises(ConfigError, match="embargo 7 < horizon 30"):
        split.check(n_rows=len(sp500), horizon=30)
    shifted = sp500.index + (sp500.index[1] - sp500.index[0])
    with pytest.raises(ConfigError, match="the split was made for rows"):
        split.check(n_rows=len(sp500), horizon=7, index=shifted)


def test_numpy_integers_and_lists_are_normalised():
    split = Split(
        train=(np.int64(0), np.int64(10)), val=[12, 20], test=(22, 30), embargo=np.int64(2), n_rows=30
    )
    assert split.train == (0, 10) and split.val == (12, 20) and type(split.embargo) is int
    assert Split.from_json(split.to_json()) == split
    with pytest.raises(ConfigError, match="pair of integers"):
        Split(train=(0, 10.0), val=(12, 20), test=(22, 30), embargo=2, n_rows=30)
