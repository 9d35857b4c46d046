"""SimpleLSTM, EnhancedSimpleLSTM, TrendAttention and the pre-trained encoder: PyTorch twin vs native engine.

Each model is drawn from a seeded grid of random configs (layers 1-3, hidden widths, heads, head widths,
horizons, window lengths) and run at batch 1 (the engine's matrix-vector kernels) and 32 (its GEMM
kernels). Tolerance: 1e-5 absolute on every output (float32, CPU): logits, trend scores, direction logits,
attention weights, encoder outputs and embeddings. Files go both ways: a file the PyTorch twin saved runs
in the engine, and the file the engine saves loads in PyTorch with identical tensors and config.
"""

from __future__ import annotations

import dataclasses
import random

import numpy as np
import pytest
import torch

import neural_trader as nt
from neural_trader.models.masked_autoencoder import PretrainedEncoder, PretrainedEncoderConfig

TOL = 1e-5
BATCHES = (1, 32)


@pytest.fixture(autouse=True)
def _one_torch_thread():
    # Small models: on a busy 2-core machine a second torch thread only adds contention.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _widths(rng: random.Random) -> list[int]:
    return [rng.randint(2, 12) for _ in range(rng.randint(0, 2))]


def _grid(make, count: int, seed: int) -> list:
    rng = random.Random(seed)
    return [make(rng, k) for k in range(count)]


def simple_config(rng: random.Random, k: int) -> nt.SimpleLSTMConfig:
    return nt.SimpleLSTMConfig(
        input_size=rng.randint(1, 6),
        hidden_size=rng.choice([1, 5, 16, 33]),
        num_layers=1 + k % 3,
        num_classes=rng.randint(2, 4),
        head_hidden=_widths(rng),
    )


def enhanced_config(rng: random.Random, k: int) -> nt.EnhancedSimpleLSTMConfig:
    hidden = rng.choice([3, 4, 8, 12])
    heads = rng.choice([h for h in (1, 2, 4, 8) if (2 * hidden) % h == 0])
    return nt.EnhancedSimpleLSTMConfig(
        input_size=rng.randint(1, 6),
        hidden_size=hidden,
        num_layers=1 + k % 3,
        num_heads=heads,
        num_classes=rng.randint(2, 4),
        head_hidden=_widths(rng),
    )


def trend_config(rng: random.Random, k: int) -> nt.TrendAttentionConfig:
    hidden = rng.choice([3, 4, 8, 12])
    heads = rng.choice([h for h in (1, 2, 4, 8) if (2 * hidden) % h == 0])
    return nt.TrendAttentionConfig(
        input_size=rng.randint(1, 6),
        hidden_size=hidden,
        num_layers=1 + k % 3,
        num_heads=heads,
        horizons=rng.sample([1, 3, 7, 14, 30], rng.randint(1, 3)),
        head_hidden=_widths(rng),
    )


def encoder_config(rng: random.Random, k: int) -> PretrainedEncoderConfig:
    return PretrainedEncoderConfig(
        input_size=rng.randint(1, 6),
        hidden_size=rng.choice([1, 5, 16, 33]),
        num_layers=1 + k % 3,
        bidirectional=k % 2 == 0,
    )


def build(cls: type, config, seed: int) -> torch.nn.Module:
    """The model with encoder and attention weights larger than the default init, so hidden states vary
    over time and attention is far from uniform: with near-uniform weights a wrong score would hardly
    show. The heads keep torch's init, so outputs stay of order 1 (where 1e-5 is float32's precision)."""
    torch.manual_seed(seed)
    model = cls(config).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.startswith(("encoder.", "attention.")):
                p.uniform_(-0.6, 0.6)
        if hasattr(model, "attention"):
            model.attention.in_proj_weight.mul_(6.0)
    return model


def windows(config, batch: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    steps = 1 + (seed * 7) % 25
    return torch.randn(batch, steps, config.input_size, generator=g)


def close(actual: np.ndarray, expected: torch.Tensor, what: str) -> None:
    assert actual.dtype == np.float32, what
    assert actual.shape == tuple(expected.shape), (what, actual.shape, tuple(expected.shape))
    np.testing.assert_allclose(actual, expected.detach().numpy(), rtol=0, atol=TOL, err_msg=what)


CASES = (
    [(nt.SimpleLSTM, c) for c in _grid(simple_config, 6, 11)]
    + [(nt.EnhancedSimpleLSTM, c) for c in _grid(enhanced_config, 6, 12)]
    + [(nt.TrendAttention, c) for c in _grid(trend_config, 6, 13)]
    + [(PretrainedEncoder, c) for c in _grid(encoder_config, 6, 14)]
)


def _id(case) -> str:
    cls, cfg = case
    return f"{cls.registry_name}-" + "-".join(
        f"{k}={v}" for k, v in dataclasses.asdict(cfg).items() if k != "dropout"
    )


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_native_matches_torch_on_every_output(case):
    cls, config = case
    model = build(cls, config, seed=len(_id(case)))
    engine = model.to_native()
    assert engine.model == cls.registry_name
    assert engine.config == dataclasses.asdict(model.config)
    assert engine.num_parameters() == model.num_parameters()
    for batch in BATCHES:
        x = windows(config, batch, seed=batch + config.input_size)
        with torch.inference_mode():
            want = model(x)
        got = engine.predict(x.numpy())
        if isinstance(want, dict):
            assert isinstance(got, dict) and list(got) == list(want)
            for key in want:
                close(got[key], want[key], f"{key} b={batch}")
        else:
            close(got, want, f"output b={batch}")
        if cls is PretrainedEncoder:
            with torch.inference_mode():
                close(engine.embed(x.numpy()), model.embed(x), f"embedding b={batch}")
        if cls in (nt.EnhancedSimpleLSTM, nt.TrendAttention):
            out, attention = engine.predict(x.numpy(), return_attention=True)
            with torch.inference_mode():
                weights = (
                    model.attention_weights(x) if cls is nt.EnhancedSimpleLSTM else want["attention_weights"]
                )
            close(attention, weights, f"attention b={batch}")
            np.testing.assert_allclose(attention.sum(axis=-1), 1.0, atol=1e-5)
            if batch > 1 and x.shape[1] > 2:  # far from uniform somewhere, or the comparison is weak
                assert attention.max() > 1.5 * attention.min(), "attention nearly uniform"


@pytest.mark.parametrize(
    ("cls", "config"),
    [
        (nt.SimpleLSTM, nt.SimpleLSTMConfig(input_size=3, hidden_size=6, num_layers=2, head_hidden=[5])),
        (nt.EnhancedSimpleLSTM, nt.EnhancedSimpleLSTMConfig(input_size=3, hidden_size=6, num_heads=3)),
        (
            nt.TrendAttention,
            nt.TrendAttentionConfig(input_size=3, hidden_size=6, num_heads=4, horizons=[2, 9]),
        ),
        (PretrainedEncoder, PretrainedEncoderConfig(input_size=3, hidden_size=6, num_layers=3)),
    ],
)
def test_files_go_from_torch_to_rust_and_back(tmp_path, cls, config):
    model = build(cls, config, seed=3)
    model.save(tmp_path / "torch.safetensors", extra={"scaler": '{"mean": [0.5]}'})
    engine = nt.native.load(tmp_path / "torch.safetensors")
    x = windows(config, 4, seed=5)
    with torch.inference_mode():
        want = named(model(x))
    got = named(engine.predict(x.numpy()))
    for key in want:
        close(got[key], want[key], key)

    engine.save(tmp_path / "rust.safetensors")
    assert nt.Checkpoint.read(tmp_path / "rust.safetensors").extra == {"scaler": '{"mean": [0.5]}'}
    again = nt.load(tmp_path / "rust.safetensors")
    assert type(again) is cls and again.config == model.config
    assert again.state_dict().keys() == model.state_dict().keys()
    for name, tensor in model.state_dict().items():
        assert torch.equal(again.state_dict()[name], tensor), name
    reloaded = named(nt.native.load(tmp_path / "rust.safetensors").predict(x.numpy()))
    for key in got:
        np.testing.assert_array_equal(reloaded[key], got[key])


def named(out):
    """A model's output as a dict: the dict itself, or ``{"output": out}`` for a single array."""
    return out if isinstance(out, dict) else {"output": out}


def test_embedding_is_the_final_states_not_the_last_output_step():
    model = build(
        PretrainedEncoder, PretrainedEncoderConfig(input_size=3, hidden_size=5, num_layers=2), seed=1
    )
    x = windows(model.config, 3, seed=2)
    with torch.inference_mode():
        outputs, (h_n, _) = model.encoder(x)
        embedding = model.embed(x)
    torch.testing.assert_close(embedding, torch.cat([h_n[-2], h_n[-1]], dim=-1))
    assert (embedding[:, 5:] - outputs[:, -1, 5:]).abs().max() > 1e-4  # backward half differs
    with pytest.raises(nt.ShapeError):
        model.embed(torch.zeros(2, 4, 5))


def test_calls_a_model_does_not_offer_are_config_errors():
    simple = build(nt.SimpleLSTM, nt.SimpleLSTMConfig(input_size=3, hidden_size=4), seed=0).to_native()
    x = np.zeros((2, 5, 3), np.float32)
    with pytest.raises(nt.ConfigError, match="simple_lstm"):
        simple.predict(x, return_attention=True)
    with pytest.raises(nt.ConfigError, match="embed"):
        simple.embed(x)
    with pytest.raises(nt.ConfigError, match="teacher_forced"):
        simple.teacher_forced(x, np.zeros((2, 1, 1), np.float32))
    encoder = build(
        PretrainedEncoder, PretrainedEncoderConfig(input_size=3, hidden_size=4), seed=0
    ).to_native()
    with pytest.raises(nt.ShapeError, match="input x"):
        encoder.embed(np.zeros((2, 5, 4), np.float32))
    with pytest.raises(nt.DataError):
        encoder.embed(np.full((2, 5, 3), np.nan, np.float32))
    assert encoder.embed(np.zeros((0, 5, 3), np.float32)).shape == (0, 8)


def test_trend_outputs_keep_their_names_and_shapes_for_an_empty_batch():
    model = build(
        nt.TrendAttention, nt.TrendAttentionConfig(input_size=3, hidden_size=4, horizons=[5, 2]), seed=0
    )
    out = model.to_native().predict(np.zeros((0, 6, 3), np.float32))
    assert list(out) == [
        "trend_5",
        "direction_logits_5",
        "trend_2",
        "direction_logits_2",
        "attention_weights",
    ]
    assert [v.shape for v in out.values()] == [(0,), (0, 2), (0,), (0, 2), (0, 6)]
