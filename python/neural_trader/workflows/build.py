"""Which registry models the CLI trains, how it builds them, their task adapters and their outputs.

Outputs are one dict for every model and both engines: ``proba`` ``(N, C)`` (direction classes),
``trend`` ``(N,)`` (trend scores, ``trend_attention``) and ``forecast`` ``(N, H, O)`` (standardised
values, ``lstm_attention``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import torch

from neural_trader.errors import ConfigError
from neural_trader.models import (
    BASELINES,
    MODELS,
    BiLSTMClassifier,
    BiLSTMClassifierConfig,
    EnhancedSimpleLSTM,
    EnhancedSimpleLSTMConfig,
    LSTMAttention,
    LSTMAttentionConfig,
    SimpleLSTM,
    SimpleLSTMConfig,
    TrendAttention,
    TrendAttentionConfig,
    TwinModel,
)
from neural_trader.training import ClassificationTask, RegressionTask, TrendTask, balanced_class_weights
from neural_trader.workflows.inputs import DataSpec

#: Models ``train`` fits, and the task each one learns.
TRAINABLE: dict[str, str] = {
    "bilstm_classifier": "direction",
    "simple_lstm": "direction",
    "enhanced_simple_lstm": "direction",
    "trend_attention": "trend",
    "lstm_attention": "forecast",
}
#: Models the Rust engine serves (``predict --native``, parity checks).
SERVED: tuple[str, ...] = ("bilstm_classifier", "lstm_attention")
_PRETRAINING = ("masked_bilstm_autoencoder", "lstm_encoder")


@dataclass
class ModelOptions:
    """Sizes of the model ``train`` builds; each model takes the fields it has."""

    hidden_size: int = 64
    num_layers: int = 2
    # Attention heads (enhanced_simple_lstm, trend_attention, lstm_attention).
    num_heads: int = 4
    dropout: float = 0.2
    # lstm_attention only.
    decoder_layers: int = 1


def task_of(name: str) -> str:
    """The task that model ``name`` learns.

    Raises:
        ConfigError: a baseline, a pre-training model or an unknown name, each with what to do instead.
    """
    if name in TRAINABLE:
        return TRAINABLE[name]
    if name in BASELINES:
        raise ConfigError(
            f"{name!r} is a baseline, not a trainable model: `neural-trader evaluate` fits every baseline "
            "on the training windows of each split"
        )
    if name in _PRETRAINING:
        raise ConfigError(f"{name!r} is the pre-training model: use `neural-trader pretrain`")
    raise ConfigError(
        f"unknown model {name!r}; trainable models: {', '.join(TRAINABLE)} (see `neural-trader models`)"
    )


def build_model(name: str, spec: DataSpec, options: ModelOptions) -> TwinModel:
    """A fresh model of registry name ``name`` for windows of ``spec``.

    Raises:
        ConfigError: an untrainable model, a model whose task differs from the spec's, bad sizes.
    """
    task = task_of(name)
    if task != spec.task:
        raise ConfigError(f"{name} learns the {task} task, but the data spec is for {spec.task}")
    o, f = options, len(spec.input_columns)
    if name == "bilstm_classifier":
        return BiLSTMClassifier(BiLSTMClassifierConfig(f, o.hidden_size, o.num_layers, o.dropout))
    if name == "simple_lstm":
        return SimpleLSTM(SimpleLSTMConfig(f, o.hidden_size, o.num_layers, o.dropout))
    if name == "enhanced_simple_lstm":
        return EnhancedSimpleLSTM(
            EnhancedSimpleLSTMConfig(f, o.hidden_size, o.num_layers, o.num_heads, o.dropout)
        )
    if name == "trend_attention":
        return TrendAttention(
            TrendAttentionConfig(
                f, o.hidden_size, o.num_layers, o.num_heads, horizons=[spec.horizon], dropout=o.dropout
            )
        )
    return LSTMAttention(
        LSTMAttentionConfig(
            input_size=f,
            output_size=len(spec.targets),
            horizon=spec.horizon,
            hidden_size=o.hidden_size,
            num_encoder_layers=o.num_layers,
            num_decoder_layers=o.decoder_layers,
            num_heads=o.num_heads,
            dropout=min(o.dropout, 0.1),
            target_indices=spec.target_indices(),
        )
    )


def make_task(name: str, spec: DataSpec, y_train: np.ndarray, *, class_weights: bool = True) -> object:
    """The task adapter of model ``name``: class-weighted cross-entropy for direction (weights from the
    training labels, so "always up" is not the cheapest answer), MultiHorizonLoss for trend, MSE over
    every forecast step for forecast."""
    task = task_of(name)
    if task == "direction":
        weight = balanced_class_weights(y_train[:, 0]) if class_weights else None
        return ClassificationTask(label_index=0, class_weight=weight)
    if task == "trend":
        weights = {spec.horizon: balanced_class_weights(y_train[:, 0])} if class_weights else None
        return TrendTask([spec.horizon], spec.label_columns(), class_weights=weights)
    return RegressionTask(label_indices=list(range(y_train.shape[1])))


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


@torch.no_grad()
def torch_outputs(
    model: TwinModel, x: np.ndarray, spec: DataSpec, *, device: str = "cpu", batch_size: int = 1024
) -> dict[str, np.ndarray]:
    """The model's outputs on windows ``x`` in eval mode (see the module docstring for the keys)."""
    model = model.to(device).eval()
    chunks: dict[str, list[np.ndarray]] = {}
    for start in range(0, len(x), batch_size):
        xb = torch.from_numpy(np.ascontiguousarray(x[start : start + batch_size])).to(device)
        out = model(xb)
        if isinstance(model, TrendAttention):
            h = spec.horizon
            parts = {"logits": out[f"direction_logits_{h}"], "trend": out[f"trend_{h}"]}
        elif isinstance(model, LSTMAttention):
            parts = {"forecast": out}
        else:
            parts = {"logits": out}
        for k, v in parts.items():
            chunks.setdefault(k, []).append(v.float().cpu().numpy())
    result = {k: np.concatenate(v) for k, v in chunks.items()}
    if "logits" in result:
        result["proba"] = _softmax(result.pop("logits").astype(np.float64))
    return result


def native_outputs(engine: object, x: np.ndarray) -> dict[str, np.ndarray]:
    """The outputs of a :class:`~neural_trader.native.NativeModel` on windows ``x``."""
    out = engine.predict(x)
    if engine.model == "lstm_attention":
        return {"forecast": out}
    return {"proba": _softmax(out.astype(np.float64))}


def _first_line(doc: str | None) -> str:
    """First docstring line without reST markup (``x`` and :func:`x` become x)."""
    line = (doc or "").strip().splitlines()[0] if doc and doc.strip() else ""
    return re.sub(r":\w+:`~?([^`]+)`", r"\1", line).replace("``", "")


def registry_rows() -> list[tuple[str, str, str]]:
    """``(name, kind, description)`` of every model and baseline, for ``neural-trader models``."""
    rows = []
    for name, cls in sorted(MODELS.items()):
        if name in TRAINABLE:
            kind = f"trainable ({TRAINABLE[name]})"
        else:
            kind = "pre-training"
        if name in SERVED:
            kind += ", served natively"
        rows.append((name, kind, _first_line(cls.__doc__)))
    for name, cls in sorted(BASELINES.items()):
        rows.append((name, "baseline", _first_line(cls.__doc__)))
    return rows
