"""Bars whose training windows hold one label class (constant prices, a monotonic NAV): the baselines
that can be fit are scored, the others are reported as not fittable, the report still comes out, and a
one-class test set gets undefined class-comparing metrics and no verdict (issue 18)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_helpers import TINY, run_cli

from neural_trader.evaluation import Bootstrap
from neural_trader.evaluation.classification import ONE_CLASS, verdict


def _bars(path: Path, close: np.ndarray) -> Path:
    dates = pd.bdate_range("2020-01-01", periods=len(close)).strftime("%Y-%m-%d")
    frame = pd.DataFrame(
        {"timestamp": dates, "open": close, "high": close, "low": close, "close": close, "volume": 1000.0}
    )
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    ("kind", "close", "only"),
    [
        ("constant", np.full(600, 100.0), "down"),
        ("nav", 100 * np.exp(0.001 * np.arange(600)), "up"),
    ],
)
def test_one_class_bars_give_a_report_with_unfittable_baselines_and_no_verdict(
    tmp_path: Path, kind: str, close: np.ndarray, only: str
) -> None:
    data = _bars(tmp_path / f"{kind}.csv", close)
    proc = run_cli(
        "train", "--model", "bilstm_classifier", "--data", str(data), "--out", str(tmp_path / "t"), *TINY
    )
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "report"
    proc = run_cli(
        "evaluate",
        "--checkpoint",
        str(tmp_path / "t" / "best.safetensors"),
        "--data",
        str(data),
        "--out",
        str(out),
        "--n-bootstrap",
        "50",
        "--no-progress",
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert (
        f"logreg               not fittable: the training windows hold one class only ({only})" in proc.stdout
    )
    assert "majority             balanced accuracy n/a   MCC n/a" in proc.stdout
    assert f"Verdict: No verdict: the 62 test windows hold one class only ({only})" in proc.stdout
    assert "skill beyond" not in proc.stdout
    c = json.loads((out / "report.json").read_text())["classification"]
    assert c["not_fittable"] == {"logreg": f"the training windows hold one class only ({only})"}
    assert c["baselines"] == ["majority", "momentum"]
    assert c["outcome"] == ONE_CLASS
    overall = c["sections"][-1]
    assert overall["one_class"] == only
    for predictor in ("bilstm_classifier", "majority", "momentum"):
        for metric in ("balanced_accuracy", "mcc", "roc_auc"):
            assert overall["scores"][predictor][metric]["estimate"] is None
        assert overall["scores"][predictor]["accuracy"]["estimate"] is not None
    markdown = (out / "report.md").read_text()
    assert "Baseline logreg: not fittable" in markdown
    assert (
        f"The windows hold one class only ({only}): balanced accuracy, MCC and ROC-AUC are undefined"
        in markdown
    )


def test_only_unfittable_baselines_still_give_a_report_without_a_verdict(tmp_path: Path) -> None:
    data = _bars(tmp_path / "flat.csv", np.full(600, 100.0))
    proc = run_cli(
        "train", "--model", "bilstm_classifier", "--data", str(data), "--out", str(tmp_path / "t"), *TINY
    )
    assert proc.returncode == 0, proc.stderr
    checkpoint = str(tmp_path / "t" / "best.safetensors")
    args = ["--data", str(data), "--out", str(tmp_path / "r"), "--baselines", "logreg", "--no-progress"]
    proc = run_cli("evaluate", "--checkpoint", checkpoint, *args)
    assert proc.returncode == 0, proc.stderr
    assert "Verdict: No verdict: no baseline could be fit on the training windows" in proc.stdout


def test_a_perfect_constant_on_a_one_class_test_set_is_never_a_verdict() -> None:
    y = np.zeros(400, dtype=np.int64)
    probas = {"m": np.eye(2)[y], "majority": np.full((400, 2), 0.5)}
    v = verdict(y, probas, "m", ["majority"], Bootstrap(block_size=4, n_resamples=50), ["down", "up"])
    assert v.outcome == ONE_CLASS
    assert "one class only (down)" in v.sentence
    assert all(np.isnan(iv.estimate) for _, iv in v.leads.values())
