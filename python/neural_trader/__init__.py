"""neural_trader: deep learning on financial time series, PyTorch front end, Rust (candle) engine.

Example:
    >>> import neural_trader as nt
    >>> model = nt.BiLSTMClassifier(nt.BiLSTMClassifierConfig(input_size=4))
    >>> model.save("m.safetensors")                     # doctest: +SKIP
    >>> engine = nt.native.load("m.safetensors")        # doctest: +SKIP
"""

from __future__ import annotations

import os

from neural_trader import _core, data, kernels, native, training
from neural_trader.checkpoint import Checkpoint, naming_file
from neural_trader.errors import (
    CheckpointConfigError,
    CheckpointError,
    ConfigError,
    DataError,
    NeuralTraderError,
    ShapeError,
)
from neural_trader.models import (
    BASELINES,
    MODELS,
    BiLSTMClassifier,
    BiLSTMClassifierConfig,
    EnhancedSimpleLSTM,
    EnhancedSimpleLSTMConfig,
    LSTMAttention,
    LSTMAttentionConfig,
    MaskedBiLSTMAutoencoder,
    MaskedBiLSTMAutoencoderConfig,
    ScheduledSampling,
    SimpleLSTM,
    SimpleLSTMConfig,
    TrendAttention,
    TrendAttentionConfig,
    TwinModel,
)

__version__: str = _core.__version__


def load(path: str | os.PathLike) -> TwinModel:
    """Loads the PyTorch twin of any registered model; the class comes from the file's metadata.

    Raises:
        FileNotFoundError: no such file. CheckpointError: not a checkpoint of a registered model.
    """
    ck = Checkpoint.read(path)
    cls = MODELS.get(ck.model)
    if cls is None:
        raise CheckpointError(f"{path}: unknown model {ck.model!r} (registered: {sorted(MODELS)})")
    with naming_file(path):
        return cls.from_checkpoint(ck)


__all__ = [
    "BASELINES",
    "MODELS",
    "BiLSTMClassifier",
    "BiLSTMClassifierConfig",
    "Checkpoint",
    "CheckpointError",
    "CheckpointConfigError",
    "ConfigError",
    "DataError",
    "EnhancedSimpleLSTM",
    "EnhancedSimpleLSTMConfig",
    "LSTMAttention",
    "LSTMAttentionConfig",
    "MaskedBiLSTMAutoencoder",
    "MaskedBiLSTMAutoencoderConfig",
    "NeuralTraderError",
    "ScheduledSampling",
    "ShapeError",
    "SimpleLSTM",
    "SimpleLSTMConfig",
    "TrendAttention",
    "TrendAttentionConfig",
    "TwinModel",
    "__version__",
    "data",
    "kernels",
    "load",
    "native",
    "training",
]
