"""Bootstrap settings shared by every interval of a report, so all resamples are paired."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from neural_trader.errors import ConfigError
from neural_trader.evaluation.bootstrap import (
    MIN_BLOCKS,
    Interval,
    block_bootstrap,
    too_few_blocks,
    unreliable_interval,
)

#: A verdict's outcome when the test windows are too few for an interval: nothing can be concluded.
TOO_FEW = "too few windows"


@dataclass(frozen=True)
class Bootstrap:
    """How intervals are drawn.

    Attributes:
        block_size: consecutive windows per block; at least window length + horizon, because
            neighbouring windows share inputs and their labels overlap.
        n_resamples: bootstrap resamples.
        confidence: interval coverage.
        seed: generator seed; the same for every model, so resamples are paired.
        min_blocks: fewest effective blocks (windows / block_size) for which an interval is drawn; with
            fewer, an interval keeps its estimate only and is marked unreliable.

    Example:
        >>> Bootstrap(block_size=37).effective_blocks(16)
        0.43243243243243246
        >>> Bootstrap(block_size=37).interval(np.mean, np.ones(16)).reliable
        False
    """

    block_size: int
    n_resamples: int = 1000
    confidence: float = 0.95
    seed: int = 0
    min_blocks: float = MIN_BLOCKS

    def __post_init__(self) -> None:
        if isinstance(self.block_size, bool) or not isinstance(self.block_size, (int, np.integer)):
            raise ConfigError(f"block_size must be an integer >= 1, got {self.block_size!r}")
        if self.block_size < 1:
            raise ConfigError(f"block_size must be an integer >= 1, got {self.block_size!r}")
        if not (isinstance(self.min_blocks, (int, float)) and math.isfinite(self.min_blocks)):
            raise ConfigError(f"min_blocks must be a finite number >= 0, got {self.min_blocks!r}")
        if self.min_blocks < 0:
            raise ConfigError(f"min_blocks must be a finite number >= 0, got {self.min_blocks!r}")

    def effective_blocks(self, n: int) -> float:
        """How many blocks ``n`` windows hold: ``n / block_size``."""
        return n / self.block_size

    def enough(self, n: int) -> bool:
        """Whether ``n`` windows hold enough blocks for an interval."""
        return too_few_blocks(n, self.block_size, self.min_blocks) is None

    def interval(self, metric: Callable[..., float], *arrays: np.ndarray) -> Interval:
        """``block_bootstrap`` with these settings; with fewer than ``min_blocks`` effective blocks, the
        estimate alone (no interval, ``reliable`` False)."""
        n = len(arrays[0]) if arrays else 0
        if arrays and n >= 1 and not self.enough(n):
            return unreliable_interval(
                metric(*arrays),
                n=n,
                block_size=self.block_size,
                confidence=self.confidence,
                min_blocks=self.min_blocks,
            )
        return block_bootstrap(
            metric,
            *arrays,
            n_resamples=self.n_resamples,
            block_size=min(self.block_size, max(n, 1)),
            confidence=self.confidence,
            seed=self.seed,
            min_blocks=self.min_blocks,
        )


def interval_dict(iv: Interval) -> dict[str, float | bool | None]:
    """An interval as JSON-ready ``{estimate, low, high, reliable, blocks}`` (NaN and inf as None).

    ``low`` and ``high`` are None when the sample held too few blocks for an interval (``reliable``
    False); ``blocks`` is the effective number of bootstrap blocks.
    """
    out: dict[str, float | bool | None] = {
        k: (None if not np.isfinite(v) else float(v))
        for k, v in (("estimate", iv.estimate), ("low", iv.low), ("high", iv.high))
    }
    out["reliable"] = iv.reliable
    out["blocks"] = None if not math.isfinite(iv.blocks) else float(iv.blocks)
    return out


def too_few_sentence(question: str, n: int, boot: Bootstrap, detail: str) -> str:
    """The verdict sentence when ``n`` test windows hold too few bootstrap blocks for an interval.

    Args:
        question: what cannot be told, e.g. ``"bilstm_classifier shows skill"``.
        n: test windows. boot: the bootstrap settings. detail: the point estimates, in words.

    Example:
        >>> too_few_sentence("m shows skill", 16, Bootstrap(block_size=37), "MCC +0.100")[:60]
        'Too few test windows to tell whether m shows skill: 16 windo'
    """
    return (
        f"Too few test windows to tell whether {question}: {n} windows make "
        f"{boot.effective_blocks(n):.1f} bootstrap blocks of {boot.block_size}, fewer than the "
        f"{boot.min_blocks:g} an interval needs, so no interval is drawn and nothing is concluded "
        f"(point estimates, not evidence: {detail}). Test on more windows."
    )
