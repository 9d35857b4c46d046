"""Overfitting statistics: is the best of many tried strategies real, or the luck of the search?

* :func:`deflated_sharpe_ratio`: the probability that a Sharpe ratio beats the best that ``N`` skill-less
  trials would reach (Bailey & Lopez de Prado, 2014), from :func:`probabilistic_sharpe_ratio` and
  :func:`expected_max_sharpe`.
* :func:`probability_of_backtest_overfitting`: how often the in-sample best of the trials lands in the
  bottom half out of sample, by CSCV (Bailey, Borwein, Lopez de Prado & Zhu, 2017).
* :func:`path_spread`: a metric's spread across the backtest paths of combinatorial purged
  cross-validation (:mod:`neural_trader.data.cv`).

Every result carries ``problems`` (empty when the sample supports the figure), an ``assessment`` or a
``reliable`` flag, a one-line ``reading`` and ``to_dict()`` for JSON.

Example:
    >>> import numpy as np
    >>> from neural_trader.evaluation.overfitting import probability_of_backtest_overfitting
    >>> trials = np.random.default_rng(0).normal(0, 0.01, (512, 30))   # 30 strategies of noise
    >>> round(probability_of_backtest_overfitting(trials).pbo, 2)
    0.61
    >>> trials[:, 0] += 0.003                                           # one gets a real edge
    >>> probability_of_backtest_overfitting(trials).assessment
    'holds'
"""

from neural_trader.evaluation.overfitting.backtest_overfitting import (
    MAX_COMBINATIONS,
    BacktestOverfitting,
    probability_of_backtest_overfitting,
)
from neural_trader.evaluation.overfitting.deflated_sharpe import (
    MIN_RETURNS,
    DeflatedSharpe,
    deflated_sharpe_ratio,
    expected_max_sharpe,
    probabilistic_sharpe_ratio,
    sharpe_ratio,
)
from neural_trader.evaluation.overfitting.path_spread import MIN_PATHS, PathSpread, path_spread

__all__ = [
    "MAX_COMBINATIONS",
    "MIN_PATHS",
    "MIN_RETURNS",
    "BacktestOverfitting",
    "DeflatedSharpe",
    "PathSpread",
    "deflated_sharpe_ratio",
    "expected_max_sharpe",
    "path_spread",
    "probabilistic_sharpe_ratio",
    "probability_of_backtest_overfitting",
    "sharpe_ratio",
]
