"""Regression labels (a forward return, your real-valued column) against naive forecasts: MAE, RMSE and
the information coefficient, with the forecaster's paired block-bootstrap intervals.

A regression head predicts one value per window, the label ``horizon`` bars ahead. It is worth
something only if it beats forecasts that need no model:

* **zero**: no move (the natural null for returns);
* **training mean**: the mean of the training labels;
* **persistence**: the latest label already known at the window's close, the label of row
  ``e - horizon`` (it reads rows up to ``e``); where that is unknown, the training mean.

Errors, leads and the verdict are those of :func:`~neural_trader.evaluation.score_forecasts` (one step,
one target); the information coefficient (IC) is the rank correlation of each forecast with the label,
undefined (n/a) for the constant forecasts.

Example:
    >>> seg = regression_segment("test", "x", dates, y, {"model": p}, train_mean=0.0, known=y_prev)
    ...                                                                            # doctest: +SKIP
    >>> result = regression_result([seg], "model", "forward_return_5", 5, Bootstrap(block_size=37))
    ...                                                                            # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import numpy as np

from neural_trader.errors import ShapeError
from neural_trader.evaluation.intervals import Bootstrap
from neural_trader.evaluation.report import ForecastResult, ForecastSegment, forecast_result
from neural_trader.training.metrics import rank_correlation


def regression_segment(
    name: str,
    symbol: str,
    dates: np.ndarray,
    target: np.ndarray,
    predictions: Mapping[str, np.ndarray],
    *,
    train_mean: float,
    known: np.ndarray,
) -> ForecastSegment:
    """The test windows of one fold of one symbol, as a one-step forecast segment with the naive
    forecasts added.

    Args:
        name, symbol, dates: as in :class:`~neural_trader.evaluation.Segment`.
        target: ``(N,)`` labels.
        predictions: ``{name: (N,)}`` the model's predictions, in the label's units.
        train_mean: the mean of the training labels.
        known: ``(N,)`` the latest label known at each window's close (NaN where none).

    Raises:
        ShapeError: arrays of different lengths.
    """
    y = np.asarray(target, dtype=np.float64)
    last = np.asarray(known, dtype=np.float64)
    if y.ndim != 1 or last.shape != y.shape or any(np.shape(p) != y.shape for p in predictions.values()):
        raise ShapeError("target, predictions and known labels must be (N,) arrays of one length")
    naive = {
        "zero": np.zeros_like(y),
        "training mean": np.full_like(y, train_mean),
        "persistence": np.where(np.isfinite(last), last, train_mean),
    }
    forecasts = {k: np.asarray(v, dtype=np.float64) for k, v in predictions.items()} | naive
    cube = {k: v.reshape(-1, 1, 1) for k, v in forecasts.items()}
    history = naive["persistence"].reshape(-1, 1, 1)
    return ForecastSegment(name, symbol, dates, history, y.reshape(-1, 1, 1), cube)


def regression_result(
    segments: list[ForecastSegment], model: str, label: str, horizon: int, boot: Bootstrap
) -> ForecastResult:
    """MAE, RMSE and IC of the model and the naive forecasts over every test window, with paired leads
    (the verdict follows the MAE lead, as for forecasts).

    Example:
        >>> rng = np.random.default_rng(0); y = rng.normal(size=300); dates = np.arange(300).astype("M8[D]")
        >>> seg = regression_segment("test", "x", dates, y, {"m": y + 0.1 * rng.normal(size=300)},
        ...                          train_mean=0.0, known=np.roll(y, 5))
        >>> r = regression_result([seg], "m", "y", 5, Bootstrap(block_size=10, n_resamples=200))
        >>> r.kind, r.scores.outcome, r.scores.ic["m"].estimate > 0.9
        ('regression', 'skill', True)
    """
    result = forecast_result(segments, model, [label], boot, season=1)
    target = np.concatenate([s.target.ravel() for s in segments])
    ic = {
        k: boot.interval(rank_correlation, np.concatenate([s.forecasts[k].ravel() for s in segments]), target)
        for k in segments[0].forecasts
    }
    return replace(result, horizon=horizon, kind="regression", scores=replace(result.scores, ic=ic))
