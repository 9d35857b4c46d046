"""Errors about the values of a model's inputs name what the user sees: the symbol, the column's name
and the bar's timestamp, and blame the right thing (an extreme price, or a scaler whose std is too small
for a value), never "row 0, column 18" of a matrix the user never saw (issue 18)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from cli_helpers import TINY, assert_user_error, run_cli


def _with(goog_csv: Path, path: Path, row: int, **values: object) -> Path:
    frame = pd.read_csv(goog_csv)
    for column, value in values.items():
        frame.loc[row, column] = value
    frame.to_csv(path, index=False)
    return path


def test_an_extreme_price_is_reported_by_column_name_and_bar_in_train_and_predict(
    goog_csv: Path, trained: Path, tmp_path: Path
) -> None:
    huge = _with(goog_csv, tmp_path / "huge.csv", 300, open=1e300, high=1e300, low=1e300, close=1e300)
    when = pd.read_csv(goog_csv)["timestamp"][300]
    proc = run_cli(
        "train", "--model", "bilstm_classifier", "--data", str(huge), "--out", str(tmp_path / "t"), *TINY
    )
    line = assert_user_error(proc, "huge: input column 'return'", f"at the bar of {when}", "open 1e+300")
    assert "column 18" not in line and "row 0," not in line
    proc = run_cli(
        "predict", "--checkpoint", str(trained), "--data", str(huge), "--output", str(tmp_path / "p.csv")
    )
    assert_user_error(proc, "huge: input column 'return'", f"at the bar of {when}", "beyond float32's range")


def test_an_overflowing_z_score_is_blamed_on_the_scaler_naming_the_column(
    goog_csv: Path, tmp_path: Path
) -> None:
    frame = pd.read_csv(goog_csv)
    # Training values that differ by 1e-15 give a std of ~8e-16: a later value of 1e30 standardises
    # to ~1e45, beyond float32.
    frame["imb"] = np.where(np.arange(len(frame)) % 2 == 0, 1.0, 1.0 + 1e-15)
    frame.loc[700, "imb"] = 1e30
    path = tmp_path / "imb.csv"
    frame.to_csv(path, index=False)
    args = ["--model", "bilstm_classifier", "--data", str(path), "--inputs", "features", "imb"]
    proc = run_cli("train", *args, "--out", str(tmp_path / "t"), *TINY)
    assert_user_error(
        proc,
        "imb: the scaler cannot standardise column 'imb'",
        f"at the bar of {frame['timestamp'][700]}",
        "the scaler's std for this column",
        "is too small for this value",
    )
