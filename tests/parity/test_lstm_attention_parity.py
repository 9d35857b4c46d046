"""LSTMAttention and multi-head attention: PyTorch twin vs Rust engine on the same weights.

Tolerances (float32, CPU): teacher-forced outputs and attention 1e-5 absolute; autoregressive forecasts over
24 steps 1e-4 (errors compound through fed-back predictions); attention layer alone 1e-5.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from torch import nn

import neural_trader as nt
from neural_trader import _core, native
from neural_trader.checkpoint import Checkpoint

HORIZON, WINDOW = 24, 30


@pytest.fixture(autouse=True)
def _one_torch_thread():
    # Small models: on a busy 2-core machine a second torch thread only adds contention.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# (batch, bidirectional, layer_norm, num_heads, encoder layers, decoder layers): every head count once with
# each direction setting; both batch sizes and both layer-norm settings meet both direction settings.
CASES = [
    (1, True, True, 1, 2, 2),
    (32, False, False, 1, 1, 2),
    (32, True, False, 2, 2, 1),
    (1, False, True, 2, 2, 2),
    (1, True, False, 4, 1, 1),
    (32, False, True, 4, 2, 1),
    (32, True, True, 8, 1, 2),
    (1, False, False, 8, 2, 2),
]


def make_model(bidirectional: bool, layer_norm: bool, heads: int, enc: int, dec: int, seed: int = 0):
    torch.manual_seed(seed)
    cfg = nt.LSTMAttentionConfig(
        input_size=4,
        output_size=2,
        horizon=HORIZON,
        hidden_size=16,
        num_encoder_layers=enc,
        num_decoder_layers=dec,
        num_heads=heads,
        bidirectional=bidirectional,
        layer_norm=layer_norm,
        target_indices=[3, 1],
    )
    model = nt.LSTMAttention(cfg).eval()
    with torch.no_grad():
        # Larger weights than the default init, so hidden states vary over time and attention is far from
        # uniform: with near-uniform weights a wrong score would hardly show.
        for p in model.parameters():
            p.uniform_(-0.5, 0.5)
        model.attention.in_proj_weight.mul_(5.0)
    return model


def batch(b: int, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(b, WINDOW, 4, generator=g), torch.randn(b, HORIZON, 2, generator=g)


def close(actual: np.ndarray, expected: torch.Tensor, atol: float) -> None:
    torch.testing.assert_close(torch.from_numpy(actual), expected.detach(), atol=atol, rtol=0.0)


@pytest.mark.parametrize(("b", "bidirectional", "layer_norm", "heads", "enc", "dec"), CASES)
def test_teacher_forced_and_autoregressive_match(b, bidirectional, layer_norm, heads, enc, dec):
    model = make_model(bidirectional, layer_norm, heads, enc, dec)
    engine = model.to_native()
    x, y = batch(b)
    assert engine.num_parameters() == model.num_parameters()
    assert engine.config == dataclasses.asdict(model.config)

    with torch.no_grad():
        pred, attn = model(x, y, teacher_forcing_ratio=1.0, return_attention=True)
    native_pred, native_attn = engine.teacher_forced(x.numpy(), y.numpy(), return_attention=True)
    assert native_attn.shape == (b, HORIZON, WINDOW)
    assert attn.max() > 2 * attn.min(), "attention is nearly uniform: the comparison would be weak"
    close(native_pred, pred, 1e-5)
    close(native_attn, attn, 1e-5)
    close(engine.teacher_forced(x.numpy(), y.numpy()), pred, 1e-5)

    forecast, forecast_attn = model.forecast(x, return_attention=True)
    native_forecast, native_forecast_attn = engine.predict(x.numpy(), return_attention=True)
    close(native_forecast, forecast, 1e-4)
    close(native_forecast_attn, forecast_attn, 1e-4)
    close(engine.predict(x.numpy()), forecast, 1e-4)
    # Teacher forcing changed something, or the two comparisons above test the same thing.
    assert (forecast - pred).abs().max() > 1e-3


def test_torch_file_loads_in_rust_and_rust_file_loads_in_torch(tmp_path):
    model = make_model(True, True, 4, 2, 1)
    x, y = batch(3)
    model.save(tmp_path / "torch.safetensors", extra={"scaler": '{"mean": [0.5]}'})
    engine = native.load(tmp_path / "torch.safetensors")
    with torch.no_grad():
        pred = model(x, y, teacher_forcing_ratio=1.0)
    close(engine.teacher_forced(x.numpy(), y.numpy()), pred, 1e-5)

    engine.save(tmp_path / "rust.safetensors")
    ck = Checkpoint.read(tmp_path / "rust.safetensors")
    assert ck.extra == {"scaler": '{"mean": [0.5]}'}
    again = nt.load(tmp_path / "rust.safetensors")
    assert isinstance(again, nt.LSTMAttention)
    assert again.config == model.config
    assert again.state_dict().keys() == model.state_dict().keys()
    for name, tensor in model.state_dict().items():
        assert torch.equal(again.state_dict()[name], tensor), name
    torch.testing.assert_close(again.forecast(x), model.forecast(x), atol=0.0, rtol=0.0)


def test_rust_reads_null_target_indices_as_default():
    model = make_model(False, True, 2, 1, 1)
    ck = model.to_checkpoint()
    ck.config["target_indices"] = None
    ck.config["output_size"] = 2
    engine = native.from_bytes(ck.to_bytes())
    assert engine.config["target_indices"] == [0, 1]


@pytest.mark.parametrize(("heads", "b", "lq", "s"), [(1, 1, 1, 7), (2, 5, 3, 9), (4, 1, 6, 4), (8, 5, 1, 12)])
def test_multi_head_attention_matches_torch(heads, b, lq, s):
    torch.manual_seed(heads)
    mha = nn.MultiheadAttention(16, heads, batch_first=True).eval()
    with torch.no_grad():
        mha.in_proj_weight.mul_(3.0)
        mha.in_proj_bias.normal_(0.0, 0.1)
    q, k, v = torch.randn(b, lq, 16), torch.randn(b, s, 16), torch.randn(b, s, 16)
    with torch.no_grad():
        out, weights = mha(q, k, v)
    state = {name: t.numpy() for name, t in mha.state_dict().items()}
    native_out, native_weights = _core.mha_forward(state, q.numpy(), k.numpy(), v.numpy(), heads)
    close(native_out, out, 1e-5)
    close(native_weights, weights, 1e-5)
