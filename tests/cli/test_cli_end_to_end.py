"""train -> evaluate -> predict --native -> export --onnx on 800 real GOOG bars, as a user runs them."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from safetensors import safe_open

from neural_trader.evaluation.classification import METRICS


def test_train_writes_a_checkpoint_with_its_data_spec(trained: Path) -> None:
    with safe_open(str(trained), framework="numpy") as f:
        meta = f.metadata()
    assert meta["model"] == "bilstm_classifier"
    assert json.loads(meta["data"]) == {
        "task": "direction",
        "inputs": "features",
        "window": 16,
        "horizon": 5,
        "targets": [],
    }
    split = json.loads(meta["splits"])["goog"]
    assert split["embargo"] >= 5 and split["n_rows"] == 800 - 49
    assert len(json.loads(meta["scaler"])["mean"]) == 28
    assert (trained.parent / "history.png").stat().st_size > 0


def test_evaluate_report_ends_with_the_verdict(report) -> None:
    out, stdout = report
    markdown = (out / "report.md").read_text().strip().splitlines()
    doc = json.loads((out / "report.json").read_text())
    verdict = doc["verdict"]
    assert markdown[-1] == verdict
    assert stdout.strip().splitlines()[-1] == f"Verdict: {verdict}"
    outcome = doc["classification"]["outcome"]
    leads = doc["classification"]["leads"]
    lows = [leads[m]["low"] for m in ("balanced_accuracy", "mcc")]
    highs = [leads[m]["high"] for m in ("balanced_accuracy", "mcc")]
    # The verdict follows the intervals, exactly as documented.
    expected = "skill" if min(lows) > 0 else ("worse" if min(highs) < 0 else "no skill")
    assert outcome == expected
    phrase = {"skill": "shows skill", "no skill": "shows no skill", "worse": "does worse"}[outcome]
    assert f"bilstm_classifier {phrase}" in verdict
    section = doc["classification"]["sections"][-1]
    assert set(section["scores"]) == {"bilstm_classifier", "majority", "momentum", "logreg"}
    for scores in section["scores"].values():
        assert set(scores) == set(METRICS)
        for m in ("accuracy", "balanced_accuracy", "brier"):
            iv = scores[m]
            assert iv["low"] <= iv["estimate"] + 1e-12 and iv["estimate"] <= iv["high"] + 1e-12
    for figure in ("scores.png", "equity.png"):
        assert (out / figure).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_predict_native_matches_torch_and_marks_parts(
    cli, trained: Path, goog_csv: Path, tmp_path: Path
) -> None:
    native_csv, torch_csv = tmp_path / "native.csv", tmp_path / "sub" / "torch.csv"
    args = ["predict", "--checkpoint", str(trained), "--data", str(goog_csv)]
    proc = cli(*args, "--output", str(native_csv), "--native")
    assert proc.returncode == 0, proc.stderr
    proc = cli(*args, "--output", str(torch_csv))
    assert proc.returncode == 0, proc.stderr
    native, reference = pd.read_csv(native_csv), pd.read_csv(torch_csv)
    # One row per window of the 751 rows after the warm-up (window 16), the latest bars included.
    assert len(native) == 751 - 16 + 1
    assert native["timestamp"].iloc[-1] == "2007-10-22"
    assert list(native.columns) == ["timestamp", "symbol", "part", "p_down", "p_up", "predicted"]
    np.testing.assert_allclose(native[["p_down", "p_up"]], reference[["p_down", "p_up"]], atol=1e-5)
    np.testing.assert_allclose(native[["p_down", "p_up"]].sum(axis=1), 1.0, atol=1e-6)
    assert set(native["part"]) <= {"train", "val", "test", "after", "other"}
    # The last windows end after the test period's last labelled window: truly out of sample.
    assert native["part"].iloc[-1] == "after"
    parts = native.groupby("part").size()
    assert parts["test"] > 50 and parts["train"] > parts["test"]


@pytest.mark.skipif(
    any(importlib.util.find_spec(m) is None for m in ("onnx", "onnxscript", "onnxruntime")),
    reason="ONNX export needs onnx, onnxscript and onnxruntime",
)
def test_export_onnx_runs_in_onnxruntime(cli, trained: Path, tmp_path: Path) -> None:
    import onnx
    import onnxruntime as ort
    import torch

    import neural_trader as nt

    path = tmp_path / "model.onnx"
    proc = cli("export", "--checkpoint", str(trained), "--onnx", str(path))
    assert proc.returncode == 0, proc.stderr
    assert "verified" in proc.stdout and "Warning" not in proc.stderr
    meta = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert meta["model"] == "bilstm_classifier" and "scaler" in meta
    x = np.random.default_rng(1).normal(size=(5, 24, 28)).astype(np.float32)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (logits,) = session.run(None, {"x": x})
    with torch.no_grad():
        want = nt.load(trained)(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(logits, want, atol=1e-4)
