"""Masked reconstruction as a task of the one :class:`~neural_trader.training.Trainer`.

* :class:`MaskedReconstructionTask` knows the masking recipe (ratio, strategy, patch size, seed) and the
  objective of :class:`~neural_trader.models.MaskedBiLSTMAutoencoder`: squared error over the masked steps
  plus ``latent_weight`` times the latent-spread penalty (see :mod:`neural_trader.models.masked_autoencoder`).
* :class:`MaskedWindows` is the dataset that carries the masks: its items are ``(window, mask)``, so the
  label batch ``y`` of the trainer is the mask batch. Training masks are drawn afresh every epoch with
  :func:`neural_trader.kernels.mask`, seeded by ``(seed, epoch)`` (the trainer calls
  :meth:`MaskedWindows.set_epoch`); validation masks are drawn once, so validation losses of different
  epochs are comparable. The same seed gives the same masks whatever the thread count.

The model is called through the trainer's (possibly DistributedDataParallel) wrapper, ``model(x, mask)``,
and the loss is computed from its outputs, so DDP synchronises the gradients of the whole objective. The
latent-spread penalty is a statistic of the batch; under ``torchrun`` it is computed on each rank's share,
as unsynchronised batch norm would be.

Example:
    >>> task = MaskedReconstructionTask(mask_ratio=0.25, mask_strategy="patch", patch_size=4)
    >>> train = MaskedWindows(torch.zeros(10, 16, 3), task)
    >>> x, mask = train[0]
    >>> x.shape, mask.shape, int(mask.sum())
    (torch.Size([16, 3]), torch.Size([16]), 4)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from neural_trader import kernels, recipe
from neural_trader.errors import ShapeError
from neural_trader.models.masked_autoencoder import latent_spread_penalty, masked_mse
from neural_trader.training.tasks import Task
from neural_trader.validation import MAX_SEED, choice, fraction, positive_int, random_seed, real

MASK_STRATEGIES: tuple[str, ...] = ("random", "block", "patch")
# Validation masks come from a seed that no training epoch uses (epochs use seed * 100_003 + epoch).
_VALIDATION_SEED_OFFSET = 2**32


@dataclass
class MaskedReconstructionTask(Task):
    """Masked reconstruction of windows by a :class:`~neural_trader.models.MaskedBiLSTMAutoencoder`.

    Args:
        mask_ratio: share of steps hidden per window.
        mask_strategy: ``random`` steps, contiguous ``block`` runs or whole ``patch``es.
        patch_size: patch length (``patch``) or mean run length (``block``).
        seed: seed of the masks (the trainer's seed, so one number reproduces a run).
        latent_weight: weight of the latent-spread penalty (the autoencoder config's ``latent_weight``).

    Metrics: ``reconstruction`` (masked MSE) and ``latent`` (the penalty), each the mean over windows; the
    trainer's history calls them ``val_reconstruction`` and ``val_latent``.
    """

    mask_ratio: float = recipe.MASK_RATIO
    mask_strategy: Literal["random", "block", "patch"] = recipe.MASK_STRATEGY
    patch_size: int = recipe.PATCH_SIZE
    seed: int = 0
    latent_weight: float = recipe.LATENT_WEIGHT

    def __post_init__(self) -> None:
        self.mask_ratio = fraction("mask_ratio", self.mask_ratio)
        choice("mask_strategy", self.mask_strategy, MASK_STRATEGIES)
        self.patch_size = positive_int("patch_size", self.patch_size)
        self.seed = random_seed("seed", self.seed)
        self.latent_weight = real("latent_weight", self.latent_weight, low=0.0)

    def masks(self, n: int, length: int, epoch: int | None) -> torch.Tensor:
        """``(n, length)`` bool masks: those of training epoch ``epoch`` (0-based), or the fixed validation
        masks when ``epoch`` is None."""
        seed = self.seed + _VALIDATION_SEED_OFFSET if epoch is None else self.seed * 100_003 + epoch
        seed %= MAX_SEED + 1  # the kernels take 64-bit seeds; small seeds are unchanged
        m = kernels.mask(n, length, self.mask_ratio, self.mask_strategy, self.patch_size, seed=seed)
        return torch.from_numpy(m)

    def forward(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        """``reconstruction`` error over the masked steps and the ``latent`` penalty of one batch
        (``y`` is the mask batch of :class:`MaskedWindows`)."""
        mask = y.bool()
        out = model(x, mask)
        return {
            "reconstruction": masked_mse(out["reconstruction"], x, mask),
            "latent": latent_spread_penalty(out["encoded"]),
        }

    def loss(self, output: dict[str, torch.Tensor], x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return output["reconstruction"] + self.latent_weight * output["latent"]

    def predictions(self, output: dict[str, torch.Tensor], y: torch.Tensor) -> dict[str, np.ndarray]:
        # Batch means and sizes: the metrics are means over windows, as the loss is.
        return {
            "reconstruction": np.array([float(output["reconstruction"])]),
            "latent": np.array([float(output["latent"])]),
            "windows": np.array([len(y)]),
        }

    def metrics(self, collected: dict[str, np.ndarray]) -> dict[str, float]:
        result = {}
        total = int(collected["windows"].sum())
        for key in ("reconstruction", "latent"):
            acc = 0.0
            # In batch order, one addition at a time: the same sums as a plain loop over batches.
            for value, n in zip(collected[key].tolist(), collected["windows"].tolist(), strict=True):
                acc += value * n
            result[key] = acc / total
        return result


class MaskedWindows(Dataset):
    """Windows with their masks, as ``(window, mask)`` items for :class:`MaskedReconstructionTask`.

    Args:
        windows: ``(N, T, F)`` float32 model inputs.
        task: the task whose recipe draws the masks.
        fixed: draw the masks once (validation) instead of once per epoch (training).

    Raises:
        ShapeError: ``windows`` is not ``(N >= 1, T, F)``.
    """

    def __init__(self, windows: torch.Tensor, task: MaskedReconstructionTask, *, fixed: bool = False):
        if windows.dim() != 3 or len(windows) < 1:
            raise ShapeError(f"windows must be (N >= 1, T, F), got shape {tuple(windows.shape)}")
        self.windows, self.task, self.fixed = windows, task, fixed
        self.mask = task.masks(len(windows), windows.shape[1], None if fixed else 0)

    def set_epoch(self, epoch: int) -> None:
        """Draws the masks of training epoch ``epoch`` (the trainer calls this as every epoch starts)."""
        if not self.fixed:
            self.mask = self.task.masks(len(self.windows), self.windows.shape[1], epoch)

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.windows[i], self.mask[i]
