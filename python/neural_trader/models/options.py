"""``ModelOptions``: the sizes a command line or workflow gives, which each model reads into its own config;
``TaskOptions``: the settings of the task adapter it is trained with.

A model class turns them into its config in :meth:`~neural_trader.models.TwinModel.from_options` and its
task in :meth:`~neural_trader.models.TwinModel.make_task`, taking the fields it has (``num_heads`` means
nothing to a plain BiLSTM, teacher forcing nothing to a classifier); the configs' own checks then refuse
bad values by name.
"""

from __future__ import annotations

from dataclasses import dataclass

from neural_trader import recipe
from neural_trader.models.teacher_forcing import ScheduledSampling
from neural_trader.validation import real


@dataclass
class ModelOptions:
    """Sizes of the model ``train`` builds; each model takes the fields it has.

    Example:
        >>> ModelOptions(hidden_size=32).num_layers
        2
    """

    hidden_size: int = 64
    num_layers: int = 2
    # Attention heads (enhanced_simple_lstm, trend_attention, lstm_attention).
    num_heads: int = 4
    dropout: float = 0.2
    # lstm_attention only.
    decoder_layers: int = 1
    # lstm_attention only: the config's teacher_forcing_ratio (the ratio of the first training epoch).
    teacher_forcing_ratio: float = 0.5


@dataclass
class TaskOptions:
    """Settings of the task adapter ``train`` fits a model with; each model's
    :meth:`~neural_trader.models.TwinModel.make_task` reads the fields it has.

    Example:
        >>> TaskOptions().classification_weight
        0.5
    """

    # lstm_attention: the teacher-forcing ratio per epoch; None: the model config's ratio, constant.
    teacher_forcing: ScheduledSampling | None = None
    # trend_attention: weights of the trend-score MSE and the up/down cross-entropy in the multi-task loss.
    regression_weight: float = recipe.REGRESSION_WEIGHT
    classification_weight: float = recipe.CLASSIFICATION_WEIGHT
    # Seed of the task's own random draws (teacher-forcing coin flips): the run's seed.
    seed: int = 0

    def __post_init__(self) -> None:
        self.regression_weight = real("regression_weight", self.regression_weight, low=0.0)
        self.classification_weight = real("classification_weight", self.classification_weight, low=0.0)
