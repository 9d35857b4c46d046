"""Per-class precision and F1 for every class of a k-class classifier (named by its classes), beside the
k-class headline scores, and the honest "no interval" rule holding for k classes too."""

from __future__ import annotations

import numpy as np
import pytest

from neural_trader.data import DataSpec, Scaler
from neural_trader.evaluation import (
    Bootstrap,
    Segment,
    classification_result,
    render_markdown,
    report_document,
)
from neural_trader.evaluation.classification import CLASS_METRICS, class_metrics, score
from neural_trader.workflows.evaluate import make_baseline

CLASSES = ["down", "flat", "up"]


def _segment(n: int, k: int, seed: int = 0) -> Segment:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    perfect = np.full((n, k), 0.1 / (k - 1))
    perfect[np.arange(n), y] = 0.9
    noise = rng.dirichlet(np.ones(k), n)
    dates = np.arange(n).astype("datetime64[D]")
    return Segment("test", "x", dates, y, {"model": perfect, "noise": noise}, rng.normal(0, 0.01, n))


def test_every_class_has_its_precision_and_f1():
    assert class_metrics(2) == CLASS_METRICS
    y = np.array([0, 1, 2, 2])
    p = np.eye(3)[[0, 1, 2, 1]]
    s = score(y, p)
    assert (s["precision_1"], s["precision_2"], s["f1_2"]) == (0.5, 1.0, pytest.approx(2 / 3))


def test_a_three_class_report_lists_per_class_scores_by_class_name():
    seg = _segment(300, 3)
    result = classification_result(
        [seg], "model", ["noise"], Bootstrap(block_size=10, n_resamples=100), label="t", classes=CLASSES
    )
    doc = report_document("t", {}, result)
    section = doc["classification"]["sections"][-1]
    assert set(section["scores"]["model"]) == {"accuracy", "balanced_accuracy", "mcc", "roc_auc", "brier"}
    for predictor in ("model", "noise"):
        assert set(section["class_scores"][predictor]) == set(class_metrics(3))
    assert all(section["class_scores"]["model"][m]["estimate"] == 1.0 for m in class_metrics(3))
    markdown = render_markdown(doc)
    assert "| predictor | precision (down) | precision (flat) | precision (up) | F1 (down)" in markdown
    row = next(line for line in markdown.splitlines() if line.startswith("| model | 1.000 [1.000, 1.000]"))
    assert "n/a" not in row  # the per-class table reads the per-class scores


def test_the_binary_per_class_table_shows_the_scores():
    result = classification_result(
        [_segment(200, 2)], "model", ["noise"], Bootstrap(block_size=5, n_resamples=50), label="d"
    )
    markdown = render_markdown(report_document("t", {}, result))
    header = "| predictor | precision (down) | precision (up) | F1 (down) | F1 (up) |"
    table = markdown.split(header)[1].splitlines()
    model_row = next(line for line in table if line.startswith("| model |"))
    assert "n/a" not in model_row and model_row.count("1.000 [1.000, 1.000]") == 4


def test_too_few_blocks_give_no_interval_and_no_verdict_for_three_classes():
    seg = _segment(30, 3)  # 3 blocks of 10 windows: fewer than the 5 an interval needs
    result = classification_result(
        [seg], "model", ["noise"], Bootstrap(block_size=10, n_resamples=50), label="t", classes=CLASSES
    )
    assert result.verdict.outcome == "too few windows"
    markdown = render_markdown(report_document("t", {}, result))
    assert "only 3.0 bootstrap blocks: no interval" in markdown and "class shares down" in markdown
    assert "(no interval)" in markdown and "Balanced accuracy is 1/3" in markdown


def test_windows_momentum_finds_log_return_and_the_close_among_mixed_inputs():
    spec = DataSpec(inputs=["candles", "features"], window=8)
    scaled = spec.scaled_columns
    mean = np.arange(len(scaled), dtype=np.float64)
    scaler = Scaler(tuple(mean), (2.0,) * len(scaled), scaled)
    momentum = make_baseline("momentum", spec, scaler)
    at = scaled.index("log_return")
    assert momentum.column == spec.input_columns.index("log_return") == 5 + at
    assert momentum.zero == -mean[at] / 2.0 and momentum.kind == "sum"
    candles = make_baseline("momentum", DataSpec(inputs="candles", window=8), None)
    assert (candles.column, candles.kind) == (3, "change")
