"""From OHLCV bars to train/validation/test ``DataLoader`` objects, without look-ahead.

The pipeline, in the order that keeps it leakage-free:

1. the rows (:func:`~neural_trader.data.series_from_bars`): validated bars, causal features and forward
   labels computed on the whole series (a feature at row ``t`` reads rows ``<= t``; a label at row ``e``
   reads rows ``<= e + horizon``), the features' warm-up dropped: the remaining rows are the ones the
   split indexes;
2. split chronologically with an embargo ``>= max(horizons)`` (:mod:`neural_trader.data.splits`);
3. fit the :class:`~neural_trader.data.Scaler` on the training rows only
   (:func:`~neural_trader.data.scaling.fit_training_scaler`);
4. cut each part into windows that lie inside it (:func:`~neural_trader.data.windows.part_dataset`).

The ``neural-trader`` workflows take the same road (:mod:`neural_trader.data.windows`).

So nothing in the training arrays depends on a row at or after the first validation row: the tests
rewrite those rows and require bit-identical training windows, labels and scaler.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader

from neural_trader.data.batches import ShuffledIndices
from neural_trader.data.dataset import WindowDataset
from neural_trader.data.gathered import should_gather, window_bytes
from neural_trader.data.labels import DEFAULT_HORIZONS, check_horizons, label_columns
from neural_trader.data.scaling import Scaler, fit_training_scaler
from neural_trader.data.series import feature_and_label_frames, series_from_bars
from neural_trader.data.splits import PARTS, Split, chronological_split
from neural_trader.data.windows import part_dataset, select_labels
from neural_trader.validation import integer, positive_int

# Kept importable from here, where they were first defined.
__all__ = ["Loaders", "feature_and_label_frames", "make_loaders", "part_dataset", "part_loader"]


@dataclass
class Loaders:
    """What :func:`make_loaders` builds; keep ``scaler``, ``split`` and the column names with the model.

    Attributes:
        train: shuffled (unless ``shuffle=False``) loader of training windows.
        val: loader of validation windows, in time order.
        test: loader of test windows, in time order.
        scaler: fit on the training rows; put ``scaler.to_dict()`` into the checkpoint metadata.
        split: the row ranges used, indexing ``index``; ``split.save(path)`` to reuse them.
        feature_columns: names of the ``F`` input features, in order.
        label_columns: names of the ``L`` label entries of each sample's ``y``, in order.
        index: timestamps of the rows the split indexes (the bars after the feature warm-up);
            ``index[dataset.window_end_rows]`` dates every sample.
    """

    train: DataLoader
    val: DataLoader
    test: DataLoader
    scaler: Scaler
    split: Split
    feature_columns: tuple[str, ...]
    label_columns: tuple[str, ...]
    index: pd.DatetimeIndex

    def datasets(self) -> dict[str, WindowDataset]:
        """The three :class:`WindowDataset` objects by part name."""
        return {name: getattr(self, name).dataset for name in PARTS}


def make_loaders(
    bars: pd.DataFrame,
    *,
    window: int = 64,
    horizons: Sequence[int] = DEFAULT_HORIZONS,
    labels: Sequence[str] | None = None,
    features: Sequence[str] | None = None,
    split: Split | None = None,
    fractions: tuple[float, float, float] = (0.7, 0.15, 0.15),
    embargo: int | None = None,
    dead_zone: float = 0.0,
    stride: int = 1,
    batch_size: int = 64,
    lazy: bool | None = None,
    shuffle: bool = True,
    seed: int = 0,
    num_workers: int = 0,
) -> Loaders:
    """Builds leakage-free train/validation/test loaders of ``(x, y)`` batches from OHLCV bars.

    ``x`` is ``(batch, window, F)`` float32 (standardised features), ``y`` is ``(batch, L)`` float32 (the
    ``labels`` columns; direction is 0/1, trend in (-1, 1)). Windows whose labels are NaN (the last
    horizon of the series, dead-zone moves) are dropped.

    Args:
        bars: OHLCV bars (validated with :func:`~neural_trader.data.validate_ohlcv`).
        window: rows per window.
        horizons: label horizons in bars.
        labels: label columns for ``y``, default ``direction_{h}`` then ``trend_{h}`` for every horizon
            (see :func:`~neural_trader.data.make_labels` for the names).
        features: feature names, default all of ``FEATURE_NAMES``.
        split: a split of the rows after the warm-up (e.g. a walk-forward fold or one loaded from JSON);
            default ``chronological_split(n_rows, horizon=max(horizons), fractions, embargo)``.
        fractions: train/validation/test shares when ``split`` is not given.
        embargo: rows between parts when ``split`` is not given, default ``max(horizons)``.
        dead_zone: see :func:`~neural_trader.data.make_labels`.
        stride: rows between window starts.
        batch_size: samples per batch.
        lazy: gather each batch's windows from the feature rows (see :class:`WindowDataset`) instead of
            materialising them; ``None`` (default) gathers them when the windows of all parts would take
            more than :data:`~neural_trader.data.gathered.EAGER_LIMIT_BYTES`. Both give the same batches.
        shuffle: shuffle the training loader (seeded with ``seed``); validation and test never are.
        seed: seed of the training loader's shuffling.
        num_workers: DataLoader workers.

    Raises:
        DataError: invalid bars, or a part with no labelled window. ConfigError: bad horizons, labels,
            features or sizes, or a split that does not fit (other length, ``embargo < max(horizons)``).

    Example:
        >>> loaders = make_loaders(load_ohlcv("sp500_daily.csv"), window=64)   # doctest: +SKIP
        >>> x, y = next(iter(loaders.train))                                    # doctest: +SKIP
        >>> x.shape, y.shape                                                    # doctest: +SKIP
        (torch.Size([64, 64, 28]), torch.Size([64, 6]))
    """
    horizons = check_horizons(horizons)
    # torch's DataLoader and Generator would raise ValueError/RuntimeError; name the field instead.
    integer("batch_size", batch_size, low=1)
    integer("num_workers", num_workers, low=0)
    integer("seed", seed, low=0)
    window, stride = positive_int("window", window), positive_int("stride", stride)
    label_names = tuple(label_columns(horizons) if labels is None else labels)
    rows = series_from_bars("", bars, horizons, features=features, dead_zone=dead_zone)
    feats = rows.features
    targets = select_labels(rows.labels, label_names)
    n_rows, horizon = len(feats), max(horizons)
    if split is None:
        split = chronological_split(
            n_rows, horizon=horizon, fractions=fractions, embargo=embargo, index=feats.index
        )
    else:
        split.check(n_rows=n_rows, horizon=horizon, index=feats.index)

    series = feats.to_numpy(dtype=np.float64)
    scaler = fit_training_scaler({"bars": series}, {"bars": split.train}, tuple(feats.columns))
    loaders = {}
    gather = should_gather(window_bytes(split.parts().values(), window, stride, series.shape[1]), lazy)
    for name, (start, stop) in split.parts().items():
        dataset = part_dataset(
            series,
            targets,
            (start, stop),
            f"{name} part",
            window=window,
            stride=stride,
            scaler=scaler,
            lazy=gather,
        )
        loaders[name] = part_loader(
            dataset, name, batch_size, shuffle=shuffle, seed=seed, num_workers=num_workers
        )
    return Loaders(
        **loaders,
        scaler=scaler,
        split=split,
        feature_columns=tuple(feats.columns),
        label_columns=label_names,
        index=pd.DatetimeIndex(feats.index),
    )


def part_loader(
    dataset: torch.utils.data.Dataset,
    part: str,
    batch_size: int,
    *,
    shuffle: bool,
    seed: int,
    num_workers: int,
) -> DataLoader:
    """The loader of one part: only the training part is shuffled, by a generator seeded with ``seed``
    (the order of ``DataLoader(shuffle=True)``, without its Python list of every index)."""
    train = part == "train"
    generator = torch.Generator().manual_seed(seed) if train else None
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=ShuffledIndices(dataset, generator=generator) if shuffle and train else None,
        generator=generator,
        num_workers=num_workers,
    )
