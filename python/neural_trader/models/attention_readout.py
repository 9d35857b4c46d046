"""Attention readout of a (bi)LSTM encoder: the final hidden state asks, every encoder step answers.

Used by :class:`~neural_trader.models.trend_attention.TrendAttention` and
:class:`~neural_trader.models.simple_lstm.EnhancedSimpleLSTM`. The query is the encoder's final hidden
state (forward and backward halves, see :meth:`LSTMEncoder.final_hidden`), the keys and values are the
encoder outputs of every step, so the context is a learned, input-dependent pooling of the window.
"""

from __future__ import annotations

import torch
from torch import nn


def attention_readout(
    attention: nn.MultiheadAttention, outputs: torch.Tensor, final_hidden: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Context ``(B, E)`` and attention weights ``(B, T)`` (averaged over heads; each row sums to 1).

    Args:
        attention: ``nn.MultiheadAttention(E, heads, batch_first=True)``.
        outputs: encoder outputs ``(B, T, E)``: keys and values.
        final_hidden: encoder final hidden state ``(B, E)``: the single query.

    Example:
        >>> mha = nn.MultiheadAttention(8, 2, batch_first=True)
        >>> ctx, w = attention_readout(mha, torch.randn(3, 5, 8), torch.randn(3, 8))
        >>> ctx.shape, w.shape
        (torch.Size([3, 8]), torch.Size([3, 5]))
    """
    context, weights = attention(final_hidden.unsqueeze(1), outputs, outputs, need_weights=True)
    return context.squeeze(1), weights.squeeze(1)
