"""Many symbols as one dataset: per-symbol embargoed splits, one scaler fit on training rows only, and a
global window index that ranks share by window, not by symbol."""

from __future__ import annotations

import doctest
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from torchrun_job import FEATURES, universe

from neural_trader.data import Scaler, multi_symbol
from neural_trader.data.features import feature_warmup
from neural_trader.data.multi_symbol import fit_pooled_scaler, make_multi_symbol_loaders
from neural_trader.errors import ConfigError, DataError
from neural_trader.training.distributed import ShardedBatchSampler, shard_bounds

HORIZON = 3


def _loaders(bars, **kw):
    return make_multi_symbol_loaders(
        bars, window=8, horizons=(1, HORIZON), features=FEATURES, batch_size=16, **kw
    )


@pytest.fixture(scope="module")
def bars():
    return universe()


def test_the_pooled_scaler_is_the_fit_on_all_training_rows_concatenated(bars) -> None:
    loaders = _loaders(bars)
    rows = []
    for symbol, split in loaders.splits.items():
        feats = loaders.datasets()["train"].parts()[symbol].series
        rows.append(np.asarray(feats)[split.train[0] : split.train[1]])
    reference = Scaler.fit(np.concatenate(rows), columns=FEATURES)
    np.testing.assert_allclose(loaders.scaler.mean, reference.mean, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(loaders.scaler.std, reference.std, rtol=1e-12)
    # ... and not the fit on every row, which reads validation and test rows.
    everything = Scaler.fit(
        np.concatenate([np.asarray(p.series) for p in loaders.datasets()["train"].datasets])
    )
    assert not np.allclose(loaders.scaler.std, everything.std, rtol=1e-6)


def test_rewriting_every_symbols_validation_and_test_bars_changes_no_training_window(bars) -> None:
    before = _loaders(bars)
    warmup = feature_warmup(FEATURES)
    rewritten = {}
    for symbol, frame in bars.items():
        # From the first validation bar on (training labels may read into the embargo, no further).
        first = warmup + before.splits[symbol].val[0]
        frame = frame.copy()
        frame.iloc[first:, :4] *= 10.0
        frame.iloc[first:, 4] *= 7.0
        rewritten[symbol] = frame
    after = _loaders(rewritten)
    assert after.scaler == before.scaler  # the same bits
    a, b = before.datasets()["train"], after.datasets()["train"]
    np.testing.assert_array_equal(a.labels, b.labels)
    for i in range(len(a)):
        np.testing.assert_array_equal(a[i][0].numpy(), b[i][0].numpy())
    assert not np.array_equal(before.datasets()["test"][0][0].numpy(), after.datasets()["test"][0][0].numpy())


def test_each_symbol_is_split_in_time_with_the_embargo_and_windows_stay_inside_their_symbol(bars) -> None:
    loaders = _loaders(bars)
    assert loaders.symbols == tuple(bars)
    for part, dataset in loaders.datasets().items():
        assert dataset.symbols == tuple(bars)
        for symbol, ds in dataset.parts().items():
            split = loaders.splits[symbol]
            assert split.embargo >= HORIZON and split.n_rows == len(bars[symbol]) - feature_warmup(FEATURES)
            start, stop = getattr(split, part)
            assert start <= ds.window_end_rows.min() - 7 and ds.window_end_rows.max() < stop
        # The global index: window i is window `local` of `symbol`.
        for i in range(0, len(dataset), 7):
            symbol, local = dataset.locate(i)
            assert dataset.symbols[dataset.symbol_ids[i]] == symbol
            np.testing.assert_array_equal(dataset[i][0].numpy(), dataset.parts()[symbol][local][0].numpy())
    with pytest.raises(IndexError):
        loaders.datasets()["val"].locate(len(loaders.datasets()["val"]))


@pytest.mark.parametrize("world", [2, 3])
def test_ranks_share_windows_not_symbols(bars, world) -> None:
    train = _loaders(bars).train
    lengths = {s: len(d) for s, d in train.dataset.parts().items()}
    assert len(set(lengths.values())) == 3  # symbols of unequal sizes
    # One process per rank: each builds the same loaders, with its own generator in the same state.
    n = len(train.dataset)
    shares = []
    for r in range(world):
        sampler = ShardedBatchSampler(_loaders(bars).train.sampler, 16, False, r, world)
        counted = []
        for k, batch in enumerate(sampler):
            lo, hi = shard_bounds(min(16, n - 16 * k), r, world)
            counted += batch[: hi - lo]  # an empty share pads with one window of weight 0
        shares.append(counted)
    sizes = [len(s) for s in shares]
    assert max(sizes) - min(sizes) <= len(train)  # at most one window apart per global batch
    for share in shares:  # every rank trains on every symbol
        assert set(train.dataset.symbol_ids[share].tolist()) == {0, 1, 2}
    counts = Counter(i for share in shares for i in share)
    assert sorted(counts) == list(range(len(train.dataset))) and set(counts.values()) == {1}


def test_bad_universes_name_the_symbol(bars) -> None:
    short = dict(bars, tiny=bars["ccc"].iloc[:30])
    with pytest.raises(DataError, match="tiny"):
        _loaders(short)
    splits = _loaders(bars).splits
    with pytest.raises(ConfigError, match="ccc"):
        _loaders(bars, splits={k: v for k, v in splits.items() if k != "ccc"})


@settings(max_examples=40, deadline=None)
@given(
    # Feature-like values: up to 1e6 in size, in steps of 1e-3 (no spreads near float64's underflow).
    values=arrays(
        np.float64,
        st.tuples(st.integers(2, 60), st.integers(1, 4)),
        elements=st.integers(-(10**9), 10**9).map(lambda i: i / 1000),
    ),
    cuts=st.lists(st.integers(1, 59), max_size=4),
    constant=st.booleans(),
)
def test_pooling_chunks_matches_one_fit_and_keeps_constant_columns_safe(values, cuts, constant) -> None:
    if constant:
        values[:, 0] = 0.1
    edges = sorted({0, len(values), *(c for c in cuts if c < len(values))})
    series = {f"s{k}": values[lo:hi] for k, (lo, hi) in enumerate(zip(edges, edges[1:], strict=False))}
    pooled = fit_pooled_scaler(series, {s: (0, len(v)) for s, v in series.items()}, ["c"] * values.shape[1])
    reference = Scaler.fit(values, columns=["c"] * values.shape[1])
    np.testing.assert_allclose(pooled.mean, reference.mean, rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(pooled.std, reference.std, rtol=1e-7, atol=1e-6)
    if constant:
        assert pooled.mean[0] == 0.1 and pooled.std[0] == 1.0


def test_docstring_examples() -> None:
    assert doctest.testmod(multi_symbol).failed == 0
