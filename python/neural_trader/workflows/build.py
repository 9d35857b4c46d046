"""What ``train``, ``evaluate`` and ``predict`` need from a model, read from its declaration.

Nothing here names a model: :data:`~neural_trader.models.MODELS` maps registry names to classes, and each
class declares its task, how it is built, its task adapter and its outputs (see
:mod:`neural_trader.models.base`).

Outputs are one dict for every model and both engines: ``proba`` ``(N, C)`` (class probabilities),
``value`` ``(N,)`` (a regression head's output, standardised like its training labels), ``trend``
``(N,)`` (trend scores, ``trend_attention``) and ``forecast`` ``(N, H, O)`` (standardised values,
``lstm_attention``); a model with several horizons adds ``proba_{h}`` and ``trend_{h}`` for each.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd
import torch

from neural_trader.data.spec import TASKS, DataSpec
from neural_trader.errors import CheckpointError, ConfigError
from neural_trader.models import BASELINES, MODELS, PRETRAINING, ModelOptions, TaskOptions, TwinModel
from neural_trader.training.tasks import Task

__all__ = [
    "ModelOptions",
    "TaskOptions",
    "build_model",
    "check_finite_outputs",
    "make_task",
    "model_class",
    "native_outputs",
    "registry_rows",
    "task_of",
    "torch_outputs",
    "trainable",
]


def trainable() -> dict[str, str]:
    """``{registry name: task}`` of the models ``train`` fits, from their declarations."""
    return {name: cls.task for name, cls in MODELS.items() if cls.task in TASKS}


def model_class(name: str) -> type[TwinModel]:
    """The class of a model ``train`` fits.

    Raises:
        ConfigError: a baseline, a pre-training model or an unknown name, each with what to do instead.
    """
    cls = MODELS.get(name)
    if cls is not None and cls.task in TASKS:
        return cls
    if name in BASELINES:
        raise ConfigError(
            f"{name!r} is a baseline, not a trainable model: `neural-trader evaluate` fits every baseline "
            "on the training windows of each split"
        )
    if cls is not None and cls.task == PRETRAINING:
        raise ConfigError(f"{name!r} is the pre-training model: use `neural-trader pretrain`")
    raise ConfigError(
        f"unknown model {name!r}; trainable models: {', '.join(trainable())} (see `neural-trader models`)"
    )


def task_of(name: str) -> str:
    """The task that model ``name`` learns (``direction``, ``trend`` or ``forecast``).

    Raises:
        ConfigError: see :func:`model_class`.
    """
    return model_class(name).task


def build_model(name: str, spec: DataSpec, options: ModelOptions) -> TwinModel:
    """A fresh model of registry name ``name`` for windows of ``spec``.

    Raises:
        ConfigError: an untrainable model, a model whose task differs from the spec's, bad sizes.
    """
    cls = model_class(name)
    if cls.task != spec.task:
        raise ConfigError(f"{name} learns the {cls.task} task, but the data spec is for {spec.task}")
    model = cls.from_options(spec, options)
    built = getattr(model.config, "num_classes", None)
    if spec.task == "direction" and built is not None and built != spec.num_classes:
        raise ConfigError(
            f"{name} was built with num_classes={built}, but the label {spec.label!r} needs "
            f"{spec.num_classes} (0: one real output): its from_options must read spec.num_classes"
        )
    return model


def make_task(
    name: str,
    spec: DataSpec,
    y_train: np.ndarray,
    *,
    class_weights: bool = True,
    options: TaskOptions | None = None,
) -> Task:
    """The task adapter of model ``name``, as the model declares it (e.g. class-weighted cross-entropy
    for direction, with weights from the training labels; teacher forcing for a forecaster)."""
    return model_class(name).make_task(spec, y_train, class_weights=class_weights, options=options)


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _with_proba(parts: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Logits become class probabilities (float64 softmax), the same for both twins: ``logits`` ->
    ``proba`` and, for a model with one head per horizon, ``logits_{h}`` -> ``proba_{h}``; the one output
    of a regression head (``num_classes=0``) becomes ``value``."""
    for key in [k for k in parts if k == "logits" or k.startswith("logits_")]:
        logits = parts.pop(key).astype(np.float64)
        if key == "logits" and logits.shape[1] == 1:
            parts["value"] = logits[:, 0]
        else:
            parts[key.replace("logits", "proba", 1)] = _softmax(logits)
    return parts


@torch.no_grad()
def torch_outputs(
    model: TwinModel, x: np.ndarray, spec: DataSpec, *, device: str = "cpu", batch_size: int = 1024
) -> dict[str, np.ndarray]:
    """The model's outputs on windows ``x`` in eval mode (see the module docstring for the keys)."""
    model = model.to(device).eval()
    chunks: dict[str, list[np.ndarray]] = {}
    for start in range(0, len(x), batch_size):
        xb = torch.from_numpy(np.ascontiguousarray(x[start : start + batch_size])).to(device)
        for k, v in model.output_dict(model(xb), horizon=spec.horizon).items():
            chunks.setdefault(k, []).append(v.float().cpu().numpy())
    return _with_proba({k: np.concatenate(v) for k, v in chunks.items()})


def native_outputs(
    engine: Any, x: np.ndarray, spec: DataSpec | None = None, *, batch_size: int = 4096
) -> dict[str, np.ndarray]:
    """The outputs of a :class:`~neural_trader.native.NativeModel` on windows ``x``, mapped by the
    declaration of the model the engine serves (``batch_size`` windows at a time, so windows gathered
    when read are never all materialised)."""
    horizon = spec.horizon if spec is not None else None
    declared = MODELS[engine.model]
    chunks: dict[str, list[np.ndarray]] = {}
    for start in range(0, max(len(x), 1), batch_size):
        xb = np.ascontiguousarray(x[start : start + batch_size])
        for k, v in declared.native_output_dict(engine.predict(xb), horizon=horizon).items():
            chunks.setdefault(k, []).append(v)
    return _with_proba({k: np.concatenate(v) for k, v in chunks.items()})


def check_finite_outputs(
    out: dict[str, np.ndarray], source: object, dates: Any = None, model: TwinModel | None = None
) -> None:
    """Refuses outputs holding NaN or Inf: a probability of NaN has no class, so no row may be predicted
    or scored from it. The inputs were checked finite, so the weights are to blame: the error names the
    first tensor of ``model`` that is not finite, when there is one.

    Args:
        out: the outputs of :func:`torch_outputs` or :func:`native_outputs`.
        source: the checkpoint (its path), for the message.
        dates: the windows' end timestamps, to name the first bad window.
        model: the torch twin, whose tensors are searched for NaN or Inf.

    Raises:
        CheckpointError: e.g. ``m.safetensors: the model's proba is NaN or infinite for 736 of 736
        windows (first: the window ending 2004-11-18); its tensor `head.bias` holds NaN or Inf``.

    Example:
        >>> check_finite_outputs({"proba": np.array([[0.4, 0.6]])}, "m.safetensors")
    """
    for key, values in out.items():
        bad = ~np.isfinite(values).reshape(len(values), -1).all(axis=1)
        if not bad.any():
            continue
        first = int(np.argmax(bad))
        where = f"window {first}"
        if dates is not None:
            stamp = pd.Timestamp(dates[first])
            where = f"window ending {stamp.date() if stamp == stamp.normalize() else stamp}"
        why = ""
        if model is not None:
            tensors = model.state_dict().items()
            culprit = next(
                (n for n, t in tensors if t.is_floating_point() and not torch.isfinite(t).all()), None
            )
            why = f"; its tensor `{culprit}` holds NaN or Inf" if culprit else ""
        raise CheckpointError(
            f"{source}: the model's {key} is NaN or infinite for {int(bad.sum())} of {len(values)} windows "
            f"(first: the {where}){why}: no prediction or score can be made from it"
        )


def _first_line(doc: str | None) -> str:
    """First docstring line without reST markup (``x`` and :func:`x` become x)."""
    line = (doc or "").strip().splitlines()[0] if doc and doc.strip() else ""
    return re.sub(r":\w+:`~?([^`]+)`", r"\1", line).replace("``", "")


def registry_rows() -> list[tuple[str, str, str]]:
    """``(name, kind, description)`` of every model and baseline, for ``neural-trader models``."""
    rows = []
    for name, cls in sorted(MODELS.items()):
        kind = f"trainable ({cls.task})" if cls.task in TASKS else "pre-training"
        if cls.served():
            kind += ", served natively"
        rows.append((name, kind, _first_line(cls.__doc__)))
    for name, cls in sorted(BASELINES.items()):
        rows.append((name, "baseline", _first_line(cls.__doc__)))
    return rows
