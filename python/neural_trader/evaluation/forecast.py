"""Multi-step forecasts against naive forecasts: MAE and RMSE with paired bootstrap intervals.

A forecaster is only useful if it beats forecasts that need no model:

* **persistence**: every future step equals the last observed value (the random-walk forecast);
* **seasonal naive** (season ``m``): step ``k`` repeats the value observed ``m`` bars before it, i.e.
  ``x[T - m + (k mod m)]`` of the window (a week ago, for ``m = 5`` on daily bars);
* **mean**: the training mean of the target (0 on standardised targets), the forecast of a series
  with no memory.

Errors are per window (mean over steps and targets), so windows are the bootstrap unit as in the
classification report. The lead of the model over a baseline is ``error(baseline) - error(model)``
(positive: the model is better); the model shows skill when the lower bound of its MAE lead over the best
naive forecast is above zero.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from neural_trader.errors import ConfigError, ShapeError
from neural_trader.evaluation.bootstrap import Interval
from neural_trader.evaluation.intervals import TOO_FEW, Bootstrap, too_few_sentence


def persistence(history: np.ndarray, horizon: int) -> np.ndarray:
    """The last value of each window ``(N, T, O)``, repeated: ``(N, horizon, O)``.

    Example:
        >>> persistence(np.arange(6.0).reshape(1, 3, 2), 2)[0].tolist()
        [[4.0, 5.0], [4.0, 5.0]]
    """
    h = _history(history)
    return np.repeat(h[:, -1:, :], horizon, axis=1)


def seasonal_naive(history: np.ndarray, horizon: int, season: int) -> np.ndarray:
    """Step ``k`` (0-based) of the forecast is ``history[:, T - season + (k % season)]``.

    Example:
        >>> seasonal_naive(np.arange(5.0).reshape(1, 5, 1), 4, season=2)[0, :, 0].tolist()
        [3.0, 4.0, 3.0, 4.0]
    """
    h = _history(history)
    if not 1 <= season <= h.shape[1]:
        raise ConfigError(f"season must be in [1, window length {h.shape[1]}], got {season}")
    steps = h.shape[1] - season + np.arange(horizon) % season
    return h[:, steps, :]


def mean_forecast(mean: np.ndarray, n: int, horizon: int) -> np.ndarray:
    """The constant forecast ``mean (O,)`` for ``n`` windows: ``(n, horizon, O)``."""
    m = np.asarray(mean, dtype=np.float64).reshape(1, 1, -1)
    return np.broadcast_to(m, (n, horizon, m.shape[2])).copy()


def _history(history: np.ndarray) -> np.ndarray:
    h = np.asarray(history, dtype=np.float64)
    if h.ndim != 3 or h.shape[0] < 1 or h.shape[1] < 1:
        raise ShapeError(f"history must be (N, T, O), got shape {h.shape}")
    return h


@dataclass(frozen=True)
class ForecastScores:
    """Errors of every forecast of the same targets.

    Attributes:
        mae, rmse: ``{name: Interval}``.
        mae_by_step: ``{name: (H,) MAE of each forecast step}``.
        leads: ``{"mae" | "rmse": (best baseline, Interval of its error minus the model's)}``.
        outcome: ``"skill"``, ``"no skill"`` or ``"worse"`` (decided on the MAE lead), or
            ``"too few windows"`` when the windows hold too few bootstrap blocks for an interval.
        sentence: the outcome in one sentence.
        ic: ``{name: Interval}`` of the rank correlation with the target (information coefficient),
            for regression labels (:mod:`neural_trader.evaluation.regression`); empty for forecasts.
    """

    mae: dict[str, Interval]
    rmse: dict[str, Interval]
    mae_by_step: dict[str, np.ndarray]
    leads: dict[str, tuple[str, Interval]]
    outcome: str
    sentence: str
    ic: dict[str, Interval] = field(default_factory=dict)


def score_forecasts(
    target: np.ndarray,
    forecasts: Mapping[str, np.ndarray],
    model: str,
    boot: Bootstrap,
    *,
    units: str = "",
) -> ForecastScores:
    """MAE and RMSE (with intervals) of every forecast, and the model's paired lead over the best baseline.

    Args:
        target: ``(N, H, O)`` true future values, windows in time order.
        forecasts: ``{name: (N, H, O)}``; ``model`` is one of them, the rest are baselines.
        model: the model's key.
        boot: bootstrap settings.
        units: a word for the sentence (e.g. the target's name).

    Example:
        >>> y = np.random.default_rng(0).normal(size=(200, 3, 1))
        >>> s = score_forecasts(y, {"m": y + 0.01, "zero": 0 * y}, "m", Bootstrap(block_size=5))
        >>> s.outcome
        'skill'
    """
    y = np.asarray(target, dtype=np.float64)
    if y.ndim != 3:
        raise ShapeError(f"target must be (N, H, O), got shape {y.shape}")
    abs_err, sq_err = {}, {}
    for name, f in forecasts.items():
        f = np.asarray(f, dtype=np.float64)
        if f.shape != y.shape:
            raise ShapeError(f"forecast {name!r} has shape {f.shape}, target {y.shape}")
        abs_err[name] = np.abs(f - y)
        sq_err[name] = (f - y) ** 2
    per_window_abs = {k: v.mean(axis=(1, 2)) for k, v in abs_err.items()}
    per_window_sq = {k: v.mean(axis=(1, 2)) for k, v in sq_err.items()}
    mae = {k: boot.interval(np.mean, v) for k, v in per_window_abs.items()}
    rmse = {k: boot.interval(lambda e: float(np.sqrt(np.mean(e))), v) for k, v in per_window_sq.items()}
    baselines = [k for k in forecasts if k != model]
    leads = {}
    for metric, errors, reduce in (
        ("mae", per_window_abs, np.mean),
        ("rmse", per_window_sq, lambda e: float(np.sqrt(np.mean(e)))),
    ):
        scores = mae if metric == "mae" else rmse
        best = min(baselines, key=lambda k: scores[k].estimate)
        leads[metric] = (
            best,
            boot.interval(lambda b, m, reduce=reduce: reduce(b) - reduce(m), errors[best], errors[model]),
        )
    best, iv = leads["mae"]
    what = f" of {units}" if units else ""
    by_step = {k: v.mean(axis=(0, 2)) for k, v in abs_err.items()}
    if not iv.reliable:
        sentence = too_few_sentence(
            f"the {model} forecast{what} beats the naive forecasts",
            len(y),
            boot,
            f"MAE lead {iv.estimate:+.3g} over {best}",
        )
        return ForecastScores(mae, rmse, by_step, leads, TOO_FEW, sentence)
    outcome = "skill" if iv.low > 0 else ("worse" if iv.high < 0 else "no skill")
    pct = f"{100 * boot.confidence:.0f}%"
    detail = f"MAE lead {iv.estimate:+.3g} [{iv.low:+.3g}, {iv.high:+.3g}] over {best}"
    sentence = {
        "skill": f"The {model} forecast{what} beats every naive forecast with {pct} confidence ({detail}).",
        "worse": f"The {model} forecast{what} is worse than the {best} forecast ({detail}).",
        "no skill": f"The {model} forecast{what} is no better than the {best} forecast: the {pct} "
        f"interval of its lead includes zero ({detail}).",
    }[outcome]
    return ForecastScores(mae, rmse, by_step, leads, outcome, sentence)
