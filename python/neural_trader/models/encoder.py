"""The stacked (bi)LSTM encoder shared by the classifiers and the pre-training autoencoder.

Keeping the LSTM under ``encoder.lstm`` in every model makes its parameter names identical across models,
which is what lets a pre-trained encoder move into a classifier and the Rust twin find the weights.
"""

from __future__ import annotations

import torch
from torch import nn


class LSTMEncoder(nn.Module):
    """``torch.nn.LSTM`` (batch first) with a readout of the last layer's final hidden states.

    Args:
        input_size: Features per time step.
        hidden_size: Hidden units per direction.
        num_layers: Stacked layers.
        dropout: Dropout between layers (training only).
        bidirectional: Run each layer backwards too.
    """

    def __init__(
        self, input_size: int, hidden_size: int, num_layers: int, dropout: float, bidirectional: bool
    ) -> None:
        super().__init__()
        self.lstm = nn.LSTM(
            input_size,
            hidden_size,
            num_layers,
            batch_first=True,
            dropout=dropout if num_layers > 1 else 0.0,
            bidirectional=bidirectional,
        )

    @property
    def num_directions(self) -> int:
        return 2 if self.lstm.bidirectional else 1

    @property
    def output_size(self) -> int:
        """Width of each output step and of :meth:`final_hidden`."""
        return self.lstm.hidden_size * self.num_directions

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """Returns ``(out (B, T, H * dirs), (h_n, c_n))`` exactly as ``nn.LSTM``."""
        return self.lstm(x)

    def final_hidden(self, h_n: torch.Tensor) -> torch.Tensor:
        """Last layer's final forward (and final backward) hidden states, concatenated: ``(B, H * dirs)``.

        The backward direction's final state has read the whole window; ``out[:, -1]`` would give it one step.
        """
        top = h_n[-self.num_directions :]
        return torch.cat(list(top), dim=-1)
