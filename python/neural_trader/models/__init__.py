"""PyTorch twins of the models, the registry that maps checkpoint names to classes, and the baselines."""

from neural_trader.models.base import MODELS, TwinModel, register
from neural_trader.models.baselines import BASELINES, Baseline
from neural_trader.models.bilstm_classifier import BiLSTMClassifier, BiLSTMClassifierConfig
from neural_trader.models.encoder import LSTMEncoder
from neural_trader.models.lstm_attention import LSTMAttention, LSTMAttentionConfig
from neural_trader.models.masked_autoencoder import (
    MaskedBiLSTMAutoencoder,
    MaskedBiLSTMAutoencoderConfig,
    PretrainedEncoder,
    PretrainedEncoderConfig,
)
from neural_trader.models.simple_lstm import (
    EnhancedSimpleLSTM,
    EnhancedSimpleLSTMConfig,
    SimpleLSTM,
    SimpleLSTMConfig,
)
from neural_trader.models.teacher_forcing import ScheduledSampling
from neural_trader.models.trend_attention import TrendAttention, TrendAttentionConfig

__all__ = [
    "BASELINES",
    "MODELS",
    "Baseline",
    "BiLSTMClassifier",
    "BiLSTMClassifierConfig",
    "EnhancedSimpleLSTM",
    "EnhancedSimpleLSTMConfig",
    "LSTMAttention",
    "LSTMAttentionConfig",
    "LSTMEncoder",
    "MaskedBiLSTMAutoencoder",
    "MaskedBiLSTMAutoencoderConfig",
    "PretrainedEncoder",
    "PretrainedEncoderConfig",
    "ScheduledSampling",
    "SimpleLSTM",
    "SimpleLSTMConfig",
    "TrendAttention",
    "TrendAttentionConfig",
    "TwinModel",
    "register",
]
