"""Early stopping on a monitored value: the best value, its epoch, and epochs since it improved."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class EarlyStopping:
    """Tracks the best monitored value; :attr:`should_stop` after ``patience`` epochs without improvement.

    An improvement must beat the best by more than ``min_delta``; NaN never improves.

    Example:
        >>> stop = EarlyStopping(patience=2, min_delta=0.0, mode="min")
        >>> [stop.update(v, epoch) for epoch, v in enumerate([1.0, 0.5, 0.6, 0.7], start=1)]
        [True, True, False, False]
        >>> stop.should_stop, stop.best, stop.best_epoch
        (True, 0.5, 2)
    """

    patience: int
    min_delta: float = 0.0
    mode: str = "min"
    best: float = math.nan
    best_epoch: int = 0
    bad_epochs: int = 0

    def update(self, value: float, epoch: int) -> bool:
        """Records one epoch's value; returns whether it is the new best."""
        value = float(value)
        if math.isnan(value):
            improved = False
        elif math.isnan(self.best):
            improved = True
        elif self.mode == "min":
            improved = value < self.best - self.min_delta
        else:
            improved = value > self.best + self.min_delta
        if improved:
            self.best, self.best_epoch, self.bad_epochs = value, epoch, 0
        else:
            self.bad_epochs += 1
        return improved

    @property
    def should_stop(self) -> bool:
        """Whether ``patience`` epochs in a row failed to improve."""
        return self.bad_epochs >= self.patience

    def state_dict(self) -> dict[str, Any]:
        """Scalars for the resume file (``NaN`` best is stored as ``None``)."""
        state = asdict(self)
        state["best"] = None if math.isnan(self.best) else self.best
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restores :meth:`state_dict` (the current ``patience`` and ``min_delta`` are kept)."""
        self.best = math.nan if state["best"] is None else float(state["best"])
        self.best_epoch, self.bad_epochs = int(state["best_epoch"]), int(state["bad_epochs"])
