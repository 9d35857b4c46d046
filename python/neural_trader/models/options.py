"""``ModelOptions``: the sizes a command line or workflow gives, which each model reads into its own config.

A model class turns them into its config in :meth:`~neural_trader.models.TwinModel.from_options`, taking
the fields it has (``num_heads`` means nothing to a plain BiLSTM); the config's own checks then refuse
bad values by name.
"""

from __future__ import annotations

from dataclasses import dataclass


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
