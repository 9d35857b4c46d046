"""The training loop: AdamW, a learning-rate schedule, gradient clipping, early stopping, the best
checkpoint, resumable state, history. One class, read top to bottom, and the only loop in the package:
fine-tuning, forecasting and masked pre-training all run here. The task adapter
(:mod:`neural_trader.training.tasks`) is the only model-specific part: it decides what the model computes
on a batch (``task.forward``), the loss, and the metrics.

Launched by ``torchrun``, the same code trains on every rank with DistributedDataParallel: the trainer
joins the process group, wraps the model, cuts every global batch of the training loader across ranks,
gathers evaluation predictions, decides on rank 0's numbers and writes files from rank 0 only (see
:mod:`neural_trader.training.distributed`).

Example:
    >>> cfg = TrainerConfig(epochs=10, out_dir="runs/a")
    >>> history = Trainer(model, ClassificationTask(), cfg).fit(loaders.train, loaders.val)  # doctest: +SKIP
    >>> resumed = Trainer(model, ClassificationTask(), cfg)                                 # doctest: +SKIP
    >>> resumed.fit(loaders.train, loaders.val, resume_from="runs/a/last.safetensors")      # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from neural_trader.checkpoint import Checkpoint
from neural_trader.errors import CheckpointError, ConfigError, NeuralTraderError
from neural_trader.models import memory
from neural_trader.training import distributed
from neural_trader.training.config import TrainerConfig
from neural_trader.training.early_stopping import EarlyStopping
from neural_trader.training.history import History
from neural_trader.training.optimizer import build_optimizer
from neural_trader.training.resume import (
    identity_differences,
    optimizer_state_from_flat,
    optimizer_state_to_flat,
    read_training_state,
    write_training_state,
)
from neural_trader.training.rng import capture_rng, loader_generators, restore_rng, seed_everything
from neural_trader.training.schedule import lr_at
from neural_trader.training.tasks import Task, task_forward

# Kept importable from here, where they were first defined.
resolve_device = distributed.resolve_device
__all__ = ["BEST_CHECKPOINT", "RESUME_STATE", "Trainer", "build_optimizer", "resolve_device"]

BEST_CHECKPOINT = "best.safetensors"
RESUME_STATE = "last.safetensors"


class Trainer:
    """Fits a model with a task adapter; see :class:`TrainerConfig` for every knob.

    Args:
        model: the module to train (moved to the configured device).
        task: a task adapter (loss, predictions, metrics).
        config: training configuration.
        optimizer: built by :func:`build_optimizer` when not given.
        checkpoint_extra: metadata stored in every best checkpoint (e.g. the scaler's JSON).
        keep_best: keep a copy of the best epoch's weights in memory, for :meth:`restore_best` without an
            ``out_dir`` (one copy of the parameters).
        run_identity: what makes this run this run beyond the config (JSON values, e.g. the model config,
            the data spec, a fingerprint of the training windows): stored in the resume file, and a
            resume file whose identity differs is refused (:func:`~neural_trader.training.resume.
            identity_differences`).

    Attributes:
        history: one record per epoch (``epoch``, ``train_loss``, ``val_loss``, ``val_<metric>``, ``lr``,
            and what the task's ``start_epoch`` returns, e.g. ``teacher_forcing_ratio``).
        stopper: the early-stopping state (best value and epoch).
        epoch: epochs completed. step: optimizer steps taken.
    """

    def __init__(
        self,
        model: nn.Module,
        task: Task,
        config: TrainerConfig,
        *,
        optimizer: torch.optim.Optimizer | None = None,
        checkpoint_extra: dict[str, str] | None = None,
        keep_best: bool = False,
        run_identity: dict[str, Any] | None = None,
    ) -> None:
        self.config = config
        # Through JSON once, so it compares equal to what a resume file gives back (tuples become lists).
        self.run_identity = None if run_identity is None else json.loads(json.dumps(run_identity))
        self.device = distributed.setup(config.device, config.dist_timeout_s)
        self.model = model.to(self.device)
        self.task = task
        self.optimizer = optimizer or build_optimizer(model, config)
        self.scheduler = None
        if config.schedule == "plateau":
            self.scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
                self.optimizer,
                mode=config.mode,
                factor=config.plateau_factor,
                patience=config.plateau_patience,
            )
        self.checkpoint_extra = dict(checkpoint_extra or {})
        self.history = History()
        self.stopper = EarlyStopping(config.patience, config.min_delta, config.mode)
        self.epoch = 0
        self.step = 0
        self.lr_scale = 1.0
        self.frozen: list[str] = []
        self.out_dir = Path(config.out_dir) if config.out_dir else None
        self.keep_best = keep_best
        self.best_state: dict[str, torch.Tensor] | None = None

    # ----------------------------------------------------------------------------------------- fit
    def fit(
        self, train_loader: Iterable, val_loader: Iterable, *, resume_from: str | os.PathLike | None = None
    ) -> History:
        """Trains until ``config.epochs`` or early stopping; returns the history.

        Args:
            train_loader: batches ``(x, y)``; shuffling through a seeded ``torch.Generator`` is resumable.
            val_loader: validation batches, evaluated after every epoch.
            resume_from: a ``last.safetensors`` written by an earlier run with the same config: training
                continues after its last completed epoch, with the same model, optimizer, schedule,
                early-stopping and random states.

        Under ``torchrun`` every rank calls ``fit`` with the same loaders (same data, same seeds); the
        training loader's ``batch_size`` is the global batch (see :mod:`~neural_trader.training.distributed`).

        Raises:
            CheckpointError: an unreadable or mismatched resume file. ConfigError: a monitored key the
                history lacks, a resume file made with different settings, ranks with different data.
            FloatingPointError: the training loss became NaN or Inf.
        """
        cfg = self.config
        self._unchecked_batch = _largest_batch(train_loader)
        if resume_from is not None:
            self.load_state(resume_from, train_loader)
        else:
            seed_everything(cfg.seed)
            self.frozen = [n for n, p in self._unwrapped().named_parameters() if not p.requires_grad]
        batches = distributed.shard_for_training(train_loader, cfg.seed)
        distributed.check_same(
            (len(batches), distributed.generator_digest(loader_generators(train_loader))),
            "the training loader (number of batches, shuffling generator state)",
        )
        self.model = distributed.wrap_model(self.model, self.device)
        main = distributed.is_main()
        if self.out_dir is not None and main:
            self.out_dir.mkdir(parents=True, exist_ok=True)
        total_steps = cfg.epochs * max(1, len(batches))
        while self.epoch < cfg.epochs and not self.stopper.should_stop:
            started = time.perf_counter()
            self._maybe_unfreeze()
            task_values = self._begin_epoch(train_loader)
            train_loss = self._train_epoch(batches, total_steps)
            val = self.evaluate(val_loader)
            self.epoch += 1
            record = {"epoch": self.epoch, "train_loss": train_loss, "lr": self._current_lr()}
            record.update(task_values)
            record.update({f"val_{k}": v for k, v in val.items()})
            record["seconds"] = time.perf_counter() - started
            # Every rank decides on rank 0's record: the same early stop, schedule step and best epoch.
            record = distributed.broadcast_from_main(record)
            self.history.append(record)
            if cfg.monitor not in record:
                raise ConfigError(f"monitor {cfg.monitor!r} is not in the history; keys: {sorted(record)}")
            if self.scheduler is not None:
                self.scheduler.step(record[cfg.monitor])
            improved = self.stopper.update(record[cfg.monitor], self.epoch)
            if improved and self.keep_best:
                self.best_state = {k: v.detach().clone() for k, v in self._unwrapped().state_dict().items()}
            if self.out_dir is not None and main:
                if improved:
                    self._save_best()
                self.save_state(self.out_dir / RESUME_STATE, train_loader)
                self.history.save(self.out_dir / "history.json")
        if self.out_dir is not None and main and self.history.records:
            self.history.plot(self.out_dir / "history.png", title=type(self._unwrapped()).__name__)
        distributed.barrier()  # rank 0's files exist for every rank once fit returns
        return self.history

    def _begin_epoch(self, train_loader: Iterable) -> dict[str, float]:
        """Tells the loader's sampler, its dataset and the task which epoch starts: a
        ``DistributedSampler`` shuffles by it, an epoch-aware dataset (e.g.
        :class:`~neural_trader.training.MaskedWindows`) draws by it, a task with ``start_epoch`` (e.g.
        :class:`~neural_trader.training.ForecastTask`'s teacher-forcing schedule) sets itself by it and
        returns values for the epoch's history record."""
        distributed.set_epoch(train_loader, self.epoch)
        dataset = getattr(train_loader, "dataset", None)
        if callable(getattr(dataset, "set_epoch", None)):
            dataset.set_epoch(self.epoch)
        start = getattr(self.task, "start_epoch", None)
        return dict(start(self.epoch, self._unwrapped())) if callable(start) else {}

    def _train_epoch(self, batches: Iterable, total_steps: int) -> float:
        cfg = self.config
        self.model.train()
        # float64: the epoch's mean loss is a sum over thousands of batches.
        total = torch.zeros((), dtype=torch.float64, device=self.device)
        count = 0
        show = cfg.progress and distributed.is_main()
        bar = tqdm(
            distributed.counted(batches),
            total=len(batches),  # type: ignore[arg-type]
            desc=f"epoch {self.epoch + 1}/{cfg.epochs}",
            disable=not show,
            leave=False,
        )
        for x, y, n, weight in bar:
            if self._unchecked_batch is not None:  # the first batch of fit, before its forward
                _check_fits(self._unwrapped(), x, self._unchecked_batch, self.device)
                self._unchecked_batch = None
            x, y = x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)
            self._set_lr(total_steps)
            with self._autocast():
                loss = self.task.loss(task_forward(self.task, self.model, x, y), x, y)
            self.optimizer.zero_grad(set_to_none=True)
            # weight is 1 in one process; across ranks it turns DDP's mean of rank means into the mean
            # over the global batch (distributed.loss_weight).
            (loss if weight == 1.0 else loss * weight).backward()
            if cfg.grad_clip is not None:
                trainable = [p for p in self.model.parameters() if p.grad is not None]
                nn.utils.clip_grad_norm_(trainable, cfg.grad_clip)
            self.optimizer.step()
            self.step += 1
            total += loss.detach().double() * n
            count += n
            if show and self.step % 20 == 0:
                bar.set_postfix(loss=f"{float(loss.detach()):.4f}")
        total_sum, count = distributed.all_reduce_sum([float(total), count], self.device)
        mean = total_sum / max(count, 1)
        if not np.isfinite(mean):
            raise FloatingPointError(
                f"training loss is {mean} in epoch {self.epoch + 1}; "
                "lower the learning rate or check the inputs"
            )
        return mean

    def _set_lr(self, total_steps: int) -> None:
        cfg = self.config
        if cfg.schedule == "plateau":
            return  # ReduceLROnPlateau owns the learning rate.
        lr = lr_at(
            self.step,
            base_lr=cfg.lr,
            warmup_steps=cfg.warmup_steps,
            total_steps=total_steps,
            min_lr=cfg.lr_floor(),
        )
        for group in self.optimizer.param_groups:
            group["lr"] = lr * self.lr_scale

    def _current_lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.config.autocast and self.device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _maybe_unfreeze(self) -> None:
        cfg = self.config
        if cfg.unfreeze_after_epochs is None or self.epoch != cfg.unfreeze_after_epochs or not self.frozen:
            return
        params = dict(self._unwrapped().named_parameters())
        for name in self.frozen:
            params[name].requires_grad_(True)
        self.frozen = []
        if distributed.is_distributed():
            # DDP synchronises the parameters that required a gradient when it was built: wrap anew
            # (dropping the old wrapper first, which removes its gradient hooks).
            self.model = self._unwrapped()
            self.model = distributed.wrap_model(self.model, self.device)
        self.lr_scale *= cfg.unfreeze_lr_factor
        if self.scheduler is not None:
            for group in self.optimizer.param_groups:
                group["lr"] *= cfg.unfreeze_lr_factor

    def _unwrapped(self) -> nn.Module:
        return getattr(self.model, "module", self.model)

    # ------------------------------------------------------------------------------------ evaluate
    @torch.no_grad()
    def predict(self, loader: Iterable) -> tuple[float, dict[str, np.ndarray]]:
        """Mean loss and the task's concatenated predictions over ``loader``, in eval mode.

        Under ``torchrun`` (every rank must call it) each rank predicts a contiguous block of the
        loader's windows and every rank gets the whole result, in the loader's order.
        """
        model = self._unwrapped().eval()  # no DDP wrapper: evaluation has no gradients to synchronise
        total, count = 0.0, 0
        collected: dict[str, list[np.ndarray]] = defaultdict(list)
        for x, y in distributed.shard_for_evaluation(loader):
            x, y = x.to(self.device), y.to(self.device)
            with self._autocast():
                output = task_forward(self.task, model, x, y)
                loss = self.task.loss(output, x, y)
            total += float(loss) * len(x)
            count += len(x)
            for key, value in self.task.predictions(output, y).items():
                collected[key].append(value)
        total, count = distributed.all_reduce_sum([total, count], self.device)
        if count == 0:
            raise NeuralTraderError("the evaluation loader yielded no batch")
        gathered = distributed.gather_arrays({k: np.concatenate(v) for k, v in collected.items()})
        return total / count, gathered

    def evaluate(self, loader: Iterable) -> dict[str, float]:
        """``{"loss": ..., <task metrics>}`` over ``loader`` (rank 0's values on every rank).

        Example:
            >>> trainer.evaluate(loaders.test)["balanced_accuracy"]  # doctest: +SKIP
            0.51
        """
        loss, collected = self.predict(loader)
        return distributed.broadcast_from_main({"loss": loss, **self.task.metrics(collected)})

    # ------------------------------------------------------------------------------- checkpoints
    def _save_best(self) -> None:
        model = self._unwrapped()
        if not hasattr(model, "save"):
            return
        note = {"epoch": self.epoch, "monitor": self.config.monitor, "value": self.stopper.best}
        extra = {**self.checkpoint_extra, "training": json.dumps(note)}
        model.save(self.out_dir / BEST_CHECKPOINT, extra=extra)

    def restore_best(self) -> bool:
        """Loads the best epoch's weights into the model: the copy kept in memory (``keep_best``), else
        ``best.safetensors`` in ``out_dir`` (e.g. after resuming a run whose best epoch came before the
        interruption). Returns whether there were any (none when no epoch improved).

        Raises:
            CheckpointError: the best checkpoint does not fit the model.
        """
        model = self._unwrapped()
        state = self.best_state
        if state is None and self.best_checkpoint is not None:
            state = Checkpoint.read(self.best_checkpoint).tensors
        if state is None:
            return False
        try:
            model.load_state_dict(state, strict=True)
        except RuntimeError as e:
            raise CheckpointError(f"the best weights do not fit the model: {e}") from None
        return True

    @property
    def best_checkpoint(self) -> Path | None:
        """Path of the best model checkpoint, if one was written."""
        path = self.out_dir / BEST_CHECKPOINT if self.out_dir is not None else None
        return path if path is not None and path.exists() else None

    def save_state(self, path: str | os.PathLike, train_loader: Any = None) -> None:
        """Writes the resume file (format in :mod:`neural_trader.training.resume`); under ``torchrun``
        only rank 0 writes (every rank holds the same state)."""
        if not distributed.is_main():
            return
        model = self._unwrapped()
        opt_tensors, opt_meta = optimizer_state_to_flat(self.optimizer)
        rng_tensors, rng_meta = capture_rng(
            loader_generators(train_loader) if train_loader is not None else []
        )
        state = {
            "epoch": self.epoch,
            "step": self.step,
            "lr_scale": self.lr_scale,
            "frozen": self.frozen,
            "early_stopping": self.stopper.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "config": self.config.to_dict(),
            "history": json.loads(self.history.to_json()),
            "optimizer": opt_meta,
            "rng": rng_meta,
        }
        if self.run_identity is not None:
            state["identity"] = self.run_identity
        write_training_state(
            path,
            model_name=getattr(model, "registry_name", type(model).__name__),
            model_tensors=model.state_dict(),
            optimizer_tensors=opt_tensors,
            rng_tensors=rng_tensors,
            state=state,
        )

    def load_state(self, path: str | os.PathLike, train_loader: Any = None) -> None:
        """Restores a resume file written by :meth:`save_state` into this trainer.

        Raises:
            CheckpointError: another model, unreadable file, tensors that do not fit.
            ConfigError: the file was written with settings that may not change on resume, or by a run
                of another identity (``run_identity``).
        """
        saved = read_training_state(path)
        model = self._unwrapped()
        name = getattr(model, "registry_name", type(model).__name__)
        if saved.model != name:
            raise CheckpointError(f"{path}: resume state of model {saved.model!r}, not {name!r}")
        s = saved.state
        if self.run_identity is not None:
            differences = identity_differences(s.get("identity"), self.run_identity)
            if differences:
                raise ConfigError(f"cannot resume from {path}: not this run's resume file ({differences})")
        changed = self.config.differences(TrainerConfig.from_dict(s["config"]))
        if changed:
            raise ConfigError(f"{path}: cannot resume with changed settings {changed}")
        try:
            model.load_state_dict(saved.model_tensors, strict=True)
        except RuntimeError as e:
            raise CheckpointError(f"{path}: model tensors do not fit: {e}") from None
        params = dict(model.named_parameters())
        for pname, p in params.items():
            p.requires_grad_(pname not in s["frozen"])
        optimizer_state_from_flat(self.optimizer, saved.optimizer_tensors, s["optimizer"])
        if self.scheduler is not None and s["scheduler"] is not None:
            self.scheduler.load_state_dict(s["scheduler"])
        restore_rng(
            saved.rng_tensors, s["rng"], loader_generators(train_loader) if train_loader is not None else []
        )
        self.epoch, self.step, self.lr_scale = int(s["epoch"]), int(s["step"]), float(s["lr_scale"])
        self.frozen = list(s["frozen"])
        self.stopper.load_state_dict(s["early_stopping"])
        self.history = History.from_json(json.dumps(s["history"]))


def _largest_batch(loader: Iterable) -> int:
    """The largest batch a training loader yields: its ``batch_size`` (the global batch under DDP), at most
    its dataset's length; 0 when it says neither (then the first batch's own size is used)."""
    batch = getattr(loader, "batch_size", None) or 0
    try:
        return min(batch, len(loader.dataset)) if batch else 0  # type: ignore[attr-defined]
    except (AttributeError, TypeError):
        return batch


def _check_fits(model: nn.Module, x: torch.Tensor, batch: int, device: torch.device) -> None:
    """Refuses training that cannot fit in the device's memory (:func:`memory.check_training`), from the
    largest batch and the window length of the first training batch ``x``. Checked on that batch, not on
    ``dataset[0]`` read ahead: reading a window the loader did not ask for is a side effect a dataset may
    see (one that records or streams its windows)."""
    steps = int(x.shape[1]) if x.ndim >= 3 else 1
    memory.check_training(model, max(batch, int(x.shape[0])), steps, device)
