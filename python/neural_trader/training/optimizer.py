"""The optimiser of every training run: AdamW with decay on matrices only."""

from __future__ import annotations

import torch
from torch import nn

from neural_trader.training.config import TrainerConfig


def build_optimizer(model: nn.Module, config: TrainerConfig) -> torch.optim.AdamW:
    """AdamW with weight decay on matrices only (two parameter groups, nanoGPT's rule).

    Biases, norm gains and the mask token are offsets and scales, not interactions: shrinking them
    towards zero is no useful prior. Frozen parameters are included (AdamW skips parameters without a
    gradient), so unfreezing them later needs no new optimizer.

    Example:
        >>> opt = build_optimizer(nn.Linear(3, 2), TrainerConfig(weight_decay=0.1))
        >>> [g["weight_decay"] for g in opt.param_groups]
        [0.1, 0.0]
    """
    params = list(model.parameters())
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    groups = [
        {"params": decay, "weight_decay": config.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=config.lr, betas=config.betas)
