"""Learning-rate schedule: linear warm-up, then cosine decay to a floor. A pure function of the step.

Being pure (no optimizer, no hidden counter) makes it trivial to test, to plot, and to resume: the step
number alone says where training is. Plateau-driven schedules live in torch
(``torch.optim.lr_scheduler.ReduceLROnPlateau``) and are selected in :class:`TrainerConfig`.
"""

from __future__ import annotations

import math

from neural_trader.errors import ConfigError


def lr_at(step: int, *, base_lr: float, warmup_steps: int, total_steps: int, min_lr: float = 0.0) -> float:
    """Learning rate for optimizer step ``step`` (0-based).

    * ``step < warmup_steps``: linear from ``base_lr / warmup_steps`` up to ``base_lr``: early updates,
      taken with Adam's still-noisy second-moment estimates, stay small.
    * then cosine from ``base_lr`` down to ``min_lr`` at ``total_steps``; ``min_lr`` afterwards.

    Args:
        step: optimizer steps taken so far, ``>= 0``.
        base_lr: peak learning rate.
        warmup_steps: steps of linear warm-up, ``>= 0``.
        total_steps: step at which the cosine reaches ``min_lr``, ``>= 1``.
        min_lr: floor, ``0 <= min_lr <= base_lr``.

    Raises:
        ConfigError: a negative step or inconsistent arguments.

    Example:
        >>> [round(lr_at(s, base_lr=1.0, warmup_steps=2, total_steps=6), 3) for s in range(7)]
        [0.5, 1.0, 1.0, 0.854, 0.5, 0.146, 0.0]
    """
    if step < 0 or warmup_steps < 0 or total_steps < 1:
        raise ConfigError(
            f"need step >= 0, warmup_steps >= 0, total_steps >= 1; got {step}, {warmup_steps}, {total_steps}"
        )
    if not 0.0 <= min_lr <= base_lr:
        raise ConfigError(f"need 0 <= min_lr <= base_lr, got min_lr={min_lr}, base_lr={base_lr}")
    if step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    if step >= total_steps:
        return min_lr
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return min_lr + 0.5 * (base_lr - min_lr) * (1.0 + math.cos(math.pi * progress))
