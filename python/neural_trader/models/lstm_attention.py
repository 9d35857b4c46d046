"""LSTMAttention: encoder-decoder LSTM forecaster with multi-head attention and teacher forcing.

Twin of ``nt_core::models::LstmAttention``. With ``H = hidden_size``, ``E = H * dirs``, ``Le``/``Ld`` encoder/
decoder layers and ``O = output_size``:

1. Encoder ``encoder.lstm.*``: stacked (bi)LSTM over ``x (B, T, input_size)``: outputs ``(B, T, E)`` and
   final states ``(Le * dirs, B, H)``.
2. Bridge ``bridge_h``, ``bridge_c``: the final ``h_n`` (resp. ``c_n``) of every encoder layer and direction,
   flattened per sample in PyTorch's row order (layer-major, forward before backward) to
   ``(B, Le * dirs * H)``, map linearly to ``(B, Ld * H)``, one ``H``-slice per decoder layer, with ``tanh``
   on the hidden half. One learned map covers both directions and any ``Ld != Le``.
3. Memory: the encoder outputs, projected to ``H`` by ``encoder_proj`` when bidirectional (``E != H``; the
   layer is absent otherwise), are keys and values of ``attention``, an ``nn.MultiheadAttention(H,
   num_heads, batch_first=True)``.
4. Decoder ``decoder.*``: unidirectional ``Ld``-layer ``nn.LSTM`` over ``O``-wide inputs. Step ``t`` reads
   the previous value of the target columns: at ``t = 0`` the last observed ``x[:, -1, target_indices]``;
   later the truth ``y[:, t - 1]`` (teacher forcing) or the model's own previous prediction.
5. Output: the decoder's new top hidden state ``h_t`` is the attention query (Luong style);
   ``output_proj(dropout(output_norm([h_t; context_t])))`` gives ``(B, O)``; ``output_norm`` is a LayerNorm
   over ``2H`` when ``layer_norm`` (``nn.Identity`` otherwise, so no tensors).

Dropout acts between LSTM layers and before ``output_proj``, in training only; attention weights are not
dropped, so the weights returned in training and inference mean the same thing. When every step is
teacher-forced, the decoder and attention run over all steps in one call (same numbers, much faster).
Predictions fed back are not detached: gradients flow through the model's own forecasts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from neural_trader.errors import ConfigError, ShapeError
from neural_trader.models.base import TwinModel, register
from neural_trader.models.encoder import LSTMEncoder
from neural_trader.validation import dropout_rate, flag, integer, layers, probability, width

if TYPE_CHECKING:
    from neural_trader.data.spec import DataSpec
    from neural_trader.models.options import ModelOptions, TaskOptions
    from neural_trader.training.tasks import Task


@dataclass
class LSTMAttentionConfig:
    """Sizes of an :class:`LSTMAttention`; the Rust ``LstmAttentionConfig`` has the same fields.

    ``target_indices`` defaults to the first ``output_size`` input columns and is stored resolved (a list),
    so a checkpoint always says which columns are forecast; the Rust twin also reads ``null`` as the default.
    """

    input_size: int
    output_size: int
    horizon: int
    hidden_size: int = 128
    num_encoder_layers: int = 2
    num_decoder_layers: int = 2
    # Must divide hidden_size: every head sees hidden_size // num_heads features.
    num_heads: int = 8
    bidirectional: bool = True
    # Between LSTM layers and before the output projection; inference (and the Rust twin) ignores it.
    dropout: float = 0.1
    # Chance per decoder step, in training, of reading the true previous target instead of the model's own
    # forecast (the trainer's ForecastTask passes the targets); a ScheduledSampling in the task's options
    # (`train --teacher-forcing-schedule`) overrides it per epoch, starting from this value.
    teacher_forcing_ratio: float = 0.5
    layer_norm: bool = True
    # Input columns the decoder forecasts and is seeded from (the last observed values start decoding).
    target_indices: list[int] | None = None

    def __post_init__(self) -> None:
        for name in (
            "input_size",
            "output_size",
            "horizon",
            "hidden_size",
            "num_heads",
        ):
            setattr(self, name, width(name, getattr(self, name)))
        for name in ("num_encoder_layers", "num_decoder_layers"):
            setattr(self, name, layers(name, getattr(self, name)))
        if self.hidden_size % self.num_heads:
            raise ConfigError(
                f"hidden_size ({self.hidden_size}) must be divisible by num_heads ({self.num_heads})"
            )
        self.bidirectional = flag("bidirectional", self.bidirectional)
        self.layer_norm = flag("layer_norm", self.layer_norm)
        self.dropout = dropout_rate("dropout", self.dropout)
        self.teacher_forcing_ratio = probability("teacher_forcing_ratio", self.teacher_forcing_ratio)
        if self.target_indices is None:
            if self.output_size > self.input_size:
                raise ConfigError(
                    f"output_size ({self.output_size}) exceeds input_size ({self.input_size}): "
                    "give target_indices explicitly"
                )
            self.target_indices = list(range(self.output_size))
        idx = self.target_indices
        if not isinstance(idx, (list, tuple)):
            raise ConfigError(f"target_indices must be a list of column indices, got {idx!r}")
        idx = list(idx)
        if len(idx) != self.output_size:
            raise ConfigError(
                f"target_indices has {len(idx)} entries, expected output_size = {self.output_size}"
            )
        idx = [integer("target index", i, low=0, high=self.input_size - 1) for i in idx]
        if len(set(idx)) != len(idx):
            raise ConfigError(f"target_indices {idx} has a repeated index")
        self.target_indices = idx


@register
class LSTMAttention(TwinModel):
    """Forecasts ``horizon`` steps of the target columns from a window ``(B, T, input_size)``.

    Example:
        >>> import torch, neural_trader as nt
        >>> cfg = nt.LSTMAttentionConfig(input_size=3, output_size=1, horizon=5, hidden_size=8, num_heads=2)
        >>> model = nt.LSTMAttention(cfg)
        >>> x, y = torch.randn(4, 20, 3), torch.randn(4, 5, 1)
        >>> model(x, y, generator=0).shape            # training: teacher forcing at the config's ratio
        torch.Size([4, 5, 1])
        >>> pred, attn = model.forecast(x, return_attention=True)
        >>> pred.shape, attn.shape
        (torch.Size([4, 5, 1]), torch.Size([4, 5, 20]))
    """

    registry_name = "lstm_attention"
    config_class = LSTMAttentionConfig
    task = "forecast"
    output = "forecast"

    @classmethod
    def from_options(cls, spec: DataSpec, options: ModelOptions) -> LSTMAttention:
        """A forecaster of ``spec``'s targets, ``spec.horizon`` steps ahead, from its input columns.

        Dropout is capped at 0.1, the config's default: the options' default (0.2) suits the classifiers.
        """
        o = options
        config = LSTMAttentionConfig(
            input_size=len(spec.input_columns),
            output_size=len(spec.targets),
            horizon=spec.horizon,
            hidden_size=o.hidden_size,
            num_encoder_layers=o.num_layers,
            num_decoder_layers=o.decoder_layers,
            num_heads=o.num_heads,
            dropout=min(o.dropout, 0.1),
            teacher_forcing_ratio=o.teacher_forcing_ratio,
            target_indices=spec.target_indices(),
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
        """:class:`~neural_trader.training.ForecastTask`: MSE over every forecast step of every target,
        teacher-forced in training (ratio per epoch: ``options.teacher_forcing``, default the config's
        ``teacher_forcing_ratio``), autoregressive in evaluation. Class weights do not apply."""
        # Imported here: the training package imports the models, not the other way round.
        from neural_trader.training.forecasting import ForecastTask

        o = options
        return ForecastTask(
            label_indices=list(range(y_train.shape[1])),
            horizon=spec.horizon,
            output_size=len(spec.targets),
            teacher_forcing=o.teacher_forcing if o is not None else None,
            seed=o.seed if o is not None else 0,
        )

    def __init__(self, config: LSTMAttentionConfig) -> None:
        super().__init__(config)
        c = config
        h = c.hidden_size
        self.encoder = LSTMEncoder(c.input_size, h, c.num_encoder_layers, c.dropout, c.bidirectional)
        states = c.num_encoder_layers * self.encoder.num_directions * h
        self.bridge_h = nn.Linear(states, c.num_decoder_layers * h)
        self.bridge_c = nn.Linear(states, c.num_decoder_layers * h)
        self.encoder_proj = nn.Linear(self.encoder.output_size, h) if self.encoder.output_size != h else None
        self.decoder = nn.LSTM(
            c.output_size,
            h,
            c.num_decoder_layers,
            batch_first=True,
            dropout=c.dropout if c.num_decoder_layers > 1 else 0.0,
        )
        self.attention = nn.MultiheadAttention(h, c.num_heads, batch_first=True)
        self.output_norm = nn.LayerNorm(2 * h) if c.layer_norm else nn.Identity()
        self.dropout = nn.Dropout(c.dropout)
        self.output_proj = nn.Linear(2 * h, c.output_size)

    def forward(
        self,
        x: torch.Tensor,
        y: torch.Tensor | None = None,
        *,
        teacher_forcing_ratio: float | None = None,
        generator: torch.Generator | int | None = None,
        return_attention: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Forecasts ``(B, horizon, output_size)``, optionally teacher-forced by ``y``.

        Args:
            x: Windows ``(B, T, input_size)``.
            y: True future targets ``(B, horizon, output_size)``; without it decoding is autoregressive.
            teacher_forcing_ratio: Chance per step (after the first) of reading ``y[:, t - 1]``. Defaults to
                ``config.teacher_forcing_ratio`` in training mode and 0 (autoregressive) in eval mode.
            generator: ``torch.Generator`` or integer seed for the per-step coin flips (one flip per step,
                shared by the batch); ``None`` uses torch's global generator.
            return_attention: Also return the attention weights ``(B, horizon, T)``, averaged over heads.

        Raises:
            ShapeError: ``x`` or ``y`` has the wrong shape. ConfigError: a ratio outside ``[0, 1]``.
        """
        c = self.config
        x = self.check_input(x)
        if y is not None and tuple(y.shape) != (x.shape[0], c.horizon, c.output_size):
            raise ShapeError(
                f"target y: expected shape ({x.shape[0]}, {c.horizon}, {c.output_size}), got {tuple(y.shape)}"
            )
        ratio = teacher_forcing_ratio
        if ratio is None:
            ratio = c.teacher_forcing_ratio if self.training else 0.0
        if not 0.0 <= ratio <= 1.0:
            raise ConfigError(f"teacher_forcing_ratio must be in [0, 1], got {ratio!r}")
        feed_truth = self._coin_flips(ratio if y is not None else 0.0, generator)

        memory, state = self._encode(x)
        first = x[:, -1:, c.target_indices]  # (B, 1, O)
        if y is not None and all(feed_truth):
            inputs = torch.cat([first, y[:, :-1]], dim=1)
            pred, attn, _ = self._steps(inputs, state, memory)
        else:
            preds, attns, inp = [], [], first
            for t in range(c.horizon):
                value, w, state = self._steps(inp, state, memory)
                preds.append(value)
                attns.append(w)
                inp = y[:, t : t + 1] if y is not None and t < c.horizon - 1 and feed_truth[t] else value
            pred, attn = torch.cat(preds, dim=1), torch.cat(attns, dim=1)
        return (pred, attn) if return_attention else pred

    def teacher_forced(
        self, x: torch.Tensor, y: torch.Tensor, return_attention: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Teacher-forced pass: every step after the first reads the truth ``y[:, t - 1]`` (ratio 1); the
        PyTorch twin of the native engine's ``teacher_forced``, with the same numbers in eval mode.

        Unlike :meth:`forecast` it keeps the module's mode and gradients: in training mode dropout applies,
        as in any training step.

        Args:
            x: Windows ``(B, T, input_size)``.
            y: True targets ``(B, horizon, output_size)``.
            return_attention: Also return the attention weights ``(B, horizon, T)``, averaged over heads.

        Raises:
            ShapeError: ``x`` or ``y`` has the wrong shape.

        Example:
            >>> import torch, neural_trader as nt
            >>> model = nt.LSTMAttention(nt.LSTMAttentionConfig(3, 1, horizon=4, hidden_size=8, num_heads=2))
            >>> model.eval().teacher_forced(torch.randn(2, 9, 3), torch.randn(2, 4, 1)).shape
            torch.Size([2, 4, 1])
        """
        if not isinstance(y, torch.Tensor):
            raise ShapeError(f"target y: expected a tensor, got {type(y).__name__}")
        return self(x, y, teacher_forcing_ratio=1.0, return_attention=return_attention)

    @torch.no_grad()
    def forecast(
        self, x: torch.Tensor, return_attention: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Autoregressive forecast ``(B, horizon, output_size)`` in eval mode, without gradients.

        The module's training/eval mode is restored afterwards. With ``return_attention`` also returns the
        attention weights ``(B, horizon, T)`` averaged over heads.
        """
        was_training = self.training
        self.eval()
        try:
            return self(x, return_attention=return_attention)
        finally:
            self.train(was_training)

    def attention_map(self, x: torch.Tensor) -> torch.Tensor:
        """Attention of the autoregressive forecast ``(B, horizon, T)``: one row per forecast step."""
        return self.forecast(x, return_attention=True)[1]

    def _coin_flips(self, ratio: float, generator: torch.Generator | int | None) -> list[bool]:
        """One flip per step after the first: True means "read the truth". Draws nothing at ratio 0 or 1."""
        steps = self.config.horizon - 1
        if ratio <= 0.0 or ratio >= 1.0:
            return [ratio >= 1.0] * steps
        if isinstance(generator, int):
            generator = torch.Generator().manual_seed(generator)
        return (torch.rand(steps, generator=generator) < ratio).tolist()

    def _encode(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        out, (h_n, c_n) = self.encoder(x)
        memory = self.encoder_proj(out) if self.encoder_proj is not None else out
        return memory, (torch.tanh(self._bridge(self.bridge_h, h_n)), self._bridge(self.bridge_c, c_n))

    def _bridge(self, linear: nn.Linear, state: torch.Tensor) -> torch.Tensor:
        """``(Le * dirs, B, H)`` -> ``(B, Le * dirs * H)`` -> linear -> ``(Ld, B, H)``."""
        batch = state.shape[1]
        mapped = linear(state.transpose(0, 1).reshape(batch, -1))
        return mapped.reshape(batch, self.config.num_decoder_layers, -1).transpose(0, 1).contiguous()

    def _steps(
        self, inputs: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor], memory: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """Decoder over ``inputs (B, L, O)``, attention, output head: ``(B, L, O)``, ``(B, L, T)``, state."""
        hidden, state = self.decoder(inputs, state)
        context, weights = self.attention(hidden, memory, memory, need_weights=True)
        features = self.output_norm(torch.cat([hidden, context], dim=-1))
        return self.output_proj(self.dropout(features)), weights, state
