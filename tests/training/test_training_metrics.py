"""Metrics against scikit-learn on random inputs; the schedule, early stopping and bootstrap by hand."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from neural_trader.training import EarlyStopping, block_bootstrap, lr_at
from neural_trader.training import metrics as m


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("classes", [2, 3])
def test_classification_metrics_match_sklearn(seed, classes) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 300))
    y = rng.integers(0, classes, n)
    y[:classes] = np.arange(classes)  # every class present
    proba = rng.dirichlet(np.ones(classes), size=n)
    proba[:, 0] += 0.3 * (y == 0)  # some skill, so the numbers are not all near chance
    proba /= proba.sum(axis=1, keepdims=True)
    pred = proba.argmax(axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn warns about predicted classes absent from y_true
        assert m.accuracy(y, pred) == pytest.approx(skm.accuracy_score(y, pred))
        assert m.balanced_accuracy(y, pred) == pytest.approx(skm.balanced_accuracy_score(y, pred))
        assert m.mcc(y, pred) == pytest.approx(skm.matthews_corrcoef(y, pred))
        recall = skm.recall_score(y, pred, average=None, labels=list(range(classes)), zero_division=0)
        np.testing.assert_allclose(m.per_class_recall(y, pred, classes), recall)
        if classes == 2:
            assert m.roc_auc(y, proba) == pytest.approx(skm.roc_auc_score(y, proba[:, 1]))
            assert m.brier(y, proba) == pytest.approx(skm.brier_score_loss(y, proba[:, 1]))
        else:
            expected = skm.roc_auc_score(y, proba, multi_class="ovr", average="macro")
            assert m.roc_auc(y, proba) == pytest.approx(expected)
        np.testing.assert_array_equal(m.confusion_matrix(y, pred, classes), skm.confusion_matrix(y, pred))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 1), st.integers(0, 4)), min_size=2, max_size=60).filter(
        lambda pairs: len({p[0] for p in pairs}) == 2
    )
)
def test_roc_auc_with_ties_matches_sklearn(pairs) -> None:
    y = np.array([p[0] for p in pairs])
    score = np.array([p[1] for p in pairs], dtype=np.float64) / 4.0  # few distinct values: many ties
    assert m.roc_auc(y, score) == pytest.approx(skm.roc_auc_score(y, score))


def test_undefined_metrics_are_nan_or_zero() -> None:
    assert math.isnan(m.roc_auc(np.ones(5), np.linspace(0, 1, 5)))
    assert m.mcc(np.array([0, 1, 0]), np.array([1, 1, 1])) == 0.0
    assert math.isnan(m.correlation(np.ones(4), np.arange(4.0)))
    assert m.balanced_accuracy(np.array([1, 1, 0, 0]), np.array([1, 1, 1, 1])) == 0.5


@pytest.mark.parametrize("seed", range(5))
def test_regression_metrics_match_sklearn_and_numpy(seed) -> None:
    rng = np.random.default_rng(seed)
    target = rng.normal(size=100)
    pred = 0.5 * target + rng.normal(size=100)
    assert m.mse(pred, target) == pytest.approx(skm.mean_squared_error(target, pred))
    assert m.rmse(pred, target) == pytest.approx(np.sqrt(skm.mean_squared_error(target, pred)))
    assert m.mae(pred, target) == pytest.approx(skm.mean_absolute_error(target, pred))
    assert m.correlation(pred, target) == pytest.approx(np.corrcoef(pred, target)[0, 1])
    assert m.direction_accuracy(pred, target) == pytest.approx(np.mean((pred > 0) == (target > 0)))


def test_lr_schedule_shape() -> None:
    lrs = [lr_at(s, base_lr=1.0, warmup_steps=10, total_steps=110, min_lr=0.1) for s in range(120)]
    assert lrs[0] == pytest.approx(0.1) and lrs[9] == 1.0 and lrs[10] == 1.0
    assert all(a < b for a, b in zip(lrs[:9], lrs[1:10], strict=True))  # warm-up rises
    assert all(a >= b for a, b in zip(lrs[10:110], lrs[11:111], strict=True))  # then decays
    assert lrs[60] == pytest.approx(0.55) and lrs[110:] == [0.1] * 10


def test_early_stopping_respects_min_delta_and_mode() -> None:
    stop = EarlyStopping(patience=2, min_delta=0.1, mode="max")
    assert [stop.update(v, e) for e, v in enumerate([0.5, 0.55, 0.7, float("nan"), 0.75], 1)] == [
        True,
        False,
        True,
        False,
        False,
    ]
    assert stop.should_stop and stop.best == 0.7 and stop.best_epoch == 3


def test_block_bootstrap_covers_the_truth_and_widens_with_blocks() -> None:
    rng = np.random.default_rng(0)
    # Autocorrelated hits: runs of 20 equal outcomes, as overlapping windows produce.
    hits = np.repeat(rng.random(50) < 0.6, 20).astype(float)
    iid = block_bootstrap(np.mean, hits, n_resamples=400, block_size=1, seed=1)
    blocks = block_bootstrap(np.mean, hits, n_resamples=400, block_size=40, seed=1)
    assert iid.estimate == blocks.estimate == hits.mean()
    assert (blocks.high - blocks.low) > 2 * (iid.high - iid.low)
    assert blocks.low < 0.6 < blocks.high
