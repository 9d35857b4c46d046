"""Losses: class-weighted and per-sample-weighted cross entropy and MSE, volatility-aware sample weights,
the multi-horizon multi-task loss of :class:`~neural_trader.models.TrendAttention`, and (re-exported) the
masked pre-training objective.

Every weighted loss is a weighted *mean*: ``sum(w * loss) / sum(w)``, so weights change what matters,
not the scale of the loss (and of the learning rate that suits it). Targets that are NaN (a missing label)
get weight 0 instead of poisoning the batch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from neural_trader.errors import ConfigError, ShapeError
from neural_trader.models.masked_autoencoder import latent_spread_penalty, masked_mse


def balanced_class_weights(labels: np.ndarray | torch.Tensor, num_classes: int = 2) -> torch.Tensor:
    """Inverse-frequency class weights ``N / (C * count_c)`` (scikit-learn's "balanced"), float32 ``(C,)``.

    Direction labels are imbalanced (markets drift up): unweighted, a classifier earns most of its loss
    reduction by predicting "up" more often. A class absent from ``labels`` gets weight 1.

    Example:
        >>> balanced_class_weights(np.array([1, 1, 1, 0])).tolist()
        [2.0, 0.6666666865348816]
    """
    y = np.asarray(labels.cpu() if isinstance(labels, torch.Tensor) else labels).ravel()
    y = y[np.isfinite(y.astype(np.float64))].astype(np.int64)
    if y.size == 0 or (y < 0).any() or (y >= num_classes).any():
        raise ConfigError(f"labels must be class indices in [0, {num_classes}), at least one")
    counts = np.bincount(y, minlength=num_classes).astype(np.float64)
    weights = np.where(counts > 0, y.size / (num_classes * np.maximum(counts, 1)), 1.0)
    return torch.tensor(weights, dtype=torch.float32)


def _valid_weights(target: torch.Tensor, sample_weight: torch.Tensor | None) -> torch.Tensor:
    valid = torch.isfinite(target).to(torch.float32)
    if sample_weight is None:
        return valid
    if sample_weight.shape != target.shape[:1]:
        raise ShapeError(f"sample_weight must be ({target.shape[0]},), got {tuple(sample_weight.shape)}")
    return valid * sample_weight.to(torch.float32)


def weighted_cross_entropy(
    logits: torch.Tensor,
    target: torch.Tensor,
    *,
    class_weight: torch.Tensor | None = None,
    sample_weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """Cross entropy with class weights and per-sample weights; NaN targets are ignored.

    The weight of sample ``i`` is ``class_weight[y_i] * sample_weight[i]``; the result is the weighted
    mean (with ``class_weight`` alone this equals ``F.cross_entropy(..., weight=class_weight)``).

    Args:
        logits: ``(B, C)``. target: ``(B,)`` class indices (any dtype; NaN = missing).
        class_weight: ``(C,)``. sample_weight: ``(B,)``, ``>= 0``.

    Example:
        >>> logits = torch.tensor([[2.0, 0.0], [0.0, 2.0]]); y = torch.tensor([0.0, float("nan")])
        >>> round(float(weighted_cross_entropy(logits, y)), 4)  # the NaN row does not count
        0.1269
    """
    weight = _valid_weights(target, sample_weight)
    classes = torch.nan_to_num(target, nan=0.0).long()
    if class_weight is not None:
        weight = weight * class_weight.to(logits.device, torch.float32)[classes]
    per_sample = F.cross_entropy(logits.float(), classes, reduction="none")
    return (per_sample * weight).sum() / weight.sum().clamp_min(1e-12)


def weighted_mse(
    pred: torch.Tensor, target: torch.Tensor, *, sample_weight: torch.Tensor | None = None
) -> torch.Tensor:
    """Mean squared error weighted per sample; NaN targets are ignored.

    Args:
        pred: ``(B,)`` or ``(B, K)``. target: same shape. sample_weight: ``(B,)``, ``>= 0``.

    Example:
        >>> w = torch.tensor([3.0, 1.0])
        >>> float(weighted_mse(torch.zeros(2), torch.tensor([1.0, 3.0]), sample_weight=w))
        3.0
    """
    if pred.shape != target.shape:
        raise ShapeError(f"pred {tuple(pred.shape)} and target {tuple(target.shape)} differ")
    flat_t = target.reshape(len(target), -1)
    flat_p = pred.reshape(len(pred), -1).float()
    valid = torch.isfinite(flat_t).to(torch.float32)
    weight = valid if sample_weight is None else valid * _valid_weights(flat_t[:, 0], sample_weight)[:, None]
    err = (flat_p - torch.nan_to_num(flat_t, nan=0.0)).square()
    return (err * weight).sum() / weight.sum().clamp_min(1e-12)


def volatility_weights(
    volatility: torch.Tensor, *, power: float = 1.0, clip: tuple[float, float] = (0.25, 4.0)
) -> torch.Tensor:
    """Per-sample weights ``∝ volatility ** -power``, clipped, with mean 1 over the batch.

    Labels of turbulent windows are mostly noise (the same signal, a much larger random move), so they
    get less say; calm windows, where a pattern is not drowned, get more. Clipping keeps a dead-calm
    window from dominating the batch. The scale of ``volatility`` does not matter (only ratios do), so a
    z-scored return column's spread over the window serves (see :func:`window_volatility`).

    Args:
        volatility: ``(B,)`` positive spread of each sample's recent returns.
        power: 1 weighs by inverse volatility, 2 by inverse variance, 0 turns weighting off.
        clip: bounds of the weights relative to their mean, applied before the final renormalisation.

    Example:
        >>> [round(w, 4) for w in volatility_weights(torch.tensor([1.0, 2.0, 4.0])).tolist()]
        [1.7143, 0.8571, 0.4286]
    """
    v = volatility.detach().float().clamp_min(1e-12)
    w = v.pow(-power)
    w = (w / w.mean()).clamp(*clip)
    return w / w.mean()


def window_volatility(x: torch.Tensor, feature: int) -> torch.Tensor:
    """Spread (std over time) of one feature of each window ``(B,)``: realised volatility of a return column.

    Uses the window's own inputs only, so it is known when the prediction is made.

    Example:
        >>> window_volatility(torch.tensor([[[1.0], [-1.0]], [[2.0], [-2.0]]]), 0).tolist()
        [1.0, 2.0]
    """
    return x[:, :, feature].float().std(dim=1, correction=0)


class MultiHorizonLoss(nn.Module):
    """Sum over horizons of ``classification_weight[h] * CE(direction) + regression_weight[h] * MSE(trend)``.

    Args:
        horizons: horizons of the model's outputs (``direction_logits_{h}``, ``trend_{h}``).
        regression_weight: weight of the trend-score MSE, one number or one per horizon.
        classification_weight: weight of the direction cross entropy, one number or one per horizon.
        class_weights: per-horizon ``(2,)`` class weights of the direction labels (see
            :func:`balanced_class_weights`); the balance of up/down differs by horizon.

    Example:
        >>> loss = MultiHorizonLoss([7], regression_weight=0.5)
        >>> out = {"trend_7": torch.zeros(2), "direction_logits_7": torch.zeros(2, 2)}
        >>> total, parts = loss(out, {"trend_7": torch.ones(2), "direction_7": torch.tensor([0.0, 1.0])})
        >>> sorted(parts), round(float(total), 4)  # 0.5 * 1 + log(2)
        (['direction_7', 'trend_7'], 1.1931)
    """

    def __init__(
        self,
        horizons: Sequence[int],
        *,
        regression_weight: float | Mapping[int, float] = 1.0,
        classification_weight: float | Mapping[int, float] = 1.0,
        class_weights: Mapping[int, torch.Tensor] | None = None,
    ) -> None:
        super().__init__()
        self.horizons = [int(h) for h in horizons]
        if not self.horizons:
            raise ConfigError("MultiHorizonLoss needs at least one horizon")
        self.regression_weight = self._per_horizon(regression_weight, "regression_weight")
        self.classification_weight = self._per_horizon(classification_weight, "classification_weight")
        self.class_weights = dict(class_weights or {})

    def _per_horizon(self, value: float | Mapping[int, float], name: str) -> dict[int, float]:
        values = dict(value) if isinstance(value, Mapping) else dict.fromkeys(self.horizons, value)
        missing = [h for h in self.horizons if h not in values]
        if missing or any(not values[h] >= 0 for h in self.horizons):
            raise ConfigError(f"{name} needs a weight >= 0 for every horizon {self.horizons}, got {value!r}")
        return {h: float(values[h]) for h in self.horizons}

    def forward(
        self,
        outputs: Mapping[str, torch.Tensor],
        targets: Mapping[str, torch.Tensor],
        sample_weight: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Total loss and each part (unweighted, detached) keyed by label name.

        Args:
            outputs: the model's dict (``trend_{h}`` ``(B,)``, ``direction_logits_{h}`` ``(B, 2)``).
            targets: ``trend_{h}`` and ``direction_{h}`` ``(B,)`` label tensors.
            sample_weight: optional ``(B,)`` weights (e.g. :func:`volatility_weights`).
        """
        total = torch.zeros((), device=next(iter(outputs.values())).device)
        parts: dict[str, torch.Tensor] = {}
        for h in self.horizons:
            cw = self.class_weights.get(h)
            ce = weighted_cross_entropy(
                outputs[f"direction_logits_{h}"],
                targets[f"direction_{h}"],
                class_weight=cw,
                sample_weight=sample_weight,
            )
            reg = weighted_mse(
                outputs[f"trend_{h}"].float(), targets[f"trend_{h}"], sample_weight=sample_weight
            )
            total = total + self.classification_weight[h] * ce + self.regression_weight[h] * reg
            parts[f"direction_{h}"], parts[f"trend_{h}"] = ce.detach(), reg.detach()
        return total, parts


__all__ = [
    "MultiHorizonLoss",
    "balanced_class_weights",
    "latent_spread_penalty",
    "masked_mse",
    "volatility_weights",
    "weighted_cross_entropy",
    "weighted_mse",
    "window_volatility",
]
