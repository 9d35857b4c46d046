"""Many symbols as one dataset: per-symbol splits, one pooled scaler, one global window index.

A folder of symbols (``load_ohlcv(folder)`` gives ``{symbol: bars}``) becomes three datasets (train,
validation, test), each the concatenation of per-symbol :class:`~neural_trader.data.WindowDataset`
parts under one global window index. The rules:

* **Per symbol**: features and labels are computed on each symbol's own bars, and a window never mixes
  rows of two symbols. Each symbol is split chronologically with an embargo of at least the largest
  horizon (:func:`~neural_trader.data.chronological_split`), so no training label reads a validation
  input of its symbol.
* **One scaler**, fit on the training rows of every symbol and on nothing else
  (:func:`~neural_trader.data.scaling.fit_training_scaler`: for several symbols, each symbol's count,
  float64 two-pass mean and sum of squared deviations, combined in symbol order by Chan, Golub and
  LeVeque's pairwise update; for one, the same Rust kernel as :func:`~neural_trader.data.make_loaders`).
  Every rank of a ``torchrun`` run computes it from the same rows in the same order, so all ranks hold
  the same bits without any communication; it agrees with a fit on the concatenated training rows to
  about 1e-15 relative.
* **A global window index**: a sampler (or the trainer's sharding across ranks) sees windows, not
  symbols, so ranks get equal shares of windows however unequal the symbols' histories.

Symbols keep their own calendars. When they cover different periods, one symbol's test period may
overlap another's training period in calendar time; pass ``splits`` cut at common dates when that
cross-sectional overlap matters.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from torch.utils.data import ConcatDataset, DataLoader

from neural_trader.data.dataset import WindowDataset
from neural_trader.data.gathered import should_gather, window_bytes
from neural_trader.data.io import load_ohlcv
from neural_trader.data.labels import DEFAULT_HORIZONS, check_horizons, label_columns
from neural_trader.data.loaders import part_loader
from neural_trader.data.scaling import Scaler, fit_pooled_scaler, fit_training_scaler
from neural_trader.data.series import series_from_bars
from neural_trader.data.splits import PARTS, Split, chronological_split
from neural_trader.data.windows import part_dataset, select_labels
from neural_trader.errors import ConfigError, DataError
from neural_trader.validation import positive_int

# fit_pooled_scaler is kept importable from here, where it was first defined.
__all__ = [
    "MultiSymbolLoaders",
    "MultiSymbolWindowDataset",
    "fit_pooled_scaler",
    "make_multi_symbol_loaders",
]


class MultiSymbolWindowDataset(ConcatDataset):
    """Windows of several symbols under one index: symbol by symbol (in the given order), then in time.

    Args:
        parts: ``{symbol: WindowDataset}``, at least one.

    Attributes:
        symbols: the symbols, in index order.
        symbol_ids: ``(N,)`` int64, the position in ``symbols`` of each window's symbol.
        window_end_rows: ``(N,)`` int64, each window's last row in its own symbol's series.

    Example:
        >>> a = WindowDataset(np.zeros((6, 1)), window=3)
        >>> b = WindowDataset(np.ones((4, 1)), window=3)
        >>> ds = MultiSymbolWindowDataset({"a": a, "b": b})
        >>> len(ds), ds.locate(4), float(ds[4][0, 0])
        (6, ('b', 0), 1.0)
    """

    def __init__(self, parts: Mapping[str, WindowDataset]) -> None:
        if not parts:
            raise DataError("no symbol to build windows from")
        super().__init__(list(parts.values()))
        self.symbols: tuple[str, ...] = tuple(parts)
        sizes = [len(d) for d in parts.values()]
        self.symbol_ids = np.repeat(np.arange(len(sizes), dtype=np.int64), sizes)
        self.window_end_rows = np.concatenate([d.window_end_rows for d in parts.values()])

    def __getitems__(self, indices: list[int]) -> list:
        """The samples of one ``DataLoader`` batch: each symbol's windows of the batch gathered at once by
        its own dataset, back in the batch's order."""
        rows = np.asarray(indices, dtype=np.int64)
        if rows.size and (rows.min() < -len(self) or rows.max() >= len(self)):
            raise IndexError(f"window index out of range for {len(self)} windows")
        rows = np.where(rows < 0, rows + len(self), rows)
        owner = np.searchsorted(self.cumulative_sizes, rows, side="right")
        offsets = np.concatenate([[0], self.cumulative_sizes[:-1]]).astype(np.int64)
        items: list = [None] * len(rows)
        for k in np.unique(owner):
            at = np.flatnonzero(owner == k)
            local = (rows[at] - offsets[k]).tolist()
            for i, item in zip(at.tolist(), self.datasets[k].__getitems__(local), strict=True):  # type: ignore[attr-defined]
                items[i] = item
        return items

    def parts(self) -> dict[str, WindowDataset]:
        """The per-symbol datasets by symbol."""
        return dict(zip(self.symbols, self.datasets, strict=True))  # type: ignore[arg-type]

    def locate(self, index: int) -> tuple[str, int]:
        """``(symbol, index within that symbol's dataset)`` of global window ``index``."""
        if not -len(self) <= index < len(self):
            raise IndexError(f"window {index} out of range for {len(self)} windows")
        index %= len(self)
        k = int(np.searchsorted(self.cumulative_sizes, index, side="right"))
        return self.symbols[k], index - (self.cumulative_sizes[k - 1] if k else 0)

    @property
    def labels(self) -> np.ndarray | None:
        """``(N, L)`` labels of every window, or ``None`` for unlabelled parts."""
        labels = [d.labels for d in self.datasets]  # type: ignore[attr-defined]
        return None if any(v is None for v in labels) else np.concatenate(labels)


@dataclass
class MultiSymbolLoaders:
    """What :func:`make_multi_symbol_loaders` builds; keep ``scaler`` and ``splits`` with the model.

    Attributes:
        train, val, test: loaders of :class:`MultiSymbolWindowDataset` (training shuffled and seeded).
        scaler: fit on the training rows of all symbols.
        splits: each symbol's row ranges (rows after its feature warm-up).
        feature_columns, label_columns: names of the ``F`` features and ``L`` labels.
        index: each symbol's timestamps of the rows its split indexes.
    """

    train: DataLoader
    val: DataLoader
    test: DataLoader
    scaler: Scaler
    splits: dict[str, Split]
    feature_columns: tuple[str, ...]
    label_columns: tuple[str, ...]
    index: dict[str, pd.DatetimeIndex]

    @property
    def symbols(self) -> tuple[str, ...]:
        """The symbols, in window-index order."""
        return tuple(self.splits)

    def datasets(self) -> dict[str, MultiSymbolWindowDataset]:
        """The three datasets by part name."""
        return {name: getattr(self, name).dataset for name in PARTS}


def make_multi_symbol_loaders(
    bars: Mapping[str, pd.DataFrame] | str | os.PathLike[str],
    *,
    window: int = 64,
    horizons: Sequence[int] = DEFAULT_HORIZONS,
    labels: Sequence[str] | None = None,
    features: Sequence[str] | None = None,
    splits: Mapping[str, Split] | None = None,
    fractions: tuple[float, float, float] = (0.7, 0.15, 0.15),
    embargo: int | None = None,
    dead_zone: float = 0.0,
    stride: int = 1,
    batch_size: int = 64,
    lazy: bool | None = None,
    shuffle: bool = True,
    seed: int = 0,
    num_workers: int = 0,
) -> MultiSymbolLoaders:
    """Leakage-free train/validation/test loaders over many symbols (see the module docstring).

    The arguments are :func:`~neural_trader.data.make_loaders`'s, applied to every symbol; ``bars`` is a
    ``{symbol: frame}`` mapping or a folder of one file per symbol, and ``splits`` optionally gives each
    symbol's split (e.g. cut at common dates). Under ``torchrun`` every rank calls this with the same
    arguments and gets the same datasets, scaler and shuffling generator.

    Raises:
        DataError: invalid bars, or a symbol whose part holds no labelled window (named).
        ConfigError: bad sizes, labels or splits, or ``splits`` missing a symbol.

    Example:
        >>> loaders = make_multi_symbol_loaders("data/daily/", window=32, horizons=(1,))  # doctest: +SKIP
        >>> loaders.symbols, len(loaders.train.dataset)                                    # doctest: +SKIP
        (('aapl', 'msft', 'spy'), 10422)
    """
    if not isinstance(bars, Mapping):
        bars = load_ohlcv(bars)
        if not isinstance(bars, Mapping):
            raise ConfigError(
                "make_multi_symbol_loaders needs a folder of symbols or a {symbol: bars} mapping"
            )
    horizons = check_horizons(horizons)
    window, stride = positive_int("window", window), positive_int("stride", stride)
    label_names = tuple(label_columns(horizons) if labels is None else labels)
    series, targets, index, chosen = {}, {}, {}, {}
    feature_names: tuple[str, ...] = ()
    for symbol in bars:
        rows = series_from_bars(symbol, bars[symbol], horizons, features=features, dead_zone=dead_zone)
        feats = rows.features
        targets[symbol] = select_labels(rows.labels, label_names)
        n_rows = len(feats)
        if splits is None:
            split = chronological_split(
                n_rows, horizon=max(horizons), fractions=fractions, embargo=embargo, index=feats.index
            )
        elif symbol not in splits:
            raise ConfigError(f"splits has no split for symbol {symbol!r}")
        else:
            split = splits[symbol]
            split.check(n_rows=n_rows, horizon=max(horizons), index=feats.index)
        series[symbol] = feats.to_numpy(dtype=np.float64)
        index[symbol], chosen[symbol], feature_names = (
            pd.DatetimeIndex(feats.index),
            split,
            tuple(feats.columns),
        )

    scaler = fit_training_scaler(series, {s: chosen[s].train for s in series}, feature_names)
    loaders = {}
    rows = [getattr(chosen[symbol], name) for symbol in series for name in PARTS]
    gather = should_gather(window_bytes(rows, window, stride, len(feature_names)), lazy)
    for name in PARTS:
        parts = {
            symbol: part_dataset(
                series[symbol],
                targets[symbol],
                getattr(chosen[symbol], name),
                f"{symbol}, {name} part",
                window=window,
                stride=stride,
                scaler=scaler,
                lazy=gather,
            )
            for symbol in series
        }
        loaders[name] = part_loader(
            MultiSymbolWindowDataset(parts),
            name,
            batch_size,
            shuffle=shuffle,
            seed=seed,
            num_workers=num_workers,
        )
    return MultiSymbolLoaders(
        **loaders,
        scaler=scaler,
        splits=chosen,
        feature_columns=feature_names,
        label_columns=label_names,
        index=index,
    )
