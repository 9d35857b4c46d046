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

from neural_trader.data.candles import RelativeCandles
from neural_trader.data.dataset import WindowDataset
from neural_trader.data.gathered import LazyWindows, Transform, choose_windows
from neural_trader.data.input_checks import check_inputs
from neural_trader.data.inputs import input_matrix
from neural_trader.data.scaling import Scaler, fit_training_scaler
from neural_trader.data.series import Series
from neural_trader.data.spec import DataSpec
from neural_trader.data.splits import PARTS, Split
from neural_trader.data.targets import label_end_rows, labels_and_ends, select_labels
from neural_trader.errors import ConfigError, DataError, ShapeError

# select_labels is kept importable from here, where it was first defined.
__all__ = [
    "Windows",
    "check_label_ends",
    "fit_scaler",
    "label_matrix",
    "make_windows",
    "part_dataset",
    "select_labels",
    "window_spans",
]


def label_matrix(series: Series, spec: DataSpec, scaler: Scaler | None) -> np.ndarray:
    """``(n_rows, L)`` float32 labels of ``spec`` aligned with window ends; NaN where unknown
    (:func:`~neural_trader.data.targets.labels_and_ends`).

    Raises:
        ConfigError: a forecast spec without the scaler its standardised targets need.
    """
    return labels_and_ends(series, spec, scaler)[0]


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
        end_rows: ``(N,)`` row of each window's last bar (``t0`` of its label span).
        dates: ``(N,)`` datetime64 of those bars.
        symbol: the series.
        label_ends: ``(N,)`` int64 last row each window's label reads (``t1`` of its span: the barrier
            hit for triple-barrier labels), or None (unlabelled). ``purged_kfold(w.end_rows,
            w.label_ends)`` purges by the labels' actual spans.
    """

    x: np.ndarray | LazyWindows
    y: np.ndarray | None
    end_rows: np.ndarray
    dates: np.ndarray
    symbol: str
    label_ends: np.ndarray | None = None


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
    candles: the form augmentation needs (apply :func:`relative_candles` afterwards). Standardised
    columns and candles together take the spec's column order.

    ``gather`` says how ``x`` is held: ``None`` (default) materialises the windows when they take at
    most :data:`~neural_trader.data.gathered.EAGER_LIMIT_BYTES` and otherwise gathers them when read,
    ``True`` always gathers them (:class:`~neural_trader.data.gathered.LazyWindows`), ``False`` always
    materialises them. Both hold the same bits.

    Raises:
        DataError: the rows hold fewer bars than one window, no window has a label, or a column the spec
            reads is missing. ConfigError: standardised inputs without a scaler.

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
        DataError: a part with fewer bars than one window, no labelled window, or a column the spec reads
            missing. ConfigError: standardised inputs without a scaler, raw candles with other inputs.
    """
    labels, ends = labels_and_ends(series, spec, scaler, parts) if labelled else (None, None)
    values, row_scaler, transform = window_source(series, spec, scaler, raw_candles=raw_candles)
    if spec.scaled_columns and scaler is not None:
        at = [spec.input_columns.index(c) for c in spec.scaled_columns]
        checked = values if at == list(range(values.shape[1])) else values[:, at]
        for part in parts:  # names the column and bar, not "column 18" of the feature matrix
            check_inputs(series, spec.scaled_columns, checked, scaler, part)
    out = []
    for part in parts:
        ds = part_dataset(
            values, labels, part, series.symbol, window=spec.window, scaler=row_scaler, lazy=True
        )
        x = LazyWindows([values], ds.window_starts, spec.window, scaler=row_scaler, transform=transform)
        end_rows = ds.window_end_rows
        dates = series.index[end_rows].to_numpy()
        label_ends = None if ends is None else ends[end_rows]
        out.append(Windows(choose_windows(x, gather), ds.labels, end_rows, dates, series.symbol, label_ends))
    return out


def window_source(
    series: Series, spec: DataSpec, scaler: Scaler | None, *, raw_candles: bool = False
) -> tuple[np.ndarray, Scaler | None, Transform | None]:
    """The ``(rows, F)`` float64 matrix of the spec's input columns (in its order) that the windows are cut
    from, the scaler applied as they are gathered, and the transform of each gathered batch (relative
    candles).

    Built-in features alone are the series' own feature frame seen as a C-contiguous array (no copy: the
    symbols of a folder then share one matrix); other column sets are gathered into one matrix. With
    candles among other inputs, the scaler leaves the candle columns as they are (mean 0, std 1: the same
    bits as raw values) and :class:`~neural_trader.data.candles.RelativeCandles` turns them into relative
    candles window by window.

    Raises:
        ConfigError: standardised inputs without a scaler, or raw candles with other inputs.
        DataError: a column the spec reads missing.
    """
    scaled, candles = spec.scaled_columns, spec.candle_columns
    if raw_candles and scaled:
        raise ConfigError("raw candle windows need candle inputs alone (--inputs candles)")
    bars = series.bars[list(candles)].to_numpy(dtype=np.float64) if candles else None
    if bars is not None and not scaled:
        return np.ascontiguousarray(bars), None, None if raw_candles else RelativeCandles()
    if scaler is None:
        raise ConfigError("standardised inputs need the scaler fit on the training rows")
    if bars is None:
        return np.ascontiguousarray(input_matrix(series, scaled)), scaler, None
    if scaler.n_features != len(scaled):
        raise ShapeError(
            f"scaler has {scaler.n_features} features but {len(scaled)} columns are standardised"
        )
    columns = spec.input_columns
    values = np.empty((series.n_rows, len(columns)), dtype=np.float64)
    at_scaled = [columns.index(c) for c in scaled]
    at_candles = [columns.index(c) for c in candles]
    values[:, at_scaled] = input_matrix(series, scaled)
    values[:, at_candles] = bars
    mean, std = [0.0] * len(columns), [1.0] * len(columns)
    for k, at in enumerate(at_scaled):
        mean[at], std[at] = scaler.mean[k], scaler.std[k]
    return values, Scaler(tuple(mean), tuple(std), columns), RelativeCandles(tuple(at_candles))


def check_label_ends(series: Series, spec: DataSpec, split: Split) -> None:
    """Checks that no label of a part's windows reads a row of the next part, using each label's actual
    end row (:func:`~neural_trader.data.targets.label_end_rows`), not a fixed horizon.

    Raises:
        ConfigError: naming the symbol, the part, the window's row and the row its label reads.
    """
    ends = label_end_rows(series, spec)
    parts = split.parts()
    for part, following in zip(PARTS, PARTS[1:], strict=False):
        (start, stop), next_start = parts[part], parts[following][0]
        window_ends = ends[start + spec.window - 1 : stop]
        late = np.flatnonzero(window_ends >= next_start)
        if late.size:
            row = start + spec.window - 1 + int(late[0])
            raise ConfigError(
                f"{series.symbol}: the {part} window ending at row {row} has a label reading up to row "
                f"{int(ends[row])}, inside the {following} part (from row {next_start}): use an embargo "
                f"of at least {int(ends[row]) - row} rows"
            )


def fit_scaler(series: list[Series], train_rows: dict[str, tuple[int, int]], spec: DataSpec) -> Scaler | None:
    """Scaler of the standardised input columns (built-in features and your columns) on the training rows
    of every symbol; None for candle inputs alone.

    One symbol: the Rust kernel (the same bits as :func:`~neural_trader.data.make_loaders`); several:
    pooled (see :func:`~neural_trader.data.scaling.fit_training_scaler`).
    """
    names = spec.scaled_columns
    if not names:
        return None
    values = {s.symbol: input_matrix(s, names) for s in series}
    for s in series:
        check_inputs(s, names, values[s.symbol], None, train_rows[s.symbol])
    return fit_training_scaler(values, train_rows, names)


def window_spans(
    series: Series, spec: DataSpec, rows: tuple[int, int] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``(t0, t1)`` of the labelled windows lying inside ``rows`` (default: all rows), in time order.

    ``t0`` is each window's last row (where it is predicted), ``t1`` the last row its label reads: the
    label's actual end row (:func:`~neural_trader.data.label_end_rows`, the one place that says how far a
    label reaches: ``t0 + horizon``, or the row where a triple barrier was hit). These are the windows
    :func:`make_windows` makes from the same rows (its ``label_ends``), and the samples of
    :mod:`neural_trader.data.cv`, so purging and the embargo cover each label's whole span.

    Raises:
        DataError: the rows hold no labelled window.

    Example:
        >>> t0, t1 = window_spans(series, DataSpec(window=32, horizon=5), (0, 100))   # doctest: +SKIP
        >>> int(t0[0]), int(t1[0])                                                    # doctest: +SKIP
        (31, 36)
    """
    start, stop = rows if rows is not None else (0, series.n_rows)
    t0 = np.arange(start + spec.window - 1, stop, dtype=np.int64)
    t1 = label_end_rows(series, spec)[t0]
    known = t1 >= 0  # -1: no label (it would read past the last bar, or the row has none)
    if not known.any():
        raise DataError(
            f"{series.symbol}: rows [{start}, {stop}) hold no window of {spec.window} bars with a label "
            f"{spec.horizon} bars ahead"
        )
    return t0[known], t1[known]
