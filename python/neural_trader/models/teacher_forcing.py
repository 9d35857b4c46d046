"""Scheduled sampling: decay the teacher-forcing ratio over epochs (Bengio et al., 2015).

Early in training the decoder reads the true previous target (stable gradients); later it reads its own
forecasts more and more, as it must at inference. The schedules are those of the paper, rescaled to go from
``start`` towards ``end``:

* ``linear``: straight line from ``start`` at epoch 0 to ``end`` at ``decay_epochs``, then flat.
* ``exponential``: ``end + (start - end) * rate ** epoch``.
* ``inverse_sigmoid``: ``end + (start - end) * k / (k + exp(epoch / k))``; slow, then fast, then slow.

Example:
    >>> from neural_trader.models.teacher_forcing import ScheduledSampling
    >>> schedule = ScheduledSampling("linear", start=1.0, end=0.0, decay_epochs=4)
    >>> [schedule.ratio(e) for e in range(6)]
    [1.0, 0.75, 0.5, 0.25, 0.0, 0.0]
    >>> # The trainer applies it: TrainOptions(teacher_forcing=schedule), or TaskOptions for make_task;
    >>> # ForecastTask reads schedule.ratio(epoch) as each epoch starts and the history records it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from neural_trader.errors import ConfigError

KINDS = ("constant", "linear", "exponential", "inverse_sigmoid")


@dataclass(frozen=True)
class ScheduledSampling:
    """A teacher-forcing ratio schedule; :meth:`ratio` is a pure function of the epoch.

    Args:
        kind: One of ``constant``, ``linear``, ``exponential``, ``inverse_sigmoid``.
        start: Ratio at epoch 0 (``inverse_sigmoid`` starts slightly below it, as in the paper).
        end: Ratio approached (``linear``: reached) as epochs go on.
        decay_epochs: Epochs for ``linear`` to go from ``start`` to ``end``.
        rate: Per-epoch factor of ``exponential``, in ``(0, 1)``.
        k: Width of ``inverse_sigmoid``, ``>= 1``; the ratio is half-way near epoch ``k * ln(k)``.

    Raises:
        ConfigError: unknown kind, ratios outside ``[0, 1]``, or a parameter out of its range.
    """

    kind: str = "linear"
    start: float = 1.0
    end: float = 0.0
    decay_epochs: int = 10
    rate: float = 0.9
    k: float = 5.0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError(f"kind must be one of {KINDS}, got {self.kind!r}")
        for name in ("start", "end"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
                raise ConfigError(f"{name} must be in [0, 1], got {value!r}")
        if not isinstance(self.decay_epochs, int) or self.decay_epochs < 1:
            raise ConfigError(f"decay_epochs must be an integer >= 1, got {self.decay_epochs!r}")
        if not 0.0 < self.rate < 1.0:
            raise ConfigError(f"rate must be in (0, 1), got {self.rate!r}")
        if not self.k >= 1.0 or math.isinf(self.k):
            raise ConfigError(f"k must be a finite number >= 1, got {self.k!r}")

    def ratio(self, epoch: int) -> float:
        """Teacher-forcing ratio for ``epoch`` (0-based), in ``[min(start, end), max(start, end)]``.

        Raises:
            ConfigError: a negative epoch.
        """
        if epoch < 0:
            raise ConfigError(f"epoch must be >= 0, got {epoch!r}")
        span = self.end - self.start
        if self.kind == "constant":
            return float(self.start)
        if self.kind == "linear":
            return float(self.start + span * min(epoch / self.decay_epochs, 1.0))
        if self.kind == "exponential":
            return float(self.end - span * self.rate**epoch)
        # inverse_sigmoid; exp overflows to inf for huge epochs, which correctly gives `end`.
        try:
            weight = self.k / (self.k + math.exp(epoch / self.k))
        except OverflowError:
            weight = 0.0
        return float(self.end - span * weight)
