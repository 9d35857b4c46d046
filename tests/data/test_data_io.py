"""load_ohlcv / validate_ohlcv: canonical output, folders, Parquet, and a DataError naming the column or
the first bad row for every kind of bad input."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neural_trader.data import OHLCV_COLUMNS, load_ohlcv, validate_ohlcv
from neural_trader.errors import ConfigError, DataError


def test_real_csv_loads_in_canonical_form(sp500):
    assert sp500.shape == (5031, 5)
    assert list(sp500.columns) == list(OHLCV_COLUMNS)
    assert sp500.index.name == "timestamp" and isinstance(sp500.index, pd.DatetimeIndex)
    assert (sp500.dtypes == np.float64).all()
    assert sp500.index[0] == pd.Timestamp("1999-01-04") and sp500.index[-1] == pd.Timestamp("2018-12-31")
    assert sp500.iloc[0].tolist() == [1229.22998, 1248.810059, 1219.099976, 1228.099976, 877000000.0]


def test_real_folder_gives_one_frame_per_symbol(shared_data_dir, sp500_path):
    frames = load_ohlcv(shared_data_dir)  # README.md in the folder is ignored
    assert list(frames) == ["eurusd_hourly", "goog_daily", "sp500_daily"]
    assert {k: len(v) for k, v in frames.items()} == {
        "eurusd_hourly": 5000,
        "goog_daily": 2148,
        "sp500_daily": 5031,
    }
    pd.testing.assert_frame_equal(frames["sp500_daily"], load_ohlcv(sp500_path))


def test_folder_mixes_csv_and_parquet_and_prefixes_errors_with_the_file(tmp_path, make_bars):
    pytest.importorskip("pyarrow")
    make_bars(seed=1).to_csv(tmp_path / "aaa.csv", index=False)
    validate_ohlcv(make_bars(seed=2)).to_parquet(tmp_path / "bbb.parquet")
    (tmp_path / "notes.txt").write_text("not bars")
    frames = load_ohlcv(tmp_path)
    assert list(frames) == ["aaa", "bbb"]
    pd.testing.assert_frame_equal(frames["bbb"], validate_ohlcv(make_bars(seed=2)), check_freq=False)

    bad = make_bars(seed=3).drop(columns="volume")
    bad.to_csv(tmp_path / "ccc.csv", index=False)
    with pytest.raises(DataError, match=r"^ccc\.csv: column 'volume' missing"):
        load_ohlcv(tmp_path)


def test_empty_folder_and_missing_path(tmp_path):
    with pytest.raises(DataError, match="no CSV or Parquet files"):
        load_ohlcv(tmp_path)
    with pytest.raises(FileNotFoundError):
        load_ohlcv(tmp_path / "nope.csv")


def test_parquet_round_trip(tmp_path, make_bars):
    pytest.importorskip("pyarrow")
    bars = validate_ohlcv(make_bars(freq="h"))
    bars.to_parquet(tmp_path / "x.parquet")
    pd.testing.assert_frame_equal(load_ohlcv(tmp_path / "x.parquet"), bars, check_freq=False)


def test_corrupt_parquet_is_a_data_error(tmp_path):
    pytest.importorskip("pyarrow")
    (tmp_path / "x.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(DataError, match=r"^x\.parquet: cannot be read as a table"):
        load_ohlcv(tmp_path / "x.parquet")


def test_parquet_without_pyarrow_names_the_package(tmp_path, monkeypatch):
    (tmp_path / "x.parquet").write_bytes(b"PAR1")
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # makes `import pyarrow` raise ImportError
    with pytest.raises(ImportError, match="pyarrow"):
        load_ohlcv(tmp_path / "x.parquet")


def test_any_case_columns_date_index_and_extra_columns(make_bars):
    raw = make_bars()
    shouty = raw.rename(columns=lambda c: c.upper() if c != "timestamp" else " Date ")
    shouty["Adj Close"] = 1.0
    out = validate_ohlcv(shouty)
    assert list(out.columns) == list(OHLCV_COLUMNS)
    from_index = validate_ohlcv(raw.set_index(pd.DatetimeIndex(raw.pop("timestamp"))))
    pd.testing.assert_frame_equal(out, from_index, check_freq=False)


def test_time_gaps_are_allowed_and_time_zones_kept(make_bars):
    raw = make_bars(10).drop(index=[3, 4])  # a "weekend"
    assert len(validate_ohlcv(raw)) == 8
    aware = make_bars(5, freq="h")
    aware["timestamp"] = pd.date_range("2024-01-01", periods=5, freq="h", tz="UTC")
    assert str(validate_ohlcv(aware).index.tz) == "UTC"


def test_input_frame_is_not_modified(make_bars):
    raw = make_bars()
    before = raw.copy()
    validate_ohlcv(raw)
    pd.testing.assert_frame_equal(raw, before)


def _set(row, column, value):
    def edit(frame):
        frame = frame.astype({column: object}) if isinstance(value, str) else frame
        frame.loc[row, column] = value
        return frame

    return edit


def _swap_times(frame):
    frame.loc[[4, 5], "timestamp"] = frame.loc[[5, 4], "timestamp"].to_numpy()
    return frame


def _duplicate_time(frame):
    frame.loc[5, "timestamp"] = frame.loc[4, "timestamp"]
    return frame


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda f: f.drop(columns="close"), r"^column 'close' missing \(found: 'timestamp', 'open'"),
        (lambda f: f.iloc[:0], r"^empty"),
        (lambda f: f.drop(columns="timestamp"), r"^no time column"),
        (_swap_times, r"^timestamps not strictly increasing at row 5 \(2024-01-05; row 4 is 2024-01-06\)"),
        (_duplicate_time, r"^timestamps not strictly increasing at row 5 \(2024-01-05; duplicate of row 4\)"),
        (_set(4, "timestamp", "not a date"), r"^row 4: timestamp 'not a date' cannot be parsed"),
        (_set(3, "timestamp", None), r"^row 3: timestamp missing"),
        (_set(3, "close", np.nan), r"^row 3 \(2024-01-04\): close is NaN \(nan_policy='raise'"),
        (_set(8, "volume", np.inf), r"^row 8 \(2024-01-09\): volume is inf"),
        (_set(2, "volume", "abc"), r"^column 'volume' is not numeric: row 2 \(2024-01-03\) holds 'abc'"),
        (_set(6, "low", 104.0), r"^row 6 \(2024-01-07\): high 103 < low 104$"),
        (_set(7, "high", 100.5), r"^row 7 \(2024-01-08\): high 100.5 < max\(open, close\) 101$"),
        (_set(9, "low", 100.5), r"^row 9 \(2024-01-10\): low 100.5 > min\(open, close\) 100$"),
        (_set(11, "volume", -5), r"^row 11 \(2024-01-12\): volume -5 is negative"),
        (_set(12, "open", 0.0), r"^row 12 \(2024-01-13\): open 0 is not positive"),
    ],
)
def test_bad_bars_raise_data_error_naming_column_or_row(edit, message):
    raw = pd.DataFrame(
        {
            "timestamp": pd.date_range("2024-01-01", periods=20).strftime("%Y-%m-%d"),
            **{"open": 100.0, "high": 103.0, "low": 97.0, "close": 101.0, "volume": 1000.0},
        }
    )
    validate_ohlcv(raw)  # the unedited bars are valid, so each error is the edit's
    with pytest.raises(DataError, match=message):
        validate_ohlcv(edit(raw.copy()))


def test_first_bad_row_is_reported_when_several_are_bad(make_bars):
    raw = make_bars(20)
    raw.loc[15, "high"] = raw.loc[15, "low"] / 2
    raw.loc[9, "volume"] = -1
    with pytest.raises(DataError, match=r"^row 9 "):
        validate_ohlcv(raw)


def test_other_bad_inputs(make_bars):
    with pytest.raises(DataError, match="expected a pandas DataFrame"):
        validate_ohlcv(np.zeros((3, 5)))
    epoch = make_bars(5)
    epoch["timestamp"] = np.arange(5) * 86_400
    with pytest.raises(DataError, match="time column 'timestamp' is numeric"):
        validate_ohlcv(epoch)
    flags = make_bars(5)
    flags["volume"] = True
    with pytest.raises(DataError, match="column 'volume' is not numeric \\(dtype bool\\)"):
        validate_ohlcv(flags)
    twice = make_bars(5)
    twice["Close"] = twice["close"]
    with pytest.raises(DataError, match="columns 'close' and 'Close' both mean 'close'"):
        validate_ohlcv(twice)
    with pytest.raises(ConfigError, match="nan_policy"):
        validate_ohlcv(make_bars(5), nan_policy="zero")


def test_bad_csv_file_is_named(tmp_path, make_bars):
    path = tmp_path / "goog.csv"
    bars = make_bars(20)
    bars.loc[17, "high"] = bars.loc[17, "low"] - 1
    bars.to_csv(path, index=False)
    with pytest.raises(DataError, match=r"^goog\.csv: row 17 \(2024-01-18\): high"):
        load_ohlcv(path)
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataError, match=r"^empty\.csv: cannot be read"):
        load_ohlcv(tmp_path / "empty.csv")
    (tmp_path / "header.csv").write_text("timestamp,open,high,low,close,volume\n")
    with pytest.raises(DataError, match=r"^header\.csv: empty"):
        load_ohlcv(tmp_path / "header.csv")


def test_nan_policy_drop_removes_rows_and_keeps_row_numbers_in_messages(make_bars):
    raw = make_bars(20)
    raw.loc[[3, 4], "close"] = np.nan
    out = validate_ohlcv(raw, nan_policy="drop")
    assert len(out) == 18 and pd.Timestamp("2024-01-04") not in out.index
    raw.loc[10, "volume"] = -1
    with pytest.raises(DataError, match=r"^row 10 "):
        validate_ohlcv(raw, nan_policy="drop")


def test_nan_policy_ffill_repairs_from_the_past_only(make_bars):
    raw = make_bars(20)
    clean = validate_ohlcv(raw)
    raw.loc[5, ["open", "high", "low", "close", "volume"]] = np.nan  # a missing bar
    raw.loc[9, "close"] = np.nan
    raw.loc[12, "volume"] = np.nan
    out = validate_ohlcv(raw, nan_policy="ffill")
    prev = clean.close.iloc[4]
    assert out.iloc[5].tolist() == [prev, prev, prev, prev, 0.0]
    assert out.close.iloc[9] == clean.close.iloc[8]
    assert out.high.iloc[9] >= max(out.open.iloc[9], out.close.iloc[9])
    assert out.low.iloc[9] <= min(out.open.iloc[9], out.close.iloc[9])
    assert out.volume.iloc[12] == 0.0
    untouched = [i for i in range(20) if i not in (5, 9, 12)]
    pd.testing.assert_frame_equal(out.iloc[untouched], clean.iloc[untouched])

    first = make_bars(5)
    first.loc[0, "close"] = np.nan
    with pytest.raises(DataError, match="row 0 .*no earlier bar"):
        validate_ohlcv(first, nan_policy="ffill")


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(2, 60),
    data=st.data(),
    kind=st.sampled_from(["nan", "high", "low", "volume", "price", "time"]),
)
def test_any_single_corruption_is_reported_at_its_row(n, data, kind, make_bars):
    raw = make_bars(n, seed=n)
    row = data.draw(st.integers(1 if kind == "time" else 0, n - 1))
    if kind == "nan":
        raw.loc[row, data.draw(st.sampled_from(list(OHLCV_COLUMNS)))] = np.nan
    elif kind == "high":
        raw.loc[row, "high"] = raw.loc[row, ["open", "close"]].max() * 0.999
    elif kind == "low":
        raw.loc[row, "low"] = raw.loc[row, ["open", "close"]].min() * 1.001
    elif kind == "volume":
        raw.loc[row, "volume"] = -1
    elif kind == "price":
        raw.loc[row, ["open", "high", "low", "close"]] = -1.0
    else:
        raw.loc[row, "timestamp"] = raw.loc[row - 1, "timestamp"]
    pattern = rf"(^|at )row {row}\b"
    with pytest.raises(DataError, match=pattern):
        validate_ohlcv(raw)
