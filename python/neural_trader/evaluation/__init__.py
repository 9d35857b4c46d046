"""Honest evaluation: metrics with block-bootstrap intervals against baselines, equity curves after
costs, forecasts against naive forecasts, and a report (Markdown, JSON, PNG) that ends with a verdict.

Example:
    >>> from neural_trader.evaluation import Bootstrap, verdict
    >>> v = verdict(y, {"model": p, "majority": q}, "model", ["majority"], Bootstrap(37))  # doctest: +SKIP
    >>> print(v.sentence)                                                                  # doctest: +SKIP
"""

from neural_trader.evaluation.bootstrap import Interval, block_bootstrap
from neural_trader.evaluation.classification import (
    METRICS,
    VERDICT_METRICS,
    Verdict,
    best_baseline,
    lead,
    score,
    score_intervals,
    verdict,
)
from neural_trader.evaluation.equity import (
    EquityCurves,
    EquityStats,
    class_positions,
    equity_curves,
    equity_stats,
    net_returns,
    periods_per_year,
    positions_from_proba,
)
from neural_trader.evaluation.forecast import (
    ForecastScores,
    mean_forecast,
    persistence,
    score_forecasts,
    seasonal_naive,
)
from neural_trader.evaluation.intervals import Bootstrap
from neural_trader.evaluation.markdown import render_markdown
from neural_trader.evaluation.regression import regression_result, regression_segment
from neural_trader.evaluation.report import (
    ClassificationResult,
    ForecastResult,
    ForecastSegment,
    Segment,
    classification_result,
    forecast_result,
    report_document,
    write_report,
)

__all__ = [
    "Interval",
    "block_bootstrap",
    "METRICS",
    "VERDICT_METRICS",
    "Bootstrap",
    "ClassificationResult",
    "EquityCurves",
    "EquityStats",
    "ForecastResult",
    "ForecastScores",
    "ForecastSegment",
    "Segment",
    "Verdict",
    "best_baseline",
    "class_positions",
    "classification_result",
    "equity_curves",
    "equity_stats",
    "forecast_result",
    "lead",
    "mean_forecast",
    "net_returns",
    "periods_per_year",
    "persistence",
    "positions_from_proba",
    "regression_result",
    "regression_segment",
    "render_markdown",
    "report_document",
    "score",
    "score_forecasts",
    "score_intervals",
    "seasonal_naive",
    "verdict",
    "write_report",
]

# Overfitting statistics: deflated Sharpe ratio, PBO, path spread (issue 19).
from neural_trader.evaluation.overfitting import (  # noqa: E402
    BacktestOverfitting,
    DeflatedSharpe,
    PathSpread,
    deflated_sharpe_ratio,
    expected_max_sharpe,
    path_spread,
    probabilistic_sharpe_ratio,
    probability_of_backtest_overfitting,
    sharpe_ratio,
)

__all__ += [
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
