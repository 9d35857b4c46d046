"""The direction classifiers read their head from the data spec: k classes for class labels, one real
output (``num_classes=0``) for regression labels, scored as such; the native engine refuses what it
cannot serve with a typed error."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import neural_trader as nt
from neural_trader.data import DataSpec
from neural_trader.errors import ConfigError
from neural_trader.models import ModelOptions
from neural_trader.training import ClassificationTask, RegressionTask
from neural_trader.workflows.build import build_model, make_task, torch_outputs

SMALL = ModelOptions(hidden_size=4, num_layers=1, num_heads=2)
THREE = DataSpec(label="triple_barrier", window=6)
REGRESSION = DataSpec(label="forward_return", window=6)


@pytest.mark.parametrize("name", ["bilstm_classifier", "simple_lstm", "enhanced_simple_lstm"])
def test_heads_follow_the_label(name) -> None:
    x = np.random.default_rng(0).normal(size=(4, 6, 28)).astype(np.float32)
    three = build_model(name, THREE, SMALL)
    assert three.config.num_classes == 3
    assert torch_outputs(three, x, THREE)["proba"].shape == (4, 3)
    task = make_task(name, THREE, np.array([[0.0], [1.0], [2.0], [2.0]]))
    assert isinstance(task, ClassificationTask) and task.class_weight.shape == (3,)

    regression = build_model(name, REGRESSION, SMALL)
    assert regression.config.num_classes == 0
    out = torch_outputs(regression, x, REGRESSION)
    assert set(out) == {"value"} and out["value"].shape == (4,)
    task = make_task(name, REGRESSION, np.array([[0.01], [0.03], [np.nan]]))
    assert isinstance(task, RegressionTask)
    assert task.target_mean == pytest.approx(0.02) and task.target_std == pytest.approx(0.01)


def test_one_class_is_refused_and_zero_means_one_real_output() -> None:
    with pytest.raises(ConfigError, match="0 \\(one real output: regression\\) or >= 2 classes, got 1"):
        nt.BiLSTMClassifierConfig(input_size=4, num_classes=1)
    model = nt.BiLSTMClassifier(nt.BiLSTMClassifierConfig(input_size=4, hidden_size=4, num_classes=0))
    assert model.head.out_features == 1


def test_a_model_that_ignores_the_spec_classes_is_caught(monkeypatch) -> None:
    cls = nt.MODELS["bilstm_classifier"]
    monkeypatch.setattr(
        cls, "from_options", classmethod(lambda c, spec, o: c(nt.BiLSTMClassifierConfig(input_size=28)))
    )
    with pytest.raises(ConfigError, match="built with num_classes=2, but the label 'triple_barrier' needs 3"):
        build_model("bilstm_classifier", THREE, SMALL)


def test_the_engine_serves_k_classes_and_a_regression_head() -> None:
    x = np.random.default_rng(1).normal(size=(3, 6, 28)).astype(np.float32)
    for spec in (THREE, REGRESSION):
        model = build_model("bilstm_classifier", spec, SMALL).eval()
        engine = model.to_native(threads=1)
        np.testing.assert_allclose(engine.predict(x), model(torch.from_numpy(x)).detach(), atol=1e-5)
