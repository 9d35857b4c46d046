"""``neural-trader train``: fit a registry model on windows of one or more symbols, optionally from a
pre-trained encoder, keep the best epoch, and score it on the test part.

Every symbol is split on its own rows (one split each); the spec's inputs are resolved to an explicit
column list (:func:`~neural_trader.data.resolve_spec`); the scaler is fit on the training rows of all
symbols together; training windows of all symbols are pooled and shuffled, gathered batch by batch from
the input rows unless they are small (:func:`pool`). Each part's labels must end before the next part
starts, by their actual end rows (:func:`~neural_trader.data.check_label_ends`). The checkpoint
(``best.safetensors``, the epoch with the lowest validation loss) carries in its metadata everything that
``evaluate`` and ``predict`` need to rebuild the same inputs: the resolved data spec, the scaler (and a
regression label's scaler), every symbol's split and the dates of its parts.
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
    resolve_spec,
)
from neural_trader.data.batches import WindowBatches, batch_loader
from neural_trader.data.gathered import LazyWindows, choose_windows, should_gather
from neural_trader.data.windows import make_part_windows
from neural_trader.errors import ConfigError
from neural_trader.models import ScheduledSampling, TaskOptions, memory
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
    # How windows are read: None materialises them when small and gathers them per batch otherwise;
    # True always gathers, False always materialises (the same batches either way).
    gather: bool | None = None
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
    series: list[Series], spec: DataSpec, scaler: Any, splits: dict[str, Split]
) -> dict[str, list[Windows]]:
    """Labelled windows of every part for every symbol, ``{part: [one Windows per symbol]}``, all gathered
    when read (:func:`pool` decides whether to materialise them)."""
    windows: dict[str, list[Windows]] = {part: [] for part in PARTS}
    for s in series:
        rows = [getattr(splits[s.symbol], part) for part in PARTS]
        for part, w in zip(PARTS, make_part_windows(s, spec, scaler, rows, gather=True), strict=True):
            windows[part].append(w)
    return windows


def pool(windows: dict[str, list[Windows]], gather: bool | None = None) -> dict[str, WindowBatches]:
    """Each part's windows of every symbol as one dataset (windows never mix two symbols), materialised or
    gathered per batch as ``gather`` says; ``None`` decides by the size of all the parts together (see
    :func:`~neural_trader.data.gathered.should_gather`)."""
    x = {part: LazyWindows.concat([w.x for w in ws]) for part, ws in windows.items()}  # type: ignore[misc]
    gather = should_gather(sum(v.nbytes for v in x.values()), gather)
    y = {part: ws[0].y if len(ws) == 1 else np.concatenate([w.y for w in ws]) for part, ws in windows.items()}
    return {part: WindowBatches(choose_windows(x[part], gather), y[part]) for part in windows}


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
    sizes = model_options or ModelOptions()
    # At most one batch of every training row's window: checked before the model is allocated.
    rows = sum(b - a for a, b in train_rows.values())
    memory.check_training_build(
        lambda: build_model(name, spec, sizes), min(opts.batch_size, max(rows, 1)), spec.window, opts.device
    )
    model = build_model(name, spec, sizes)
    scaler = fit_scaler(series, train_rows, spec)
    windows = part_windows(series, spec, scaler, splits)
    meta = checkpoint_metadata(spec, scaler, splits, windows, source)
    meta["time"] = json.dumps(time_record(series))  # the time convention and the file's time zone
    pooled = pool(windows, opts.gather)
    train_set, val_set, test_set = (pooled[p] for p in PARTS)
    del windows  # the per-symbol labels and dates; the pooled sets hold what training reads
    target_scaler = label_scaler(spec, train_set.y)
    if target_scaler is not None:
        meta["label_scaler"] = json.dumps(target_scaler.to_dict())

    transfer, before = None, {}
    if opts.pretrained_encoder is not None:
        provenance = check_encoder(opts.pretrained_encoder, spec, series, splits)
        transfer = load_pretrained_strict(model, opts.pretrained_encoder, freeze_encoder=opts.freeze_encoder)
        state = model.state_dict()
        before = {k: state[k].detach().clone() for k in transfer.matched}

    task = make_task(name, spec, train_set.y, class_weights=opts.class_weights, options=opts.task_options())
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
    if transfer is not None:
        meta["transfer"] = json.dumps({"source": transfer.source, "ratio": transfer.ratio})
        meta["encoder_provenance"] = json.dumps(provenance)
    identity = run_identity(
        name,
        model,
        spec,
        splits,
        {"train": (train_set.x, train_set.y), "val": (val_set.x, val_set.y)},
        batch_size=opts.batch_size,
        class_weights=opts.class_weights,
        pretrained_encoder=opts.pretrained_encoder,
        freeze_encoder=opts.freeze_encoder,
    )
    trainer = Trainer(model, task, config, checkpoint_extra=meta, run_identity=identity)
    trainer.fit(
        batch_loader(train_set, opts.batch_size, seed=opts.seed),
        batch_loader(val_set, opts.batch_size),
        resume_from=opts.resume_from,
    )
    if trainer.best_checkpoint is None:
        raise ConfigError("training produced no checkpoint (the validation loss was never finite)")
    best = nt.load(trainer.best_checkpoint)
    scorer = Trainer(best, task, replace(config, out_dir=None, progress=False))
    test_metrics = scorer.evaluate(batch_loader(test_set, 1024))
    return TrainResult(
        checkpoint=trainer.best_checkpoint,
        model=name,
        epochs=trainer.epoch,
        best_epoch=trainer.stopper.best_epoch,
        best_val_loss=float(trainer.stopper.best),
        test_metrics={k: float(v) for k, v in test_metrics.items()},
        windows={"train": len(train_set), "val": len(val_set), "test": len(test_set)},
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
