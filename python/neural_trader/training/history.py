"""Training history: one record per epoch, saved as JSON and plotted as PNG.

Plots use matplotlib's object API with the Agg canvas directly (no ``pyplot``), so saving a plot never
opens a window, never touches the global backend, and works on headless machines and in threads.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from typing import Any

from neural_trader.errors import ConfigError
from neural_trader.files import atomic_path, write_atomic


@dataclass
class History:
    """Per-epoch records such as ``{"epoch": 1, "train_loss": ..., "val_loss": ..., "lr": ...}``.

    Example:
        >>> h = History()
        >>> h.append({"epoch": 1, "train_loss": 0.7, "val_loss": 0.69})
        >>> h.column("val_loss")
        [0.69]
        >>> History.from_json(h.to_json()) == h
        True
    """

    records: list[dict[str, float]] = field(default_factory=list)

    def append(self, record: dict[str, Any]) -> None:
        """Adds one epoch's values (converted to float)."""
        self.records.append({k: float(v) for k, v in record.items()})

    def column(self, key: str) -> list[float]:
        """The values of ``key`` over epochs (NaN where an epoch lacks it)."""
        return [r.get(key, math.nan) for r in self.records]

    def keys(self) -> list[str]:
        """Every key seen, in first-seen order."""
        seen: dict[str, None] = {}
        for r in self.records:
            seen.update(dict.fromkeys(r))
        return list(seen)

    def to_json(self) -> str:
        """The records as a JSON list (NaN written as null, which strict JSON readers accept)."""
        clean = [{k: (None if math.isnan(v) else v) for k, v in r.items()} for r in self.records]
        return json.dumps(clean, indent=1)

    @classmethod
    def from_json(cls, text: str) -> History:
        """Parses :meth:`to_json`.

        Raises:
            ConfigError: not a JSON list of objects.
        """
        records = json.loads(text)
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise ConfigError("history JSON must be a list of objects")
        return cls([{k: (math.nan if v is None else float(v)) for k, v in r.items()} for r in records])

    def save(self, path: str | os.PathLike) -> None:
        """Writes :meth:`to_json` atomically (:func:`neural_trader.files.write_atomic`)."""
        write_atomic(path, self.to_json())

    def plot(self, path: str | os.PathLike, title: str = "training history") -> None:
        """Saves a PNG, atomically: losses (train and validation), the learning rate, and the other
        validation metrics.

        Example:
            >>> History([{"epoch": 1, "train_loss": 1.0, "val_loss": 1.1}]).plot("h.png")  # doctest: +SKIP
        """
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        epochs = self.column("epoch")
        metrics = [k for k in self.keys() if k.startswith("val_") and k != "val_loss"]
        panels = 2 + (1 if metrics else 0)
        fig = Figure(figsize=(6.5, 2.6 * panels))
        FigureCanvasAgg(fig)
        axes = fig.subplots(panels, 1, sharex=True, squeeze=False)[:, 0]
        for key in ("train_loss", "val_loss"):
            if key in self.keys():
                axes[0].plot(epochs, self.column(key), marker="o", label=key)
        axes[0].set_ylabel("loss")
        axes[0].legend()
        axes[1].plot(epochs, self.column("lr"), marker=".", color="tab:gray")
        axes[1].set_ylabel("learning rate")
        if metrics:
            for key in metrics:
                axes[2].plot(epochs, self.column(key), marker=".", label=key.removeprefix("val_"))
            axes[2].set_ylabel("validation")
            axes[2].legend(fontsize="x-small", ncol=2)
        axes[-1].set_xlabel("epoch")
        axes[0].set_title(title)
        fig.tight_layout()
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=100, format="png")
