"""PyTorch twins of the models, the registry that maps checkpoint names to classes, and the baselines.

Each model declares itself once in its own file (see :mod:`neural_trader.models.base`); importing the file
registers it. To add a model: write its file, import it here (the registry line), and, if the Rust engine
serves it, add its Rust twin to the engine's table (``docs/design.md``, "Adding a served model").
"""

from neural_trader.models.base import MODELS, PRETRAINING, TwinModel, register, served_models
from neural_trader.models.baselines import BASELINES, Baseline, XGBoostBaseline
from neural_trader.models.bilstm_classifier import BiLSTMClassifier, BiLSTMClassifierConfig
from neural_trader.models.classifier import DirectionClassifier
from neural_trader.models.encoder import LSTMEncoder
from neural_trader.models.lstm_attention import LSTMAttention, LSTMAttentionConfig
from neural_trader.models.masked_autoencoder import (
    MaskedBiLSTMAutoencoder,
    MaskedBiLSTMAutoencoderConfig,
    PretrainedEncoder,
    PretrainedEncoderConfig,
)
from neural_trader.models.options import ModelOptions, TaskOptions
from neural_trader.models.simple_lstm import (
    EnhancedSimpleLSTM,
    EnhancedSimpleLSTMConfig,
    SimpleLSTM,
    SimpleLSTMConfig,
)
from neural_trader.models.stacking import StackingBaseline
from neural_trader.models.teacher_forcing import ScheduledSampling
from neural_trader.models.trend_attention import TrendAttention, TrendAttentionConfig

__all__ = [
    "BASELINES",
    "MODELS",
    "Baseline",
    "BiLSTMClassifier",
    "BiLSTMClassifierConfig",
    "DirectionClassifier",
    "EnhancedSimpleLSTM",
    "EnhancedSimpleLSTMConfig",
    "LSTMAttention",
    "LSTMAttentionConfig",
    "LSTMEncoder",
    "MaskedBiLSTMAutoencoder",
    "MaskedBiLSTMAutoencoderConfig",
    "ModelOptions",
    "PRETRAINING",
    "PretrainedEncoder",
    "PretrainedEncoderConfig",
    "ScheduledSampling",
    "SimpleLSTM",
    "SimpleLSTMConfig",
    "StackingBaseline",
    "TaskOptions",
    "TrendAttention",
    "TrendAttentionConfig",
    "TwinModel",
    "XGBoostBaseline",
    "register",
    "served_models",
]
