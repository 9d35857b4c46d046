"""Many symbols as one dataset: per-symbol splits, one pooled scaler, one global window index.

A folder of symbols (``load_ohlcv(folder)`` gives ``{symbol: bars}``) becomes three datasets (train,
validation, test), each the concatenation of per-symbol :class:`~neural_trader.data.WindowDataset`
parts under one global window index. The rules:

* **Per symbol**: features and labels are computed on each symbol's own bars, and a window never mixes
  rows of two symbols. Each symbol is split chronologically with an embargo of at least the largest
  horizon (:func:`~neural_trader.data.chronological_split`), so no training label reads a validation
  input of its symbol.
* **One scaler**, fit on the training rows of every symbol and on nothing else
  (:func:`fit_pooled_scaler`): each symbol's count, float64 two-pass mean and sum of squared deviations,
  combined in symbol order (Chan, Golub and LeVeque's pairwise update). Every rank of a ``torchrun`` run
  computes it from the same rows in the same order, so all ranks hold the same bits without any
  communication; it agrees with a fit on the concatenated training rows to about 1e-15 relative.
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
from neural_trader.data.io import load_ohlcv
from neural_trader.data.labels import DEFAULT_HORIZONS, check_horizons, label_columns
from neural_trader.data.loaders import feature_and_label_frames, part_dataset, part_loader
from neural_trader.data.scaling import Scaler
from neural_trader.data.splits import PARTS, Split, chronological_split
from neural_trader.errors import ConfigError, DataError


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


def fit_pooled_scaler(
    series: Mapping[str, np.ndarray], rows: Mapping[str, tuple[int, int]], columns: Sequence[str]
) -> Scaler:
    """A :class:`~neural_trader.data.Scaler` of rows ``rows[s]`` of every symbol's ``(T_s, F)`` series.

    Per symbol: count, mean and sum of squared deviations in float64, two passes; combined in the order
    of ``series`` with the pairwise update of Chan, Golub and LeVeque, which stays exact where
    "sum of squares minus square of sum" cancels (volumes, price levels). A column constant over all the
    rows gets its value as mean and std 1.0, as :meth:`Scaler.fit` gives.

    Args:
        series: ``{symbol: (T, F) features}``.
        rows: ``{symbol: (start, stop)}``, the training rows of each symbol (every symbol of ``series``).
        columns: feature names.

    Example:
        >>> s = fit_pooled_scaler({"a": np.array([[1.0], [3.0]]), "b": np.array([[5.0], [7.0]])},
        ...                       {"a": (0, 2), "b": (0, 2)}, ["x"])
        >>> s.mean, round(s.std[0] ** 2, 12)
        ((4.0,), 5.0)
    """
    n = 0
    mean = m2 = lo = hi = None
    for symbol, values in series.items():
        start, stop = rows[symbol]
        part = np.asarray(values[start:stop], dtype=np.float64)
        if part.ndim != 2 or len(part) == 0 or not np.isfinite(part).all():
            raise DataError(f"{symbol}: training rows [{start}, {stop}) are empty or hold NaN/Inf")
        n_b, mean_b = len(part), part.mean(axis=0)
        m2_b = np.square(part - mean_b).sum(axis=0)
        if mean is None:
            n, mean, m2, lo, hi = n_b, mean_b, m2_b, part.min(axis=0), part.max(axis=0)
            continue
        total = n + n_b
        delta = mean_b - mean
        mean = mean + delta * (n_b / total)
        m2 = m2 + m2_b + np.square(delta) * (n * n_b / total)
        lo, hi = np.minimum(lo, part.min(axis=0)), np.maximum(hi, part.max(axis=0))
        n = total
    if mean is None:
        raise DataError("no symbol to fit the scaler on")
    # A constant column: its mean may be off in the last bit (3 * 0.1 / 3), its spread then not 0.
    constant = lo == hi
    mean = np.where(constant, lo, mean)
    std = np.sqrt(m2 / n)
    std = np.where(constant | ~(std > 0), 1.0, std)
    return Scaler(tuple(float(v) for v in mean), tuple(float(v) for v in std), tuple(columns))


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
    lazy: bool = False,
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
    label_names = tuple(label_columns(horizons) if labels is None else labels)
    series, targets, index, chosen = {}, {}, {}, {}
    feature_names: tuple[str, ...] = ()
    for symbol in bars:
        try:
            feats, label_frame = feature_and_label_frames(
                bars[symbol], horizons=horizons, features=features, dead_zone=dead_zone
            )
        except DataError as exc:
            raise DataError(f"{symbol}: {exc}") from exc
        unknown = [name for name in label_names if name not in label_frame.columns]
        if unknown or not label_names:
            raise ConfigError(f"unknown label column {unknown[0] if unknown else None!r}")
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
        targets[symbol] = label_frame[list(label_names)].to_numpy(dtype=np.float32)
        index[symbol], chosen[symbol], feature_names = (
            pd.DatetimeIndex(feats.index),
            split,
            tuple(feats.columns),
        )

    scaler = fit_pooled_scaler(series, {s: chosen[s].train for s in series}, feature_names)
    loaders = {}
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
                lazy=lazy,
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
