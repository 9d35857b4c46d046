"""BiLSTMClassifier: stacked bidirectional LSTM, final hidden states of the last layer, linear head.

Twin of ``nt_core::models::BiLstmClassifier``; parameters ``encoder.lstm.*`` and ``head.{weight,bias}``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from neural_trader.errors import ConfigError
from neural_trader.models.base import TwinModel, register
from neural_trader.models.config_checks import dropout_rate
from neural_trader.models.encoder import LSTMEncoder


@dataclass
class BiLSTMClassifierConfig:
    """Sizes of a :class:`BiLSTMClassifier`; the Rust ``BiLstmClassifierConfig`` has the same fields."""

    input_size: int
    hidden_size: int = 128
    num_layers: int = 2
    # Between LSTM layers and before the head; inference (and the Rust twin) ignores it.
    dropout: float = 0.2
    bidirectional: bool = True
    num_classes: int = 2

    def __post_init__(self) -> None:
        for name in ("input_size", "hidden_size", "num_layers"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"{name} must be an integer >= 1, got {value!r}")
        if (
            not isinstance(self.num_classes, int)
            or isinstance(self.num_classes, bool)
            or self.num_classes < 2
        ):
            raise ConfigError(f"num_classes must be an integer >= 2, got {self.num_classes!r}")
        self.dropout = dropout_rate("dropout", self.dropout)
        if not isinstance(self.bidirectional, bool):
            raise ConfigError(f"bidirectional must be a bool, got {self.bidirectional!r}")


@register
class BiLSTMClassifier(TwinModel):
    """Classifies a window ``(B, T, input_size)`` into ``num_classes`` logits.

    Example:
        >>> import torch, neural_trader as nt
        >>> model = nt.BiLSTMClassifier(nt.BiLSTMClassifierConfig(input_size=4, hidden_size=8))
        >>> model(torch.zeros(3, 10, 4)).shape
        torch.Size([3, 2])
    """

    registry_name = "bilstm_classifier"
    config_class = BiLSTMClassifierConfig

    def __init__(self, config: BiLSTMClassifierConfig) -> None:
        super().__init__(config)
        c = config
        self.encoder = LSTMEncoder(c.input_size, c.hidden_size, c.num_layers, c.dropout, c.bidirectional)
        self.dropout = nn.Dropout(c.dropout)
        self.head = nn.Linear(self.encoder.output_size, c.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, num_classes)``."""
        _, (h_n, _) = self.encoder(x)
        return self.head(self.dropout(self.encoder.final_hidden(h_n)))
