"""The engine's CUDA code path, run on the CPU (``device="cpu:candle"``), against the PyTorch twin.

On a GPU the engine serves each model's candle struct through one generic wrapper; ``"cpu:candle"`` runs
that same wrapper and struct on the CPU, so a machine without a GPU (CI) holds the code CUDA runs to
parity. Every served model, one layer and several, uni- and bidirectional where it applies, batch 1 and
several, every output (logits, forecasts, trend scores, direction logits, attention weights, encoder
outputs, embeddings, the teacher-forced pass): within 1e-5 of PyTorch (float32, CPU), and equal within
1e-5 to the CPU backend's.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import neural_trader as nt
from neural_trader.models.masked_autoencoder import PretrainedEncoder, PretrainedEncoderConfig

TOL = 1e-5
BATCHES = (1, 5)


@pytest.fixture(autouse=True)
def _one_torch_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


CASES = [
    (nt.BiLSTMClassifier, nt.BiLSTMClassifierConfig(input_size=3, hidden_size=6, num_layers=1)),
    (
        nt.BiLSTMClassifier,
        nt.BiLSTMClassifierConfig(
            input_size=4, hidden_size=5, num_layers=2, bidirectional=False, num_classes=3
        ),
    ),
    (nt.SimpleLSTM, nt.SimpleLSTMConfig(input_size=3, hidden_size=7, num_layers=1, head_hidden=[])),
    (nt.SimpleLSTM, nt.SimpleLSTMConfig(input_size=2, hidden_size=6, num_layers=3, head_hidden=[5, 4])),
    (
        nt.EnhancedSimpleLSTM,
        nt.EnhancedSimpleLSTMConfig(input_size=3, hidden_size=6, num_layers=1, num_heads=3),
    ),
    (
        nt.EnhancedSimpleLSTM,
        nt.EnhancedSimpleLSTMConfig(input_size=4, hidden_size=4, num_layers=2, num_heads=2),
    ),
    (nt.TrendAttention, nt.TrendAttentionConfig(input_size=3, hidden_size=6, num_layers=1, horizons=[7])),
    (
        nt.TrendAttention,
        nt.TrendAttentionConfig(input_size=4, hidden_size=4, num_layers=2, num_heads=2, horizons=[2, 9]),
    ),
    (
        PretrainedEncoder,
        PretrainedEncoderConfig(input_size=3, hidden_size=5, num_layers=1, bidirectional=False),
    ),
    (PretrainedEncoder, PretrainedEncoderConfig(input_size=3, hidden_size=6, num_layers=2)),
]


def _build(cls: type, config, seed: int = 0) -> torch.nn.Module:
    """Encoder and attention weights larger than the default init, so states vary over time and attention
    is far from uniform (a wrong score shows)."""
    torch.manual_seed(seed)
    model = cls(config).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.startswith(("encoder.", "attention.")):
                p.uniform_(-0.6, 0.6)
        if hasattr(model, "attention"):
            model.attention.in_proj_weight.mul_(6.0)
    return model


def _windows(input_size: int, batch: int, steps: int = 11, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(batch, steps, input_size)).astype(np.float32)


def _named(out) -> dict:
    return out if isinstance(out, dict) else {"output": out}


def _close(actual: np.ndarray, expected, what: str) -> None:
    expected = expected.detach().numpy() if isinstance(expected, torch.Tensor) else expected
    assert actual.dtype == np.float32, what
    assert actual.shape == expected.shape, (what, actual.shape, expected.shape)
    np.testing.assert_allclose(actual, expected, rtol=0, atol=TOL, err_msg=what)


@pytest.mark.parametrize(
    ("cls", "config"), CASES, ids=[f"{c.registry_name}-{i}" for i, (c, _) in enumerate(CASES)]
)
def test_the_candle_backend_matches_torch_and_the_cpu_backend(cls, config):
    model = _build(cls, config)
    candle = model.to_native(device="cpu:candle")
    cpu = model.to_native()
    assert (candle.device, cpu.device) == ("cpu:candle", "cpu")
    assert candle.config == cpu.config and candle.num_parameters() == model.num_parameters()
    for batch in BATCHES:
        x = _windows(config.input_size, batch, seed=batch)
        with torch.inference_mode():
            want = _named(model(torch.from_numpy(x)))
        got, same = _named(candle.predict(x)), _named(cpu.predict(x))
        assert list(got) == list(want) == list(same)
        for key in want:
            _close(got[key], want[key], f"{key} b={batch}")
            _close(got[key], same[key], f"{key} vs cpu b={batch}")
        if cls is PretrainedEncoder:
            with torch.inference_mode():
                _close(candle.embed(x), model.embed(torch.from_numpy(x)), f"embedding b={batch}")
        if cls in (nt.EnhancedSimpleLSTM, nt.TrendAttention):
            _, weights = candle.predict(x, return_attention=True)
            _, cpu_weights = cpu.predict(x, return_attention=True)
            with torch.inference_mode():
                ref = (
                    model.attention_weights(torch.from_numpy(x))
                    if cls is nt.EnhancedSimpleLSTM
                    else want["attention_weights"]
                )
            _close(weights, ref, f"attention b={batch}")
            _close(weights, cpu_weights, f"attention vs cpu b={batch}")
            assert weights.max() > 1.5 * weights.min(), "attention nearly uniform: a weak comparison"


@pytest.mark.parametrize(("bidirectional", "layer_norm", "layers"), [(True, True, 2), (False, False, 1)])
@pytest.mark.parametrize("batch", BATCHES)
def test_the_candle_forecaster_matches_torch_forecasting_and_teacher_forced(
    bidirectional, layer_norm, layers, batch
):
    torch.manual_seed(0)
    config = nt.LSTMAttentionConfig(
        input_size=4,
        output_size=2,
        horizon=4,
        hidden_size=8,
        num_heads=2,
        num_encoder_layers=layers,
        num_decoder_layers=layers,
        bidirectional=bidirectional,
        layer_norm=layer_norm,
        target_indices=[3, 1],
    )
    model = nt.LSTMAttention(config).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.uniform_(-0.5, 0.5)
        model.attention.in_proj_weight.mul_(5.0)
    candle, cpu = model.to_native(device="cpu:candle"), model.to_native()
    x = _windows(4, batch, steps=12, seed=3)
    y = np.random.default_rng(4).normal(size=(batch, 4, 2)).astype(np.float32)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    with torch.inference_mode():
        forecast, attention = model.forecast(xt, return_attention=True)
        forced, forced_attention = model(xt, yt, teacher_forcing_ratio=1.0, return_attention=True)
    got, got_attention = candle.predict(x, return_attention=True)
    _close(got, forecast, "forecast")
    _close(got_attention, attention, "forecast attention")
    _close(candle.predict(x), cpu.predict(x), "forecast vs cpu")
    got, got_attention = candle.teacher_forced(x, y, return_attention=True)
    _close(got, forced, "teacher-forced")
    _close(got_attention, forced_attention, "teacher-forced attention")
    _close(candle.teacher_forced(x, y), cpu.teacher_forced(x, y), "teacher-forced vs cpu")
    assert (forecast - forced).abs().max() > 1e-3, "teacher forcing changed nothing: a weak comparison"


def test_the_candle_backend_keeps_the_engines_checks_and_empty_batches():
    model = _build(nt.TrendAttention, nt.TrendAttentionConfig(input_size=3, hidden_size=4, horizons=[5, 2]))
    candle = model.to_native(device="cpu:candle")
    out = candle.predict(np.zeros((0, 6, 3), np.float32))
    assert [v.shape for v in out.values()] == [(0,), (0, 2), (0,), (0, 2), (0, 6)]
    with pytest.raises(nt.ShapeError, match="input x"):
        candle.predict(np.zeros((2, 5, 4), np.float32))
    with pytest.raises(nt.DataError):
        candle.predict(np.full((2, 5, 3), np.nan, np.float32))
    with pytest.raises(nt.ConfigError, match="embed"):
        candle.embed(np.zeros((2, 5, 3), np.float32))
