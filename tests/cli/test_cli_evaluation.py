"""The evaluation module behind the report: equity arithmetic, the verdict rule, naive forecasts."""

from __future__ import annotations

import json

import numpy as np
import pytest

from neural_trader.errors import ConfigError
from neural_trader.evaluation import (
    Bootstrap,
    Segment,
    classification_result,
    equity_curves,
    equity_stats,
    lead,
    net_returns,
    persistence,
    positions_from_proba,
    render_markdown,
    report_document,
    score_forecasts,
    seasonal_naive,
    verdict,
)

BOOT = Bootstrap(block_size=5, n_resamples=200, seed=0)


def _labels(n: int = 400, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 2, n)


def test_positions_and_costs_by_hand() -> None:
    pos = positions_from_proba(np.array([0.7, 0.7, 0.49, 0.2, 0.51]), band=0.02)
    assert pos.tolist() == [1, 1, 0, -1, 0]
    r = np.array([0.01, -0.02, 0.03, -0.01, 0.05])
    net = net_returns(pos, r, cost_bps=10)
    # Enter long (1 unit), hold, go flat (1), go short (1), go flat (1): 10 bp per unit.
    assert np.allclose(net, [0.01 - 0.001, -0.02, 0.0 - 0.001, 0.01 - 0.001, 0.0 - 0.001])
    stats = equity_stats(pos, net, periods_per_year=252)
    assert stats.total_return == pytest.approx(np.prod(1 + net) - 1)
    assert stats.turnover == pytest.approx(4 / 5)
    assert (stats.long_share, stats.short_share) == (0.4, 0.2)
    with pytest.raises(ConfigError):
        positions_from_proba(np.array([0.5]), band=0.5)


def test_drawdown_and_buy_and_hold() -> None:
    r = np.array([0.10, -0.20, 0.05, 0.30])
    curves = equity_curves({"m": np.full(4, 0.9)}, r, np.arange(4), cost_bps=0.0, bars_per_year=4)
    assert np.allclose(curves.equity["m"], curves.equity["buy_and_hold"])
    assert curves.stats["m"].max_drawdown == pytest.approx(0.2)
    assert curves.stats["m"].total_return == pytest.approx(1.1 * 0.8 * 1.05 * 1.3 - 1)
    assert curves.stats["m"].annual_return == pytest.approx(1.1 * 0.8 * 1.05 * 1.3 - 1)  # one year


def test_verdict_follows_the_intervals() -> None:
    y = _labels()
    perfect = np.eye(2)[y]
    coin = np.full((len(y), 2), 0.5)
    noise = np.random.default_rng(1).dirichlet([1, 1], len(y))
    probas = {"model": perfect, "majority": coin, "noise": noise}
    v = verdict(y, probas, "model", ["majority", "noise"], BOOT)
    assert v.outcome == "skill" and v.sentence.startswith("model shows skill beyond the baselines")
    assert all(iv.low > 0 for _, iv in v.leads.values())

    # A copy of the best baseline leads by exactly zero on every resample: no skill.
    probas["copy"] = noise.copy()
    v = verdict(y, probas, "copy", ["noise"], BOOT)
    assert v.outcome == "no skill" and "includes zero" in v.sentence
    assert all(iv.low == iv.high == 0.0 for _, iv in v.leads.values())

    # The inverse of a perfect predictor is worse than a coin.
    probas["inverse"] = perfect[:, ::-1]
    v = verdict(y, probas, "inverse", ["majority"], BOOT)
    assert v.outcome == "worse" and v.sentence.startswith("inverse does worse")


def test_leads_are_paired_and_brier_is_flipped() -> None:
    y = _labels()
    good = np.where(np.eye(2)[y] == 1, 0.8, 0.2)
    coin = np.full((len(y), 2), 0.5)
    iv = lead("brier", y, good, coin, BOOT)
    # Brier 0.04 against 0.25: positive lead means better, as for every other metric.
    assert iv.estimate == pytest.approx(0.25 - 0.04)
    assert iv.low == pytest.approx(iv.estimate) and iv.high == pytest.approx(iv.estimate)


def test_naive_forecasts_by_hand() -> None:
    history = np.arange(12.0).reshape(1, 6, 2)
    assert persistence(history, 3)[0].tolist() == [[10.0, 11.0]] * 3
    assert seasonal_naive(history, 5, season=2)[0, :, 0].tolist() == [8.0, 10.0, 8.0, 10.0, 8.0]
    with pytest.raises(ConfigError):
        seasonal_naive(history, 2, season=7)


def test_forecast_scores() -> None:
    rng = np.random.default_rng(0)
    target = rng.normal(size=(300, 4, 1))
    noisy = target + rng.normal(scale=0.5, size=target.shape)
    s = score_forecasts(target, {"m": target + 0.01, "noisy": noisy}, "m", BOOT, units="x")
    assert s.outcome == "skill" and s.leads["mae"][0] == "noisy"
    assert s.mae["m"].estimate == pytest.approx(0.01)
    s = score_forecasts(target, {"m": noisy, "truth": target}, "m", BOOT, units="x")
    assert s.outcome == "worse"
    assert s.sentence.startswith("The m forecast of x is worse than the truth forecast")


def _segment(name: str, start: int, n: int, seed: int) -> Segment:
    y = _labels(n, seed)
    dates = np.datetime64("2020-01-01") + np.arange(start, start + n).astype("timedelta64[D]")
    proba = {
        "model": np.random.default_rng(seed).dirichlet([1, 1], n),
        "majority": np.tile([0.4, 0.6], (n, 1)),
    }
    return Segment(name, "x", dates, y, proba, np.full(n, 0.001))


def test_report_sections_and_markdown_end_with_the_verdict() -> None:
    segs = [_segment("fold 1", 0, 60, 1), _segment("fold 2", 60, 60, 2)]
    result = classification_result(segs, "model", ["majority"], BOOT, label="direction_5", cost_bps=1.0)
    assert list(result.sections) == ["fold 1", "fold 2", "overall"]
    assert result.info["overall"]["windows"] == 120
    doc = report_document("t", {"data": "synthetic"}, result)
    text = json.dumps(doc, allow_nan=False)  # no NaN/Inf leaks into the JSON
    assert json.loads(text)["verdict"] == result.verdict.sentence
    markdown = render_markdown(doc)
    assert markdown.strip().splitlines()[-1] == result.verdict.sentence
    assert "### fold 2: 60 windows" in markdown

    # A fold whose test windows all share one class: ROC-AUC is undefined and written as null.
    one_class = _segment("fold 3", 120, 30, 3)
    one_class.y[:] = 1
    result = classification_result([*segs, one_class], "model", ["majority"], BOOT, label="d")
    doc = report_document("t", {}, result)
    fold3 = next(s for s in doc["classification"]["sections"] if s["name"] == "fold 3")
    assert fold3["scores"]["model"]["roc_auc"]["estimate"] is None
    assert "n/a" in render_markdown(doc)


def test_overlapping_test_periods_are_refused() -> None:
    with pytest.raises(ConfigError, match="overlap"):
        classification_result(
            [_segment("fold 1", 0, 60, 1), _segment("fold 2", 30, 60, 2)],
            "model",
            ["majority"],
            BOOT,
            label="d",
        )
