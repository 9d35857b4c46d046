"""Whether a model fits in memory, checked before it is allocated.

A size that passes every config bound (``hidden_size`` up to 2**20, 64 layers) can still ask for
terabytes: ``hidden_size=200000`` is 640 GB of LSTM weights. Allocating it fails deep inside torch (or
the operating system kills the process once the pages are touched), so the sizes are checked first:

* :func:`check_parameters` (every :class:`~neural_trader.models.TwinModel` at construction): the model is
  built on the meta device (no memory), its parameters counted, and 4 bytes each compared with the
  memory available;
* :func:`check_training` (the :class:`~neural_trader.training.Trainer`, before its first step): the
  parameters with their gradients and AdamW's two moments, plus an estimate of the activations one batch
  keeps for the backward pass, against the training device's memory.

Both raise :class:`~neural_trader.errors.ConfigError` naming the sizes; neither refuses a model that
fits, since the estimates are lower bounds of what torch will ask for.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from neural_trader.errors import ConfigError

FLOAT_BYTES = 4
# Per step and unit, what an LSTM layer keeps for backward: its four gates, the cell and the output.
_LSTM_SAVED_PER_UNIT = 6
# The config fields that say how big a model is, named in the error.
_SIZE_FIELDS = (
    "input_size",
    "hidden_size",
    "num_layers",
    "num_encoder_layers",
    "num_decoder_layers",
    "num_heads",
    "horizon",
    "output_size",
)


def building_on_meta() -> bool:
    """Whether modules are being built on the meta device (the sizing build itself)."""
    return torch.get_default_device().type == "meta"


def available_bytes(device: str | torch.device = "cpu") -> int | None:
    """Memory a new allocation can take on ``device``: free CUDA memory, or the kernel's MemAvailable
    (else free physical pages); None when the platform does not say."""
    device = torch.device(device)
    if device.type == "cuda":
        try:
            return int(torch.cuda.mem_get_info(device)[0])
        except (RuntimeError, AssertionError):
            return None
    if device.type != "cpu":
        return None
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def parameter_count(cls: type[nn.Module], config: Any) -> int | None:
    """Scalar parameters of ``cls(config)``, counted on the meta device; None when the model cannot be
    built there (an ``__init__`` that computes values)."""
    try:
        with torch.device("meta"):
            skeleton = cls(config)
    except (NotImplementedError, RuntimeError):
        return None
    return sum(p.numel() for p in skeleton.parameters()) + sum(b.numel() for b in skeleton.buffers())


def describe_sizes(config: Any) -> str:
    """``hidden_size=200000, num_layers=2`` for the error message."""
    sizes = [f"{k}={getattr(config, k)}" for k in _SIZE_FIELDS if hasattr(config, k)]
    return ", ".join(sizes)


def human_bytes(n: float) -> str:
    """``1.2 GB``."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.3g} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1000
    return f"{n:.3g} TB"


def check_parameters(model_name: str, cls: type[nn.Module], config: Any) -> None:
    """Refuses a model whose parameters alone exceed the memory available, before any is allocated.

    Raises:
        ConfigError: naming the model, its sizes, the bytes needed and the bytes available.

    Example:
        >>> from neural_trader.models import BiLSTMClassifier, BiLSTMClassifierConfig
        >>> check_parameters("bilstm_classifier", BiLSTMClassifier, BiLSTMClassifierConfig(4, 8))
    """
    if building_on_meta():
        return
    count = parameter_count(cls, config)
    if count is None:
        return
    what = f"{model_name} ({describe_sizes(config)}) has {count:,} parameters"
    _refuse_beyond(count * FLOAT_BYTES, "cpu", what)


def activation_bytes(model: nn.Module, batch: int, steps: int) -> int:
    """A lower bound of what one training batch of ``batch`` windows of ``steps`` steps keeps for the
    backward pass: every LSTM layer's gates and states per step, every attention's weights per pair of
    steps, every linear layer's outputs per step."""
    floats = batch * steps * _first_width(model)
    for module in model.modules():
        if isinstance(module, nn.LSTM):
            directions = 2 if module.bidirectional else 1
            per_step = module.num_layers * directions * _LSTM_SAVED_PER_UNIT * module.hidden_size
            floats += batch * steps * per_step
        elif isinstance(module, nn.MultiheadAttention):
            floats += 2 * batch * module.num_heads * steps * steps + 4 * batch * steps * module.embed_dim
        elif isinstance(module, nn.Linear):
            floats += batch * steps * module.out_features
    return floats * FLOAT_BYTES


def check_training(model: nn.Module, batch: int, steps: int, device: str | torch.device) -> None:
    """Refuses training that cannot fit: the parameters, their gradients and AdamW's two moments, and one
    batch's activations (:func:`activation_bytes`), against the memory of ``device``.

    Raises:
        ConfigError: naming the model, its sizes, the batch and the bytes needed and available.
    """
    params = list(model.parameters())
    count = sum(p.numel() for p in params)
    # Weights already allocated (a real model, not the meta sizing build) are not asked for again.
    copies = 4 if params and params[0].device.type == "meta" else 3
    needed = copies * count * FLOAT_BYTES + activation_bytes(model, batch, steps)
    config = getattr(model, "config", None)
    name = getattr(model, "registry_name", type(model).__name__)
    sizes = describe_sizes(config) if config is not None else ""
    what = f"training {name} ({sizes}{', ' if sizes else ''}batch_size={batch}, window={steps}) on one batch"
    _refuse_beyond(needed, device, what)


def check_training_build(
    build: Callable[[], nn.Module], batch: int, steps: int, device: str | torch.device
) -> None:
    """:func:`check_training` on the model ``build()`` makes, built on the meta device first: training
    that cannot fit is refused before a single parameter is allocated.

    Raises:
        ConfigError: see :func:`check_training`.
    """
    try:
        with torch.device("meta"):
            sizing = build()
    except (NotImplementedError, RuntimeError):
        return
    check_training(sizing, batch, steps, resolve_device(device))


def resolve_device(device: str | torch.device) -> torch.device:
    """``auto`` as the trainer resolves it: CUDA when available, else the CPU."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _first_width(model: nn.Module) -> int:
    config = getattr(model, "config", None)
    return int(getattr(config, "input_size", 1) or 1)


def _refuse_beyond(needed: int, device: str | torch.device, what: str) -> None:
    available = available_bytes(device)
    if available is not None and needed > available:
        raise ConfigError(
            f"{what}: it needs at least {human_bytes(needed)} of memory, more than the "
            f"{human_bytes(available)} available on {device}; lower the sizes"
        )
