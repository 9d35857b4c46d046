"""``neural-trader pretrain``: masked pre-training of a BiLSTM encoder on unlabelled training windows.

Only training rows are used (each symbol's chronological training part, or the training part of a split
file), so an encoder pre-trained here can be fine-tuned and then tested on later rows without having seen
them. Each symbol's windows are split in time (the last ``val_fraction`` of them validate, after a gap of
one window length); symbols are pooled. With candle inputs the training windows can be augmented (time
warp, jitter, volatility scaling on raw OHLCV, then made relative); validation windows never are.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neural_trader import recipe
from neural_trader.data import DataSpec, Series, fit_scaler, make_windows, relative_candles, resolve_spec
from neural_trader.data.fingerprint import fingerprint
from neural_trader.errors import ConfigError
from neural_trader.models import MaskedBiLSTMAutoencoderConfig
from neural_trader.training import (
    PretrainConfig,
    PretrainResult,
    TrainerConfig,
    pretrain_encoder,
    split_windows,
)
from neural_trader.workflows.encoder_guard import FINGERPRINT_KEY


@dataclass
class PretrainOptions:
    """The pre-training recipe (sizes of the encoder, masking, optimisation); the defaults are the
    recipe's (:mod:`neural_trader.recipe`): patch masks of 7 steps at ratio 0.15, 50 epochs of batches of
    512 with patience 10, cosine to 1e-5, gradient clip 1.0, latent weight 0.1."""

    epochs: int = recipe.PRETRAIN_EPOCHS
    patience: int = recipe.PRETRAIN_PATIENCE
    mask_ratio: float = recipe.MASK_RATIO
    mask_strategy: str = recipe.MASK_STRATEGY
    patch_size: int = recipe.PATCH_SIZE
    hidden_size: int = 64
    num_layers: int = 2
    batch_size: int = recipe.PRETRAIN_BATCH_SIZE
    lr: float = 1e-3
    # Absolute floor of the cosine schedule.
    min_lr: float = recipe.PRETRAIN_MIN_LR
    grad_clip: float = recipe.GRAD_CLIP
    latent_weight: float = recipe.LATENT_WEIGHT
    augment: bool = False
    num_augmentations: int = 2
    val_fraction: float = 0.15
    seed: int = 0
    device: str = "auto"
    progress: bool = True


def pretrain(
    series: list[Series],
    spec: DataSpec,
    train_rows: dict[str, tuple[int, int]],
    output: str | os.PathLike,
    options: PretrainOptions | None = None,
    *,
    source: str = "",
) -> tuple[PretrainResult, dict[str, int]]:
    """Pre-trains and writes the encoder (``lstm_encoder`` checkpoint) to ``output``; the training history
    goes beside it (``<output stem>.history.json`` and ``.png``).

    Returns:
        The :class:`~neural_trader.training.PretrainResult` and the window counts ``{"train", "val"}``
        (before augmentation).

    The spec's inputs may be any :class:`~neural_trader.data.DataSpec` inputs (your columns too); they are
    resolved against ``series`` and stored with the encoder, so ``train --pretrained-encoder`` can check
    that the model reads the same columns.

    Raises:
        ConfigError: ``augment`` with inputs other than candles alone, bad settings. DataError: too few
            windows.
    """
    o = options or PretrainOptions()
    candles_only = spec.input_items == ("candles",)
    if o.augment and not candles_only:
        raise ConfigError(
            "--augment works on raw OHLCV candles (time warp, jitter, volatility scaling): "
            "add --inputs candles"
        )
    spec = resolve_spec(spec, series, train_rows)
    scaler = fit_scaler(series, train_rows, spec)
    train_parts, val_parts = [], []
    for s in series:
        rows = train_rows[s.symbol]
        w = make_windows(s, spec, scaler, rows, labelled=False, raw_candles=candles_only)
        a, b = split_windows(w.x, o.val_fraction, gap=spec.window)
        train_parts.append(a)
        val_parts.append(b)
    train_x, val_x = np.concatenate(train_parts), np.concatenate(val_parts)
    # Raw candles become relative per window, after augmentation; other inputs are final already.
    transform = relative_candles if candles_only else None
    model_config = MaskedBiLSTMAutoencoderConfig(
        input_size=len(spec.input_columns),
        hidden_size=o.hidden_size,
        num_layers=o.num_layers,
        decoder_hidden=[max(32, o.hidden_size)],
        latent_weight=o.latent_weight,
    )
    config = PretrainConfig(
        mask_ratio=o.mask_ratio,
        mask_strategy=o.mask_strategy,
        patch_size=o.patch_size,
        num_augmentations=o.num_augmentations if o.augment else 0,
        batch_size=o.batch_size,
        val_fraction=o.val_fraction,
        trainer=TrainerConfig(
            epochs=o.epochs,
            lr=o.lr,
            min_lr=o.min_lr,
            grad_clip=o.grad_clip,
            patience=o.patience,
            seed=o.seed,
            progress=o.progress,
            device=o.device,
        ),
    )
    # The dates of the rows seen, so `train` can refuse an encoder that saw its validation or test bars.
    periods = {
        s.symbol: [
            s.index[train_rows[s.symbol][0]].isoformat(),
            s.index[train_rows[s.symbol][1] - 1].isoformat(),
        ]
        for s in series
    }
    extra = {
        "data": spec.to_json(),
        "source": source,
        "train_rows": json.dumps(train_rows),
        "pretrain_periods": json.dumps(periods),
        # The rows seen, by content: `train` recognises them under any file name.
        FINGERPRINT_KEY: json.dumps({s.symbol: fingerprint(s, train_rows[s.symbol]) for s in series}),
    }
    if scaler is not None:
        extra["scaler"] = json.dumps(scaler.to_dict())
    output = Path(output)
    if output.parent != Path(""):
        output.parent.mkdir(parents=True, exist_ok=True)
    result = pretrain_encoder(
        train_x, model_config, config, output, val_windows=val_x, transform=transform, extra=extra
    )
    stem = output.with_suffix("")
    result.history.save(f"{stem}.history.json")
    result.history.plot(f"{stem}.history.png", title="masked pre-training")
    return result, {"train": len(train_x), "val": len(val_x)}
