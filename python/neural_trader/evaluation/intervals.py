"""Bootstrap settings shared by every interval of a report, so all resamples are paired."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from neural_trader.evaluation.bootstrap import Interval, block_bootstrap


@dataclass(frozen=True)
class Bootstrap:
    """How intervals are drawn.

    Attributes:
        block_size: consecutive windows per block; at least window length + horizon, because
            neighbouring windows share inputs and their labels overlap.
        n_resamples: bootstrap resamples.
        confidence: interval coverage.
        seed: generator seed; the same for every model, so resamples are paired.
    """

    block_size: int
    n_resamples: int = 1000
    confidence: float = 0.95
    seed: int = 0

    def interval(self, metric: Callable[..., float], *arrays: np.ndarray) -> Interval:
        """``block_bootstrap`` with these settings (the block is cut to the sample size)."""
        return block_bootstrap(
            metric,
            *arrays,
            n_resamples=self.n_resamples,
            block_size=min(self.block_size, len(arrays[0])),
            confidence=self.confidence,
            seed=self.seed,
        )


def interval_dict(iv: Interval) -> dict[str, float | None]:
    """An interval as JSON-ready ``{estimate, low, high}`` (NaN as None)."""
    return {
        k: (None if not np.isfinite(v) else float(v))
        for k, v in (("estimate", iv.estimate), ("low", iv.low), ("high", iv.high))
    }
