"""The report's baseline figures equal an independent numpy computation from the raw CSV.

Only the split (row ranges) is read from the checkpoint, as an input; labels, the majority baseline's
scores, the "up" share and buy-and-hold are recomputed here from closing prices alone.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from safetensors import safe_open

WARMUP = 49  # rows every feature needs before it is defined (sma_ratio_50)


def _ends(part: list[int], window: int, horizon: int, n_rows: int) -> np.ndarray:
    """Window-end rows of a part whose label is known (the label reads `horizon` rows past the end)."""
    start, stop = part
    ends = np.arange(start + window - 1, stop)
    return ends[ends + horizon < n_rows]


def test_majority_and_buy_and_hold_figures_match_numpy(trained: Path, goog_csv: Path, report) -> None:
    out, _ = report
    doc = json.loads((out / "report.json").read_text())
    with safe_open(str(trained), framework="numpy") as f:
        meta = f.metadata()
    spec = json.loads(meta["data"])
    split = json.loads(meta["splits"])["goog"]
    window, horizon = spec["window"], spec["horizon"]

    close = pd.read_csv(goog_csv)["close"].to_numpy()[WARMUP:]
    n = len(close)
    assert n == split["n_rows"]
    up = lambda ends: (close[ends + horizon] > close[ends]).astype(int)  # noqa: E731
    train_ends = _ends(split["train"], window, horizon, n)
    test_ends = _ends(split["test"], window, horizon, n)
    y_train, y_test = up(train_ends), up(test_ends)

    p_up = y_train.mean()  # the majority baseline predicts the training frequencies
    call = int(p_up > 0.5)
    accuracy = np.mean(y_test == call)
    brier = np.mean((p_up - y_test) ** 2)

    section = doc["classification"]["sections"][-1]
    assert section["windows"] == len(test_ends)
    assert section["up_share"] == y_test.mean()
    majority = section["scores"]["majority"]
    assert abs(majority["accuracy"]["estimate"] - accuracy) < 1e-12
    assert abs(majority["brier"]["estimate"] - brier) < 1e-12
    assert majority["balanced_accuracy"]["estimate"] == 0.5
    assert majority["mcc"]["estimate"] == 0.0
    assert majority["roc_auc"]["estimate"] == 0.5

    # Buy-and-hold over the test decisions: each bar's return from its close to the next, one unit
    # bought before the first bar at the report's cost (2 bp here).
    r = close[test_ends + 1] / close[test_ends] - 1.0
    equity = (1.0 + r[0] - 2e-4) * np.prod(1.0 + r[1:])
    stats = doc["equity"]["symbols"]["goog"]["stats"]
    assert abs(stats["buy_and_hold"]["total_return"] - (equity - 1.0)) < 1e-10
    # Always long when the training share of "up" is above one half: the same curve as buy-and-hold.
    if call == 1:
        assert stats["majority"]["total_return"] == stats["buy_and_hold"]["total_return"]
    assert doc["equity"]["cost_bps"] == 2.0
