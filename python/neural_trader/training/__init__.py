"""PyTorch training front end: the one trainer, task adapters (masked pre-training among them), losses,
metrics, transfer of pre-trained encoders.

Example:
    >>> from neural_trader.training import Trainer, TrainerConfig, ClassificationTask
    >>> trainer = Trainer(model, ClassificationTask(), TrainerConfig(epochs=10))   # doctest: +SKIP
    >>> trainer.fit(loaders.train, loaders.val)                                     # doctest: +SKIP
"""

# The bootstrap lives in evaluation/ now; kept importable from here, where it was first defined.
from neural_trader.data.candles import relative_candles  # kept importable from here
from neural_trader.evaluation.bootstrap import Interval, block_bootstrap
from neural_trader.training.config import TrainerConfig
from neural_trader.training.early_stopping import EarlyStopping
from neural_trader.training.forecasting import ForecastTask
from neural_trader.training.history import History
from neural_trader.training.losses import (
    MultiHorizonLoss,
    balanced_class_weights,
    volatility_weights,
    weighted_cross_entropy,
    weighted_mse,
    window_volatility,
)
from neural_trader.training.masked import MaskedReconstructionTask, MaskedWindows
from neural_trader.training.pretrain import PretrainConfig, PretrainResult, pretrain_encoder, split_windows
from neural_trader.training.rng import seed_everything
from neural_trader.training.schedule import lr_at
from neural_trader.training.tasks import ClassificationTask, RegressionTask, Task, TrendTask
from neural_trader.training.trainer import Trainer, build_optimizer
from neural_trader.training.transfer import ShapeMismatch, TransferReport, load_pretrained_strict

__all__ = [
    "ClassificationTask",
    "EarlyStopping",
    "ForecastTask",
    "History",
    "Interval",
    "MaskedReconstructionTask",
    "MaskedWindows",
    "MultiHorizonLoss",
    "PretrainConfig",
    "PretrainResult",
    "RegressionTask",
    "ShapeMismatch",
    "Task",
    "Trainer",
    "TrainerConfig",
    "TransferReport",
    "TrendTask",
    "balanced_class_weights",
    "block_bootstrap",
    "build_optimizer",
    "load_pretrained_strict",
    "lr_at",
    "pretrain_encoder",
    "relative_candles",
    "seed_everything",
    "split_windows",
    "volatility_weights",
    "weighted_cross_entropy",
    "weighted_mse",
    "window_volatility",
]
