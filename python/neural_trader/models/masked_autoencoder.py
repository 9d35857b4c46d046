"""MaskedBiLSTMAutoencoder: masked reconstruction pre-training of a BiLSTM encoder; and the encoder alone.

Masked steps of a window are replaced by a learnable ``mask_token`` (one value per feature: the model
learns what "unknown" looks like, instead of confusing it with a real zero), the BiLSTM ``encoder.lstm.*``
reads the window, and an MLP ``decoder.*`` maps each step's output back to the ``input_size`` features.
Because the encoder is bidirectional, a masked step is inferred from both its past and its future.

Objective (:meth:`MaskedBiLSTMAutoencoder.loss`): ``masked_mse + latent_weight * latent_spread_penalty``

* :func:`masked_mse`: squared error averaged over the masked steps only. Unmasked steps are visible to
  the encoder, so copying them would be a trivial task that teaches nothing.
* :func:`latent_spread_penalty`: ``mean_e relu(1 - std_e)`` where ``std_e`` is the spread of encoded
  feature ``e`` over all steps of the batch (the variance term of VICReg). It keeps the encoder from
  collapsing to a near-constant representation that a strong decoder could still partly undo.

After pre-training, :meth:`MaskedBiLSTMAutoencoder.encoder_only` gives a :class:`PretrainedEncoder`
(registry name ``lstm_encoder``) whose file holds only ``encoder.lstm.*``: the names every classifier uses,
so :func:`neural_trader.training.transfer.load_pretrained_strict` moves it into them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from neural_trader import recipe
from neural_trader.errors import ConfigError, ShapeError
from neural_trader.models.base import TwinModel, register
from neural_trader.models.encoder import LSTMEncoder
from neural_trader.validation import dropout_rate, flag, int_list, layers, width


def masked_mse(reconstruction: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean squared error over masked steps only (all features of a masked step count).

    Args:
        reconstruction: ``(B, T, F)`` model output.
        target: ``(B, T, F)`` original (unmasked) windows.
        mask: ``(B, T)`` bool, ``True`` = masked. No masked step gives a loss of 0 (nothing to predict).

    Example:
        >>> x = torch.zeros(1, 3, 2); mask = torch.tensor([[True, False, False]])
        >>> float(masked_mse(x + 1.0, x, mask))
        1.0
    """
    if reconstruction.shape != target.shape or mask.shape != target.shape[:2]:
        raise ShapeError(
            f"reconstruction {tuple(reconstruction.shape)}, target {tuple(target.shape)} and mask "
            f"{tuple(mask.shape)} must be (B, T, F), (B, T, F), (B, T)"
        )
    weight = mask.to(reconstruction.dtype).unsqueeze(-1)
    # Multiplying (rather than indexing) keeps the shape static; masked-out errors get exactly zero weight.
    squared = (reconstruction - target).square() * weight
    count = weight.sum() * target.shape[-1]
    return squared.sum() / count.clamp_min(1.0)


def latent_spread_penalty(encoded: torch.Tensor, eps: float = 1e-4) -> torch.Tensor:
    """``mean_e relu(1 - std_e)``: penalises encoded features whose spread over the batch falls below 1.

    Args:
        encoded: ``(..., E)`` encoder outputs; every leading position is one observation.
        eps: added to the variance so the square root has a finite gradient at zero spread.

    Example:
        >>> round(float(latent_spread_penalty(torch.zeros(4, 5, 3))), 4)  # a collapsed encoder pays ~1
        0.99
    """
    flat = encoded.reshape(-1, encoded.shape[-1])
    std = torch.sqrt(flat.var(dim=0, correction=0) + eps)
    return torch.relu(1.0 - std).mean()


@dataclass
class PretrainedEncoderConfig:
    """Sizes of a :class:`PretrainedEncoder` (the ``LSTMEncoder`` arguments)."""

    input_size: int
    hidden_size: int = 128
    num_layers: int = 2
    bidirectional: bool = True
    # Kept so a model built from this config behaves as the pre-trained one did; inference ignores it.
    dropout: float = 0.0

    def __post_init__(self) -> None:
        for name in ("input_size", "hidden_size"):
            width(name, getattr(self, name))
        layers("num_layers", self.num_layers)
        flag("bidirectional", self.bidirectional)
        self.dropout = dropout_rate("dropout", self.dropout)


@register
class PretrainedEncoder(TwinModel):
    """A (bi)LSTM encoder alone: what masked pre-training ships. Tensors ``encoder.lstm.*`` only.

    Example:
        >>> enc = PretrainedEncoder(PretrainedEncoderConfig(input_size=3, hidden_size=4, num_layers=1))
        >>> sorted(enc.state_dict())[:2]
        ['encoder.lstm.bias_hh_l0', 'encoder.lstm.bias_hh_l0_reverse']
    """

    registry_name = "lstm_encoder"
    config_class = PretrainedEncoderConfig
    task = "pretraining"
    output = "encoded"

    def __init__(self, config: PretrainedEncoderConfig) -> None:
        super().__init__(config)
        c = config
        self.encoder = LSTMEncoder(c.input_size, c.hidden_size, c.num_layers, c.dropout, c.bidirectional)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Encoder outputs ``(B, T, H * dirs)``."""
        return self.encoder(self.check_input(x))[0]

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """One embedding per window: the last layer's final hidden states, forward then backward.

        What the native engine's ``embed`` gives for the same file (``LSTMEncoder.final_hidden``: the
        backward direction's final state has read the whole window, which ``forward(x)[:, -1]`` would not).

        Args:
            x: Windows ``(B, T, input_size)``.

        Returns:
            ``(B, hidden_size * dirs)``.

        Raises:
            ShapeError: ``x`` is not ``(B, T, input_size)``.

        Example:
            >>> enc = PretrainedEncoder(PretrainedEncoderConfig(input_size=3, hidden_size=4, num_layers=1))
            >>> enc.embed(torch.randn(2, 7, 3)).shape
            torch.Size([2, 8])
        """
        if x.dim() != 3 or x.shape[-1] != self.config.input_size:
            raise ShapeError(f"x: expected (B, T, {self.config.input_size}), got {tuple(x.shape)}")
        _, (h_n, _) = self.encoder(x)
        return self.encoder.final_hidden(h_n)


@dataclass
class MaskedBiLSTMAutoencoderConfig:
    """Sizes and objective weights of a :class:`MaskedBiLSTMAutoencoder`."""

    input_size: int
    hidden_size: int = 128
    num_layers: int = 2
    # Between LSTM layers and in the decoder; training only.
    dropout: float = 0.2
    # Widths of the per-step MLP decoder. Kept small: a powerful decoder lets a weak encoder get away.
    decoder_hidden: list[int] = field(default_factory=lambda: [128])
    # Weight of latent_spread_penalty next to the masked reconstruction error.
    latent_weight: float = recipe.LATENT_WEIGHT

    def __post_init__(self) -> None:
        for name in ("input_size", "hidden_size"):
            width(name, getattr(self, name))
        layers("num_layers", self.num_layers)
        self.dropout = dropout_rate("dropout", self.dropout)
        self.decoder_hidden = int_list("decoder_hidden", self.decoder_hidden)
        w = self.latent_weight
        if not isinstance(w, (int, float)) or isinstance(w, bool) or not 0.0 <= w < float("inf"):
            raise ConfigError(f"latent_weight must be a finite number >= 0, got {w!r}")


@register
class MaskedBiLSTMAutoencoder(TwinModel):
    """Reconstructs masked steps of windows ``(B, T, input_size)`` from the visible ones.

    Example:
        >>> import torch
        >>> model = MaskedBiLSTMAutoencoder(MaskedBiLSTMAutoencoderConfig(input_size=3, hidden_size=8))
        >>> x, mask = torch.randn(2, 10, 3), torch.zeros(2, 10, dtype=torch.bool)
        >>> mask[:, 4:6] = True
        >>> out = model(x, mask)
        >>> out["reconstruction"].shape, out["encoded"].shape
        (torch.Size([2, 10, 3]), torch.Size([2, 10, 16]))
        >>> total, parts = model.loss(x, mask)
        >>> sorted(parts)
        ['latent', 'reconstruction']
    """

    registry_name = "masked_bilstm_autoencoder"
    config_class = MaskedBiLSTMAutoencoderConfig
    task = "pretraining"
    not_exportable = (
        "masked_bilstm_autoencoder takes (windows, mask) and exists only for pre-training; export its "
        "encoder (the lstm_encoder file written by `neural-trader pretrain`) or a fine-tuned model"
    )

    def __init__(self, config: MaskedBiLSTMAutoencoderConfig) -> None:
        super().__init__(config)
        c = config
        # Zero is the mean of standardised inputs: a neutral starting point for "unknown".
        self.mask_token = nn.Parameter(torch.zeros(c.input_size))
        self.encoder = LSTMEncoder(c.input_size, c.hidden_size, c.num_layers, c.dropout, bidirectional=True)
        layers: list[nn.Module] = []
        width = self.encoder.output_size
        for units in c.decoder_hidden:
            layers += [nn.Linear(width, units), nn.GELU(), nn.Dropout(c.dropout)]
            width = units
        layers.append(nn.Linear(width, c.input_size))
        self.decoder = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> dict[str, torch.Tensor]:
        """``reconstruction (B, T, F)`` and ``encoded (B, T, 2H)`` of ``x`` with the ``mask`` steps hidden.

        Raises:
            ShapeError: ``x`` is not ``(B, T, input_size)`` or ``mask`` is not ``(B, T)``. DataError: a
                non-finite value in ``x``.
        """
        x = self.check_input(x)
        if not isinstance(mask, torch.Tensor) or tuple(mask.shape) != tuple(x.shape[:2]):
            shape = tuple(mask.shape) if isinstance(mask, torch.Tensor) else type(mask).__name__
            raise ShapeError(f"mask: expected {tuple(x.shape[:2])}, got {shape}")
        hidden = torch.where(mask.bool().unsqueeze(-1), self.mask_token.to(x.dtype), x)
        encoded, _ = self.encoder(hidden)
        return {"reconstruction": self.decoder(encoded), "encoded": encoded}

    def loss(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Total pre-training loss and its parts ``{"reconstruction", "latent"}`` (unweighted)."""
        out = self(x, mask)
        reconstruction = masked_mse(out["reconstruction"], x, mask.bool())
        latent = latent_spread_penalty(out["encoded"])
        total = reconstruction + self.config.latent_weight * latent
        return total, {"reconstruction": reconstruction.detach(), "latent": latent.detach()}

    def encoder_only(self) -> PretrainedEncoder:
        """A :class:`PretrainedEncoder` holding a copy of this model's ``encoder.lstm.*`` weights."""
        c = self.config
        cfg = PretrainedEncoderConfig(c.input_size, c.hidden_size, c.num_layers, True, c.dropout)
        encoder = PretrainedEncoder(cfg)
        encoder.encoder.load_state_dict(self.encoder.state_dict())
        return encoder.eval()
