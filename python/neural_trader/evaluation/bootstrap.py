"""Confidence intervals for a metric by the moving-block bootstrap.

Windows of a price series overlap and their labels (a move over the next ``h`` bars) overlap too, so
neighbouring test samples are strongly dependent. Resampling single samples would treat them as
independent and give intervals that are too narrow; resampling contiguous blocks of ``block_size``
samples keeps the dependence inside each block (Künsch, 1989). Use a block of at least the label
horizon plus the window length, or ``block_size=1`` for independent samples.

**Too few blocks, no interval.** The sample holds ``N / block_size`` *effective blocks*: that many
independent pieces of evidence. With few of them every resample repeats nearly the same rows (with a
block as long as the sample, exactly the same rows: a zero-width interval), and the interval is far too
narrow. Below :data:`MIN_BLOCKS` effective blocks no interval is drawn: the result keeps its point
estimate, ``low`` and ``high`` are NaN, ``reliable`` is False and ``problems`` says why. (In a simulation of
windows as dependent as the block, ``scripts/bootstrap_coverage.py``, the 95% interval of a mean covered
the truth 24% of the time with 1.5 blocks, 40% with 2, 66% with 4 and 77% with 5, where it levels off.)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from neural_trader.errors import ConfigError, ShapeError

#: Fewest effective blocks (samples / block size) for which an interval is drawn.
MIN_BLOCKS = 5


@dataclass(frozen=True)
class Interval:
    """A point estimate with a percentile bootstrap interval.

    Attributes:
        estimate: the metric on the full sample.
        low: lower bound. high: upper bound. Both NaN when the sample is too small for an interval.
        confidence: e.g. 0.95.
        blocks: effective number of bootstrap blocks, samples / block size (inf when not bootstrapped).
        problems: why there is no interval; empty when there is one.

    Example:
        >>> str(Interval(0.528, 0.51, 0.55, 0.95))
        '0.528 [0.510, 0.550]'
        >>> str(unreliable_interval(0.528, n=16, block_size=37, confidence=0.95))
        '0.528 (no interval: 0.4 blocks < 5)'
    """

    estimate: float
    low: float
    high: float
    confidence: float
    blocks: float = math.inf
    problems: tuple[str, ...] = ()

    @property
    def reliable(self) -> bool:
        """Whether the interval exists and may be read as one."""
        return not self.problems

    def __str__(self) -> str:
        if not self.reliable:
            return f"{self.estimate:.3f} (no interval: {self.blocks:.1f} blocks < {MIN_BLOCKS})"
        return f"{self.estimate:.3f} [{self.low:.3f}, {self.high:.3f}]"


def too_few_blocks(n: int, block_size: int, min_blocks: float = MIN_BLOCKS) -> str | None:
    """Why ``n`` samples in blocks of ``block_size`` are too few for an interval, or None if they are not.

    Example:
        >>> too_few_blocks(16, 37)
        '16 samples make 0.4 blocks of 37, fewer than the 5 an interval needs'
        >>> too_few_blocks(400, 37) is None
        True
    """
    blocks = n / block_size
    if blocks >= min_blocks:
        return None
    need = f"fewer than the {min_blocks:g} an interval needs"
    return f"{n} samples make {blocks:.1f} blocks of {block_size}, {need}"


def unreliable_interval(
    estimate: float, *, n: int, block_size: int, confidence: float, min_blocks: float = MIN_BLOCKS
) -> Interval:
    """The point estimate without an interval (``low = high = NaN``), saying why."""
    problem = too_few_blocks(n, block_size, min_blocks) or "no interval"
    return Interval(float(estimate), math.nan, math.nan, confidence, n / block_size, (problem,))


def block_bootstrap(
    metric: Callable[..., float],
    *arrays: np.ndarray,
    n_resamples: int = 1000,
    block_size: int = 1,
    confidence: float = 0.95,
    seed: int = 0,
    min_blocks: float = MIN_BLOCKS,
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
        min_blocks: below ``N / block_size < min_blocks`` effective blocks no interval is drawn (see the
            module docstring): the result has the estimate only and ``reliable`` False.

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
    if too_few_blocks(n, block_size, min_blocks):
        estimate = metric(*arrays)
        return unreliable_interval(
            estimate, n=n, block_size=block_size, confidence=confidence, min_blocks=min_blocks
        )
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
    return Interval(float(metric(*arrays)), float(low), float(high), confidence, n / block_size)
