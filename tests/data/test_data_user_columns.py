"""Your columns as inputs: which extra columns a bars file keeps, their checks, the input spec and its
resolution to an explicit column list, and windows mixing built-in features, candles and your columns."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from neural_trader.data import (
    CANDLE_COLUMNS,
    FEATURE_NAMES,
    DataSpec,
    Scaler,
    chronological_split,
    fit_scaler,
    load_series,
    make_windows,
    relative_candles,
    resolve_spec,
    series_from_bars,
    validate_ohlcv,
)
from neural_trader.errors import ConfigError, DataError


def with_columns(raw: pd.DataFrame, seed: int = 7) -> pd.DataFrame:
    """Bars with two sentiment columns, an imbalance column, a text column and a label column."""
    rng = np.random.default_rng(seed)
    out = raw.copy()
    n = len(out)
    out["sent_news"] = rng.normal(size=n)
    out["sent_social"] = rng.normal(size=n)
    out["imbalance"] = rng.normal(size=n)
    out["notes"] = "quiet"
    out["my_label"] = rng.integers(0, 3, n).astype(np.float64)
    return out


# ------------------------------------------------------------------------------------------ reading
def test_selected_columns_are_kept_in_file_order_and_the_rest_dropped(make_bars):
    raw = with_columns(make_bars(30))
    out = validate_ohlcv(raw, extra_columns=["imbalance", "sent_*"])
    assert list(out.columns) == [*CANDLE_COLUMNS, "sent_news", "sent_social", "imbalance"]
    np.testing.assert_array_equal(out["imbalance"].to_numpy(), raw["imbalance"].to_numpy())
    assert list(validate_ohlcv(raw).columns) == list(CANDLE_COLUMNS)  # nothing selected: as before
    labelled = validate_ohlcv(raw, extra_columns=["sent_news"], label_column="my_label")
    assert list(labelled.columns) == [*CANDLE_COLUMNS, "sent_news", "my_label"]
    # Patterns are case-sensitive globs; an exact name may hold glob characters.
    assert "sent_news" not in validate_ohlcv(raw, extra_columns=["SENT_*"]).columns
    raw["p[usd]"] = 1.0
    assert "p[usd]" in validate_ohlcv(raw, extra_columns=["p[usd]"]).columns


def test_selected_columns_are_checked_and_named(make_bars):
    raw = with_columns(make_bars(30))
    with pytest.raises(DataError, match=r"column 'notes' is not numeric: row 0 \(2024-01-01\) holds 'quiet'"):
        validate_ohlcv(raw, extra_columns=["notes"])
    with pytest.raises(DataError, match=r"column 'missing' missing \(extra columns found: 'sent_news'"):
        validate_ohlcv(raw, extra_columns=["missing"])
    with pytest.raises(DataError, match="label column 'nope' missing"):
        validate_ohlcv(raw, label_column="nope")
    with pytest.raises(ConfigError, match="label column 'my_label' is also selected as an input"):
        validate_ohlcv(raw, extra_columns=["my_*"], label_column="my_label")
    raw.loc[4, "imbalance"] = np.inf
    with pytest.raises(DataError, match=r"row 4 \(2024-01-05\): imbalance is inf"):
        validate_ohlcv(raw, extra_columns=["imbalance"])
    raw.loc[4, "imbalance"] = 0.0
    raw.loc[6, "my_label"] = -np.inf
    with pytest.raises(DataError, match="label column 'my_label' is -inf"):
        validate_ohlcv(raw, label_column="my_label")
    validate_ohlcv(raw, extra_columns=["sent_*"])  # unselected bad columns do not matter


def test_nan_in_your_columns_follows_the_policy_and_labels_stay_unknown(make_bars):
    raw = with_columns(make_bars(30))
    raw.loc[5, "sent_news"] = np.nan
    raw.loc[9, "my_label"] = np.nan
    with pytest.raises(DataError, match=r"row 5 \(2024-01-06\): sent_news is NaN \(nan_policy='raise'"):
        validate_ohlcv(raw, extra_columns=["sent_news"])
    dropped = validate_ohlcv(raw, nan_policy="drop", extra_columns=["sent_news"], label_column="my_label")
    assert len(dropped) == 29 and pd.Timestamp("2024-01-06") not in dropped.index
    assert np.isnan(dropped.loc["2024-01-10", "my_label"])  # a missing label drops nothing
    filled = validate_ohlcv(raw, nan_policy="ffill", extra_columns=["sent_news"], label_column="my_label")
    assert filled["sent_news"].iloc[5] == raw["sent_news"].iloc[4]  # from the past only
    assert np.isnan(filled["my_label"].iloc[9])  # a label is never filled
    raw.loc[0, "sent_social"] = np.nan
    with pytest.raises(DataError, match="row 0 .*sent_social is NaN and nan_policy='ffill' has no earlier"):
        validate_ohlcv(raw, nan_policy="ffill", extra_columns=["sent_social"])


def test_files_and_folders_keep_your_columns(tmp_path, make_bars):
    folder = tmp_path / "bars"
    folder.mkdir()
    with_columns(make_bars(120, seed=1)).to_csv(folder / "a.csv", index=False)
    with_columns(make_bars(120, seed=2)).drop(columns="sent_social").to_csv(folder / "b.csv", index=False)
    series = load_series(folder / "a.csv", 5, extra_columns=["sent_*"])
    assert list(series[0].columns.columns) == ["sent_news", "sent_social"]
    assert len(series[0].columns) == series[0].n_rows  # on the rows after the warm-up
    with pytest.raises(DataError, match=r"^b\.csv: column 'sent_social' missing"):
        load_series(folder, 5, extra_columns=["sent_social"])


# ------------------------------------------------------------------------------------------ the spec
def test_a_spec_of_the_built_in_inputs_reads_as_it_always_did():
    assert json.loads(DataSpec(window=8).to_json()) == {
        "task": "direction",
        "inputs": "features",
        "window": 8,
        "horizon": 5,
        "targets": [],
    }
    old = DataSpec.from_json('{"task": "direction", "inputs": "candles", "window": 8, "horizon": 5}')
    assert old.input_columns == CANDLE_COLUMNS and old.label == "direction" and old.scaled_columns == ()
    assert DataSpec(inputs=["features"]).inputs == "features"


def test_mixed_inputs_and_their_json(make_bars):
    spec = DataSpec(inputs=["candles", "features", "sent_*"], window=8)
    assert not spec.resolved and spec.file_columns() == ("sent_*",)
    with pytest.raises(ConfigError, match="resolve them against the bars"):
        spec.input_columns  # noqa: B018
    series = [series_from_bars("x", with_columns(make_bars(120)), 5, extra_columns=["sent_*"])]
    resolved = resolve_spec(spec, series, {"x": (0, 80)})
    assert resolved.input_columns == (*CANDLE_COLUMNS, *FEATURE_NAMES, "sent_news", "sent_social")
    assert resolved.scaled_columns == (*FEATURE_NAMES, "sent_news", "sent_social")
    assert resolved.user_columns == ("sent_news", "sent_social")
    assert resolved.file_columns() == ("sent_news", "sent_social")
    again = DataSpec.from_json(resolved.to_json())
    assert again == resolved and again.input_columns == resolved.input_columns
    assert spec.columns == []  # resolving returns a new spec


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"inputs": "close"}, "is a column of the bars themselves: use candles"),
        ({"inputs": []}, "inputs must be"),
        ({"inputs": ["features", ""]}, "every input must be"),
        ({"inputs": "Features"}, "keywords are lower case"),
        ({"columns": ["a", "a"]}, "name a column twice"),
        ({"label": "classes"}, "give label_column"),
        ({"label_column": "y"}, "label_column is for labels classes and values"),
        ({"label": "values", "label_column": "y", "columns": ["y"]}, "would read its own label"),
        ({"label": "triple_barrier", "barriers": [0, 0]}, "disable both horizontal barriers"),
        ({"label": "triple_barrier", "barriers": [1.0]}, "two multipliers"),
        ({"label": "triple_barrier", "vol_window": 1}, "vol_window must be"),
        ({"label": "trend"}, "label must be one of"),
        ({"label": "classes", "label_column": "y", "classes": [1, 1]}, "distinct sorted"),
        ({"label": "classes", "label_column": "y", "classes": [0.5, 1]}, "classes must be integers"),
        ({"task": "forecast", "inputs": "candles", "targets": ["volatility_20"]}, "use --inputs features"),
    ],
)
def test_bad_specs_are_config_errors(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        DataSpec(**kwargs)


def test_resolution_orders_dedups_and_names_what_is_wrong(make_bars):
    bars = with_columns(make_bars(120))
    series = [series_from_bars("x", bars, 5, extra_columns=["sent_*", "imbalance"])]
    rows = {"x": (0, 80)}
    spec = resolve_spec(
        DataSpec(inputs=["imbalance", "rsi_*", "sent_*", "sent_news", "log_return"]), series, rows
    )
    assert spec.input_columns == ("imbalance", "rsi_14", "sent_news", "sent_social", "log_return")
    with pytest.raises(
        ConfigError, match="input 'zz_\\*' matches no built-in feature and no numeric column of x"
    ):
        resolve_spec(DataSpec(inputs=["features", "zz_*"]), series, rows)
    clash = bars.assign(rsi_14=1.0)
    clashing = [series_from_bars("x", clash, 5, extra_columns=["rsi*"])]
    with pytest.raises(ConfigError, match="'rsi_14', both a built-in feature and a column of the bars file"):
        resolve_spec(DataSpec(inputs=["rsi*"]), clashing, rows)
    other = series_from_bars("y", bars.drop(columns="imbalance"), 5, extra_columns=["sent_*"])
    with pytest.raises(DataError, match="y: column 'imbalance' missing; the model reads it"):
        resolve_spec(DataSpec(inputs=["features", "imbalance"]), [series[0], other], {**rows, "y": (0, 80)})


# ------------------------------------------------------------------------------------------ windows
def test_windows_of_mixed_inputs_are_their_parts_side_by_side(make_bars):
    bars = with_columns(make_bars(300))
    series = series_from_bars("x", bars, 5, extra_columns=["sent_*"])
    split = chronological_split(series.n_rows, horizon=5, index=series.index)
    rows = {"x": split.train}
    mixed = resolve_spec(DataSpec(inputs=["sent_news", "candles", "features"], window=12), [series], rows)
    scaler = fit_scaler([series], rows, mixed)
    assert scaler.columns == ("sent_news", *FEATURE_NAMES)
    # The scaler reads the training rows of every standardised column, and nothing else.
    values = np.column_stack([series.columns["sent_news"], series.features.to_numpy()])
    assert scaler == Scaler.fit(values, start=split.train[0], stop=split.train[1], columns=scaler.columns)
    w = make_windows(series, mixed, scaler, split.val)
    assert w.x.shape[2] == 1 + 5 + 28 and w.x.dtype == np.float32

    features = DataSpec(window=12)
    fw = make_windows(series, features, fit_scaler([series], rows, features), split.val)
    cw = make_windows(series, DataSpec(inputs="candles", window=12), None, split.val)
    np.testing.assert_array_equal(w.x[:, :, 6:], fw.x)  # same features, same scaler statistics
    np.testing.assert_array_equal(w.x[:, :, 1:6], cw.x)
    raw = make_windows(series, DataSpec(inputs="candles", window=12), None, split.val, raw_candles=True)
    np.testing.assert_array_equal(w.x[:, :, 1:6], relative_candles(raw.x.astype(np.float64)))
    news = (series.columns["sent_news"].to_numpy() - scaler.mean[0]) / scaler.std[0]
    np.testing.assert_allclose(w.x[:, -1, 0], news[w.end_rows], rtol=1e-6)
    with pytest.raises(ConfigError, match="raw candle windows need candle inputs alone"):
        make_windows(series, mixed, scaler, split.val, raw_candles=True)


@pytest.mark.parametrize(
    "name",
    [
        "data.columns",
        "data.spec",
        "data.inputs",
        "data.targets",
        "evaluation.regression",
        "evaluation.equity",
    ],
)
def test_docstring_examples_of_the_new_modules(name):
    import doctest
    import importlib

    module = importlib.import_module(f"neural_trader.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} docstring example(s) of {module.__name__} failed"
