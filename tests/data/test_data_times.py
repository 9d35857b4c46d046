"""Real-world time columns (issue 18): America/New_York offsets that change at daylight saving, separate
Date and Time columns, a date-only first row before date-times; one convention (offsets become UTC,
naive stays naive), recorded in the checkpoint, and refused with a message where it cannot hold."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from neural_trader.checkpoint import Checkpoint
from neural_trader.data import load_ohlcv, validate_ohlcv
from neural_trader.errors import DataError

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))
from cli_helpers import TINY, assert_user_error, run_cli  # noqa: E402


def _prices(n: int) -> dict[str, object]:
    close = 100 + np.cumsum(np.random.default_rng(0).normal(0, 1, n))
    return {"open": close, "high": close + 1, "low": close - 1, "close": close, "volume": 1000.0}


def _new_york_csv(path: Path, n: int = 300) -> Path:
    """Daily 16:00 New York bars across the March 2024 daylight-saving change, written by pandas."""
    stamps = (pd.bdate_range("2024-01-02", periods=n) + pd.Timedelta(hours=16)).tz_localize(
        "America/New_York"
    )
    pd.DataFrame(_prices(n), index=pd.Index(stamps, name="timestamp")).to_csv(path)
    return path


def test_daylight_saving_offsets_are_one_series_of_utc_instants(tmp_path: Path) -> None:
    path = _new_york_csv(tmp_path / "spy.csv")
    text = path.read_text()
    assert "2024-03-08 16:00:00-05:00" in text and "2024-03-11 16:00:00-04:00" in text
    bars = load_ohlcv(path)
    assert str(bars.index.tz) == "UTC"
    friday = bars.index.get_loc(pd.Timestamp("2024-03-08 21:00", tz="UTC"))  # 16:00 at -05:00
    assert bars.index[friday + 1] == pd.Timestamp("2024-03-11 20:00", tz="UTC")  # 16:00 at -04:00
    assert bars.attrs["source_time_zone"] == "UTC offsets -04:00, -05:00"


def test_a_zone_aware_index_becomes_utc_and_keeps_its_zone_name() -> None:
    stamps = pd.date_range("2024-03-01 16:00", periods=20, freq="D", tz="America/New_York")
    bars = validate_ohlcv(pd.DataFrame(_prices(20), index=pd.Index(stamps, name="timestamp")))
    assert str(bars.index.tz) == "UTC" and bars.attrs["source_time_zone"] == "America/New_York"
    naive = validate_ohlcv(
        pd.DataFrame(_prices(20), index=pd.Index(stamps.tz_localize(None), name="timestamp"))
    )
    assert naive.index.tz is None and "source_time_zone" not in naive.attrs


def test_separate_date_and_time_columns_are_combined(tmp_path: Path) -> None:
    times = pd.date_range("2024-01-02 09:30", periods=50, freq="h")
    frame = pd.DataFrame({"Date": times.strftime("%Y-%m-%d"), "Time": times.strftime("%H:%M"), **_prices(50)})
    frame.to_csv(tmp_path / "eurusd.csv", index=False)
    bars = load_ohlcv(tmp_path / "eurusd.csv")
    assert list(bars.index) == list(times)
    assert list(bars.columns) == ["open", "high", "low", "close", "volume"]


def test_a_date_only_first_row_before_date_times_parses(tmp_path: Path) -> None:
    times = pd.date_range("2024-01-02", periods=30, freq="h")
    frame = pd.DataFrame({"timestamp": [str(t) for t in times], **_prices(30)})
    frame.loc[0, "timestamp"] = "2024-01-02"
    frame.to_csv(tmp_path / "mixed.csv", index=False)
    assert list(load_ohlcv(tmp_path / "mixed.csv").index) == list(times)


def test_timestamps_with_and_without_offsets_are_refused_saying_what_to_change(tmp_path: Path) -> None:
    path = _new_york_csv(tmp_path / "spy.csv", n=30)
    frame = pd.read_csv(path)
    frame.loc[5, "timestamp"] = "2024-01-09 16:00:00"
    frame.to_csv(path, index=False)
    with pytest.raises(
        DataError, match=r"row 5: timestamp '2024-01-09 16:00:00' has no UTC offset while row 0"
    ):
        load_ohlcv(path)


def test_the_checkpoint_records_the_convention_and_bars_of_the_other_one_are_refused(tmp_path: Path) -> None:
    aware = _new_york_csv(tmp_path / "ny.csv")
    naive = tmp_path / "naive.csv"
    frame = pd.read_csv(aware)
    frame["timestamp"] = frame["timestamp"].str[:19]
    frame.to_csv(naive, index=False)
    for data in (aware, naive):
        proc = run_cli(
            "train",
            "--model",
            "bilstm_classifier",
            "--data",
            str(data),
            "--out",
            str(tmp_path / data.stem),
            *TINY,
        )
        assert proc.returncode == 0, proc.stderr
    time = json.loads(Checkpoint.read(tmp_path / "ny" / "best.safetensors").extra["time"])
    assert time == {"convention": "UTC", "source_time_zone": {"ny": "UTC offsets -04:00, -05:00"}}
    assert (
        json.loads(Checkpoint.read(tmp_path / "naive" / "best.safetensors").extra["time"])["convention"]
        == "naive"
    )
    proc = run_cli(
        "predict",
        "--checkpoint",
        str(tmp_path / "ny" / "best.safetensors"),
        "--data",
        str(aware),
        "--output",
        str(tmp_path / "p.csv"),
    )
    assert proc.returncode == 0, proc.stderr
    assert pd.read_csv(tmp_path / "p.csv")["timestamp"][0].endswith("+00:00")
    for model, data, message in (
        ("ny", naive, "the bars have no time zone but"),
        ("naive", aware, "the bars carry a time zone (UTC offsets -04:00, -05:00, read as UTC) but"),
    ):
        checkpoint = str(tmp_path / model / "best.safetensors")
        for native in ([], ["--native"]):
            proc = run_cli(
                "predict",
                "--checkpoint",
                checkpoint,
                "--data",
                str(data),
                "--output",
                str(tmp_path / "p.csv"),
                *native,
            )
            assert_user_error(proc, message, checkpoint)
        proc = run_cli(
            "evaluate", "--checkpoint", checkpoint, "--data", str(data), "--out", str(tmp_path / "ev")
        )
        assert_user_error(proc, message)
