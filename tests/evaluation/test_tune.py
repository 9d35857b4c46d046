"""``tune`` as a library: on noise the in-sample winner is rejected by the deflated Sharpe ratio and the
probability of backtest overfitting, on a planted pattern the verdict is skill, and the held-out test
rows are read once, after the search."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

import neural_trader.data.windows as windows_module
from neural_trader.data import DataSpec, series_from_bars
from neural_trader.errors import ConfigError
from neural_trader.workflows import held_out_cv
from neural_trader.workflows.tune import TuneOptions, tune, write_tune_report
from neural_trader.workflows.tune_space import Candidate, draw, search_space

SPEC = DataSpec(window=16, horizon=1)
# The classical families: 25 logreg settings, 7 momentum lookbacks, and majority.
CLASSICAL = ("logreg", "momentum", "majority")


def bars(n: int, seed: int, accuracy: float | None = None) -> pd.DataFrame:
    """Random-walk daily bars; with ``accuracy``, each bar's volume tells the direction of the next bar
    (3x volume before an up bar), right that share of the time: a pattern the price features miss."""
    rng = np.random.default_rng(seed)
    r = rng.normal(0, 0.01, n)
    volume = rng.uniform(1000, 1200, n)
    if accuracy is not None:
        up = r[1:] > 0
        told = np.where(rng.random(n - 1) < accuracy, up, ~up)
        volume[:-1] = np.where(told, 3000.0, 1000.0) * rng.uniform(0.9, 1.1, n - 1)
    close = 100 * np.exp(np.cumsum(r))
    open_ = np.r_[100.0, close[:-1]]
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.005, n))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.005, n))
    index = pd.bdate_range("2000-01-03", periods=n)
    frame = {"open": open_, "high": high, "low": low, "close": close, "volume": volume}
    return pd.DataFrame(frame, index=index)


def test_on_noise_the_winner_of_many_trials_is_not_skill(tmp_path) -> None:
    series = series_from_bars("noise", bars(1600, 101), 1)
    options = TuneOptions(
        models=CLASSICAL,
        trials=40,
        kind="purged-kfold",
        n_groups=5,
        holdout=0.25,
        n_resamples=200,
        progress=False,
    )
    result = tune(series, SPEC, options)
    assert len(result.trials) == result.grid_size == 33  # the grid is smaller than 40: all of it
    scores = sorted(t.score for t in result.trials)
    # The search found an in-sample "winner": the best validation Sharpe ratio, well above the median.
    assert result.best.score == scores[-1] > scores[len(scores) // 2]
    stats = result.stats
    assert stats.dsr.reliable and stats.dsr.probability < 0.95 and stats.dsr.assessment != "skill"
    assert stats.pbo is not None and stats.pbo.reliable and stats.pbo.pbo >= 0.2
    assert stats.dsr.n_trials == 33
    assert result.verdict.outcome == "no skill"
    assert "(33 trials; DSR" in result.verdict.sentence
    written = write_tune_report(tmp_path, result, options, {"data": "noise"})
    doc = json.loads((tmp_path / "report.json").read_text())
    json.dumps(doc, allow_nan=False)  # every undefined figure is null, never NaN
    assert doc["tuning"]["trials"] == 33 and len(doc["tuning"]["results"]) == 33
    assert doc["tuning"]["outcome"] == "no skill" and doc["verdict"] == result.verdict.sentence
    markdown = (tmp_path / "report.md").read_text()
    assert "**33 trials**" in markdown and "## Overfitting statistics" in markdown
    assert markdown.strip().splitlines()[-1] == result.verdict.sentence
    # Each figure's one-line reading stands in the verdict section, above the sentence.
    verdict_section = markdown.split("## Verdict")[-1].strip().splitlines()
    assert verdict_section[:3] == [f"- {r}" for r in result.verdict.readings]
    assert result.verdict.readings[0].startswith("DSR 0.") and result.verdict.readings[1].startswith("PBO 0.")
    assert {p.name for p in written} == {"report.md", "report.json", "trials.png", "scores.png", "equity.png"}


def test_on_a_planted_pattern_the_verdict_is_skill() -> None:
    series = series_from_bars("planted", bars(1600, 101, accuracy=0.85), 1)
    options = TuneOptions(
        models=CLASSICAL,
        trials=40,
        # Two logreg settings that can read volume, beside momentum and majority, which cannot.
        params={"C": [0.1], "last_steps": [1, 5]},
        kind="cpcv",
        n_groups=6,
        n_test_groups=2,
        holdout=0.25,
        # A tuned logreg is compared with the baselines it is not: majority and momentum.
        baselines=("majority", "momentum"),
        n_resamples=200,
        progress=False,
    )
    result = tune(series, SPEC, options)
    assert len(result.trials) == 10 and result.best.candidate.model == "logreg"
    stats = result.stats
    assert stats.dsr.probability >= 0.95 and stats.pbo.pbo < 0.2
    assert stats.spread.reliable and stats.spread.n_paths == 5 and stats.spread.share_above == 1.0
    assert result.classification.verdict.outcome == "skill"
    assert result.verdict.outcome == "skill", result.verdict.sentence
    assert result.verdict.sentence.startswith(
        "tuned logreg (the best of 10 trials on validation) shows skill"
    )


def test_the_test_rows_are_read_once_after_every_trial(monkeypatch) -> None:
    series = series_from_bars("noise", bars(900, 7), 1)
    held = held_out_cv(series, SPEC, kind="purged-kfold", n_groups=3, holdout=0.2)
    calls: list[tuple[int, int]] = []
    real = windows_module.part_dataset

    def spy(values, targets, rows, *args, **kwargs):
        calls.append(tuple(rows))
        return real(values, targets, rows, *args, **kwargs)

    monkeypatch.setattr(windows_module, "part_dataset", spy)
    options = TuneOptions(
        models=("logreg",),
        trials=3,
        kind="purged-kfold",
        n_groups=3,
        holdout=0.2,
        n_resamples=50,
        progress=False,
    )
    result = tune(series, SPEC, options)
    assert result.held.test == held.test
    first_test = held.test[0]
    touching = [k for k, (a, b) in enumerate(calls) if b > held.development[1]]
    # One read of the test rows, the very last window-making call: after the 3 splits and the refit.
    assert touching == [len(calls) - 1] and calls[-1] == held.test
    assert len(calls) == 3 + 1 + 1
    assert all(b <= first_test for a, b in calls[:-1])


def test_a_tiny_neural_family_on_noise() -> None:
    series = series_from_bars("noise", bars(900, 11), 1)
    options = TuneOptions(
        models=("bilstm_classifier",),
        trials=3,
        params={
            "hidden_size": [8],
            "num_layers": [1],
            "dropout": [0.0],
            "lr": [1e-3, 1e-2],
            "epochs": [1, 2],
        },
        kind="purged-kfold",
        n_groups=3,
        holdout=0.25,
        n_resamples=100,
        progress=False,
    )
    result = tune(series, SPEC, options)
    assert result.grid_size == 4 and len(result.trials) == 3
    assert all(math.isfinite(t.score) and len(t.split_scores) == 3 for t in result.trials)
    assert result.best.score == max(t.score for t in result.trials)
    assert result.model_key == "tuned bilstm_classifier"
    assert result.verdict.outcome != "skill"


def test_the_search_space_refuses_what_it_cannot_search() -> None:
    assert len(search_space(("logreg",))) == 25
    with pytest.raises(ConfigError, match="--param hidden_size is not a setting of logreg"):
        search_space(("logreg",), {"hidden_size": [8]})
    with pytest.raises(ConfigError, match="forecast task"):
        search_space(("lstm_attention",))
    with pytest.raises(ConfigError, match="unknown model"):
        search_space(("nope",))
    points = search_space(("logreg", "momentum"))
    picks = draw(points, 10, seed=3)
    assert len({c.label() for c in picks}) == 10 and picks == draw(points, 10, seed=3)
    assert draw(points, 100, seed=3) == points
    assert Candidate("momentum", {"lookback": 3}).label() == "momentum lookback=3"
