"""Masked pre-training of a BiLSTM encoder on unlabelled windows (:class:`MaskedBiLSTMAutoencoder`),
run by the one :class:`~neural_trader.training.Trainer` as a
:class:`~neural_trader.training.MaskedReconstructionTask`.

Steps of :func:`pretrain_encoder`:

1. Split the windows in time order: the last ``val_fraction`` are validation, after a gap of ``gap``
   windows (default: the window length, so no bar of a validation window appears in a training window
   when windows have stride 1).
2. Optionally augment the *training* windows with the Rust kernel
   :func:`neural_trader.kernels.augment_dataset` (time warp, jitter, volatility scaling). It needs raw
   OHLC(V) candles, so pass those and a ``transform`` (e.g. :func:`~neural_trader.data.relative_candles`)
   that turns candles into model inputs; validation windows are never augmented.
3. Each epoch draws fresh masks for every training window with :func:`neural_trader.kernels.mask`
   (``random``, ``block`` or ``patch``), seeded by ``(seed, epoch)``: the same run gives the same masks.
   Validation masks are drawn once, so validation losses of different epochs are comparable
   (:class:`~neural_trader.training.MaskedWindows`).
4. The trainer's loop: AdamW, the configured schedule (cosine with warm-up, constant, or
   ReduceLROnPlateau), gradient clipping, early stopping on the validation loss, the best epoch's weights
   kept; with ``out_dir`` set in the :class:`~neural_trader.training.TrainerConfig`, also
   ``best.safetensors`` (the whole autoencoder), a resumable ``last.safetensors`` and the history.
5. The encoder alone is written as a ``lstm_encoder`` checkpoint (tensors ``encoder.lstm.*``), which
   :func:`~neural_trader.training.transfer.load_pretrained_strict` loads into any classifier here.

Under ``torchrun`` every rank passes the same windows: the trainer gives each rank its share of every global
batch of ``batch_size`` windows with DistributedDataParallel, validates a block of the validation windows
on each rank, and rank 0 writes the encoder (see :mod:`neural_trader.training.distributed`).
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch.utils.data import DataLoader, Sampler

from neural_trader import kernels, recipe
from neural_trader.data.candles import relative_candles
from neural_trader.errors import ConfigError, DataError, ShapeError
from neural_trader.models import memory
from neural_trader.models.masked_autoencoder import MaskedBiLSTMAutoencoder, MaskedBiLSTMAutoencoderConfig
from neural_trader.training import distributed
from neural_trader.training.config import TrainerConfig
from neural_trader.training.history import History
from neural_trader.training.masked import MASK_STRATEGIES, MaskedReconstructionTask, MaskedWindows
from neural_trader.training.rng import seed_everything
from neural_trader.training.trainer import Trainer
from neural_trader.validation import choice, fraction, integer, positive_int

# Kept importable from here, where it was first defined.
__all__ = ["PretrainConfig", "PretrainResult", "pretrain_encoder", "relative_candles", "split_windows"]

#: The optimisation defaults of pre-training, where they differ from TrainerConfig's: the recipe's
#: (:mod:`neural_trader.recipe`). Masked reconstruction keeps improving for longer than a classifier's
#: validation loss does, hence more epochs and patience; the cosine decays to an absolute floor.
PRETRAIN_TRAINER_DEFAULTS: dict[str, Any] = {
    "epochs": recipe.PRETRAIN_EPOCHS,
    "patience": recipe.PRETRAIN_PATIENCE,
    "min_lr": recipe.PRETRAIN_MIN_LR,
    "grad_clip": recipe.GRAD_CLIP,
}


@dataclass(init=False)
class PretrainConfig:
    """How :func:`pretrain_encoder` pre-trains: the masking, the augmentation and the validation split;
    the optimisation (epochs, learning rate and schedule, early stopping, seed, device) is the one trainer's
    :class:`~neural_trader.training.TrainerConfig` in ``trainer``.

    Any ``TrainerConfig`` field may also be given as a keyword (``PretrainConfig(epochs=8, lr=1e-2)``): it
    sets that field of ``trainer``, whose defaults are ``TrainerConfig``'s except the recipe's
    (:data:`PRETRAIN_TRAINER_DEFAULTS`): 50 epochs, patience 10, cosine to an absolute 1e-5, gradient
    clip 1.0. The masking defaults are the recipe's too: patch masks of 7 steps, ratio 0.15, batches of
    512; augmentation (when ``num_augmentations > 0``) uses the kernel's defaults, the recipe's
    probabilities time warp 0.5, jitter 0.5, volatility scaling 0.3.

    Example:
        >>> cfg = PretrainConfig()
        >>> cfg.mask_strategy, cfg.patch_size, cfg.mask_ratio, cfg.batch_size
        ('patch', 7, 0.15, 512)
        >>> cfg.trainer.epochs, cfg.trainer.patience, cfg.trainer.min_lr, cfg.trainer.grad_clip
        (50, 10, 1e-05, 1.0)
        >>> PretrainConfig(epochs=8, lr=1e-2).trainer.epochs
        8
    """

    # Share of steps hidden per window. 15% (BERT's) leaves enough context to infer them.
    mask_ratio: float
    # "random" steps, contiguous "block" runs, or whole "patch"es: blocks and patches cannot be filled
    # in by interpolating neighbours, so they force the encoder to model dynamics.
    mask_strategy: Literal["random", "block", "patch"]
    # Patch length ("patch") or mean run length ("block").
    patch_size: int
    # Augmented copies of each training window (needs OHLC(V) candles, see the module docstring).
    num_augmentations: int
    # Windows per optimiser step (the global batch under torchrun).
    batch_size: int
    # Time-ordered validation share and the windows dropped before it (None: the window length).
    val_fraction: float
    gap: int | None
    # The optimisation: epochs, lr, weight decay, schedule, warm-up, clipping, early stopping, seed,
    # device, out_dir (best.safetensors, last.safetensors for resuming, history), progress.
    trainer: TrainerConfig

    def __init__(
        self,
        *,
        mask_ratio: float = recipe.MASK_RATIO,
        mask_strategy: Literal["random", "block", "patch"] = recipe.MASK_STRATEGY,
        patch_size: int = recipe.PATCH_SIZE,
        num_augmentations: int = 0,
        batch_size: int = recipe.PRETRAIN_BATCH_SIZE,
        val_fraction: float = 0.15,
        gap: int | None = None,
        trainer: TrainerConfig | None = None,
        **optimisation: Any,
    ) -> None:
        self.mask_ratio = fraction("mask_ratio", mask_ratio)
        self.mask_strategy = choice("mask_strategy", mask_strategy, MASK_STRATEGIES)  # type: ignore[assignment]
        self.patch_size = positive_int("patch_size", patch_size)
        self.num_augmentations = integer("num_augmentations", num_augmentations, low=0)
        self.batch_size = positive_int("batch_size", batch_size)
        self.val_fraction = fraction("val_fraction", val_fraction)
        self.gap = None if gap is None else integer("gap", gap, low=0)
        fields = {f.name for f in dataclasses.fields(TrainerConfig)}
        unknown = sorted(set(optimisation) - fields)
        if unknown:
            raise ConfigError(f"PretrainConfig has no field(s) {unknown} (nor has TrainerConfig)")
        if trainer is None:
            trainer = TrainerConfig(**{**PRETRAIN_TRAINER_DEFAULTS, **optimisation})
        elif optimisation:
            trainer = dataclasses.replace(trainer, **optimisation)
        if not isinstance(trainer, TrainerConfig):
            raise ConfigError(f"trainer must be a TrainerConfig, got {type(trainer).__name__}")
        self.trainer = trainer

    def task(self, latent_weight: float) -> MaskedReconstructionTask:
        """The task these settings describe, for an autoencoder of ``latent_weight``."""
        return MaskedReconstructionTask(
            mask_ratio=self.mask_ratio,
            mask_strategy=self.mask_strategy,
            patch_size=self.patch_size,
            seed=self.trainer.seed,
            latent_weight=latent_weight,
        )


@dataclass
class PretrainResult:
    """Outcome of :func:`pretrain_encoder`.

    Attributes:
        model: the autoencoder with the best epoch's weights, in eval mode.
        history: per-epoch ``train_loss``, ``val_loss``, ``val_reconstruction``, ``val_latent``, ``lr``.
        best_val_loss: validation loss of the best epoch. best_epoch: its number (1-based).
        encoder_path: where the encoder checkpoint was written (None if not asked).
    """

    model: MaskedBiLSTMAutoencoder
    history: History
    best_val_loss: float
    best_epoch: int
    encoder_path: Path | None


def split_windows(windows: np.ndarray, val_fraction: float, gap: int) -> tuple[np.ndarray, np.ndarray]:
    """Time-ordered split: training windows, ``gap`` dropped windows, validation windows (the last share).

    Example:
        >>> a, b = split_windows(np.zeros((100, 8, 2)), 0.2, gap=8)
        >>> len(a), len(b)
        (72, 20)
    """
    n = len(windows)
    n_val = max(1, round(n * val_fraction))
    n_train = n - n_val - gap
    if n_train < 1:
        raise DataError(f"{n} windows leave no training window with {n_val} validation and a gap of {gap}")
    return windows[:n_train], windows[n - n_val :]


class _Permutation(Sampler[int]):
    """One random permutation of ``range(n)`` per epoch from ``generator``.

    ``RandomSampler`` draws a second, discarded permutation at the end of every epoch; this draws exactly
    one, so the orders are those of ``torch.randperm(n, generator=generator)`` called once per epoch.
    """

    def __init__(self, n: int, generator: torch.Generator) -> None:
        self.n, self.generator = n, generator

    def __len__(self) -> int:
        return self.n

    def __iter__(self) -> Iterator[int]:
        yield from torch.randperm(self.n, generator=self.generator).tolist()


def _check_windows(windows: np.ndarray, name: str) -> np.ndarray:
    x = np.asarray(windows)
    if x.ndim != 3 or x.shape[0] < 1:
        raise ShapeError(f"{name} must be (N >= 1, T, F), got shape {x.shape}")
    if not np.isfinite(x).all():
        raise DataError(f"{name} contain NaN or Inf")
    return x


def pretrain_encoder(
    windows: np.ndarray,
    model_config: MaskedBiLSTMAutoencoderConfig,
    config: PretrainConfig | None = None,
    encoder_path: str | os.PathLike | None = None,
    *,
    val_windows: np.ndarray | None = None,
    transform: Callable[[np.ndarray], np.ndarray] | None = None,
    extra: dict[str, str] | None = None,
    resume_from: str | os.PathLike | None = None,
) -> PretrainResult:
    """Pre-trains a :class:`MaskedBiLSTMAutoencoder` and writes its encoder (see the module docstring).

    Args:
        windows: ``(N, T, F)`` unlabelled windows in time order (from training rows only, if the encoder
            will be evaluated later on a test period); raw OHLC(V) candles when augmenting.
        model_config: the autoencoder's sizes; ``input_size`` is the width after ``transform``.
        config: pre-training settings.
        encoder_path: where to write the encoder checkpoint (``lstm_encoder``); None: do not write.
        val_windows: explicit validation windows; default a time-ordered split of ``windows``.
        transform: maps ``(N, T, F_raw)`` numpy windows to model inputs (after augmentation).
        extra: metadata stored in the encoder checkpoint (e.g. the scaler's JSON).
        resume_from: a ``last.safetensors`` that an interrupted run with the same settings wrote into its
            ``config.trainer.out_dir``: training continues after its last completed epoch.

    Raises:
        ShapeError, DataError: bad windows. ConfigError: augmentation without candles, bad settings.

    Example:
        >>> cfg = MaskedBiLSTMAutoencoderConfig(input_size=28, hidden_size=64)
        >>> result = pretrain_encoder(windows, cfg, PretrainConfig(), "encoder.safetensors")  # doctest: +SKIP
        >>> result.best_val_loss                                                            # doctest: +SKIP
    """
    cfg = config or PretrainConfig()
    seed = cfg.trainer.seed
    x = _check_windows(windows, "windows")
    length = x.shape[1]
    if val_windows is None:
        train_raw, val_raw = split_windows(x, cfg.val_fraction, length if cfg.gap is None else cfg.gap)
    else:
        train_raw, val_raw = x, _check_windows(val_windows, "val_windows")
    if cfg.num_augmentations:
        if train_raw.shape[2] not in (4, 5):
            raise ConfigError(
                f"augmentation works on OHLC(V) candles (4 or 5 columns), got {train_raw.shape[2]}; "
                "pass candle windows and a transform, or set num_augmentations=0"
            )
        train_raw = kernels.augment_dataset(train_raw, cfg.num_augmentations, seed=seed)
    prepare = transform or (lambda w: np.asarray(w, dtype=np.float32))
    train_x = torch.from_numpy(np.ascontiguousarray(prepare(train_raw), dtype=np.float32))
    val_x = torch.from_numpy(np.ascontiguousarray(prepare(val_raw), dtype=np.float32))
    if train_x.shape[2] != model_config.input_size:
        raise ShapeError(
            f"inputs have {train_x.shape[2]} features but input_size is {model_config.input_size}"
        )

    batch = min(cfg.batch_size, len(train_x))
    memory.check_training_build(
        lambda: MaskedBiLSTMAutoencoder(model_config), batch, length, cfg.trainer.device
    )
    seed_everything(seed)
    model = MaskedBiLSTMAutoencoder(model_config)
    task = cfg.task(model_config.latent_weight)
    train_set, val_set = MaskedWindows(train_x, task), MaskedWindows(val_x, task, fixed=True)
    # The shuffling order comes from its own generator seeded once (one permutation per epoch); the
    # loader gets a second one for the base seed it draws each epoch, so neither draw disturbs the other
    # nor the global generator that dropout uses.
    shuffle = _Permutation(len(train_set), torch.Generator().manual_seed(seed))
    train_loader = DataLoader(
        train_set, batch_size=cfg.batch_size, sampler=shuffle, generator=torch.Generator().manual_seed(seed)
    )
    val_loader = DataLoader(val_set, batch_size=cfg.batch_size)
    trainer = Trainer(model, task, cfg.trainer, checkpoint_extra=extra, keep_best=True)
    trainer.fit(train_loader, val_loader, resume_from=resume_from)
    trainer.restore_best()
    model.eval()
    path = Path(encoder_path) if encoder_path is not None else None
    if path is not None and distributed.is_main():
        note = {
            "best_val_loss": trainer.stopper.best,
            "best_epoch": trainer.stopper.best_epoch,
            "config": asdict(cfg),
            "train_windows": len(train_x),
            "val_windows": len(val_x),
        }
        model.encoder_only().save(path, extra={**(extra or {}), "pretraining": json.dumps(note)})
    distributed.barrier()  # the encoder file exists for every rank once this returns
    return PretrainResult(model, trainer.history, trainer.stopper.best, trainer.stopper.best_epoch, path)
