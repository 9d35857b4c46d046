"""``neural-trader tune`` as a user runs it: the report, the console summary, and the split files it
refuses (a test period overlapping the development period, no test period, options a split fixes)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest


@pytest.fixture(scope="module")
def planted_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1,200 random-walk daily bars whose volume tells the next bar's direction 85% of the time."""
    rng = np.random.default_rng(5)
    n = 1200
    r = rng.normal(0, 0.01, n)
    up = r[1:] > 0
    told = np.where(rng.random(n - 1) < 0.85, up, ~up)
    volume = np.r_[np.where(told, 3000.0, 1000.0), 1000.0] * rng.uniform(0.9, 1.1, n)
    close = 100 * np.exp(np.cumsum(r))
    open_ = np.r_[100.0, close[:-1]]
    frame = pd.DataFrame(
        {
            "open": open_,
            "high": np.maximum(open_, close) * 1.002,
            "low": np.minimum(open_, close) * 0.998,
            "close": close,
            "volume": volume,
        },
        index=pd.bdate_range("2001-01-02", periods=n, name="timestamp"),
    )
    path = tmp_path_factory.mktemp("tune") / "planted.csv"
    frame.to_csv(path)
    return path


def test_tune_writes_a_report_that_counts_its_trials(cli, planted_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    proc = cli(
        "tune", "--data", str(planted_csv), "--model", "logreg", "momentum", "--trials", "6",
        "--param", "C=0.1", "--param", "last_steps=1,5", "--window", "16", "--horizon", "1",
        "--kind", "purged-kfold", "--folds", "4", "--baselines", "majority", "momentum",
        "--n-bootstrap", "200", "--out", str(out), "--no-progress",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    doc = json.loads((out / "report.json").read_text())
    json.dumps(doc, allow_nan=False)
    t = doc["tuning"]
    # 2 logreg and 7 momentum settings make a 9-point grid; 6 drawn without replacement.
    assert t["trials"] == 6 and t["grid_size"] == 9 and len(t["results"]) == 6
    assert len({json.dumps([r["model"], r["params"]]) for r in t["results"]}) == 6
    assert t["cv"]["kind"] == "purged_kfold" and t["cv"]["splits"] == 4
    chosen = next(r for r in t["results"] if r["trial"] == t["chosen"])
    assert chosen["score"] == max(r["score"] for r in t["results"])
    assert all(len(r["split_scores"]) == 4 for r in t["results"])
    for figure in ("trials.png", "scores.png", "equity.png"):
        assert (out / figure).read_bytes()[:4] == b"\x89PNG"
    assert set(t["overfitting"]) == {"dsr", "pbo", "path_spread"}
    assert t["overfitting"]["path_spread"]["reliable"] is False  # purged k-fold: one path
    lines = proc.stdout.strip().splitlines()
    assert lines[-1] == f"Verdict: {doc['verdict']}"
    assert any(line.startswith("DSR ") for line in lines) and any(line.startswith("PBO ") for line in lines)
    markdown = (out / "report.md").read_text().strip().splitlines()
    assert markdown[-1] == doc["verdict"] and "**6 trials**" in "\n".join(markdown)


def test_tune_refuses_split_files_that_would_let_it_peek(
    cli, user_error, planted_csv: Path, tmp_path: Path
) -> None:
    split = tmp_path / "cv.json"
    args = ["--data", str(planted_csv), "--window", "16", "--horizon", "1"]
    proc = cli("splits", *args, "--kind", "purged-kfold", "--folds", "3", "--out", str(split))
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(split.read_text())
    tune = ["tune", "--data", str(planted_csv), "--model", "majority", "--split"]

    overlapping = tmp_path / "overlap.json"
    doc["series"]["test"][0] = doc["series"]["development"][1] - 50
    overlapping.write_text(json.dumps(doc))
    user_error(cli(*tune, str(overlapping)), "overlaps the development period")

    no_test = tmp_path / "no_test.json"
    proc = cli("splits", *args, "--kind", "purged-kfold", "--holdout", "0", "--out", str(no_test))
    assert proc.returncode == 0, proc.stderr
    user_error(cli(*tune, str(no_test)), "holds no test period")

    user_error(cli(*tune, str(split), "--kind", "cpcv"), "--kind does not apply with --split")
    user_error(cli(*tune, str(split), "--window", "20"), "windows of 16 bars")
    user_error(cli(*tune, str(split), "--param", "hidden_size=8"), "--param hidden_size")
