"""Label recipes (forward return, triple barrier, your class and value columns), each label's actual end
row, and the split check and purged cross-validation that use those ends."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neural_trader import kernels
from neural_trader.data import (
    DataSpec,
    Split,
    check_label_ends,
    chronological_split,
    fit_scaler,
    label_end_rows,
    label_matrix,
    label_scaler,
    make_labels,
    make_windows,
    purged_kfold,
    resolve_spec,
    series_from_bars,
)
from neural_trader.errors import ConfigError, DataError

H = 10


@pytest.fixture(scope="module")
def sp500_series(sp500):
    return series_from_bars("sp500", sp500, H)


def tb_spec(**kwargs) -> DataSpec:
    return DataSpec(label="triple_barrier", horizon=H, window=16, barriers=[1.5, 1.0], **kwargs)


def test_triple_barrier_labels_are_the_kernels_on_a_causal_volatility(sp500_series):
    s = sp500_series
    close = s.bars["close"].to_numpy()
    sigma = pd.Series(np.log(close)).diff().rolling(20).std().to_numpy()
    want, want_t1, _ = kernels.triple_barrier(close, sigma, H, 1.5, 1.0, "zero")
    y = label_matrix(s, tb_spec(), None)
    np.testing.assert_array_equal(y[:, 0], want + 1)  # classes 0, 1, 2 = down, flat, up
    np.testing.assert_array_equal(label_end_rows(s, tb_spec()), want_t1)
    known = np.isfinite(y[:, 0])
    assert set(np.unique(y[known, 0])) == {0.0, 1.0, 2.0}
    assert np.isnan(y[:20, 0]).all()  # the volatility is undefined for the first vol_window rows
    # The label ends where a barrier was hit: often well before the vertical barrier.
    ends = label_end_rows(s, tb_spec())[known]
    span = ends - np.flatnonzero(known)
    assert span.min() >= 1 and span.max() == H and (span < H).mean() > 0.5
    spec = tb_spec()
    assert spec.num_classes == 3 and spec.class_names() == ["down", "flat", "up"]
    assert spec.label_columns() == [f"triple_barrier_{H}"] and spec.objective == "3-class classification"


def test_fixed_horizon_labels_end_horizon_rows_later(sp500, sp500_series):
    s = sp500_series
    spec = DataSpec(label="forward_return", horizon=H)
    y = label_matrix(s, spec, None)[:, 0]
    want = make_labels(sp500, horizons=(H,))[f"forward_return_{H}"].to_numpy()[49:]
    np.testing.assert_array_equal(y, want.astype(np.float32))
    ends = label_end_rows(s, spec)
    assert (ends[: s.n_rows - H] == np.arange(s.n_rows - H) + H).all() and (ends[-H:] == -1).all()
    assert spec.is_regression and spec.num_classes == 0 and spec.objective == "regression"
    scaler = label_scaler(spec, y[:, None])
    finite = y[np.isfinite(y)].astype(np.float64)
    assert scaler.mean[0] == pytest.approx(finite.mean()) and scaler.std[0] == pytest.approx(finite.std())
    assert label_scaler(DataSpec(), y[:, None]) is None


def test_the_split_check_uses_the_labels_actual_end(sp500_series):
    s, spec = sp500_series, tb_spec()
    split = chronological_split(s.n_rows, horizon=H, index=s.index)
    check_label_ends(s, spec, split)  # an embargo of the vertical barrier covers every label
    short = Split(
        train=split.train,
        val=(split.train[1] + 3, split.val[1]),
        test=split.test,
        embargo=3,
        n_rows=s.n_rows,
    )
    with pytest.raises(ConfigError, match=r"sp500: the train window ending at row \d+ has a label reading"):
        check_label_ends(s, spec, short)


def test_purged_cv_on_windows_purges_by_the_barrier_hit(sp500_series):
    s, spec = sp500_series, tb_spec()
    w = make_windows(s, spec, fit_scaler([s], {"sp500": (0, s.n_rows)}, spec))
    assert (w.label_ends >= w.end_rows).all() and (w.label_ends <= w.end_rows + H).all()
    by_hit = purged_kfold(w.end_rows, w.label_ends, 5)
    by_horizon = purged_kfold(w.end_rows, w.end_rows + H, 5)
    for (train, test), (train_h, _) in zip(by_hit, by_horizon, strict=True):
        # Actual ends purge only the windows whose label reaches the test block ...
        reach = w.label_ends[train] >= w.end_rows[test].min()
        before = w.end_rows[train] < w.end_rows[test].min()
        assert not (reach & before).any()
        # ... and keep those a fixed horizon would have thrown away for nothing.
        assert set(train_h) <= set(train)
    assert sum(len(tr) for tr, _ in by_hit) > sum(len(tr) for tr, _ in by_horizon)


def _bars_with_labels(make_bars, values):
    raw = make_bars(len(values), seed=3)
    raw["y"] = values
    return raw


def test_your_class_column_gets_the_classes_of_its_training_rows(make_bars):
    n = 200
    values = np.tile([-1.0, 0.0, 1.0], n)[:n]
    values[-5:] = np.nan
    s = series_from_bars("x", _bars_with_labels(make_bars, values), 5, label_column="y")
    spec = DataSpec(label="classes", label_column="y", horizon=5, window=8)
    with pytest.raises(ConfigError, match="not resolved"):
        spec.num_classes  # noqa: B018
    resolved = resolve_spec(spec, [s], {"x": (0, 100)})
    assert resolved.classes == [-1, 0, 1] and resolved.class_names() == ["-1", "0", "1"]
    y = label_matrix(s, resolved, None)[:, 0]
    raw = s.columns["y"].to_numpy()
    np.testing.assert_array_equal(y[np.isfinite(raw)], raw[np.isfinite(raw)] + 1)
    assert (label_end_rows(s, resolved)[np.isfinite(raw)] == np.flatnonzero(np.isfinite(raw)) + 5).all()

    values[150] = 7.0  # a class the training rows never saw, in the test rows
    s2 = series_from_bars("x", _bars_with_labels(make_bars, values), 5, label_column="y")
    make_windows(s2, resolved, _scaler(s2, resolved), (0, 90))  # the unseen class is not in these rows
    with pytest.raises(DataError, match=r"label column 'y' holds 7 at row 101 .*not one of the classes"):
        make_windows(s2, resolved, _scaler(s2, resolved), (95, s2.n_rows))


def _scaler(s, spec):
    return fit_scaler([s], {s.symbol: (0, 90)}, spec)


@pytest.mark.parametrize(
    ("values", "error", "message"),
    [
        (np.full(200, 2.0), ConfigError, r"holds 1 class\(es\) \[2\]"),
        (np.linspace(0, 1, 200), DataError, "classes must be integers .*--label values"),
        (np.arange(200.0), ConfigError, "more than 100 classes: use --label values"),
    ],
)
def test_class_columns_that_are_not_classes(make_bars, values, error, message):
    s = series_from_bars("x", _bars_with_labels(make_bars, values), 5, label_column="y")
    spec = DataSpec(label="classes", label_column="y", horizon=5, window=8)
    with pytest.raises(error, match=message):
        resolve_spec(spec, [s], {"x": (0, s.n_rows)})


def test_your_value_column_is_a_regression_label(make_bars):
    values = np.random.default_rng(0).normal(size=200)
    s = series_from_bars("x", _bars_with_labels(make_bars, values), 3, label_column="y")
    spec = DataSpec(label="values", label_column="y", horizon=3)
    np.testing.assert_array_equal(label_matrix(s, spec, None)[:, 0], values[49:].astype(np.float32))
    assert spec.is_regression and spec.label_columns() == ["y"]
