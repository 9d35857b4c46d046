"""The recipes' registry and report additions: the ``xgb`` and ``stack`` baselines (stack's out-of-fold
predictions never use later windows), per-class precision and F1 (against scikit-learn), the attention
maps of every attention model and their heat map, and the pre-training workload timer's arithmetic."""

from __future__ import annotations

import builtins
import math

import numpy as np
import pytest
import torch
from sklearn.metrics import f1_score, precision_score

import neural_trader as nt
from neural_trader.errors import ConfigError, DataError
from neural_trader.evaluation.attention import AttentionMap, plot_attention
from neural_trader.evaluation.classification import score
from neural_trader.models import BASELINES, XGBoostBaseline
from neural_trader.models.stacking import StackingBaseline, expanding_folds
from neural_trader.training.metrics import classification_metrics, per_class_f1, per_class_precision
from neural_trader.workflows.build import registry_rows


def planted(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 8, 3))
    return x, (x[:, -1, 0] + 0.5 * x[:, -2, 1] > 0).astype(np.int64)


def test_xgb_and_stack_are_registered_and_listed() -> None:
    assert {"xgb", "stack", "logreg", "rf"} <= set(BASELINES)
    listed = {name: kind for name, kind, _ in registry_rows()}
    assert listed["xgb"] == listed["stack"] == "baseline"


def test_xgb_learns_and_handles_a_single_class() -> None:
    x, y = planted(600)
    model = XGBoostBaseline(n_estimators=60, seed=1).fit(x[:400], y[:400])
    assert (model.predict(x[400:]) == y[400:]).mean() > 0.75
    np.testing.assert_array_equal(model.predict_proba(x[:5]), XGBoostBaseline(n_estimators=60, seed=1)
                                  .fit(x[:400], y[:400]).predict_proba(x[:5]))  # fmt: skip
    only_up = XGBoostBaseline(n_estimators=5).fit(x[:50], np.ones(50, np.int64))
    assert only_up.predict_proba(x[:3]).tolist() == [[0.0, 1.0]] * 3


def test_xgb_without_the_package_is_a_config_error_naming_the_extra(monkeypatch) -> None:
    real_import = builtins.__import__

    def no_xgboost(name, *args, **kwargs):
        if name == "xgboost":
            raise ImportError("No module named 'xgboost'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_xgboost)
    with pytest.raises(ConfigError, match=r"pip install 'neural_trader\[xgb\]'"):
        XGBoostBaseline()
    with pytest.raises(ConfigError, match="xgboost"):
        StackingBaseline(base=("logreg", "xgb"))


def test_expanding_folds_are_in_time_order_with_a_gap() -> None:
    folds = expanding_folds(1000, 4, gap=25)
    assert [start for _, start, _ in folds] == [200, 400, 600, 800] and folds[-1][2] == 1000
    for train_stop, start, stop in folds:
        assert train_stop == start - 25 and start < stop
    for (_, _, stop), (_, start, _) in zip(folds, folds[1:], strict=False):
        assert stop == start  # contiguous blocks
    with pytest.raises(DataError, match="stack needs more training windows"):
        expanding_folds(20, 4, gap=10)


def test_stack_out_of_fold_predictions_never_use_later_windows() -> None:
    x, y = planted(500, seed=2)
    stack = StackingBaseline(n_folds=4, gap=5)
    features, rows = stack.out_of_fold(x, y)
    assert rows.tolist() == list(range(100, 500)) and features.shape == (400, 2)
    # Rewrite every window (and label) from block 3 on: the predictions of blocks 1 and 2 do not move,
    # those of blocks 3 and 4 do.
    x2, y2 = x.copy(), y.copy()
    x2[300:] = np.random.default_rng(9).normal(size=x2[300:].shape)
    y2[300:] = 1 - y2[300:]
    features2, _ = StackingBaseline(n_folds=4, gap=5).out_of_fold(x2, y2)
    np.testing.assert_array_equal(features2[:200], features[:200])
    assert not np.allclose(features2[200:], features[200:])


def test_stack_fits_a_meta_model_that_beats_chance() -> None:
    x, y = planted(800, seed=3)
    stack = StackingBaseline(base=("logreg", "rf", "xgb"), n_folds=3, gap=4, seed=2).fit(x[:600], y[:600])
    p = stack.predict_proba(x[600:])
    assert p.shape == (200, 2) and np.allclose(p.sum(axis=1), 1.0)
    assert (p.argmax(1) == y[600:]).mean() > 0.75
    with pytest.raises(ConfigError, match="base"):
        StackingBaseline(base=("majority",))


def test_precision_and_f1_per_class_match_scikit_learn() -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        y = rng.integers(0, 3, size=60)
        pred = rng.integers(0, 3, size=60)
        pred[pred == 2] = rng.integers(0, 2)  # sometimes a class is never predicted
        expected_p = precision_score(y, pred, average=None, labels=[0, 1, 2], zero_division=0.0)
        expected_f = f1_score(y, pred, average=None, labels=[0, 1, 2], zero_division=0.0)
        np.testing.assert_allclose(per_class_precision(y, pred, 3), expected_p)
        np.testing.assert_allclose(per_class_f1(y, pred, 3), expected_f)
    m = classification_metrics(np.array([0, 1, 1, 0]), np.eye(2)[[0, 1, 0, 0]])
    assert (m["precision_0"], m["precision_1"], m["f1_1"]) == (
        pytest.approx(2 / 3),
        1.0,
        pytest.approx(2 / 3),
    )
    s = score(np.array([0, 1, 1, 0]), np.eye(2)[[0, 1, 0, 0]])
    assert s["precision_0"] == m["precision_0"] and s["f1_0"] == m["f1_0"]


@pytest.mark.parametrize(
    ("model", "queries"),
    [
        (nt.LSTMAttention(nt.LSTMAttentionConfig(4, 1, horizon=3, hidden_size=8, num_heads=2)), 3),
        (nt.EnhancedSimpleLSTM(nt.EnhancedSimpleLSTMConfig(4, hidden_size=8, num_heads=2)), 1),
        (nt.TrendAttention(nt.TrendAttentionConfig(4, hidden_size=8, num_heads=2, horizons=[7, 30])), 1),
    ],
    ids=lambda m: getattr(m, "registry_name", str(m)),
)
def test_attention_maps_of_every_attention_model(model, queries: int, tmp_path) -> None:
    x = np.random.default_rng(0).normal(size=(37, 12, 4)).astype(np.float32)
    whole = AttentionMap.of(model, x, batch_size=10)
    assert whole is not None and whole.weights.shape == (queries, 12) and whole.windows == 37
    np.testing.assert_allclose(whole.weights.sum(axis=1), 1.0, atol=1e-5)
    # The mean over windows: pooling the maps of two halves gives the map of the whole.
    halves = AttentionMap.pooled([AttentionMap.of(model, x[:20]), AttentionMap.of(model, x[20:])])
    np.testing.assert_allclose(halves.weights, whole.weights, atol=1e-6)
    with torch.no_grad():
        one = model.attention_map(torch.from_numpy(x[:1]))
    assert tuple(one.shape) == (1, queries, 12)
    path = tmp_path / "attention.png"
    plot_attention(path, whole, title=model.registry_name)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and not list(tmp_path.glob(".*.tmp"))
    doc = whole.to_dict()
    assert doc["shape"] == [queries, 12] and 0.0 < doc["recent_share"] <= 1.0


def test_models_without_attention_have_no_map() -> None:
    model = nt.BiLSTMClassifier(nt.BiLSTMClassifierConfig(input_size=4, hidden_size=8))
    assert AttentionMap.of(model, np.zeros((3, 5, 4), np.float32)) is None
    assert AttentionMap.pooled([None, None]) is None


def test_pretrain_workload_projection_is_consistent() -> None:
    from neural_trader.benchmarks.pretrain_workload import format_result, time_pretraining

    r = time_pretraining(steps=1, windows=600, window=21, features=4, hidden_size=8, batch_size=64, threads=1)
    w = r["workload"]
    assert (w["train_windows"], w["val_windows"]) == (489, 90)  # 15% validation after a gap of one window
    assert r["steps_per_epoch"] == math.ceil(489 / 64) and r["val_batches_per_epoch"] == math.ceil(90 / 64)
    epoch = (
        r["seconds_per_step"] * r["steps_per_epoch"] + r["seconds_per_val_batch"] * r["val_batches_per_epoch"]
    )
    assert r["seconds_per_epoch"] == pytest.approx(epoch)
    assert r["projected_minutes"] == pytest.approx(r["seconds_per_epoch"] * 50 / 60)
    assert w["mask"] == {"strategy": "patch", "patch_size": 7, "ratio": 0.15} and r["threads"] == 1
    assert "50 epochs" in format_result(r)


def test_the_heat_map_belongs_to_the_model_that_has_attention() -> None:
    from types import SimpleNamespace

    from neural_trader.evaluation.report import _attention

    amap = AttentionMap(np.full((2, 4), 0.25), 10, "forecast step")
    classifier = SimpleNamespace(model="bilstm_classifier", attention=None)
    forecaster = SimpleNamespace(model="lstm_attention", attention=amap)
    assert _attention(classifier, forecaster) == (amap, "lstm_attention")  # the quickstart's case
    assert _attention(SimpleNamespace(model="trend_attention", attention=amap), None) == (
        amap,
        "trend_attention",
    )
    assert _attention(classifier, None) == (None, "")
