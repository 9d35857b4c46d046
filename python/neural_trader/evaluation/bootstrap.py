"""Confidence intervals for a metric by the moving-block bootstrap.

Windows of a price series overlap and their labels (a move over the next ``h`` bars) overlap too, so
neighbouring test samples are strongly dependent. Resampling single samples would treat them as
independent and give intervals that are too narrow; resampling contiguous blocks of ``block_size``
samples keeps the dependence inside each block (Künsch, 1989). Use a block of at least the label
horizon plus the window length, or ``block_size=1`` for independent samples.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from neural_trader.errors import ConfigError, ShapeError


@dataclass(frozen=True)
class Interval:
    """A point estimate with a percentile bootstrap interval.

    Attributes:
        estimate: the metric on the full sample.
        low: lower bound. high: upper bound.
        confidence: e.g. 0.95.
    """

    estimate: float
    low: float
    high: float
    confidence: float

    def __str__(self) -> str:
        return f"{self.estimate:.3f} [{self.low:.3f}, {self.high:.3f}]"


def block_bootstrap(
    metric: Callable[..., float],
    *arrays: np.ndarray,
    n_resamples: int = 1000,
    block_size: int = 1,
    confidence: float = 0.95,
    seed: int = 0,
) -> Interval:
    """Percentile interval of ``metric(*arrays)`` under the moving-block bootstrap.

    Each resample concatenates ``ceil(N / block_size)`` blocks of consecutive samples starting at uniform
    random positions in ``[0, N - block_size]``, cut to ``N``; all arrays are resampled with the same rows.
    Resamples where the metric is undefined (NaN, e.g. one class only) are left out of the percentiles.

    Args:
        metric: function of the arrays (e.g. ``lambda y, p: balanced_accuracy(y, p)``) returning a float.
        arrays: aligned arrays, first dimension ``N`` (in time order).
        n_resamples: bootstrap resamples.
        block_size: consecutive samples per block, ``1 <= block_size <= N``.
        confidence: interval coverage in ``(0, 1)``.
        seed: seed of numpy's generator.

    Raises:
        ShapeError: no arrays, or arrays of different lengths. ConfigError: bad parameters.

    Example:
        >>> y = np.array([0, 1] * 50); p = y.copy(); p[:10] = 1 - p[:10]
        >>> ci = block_bootstrap(lambda a, b: float(np.mean(a == b)), y, p, block_size=5, seed=1)
        >>> round(ci.estimate, 2), ci.low < 0.9 < ci.high
        (0.9, True)
    """
    if not arrays:
        raise ShapeError("block_bootstrap needs at least one array")
    n = len(arrays[0])
    if n < 1 or any(len(a) != n for a in arrays):
        raise ShapeError(f"arrays must be non-empty and of one length, got {[len(a) for a in arrays]}")
    if not 1 <= block_size <= n:
        raise ConfigError(f"block_size must be in [1, {n}], got {block_size}")
    if not 0.0 < confidence < 1.0 or n_resamples < 1:
        raise ConfigError(f"need 0 < confidence < 1 and n_resamples >= 1, got {confidence}, {n_resamples}")
    rng = np.random.default_rng(seed)
    n_blocks = -(-n // block_size)
    offsets = np.arange(block_size)
    values = np.empty(n_resamples)
    for r in range(n_resamples):
        starts = rng.integers(0, n - block_size + 1, size=n_blocks)
        rows = (starts[:, None] + offsets).ravel()[:n]
        values[r] = metric(*(np.asarray(a)[rows] for a in arrays))
    tail = (1.0 - confidence) / 2.0 * 100.0
    finite = values[np.isfinite(values)]
    low, high = np.percentile(finite, [tail, 100.0 - tail]) if finite.size else (np.nan, np.nan)
    return Interval(float(metric(*arrays)), float(low), float(high), confidence)
