"""The trainer's configuration: one dataclass, every field with the reason for its default."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

from neural_trader import recipe
from neural_trader.errors import ConfigError
from neural_trader.validation import choice, flag, integer, learning_rate, positive_int, random_seed, real

#: Fields that may differ between an interrupted run and its resumption (they do not change the maths
#: of the steps already taken). Any other difference is refused, so a resumed run is the run it claims.
RESUMABLE_CHANGES = frozenset(
    {"epochs", "patience", "min_delta", "progress", "out_dir", "device", "dist_timeout_s"}
)


@dataclass
class TrainerConfig:
    """How :class:`~neural_trader.training.Trainer` trains.

    Example:
        >>> TrainerConfig(epochs=5, lr=3e-4, schedule="plateau").schedule
        'plateau'
    """

    epochs: int = 20
    # AdamW's peak learning rate. 1e-3 is the usual safe start for small LSTMs with Adam.
    lr: float = 1e-3
    # Decoupled weight decay on matrices only (biases, norms, the mask token are not decayed): it shrinks
    # weights towards zero, a mild prior that noisy financial targets need.
    weight_decay: float = 0.01
    betas: tuple[float, float] = (0.9, 0.999)
    # "cosine": warm-up then cosine decay, a pure function of the step (schedule.lr_at); "constant":
    # warm-up then flat; "plateau": torch's ReduceLROnPlateau on `monitor`, for runs of unknown length.
    schedule: Literal["cosine", "constant", "plateau"] = "cosine"
    # Linear warm-up steps ("cosine"/"constant"); lets Adam's moment estimates settle before full steps.
    warmup_steps: int = 0
    # Cosine floor as a fraction of lr: the last epochs still learn a little instead of freezing.
    min_lr_ratio: float = 0.05
    # Cosine floor as an absolute learning rate; when set it replaces min_lr_ratio (the pre-training recipe
    # decays to 1e-5 whatever the peak).
    min_lr: float | None = None
    # ReduceLROnPlateau: multiply the lr by this after `plateau_patience` epochs without improvement.
    plateau_factor: float = 0.5
    plateau_patience: int = 2
    # Clip the global gradient norm: LSTMs occasionally produce exploding gradients on outlier bars.
    grad_clip: float | None = 1.0
    # History key that decides the best checkpoint, early stopping and the plateau schedule:
    # "val_loss" or "val_<metric>" of the task (e.g. "val_balanced_accuracy" with mode "max").
    monitor: str = "val_loss"
    mode: Literal["min", "max"] = "min"
    # Early stopping: stop after `patience` epochs whose monitored value did not beat the best by
    # more than `min_delta`; validation loss on market data turns up early and keeps rising.
    patience: int = 5
    min_delta: float = 0.0
    # Freeze-then-unfreeze for fine-tuning: parameters frozen when fit() starts (e.g. by
    # transfer.load_pretrained_strict) stay frozen for this many epochs, so the new head first learns
    # to read the pre-trained features without its random gradients wrecking them; then everything
    # trains with the learning rate multiplied by `unfreeze_lr_factor`. None: never unfreeze.
    unfreeze_after_epochs: int | None = None
    unfreeze_lr_factor: float = recipe.UNFREEZE_LR_FACTOR
    # bfloat16 autocast on CUDA (no loss scaling needed, unlike float16); always off on CPU, where it
    # is slower and would change the numbers that the CPU tests compare bit for bit.
    autocast: bool = True
    # Seeds python, numpy and torch when fit() starts a run (a resumed run restores the saved states).
    seed: int = 0
    # Where best.safetensors (model), last.safetensors (resume state), history.json/png go; None: nowhere.
    out_dir: str | None = None
    progress: bool = True
    # "auto" picks CUDA when available (under torchrun: this rank's GPU, cuda:LOCAL_RANK).
    device: str = "auto"
    # Under torchrun: seconds a collective waits for the other ranks before raising, so a rank that
    # hangs fails the run instead of stalling it forever. Long enough for rank 0 to write checkpoints
    # and plots while the others wait at the next collective.
    dist_timeout_s: float = 300.0

    def __post_init__(self) -> None:
        for name in ("epochs", "plateau_patience", "patience"):
            setattr(self, name, positive_int(name, getattr(self, name)))
        self.warmup_steps = integer("warmup_steps", self.warmup_steps, low=0)
        self.seed = random_seed("seed", self.seed)
        self.lr = learning_rate("lr", self.lr)
        self.weight_decay = real("weight_decay", self.weight_decay, low=0.0)
        self.min_lr_ratio = real("min_lr_ratio", self.min_lr_ratio, low=0.0, high=1.0)
        if self.min_lr is not None:
            self.min_lr = real("min_lr", self.min_lr, low=0.0, high=self.lr)
        if isinstance(self.betas, str) or not isinstance(self.betas, (tuple, list)) or len(self.betas) != 2:
            raise ConfigError(f"betas must be two numbers in [0, 1), got {self.betas!r}")
        self.betas = tuple(real("betas entry", b, low=0.0, high=1.0, high_open=True) for b in self.betas)
        choice("schedule", self.schedule, ("cosine", "constant", "plateau"))
        self.plateau_factor = real(
            "plateau_factor", self.plateau_factor, low=0.0, high=1.0, low_open=True, high_open=True
        )
        self.unfreeze_lr_factor = real(
            "unfreeze_lr_factor", self.unfreeze_lr_factor, low=0.0, high=1.0, low_open=True
        )
        if self.grad_clip is not None:
            self.grad_clip = real("grad_clip", self.grad_clip, low=0.0, low_open=True)
        choice("mode", self.mode, ("min", "max"))
        if not isinstance(self.monitor, str) or not self.monitor.startswith(("val_", "train_")):
            raise ConfigError(f"monitor must name a history key such as 'val_loss', got {self.monitor!r}")
        self.dist_timeout_s = real("dist_timeout_s", self.dist_timeout_s, low=0.0, low_open=True)
        self.min_delta = real("min_delta", self.min_delta, low=0.0)
        if self.unfreeze_after_epochs is not None:
            self.unfreeze_after_epochs = integer("unfreeze_after_epochs", self.unfreeze_after_epochs, low=0)
        self.autocast = flag("autocast", self.autocast)
        self.progress = flag("progress", self.progress)

    def lr_floor(self) -> float:
        """The learning rate the schedule ends at: ``min_lr`` if set, else ``lr * min_lr_ratio``
        (``lr`` itself for the constant schedule).

        Example:
            >>> TrainerConfig(lr=1e-3, min_lr=1e-5).lr_floor(), TrainerConfig(lr=1e-3).lr_floor()
            (1e-05, 5e-05)
        """
        if self.schedule == "constant":
            return self.lr
        return self.min_lr if self.min_lr is not None else self.lr * self.min_lr_ratio

    def to_dict(self) -> dict[str, Any]:
        """The config as JSON-ready values."""
        values = dataclasses.asdict(self)
        values["betas"] = list(self.betas)
        return values

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainerConfig:
        """Inverse of :meth:`to_dict`; unknown fields raise ``ConfigError``."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ConfigError(f"TrainerConfig has no field(s) {unknown}")
        return cls(**values)

    def differences(self, other: TrainerConfig) -> list[str]:
        """Names of the fields that differ from ``other`` and may not change on resume."""
        mine, theirs = self.to_dict(), other.to_dict()
        return sorted(k for k in mine if k not in RESUMABLE_CHANGES and mine[k] != theirs[k])
