"""Each model is declared once: the workflows, the CLI listing, predict and export read the declaration,
and whether a model is served comes from the engine's own table, ``_core.SERVED_MODELS``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import torch
from torch import nn

import neural_trader as nt
from neural_trader import _core
from neural_trader.data import TASKS, DataSpec
from neural_trader.errors import ConfigError
from neural_trader.models import MODELS, PRETRAINING, DirectionClassifier, ModelOptions, served_models
from neural_trader.training import ClassificationTask
from neural_trader.workflows.build import (
    build_model,
    make_task,
    native_outputs,
    registry_rows,
    task_of,
    torch_outputs,
    trainable,
)


def test_every_model_declares_a_known_task_and_served_comes_from_the_engine() -> None:
    for name, cls in MODELS.items():
        assert cls.registry_name == name
        assert cls.task in (*TASKS, PRETRAINING), name
        assert cls.served() == (name in _core.SERVED_MODELS)
    assert served_models() == tuple(_core.SERVED_MODELS)
    assert trainable() == {
        "bilstm_classifier": "direction",
        "enhanced_simple_lstm": "direction",
        "lstm_attention": "forecast",
        "simple_lstm": "direction",
        "trend_attention": "trend",
    }


def test_served_follows_the_engine_table(monkeypatch) -> None:
    monkeypatch.setattr(_core, "SERVED_MODELS", ("simple_lstm",))
    assert nt.SimpleLSTM.served() and not nt.BiLSTMClassifier.served()
    kinds = {name: kind for name, kind, _ in registry_rows()}
    assert kinds["simple_lstm"] == "trainable (direction), served natively"
    assert kinds["bilstm_classifier"] == "trainable (direction)"


@pytest.mark.parametrize(
    ("name", "spec", "keys"),
    [
        ("bilstm_classifier", DataSpec(window=12), {"proba"}),
        ("simple_lstm", DataSpec(window=12), {"proba"}),
        ("enhanced_simple_lstm", DataSpec(window=12), {"proba"}),
        ("trend_attention", DataSpec(task="trend", window=12, horizon=3), {"proba", "trend"}),
        ("lstm_attention", DataSpec(task="forecast", window=12, targets=["volatility_20"]), {"forecast"}),
    ],
)
def test_models_are_built_and_read_from_their_declaration(name, spec, keys) -> None:
    model = build_model(name, spec, ModelOptions(hidden_size=4, num_layers=1, num_heads=2))
    assert type(model) is MODELS[name] and task_of(name) == spec.task
    x = np.random.default_rng(0).normal(size=(5, spec.window, len(spec.input_columns))).astype(np.float32)
    out = torch_outputs(model, x, spec)
    assert set(out) == keys
    if "proba" in out:
        np.testing.assert_allclose(out["proba"].sum(axis=1), 1.0, rtol=1e-12)
    if "forecast" in out:
        assert out["forecast"].shape == (5, spec.horizon, 1)
    if model.served():
        engine_out = native_outputs(model.to_native(threads=1), x, spec)
        assert set(engine_out) == keys
        for k in keys:
            np.testing.assert_allclose(engine_out[k], out[k], atol=1e-5)


def test_untrainable_names_say_what_to_do() -> None:
    with pytest.raises(ConfigError, match="neural-trader pretrain"):
        task_of("masked_bilstm_autoencoder")
    with pytest.raises(ConfigError, match="baseline"):
        task_of("majority")
    with pytest.raises(ConfigError, match="unknown model 'nope'.*bilstm_classifier"):
        task_of("nope")
    with pytest.raises(ConfigError, match="learns the direction task"):
        build_model("bilstm_classifier", DataSpec(task="trend"), ModelOptions())


@dataclass
class _MeanConfig:
    input_size: int


class _MeanClassifier(DirectionClassifier):
    """A model declared in one place (this test) and nowhere else."""

    registry_name = "test_mean_classifier"
    config_class = _MeanConfig

    @classmethod
    def from_options(cls, spec, options):
        return cls(_MeanConfig(len(spec.input_columns)))

    def __init__(self, config: _MeanConfig) -> None:
        super().__init__(config)
        self.head = nn.Linear(config.input_size, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(x.mean(dim=1))


def test_a_new_model_needs_only_its_own_declaration(monkeypatch) -> None:
    monkeypatch.setitem(MODELS, _MeanClassifier.registry_name, _MeanClassifier)
    spec = DataSpec(window=8)
    assert trainable()["test_mean_classifier"] == "direction"
    model = build_model("test_mean_classifier", spec, ModelOptions())
    task = make_task("test_mean_classifier", spec, np.array([[0.0], [1.0], [1.0]]))
    assert isinstance(task, ClassificationTask) and task.class_weight is not None
    out = torch_outputs(model, np.zeros((3, 8, 28), np.float32), spec)
    assert out["proba"].shape == (3, 2)
    assert not model.served() and model.onnx_outputs() == ["logits"]
    assert "test_mean_classifier" in {name for name, _, _ in registry_rows()}


def test_export_reads_the_declaration() -> None:
    trend = build_model("trend_attention", DataSpec(task="trend", horizon=3), ModelOptions(num_heads=2))
    assert trend.onnx_outputs() == ["direction_logits_3", "trend_3", "attention_weights"]
    assert MODELS["masked_bilstm_autoencoder"].not_exportable is not None
    assert MODELS["lstm_encoder"].not_exportable is None
    assert MODELS["lstm_encoder"].output == "encoded"
