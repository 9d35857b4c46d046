"""Task adapters: how the trainer turns a model's output and a label batch into a loss and metrics.

The trainer stays the same for every model; a task knows four things about its model and labels:

* ``forward(model, x, y)``: what the model computes on a batch, in training and in evaluation alike
  (default ``model(x)``; a task may pass the targets, as :class:`~neural_trader.training.ForecastTask`
  does for teacher forcing, or masks, as :class:`~neural_trader.training.MaskedReconstructionTask` does;
  ``model.training`` tells the two apart); ``start_epoch(epoch, model)`` (optional) sets per-epoch state
  and returns values for the epoch's history record;
* ``loss(output, x, y)``: the training loss of one batch (``x`` is passed so a task can derive
  volatility-aware sample weights from the inputs, never from the future);
* ``predictions(output, y)``: numpy arrays of one batch to keep for evaluation;
* ``metrics(collected)``: metric values from the concatenated predictions.

``y`` is the ``(B, L)`` label batch of :func:`neural_trader.data.make_loaders`; tasks pick their columns by
index (:class:`ClassificationTask`, :class:`RegressionTask`) or by label name (:class:`TrendTask`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from neural_trader.errors import ConfigError
from neural_trader.training.losses import (
    MultiHorizonLoss,
    volatility_weights,
    weighted_cross_entropy,
    weighted_mse,
    window_volatility,
)
from neural_trader.training.metrics import classification_metrics, regression_metrics


class Task:
    """What :class:`~neural_trader.training.Trainer` needs from a task; subclass it and implement
    :meth:`loss`, :meth:`predictions` and :meth:`metrics` (and :meth:`forward` when the model needs more
    than the windows). A class with the three methods and no base works too: its forward is the default.
    """

    def forward(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> Any:
        """The model's output on a batch, in training and evaluation alike; default ``model(x)``."""
        return model(x)

    def start_epoch(self, epoch: int, model: nn.Module) -> dict[str, float]:
        """Called as training epoch ``epoch`` (0-based) starts; returns values the history records for
        that epoch (e.g. a teacher-forcing ratio). Default: nothing."""
        return {}

    def loss(self, output: Any, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The mean loss of one batch."""
        raise NotImplementedError

    def predictions(self, output: Any, y: torch.Tensor) -> dict[str, np.ndarray]:
        """Arrays of one batch to keep for :meth:`metrics` (concatenated over batches)."""
        raise NotImplementedError

    def metrics(self, collected: dict[str, np.ndarray]) -> dict[str, float]:
        """Metric values from every batch's :meth:`predictions`, concatenated."""
        raise NotImplementedError


def task_forward(task: Any, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> Any:
    """``task.forward(model, x, y)``, or ``model(x)`` for a task that defines no ``forward``."""
    forward = getattr(task, "forward", None)
    return model(x) if forward is None else forward(model, x, y)


def _sample_weight(x: torch.Tensor, feature: int | None, power: float) -> torch.Tensor | None:
    return None if feature is None else volatility_weights(window_volatility(x, feature), power=power)


def _numpy(t: torch.Tensor) -> np.ndarray:
    return t.detach().float().cpu().numpy()


@dataclass
class ClassificationTask(Task):
    """Logits ``(B, C)`` against class labels in column ``label_index`` of ``y``.

    Args:
        label_index: column of ``y`` holding the class (e.g. ``direction_1``).
        class_weight: ``(C,)`` weights, e.g. :func:`~neural_trader.training.losses.balanced_class_weights`.
        volatility_feature: input feature holding a one-bar return; when set, samples are weighted by
            inverse realised volatility of the window (see ``losses.volatility_weights``).
        volatility_power: exponent of that weighting.

    Example:
        >>> task = ClassificationTask(class_weight=torch.tensor([2.0, 1.0]))
        >>> loss = task.loss(torch.zeros(2, 2), torch.zeros(2, 3, 1), torch.tensor([[0.0], [1.0]]))
        >>> round(float(loss), 4)  # log 2 whatever the weights, for uniform logits
        0.6931
    """

    label_index: int = 0
    class_weight: torch.Tensor | None = None
    volatility_feature: int | None = None
    volatility_power: float = 1.0

    def loss(self, output: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        weight = _sample_weight(x, self.volatility_feature, self.volatility_power)
        cw = None if self.class_weight is None else torch.as_tensor(self.class_weight, device=output.device)
        return weighted_cross_entropy(output, y[:, self.label_index], class_weight=cw, sample_weight=weight)

    def predictions(self, output: torch.Tensor, y: torch.Tensor) -> dict[str, np.ndarray]:
        return {
            "proba": _numpy(torch.softmax(output.float(), dim=-1)),
            "target": _numpy(y[:, self.label_index]),
        }

    def metrics(self, collected: dict[str, np.ndarray]) -> dict[str, float]:
        keep = np.isfinite(collected["target"])
        return classification_metrics(collected["target"][keep], collected["proba"][keep])


@dataclass
class RegressionTask(Task):
    """Predictions ``(B,)`` or ``(B, K)`` against columns ``label_indices`` of ``y`` (MSE).

    With ``target_mean``/``target_std`` (a label standardised by its training statistics), the model
    learns ``(y - mean) / std`` and :meth:`predictions` maps its outputs back to the label's units, so
    the metrics read in those units.

    Example:
        >>> task = RegressionTask(label_indices=[1])
        >>> float(task.loss(torch.zeros(2), torch.zeros(2, 3, 1), torch.tensor([[9.0, 1.0], [9.0, -1.0]])))
        1.0
    """

    label_indices: Sequence[int] = (0,)
    volatility_feature: int | None = None
    volatility_power: float = 1.0
    target_mean: float = 0.0
    target_std: float = 1.0

    def _target(self, output: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        target = y[:, list(self.label_indices)]
        return target.reshape(output.shape)

    def loss(self, output: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        weight = _sample_weight(x, self.volatility_feature, self.volatility_power)
        target = (self._target(output, y) - self.target_mean) / self.target_std
        return weighted_mse(output, target, sample_weight=weight)

    def predictions(self, output: torch.Tensor, y: torch.Tensor) -> dict[str, np.ndarray]:
        pred = output.reshape(len(output), -1).float() * self.target_std + self.target_mean
        return {"pred": _numpy(pred), "target": _numpy(self._target(pred, y))}

    def metrics(self, collected: dict[str, np.ndarray]) -> dict[str, float]:
        keep = np.isfinite(collected["target"])
        return regression_metrics(collected["pred"][keep], collected["target"][keep])


@dataclass
class TrendTask(Task):
    """The dict output of :class:`~neural_trader.models.TrendAttention` against ``direction_{h}`` and
    ``trend_{h}`` label columns, with :class:`~neural_trader.training.losses.MultiHorizonLoss`.

    Args:
        horizons: the model's horizons.
        label_columns: names of ``y``'s columns, e.g. ``Loaders.label_columns``.
        regression_weight, classification_weight, class_weights: see ``MultiHorizonLoss``.
        volatility_feature, volatility_power: as in :class:`ClassificationTask`.

    Metrics are per horizon: ``direction_{h}_<classification metric>`` and ``trend_{h}_<regression metric>``.

    Example:
        >>> task = TrendTask([7], ["direction_7", "trend_7"])
        >>> out = {"trend_7": torch.zeros(2), "direction_logits_7": torch.zeros(2, 2)}
        >>> round(float(task.loss(out, torch.zeros(2, 3, 1), torch.tensor([[0.0, 0.5], [1.0, -0.5]]))), 4)
        0.9431
    """

    horizons: Sequence[int]
    label_columns: Sequence[str]
    regression_weight: float | Mapping[int, float] = 1.0
    classification_weight: float | Mapping[int, float] = 1.0
    class_weights: Mapping[int, torch.Tensor] | None = None
    volatility_feature: int | None = None
    volatility_power: float = 1.0
    _columns: dict[str, int] = field(init=False, repr=False)
    _loss: MultiHorizonLoss = field(init=False, repr=False)

    def __post_init__(self) -> None:
        names = list(self.label_columns)
        self._columns = {}
        for h in self.horizons:
            for kind in ("direction", "trend"):
                name = f"{kind}_{h}"
                if name not in names:
                    raise ConfigError(f"label column {name!r} is missing; label columns are {names}")
                self._columns[name] = names.index(name)
        self._loss = MultiHorizonLoss(
            self.horizons,
            regression_weight=self.regression_weight,
            classification_weight=self.classification_weight,
            class_weights=self.class_weights,
        )

    def _targets(self, y: torch.Tensor) -> dict[str, torch.Tensor]:
        return {name: y[:, i] for name, i in self._columns.items()}

    def loss(self, output: dict[str, torch.Tensor], x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        weight = _sample_weight(x, self.volatility_feature, self.volatility_power)
        return self._loss(output, self._targets(y), weight)[0]

    def predictions(self, output: dict[str, torch.Tensor], y: torch.Tensor) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for h in self.horizons:
            out[f"proba_{h}"] = _numpy(torch.softmax(output[f"direction_logits_{h}"].float(), dim=-1))
            out[f"trend_pred_{h}"] = _numpy(output[f"trend_{h}"])
        out.update({name: _numpy(t) for name, t in self._targets(y).items()})
        return out

    def metrics(self, collected: dict[str, np.ndarray]) -> dict[str, float]:
        result: dict[str, float] = {}
        for h in self.horizons:
            d, t = collected[f"direction_{h}"], collected[f"trend_{h}"]
            keep = np.isfinite(d)
            for k, v in classification_metrics(d[keep], collected[f"proba_{h}"][keep]).items():
                result[f"direction_{h}_{k}"] = v
            keep = np.isfinite(t)
            for k, v in regression_metrics(collected[f"trend_pred_{h}"][keep], t[keep]).items():
                result[f"trend_{h}_{k}"] = v
        return result
