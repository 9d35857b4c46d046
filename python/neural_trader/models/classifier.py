"""``DirectionClassifier``: the declaration that the direction classifiers share.

``bilstm_classifier``, ``simple_lstm`` and ``enhanced_simple_lstm`` all map a window to up/down logits
and learn ``direction_{h}`` with class-weighted cross-entropy; each declares only how it is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from neural_trader.models.base import TwinModel

if TYPE_CHECKING:
    from neural_trader.data.spec import DataSpec
    from neural_trader.models.options import TaskOptions
    from neural_trader.training.tasks import Task


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
        """Cross-entropy on ``direction_{h}``, weighted by inverse class frequency of the training labels
        (so "always up" is not the cheapest answer) unless ``class_weights`` is False."""
        # Imported here: the training package imports the models, not the other way round.
        from neural_trader.training.losses import balanced_class_weights
        from neural_trader.training.tasks import ClassificationTask

        weight = balanced_class_weights(y_train[:, 0]) if class_weights else None
        return ClassificationTask(label_index=0, class_weight=weight)
