"""The new models: shapes, registry round trips, config checks; the baselines' common interface."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import neural_trader
from neural_trader.errors import ConfigError, ShapeError
from neural_trader.models.base import MODELS
from neural_trader.models.baselines import BASELINES, MajorityBaseline, MomentumBaseline, window_summary
from neural_trader.models.masked_autoencoder import (
    MaskedBiLSTMAutoencoder,
    MaskedBiLSTMAutoencoderConfig,
    PretrainedEncoder,
    PretrainedEncoderConfig,
)
from neural_trader.models.simple_lstm import (
    EnhancedSimpleLSTM,
    EnhancedSimpleLSTMConfig,
    SimpleLSTM,
    SimpleLSTMConfig,
)
from neural_trader.models.trend_attention import TrendAttention, TrendAttentionConfig
from neural_trader.training.metrics import balanced_accuracy, mcc

SMALL = [
    TrendAttention(TrendAttentionConfig(input_size=4, hidden_size=8, num_heads=2, horizons=[1, 7, 30])),
    MaskedBiLSTMAutoencoder(MaskedBiLSTMAutoencoderConfig(input_size=4, hidden_size=8)),
    SimpleLSTM(SimpleLSTMConfig(input_size=4, hidden_size=8)),
    EnhancedSimpleLSTM(EnhancedSimpleLSTMConfig(input_size=4, hidden_size=8, num_heads=4)),
    PretrainedEncoder(PretrainedEncoderConfig(input_size=4, hidden_size=8)),
]


def _run(model, x):
    if isinstance(model, MaskedBiLSTMAutoencoder):
        return model(x, torch.zeros(x.shape[:2], dtype=torch.bool))["reconstruction"]
    out = model(x)
    return torch.cat([v.reshape(len(x), -1) for v in out.values()], 1) if isinstance(out, dict) else out


def test_registry_names() -> None:
    for name in (
        "trend_attention",
        "masked_bilstm_autoencoder",
        "simple_lstm",
        "enhanced_simple_lstm",
        "lstm_encoder",
    ):
        assert name in MODELS
    assert sorted(BASELINES) == ["logreg", "majority", "momentum", "rf", "stack", "xgb"]


@pytest.mark.parametrize("model", SMALL, ids=lambda mdl: mdl.registry_name)
def test_save_load_round_trip_through_the_registry(tmp_path, model) -> None:
    x = torch.randn(3, 9, 4)
    path = tmp_path / "m.safetensors"
    model.save(path)
    same = neural_trader.load(path)
    assert type(same) is type(model) and same.config == model.config
    torch.testing.assert_close(_run(same, x), _run(model.eval(), x))
    assert all(k.startswith("encoder.lstm.") for k in same.state_dict() if "lstm" in k)


def test_trend_attention_outputs() -> None:
    model = TrendAttention(TrendAttentionConfig(input_size=4, hidden_size=8, num_heads=2)).eval()
    out = model(5.0 * torch.randn(6, 11, 4))
    assert sorted(out) == [
        "attention_weights",
        "direction_logits_30",
        "direction_logits_7",
        "trend_30",
        "trend_7",
    ]
    assert out["trend_7"].shape == (6,) and out["trend_7"].abs().max() <= 1.0
    assert out["direction_logits_30"].shape == (6, 2)
    torch.testing.assert_close(out["attention_weights"].sum(dim=1), torch.ones(6))
    assert "heads.h7.trend.weight" in model.state_dict() and "attention.in_proj_weight" in model.state_dict()
    with pytest.raises(ShapeError):
        model(torch.randn(2, 5, 3))


def test_enhanced_attention_weights_are_a_distribution() -> None:
    model = EnhancedSimpleLSTM(EnhancedSimpleLSTMConfig(input_size=4, hidden_size=8, num_heads=2))
    w = model.attention_weights(torch.randn(3, 7, 4))
    assert w.shape == (3, 7) and torch.allclose(w.sum(1), torch.ones(3)) and (w >= 0).all()


@pytest.mark.parametrize(
    ("cls", "values"),
    [
        (TrendAttentionConfig, {"input_size": 4, "hidden_size": 5, "num_heads": 4}),
        (TrendAttentionConfig, {"input_size": 4, "horizons": []}),
        (TrendAttentionConfig, {"input_size": 4, "horizons": [7, 7]}),
        (SimpleLSTMConfig, {"input_size": 0}),
        (SimpleLSTMConfig, {"input_size": 4, "num_classes": 1}),
        (EnhancedSimpleLSTMConfig, {"input_size": 4, "dropout": 1.0}),
        (MaskedBiLSTMAutoencoderConfig, {"input_size": 4, "latent_weight": -1.0}),
        (MaskedBiLSTMAutoencoderConfig, {"input_size": 4, "decoder_hidden": "64"}),
        (PretrainedEncoderConfig, {"input_size": 4, "bidirectional": 1}),
    ],
)
def test_configs_refuse_bad_values(cls, values) -> None:
    with pytest.raises(ConfigError):
        cls(**values)


def test_configs_survive_json() -> None:
    cfg = TrendAttentionConfig(input_size=4, horizons=(1, 5), head_hidden=(8,))
    assert TrendAttentionConfig(**json.loads(json.dumps(cfg.__dict__))) == cfg


def _trending(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Windows of a one-bar return column whose sum predicts the label with 80% reliability."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 20, 2))
    y = (x[:, -10:, 0].sum(axis=1) > 0).astype(int)
    flip = rng.random(n) < 0.2
    return x, np.where(flip, 1 - y, y)


def test_baselines_share_one_interface() -> None:
    x, y = _trending(600, 0)
    x_test, y_test = _trending(400, 1)
    scores = {}
    for name, cls in BASELINES.items():
        model = cls(column=0, lookback=10) if name == "momentum" else cls()
        proba = model.fit(x, y).predict_proba(x_test)
        assert proba.shape == (400, 2) and np.allclose(proba.sum(axis=1), 1.0)
        scores[name] = balanced_accuracy(y_test, proba.argmax(1))
    assert scores["majority"] == 0.5
    assert scores["momentum"] > 0.75 and scores["rf"] > 0.6 and scores["logreg"] > 0.6


def test_baseline_errors_and_edges() -> None:
    with pytest.raises(ConfigError, match="fit"):
        MajorityBaseline().predict_proba(np.zeros((1, 2, 1)))
    with pytest.raises(ShapeError):
        MajorityBaseline().fit(np.zeros((3, 2)), np.zeros(3))
    with pytest.raises(ConfigError, match="binary"):
        MomentumBaseline().fit(np.zeros((3, 4, 1)), np.array([0, 1, 2]))
    majority = MajorityBaseline().fit(np.zeros((4, 2, 1)), np.array([1, 1, 1, 0]))
    pred = majority.predict(np.zeros((5, 2, 1)))
    assert mcc(np.array([0, 1, 0, 1, 1]), pred) == 0.0
    assert window_summary(np.ones((2, 3, 4)), last_steps=10).shape == (2, 4 * 3 + 8)
