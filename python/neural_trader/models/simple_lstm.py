"""SimpleLSTM (unidirectional) and EnhancedSimpleLSTM (BiLSTM + attention): fine-tuning classifiers.

Both keep their recurrent layers under ``encoder.lstm`` so a pre-trained encoder
(:class:`~neural_trader.models.masked_autoencoder.PretrainedEncoder`, or any model's ``encoder.lstm.*``)
loads into them with :func:`neural_trader.training.transfer.load_pretrained_strict`:

* :class:`EnhancedSimpleLSTM` is bidirectional, so a pre-trained BiLSTM of the same sizes fits whole.
* :class:`SimpleLSTM` is unidirectional. A bidirectional checkpoint's forward direction has the same
  names and shapes for layer 0 (``weight_ih_l0``, ``weight_hh_l0``, biases), which transfer. Deeper layers
  cannot: a bidirectional layer ``k >= 1`` reads ``2H`` inputs (both directions below it), a unidirectional
  one ``H``; the transfer report lists them rather than loading weights that meant something else.

Heads: ``head.*`` is ``Linear -> ReLU -> Dropout`` per entry of ``head_hidden``, then ``Linear`` to
``num_classes`` logits. ``forward`` returns logits ``(B, num_classes)``, or with ``num_classes=0`` the value
``(B, 1)`` of a regression head.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch
from torch import nn

from neural_trader.errors import ConfigError
from neural_trader.models.attention_readout import attention_readout
from neural_trader.models.base import register
from neural_trader.models.classifier import DirectionClassifier, head_classes
from neural_trader.models.encoder import LSTMEncoder
from neural_trader.validation import dropout_rate, int_list, layers, width

if TYPE_CHECKING:
    from neural_trader.data.spec import DataSpec
    from neural_trader.models.options import ModelOptions


def _mlp_head(width: int, hidden: list[int], num_classes: int, dropout: float) -> nn.Sequential:
    layers: list[nn.Module] = []
    for units in hidden:
        layers += [nn.Linear(width, units), nn.ReLU(), nn.Dropout(dropout)]
        width = units
    layers.append(nn.Linear(width, max(num_classes, 1)))  # 0 classes: one real output
    return nn.Sequential(*layers)


def _check_common(cfg: object) -> None:
    for name in ("input_size", "hidden_size"):
        setattr(cfg, name, width(name, getattr(cfg, name)))
    cfg.num_layers = layers("num_layers", cfg.num_layers)
    cfg.num_classes = head_classes(cfg.num_classes)
    cfg.dropout = dropout_rate("dropout", cfg.dropout)
    cfg.head_hidden = int_list("head_hidden", cfg.head_hidden)


@dataclass
class SimpleLSTMConfig:
    """Sizes of a :class:`SimpleLSTM`."""

    input_size: int
    hidden_size: int = 128
    num_layers: int = 2
    # Between LSTM layers and in the head; training only.
    dropout: float = 0.2
    num_classes: int = 2
    head_hidden: list[int] = field(default_factory=lambda: [64])

    def __post_init__(self) -> None:
        _check_common(self)


@register
class SimpleLSTM(DirectionClassifier):
    """Unidirectional stacked LSTM, final hidden state of the top layer, MLP head.

    Causal by construction: the state at the last step has read the window in time order only, which
    is what a streaming (bar-by-bar) deployment can reproduce.

    Example:
        >>> import torch
        >>> model = SimpleLSTM(SimpleLSTMConfig(input_size=4, hidden_size=8))
        >>> model(torch.randn(3, 10, 4)).shape
        torch.Size([3, 2])
    """

    registry_name = "simple_lstm"
    config_class = SimpleLSTMConfig

    @classmethod
    def from_options(cls, spec: DataSpec, options: ModelOptions) -> SimpleLSTM:
        """A classifier of ``spec``'s input columns with the options' sizes."""
        o = options
        size = (len(spec.input_columns), o.hidden_size, o.num_layers, o.dropout)
        return cls(SimpleLSTMConfig(*size, num_classes=spec.num_classes))

    def __init__(self, config: SimpleLSTMConfig) -> None:
        super().__init__(config)
        c = config
        self.encoder = LSTMEncoder(c.input_size, c.hidden_size, c.num_layers, c.dropout, bidirectional=False)
        self.dropout = nn.Dropout(c.dropout)
        self.head = _mlp_head(self.encoder.output_size, c.head_hidden, c.num_classes, c.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, num_classes)``."""
        x = self.check_input(x)
        _, (h_n, _) = self.encoder(x)
        return self.head(self.dropout(self.encoder.final_hidden(h_n)))


@dataclass
class EnhancedSimpleLSTMConfig:
    """Sizes of an :class:`EnhancedSimpleLSTM`."""

    input_size: int
    hidden_size: int = 128
    num_layers: int = 2
    # Must divide 2 * hidden_size (the bidirectional output width).
    num_heads: int = 4
    # Between LSTM layers and in the head; training only.
    dropout: float = 0.2
    num_classes: int = 2
    head_hidden: list[int] = field(default_factory=lambda: [64])

    def __post_init__(self) -> None:
        _check_common(self)
        self.num_heads = width("num_heads", self.num_heads)
        if (2 * self.hidden_size) % self.num_heads:
            raise ConfigError(
                f"2 * hidden_size ({2 * self.hidden_size}) must be divisible by num_heads ({self.num_heads})"
            )


@register
class EnhancedSimpleLSTM(DirectionClassifier):
    """Stacked BiLSTM, attention readout (final hidden state as query), MLP head over ``[context; final]``.

    Example:
        >>> import torch
        >>> model = EnhancedSimpleLSTM(EnhancedSimpleLSTMConfig(input_size=4, hidden_size=8, num_heads=2))
        >>> model(torch.randn(3, 10, 4)).shape
        torch.Size([3, 2])
        >>> model.attention_weights(torch.randn(3, 10, 4)).shape
        torch.Size([3, 10])
    """

    registry_name = "enhanced_simple_lstm"
    config_class = EnhancedSimpleLSTMConfig

    @classmethod
    def from_options(cls, spec: DataSpec, options: ModelOptions) -> EnhancedSimpleLSTM:
        """A classifier of ``spec``'s input columns with the options' sizes and heads."""
        o = options
        config = EnhancedSimpleLSTMConfig(
            len(spec.input_columns),
            o.hidden_size,
            o.num_layers,
            o.num_heads,
            o.dropout,
            num_classes=spec.num_classes,
        )
        return cls(config)

    def __init__(self, config: EnhancedSimpleLSTMConfig) -> None:
        super().__init__(config)
        c = config
        self.encoder = LSTMEncoder(c.input_size, c.hidden_size, c.num_layers, c.dropout, bidirectional=True)
        width = self.encoder.output_size
        self.attention = nn.MultiheadAttention(width, c.num_heads, batch_first=True)
        self.dropout = nn.Dropout(c.dropout)
        self.head = _mlp_head(2 * width, c.head_hidden, c.num_classes, c.dropout)

    def _readout(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.check_input(x)
        outputs, (h_n, _) = self.encoder(x)
        final = self.encoder.final_hidden(h_n)
        context, weights = attention_readout(self.attention, outputs, final)
        return torch.cat([context, final], dim=-1), weights

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, num_classes)``."""
        features, _ = self._readout(x)
        return self.head(self.dropout(features))

    @torch.no_grad()
    def attention_weights(self, x: torch.Tensor) -> torch.Tensor:
        """Attention over the window's steps ``(B, T)``, averaged over heads (rows sum to 1)."""
        return self._readout(x)[1]

    def attention_map(self, x: torch.Tensor) -> torch.Tensor:
        """The single query's attention ``(B, 1, T)`` (the encoder's final state asks)."""
        return self.attention_weights(x).unsqueeze(1)
