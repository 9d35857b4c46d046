"""Masked pre-training of a BiLSTM encoder on unlabelled windows (:class:`MaskedBiLSTMAutoencoder`).

Steps of :func:`pretrain_encoder`:

1. Split the windows in time order: the last ``val_fraction`` are validation, after a gap of ``gap``
   windows (default: the window length, so no bar of a validation window appears in a training window
   when windows have stride 1).
2. Optionally augment the *training* windows with the Rust kernel
   :func:`neural_trader.kernels.augment_dataset` (time warp, jitter, volatility scaling). It needs raw
   OHLC(V) candles, so pass those and a ``transform`` (e.g. :func:`relative_candles`) that turns candles
   into model inputs; validation windows are never augmented.
3. Each epoch draws fresh masks for every training window with :func:`neural_trader.kernels.mask`
   (``random``, ``block`` or ``patch``), seeded by ``(seed, epoch)``: the same run gives the same masks.
   Validation masks are drawn once, so validation losses of different epochs are comparable.
4. AdamW with warm-up and cosine decay (:func:`~neural_trader.training.schedule.lr_at`), gradient clipping,
   early stopping on the validation loss; the best epoch's weights are kept.
5. The encoder alone is written as a ``lstm_encoder`` checkpoint (tensors ``encoder.lstm.*``), which
   :func:`~neural_trader.training.transfer.load_pretrained_strict` loads into any classifier here.

Under ``torchrun`` every rank passes the same windows: each draws the same order and masks, trains on its
share of every global batch of ``batch_size`` windows with DistributedDataParallel, validates a block of
the validation windows, and rank 0 writes the encoder (see :mod:`neural_trader.training.distributed`).
The latent-spread penalty is a statistic of the batch, so with ``latent_weight > 0`` it is computed on
each rank's share, as unsynchronised batch norm would be.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from neural_trader import kernels
from neural_trader.errors import ConfigError, DataError, ShapeError
from neural_trader.models.masked_autoencoder import MaskedBiLSTMAutoencoder, MaskedBiLSTMAutoencoderConfig
from neural_trader.training import distributed
from neural_trader.training.config import TrainerConfig
from neural_trader.training.early_stopping import EarlyStopping
from neural_trader.training.history import History
from neural_trader.training.rng import seed_everything
from neural_trader.training.schedule import lr_at
from neural_trader.training.trainer import build_optimizer


@dataclass
class PretrainConfig:
    """How :func:`pretrain_encoder` pre-trains.

    Example:
        >>> PretrainConfig(mask_strategy="patch", patch_size=4).mask_ratio
        0.15
    """

    # Share of steps hidden per window. 15% (BERT's) leaves enough context to infer them.
    mask_ratio: float = 0.15
    # "random" steps, contiguous "block" runs, or whole "patch"es: blocks and patches cannot be filled
    # in by interpolating neighbours, so they force the encoder to model dynamics.
    mask_strategy: Literal["random", "block", "patch"] = "random"
    # Patch length ("patch") or mean run length ("block").
    patch_size: int = 5
    # Augmented copies of each training window (needs OHLC(V) candles, see the module docstring).
    num_augmentations: int = 0
    epochs: int = 30
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.01
    warmup_steps: int = 0
    min_lr_ratio: float = 0.05
    grad_clip: float | None = 1.0
    # Early stopping on validation loss.
    patience: int = 5
    min_delta: float = 0.0
    # Time-ordered validation share and the windows dropped before it (None: the window length).
    val_fraction: float = 0.15
    gap: int | None = None
    seed: int = 0
    progress: bool = True
    device: str = "auto"
    # bfloat16 autocast on CUDA only.
    autocast: bool = True
    # Under torchrun: seconds a collective waits for the other ranks (see TrainerConfig).
    dist_timeout_s: float = 300.0

    def __post_init__(self) -> None:
        if not 0.0 < self.mask_ratio < 1.0:
            raise ConfigError(f"mask_ratio must be in (0, 1), got {self.mask_ratio!r}")
        if self.mask_strategy not in ("random", "block", "patch"):
            raise ConfigError(f"mask_strategy must be random, block or patch, got {self.mask_strategy!r}")
        if not 0.0 < self.val_fraction < 1.0:
            raise ConfigError(f"val_fraction must be in (0, 1), got {self.val_fraction!r}")
        for name in ("patch_size", "epochs", "batch_size", "patience"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be an integer >= 1, got {value!r}")
        if self.num_augmentations < 0 or (self.gap is not None and self.gap < 0):
            raise ConfigError("num_augmentations and gap must be >= 0")
        # The optimisation fields share TrainerConfig's checks.
        self.trainer_config()

    def trainer_config(self) -> TrainerConfig:
        """The optimisation settings as a :class:`TrainerConfig` (for :func:`build_optimizer`)."""
        return TrainerConfig(
            epochs=self.epochs,
            lr=self.lr,
            weight_decay=self.weight_decay,
            warmup_steps=self.warmup_steps,
            min_lr_ratio=self.min_lr_ratio,
            grad_clip=self.grad_clip,
            patience=self.patience,
            min_delta=self.min_delta,
            seed=self.seed,
            device=self.device,
            progress=self.progress,
            dist_timeout_s=self.dist_timeout_s,
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


def relative_candles(windows: np.ndarray) -> np.ndarray:
    """Scale-free model inputs from OHLC(V) candle windows: log prices relative to the window's last close
    and, with volume, ``log1p(volume)`` minus its window mean. Shape ``(N, T, 4 or 5)``, float32.

    Every window then lives on one scale whatever the price level, so an encoder pre-trained on one
    market and period can read another.

    Example:
        >>> w = np.array([[[100.0, 101.0, 99.0, 100.0], [100.0, 102.0, 99.0, 101.0]]])
        >>> relative_candles(w)[0, :, 3].tolist()  # closes relative to the last one
        [-0.00995033048093319, 0.0]
    """
    x = np.asarray(windows, dtype=np.float64)
    if x.ndim != 3 or x.shape[2] not in (4, 5):
        raise ShapeError(f"windows must be (N, T, 4 or 5) OHLC(V) candles, got shape {x.shape}")
    if not np.isfinite(x).all() or (x[..., :4] <= 0).any():
        raise DataError("candle prices must be finite and > 0")
    out = np.log(x[..., :4] / x[:, -1:, 3:4])
    if x.shape[2] == 5:
        v = np.log1p(np.maximum(x[..., 4:5], 0.0))
        out = np.concatenate([out, v - v.mean(axis=1, keepdims=True)], axis=2)
    return out.astype(np.float32)


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


def _check_windows(windows: np.ndarray, name: str) -> np.ndarray:
    x = np.asarray(windows)
    if x.ndim != 3 or x.shape[0] < 1:
        raise ShapeError(f"{name} must be (N >= 1, T, F), got shape {x.shape}")
    if not np.isfinite(x).all():
        raise DataError(f"{name} contain NaN or Inf")
    return x


class _Objective(nn.Module):
    """The autoencoder's loss as a forward pass: DistributedDataParallel synchronises through forward."""

    def __init__(self, model: MaskedBiLSTMAutoencoder) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        return self.model.loss(x, mask)


def _masks(cfg: PretrainConfig, n: int, length: int, seed: int) -> torch.Tensor:
    m = kernels.mask(n, length, cfg.mask_ratio, cfg.mask_strategy, cfg.patch_size, seed=seed)
    return torch.from_numpy(m)


def pretrain_encoder(
    windows: np.ndarray,
    model_config: MaskedBiLSTMAutoencoderConfig,
    config: PretrainConfig | None = None,
    encoder_path: str | os.PathLike | None = None,
    *,
    val_windows: np.ndarray | None = None,
    transform: Callable[[np.ndarray], np.ndarray] | None = None,
    extra: dict[str, str] | None = None,
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

    Raises:
        ShapeError, DataError: bad windows. ConfigError: augmentation without candles, bad settings.

    Example:
        >>> cfg = MaskedBiLSTMAutoencoderConfig(input_size=28, hidden_size=64)
        >>> result = pretrain_encoder(windows, cfg, PretrainConfig(), "encoder.safetensors")  # doctest: +SKIP
        >>> result.best_val_loss                                                            # doctest: +SKIP
    """
    cfg = config or PretrainConfig()
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
        train_raw = kernels.augment_dataset(train_raw, cfg.num_augmentations, seed=cfg.seed)
    prepare = transform or (lambda w: np.asarray(w, dtype=np.float32))
    train_x = torch.from_numpy(np.ascontiguousarray(prepare(train_raw), dtype=np.float32))
    val_x = torch.from_numpy(np.ascontiguousarray(prepare(val_raw), dtype=np.float32))
    if train_x.shape[2] != model_config.input_size:
        raise ShapeError(
            f"inputs have {train_x.shape[2]} features but input_size is {model_config.input_size}"
        )

    seed_everything(cfg.seed)
    device = distributed.setup(cfg.device, cfg.dist_timeout_s)
    model = MaskedBiLSTMAutoencoder(model_config).to(device)
    objective = distributed.wrap_model(_Objective(model), device)
    optimizer = build_optimizer(model, cfg.trainer_config())
    val_mask = _masks(cfg, len(val_x), length, seed=cfg.seed + 2**32)
    shuffle = torch.Generator().manual_seed(cfg.seed)
    batches = -(-len(train_x) // cfg.batch_size)
    total_steps = cfg.epochs * batches
    use_autocast = cfg.autocast and device.type == "cuda"
    history, stopper = History(), EarlyStopping(cfg.patience, cfg.min_delta, "min")
    best_state: dict[str, torch.Tensor] = {}
    step = 0
    show = cfg.progress and distributed.is_main()
    for epoch in range(cfg.epochs):
        started = time.perf_counter()
        objective.train()
        masks = _masks(cfg, len(train_x), length, seed=cfg.seed * 100_003 + epoch)
        order = torch.randperm(len(train_x), generator=shuffle)
        total = 0.0
        for b in tqdm(
            range(batches), desc=f"pretrain {epoch + 1}/{cfg.epochs}", disable=not show, leave=False
        ):
            # Every rank draws the same order; each trains on its share of the global batch.
            batch = order[b * cfg.batch_size : (b + 1) * cfg.batch_size]
            idx, n = distributed.share_of(batch)
            lr = lr_at(
                step,
                base_lr=cfg.lr,
                warmup_steps=cfg.warmup_steps,
                total_steps=total_steps,
                min_lr=cfg.lr * cfg.min_lr_ratio,
            )
            for group in optimizer.param_groups:
                group["lr"] = lr
            with torch.autocast("cuda", dtype=torch.bfloat16) if use_autocast else contextlib.nullcontext():
                loss, _ = objective(train_x[idx].to(device), masks[idx].to(device))
            optimizer.zero_grad(set_to_none=True)
            weight = distributed.loss_weight(n, len(batch))  # 1 in one process
            (loss if weight == 1.0 else loss * weight).backward()
            if cfg.grad_clip is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            optimizer.step()
            step += 1
            total += float(loss.detach()) * n
        val = _validate(model, val_x, val_mask, cfg.batch_size, device)
        record = {
            "epoch": epoch + 1,
            "train_loss": distributed.all_reduce_sum([total], device)[0] / len(train_x),
            **val,
            "lr": lr,
            "seconds": time.perf_counter() - started,
        }
        record = distributed.broadcast_from_main(record)  # every rank stops on the same numbers
        history.append(record)
        if stopper.update(record["val_loss"], epoch + 1):
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        if stopper.should_stop:
            break
    if best_state:
        model.load_state_dict(best_state)
    model.eval()
    path = Path(encoder_path) if encoder_path is not None else None
    if path is not None and distributed.is_main():
        note = {
            "best_val_loss": stopper.best,
            "best_epoch": stopper.best_epoch,
            "config": asdict(cfg),
            "train_windows": len(train_x),
            "val_windows": len(val_x),
        }
        model.encoder_only().save(path, extra={**(extra or {}), "pretraining": json.dumps(note)})
    distributed.barrier()  # the encoder file exists for every rank once this returns
    return PretrainResult(model, history, stopper.best, stopper.best_epoch, path)


@torch.no_grad()
def _validate(
    model: MaskedBiLSTMAutoencoder, x: torch.Tensor, mask: torch.Tensor, batch_size: int, device: torch.device
) -> dict[str, float]:
    model.eval()
    sums = {"val_loss": 0.0, "val_reconstruction": 0.0, "val_latent": 0.0}
    # Under torchrun each rank validates one contiguous block; the sums are added over ranks.
    lo, hi = distributed.shard_bounds(len(x), distributed.rank(), distributed.world_size())
    for start in range(lo, hi, batch_size):
        stop = min(start + batch_size, hi)
        xb, mb = x[start:stop].to(device), mask[start:stop].to(device)
        loss, parts = model.loss(xb, mb)
        n = len(xb)
        sums["val_loss"] += float(loss) * n
        sums["val_reconstruction"] += float(parts["reconstruction"]) * n
        sums["val_latent"] += float(parts["latent"]) * n
    totals = distributed.all_reduce_sum(list(sums.values()), device)
    return {k: v / len(x) for k, v in zip(sums, totals, strict=True)}
