"""k-class classifiers are scored as k-class models (metrics, class shares, the trading rule, baselines),
and regression heads against the zero, training-mean and persistence forecasts with the IC."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from neural_trader.evaluation import (
    Bootstrap,
    Segment,
    class_positions,
    classification_result,
    positions_from_proba,
    regression_result,
    regression_segment,
    render_markdown,
    report_document,
)
from neural_trader.models.baselines import MomentumBaseline
from neural_trader.training import RegressionTask
from neural_trader.training.metrics import rank_correlation, regression_metrics

CLASSES = ["down", "flat", "up"]


def _three_class_segment(n=300, seed=0) -> Segment:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    good = np.full((n, 3), 0.1)
    good[np.arange(n), y] = 0.8
    noise = rng.dirichlet(np.ones(3), n)
    returns = np.where(y == 2, 0.01, np.where(y == 0, -0.01, 0.0)) + rng.normal(0, 1e-3, n)
    dates = np.arange("2020-01-01", n, dtype="datetime64[D]")[:n]
    return Segment("test", "x", dates, y, {"model": good, "noise": noise}, returns)


def test_a_three_class_result_never_reads_as_up_down():
    seg = _three_class_segment()
    boot = Bootstrap(block_size=10, n_resamples=100)
    result = classification_result(
        [seg], "model", ["noise"], boot, label="triple_barrier_10", classes=CLASSES
    )
    info = result.info["test"]
    assert "up_share" not in info
    assert info["class_shares"] == {c: pytest.approx(np.mean(seg.y == k)) for k, c in enumerate(CLASSES)}
    assert result.verdict.outcome == "skill"
    scores = result.sections["test"]["model"]
    assert scores["balanced_accuracy"].estimate == 1.0 and scores["roc_auc"].estimate == 1.0
    # Long on "up", short on "down", flat on "flat": every call right, so it earns every move.
    stats_ = result.equity["x"].stats["model"]
    assert stats_.long_share == pytest.approx(np.mean(seg.y == 2))
    assert stats_.short_share == pytest.approx(np.mean(seg.y == 0))
    doc = report_document("t", {}, result)
    markdown = render_markdown(doc)
    assert doc["classification"]["classes"] == CLASSES
    for binary in ("up share", "P(up)", "Direction classification", "0.5 and MCC"):
        assert binary not in markdown, binary
    assert "3 classes (down, flat, up)" in markdown and "class shares down" in markdown
    assert "Long when the predicted class is `up`, short when it is `down`" in markdown


def test_two_classes_keep_the_binary_report():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 200)
    p = np.stack([1 - y * 0.8 - 0.1, y * 0.8 + 0.1], axis=1)
    seg = Segment("test", "x", np.arange(200).astype("datetime64[D]"), y, {"m": p, "b": p[::-1]}, y * 0.01)
    result = classification_result([seg], "m", ["b"], Bootstrap(block_size=5, n_resamples=50), label="d")
    assert result.info["test"]["up_share"] == np.mean(y == 1) and result.classes == ["down", "up"]
    assert "up share" in render_markdown(report_document("t", {}, result))


def test_the_class_rule_is_the_binary_rule_for_two_classes():
    rng = np.random.default_rng(2)
    p_up = rng.uniform(size=1000)
    proba = np.stack([1 - p_up, p_up], axis=1)
    for band in (0.0, 0.1):
        np.testing.assert_array_equal(class_positions(proba, band), positions_from_proba(p_up, band))
    three = np.array([[0.2, 0.2, 0.6], [0.6, 0.3, 0.1], [0.3, 0.4, 0.3], [0.4, 0.15, 0.45]])
    assert class_positions(three).tolist() == [1, -1, 0, 1]
    assert class_positions(three, band=0.05).tolist() == [1, -1, 0, 0]  # 0.45 - 0.4 is no lead


def test_momentum_maps_the_past_move_to_the_first_and_last_class():
    x = np.array([-2.0, -1.0, 1.0, 3.0]).reshape(-1, 1, 1)
    y = np.array([0, 1, 2, 2])
    m = MomentumBaseline(0, lookback=1, kind="last", ordered=True).fit(x, y)
    p = m.predict_proba(x)
    assert p.shape == (4, 3) and (p[:, 1] == 0).all()
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert m.predict(x).tolist() == [0, 0, 2, 2]


def test_rank_correlation_is_spearmans():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=100), rng.normal(size=100)
    b[:10] = b[0]  # ties
    assert rank_correlation(a, b) == pytest.approx(stats.spearmanr(a, b).statistic)
    assert np.isnan(rank_correlation(np.ones(5), np.arange(5.0)))
    assert regression_metrics(a, b)["ic"] == pytest.approx(rank_correlation(a, b))


def test_a_regression_head_learns_the_standardised_label_and_reports_label_units():
    task = RegressionTask(label_indices=(0,), target_mean=0.01, target_std=0.02)
    y = torch.tensor([[0.03], [-0.01]])
    standardised = (y - 0.01) / 0.02
    assert float(task.loss(standardised, torch.zeros(2, 3, 1), y)) == 0.0
    pred = task.predictions(standardised, y)["pred"]
    np.testing.assert_allclose(pred, y.numpy(), rtol=1e-6)


def test_regression_against_naive_forecasts_with_the_ic():
    rng = np.random.default_rng(4)
    n, h = 400, 5
    y = rng.normal(0.001, 0.02, n)
    dates = np.arange(n).astype("datetime64[D]")
    known = np.r_[np.full(h, np.nan), y[:-h]]
    boot = Bootstrap(block_size=20, n_resamples=200)
    good = regression_segment(
        "test", "x", dates, y, {"m": y + rng.normal(0, 0.005, n)}, train_mean=0.001, known=known
    )
    assert set(good.forecasts) == {"m", "zero", "training mean", "persistence"}
    np.testing.assert_array_equal(good.forecasts["persistence"][:h, 0, 0], 0.001)  # unknown: training mean
    result = regression_result([good], "m", "forward_return_5", h, boot)
    assert result.kind == "regression" and result.horizon == h and result.scores.outcome == "skill"
    assert result.scores.ic["m"].estimate > 0.9 and np.isnan(result.scores.ic["zero"].estimate)
    doc = report_document("t", {}, None, result)
    assert doc["forecast"]["kind"] == "regression" and doc["forecast"]["ic"]["zero"]["estimate"] is None
    markdown = render_markdown(doc)
    assert "## Regression: `forward_return_5`, 5 bars ahead" in markdown and "IC [95% CI]" in markdown
    noise = regression_segment(
        "test", "x", dates, y, {"m": rng.normal(0, 0.02, n)}, train_mean=0.0, known=known
    )
    assert regression_result([noise], "m", "r", h, boot).scores.outcome != "skill"
