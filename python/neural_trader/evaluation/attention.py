"""Where an attention model looks: its attention weights averaged over test windows, as a heat map.

Every attention model declares :meth:`~neural_trader.models.TwinModel.attention_map`: weights
``(B, Q, T)``, one row per query over the ``T`` encoder steps of the window (rows sum to 1, averaged over
heads). ``lstm_attention`` has one query per forecast step (``Q = horizon``); the single-query readouts of
``enhanced_simple_lstm`` and ``trend_attention`` have ``Q = 1`` (the encoder's final state asks). Models
without attention return None and get no heat map.

Example:
    >>> import torch, neural_trader as nt
    >>> model = nt.LSTMAttention(nt.LSTMAttentionConfig(2, 1, horizon=3, hidden_size=8, num_heads=2))
    >>> AttentionMap.of(model, np.zeros((5, 10, 2), np.float32)).weights.shape
    (3, 10)
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from neural_trader.errors import ShapeError
from neural_trader.files import write_atomic


@dataclass
class AttentionMap:
    """Attention weights averaged over windows.

    Attributes:
        weights: ``(Q, T)`` mean weight of each encoder step (columns, oldest first) for each query (rows).
        windows: how many windows the mean is over.
        queries: ``"forecast step"`` (one row per step) or ``"final state"`` (one row).
    """

    weights: np.ndarray
    windows: int
    queries: str

    @classmethod
    @torch.no_grad()
    def of(
        cls, model: Any, x: np.ndarray, *, batch_size: int = 256, device: str = "cpu"
    ) -> AttentionMap | None:
        """The mean attention of ``model`` over windows ``x`` ``(N, T, F)``; None for a model without
        attention (or no window)."""
        if len(x) == 0:
            return None
        total: torch.Tensor | None = None
        model = model.to(device).eval()
        for start in range(0, len(x), batch_size):
            xb = torch.from_numpy(np.ascontiguousarray(x[start : start + batch_size])).to(device)
            weights = model.attention_map(xb)
            if weights is None:
                return None
            part = weights.double().sum(dim=0).cpu()
            total = part if total is None else total + part
        assert total is not None
        mean = (total / len(x)).numpy()
        return cls(mean, len(x), "forecast step" if mean.shape[0] > 1 else "final state")

    @staticmethod
    def pooled(maps: list[AttentionMap | None]) -> AttentionMap | None:
        """The mean over every window of several maps (e.g. walk-forward folds), weighted by windows.

        Raises:
            ShapeError: maps of different shapes.
        """
        present = [m for m in maps if m is not None]
        if not present:
            return None
        shapes = {m.weights.shape for m in present}
        if len(shapes) > 1:
            raise ShapeError(f"attention maps of different shapes cannot be pooled: {sorted(shapes)}")
        n = sum(m.windows for m in present)
        mean = sum(m.weights * m.windows for m in present) / n
        return AttentionMap(np.asarray(mean), n, present[0].queries)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the shape, the window count, the weights, and the share of the last quarter of
        the window (how recent the steps are that the model reads)."""
        q, t = self.weights.shape
        recent = max(1, t // 4)
        return {
            "queries": self.queries,
            "shape": [q, t],
            "windows": self.windows,
            "recent_steps": recent,
            "recent_share": float(self.weights[:, -recent:].sum(axis=1).mean()),
            "uniform_share": recent / t,
            "weights": self.weights.round(6).tolist(),
        }


def plot_attention(path: str | os.PathLike, attention: AttentionMap, *, title: str) -> None:
    """A heat map of ``attention.weights`` (queries x encoder steps) over the mean weight per step, written
    atomically as PNG.

    The x axis counts bars back from the window's last one (0 = the bar the prediction is made at); the
    dashed line of the lower panel is uniform attention (``1 / T``).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    w = attention.weights
    q, t = w.shape
    steps = np.arange(-t + 1, 1)
    fig = Figure(figsize=(9.0, 2.6 + 0.28 * q))
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(2, 2, height_ratios=[max(1.0, 0.35 * q), 1.6], width_ratios=[40, 1])
    ax = fig.add_subplot(grid[0, 0])
    image = ax.imshow(
        w, aspect="auto", cmap="viridis", interpolation="nearest", extent=(steps[0] - 0.5, 0.5, q + 0.5, 0.5)
    )
    fig.colorbar(image, cax=fig.add_subplot(grid[0, 1]), label="weight")
    if attention.queries == "forecast step":
        ax.set_ylabel("forecast step")
        ax.set_yticks(np.arange(1, q + 1) if q <= 12 else np.linspace(1, q, 6).round().astype(int))
    else:
        ax.set_yticks([1])
        ax.set_yticklabels(["final state"])
    ax.set_title(f"{title}: attention averaged over {attention.windows} test windows", fontsize="medium")
    ax.tick_params(labelbottom=False)
    low = fig.add_subplot(grid[1, 0], sharex=ax)
    low.plot(steps, w.mean(axis=0), marker=".", color="tab:blue", label="mean over queries")
    low.axhline(1.0 / t, color="tab:gray", linestyle="--", linewidth=0.8, label="uniform (1/T)")
    low.set_xlabel("encoder step (bars before the window's last bar; 0 = last)")
    low.set_ylabel("weight")
    low.legend(fontsize="x-small", loc="upper left")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    write_atomic(Path(path), buffer.getvalue())
