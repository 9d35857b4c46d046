"""Every trainable model goes through train -> evaluate -> predict (in-process ``main()``, tiny sizes)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pandas as pd
import pytest

from neural_trader.cli import main

TINY = ["--window", "12", "--hidden-dim", "4", "--num-layers", "1", "--epochs", "1"]
#: --num-heads only where the model has heads: given to another model it is refused (issue 18).
HEADS = {"enhanced_simple_lstm": ["--num-heads", "2"], "trend_attention": ["--num-heads", "2"]}


@pytest.mark.parametrize(
    ("model", "extra", "columns"),
    [
        ("simple_lstm", [], ["p_down", "p_up", "predicted"]),
        ("enhanced_simple_lstm", [], ["p_down", "p_up", "predicted"]),
        ("trend_attention", ["--horizon", "3"], ["p_down", "p_up", "predicted", "trend"]),
        ("bilstm_classifier", ["--inputs", "candles"], ["p_down", "p_up", "predicted"]),
    ],
)
def test_model_round_trip(model, extra, columns, goog_csv: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / model
    argv = ["train", "--model", model, "--data", str(goog_csv), "--out", str(out), "--no-progress"]
    assert main([*argv, *TINY, *HEADS.get(model, []), *extra]) == 0
    checkpoint = out / "best.safetensors"
    report = tmp_path / "report"
    argv = ["evaluate", "--checkpoint", str(checkpoint), "--data", str(goog_csv), "--out", str(report)]
    assert main([*argv, "--n-bootstrap", "50", "--no-progress"]) == 0
    doc = json.loads((report / "report.json").read_text())
    assert doc["classification"]["model"] == model
    horizon = 3 if model == "trend_attention" else 5
    assert doc["classification"]["label"] == f"direction_{horizon}"
    csv = tmp_path / "p.csv"
    assert (
        main(["predict", "--checkpoint", str(checkpoint), "--data", str(goog_csv), "--output", str(csv)]) == 0
    )
    frame = pd.read_csv(csv)
    assert list(frame.columns) == ["timestamp", "symbol", "part", *columns]
    if model == "trend_attention":
        assert frame["trend"].between(-1, 1).all()
    capsys.readouterr()


@pytest.mark.skipif(
    any(importlib.util.find_spec(m) is None for m in ("onnx", "onnxscript", "onnxruntime")),
    reason="ONNX export needs onnx, onnxscript and onnxruntime",
)
def test_export_of_a_dict_output_model(goog_csv: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "trend"
    argv = [
        "train",
        "--model",
        "trend_attention",
        "--data",
        str(goog_csv),
        "--out",
        str(out),
        "--no-progress",
    ]
    assert main([*argv, *TINY]) == 0
    capsys.readouterr()
    onnx_path = tmp_path / "trend.onnx"
    assert main(["export", "--checkpoint", str(out / "best.safetensors"), "--onnx", str(onnx_path)]) == 0
    text = capsys.readouterr().out
    assert "direction_logits_5, trend_5, attention_weights" in text and "verified" in text
