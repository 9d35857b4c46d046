"""Regression heads (``num_classes=0``: one real output) of the direction-family models: PyTorch twin vs
the native engine, on the CPU kernels and on the candle path that serves on CUDA (``"cpu:candle"``).

The Rust side also holds both backends to PyTorch's numbers in ``crates/nt-core/tests/regression_heads.rs``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import neural_trader as nt

CONFIGS = {
    "bilstm_classifier": (nt.BiLSTMClassifier, nt.BiLSTMClassifierConfig, {}),
    "simple_lstm": (nt.SimpleLSTM, nt.SimpleLSTMConfig, {"head_hidden": [5]}),
    "enhanced_simple_lstm": (nt.EnhancedSimpleLSTM, nt.EnhancedSimpleLSTMConfig, {"num_heads": 2}),
}


def _regression_model(name: str) -> torch.nn.Module:
    cls, config_class, extra = CONFIGS[name]
    config = config_class(input_size=3, hidden_size=4, num_layers=2, num_classes=0, **extra)
    torch.manual_seed(0)
    return cls(config).eval()


@pytest.mark.parametrize("name", sorted(CONFIGS))
@pytest.mark.parametrize("device", ["cpu", "cpu:candle"])
def test_a_regression_head_gives_pytorchs_one_output(tmp_path, name, device):
    model = _regression_model(name)
    model.save(tmp_path / "m.safetensors")
    engine = nt.native.load(tmp_path / "m.safetensors", device=device)
    assert engine.config["num_classes"] == 0
    for batch in (1, 4):
        x = np.random.default_rng(batch).normal(size=(batch, 7, 3)).astype(np.float32)
        with torch.inference_mode():
            want = model(torch.from_numpy(x)).numpy()
        got = engine.predict(x)
        assert got.shape == want.shape == (batch, 1)
        np.testing.assert_allclose(got, want, atol=1e-5, rtol=0)
    engine.save(tmp_path / "rust.safetensors")
    assert nt.load(tmp_path / "rust.safetensors").config == model.config
