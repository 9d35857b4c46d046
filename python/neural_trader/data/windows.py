"""From a :class:`~neural_trader.data.Series` and a :class:`~neural_trader.data.DataSpec` to model inputs:
label matrices, the windows of one part of a split, and the scaler of the training rows.

These are the functions the library loaders (:func:`~neural_trader.data.make_loaders`,
:func:`~neural_trader.data.make_multi_symbol_loaders`) and the ``neural-trader`` workflows share:
:func:`part_dataset` cuts every part of every road into :class:`~neural_trader.data.WindowDataset`
windows, and :func:`fit_scaler` fits the one scaler on training rows only. The windows of
:func:`make_windows` are gathered from the series' own feature matrix when read
(:class:`~neural_trader.data.gathered.LazyWindows`), unless they are small enough to materialise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from neural_trader.data.candles import relative_candles
from neural_trader.data.dataset import WindowDataset
from neural_trader.data.features import FEATURE_NAMES
from neural_trader.data.gathered import LazyWindows, Transform, choose_windows
from neural_trader.data.scaling import Scaler, fit_training_scaler
from neural_trader.data.series import Series
from neural_trader.data.spec import DataSpec
from neural_trader.errors import ConfigError, DataError


def select_labels(labels: pd.DataFrame, names: Sequence[str]) -> np.ndarray:
    """``(n_rows, len(names))`` float32 label columns ``names`` of a label frame; NaN where unknown.

    Raises:
        ConfigError: no name, or a name that is not a label column (naming it and the available ones).
    """
    unknown = [name for name in names if name not in labels.columns]
    if unknown or not names:
        raise ConfigError(
            f"unknown label column {unknown[0] if unknown else None!r}; "
            f"available: {', '.join(labels.columns)}"
        )
    return labels[list(names)].to_numpy(dtype=np.float32)


def label_matrix(series: Series, spec: DataSpec, scaler: Scaler | None) -> np.ndarray:
    """``(n_rows, L)`` float32 labels of ``spec`` aligned with window ends; NaN where unknown.

    Raises:
        ConfigError: a forecast spec without the scaler its standardised targets need.
    """
    if spec.task != "forecast":
        return select_labels(series.labels, spec.label_columns())
    if scaler is None:
        raise ConfigError("forecast labels are standardised targets: a scaler is needed")
    idx = spec.target_indices()
    mean, std = scaler.arrays()
    z = (series.features.to_numpy()[:, idx] - mean[idx]) / std[idx]
    n, h = len(z), spec.horizon
    out = np.full((n, h, len(idx)), np.nan)
    for k in range(1, h + 1):
        out[: n - k, k - 1] = z[k:]
    return out.reshape(n, -1).astype(np.float32)


def part_dataset(
    series: np.ndarray,
    targets: np.ndarray | None,
    rows: tuple[int, int],
    what: str,
    *,
    window: int,
    stride: int = 1,
    scaler: Scaler | None,
    lazy: bool = False,
) -> WindowDataset:
    """The windows of one part (``rows`` = ``(start, stop)``); a data error is prefixed with ``what``.

    Raises:
        DataError: the part holds fewer rows than one window, NaN/Inf, or no labelled window.
    """
    start, stop = rows
    try:
        return WindowDataset(
            series, targets, window=window, stride=stride, start=start, stop=stop, scaler=scaler, lazy=lazy
        )
    except DataError as exc:
        raise DataError(f"{what}: {exc}") from exc


@dataclass
class Windows:
    """Windows of one part of one symbol.

    Attributes:
        x: ``(N, window, F)`` float32 model inputs: an array, or (large data) a
            :class:`~neural_trader.data.gathered.LazyWindows` that gathers the windows when indexed.
        y: ``(N, L)`` float32 labels, or None (unlabelled).
        end_rows: ``(N,)`` row of each window's last bar.
        dates: ``(N,)`` datetime64 of those bars.
        symbol: the series.
    """

    x: np.ndarray | LazyWindows
    y: np.ndarray | None
    end_rows: np.ndarray
    dates: np.ndarray
    symbol: str


def make_windows(
    series: Series,
    spec: DataSpec,
    scaler: Scaler | None,
    rows: tuple[int, int] | None = None,
    *,
    labelled: bool = True,
    raw_candles: bool = False,
    gather: bool | None = None,
) -> Windows:
    """Windows lying inside ``rows`` (default: all rows); with ``labelled``, only those with a label.

    With ``raw_candles`` (candle inputs only), ``x`` holds the raw OHLCV rows instead of relative
    candles: the form augmentation needs (apply :func:`relative_candles` afterwards).

    ``gather`` says how ``x`` is held: ``None`` (default) materialises the windows when they take at
    most :data:`~neural_trader.data.gathered.EAGER_LIMIT_BYTES` and otherwise gathers them when read,
    ``True`` always gathers them (:class:`~neural_trader.data.gathered.LazyWindows`), ``False`` always
    materialises them. Both hold the same bits.

    Raises:
        DataError: the rows hold fewer bars than one window, or no window has a label.

    Example:
        >>> w = make_windows(series, DataSpec(window=32), scaler, split.test)   # doctest: +SKIP
        >>> w.x.shape                                                           # doctest: +SKIP
        (180, 32, 28)
    """
    part = rows if rows is not None else (0, series.n_rows)
    (windows,) = make_part_windows(
        series, spec, scaler, [part], labelled=labelled, raw_candles=raw_candles, gather=gather
    )
    return windows


def make_part_windows(
    series: Series,
    spec: DataSpec,
    scaler: Scaler | None,
    parts: Sequence[tuple[int, int]],
    *,
    labelled: bool = True,
    raw_candles: bool = False,
    gather: bool | None = None,
) -> list[Windows]:
    """:func:`make_windows` of several parts of one series (e.g. its train, validation and test rows), which
    share one input matrix and one label matrix instead of building them once per part.

    Raises:
        DataError: a part with fewer bars than one window, or no labelled window.
    """
    labels = label_matrix(series, spec, scaler) if labelled else None
    values, row_scaler, transform = input_matrix(series, spec, scaler, raw_candles=raw_candles)
    out = []
    for part in parts:
        ds = part_dataset(
            values, labels, part, series.symbol, window=spec.window, scaler=row_scaler, lazy=True
        )
        x = LazyWindows([values], ds.window_starts, spec.window, scaler=row_scaler, transform=transform)
        dates = series.index[ds.window_end_rows].to_numpy()
        out.append(Windows(choose_windows(x, gather), ds.labels, ds.window_end_rows, dates, series.symbol))
    return out


def input_matrix(
    series: Series, spec: DataSpec, scaler: Scaler | None, *, raw_candles: bool = False
) -> tuple[np.ndarray, Scaler | None, Transform | None]:
    """The ``(rows, F)`` float64 matrix the windows of ``spec`` are cut from, the scaler applied as they
    are gathered, and the transform of each gathered window (relative candles).

    The matrix is the series' own frame seen as a C-contiguous array: no copy when the frame holds one
    (:func:`~neural_trader.data.make_features` builds it so), one copy otherwise.

    Raises:
        ConfigError: feature inputs without a scaler.
    """
    if spec.inputs == "features":
        if scaler is None:
            raise ConfigError("feature inputs need the scaler fit on the training rows")
        values = np.ascontiguousarray(series.features.to_numpy(dtype=np.float64))
        return values, scaler, None
    values = np.ascontiguousarray(series.bars.to_numpy(dtype=np.float64))
    return values, None, None if raw_candles else relative_candles


def fit_scaler(series: list[Series], train_rows: dict[str, tuple[int, int]], spec: DataSpec) -> Scaler | None:
    """Scaler of the features on the training rows of every symbol; None for candle inputs.

    One symbol: the Rust kernel (the same bits as :func:`~neural_trader.data.make_loaders`); several:
    pooled (see :func:`~neural_trader.data.scaling.fit_training_scaler`).
    """
    if spec.inputs != "features":
        return None
    values = {s.symbol: s.features.to_numpy(dtype=np.float64) for s in series}
    return fit_training_scaler(values, train_rows, FEATURE_NAMES)


def label_ends(series: Series, spec: DataSpec, end_rows: np.ndarray) -> np.ndarray:
    """``t1``: the last row the label of each window ending at ``end_rows`` (``t0``) reads.

    Purging and the embargo of purged cross-validation compare these spans ``[t0, t1]``, so this is the
    one place that says how far a label reaches. Every label kind of :class:`DataSpec` today reads a fixed
    horizon (``direction``/``trend``: the close ``horizon`` bars later; ``forecast``: the next ``horizon``
    rows), so ``t1 = t0 + horizon``; a label kind whose labels end where they were decided (the hit row of
    a triple barrier) returns those rows here, and splits and purging follow.

    Example:
        >>> label_ends(series, DataSpec(horizon=5), np.array([31, 32])).tolist()   # doctest: +SKIP
        [36, 37]
    """
    return np.asarray(end_rows, dtype=np.int64) + spec.horizon


def window_spans(
    series: Series, spec: DataSpec, rows: tuple[int, int] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``(t0, t1)`` of the labelled windows lying inside ``rows`` (default: all rows), in time order.

    ``t0`` is each window's last row (where it is predicted), ``t1`` the last row its label reads
    (:func:`label_ends`); these are the windows :func:`make_windows` makes from the same rows, and the
    samples of :mod:`neural_trader.data.cv`.

    Raises:
        DataError: the rows hold no labelled window.

    Example:
        >>> t0, t1 = window_spans(series, DataSpec(window=32, horizon=5), (0, 100))   # doctest: +SKIP
        >>> int(t0[0]), int(t1[0])                                                    # doctest: +SKIP
        (31, 36)
    """
    start, stop = rows if rows is not None else (0, series.n_rows)
    t0 = np.arange(start + spec.window - 1, stop, dtype=np.int64)
    t1 = label_ends(series, spec, t0)
    known = t1 <= series.n_rows - 1  # a label reading past the last bar is unknown
    if not known.any():
        raise DataError(
            f"{series.symbol}: rows [{start}, {stop}) hold no window of {spec.window} bars with a label "
            f"{spec.horizon} bars ahead"
        )
    return t0[known], t1[known]
