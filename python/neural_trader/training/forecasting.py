"""Multi-step forecasting with teacher forcing, as a task of the one :class:`~neural_trader.training.Trainer`.

An encoder-decoder forecaster (:class:`~neural_trader.models.LSTMAttention`) decodes one step at a time.
In training, :class:`ForecastTask` passes it the true targets, so decoder step ``t`` reads the truth
``y[:, t - 1]`` with probability ``teacher_forcing_ratio`` and its own previous forecast otherwise; in
evaluation it passes the windows alone, so validation and test losses are those of the autoregressive
forecast that inference makes.

The ratio may follow a schedule over epochs (:class:`~neural_trader.models.teacher_forcing.ScheduledSampling`:
constant, linear, exponential, inverse sigmoid); the trainer calls :meth:`ForecastTask.start_epoch` as every
epoch starts and records the epoch's ratio in the history as ``teacher_forcing_ratio``.

The coin flips (one per decoder step, shared by the batch, as the model and the Rust engine's
``scheduled`` define them) come from a generator seeded by ``(seed, epoch, batch of the epoch)``: the same
seed gives the same flips, and a run resumed at an epoch boundary draws what the uninterrupted run drew,
without any generator state in the resume file.

Example:
    >>> import torch, neural_trader as nt
    >>> from neural_trader.models import ScheduledSampling
    >>> model = nt.LSTMAttention(nt.LSTMAttentionConfig(2, 1, horizon=3, hidden_size=8, num_heads=2))
    >>> linear = ScheduledSampling("linear", start=1.0, end=0.0, decay_epochs=2)
    >>> task = ForecastTask(horizon=3, output_size=1, teacher_forcing=linear)
    >>> task.start_epoch(1, model)
    {'teacher_forcing_ratio': 0.5}
    >>> x, y = torch.randn(4, 10, 2), torch.randn(4, 3)
    >>> task.forward(model.train(), x, y).shape       # teacher-forced at ratio 0.5
    torch.Size([4, 3, 1])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from neural_trader.errors import ConfigError, DataError
from neural_trader.models.teacher_forcing import ScheduledSampling
from neural_trader.training.tasks import RegressionTask
from neural_trader.validation import positive_int, random_seed


def coin_flip_seed(seed: int, epoch: int, batch: int) -> int:
    """The seed of the teacher-forcing coin flips of one training batch: a hash of ``(seed, epoch, batch)``
    (numpy's ``SeedSequence``), so neighbouring batches and epochs draw unrelated flips.

    Example:
        >>> coin_flip_seed(0, 1, 2) == coin_flip_seed(0, 1, 2) != coin_flip_seed(0, 2, 1)
        True
    """
    return int(np.random.SeedSequence([seed, epoch, batch]).generate_state(1, dtype=np.uint64)[0] >> 1)


@dataclass
class ForecastTask(RegressionTask):
    """MSE of a ``(B, horizon, output_size)`` forecast against the label row, teacher-forced in training.

    Args:
        horizon: forecast steps of the model.
        output_size: forecast columns per step; the label row holds ``horizon * output_size`` values,
            step-major (:meth:`~neural_trader.data.DataSpec.label_columns`).
        teacher_forcing: the ratio per epoch; None: the model config's ``teacher_forcing_ratio``, constant.
        seed: seed of the coin flips (the trainer's seed, so one number reproduces a run).

    Metrics are :class:`RegressionTask`'s, over every step and column of the autoregressive forecast.

    Raises:
        ConfigError: bad sizes, or a ``teacher_forcing`` that is not a ``ScheduledSampling``.
    """

    horizon: int = 1
    output_size: int = 1
    teacher_forcing: ScheduledSampling | None = None
    seed: int = 0
    _epoch: int = field(default=0, init=False, repr=False)
    _batch: int = field(default=0, init=False, repr=False)
    _ratio: float | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.horizon = positive_int("horizon", self.horizon)
        self.output_size = positive_int("output_size", self.output_size)
        self.seed = random_seed("seed", self.seed)
        if self.teacher_forcing is not None and not isinstance(self.teacher_forcing, ScheduledSampling):
            kind = type(self.teacher_forcing).__name__
            raise ConfigError(f"teacher_forcing must be a ScheduledSampling or None, got {kind}")
        if tuple(self.label_indices) == (0,):
            self.label_indices = list(range(self.horizon * self.output_size))
        if len(self.label_indices) != self.horizon * self.output_size:
            raise ConfigError(
                f"label_indices has {len(self.label_indices)} entries, expected horizon * output_size = "
                f"{self.horizon * self.output_size}"
            )

    def ratio(self, epoch: int, model: nn.Module) -> float:
        """The teacher-forcing ratio of training epoch ``epoch`` (0-based)."""
        if self.teacher_forcing is not None:
            return self.teacher_forcing.ratio(epoch)
        return float(model.config.teacher_forcing_ratio)

    def start_epoch(self, epoch: int, model: nn.Module) -> dict[str, float]:
        """Called by the trainer as training epoch ``epoch`` (0-based) starts; returns what the history
        records for it: ``{"teacher_forcing_ratio": ...}``."""
        self._epoch, self._batch = epoch, 0
        self._ratio = self.ratio(epoch, model)
        return {"teacher_forcing_ratio": self._ratio}

    def target_steps(self, y: torch.Tensor) -> torch.Tensor:
        """The label rows ``(B, L)`` as the forecast's targets ``(B, horizon, output_size)``."""
        target = y[:, list(self.label_indices)]
        if not torch.isfinite(target).all():
            raise DataError("forecast targets hold NaN/Inf: teacher forcing needs every future value")
        return target.reshape(len(y), self.horizon, self.output_size)

    def forward(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> Any:
        """Training: ``model(x, targets, teacher_forcing_ratio=..., generator=...)``; evaluation: ``model(x)``
        (autoregressive, as at inference)."""
        if not model.training:
            return model(x)
        seed = coin_flip_seed(self.seed, self._epoch, self._batch)
        self._batch += 1
        return model(x, self.target_steps(y), teacher_forcing_ratio=self._ratio, generator=seed)
