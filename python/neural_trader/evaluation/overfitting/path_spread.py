"""The spread of a metric across the backtest paths of combinatorial purged cross-validation.

Walk-forward testing gives one backtest, so one number per metric, and no idea how much of it is the
particular history. CPCV's ``phi`` paths are complete out-of-sample backtests over the same bars, each
stitched from models trained on different data (AFML ch. 12): the spread of a metric across them says
how much the figure depends on which data trained the model. The paths share bars and training data, so
their spread understates the uncertainty of a new period; read it as a lower bound, not an interval.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from neural_trader.errors import ConfigError, DataError, ShapeError

# Below 5 paths (CPCV with N = 6, k = 2 gives 5) quantiles and a standard deviation describe nothing.
MIN_PATHS = 5
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


@dataclass(frozen=True)
class PathSpread:
    """A metric across backtest paths.

    Attributes:
        metric: the metric's name (for the reading).
        n_paths: number of paths.
        mean, std, min, max: of the values (``std`` with ``ddof=1``; NaN for one path).
        quantiles: ``{"q05": ..., "q50": ..., ...}`` (linear interpolation).
        threshold: the level ``share_above`` counts from (e.g. 0 for a Sharpe ratio, the best baseline's
            figure for an accuracy).
        share_above: share of paths whose value is above ``threshold``.
        problems: why the spread cannot be read; empty when it can.
        reading: one line for the report.
    """

    metric: str
    n_paths: int
    mean: float
    std: float
    min: float
    max: float
    quantiles: dict[str, float]
    threshold: float
    share_above: float
    problems: tuple[str, ...]
    reading: str

    @property
    def reliable(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, object]:
        """JSON-ready fields (NaN as None)."""
        out: dict[str, object] = {k: _json_float(v) for k, v in self.__dict__.items()}
        out["quantiles"] = {k: _json_float(v) for k, v in self.quantiles.items()}
        out["problems"] = list(self.problems)
        out["reliable"] = self.reliable
        return out


def path_spread(
    values: Sequence[float] | np.ndarray,
    *,
    metric: str = "metric",
    threshold: float = 0.0,
    quantiles: Sequence[float] = QUANTILES,
) -> PathSpread:
    """Mean, standard deviation, range and quantiles of a metric across backtest paths.

    Args:
        values: ``(phi,)`` the metric on each path (e.g. the Sharpe ratio of each path's returns).
        metric: its name, for the reading.
        threshold: the level counted by ``share_above``.
        quantiles: probabilities in ``[0, 1]`` to report.

    Raises:
        ShapeError: not 1-D. DataError: empty, or NaN/Inf. ConfigError: bad quantiles or threshold.

    Example:
        >>> s = path_spread([0.8, 1.1, 0.4, 0.9, 1.3], metric="Sharpe", threshold=0.5)
        >>> s.reading
        'Sharpe across 5 backtest paths: mean 0.9, std 0.339, from 0.4 to 1.3; 80% of paths above 0.5'
    """
    try:
        v = np.asarray(values, dtype=np.float64)
    except (ValueError, TypeError) as exc:
        raise DataError(f"values must be numbers: {exc}") from None
    if v.ndim != 1:
        raise ShapeError(f"values must be 1-D (one value per path), got shape {v.shape}")
    if v.size == 0:
        raise DataError("values is empty: there are no paths to summarise")
    if not np.isfinite(v).all():
        i = int(np.argmax(~np.isfinite(v)))
        raise DataError(f"values[{i}] is {v[i]}: the metric is undefined on path {i}")
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.number)):
        raise ConfigError(f"threshold must be a finite number, got {threshold!r}")
    if not math.isfinite(threshold):
        raise ConfigError(f"threshold must be a finite number, got {threshold!r}")
    qs = np.asarray(quantiles, dtype=np.float64)
    if qs.ndim != 1 or not ((qs >= 0) & (qs <= 1)).all():
        raise ConfigError(f"quantiles must be probabilities in [0, 1], got {quantiles!r}")
    n = len(v)
    std = float(v.std(ddof=1)) if n > 1 else math.nan
    share = float(np.mean(v > threshold))
    problems = []
    if n < MIN_PATHS:
        problems.append(f"only {n} backtest path{'s' if n > 1 else ''} (a spread needs at least {MIN_PATHS})")
    if problems:
        reading = f"{metric} path spread unreliable: {problems[0]}; use CPCV with more paths"
    else:
        reading = (
            f"{metric} across {n} backtest paths: mean {v.mean():.3g}, std {std:.3g}, "
            f"from {v.min():.3g} to {v.max():.3g}; {share:.0%} of paths above {threshold:g}"
        )
    return PathSpread(
        metric=metric,
        n_paths=n,
        mean=float(v.mean()),
        std=std,
        min=float(v.min()),
        max=float(v.max()),
        quantiles={f"q{round(q * 100):02d}": float(np.quantile(v, q)) for q in qs.tolist()},
        threshold=float(threshold),
        share_above=share,
        problems=tuple(problems),
        reading=reading,
    )


def _json_float(v: object) -> object:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v
