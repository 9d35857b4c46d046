"""TrendAttention: BiLSTM encoder, multi-head attention readout, one trend/direction head per horizon.

With ``H = hidden_size`` and ``E = 2H`` (bidirectional):

1. Encoder ``encoder.lstm.*``: stacked BiLSTM over ``x (B, T, input_size)`` -> outputs ``(B, T, E)``.
2. ``attention``: ``nn.MultiheadAttention(E, num_heads)``; the query is the final hidden state (forward and
   backward halves of the last layer), keys and values are the outputs of every step
   (:func:`~neural_trader.models.attention_readout.attention_readout`).
3. ``heads.h{h}`` for every horizon ``h``: an MLP trunk (``Linear -> ReLU -> Dropout`` per entry of
   ``head_hidden``) over ``[context; final hidden]`` (``2E`` features: what the window says when asked, and
   the summary that asked), then ``trend`` (one unit, ``tanh``: a score in ``[-1, 1]``, the scale of the
   ``trend_{h}`` labels of :func:`neural_trader.data.make_labels`) and ``direction`` (two logits: down, up,
   for the ``direction_{h}`` labels).

``forward`` returns a dict: ``trend_{h}`` ``(B,)``, ``direction_logits_{h}`` ``(B, 2)`` for each horizon and
``attention_weights`` ``(B, T)`` (averaged over heads). The keys follow the label names so a task adapter
can pair outputs and labels by name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from neural_trader.errors import ConfigError
from neural_trader.models.attention_readout import attention_readout
from neural_trader.models.base import TwinModel, register
from neural_trader.models.encoder import LSTMEncoder
from neural_trader.models.options import TaskOptions
from neural_trader.validation import dropout_rate, int_list, layers, width

if TYPE_CHECKING:
    from neural_trader.data.spec import DataSpec
    from neural_trader.models.options import ModelOptions
    from neural_trader.training.tasks import Task


@dataclass
class TrendAttentionConfig:
    """Sizes of a :class:`TrendAttention`."""

    input_size: int
    hidden_size: int = 128
    num_layers: int = 2
    # Must divide 2 * hidden_size (the bidirectional output width): each head sees 2H / num_heads features.
    num_heads: int = 4
    # One head per horizon, in bars; outputs are named after them (trend_7, direction_logits_7, ...).
    horizons: list[int] = field(default_factory=lambda: [7, 30])
    # Widths of each head's MLP trunk; small, because the signal per horizon is a handful of numbers.
    head_hidden: list[int] = field(default_factory=lambda: [64, 32])
    # Between LSTM layers and inside the heads; training only.
    dropout: float = 0.2

    def __post_init__(self) -> None:
        for name in ("input_size", "hidden_size", "num_heads"):
            setattr(self, name, width(name, getattr(self, name)))
        self.num_layers = layers("num_layers", self.num_layers)
        self.horizons = int_list("horizons", self.horizons, allow_empty=False, distinct=True)
        self.head_hidden = int_list("head_hidden", self.head_hidden)
        self.dropout = dropout_rate("dropout", self.dropout)
        if (2 * self.hidden_size) % self.num_heads:
            raise ConfigError(
                f"2 * hidden_size ({2 * self.hidden_size}) must be divisible by num_heads ({self.num_heads})"
            )


class HorizonHead(nn.Module):
    """MLP trunk, then a ``tanh`` trend score ``(B,)`` and two direction logits ``(B, 2)``."""

    def __init__(self, in_features: int, hidden: list[int], dropout: float) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = in_features
        for units in hidden:
            layers += [nn.Linear(width, units), nn.ReLU(), nn.Dropout(dropout)]
            width = units
        self.trunk = nn.Sequential(*layers)
        self.trend = nn.Linear(width, 1)
        self.direction = nn.Linear(width, 2)

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.trunk(features)
        return torch.tanh(self.trend(z)).squeeze(-1), self.direction(z)


@register
class TrendAttention(TwinModel):
    """Multi-horizon trend scorer and direction classifier over windows ``(B, T, input_size)``.

    Example:
        >>> import torch
        >>> cfg = TrendAttentionConfig(input_size=4, hidden_size=8, num_heads=2, horizons=[7, 30])
        >>> out = TrendAttention(cfg)(torch.randn(3, 12, 4))
        >>> out["trend_7"].shape, out["direction_logits_30"].shape, out["attention_weights"].shape
        (torch.Size([3]), torch.Size([3, 2]), torch.Size([3, 12]))
    """

    registry_name = "trend_attention"
    config_class = TrendAttentionConfig
    task = "trend"

    @classmethod
    def from_options(cls, spec: DataSpec, options: ModelOptions) -> TrendAttention:
        """One head per horizon of the spec (``--horizons 7 30``: both trained together), over ``spec``'s
        input columns."""
        o = options
        config = TrendAttentionConfig(
            len(spec.input_columns),
            o.hidden_size,
            o.num_layers,
            o.num_heads,
            list(spec.horizons or [spec.horizon]),
            dropout=o.dropout,
        )
        return cls(config)

    @classmethod
    def make_task(
        cls,
        spec: DataSpec,
        y_train: np.ndarray,
        *,
        class_weights: bool = True,
        options: TaskOptions | None = None,
    ) -> Task:
        """:class:`~neural_trader.training.TrendTask` on ``direction_{h}`` and ``trend_{h}`` of every
        horizon, each direction part weighted by inverse class frequency of its training labels unless
        ``class_weights`` is False; loss weights from ``options`` (the recipe's regression 1.0,
        classification 0.5 by default)."""
        # Imported here: the training package imports the models, not the other way round.
        from neural_trader.training.losses import balanced_class_weights
        from neural_trader.training.tasks import TrendTask

        o = options or TaskOptions()
        columns = spec.label_columns()
        horizons = list(spec.horizons or [spec.horizon])
        weights = None
        if class_weights:
            weights = {
                h: balanced_class_weights(y_train[:, columns.index(f"direction_{h}")]) for h in horizons
            }
        return TrendTask(
            horizons,
            columns,
            regression_weight=o.regression_weight,
            classification_weight=o.classification_weight,
            class_weights=weights,
        )

    def output_dict(
        self, out: dict[str, torch.Tensor], horizon: int | None = None
    ) -> dict[str, torch.Tensor]:
        """``logits`` and ``trend`` of the head of ``horizon`` (default: the first); with several heads,
        also every head's ``logits_{h}`` and ``trend_{h}``."""
        return _heads(out, list(self.config.horizons), horizon)

    @classmethod
    def native_output_dict(
        cls, out: dict[str, np.ndarray], horizon: int | None = None
    ) -> dict[str, np.ndarray]:
        """The engine's dict (``trend_{h}``, ``direction_logits_{h}``, ``attention_weights``) with the keys
        of :meth:`output_dict`; the horizons are read from the keys, in the order the engine gives them."""
        return _heads(out, [int(k.removeprefix("trend_")) for k in out if k.startswith("trend_")], horizon)

    @torch.no_grad()
    def attention_map(self, x: torch.Tensor) -> torch.Tensor:
        """The single query's attention ``(B, 1, T)`` (the encoder's final state asks)."""
        return self(x)["attention_weights"].unsqueeze(1)

    def onnx_outputs(self) -> list[str]:
        """Every head's ``direction_logits_{h}`` and ``trend_{h}``, then ``attention_weights``."""
        keys = [f"{kind}_{h}" for h in self.config.horizons for kind in ("direction_logits", "trend")]
        return [*keys, "attention_weights"]

    def __init__(self, config: TrendAttentionConfig) -> None:
        super().__init__(config)
        c = config
        self.encoder = LSTMEncoder(c.input_size, c.hidden_size, c.num_layers, c.dropout, bidirectional=True)
        width = self.encoder.output_size
        self.attention = nn.MultiheadAttention(width, c.num_heads, batch_first=True)
        self.heads = nn.ModuleDict(
            {f"h{h}": HorizonHead(2 * width, c.head_hidden, c.dropout) for h in c.horizons}
        )

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per-horizon ``trend_{h}`` ``(B,)`` and ``direction_logits_{h}`` ``(B, 2)``, ``attention_weights``.

        Raises:
            ShapeError, DataError: see :meth:`~neural_trader.models.TwinModel.check_input`.
        """
        x = self.check_input(x)
        outputs, (h_n, _) = self.encoder(x)
        final = self.encoder.final_hidden(h_n)
        context, weights = attention_readout(self.attention, outputs, final)
        features = torch.cat([context, final], dim=-1)
        result: dict[str, torch.Tensor] = {}
        for h in self.config.horizons:
            trend, logits = self.heads[f"h{h}"](features)
            result[f"trend_{h}"] = trend
            result[f"direction_logits_{h}"] = logits
        result["attention_weights"] = weights
        return result


def _heads(out: dict, horizons: list[int], horizon: int | None) -> dict:
    """The common output dict of either twin's heads: ``logits``/``trend`` of ``horizon`` (default: the
    first) and, with several heads, every head's ``logits_{h}`` and ``trend_{h}``."""
    h = horizons[0] if horizon is None else horizon
    result = {"logits": out[f"direction_logits_{h}"], "trend": out[f"trend_{h}"]}
    if len(horizons) > 1:
        for k in horizons:
            result[f"logits_{k}"] = out[f"direction_logits_{k}"]
            result[f"trend_{k}"] = out[f"trend_{k}"]
    return result
