"""``export --onnx`` of every model the native engine serves: the file runs in ONNX Runtime with the
model's declared outputs, and gives the numbers the native engine gives for the same checkpoint."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

import neural_trader as nt
from neural_trader.cli import main
from neural_trader.models import PretrainedEncoder, PretrainedEncoderConfig

pytestmark = pytest.mark.skipif(
    any(importlib.util.find_spec(m) is None for m in ("onnx", "onnxscript", "onnxruntime")),
    reason="ONNX export needs onnx, onnxscript and onnxruntime",
)

MODELS = {
    "bilstm_classifier": lambda: nt.BiLSTMClassifier(nt.BiLSTMClassifierConfig(input_size=3, hidden_size=4)),
    "simple_lstm": lambda: nt.SimpleLSTM(nt.SimpleLSTMConfig(input_size=3, hidden_size=4)),
    "enhanced_simple_lstm": lambda: nt.EnhancedSimpleLSTM(
        nt.EnhancedSimpleLSTMConfig(input_size=3, hidden_size=4, num_heads=2)
    ),
    "trend_attention": lambda: nt.TrendAttention(
        nt.TrendAttentionConfig(input_size=3, hidden_size=4, num_heads=2, horizons=[7, 30])
    ),
    "lstm_attention": lambda: nt.LSTMAttention(
        nt.LSTMAttentionConfig(input_size=3, output_size=2, horizon=3, hidden_size=4, num_heads=2)
    ),
    "lstm_encoder": lambda: PretrainedEncoder(PretrainedEncoderConfig(input_size=3, hidden_size=4)),
}


def test_every_served_model_is_covered_here() -> None:
    assert set(MODELS) == set(nt.native.SERVED_MODELS)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_export_of_a_served_model_runs_in_onnxruntime_as_the_engine_does(
    name: str, tmp_path: Path, capsys
) -> None:
    import onnxruntime as ort

    torch.manual_seed(0)
    model = MODELS[name]().eval()
    checkpoint, onnx_path = tmp_path / "m.safetensors", tmp_path / "m.onnx"
    model.save(checkpoint)
    assert main(["export", "--checkpoint", str(checkpoint), "--onnx", str(onnx_path)]) == 0
    assert "verified" in capsys.readouterr().out
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    assert names == model.onnx_outputs()
    x = np.random.default_rng(1).normal(size=(4, 9, 3)).astype(np.float32)
    got = dict(zip(names, session.run(None, {"x": x}), strict=True))
    native = nt.native.load(checkpoint).predict(x)
    native = native if isinstance(native, dict) else {names[0]: native}
    assert set(native) == set(got)
    for key, values in native.items():
        np.testing.assert_allclose(got[key], values, atol=1e-4, rtol=0, err_msg=f"{name} {key}")
