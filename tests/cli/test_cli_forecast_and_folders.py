"""The lstm_attention forecaster through train -> evaluate -> predict --native, and a folder of symbols."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

SMALL = ["--window", "16", "--hidden-dim", "8", "--num-layers", "1", "--epochs", "2", "--no-progress"]


def test_forecaster_against_naive_forecasts(cli, goog_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "fc"
    proc = cli(
        "train", "--model", "lstm_attention", "--data", str(goog_csv), "--out", str(out),
        "--target", "volatility_20", "--horizon", "3", "--num-heads", "2", *SMALL,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    checkpoint = out / "best.safetensors"
    proc = cli(
        "evaluate", "--checkpoint", str(checkpoint), "--data", str(goog_csv), "--out", str(out / "r"),
        "--n-bootstrap", "100", "--season", "4", "--no-progress",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((out / "r" / "report.json").read_text())
    f = doc["forecast"]
    assert set(f["mae"]) == {"lstm_attention", "persistence", "seasonal naive (4)", "training mean"}
    assert f["horizon"] == 3 and len(f["mae_by_step"]["persistence"]) == 3
    lead = f["leads"]["mae"]
    assert lead["baseline"] == min(
        (k for k in f["mae"] if k != "lstm_attention"), key=lambda k: f["mae"][k]["estimate"]
    )
    assert (
        abs(
            lead["estimate"]
            - (f["mae"][lead["baseline"]]["estimate"] - f["mae"]["lstm_attention"]["estimate"])
        )
        < 1e-12
    )
    assert doc["verdict"] == f["sentence"] and "lstm_attention forecast of volatility_20" in f["sentence"]
    assert (out / "r" / "forecast.png").exists()

    csv = tmp_path / "fc.csv"
    proc = cli(
        "predict", "--checkpoint", str(checkpoint), "--data", str(goog_csv), "--output", str(csv), "--native"
    )
    assert proc.returncode == 0, proc.stderr
    frame = pd.read_csv(csv)
    steps = ["volatility_20_t+1", "volatility_20_t+2", "volatility_20_t+3"]
    assert list(frame.columns) == ["timestamp", "symbol", "part", *steps]
    # Forecasts are in the target's units: daily log-return volatility, a few percent at most.
    assert np.isfinite(frame[steps].to_numpy()).all() and frame[steps].abs().max().max() < 0.5


def test_folder_of_symbols(cli, user_error, goog_csv: Path, tmp_path: Path) -> None:
    folder = tmp_path / "universe"
    folder.mkdir()
    shutil.copy(goog_csv, folder / "goog.csv")
    # A second symbol: the first 700 bars of the bundled S&P 500 copy, as Parquet if pyarrow is there.
    from neural_trader.datasets import load_sp500_daily

    spx = load_sp500_daily().iloc[:700].reset_index()
    try:
        spx.to_parquet(folder / "spx.parquet")
    except ImportError:
        spx.to_csv(folder / "spx.csv", index=False)
    out = tmp_path / "pooled"
    proc = cli("train", "--model", "bilstm_classifier", "--data", str(folder), "--out", str(out), *SMALL)
    assert proc.returncode == 0, proc.stderr
    assert "goog, spx:" in proc.stdout
    csv = tmp_path / "pooled.csv"
    proc = cli(
        "predict", "--checkpoint", str(out / "best.safetensors"), "--data", str(folder), "--output", str(csv)
    )
    assert proc.returncode == 0, proc.stderr
    frame = pd.read_csv(csv)
    assert frame.groupby("symbol").size().to_dict() == {"goog": 751 - 15, "spx": 651 - 15}
    assert (frame.groupby("symbol")["part"].apply(lambda p: (p == "test").sum()) > 0).all()
    user_error(cli("splits", "--data", str(folder)), "must be one file")
