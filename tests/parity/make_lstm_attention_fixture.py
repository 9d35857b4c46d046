"""Writes the golden fixture of the Rust gradient test (crates/nt-core/tests/lstm_attention.rs).

Run from the repository root: ``.venv/bin/python tests/parity/make_lstm_attention_fixture.py``. The file is
a neural_trader checkpoint (model ``lstm_attention``, its config in the metadata) whose tensors are the
model's weights under ``param.<name>``, a batch ``x``/``y``, the teacher-forced outputs ``pred`` and
``attention``, the MSE ``loss`` and PyTorch's gradients ``grad.<name>``. Tiny sizes keep it under 40 kB.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch

import neural_trader as nt

OUT = Path(__file__).resolve().parents[2] / "crates/nt-core/tests/fixtures/lstm_attention_grads.safetensors"


def main() -> None:
    # The snippet quoted in the Rust test's comment starts here.
    torch.manual_seed(0)
    cfg = nt.LSTMAttentionConfig(
        input_size=3, output_size=2, horizon=4, hidden_size=8, num_encoder_layers=2,
        num_decoder_layers=1, num_heads=2, bidirectional=True, dropout=0.0, layer_norm=True,
        target_indices=[2, 0],
    )  # fmt: skip
    model = nt.LSTMAttention(cfg).eval()
    x, y = torch.randn(3, 6, 3), torch.randn(3, 4, 2)
    pred, attention = model(x, y, teacher_forcing_ratio=1.0, return_attention=True)
    loss = torch.nn.functional.mse_loss(pred, y)
    loss.backward()
    # The snippet ends here.
    tensors = {f"param.{k}": v.detach().clone() for k, v in model.state_dict().items()}
    tensors |= {f"grad.{k}": p.grad.clone() for k, p in model.named_parameters()}
    tensors |= {
        "x": x,
        "y": y,
        "pred": pred.detach(),
        "attention": attention.detach(),
        "loss": loss.detach().reshape(1),
    }
    ck = nt.Checkpoint(model=model.registry_name, config=dataclasses.asdict(cfg), tensors=tensors)
    ck.write(OUT)
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes, loss {loss.item():.6f})")


if __name__ == "__main__":
    main()
