"""Every interval is honest about its sample: below MIN_BLOCKS effective bootstrap blocks there is no
interval (never a zero-width one), and no verdict is drawn from it; a real signal on enough windows still
reads as skill."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from neural_trader.evaluation import (
    Bootstrap,
    Segment,
    block_bootstrap,
    classification_result,
    render_markdown,
    report_document,
    score_forecasts,
    verdict,
    write_report,
)
from neural_trader.evaluation.bootstrap import MIN_BLOCKS, Interval
from neural_trader.evaluation.intervals import TOO_FEW, interval_dict


def _planted(n: int, accuracy: float = 0.75, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Labels in runs of 5 (as overlapping windows give) and a model right ``accuracy`` of the time."""
    rng = np.random.default_rng(seed)
    y = np.repeat(rng.integers(0, 2, n // 5 + 1), 5)[:n]
    right = rng.random(n) < accuracy
    guess = np.where(right, y, 1 - y)
    return y, np.where(np.eye(2)[guess] == 1, 0.7, 0.3)


def test_an_interval_needs_min_blocks() -> None:
    x = np.random.default_rng(0).normal(size=100)
    iv = block_bootstrap(np.mean, x, block_size=25, n_resamples=50)  # 4 blocks
    assert not iv.reliable and math.isnan(iv.low) and math.isnan(iv.high)
    assert iv.estimate == pytest.approx(x.mean()) and iv.blocks == 4.0
    assert "4.0 blocks of 25, fewer than the 5" in iv.problems[0]
    assert str(iv).endswith("(no interval: 4.0 blocks < 5)")
    iv = block_bootstrap(np.mean, x, block_size=20, n_resamples=50)  # 5 blocks
    assert iv.reliable and iv.low < iv.estimate < iv.high and iv.blocks == 5.0


def test_a_block_longer_than_the_sample_gives_no_zero_width_interval() -> None:
    # The old behaviour cut the block to the sample: every resample was the sample, [0.528, 0.528].
    y, p = _planted(16)
    boot = Bootstrap(block_size=37, n_resamples=100)
    iv = boot.interval(lambda a, b: float(np.mean(a == b.argmax(1))), y, p)
    assert not iv.reliable and math.isnan(iv.low)
    assert iv.blocks == pytest.approx(16 / 37)
    d = interval_dict(iv)
    assert d["low"] is None and d["high"] is None and d["reliable"] is False
    assert json.dumps(d, allow_nan=False)


def test_verdict_on_a_planted_signal_needs_enough_windows() -> None:
    boot = Bootstrap(block_size=10, n_resamples=300)
    y, model = _planted(400)
    coin = np.full((len(y), 2), 0.5)
    assert boot.effective_blocks(len(y)) >= MIN_BLOCKS
    v = verdict(y, {"m": model, "majority": coin}, "m", ["majority"], boot)
    assert v.outcome == "skill", v.sentence

    # The same signal on 40 windows (4 blocks): no interval, so nothing is concluded.
    v = verdict(y[:40], {"m": model[:40], "majority": coin[:40]}, "m", ["majority"], boot)
    assert v.outcome == TOO_FEW == "too few windows"
    assert v.sentence.startswith("Too few test windows to tell whether m shows skill: 40 windows make 4.0")
    assert all(not iv.reliable for _, iv in v.leads.values())

    # Nor "worse": an inverted model on too few windows is not declared worse either.
    v = verdict(y[:40], {"m": model[:40, ::-1], "majority": coin[:40]}, "m", ["majority"], boot)
    assert v.outcome == TOO_FEW


def test_forecast_verdict_needs_enough_windows() -> None:
    rng = np.random.default_rng(0)
    target = rng.normal(size=(300, 4, 1))
    forecasts = {"m": target + 0.01, "zero": 0 * target}
    assert score_forecasts(target, forecasts, "m", Bootstrap(block_size=5)).outcome == "skill"
    short = {k: v[:20] for k, v in forecasts.items()}
    few = score_forecasts(target[:20], short, "m", Bootstrap(block_size=5))
    assert few.outcome == TOO_FEW and not few.leads["mae"][1].reliable
    assert few.sentence.startswith("Too few test windows to tell whether the m forecast beats")
    assert not few.mae["m"].reliable and math.isnan(few.mae["m"].low)


def _segment(name: str, start: int, n: int, seed: int) -> Segment:
    y, model = _planted(n, seed=seed)
    dates = np.datetime64("2020-01-01") + np.arange(start, start + n).astype("timedelta64[D]")
    proba = {"model": model, "majority": np.tile([0.5, 0.5], (n, 1))}
    return Segment(name, "x", dates, y, proba, np.full(n, 0.001))


def test_report_marks_sections_without_intervals(tmp_path) -> None:
    # Fold 1 holds 3 blocks of 10 windows (no intervals); the pooled 330 windows hold 33 (intervals).
    segs = [_segment("fold 1", 0, 30, 1), _segment("fold 2", 30, 300, 2)]
    boot = Bootstrap(block_size=10, n_resamples=200)
    result = classification_result(segs, "model", ["majority"], boot, label="direction_1")
    doc = report_document("t", {}, result)
    sections = {s["name"]: s for s in doc["classification"]["sections"]}
    assert sections["fold 1"]["reliable"] is False and sections["fold 1"]["blocks"] == 3.0
    assert all(iv["low"] is None for iv in sections["fold 1"]["scores"]["model"].values())
    assert sections["overall"]["reliable"] is True
    assert sections["overall"]["scores"]["model"]["mcc"]["low"] is not None
    assert doc["classification"]["bootstrap"]["min_blocks"] == MIN_BLOCKS
    assert doc["classification"]["outcome"] == "skill"  # decided on the pooled windows
    markdown = render_markdown(doc)
    assert "### fold 1: 30 windows" in markdown and "only 3.0 bootstrap blocks: no interval" in markdown
    paths = write_report(tmp_path, doc, result)  # the plot draws points without bars, no error
    assert (tmp_path / "scores.png").read_bytes()[:4] == b"\x89PNG" and len(paths) == 4


def test_interval_str_and_defaults() -> None:
    assert str(Interval(0.5, 0.4, 0.6, 0.95)) == "0.500 [0.400, 0.600]"
    assert Interval(0.5, 0.4, 0.6, 0.95).reliable
    with pytest.raises(Exception, match="min_blocks"):
        Bootstrap(block_size=5, min_blocks=-1)
