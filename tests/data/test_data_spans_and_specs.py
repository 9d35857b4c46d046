"""Where the two halves of the data spec meet: purged cross-validation's spans use each label's actual end
row (one source: ``label_end_rows``), and a spec holds several trend horizons and a label recipe side by
side, in its JSON too."""

from __future__ import annotations

import json

import numpy as np
import pytest

from neural_trader.data import DataSpec, label_end_rows, make_windows, series_from_bars, window_spans
from neural_trader.errors import ConfigError

H = 10


@pytest.fixture(scope="module")
def sp500_series(sp500):
    return series_from_bars("sp500", sp500, H)


def test_window_spans_end_where_the_triple_barrier_was_hit(sp500_series):
    s = sp500_series
    spec = DataSpec(label="triple_barrier", horizon=H, window=16, barriers=[1.5, 1.0])
    rows = (100, 900)
    t0, t1 = window_spans(s, spec, rows)
    np.testing.assert_array_equal(t1, label_end_rows(s, spec)[t0])
    span = t1 - t0
    assert span.min() >= 1 and span.max() == H and (span < H).mean() > 0.5  # not a fixed horizon
    w = make_windows(s, spec, None if not spec.scaled_columns else _scaler(s, spec, rows), rows)
    np.testing.assert_array_equal(w.end_rows, t0)  # the windows make_windows makes...
    np.testing.assert_array_equal(w.label_ends, t1)  # ...with the same label ends


def test_window_spans_of_fixed_horizon_labels_still_read_horizon_rows_ahead(sp500):
    s = series_from_bars("sp500", sp500, (3, H))
    for spec in (DataSpec(window=16, horizon=H), DataSpec(task="trend", window=16, horizons=[3, H])):
        t0, t1 = window_spans(s, spec)
        np.testing.assert_array_equal(t1, t0 + H)
        assert t1.max() == s.n_rows - 1


def _scaler(s, spec, rows):
    from neural_trader.data import fit_scaler

    return fit_scaler([s], {s.symbol: rows}, spec)


def test_several_horizons_and_a_label_recipe_live_in_one_spec():
    spec = DataSpec(task="trend", horizons=[7, 30], inputs=["features", "candles"])
    assert spec.label == "trend" and spec.horizon == 30 and spec.num_classes == 2
    assert spec.label_columns() == ["direction_7", "trend_7", "direction_30", "trend_30"]
    values = json.loads(spec.to_json())
    assert values["horizons"] == [7, 30] and "label" not in values  # the task's own label is implied
    again = DataSpec.from_json(spec.to_json())
    assert again == spec and again.direction_labels() == ["direction_7", "direction_30"]

    tb = DataSpec(label="triple_barrier", horizons=[10], barriers=[2.0, 1.0])
    values = json.loads(tb.to_json())
    assert "horizons" not in values and values["horizon"] == 10  # one horizon reads as it always did
    assert values["label"] == "triple_barrier" and values["barriers"] == [2.0, 1.0]
    assert DataSpec.from_json(tb.to_json()) == tb and tb.direction_labels() == []


def test_several_horizons_are_for_the_trend_task_only():
    with pytest.raises(ConfigError, match="several horizons"):
        DataSpec(label="triple_barrier", horizons=[5, 10])
    with pytest.raises(ConfigError, match="label"):
        DataSpec(task="trend", label="triple_barrier")
