"""``neural-trader train``: fit a registry model on windows of one or more symbols, optionally from a
pre-trained encoder, keep the best epoch, and score it on the test part.

Every symbol is split on its own rows (one split each); the spec's inputs are resolved to an explicit
column list (:func:`~neural_trader.data.resolve_spec`); the scaler is fit on the training rows of all
symbols together; training windows of all symbols are pooled and shuffled. Each part's labels must end
before the next part starts, by their actual end rows (:func:`~neural_trader.data.check_label_ends`). The
checkpoint (``best.safetensors``, the epoch with the lowest validation loss) carries in its metadata
everything that ``evaluate`` and ``predict`` need to rebuild the same inputs: the resolved data spec, the
scaler (and a regression label's scaler), every symbol's split and the dates of its parts.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader, TensorDataset

import neural_trader as nt
from neural_trader import recipe
from neural_trader.data import (
    DataSpec,
    Series,
    Split,
    Windows,
    check_label_ends,
    fit_scaler,
    label_scaler,
    make_windows,
    resolve_spec,
)
from neural_trader.errors import ConfigError
from neural_trader.models import ScheduledSampling, TaskOptions
from neural_trader.training import (
    Trainer,
    TrainerConfig,
    TransferReport,
    load_pretrained_strict,
    seed_everything,
)
from neural_trader.workflows.build import ModelOptions, build_model, make_task
from neural_trader.workflows.encoder_guard import check_encoder
from neural_trader.workflows.metadata_checks import time_record
from neural_trader.workflows.run_identity import run_identity

PARTS = ("train", "val", "test")


@dataclass
class TrainOptions:
    """How ``train`` fits (the optimisation settings go to :class:`~neural_trader.training.TrainerConfig`)."""

    epochs: int = 20
    patience: int = 5
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.01
    warmup_steps: int = 0
    # Inverse-frequency class weights in the loss, from the training labels.
    class_weights: bool = True
    pretrained_encoder: str | None = None
    freeze_encoder: bool = True
    # Epochs the loaded (frozen) encoder stays frozen before everything trains at half the learning rate;
    # None: the recipe's 10. A value >= epochs keeps it frozen to the end.
    unfreeze_after: int | None = None
    seed: int = 0
    device: str = "auto"
    progress: bool = True
    # A resume file (``last.safetensors``) of an interrupted run of this very run (same model, options,
    # data and split, checked): training continues after its last epoch, bit for bit.
    resume_from: str | os.PathLike | None = None
    # lstm_attention: the teacher-forcing ratio per epoch (None: the model config's ratio, constant).
    teacher_forcing: ScheduledSampling | None = None
    # trend_attention: weights of the trend-score MSE and the up/down cross-entropy (the recipe's).
    regression_weight: float = recipe.REGRESSION_WEIGHT
    classification_weight: float = recipe.CLASSIFICATION_WEIGHT

    def task_options(self) -> TaskOptions:
        """The task settings these options hold (the run's seed draws the task's coin flips)."""
        return TaskOptions(
            teacher_forcing=self.teacher_forcing,
            regression_weight=self.regression_weight,
            classification_weight=self.classification_weight,
            seed=self.seed,
        )


@dataclass
class TrainResult:
    """What ``train`` did.

    Attributes:
        checkpoint: the best epoch's model file.
        model: registry name. epochs: epochs run. best_epoch: the kept one. best_val_loss: its loss.
        test_metrics: the task's metrics on the test windows (``loss`` included).
        windows: ``{part: count}`` over all symbols.
        transfer: the encoder transfer report, if a pre-trained encoder was loaded.
        pretrained_stats: per loaded tensor: name, shape, norm, frozen, relative change after training.
        spec: the data spec as trained, its input columns resolved (stored in the checkpoint).
    """

    checkpoint: Path
    model: str
    epochs: int
    best_epoch: int
    best_val_loss: float
    test_metrics: dict[str, float]
    windows: dict[str, int]
    transfer: TransferReport | None
    pretrained_stats: list[dict[str, Any]] | None
    spec: DataSpec | None = None


def part_windows(
    series: list[Series], spec: DataSpec, scaler: Any, splits: dict[str, Split], part: str
) -> list[Windows]:
    """Labelled windows of ``part`` for every symbol."""
    return [make_windows(s, spec, scaler, getattr(splits[s.symbol], part)) for s in series]


def stack(windows: list[Windows]) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and labels of several symbols' windows, concatenated."""
    return np.concatenate([w.x for w in windows]), np.concatenate([w.y for w in windows])


def _loader(x: np.ndarray, y: np.ndarray, batch_size: int, seed: int | None) -> DataLoader:
    dataset = TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    return DataLoader(dataset, batch_size=batch_size, shuffle=seed is not None, generator=generator)


def checkpoint_metadata(
    spec: DataSpec, scaler: Any, splits: dict[str, Split], windows: dict[str, list[Windows]], source: str
) -> dict[str, str]:
    """The metadata ``evaluate`` and ``predict`` read back (all values JSON strings)."""
    periods: dict[str, dict[str, list[str]]] = {}
    for part in PARTS:
        for w in windows[part]:
            first, last = (pd.Timestamp(d).isoformat() for d in (w.dates[0], w.dates[-1]))
            periods.setdefault(w.symbol, {})[part] = [first, last]
    meta = {
        "data": spec.to_json(),
        "splits": json.dumps({sym: json.loads(split.to_json()) for sym, split in splits.items()}),
        "periods": json.dumps(periods),
        "source": source,
    }
    if scaler is not None:
        meta["scaler"] = json.dumps(scaler.to_dict())
    return meta


def unfreeze_epochs(opts: TrainOptions) -> int | None:
    """The epoch after which a frozen pre-trained encoder is released (the trainer's
    ``unfreeze_after_epochs``): the recipe's 10 unless ``opts.unfreeze_after`` says otherwise; None
    without an encoder to unfreeze.

    Raises:
        ConfigError: ``unfreeze_after`` without a pre-trained encoder, or with ``freeze_encoder=False``
            (nothing frozen to release).

    Example:
        >>> unfreeze_epochs(TrainOptions(pretrained_encoder="enc.safetensors"))
        10
        >>> unfreeze_epochs(TrainOptions()) is None
        True
    """
    if opts.unfreeze_after is not None and opts.pretrained_encoder is None:
        raise ConfigError("unfreeze_after needs a pretrained_encoder (--pretrained-encoder)")
    if opts.unfreeze_after is not None and not opts.freeze_encoder:
        raise ConfigError(
            "--unfreeze-after releases a frozen encoder: it cannot be used with --no-freeze-encoder "
            "(unfreeze_after with freeze_encoder=False)"
        )
    if opts.pretrained_encoder is None or not opts.freeze_encoder:
        return None
    return recipe.FREEZE_EPOCHS if opts.unfreeze_after is None else opts.unfreeze_after


def train(
    name: str,
    series: list[Series],
    spec: DataSpec,
    splits: dict[str, Split],
    out_dir: str | os.PathLike,
    *,
    model_options: ModelOptions | None = None,
    options: TrainOptions | None = None,
    source: str = "",
) -> TrainResult:
    """Trains model ``name`` and writes ``best.safetensors``, ``history.json`` and ``history.png``.

    Raises:
        ConfigError: an untrainable model or bad settings. DataError: a part without labelled windows.
        CheckpointError: a pre-trained encoder that does not fit the model, an unreadable resume file.
        ConfigError: a resume file of another run (model, options, data or split), named.

    Example:
        >>> result = train("bilstm_classifier", load_series("goog.csv", 5), DataSpec(), splits, "runs/a")
        ...                                                                          # doctest: +SKIP
    """
    opts = options or TrainOptions()
    seed_everything(opts.seed)
    train_rows = {sym: s.train for sym, s in splits.items()}
    spec = resolve_spec(spec, series, train_rows)
    for s in series:
        check_label_ends(s, spec, splits[s.symbol])
    model = build_model(name, spec, model_options or ModelOptions())
    scaler = fit_scaler(series, train_rows, spec)
    windows = {part: part_windows(series, spec, scaler, splits, part) for part in PARTS}
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = (stack(windows[p]) for p in PARTS)

    transfer, before = None, {}
    if opts.pretrained_encoder is not None:
        provenance = check_encoder(opts.pretrained_encoder, spec, series, splits)
        transfer = load_pretrained_strict(model, opts.pretrained_encoder, freeze_encoder=opts.freeze_encoder)
        state = model.state_dict()
        before = {k: state[k].detach().clone() for k in transfer.matched}

    task = make_task(name, spec, y_train, class_weights=opts.class_weights, options=opts.task_options())
    config = TrainerConfig(
        epochs=opts.epochs,
        lr=opts.lr,
        weight_decay=opts.weight_decay,
        warmup_steps=opts.warmup_steps,
        patience=opts.patience,
        seed=opts.seed,
        out_dir=os.fspath(out_dir),
        progress=opts.progress,
        device=opts.device,
        unfreeze_after_epochs=unfreeze_epochs(opts),
    )
    meta = checkpoint_metadata(spec, scaler, splits, windows, source)
    meta["time"] = json.dumps(time_record(series))  # the time convention and the file's time zone
    target_scaler = label_scaler(spec, y_train)
    if target_scaler is not None:
        meta["label_scaler"] = json.dumps(target_scaler.to_dict())
    if transfer is not None:
        meta["transfer"] = json.dumps({"source": transfer.source, "ratio": transfer.ratio})
        meta["encoder_provenance"] = json.dumps(provenance)
    identity = run_identity(
        name,
        model,
        spec,
        splits,
        {"train": (x_train, y_train), "val": (x_val, y_val)},
        batch_size=opts.batch_size,
        class_weights=opts.class_weights,
        pretrained_encoder=opts.pretrained_encoder,
        freeze_encoder=opts.freeze_encoder,
    )
    trainer = Trainer(model, task, config, checkpoint_extra=meta, run_identity=identity)
    trainer.fit(
        _loader(x_train, y_train, opts.batch_size, opts.seed),
        _loader(x_val, y_val, opts.batch_size, None),
        resume_from=opts.resume_from,
    )
    if trainer.best_checkpoint is None:
        raise ConfigError("training produced no checkpoint (the validation loss was never finite)")
    best = nt.load(trainer.best_checkpoint)
    scorer = Trainer(best, task, replace(config, out_dir=None, progress=False))
    test_metrics = scorer.evaluate(_loader(x_test, y_test, 1024, None))
    return TrainResult(
        checkpoint=trainer.best_checkpoint,
        model=name,
        epochs=trainer.epoch,
        best_epoch=trainer.stopper.best_epoch,
        best_val_loss=float(trainer.stopper.best),
        test_metrics={k: float(v) for k, v in test_metrics.items()},
        windows={"train": len(x_train), "val": len(x_val), "test": len(x_test)},
        transfer=transfer,
        pretrained_stats=_pretrained_stats(before, best, transfer) if transfer is not None else None,
        spec=spec,
    )


def _pretrained_stats(
    before: dict[str, torch.Tensor], best: torch.nn.Module, transfer: TransferReport
) -> list[dict[str, Any]]:
    after = best.state_dict()
    rows = []
    for k, w in before.items():
        norm = float(w.norm())
        change = float((after[k].cpu() - w.cpu()).norm()) / norm if norm > 0 else float("nan")
        rows.append(
            {
                "name": k,
                "shape": list(w.shape),
                "norm": norm,
                "mean": float(w.mean()),
                "std": float(w.std()),
                "frozen_at_start": k in transfer.frozen,
                "relative_change": change,
            }
        )
    return rows
