"""The training loop: AdamW, a learning-rate schedule, gradient clipping, early stopping, the best
checkpoint, resumable state, history. One class, read top to bottom; the task adapter
(:mod:`neural_trader.training.tasks`) is the only model-specific part.

Creation is kept separable for DistributedDataParallel later: build the model, wrap it, build the
optimizer (:func:`build_optimizer`) and the loaders (with a ``DistributedSampler``) outside, then hand
them in. Saving goes through ``model.module`` when the model is wrapped.

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

from neural_trader.errors import CheckpointError, ConfigError, NeuralTraderError
from neural_trader.training.config import TrainerConfig
from neural_trader.training.early_stopping import EarlyStopping
from neural_trader.training.history import History
from neural_trader.training.resume import (
    optimizer_state_from_flat,
    optimizer_state_to_flat,
    read_training_state,
    write_training_state,
)
from neural_trader.training.rng import capture_rng, loader_generators, restore_rng, seed_everything
from neural_trader.training.schedule import lr_at
from neural_trader.training.tasks import Task

BEST_CHECKPOINT = "best.safetensors"
RESUME_STATE = "last.safetensors"


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


def resolve_device(name: str) -> torch.device:
    """``"auto"`` -> CUDA if available else CPU; anything else as ``torch.device(name)``."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


class Trainer:
    """Fits a model with a task adapter; see :class:`TrainerConfig` for every knob.

    Args:
        model: the module to train (moved to the configured device).
        task: a task adapter (loss, predictions, metrics).
        config: training configuration.
        optimizer: built by :func:`build_optimizer` when not given.
        checkpoint_extra: metadata stored in every best checkpoint (e.g. the scaler's JSON).

    Attributes:
        history: one record per epoch (``epoch``, ``train_loss``, ``val_loss``, ``val_<metric>``, ``lr``).
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
    ) -> None:
        self.config = config
        self.device = resolve_device(config.device)
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

        Raises:
            CheckpointError: an unreadable or mismatched resume file. ConfigError: a monitored key the
                history lacks, a resume file made with different settings.
            FloatingPointError: the training loss became NaN or Inf.
        """
        cfg = self.config
        if resume_from is not None:
            self.load_state(resume_from, train_loader)
        else:
            seed_everything(cfg.seed)
            self.frozen = [n for n, p in self._unwrapped().named_parameters() if not p.requires_grad]
        if self.out_dir is not None:
            self.out_dir.mkdir(parents=True, exist_ok=True)
        total_steps = cfg.epochs * max(1, len(train_loader))
        while self.epoch < cfg.epochs and not self.stopper.should_stop:
            started = time.perf_counter()
            self._maybe_unfreeze()
            train_loss = self._train_epoch(train_loader, total_steps)
            val = self.evaluate(val_loader)
            self.epoch += 1
            record = {"epoch": self.epoch, "train_loss": train_loss, "lr": self._current_lr()}
            record.update({f"val_{k}": v for k, v in val.items()})
            record["seconds"] = time.perf_counter() - started
            self.history.append(record)
            if cfg.monitor not in record:
                raise ConfigError(f"monitor {cfg.monitor!r} is not in the history; keys: {sorted(record)}")
            if self.scheduler is not None:
                self.scheduler.step(record[cfg.monitor])
            if self.stopper.update(record[cfg.monitor], self.epoch) and self.out_dir is not None:
                self._save_best()
            if self.out_dir is not None:
                self.save_state(self.out_dir / RESUME_STATE, train_loader)
                self.history.save(self.out_dir / "history.json")
        if self.out_dir is not None and self.history.records:
            self.history.plot(self.out_dir / "history.png", title=type(self._unwrapped()).__name__)
        return self.history

    def _train_epoch(self, loader: Iterable, total_steps: int) -> float:
        cfg = self.config
        self.model.train()
        total = torch.zeros((), device=self.device)
        count = 0
        bar = tqdm(loader, desc=f"epoch {self.epoch + 1}/{cfg.epochs}", disable=not cfg.progress, leave=False)
        for x, y in bar:
            x, y = x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)
            self._set_lr(total_steps)
            with self._autocast():
                loss = self.task.loss(self.model(x), x, y)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip is not None:
                trainable = [p for p in self.model.parameters() if p.grad is not None]
                nn.utils.clip_grad_norm_(trainable, cfg.grad_clip)
            self.optimizer.step()
            self.step += 1
            total += loss.detach().float() * len(x)
            count += len(x)
            if cfg.progress and self.step % 20 == 0:
                bar.set_postfix(loss=f"{float(loss):.4f}")
        mean = float(total) / max(count, 1)
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
        floor = cfg.lr if cfg.schedule == "constant" else cfg.lr * cfg.min_lr_ratio
        lr = lr_at(
            self.step, base_lr=cfg.lr, warmup_steps=cfg.warmup_steps, total_steps=total_steps, min_lr=floor
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
        self.lr_scale *= cfg.unfreeze_lr_factor
        if self.scheduler is not None:
            for group in self.optimizer.param_groups:
                group["lr"] *= cfg.unfreeze_lr_factor

    def _unwrapped(self) -> nn.Module:
        return getattr(self.model, "module", self.model)

    # ------------------------------------------------------------------------------------ evaluate
    @torch.no_grad()
    def predict(self, loader: Iterable) -> tuple[float, dict[str, np.ndarray]]:
        """Mean loss and the task's concatenated predictions over ``loader``, in eval mode."""
        self.model.eval()
        total, count = 0.0, 0
        collected: dict[str, list[np.ndarray]] = defaultdict(list)
        for x, y in loader:
            x, y = x.to(self.device), y.to(self.device)
            with self._autocast():
                output = self.model(x)
                loss = self.task.loss(output, x, y)
            total += float(loss) * len(x)
            count += len(x)
            for key, value in self.task.predictions(output, y).items():
                collected[key].append(value)
        if count == 0:
            raise NeuralTraderError("the evaluation loader yielded no batch")
        return total / count, {k: np.concatenate(v) for k, v in collected.items()}

    def evaluate(self, loader: Iterable) -> dict[str, float]:
        """``{"loss": ..., <task metrics>}`` over ``loader``.

        Example:
            >>> trainer.evaluate(loaders.test)["balanced_accuracy"]  # doctest: +SKIP
            0.51
        """
        loss, collected = self.predict(loader)
        return {"loss": loss, **self.task.metrics(collected)}

    # ------------------------------------------------------------------------------- checkpoints
    def _save_best(self) -> None:
        model = self._unwrapped()
        if not hasattr(model, "save"):
            return
        note = {"epoch": self.epoch, "monitor": self.config.monitor, "value": self.stopper.best}
        extra = {**self.checkpoint_extra, "training": json.dumps(note)}
        model.save(self.out_dir / BEST_CHECKPOINT, extra=extra)

    @property
    def best_checkpoint(self) -> Path | None:
        """Path of the best model checkpoint, if one was written."""
        path = self.out_dir / BEST_CHECKPOINT if self.out_dir is not None else None
        return path if path is not None and path.exists() else None

    def save_state(self, path: str | os.PathLike, train_loader: Any = None) -> None:
        """Writes the resume file (format in :mod:`neural_trader.training.resume`)."""
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
            ConfigError: the file was written with settings that may not change on resume.
        """
        saved = read_training_state(path)
        model = self._unwrapped()
        name = getattr(model, "registry_name", type(model).__name__)
        if saved.model != name:
            raise CheckpointError(f"{path}: resume state of model {saved.model!r}, not {name!r}")
        s = saved.state
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
