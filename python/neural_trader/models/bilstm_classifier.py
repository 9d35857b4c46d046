"""BiLSTMClassifier: stacked bidirectional LSTM, final hidden states of the last layer, linear head.

Twin of ``nt_core::models::BiLstmClassifier``; parameters ``encoder.lstm.*`` and ``head.{weight,bias}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import nn

from neural_trader.models.base import register
from neural_trader.models.classifier import DirectionClassifier, head_classes
from neural_trader.models.encoder import LSTMEncoder
from neural_trader.validation import dropout_rate, flag, layers, width

if TYPE_CHECKING:
    from neural_trader.data.spec import DataSpec
    from neural_trader.models.options import ModelOptions


@dataclass
class BiLSTMClassifierConfig:
    """Sizes of a :class:`BiLSTMClassifier`; the Rust ``BiLstmClassifierConfig`` has the same fields."""

    input_size: int
    hidden_size: int = 128
    num_layers: int = 2
    # Between LSTM layers and before the head; inference (and the Rust twin) ignores it.
    dropout: float = 0.2
    bidirectional: bool = True
    # Classes of the head (>= 2), or 0: no classes, one real output (a regression label; the Rust twin
    # serves >= 2 only, today).
    num_classes: int = 2

    def __post_init__(self) -> None:
        for name in ("input_size", "hidden_size"):
            setattr(self, name, width(name, getattr(self, name)))
        self.num_layers = layers("num_layers", self.num_layers)
        self.num_classes = head_classes(self.num_classes)
        self.dropout = dropout_rate("dropout", self.dropout)
        self.bidirectional = flag("bidirectional", self.bidirectional)


@register
class BiLSTMClassifier(DirectionClassifier):
    """Classifies a window ``(B, T, input_size)`` into ``num_classes`` logits.

    Example:
        >>> import torch, neural_trader as nt
        >>> model = nt.BiLSTMClassifier(nt.BiLSTMClassifierConfig(input_size=4, hidden_size=8))
        >>> model(torch.zeros(3, 10, 4)).shape
        torch.Size([3, 2])
    """

    registry_name = "bilstm_classifier"
    config_class = BiLSTMClassifierConfig

    @classmethod
    def from_options(cls, spec: DataSpec, options: ModelOptions) -> BiLSTMClassifier:
        """A classifier of ``spec``'s input columns with the options' sizes."""
        o = options
        size = (len(spec.input_columns), o.hidden_size, o.num_layers, o.dropout)
        return cls(BiLSTMClassifierConfig(*size, num_classes=spec.num_classes))

    def __init__(self, config: BiLSTMClassifierConfig) -> None:
        super().__init__(config)
        c = config
        self.encoder = LSTMEncoder(c.input_size, c.hidden_size, c.num_layers, c.dropout, c.bidirectional)
        self.dropout = nn.Dropout(c.dropout)
        self.head = nn.Linear(self.encoder.output_size, max(c.num_classes, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, num_classes)``, or the value ``(B, 1)`` of a regression head (``num_classes=0``).

        Raises:
            ShapeError, DataError: see :meth:`~neural_trader.models.TwinModel.check_input`.
        """
        x = self.check_input(x)
        _, (h_n, _) = self.encoder(x)
        return self.head(self.dropout(self.encoder.final_hidden(h_n)))
