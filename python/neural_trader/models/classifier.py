"""``DirectionClassifier``: the declaration that the direction classifiers share.

``bilstm_classifier``, ``simple_lstm`` and ``enhanced_simple_lstm`` all map a window to ``num_classes``
outputs and learn the direction family's labels (:data:`~neural_trader.data.LABELS`): class labels
(``direction``: 2 classes, ``triple_barrier``: 3, your ``classes``: k) with class-weighted cross-entropy,
or a regression label (``forward_return``, your ``values``) with ``num_classes=0`` ("no classes"): one
real output, an MSE loss on the standardised label. Each model declares only how it is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from neural_trader.errors import ConfigError
from neural_trader.models.base import TwinModel
from neural_trader.validation import integer

if TYPE_CHECKING:
    from neural_trader.data.spec import DataSpec
    from neural_trader.models.options import TaskOptions
    from neural_trader.training.tasks import Task


def head_classes(num_classes: object) -> int:
    """A classifier config's ``num_classes``: ``>= 2`` classes, or ``0`` for one real output (regression).
    One class is refused: a softmax over one class learns nothing.

    Raises:
        ConfigError: naming the value.
    """
    k = integer("num_classes", num_classes, low=0)
    if k == 1:
        raise ConfigError("num_classes must be 0 (one real output: regression) or >= 2 classes, got 1")
    return k


class DirectionClassifier(TwinModel):
    """A model whose ``forward`` gives class logits ``(B, C)`` and which learns the direction task."""

    task = "direction"
    output = "logits"

    @classmethod
    def make_task(
        cls,
        spec: DataSpec,
        y_train: np.ndarray,
        *,
        class_weights: bool = True,
        options: TaskOptions | None = None,
    ) -> Task:
        """Cross-entropy on the label's classes, weighted by inverse class frequency of the training
        labels (so "always up" is not the cheapest answer) unless ``class_weights`` is False; for a
        regression label, MSE on the label standardised by the training labels' mean and spread."""
        # Imported here: the training package imports the models, not the other way round.
        from neural_trader.data.targets import label_scaler
        from neural_trader.training.losses import balanced_class_weights
        from neural_trader.training.tasks import ClassificationTask, RegressionTask

        scaler = label_scaler(spec, y_train)
        if scaler is not None:
            return RegressionTask(label_indices=(0,), target_mean=scaler.mean[0], target_std=scaler.std[0])
        k = spec.num_classes
        weight = balanced_class_weights(y_train[:, 0], num_classes=k) if class_weights else None
        return ClassificationTask(label_index=0, class_weight=weight)
