"""One symbol's rows: its bars after the features' warm-up, with their causal features and forward labels.

Every road from bars to windows starts here: :func:`~neural_trader.data.make_loaders`,
:func:`~neural_trader.data.make_multi_symbol_loaders` and the ``neural-trader`` workflows all call
:func:`series_from_bars`, so a split (which indexes these rows) means the same rows everywhere.

1. validate the bars (:func:`~neural_trader.data.validate_ohlcv`), keeping the columns of your own that
   are selected (``extra_columns``, ``label_column``);
2. compute causal features and forward labels on the whole series (a feature at row ``t`` reads rows
   ``<= t``; a label at row ``e`` reads rows ``<= e + horizon``);
3. drop the features' warm-up rows: the remaining rows are the ones splits and windows index.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from neural_trader.data.features import FEATURE_NAMES, feature_frame, feature_warmup
from neural_trader.data.io import OHLCV_COLUMNS, load_ohlcv, symbol_of, validate_ohlcv
from neural_trader.data.labels import DEFAULT_HORIZONS, make_labels
from neural_trader.errors import DataError


def feature_and_label_frames(
    bars: pd.DataFrame,
    *,
    horizons: Sequence[int] = DEFAULT_HORIZONS,
    features: Sequence[str] | None = None,
    dead_zone: float = 0.0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Features and labels of ``bars`` on the same rows: the bars after the features' warm-up.

    Splits and window indices refer to these rows, so ``len(frames[0])`` is the ``n_rows`` to give
    :func:`~neural_trader.data.chronological_split` or :func:`~neural_trader.data.walk_forward_splits`.

    Example:
        >>> feats, labels = feature_and_label_frames(bars)               # doctest: +SKIP
        >>> folds = walk_forward_splits(len(feats), horizon=30)         # doctest: +SKIP
    """
    _, feats, labels = _rows(validate_ohlcv(bars), horizons, features, dead_zone)
    return feats, labels


def _rows(
    bars: pd.DataFrame,
    horizons: Sequence[int],
    features: Sequence[str] | None,
    dead_zone: float,
    out: np.ndarray | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Bars (with your columns), features (in ``out`` when given) and labels of validated ``bars`` after
    the warm-up."""
    names = tuple(FEATURE_NAMES if features is None else features)
    warmup = feature_warmup(names)
    ohlcv = bars[list(OHLCV_COLUMNS)] if bars.shape[1] > len(OHLCV_COLUMNS) else bars
    # Labels first: their transient copies of the bars are gone before the largest array, the (rows, F)
    # feature matrix, is made; the bars are valid already, so the features do not copy them again.
    labels = make_labels(ohlcv, horizons=horizons, dead_zone=dead_zone).iloc[warmup:]
    feats = feature_frame(ohlcv, names, out=out).iloc[warmup:]
    return bars.iloc[warmup:], feats, labels


@dataclass
class Series:
    """One symbol's rows: the bars after the feature warm-up, their raw features and labels.

    Attributes:
        symbol: the file name without suffix (or the name given).
        bars: OHLCV on the rows.
        features: raw (unscaled) causal features on the rows.
        labels: ``direction_{h}``, ``trend_{h}``, ``forward_return_{h}`` on the rows, for every horizon.
        columns: your columns kept from the bars file (inputs and the label column) on the rows; no
            column when none was selected.
    """

    symbol: str
    bars: pd.DataFrame
    features: pd.DataFrame
    labels: pd.DataFrame
    columns: pd.DataFrame | None = None

    def __post_init__(self) -> None:
        if self.columns is None:
            self.columns = pd.DataFrame(index=self.features.index)

    @property
    def n_rows(self) -> int:
        """Rows after the warm-up: what splits index."""
        return len(self.features)

    @property
    def index(self) -> pd.DatetimeIndex:
        """Timestamps of the rows."""
        return pd.DatetimeIndex(self.features.index)

    def next_returns(self) -> np.ndarray:
        """``(n_rows,)`` simple return from each row's close to the next; NaN on the last row."""
        close = self.bars["close"].to_numpy()
        out = np.full(len(close), np.nan)
        out[:-1] = close[1:] / close[:-1] - 1.0
        return out


def series_from_bars(
    symbol: str,
    bars: pd.DataFrame,
    horizon: int | Sequence[int],
    *,
    features: Sequence[str] | None = None,
    dead_zone: float = 0.0,
    extra_columns: Sequence[str] = (),
    label_column: str | None = None,
) -> Series:
    """Features and labels of validated ``bars`` on the rows after the warm-up.

    Args:
        symbol: the series' name, which starts every data error ("" for none).
        bars: OHLCV bars.
        horizon: label horizon(s) in bars.
        features: feature names, default all of ``FEATURE_NAMES``.
        dead_zone: see :func:`~neural_trader.data.make_labels`.
        extra_columns: your input columns to keep (names or patterns, see
            :func:`~neural_trader.data.validate_ohlcv`), in :attr:`Series.columns`.
        label_column: your label column to keep, in :attr:`Series.columns`.

    Raises:
        DataError: invalid bars, or no row left after the warm-up.

    Example:
        >>> s = series_from_bars("sp500", bars, 5)   # doctest: +SKIP
        >>> s.labels.columns[:2].tolist()            # doctest: +SKIP
        ['direction_5', 'trend_5']
    """
    prefix = f"{symbol}: " if symbol else ""
    try:
        valid = validate_ohlcv(bars, extra_columns=extra_columns, label_column=label_column)
    except DataError as exc:
        raise DataError(f"{prefix}{exc}") from exc
    return _series(symbol, valid, horizon, features, dead_zone)


def _series(
    symbol: str,
    valid: pd.DataFrame,
    horizon: int | Sequence[int],
    features: Sequence[str] | None,
    dead_zone: float,
    out: np.ndarray | None = None,
) -> Series:
    """:func:`series_from_bars` of bars that ``validate_ohlcv`` returned (kept, not copied); the features
    are written into ``out`` when it is given."""
    horizons = (horizon,) if isinstance(horizon, int) else tuple(horizon)
    rows, feats, labels = _rows(valid, horizons, features, dead_zone, out)
    if len(feats) == 0:
        warmup = feature_warmup(tuple(FEATURE_NAMES if features is None else features))
        prefix = f"{symbol}: " if symbol else ""
        raise DataError(f"{prefix}{len(valid)} bars are fewer than the {warmup}-bar feature warm-up")
    if rows.shape[1] == len(OHLCV_COLUMNS):
        return Series(symbol, rows, feats, labels)
    ohlcv = list(OHLCV_COLUMNS)
    return Series(symbol, rows[ohlcv], feats, labels, rows.drop(columns=ohlcv))


def load_series(
    path: str | Path,
    horizon: int | Sequence[int],
    *,
    nan_policy: str = "raise",
    extra_columns: Sequence[str] = (),
    label_column: str | None = None,
) -> list[Series]:
    """Reads a CSV/Parquet file (one symbol) or a folder of them (one symbol per file), with labels for
    ``horizon`` (one or several, e.g. a data spec's ``horizons``).

    ``nan_policy`` (``raise``, ``drop`` or ``ffill``), ``extra_columns`` and ``label_column`` (your columns
    to keep) are those of :func:`~neural_trader.data.load_ohlcv`.

    Raises:
        FileNotFoundError: no such path. DataError: invalid bars or a selected column missing, naming the
            file and row or column.

    Example:
        >>> [s.symbol for s in load_series("data/", horizon=5)]   # doctest: +SKIP
        ['eurusd_hourly', 'goog_daily', 'sp500_daily']
    """
    # Validated, your selected columns kept: each frame is used as it is.
    data = load_ohlcv(path, nan_policy=nan_policy, extra_columns=extra_columns, label_column=label_column)
    if isinstance(data, pd.DataFrame):
        data = {symbol_of(path) or Path(path).stem: data}
    # Every symbol's features are one block of rows of a single matrix: windows of all the symbols are then
    # gathered from one array (one kernel call per batch), and nothing is copied to pool them.
    matrix = np.empty((sum(len(bars) for bars in data.values()), len(FEATURE_NAMES)), dtype=np.float64)
    series, lo = [], 0
    for symbol, bars in data.items():
        series.append(_series(symbol, bars, horizon, None, 0.0, out=matrix[lo : lo + len(bars)]))
        lo += len(bars)
    return series
