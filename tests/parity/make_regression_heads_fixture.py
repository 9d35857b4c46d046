"""Writes the golden fixtures of the Rust regression-head test (crates/nt-core/tests/regression_heads.rs).

Run from the repository root, with a Python side whose direction classifiers accept ``num_classes=0`` (one
real output, issue 15): ``.venv/bin/python tests/parity/make_regression_heads_fixture.py``. Each file is a
checkpoint the PyTorch twin saved (``bilstm_classifier``, ``simple_lstm``, ``enhanced_simple_lstm``, each
with ``num_classes=0``), with a batch in its metadata (``golden_x``, shape ``golden_dims``) and the twin's
outputs ``(B, 1)`` for it (``golden_out``), as JSON lists of floats (exact float32 values).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

import neural_trader as nt

OUT = Path(__file__).resolve().parents[2] / "crates/nt-core/tests/fixtures"


def main() -> None:
    # The snippet quoted in the Rust test's comment starts here.
    models = {
        "bilstm_classifier": lambda: nt.BiLSTMClassifier(
            nt.BiLSTMClassifierConfig(input_size=3, hidden_size=5, num_layers=2, num_classes=0)
        ),
        "simple_lstm": lambda: nt.SimpleLSTM(
            nt.SimpleLSTMConfig(input_size=3, hidden_size=5, num_layers=2, num_classes=0, head_hidden=[4])
        ),
        "enhanced_simple_lstm": lambda: nt.EnhancedSimpleLSTM(
            nt.EnhancedSimpleLSTMConfig(input_size=3, hidden_size=4, num_layers=1, num_heads=2, num_classes=0)
        ),
    }
    for name, make in models.items():
        torch.manual_seed(0)
        model = make().eval()
        x = torch.randn(3, 6, 3)
        with torch.inference_mode():
            out = model(x)
        # The snippet ends here.
        assert out.shape == (3, 1), out.shape
        path = OUT / f"regression_{name}.safetensors"
        model.save(
            path,
            extra={
                "golden_x": json.dumps(x.flatten().tolist()),
                "golden_dims": json.dumps(list(x.shape)),
                "golden_out": json.dumps(out.flatten().tolist()),
            },
        )
        print(f"wrote {path} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
