"""Loading and validating OHLCV bars from CSV, Parquet or an in-memory DataFrame.

Every frame that enters the pipeline passes :func:`validate_ohlcv`, which returns the canonical form the
rest of :mod:`neural_trader.data` relies on: a ``DatetimeIndex`` named ``timestamp``, strictly increasing,
and float64 columns ``open, high, low, close, volume`` (in that order, lower case), with positive prices,
``low <= min(open, close)``, ``high >= max(open, close)`` and ``volume >= 0``. Anything else raises
:class:`~neural_trader.errors.DataError` naming the column or the first bad row. Rows are numbered from 0
in the order of the input (in a CSV with a header, row ``r`` is on line ``r + 2``).

Policies, chosen explicitly because silent repairs are how look-ahead bugs and fake bars creep in:

* **Gaps in time are allowed.** Bars are a sequence, not a calendar: weekends, holidays and missing
  hours simply make the step between timestamps longer. Every horizon and lookback in the package is
  counted in bars, never in clock time.
* **NaN** follows ``nan_policy``: ``"raise"`` (default) names the first NaN; ``"drop"`` removes rows with
  any NaN; ``"ffill"`` repairs a row from the past only (a missing price becomes the previous bar's
  close, ``high``/``low`` are widened to cover the repaired ``open``/``close``, a missing volume becomes
  0), and raises if the first row needs a repair (there is no earlier bar to fill from).
* **Inf** is always an error: no policy can make it a price.
* **Your columns.** Other columns are dropped unless selected with ``extra_columns`` (names or glob
  patterns) or ``label_column``; the selected ones are kept after ``volume`` and checked as
  :mod:`neural_trader.data.columns` describes (numeric, finite, NaN per ``nan_policy`` for inputs).
"""

from __future__ import annotations

import functools
import importlib
import lzma
import os
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from neural_trader.data.columns import (
    check_selectors,
    forward_fill_columns,
    numeric_column,
    read_user_columns,
)
from neural_trader.data.times import SOURCE_TIME_ZONE, TIME_COLUMNS, parse_times
from neural_trader.errors import ConfigError, DataError
from neural_trader.files import require_regular_file

OHLCV_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close", "volume")
NanPolicy = Literal["raise", "ffill", "drop"]

_CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.bz2", ".csv.xz", ".csv.zip")
_PARQUET_SUFFIXES = (".parquet", ".pq")
#: File suffixes (any case) of bar files; a file's symbol is its name without one of them.
BAR_FILE_SUFFIXES: tuple[str, ...] = _CSV_SUFFIXES + _PARQUET_SUFFIXES


def load_ohlcv(
    source: str | os.PathLike[str] | pd.DataFrame,
    *,
    nan_policy: NanPolicy = "raise",
    extra_columns: Sequence[str] = (),
    label_column: str | None = None,
) -> pd.DataFrame | dict[str, pd.DataFrame]:
    """Loads OHLCV bars of one symbol (a file or a DataFrame) or of many (a folder) and validates them.

    Args:
        source: a ``.csv`` (optionally ``.gz``/``.bz2``/``.xz``/``.zip``) or ``.parquet``/``.pq`` file, a
            folder of such files (one symbol per file, the symbol being the file name without suffix;
            other files are ignored), or a DataFrame.
        nan_policy: ``"raise"``, ``"drop"`` or ``"ffill"``, see the module docstring.
        extra_columns: your input columns to keep (names or glob patterns), see :func:`validate_ohlcv`.
        label_column: your label column to keep, see :func:`validate_ohlcv`.

    Returns:
        For a file or a DataFrame, the canonical frame (see :func:`validate_ohlcv`). For a folder, a dict
        ``symbol -> frame`` sorted by symbol: symbols keep their own calendars, so they are not forced
        onto one index.

    Raises:
        DataError: invalid bars, prefixed with the file name. FileNotFoundError: no such path.
        ImportError: a Parquet file and no ``pyarrow`` installed.

    Example:
        >>> bars = load_ohlcv("sp500_daily.csv")               # doctest: +SKIP
        >>> bars.columns.tolist()                              # doctest: +SKIP
        ['open', 'high', 'low', 'close', 'volume']
        >>> universe = load_ohlcv("data/")                     # doctest: +SKIP
        >>> sorted(universe)                                   # doctest: +SKIP
        ['eurusd_hourly', 'goog_daily', 'sp500_daily']
    """
    _check_policy(nan_policy)
    keep = {"extra_columns": extra_columns, "label_column": label_column}
    if isinstance(source, pd.DataFrame):
        return validate_ohlcv(source, nan_policy=nan_policy, **keep)
    path = Path(source)
    if path.is_dir():
        return _load_folder(path, nan_policy, keep)
    if not path.exists():
        raise FileNotFoundError(f"no such file or folder: {path}")
    return _load_file(path, nan_policy, keep)


def validate_ohlcv(
    frame: pd.DataFrame,
    *,
    nan_policy: NanPolicy = "raise",
    extra_columns: Sequence[str] = (),
    label_column: str | None = None,
) -> pd.DataFrame:
    """Checks a frame of bars and returns its canonical form (a new frame; the input is not modified).

    The time comes from a column named ``timestamp``, ``datetime``, ``date`` or ``time`` (any case), from
    separate ``date`` and ``time`` columns (combined), or else from the index if it is a
    ``DatetimeIndex`` or carries one of those names (:mod:`neural_trader.data.times`). Timestamps with a
    time zone or UTC offsets become UTC (the source zone in ``attrs["source_time_zone"]``); naive ones
    stay naive.

    Args:
        frame: the bars.
        nan_policy: ``"raise"``, ``"drop"`` or ``"ffill"``, see the module docstring.
        extra_columns: other columns to keep as inputs, by exact name or glob pattern (case-sensitive);
            numeric, finite, NaN handled by ``nan_policy`` (:mod:`neural_trader.data.columns`).
        label_column: another column to keep as a label: numeric, never infinite, NaN = no label.

    Returns:
        A frame indexed by a strictly increasing ``DatetimeIndex`` named ``timestamp`` with float64
        columns ``open, high, low, close, volume``, then the selected extra columns in file order, then
        the label column.

    Raises:
        DataError: naming the column or the first bad row, e.g.
            ``"row 17 (2004-09-13): high 101.2 < max(open, close) 102"``; a selected column that is
            missing or not numeric. ConfigError: the label column also selected as an input.

    Example:
        >>> raw = pd.DataFrame({"Date": ["2024-01-02", "2024-01-03"], "Open": [1, 2], "High": [2, 3],
        ...                     "Low": [1, 2], "Close": [2, 3], "Volume": [10, 0]})
        >>> validate_ohlcv(raw).loc["2024-01-03", "close"]
        np.float64(3.0)
    """
    _check_policy(nan_policy)
    selectors = check_selectors(extra_columns)
    if label_column is not None and (not isinstance(label_column, str) or not label_column.strip()):
        raise ConfigError(f"label_column must be a column name, got {label_column!r}")
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"expected a pandas DataFrame of bars, got {type(frame).__name__}")
    if len(frame) == 0:
        raise DataError("empty: the frame has no rows")
    columns = _canonical_columns(frame)
    times, source_zone = parse_times(frame, columns)
    _check_increasing(times)
    missing = [name for name in OHLCV_COLUMNS if name not in columns]
    if missing:
        found = ", ".join(repr(str(c)) for c in frame.columns)
        raise DataError(f"column {missing[0]!r} missing (found: {found})")
    when = functools.partial(_when, times)
    values = np.column_stack([numeric_column(frame[columns[name]], name, when) for name in OHLCV_COLUMNS])
    names, label = list(OHLCV_COLUMNS), None
    if selectors or label_column is not None:
        time_keys = {c for c in TIME_COLUMNS if c in columns}  # a date + time pair is two columns
        picked, user, label = read_user_columns(
            frame, columns, {*OHLCV_COLUMNS, *time_keys}, selectors, label_column, when
        )
        values = np.column_stack([values, *user]) if user else values
        names += picked
    rows = np.arange(len(values))  # original row numbers, kept for messages after dropping rows
    _check_no_inf(values, times, names)
    values, rows = _apply_nan_policy(values, rows, times, nan_policy, names)
    _check_bars(values[:, :5], rows, times)
    index = pd.DatetimeIndex(times[rows], name="timestamp")
    out = pd.DataFrame(values, index=index, columns=names)
    if label is not None:
        out[label_column] = label[rows]
    if source_zone is not None:
        # Bars validated again (series_from_bars) are UTC already: keep the zone of the file.
        out.attrs[SOURCE_TIME_ZONE] = frame.attrs.get(SOURCE_TIME_ZONE, source_zone)
    return out


def _check_policy(nan_policy: str) -> None:
    if nan_policy not in ("raise", "ffill", "drop"):
        raise ConfigError(f"nan_policy must be 'raise', 'ffill' or 'drop', got {nan_policy!r}")


def _load_folder(folder: Path, nan_policy: NanPolicy, keep: dict[str, Any]) -> dict[str, pd.DataFrame]:
    symbols: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        symbol = symbol_of(path) if path.is_file() else None
        if symbol is None or path.name.startswith("."):
            continue
        if symbol in symbols:
            raise DataError(
                f"{folder}: symbol {symbol!r} appears twice ({symbols[symbol].name}, {path.name})"
            )
        symbols[symbol] = path
    if not symbols:
        raise DataError(f"{folder}: no CSV or Parquet files in the folder")
    return {symbol: _load_file(path, nan_policy, keep) for symbol, path in symbols.items()}


def symbol_of(path: str | os.PathLike[str]) -> str | None:
    """The symbol a bar file holds: its name without the suffix (``goog_daily.csv.gz`` -> ``goog_daily``);
    None when the name has none of :data:`BAR_FILE_SUFFIXES`.

    Example:
        >>> symbol_of("data/GOOG_daily.CSV.gz")
        'GOOG_daily'
    """
    name = Path(path).name
    for suffix in BAR_FILE_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return None


def _load_file(path: Path, nan_policy: NanPolicy, keep: dict[str, Any]) -> pd.DataFrame:
    parquet = path.name.lower().endswith(_PARQUET_SUFFIXES)
    if not parquet and not path.name.lower().endswith(_CSV_SUFFIXES):
        raise DataError(f"{path.name}: unsupported file type (expected .csv[.gz] or .parquet)")
    if parquet:
        _require_pyarrow()
    # A FIFO would block the reader forever and a link to /dev/zero would fill memory: regular files only.
    require_regular_file(path, error=DataError, what="bar file")
    try:
        raw = pd.read_parquet(path, engine="pyarrow") if parquet else pd.read_csv(path)
    except (ValueError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        # pandas' ParserError and pyarrow's ArrowInvalid are ValueErrors too.
        raise DataError(f"{path.name}: cannot be read as a table: {exc}") from exc
    except (OSError, EOFError, zipfile.BadZipFile, lzma.LZMAError) as exc:
        # A corrupt or truncated .gz/.bz2/.xz/.zip; an unreadable file stays an OSError.
        if isinstance(exc, (PermissionError, FileNotFoundError, IsADirectoryError)):
            raise
        raise DataError(f"{path.name}: corrupt or truncated compressed file: {exc}") from exc
    try:
        return validate_ohlcv(raw, nan_policy=nan_policy, **keep)
    except DataError as exc:
        raise DataError(f"{path.name}: {exc}") from exc


def _require_pyarrow() -> None:
    try:
        importlib.import_module("pyarrow")
    except ImportError as exc:
        raise ImportError(
            "reading Parquet needs the 'pyarrow' package, which is not installed: pip install pyarrow"
        ) from exc


def _canonical_columns(frame: pd.DataFrame) -> dict[str, object]:
    """Maps each lower-cased, stripped column name to the original label."""
    columns: dict[str, object] = {}
    for label in frame.columns:
        key = str(label).strip().lower()
        if key in columns:
            raise DataError(f"columns {str(columns[key])!r} and {str(label)!r} both mean {key!r}")
        columns[key] = label
    return columns


def _check_increasing(times: pd.DatetimeIndex) -> None:
    stamps = times.asi8
    bad = np.flatnonzero(stamps[1:] <= stamps[:-1])
    if bad.size:
        row = int(bad[0]) + 1
        this, prev = _when(times, row), _when(times, row - 1)
        why = f"duplicate of row {row - 1}" if stamps[row] == stamps[row - 1] else f"row {row - 1} is {prev}"
        raise DataError(f"timestamps not strictly increasing at row {row} ({this}; {why})")


def _check_no_inf(values: np.ndarray, times: pd.DatetimeIndex, names: list[str]) -> None:
    bad = np.argwhere(np.isinf(values))
    if bad.size:
        row, col = (int(v) for v in bad[0])
        raise DataError(f"row {row} ({_when(times, row)}): {names[col]} is {values[row, col]}")


def _apply_nan_policy(
    values: np.ndarray, rows: np.ndarray, times: pd.DatetimeIndex, nan_policy: NanPolicy, names: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    nan = np.isnan(values)
    if not nan.any():
        return values, rows
    if nan_policy == "raise":
        row, col = (int(v) for v in np.argwhere(nan)[0])
        raise DataError(
            f"row {row} ({_when(times, row)}): {names[col]} is NaN "
            "(nan_policy='raise'; pass nan_policy='ffill' or 'drop' to repair)"
        )
    if nan_policy == "drop":
        keep = ~nan.any(axis=1)
        if not keep.any():
            raise DataError("empty: every row has a NaN (nan_policy='drop')")
        return values[keep], rows[keep]
    bars = _forward_fill(values[:, :5], nan[:, :5], times)
    if values.shape[1] == 5:
        return bars, rows
    user = forward_fill_columns(values[:, 5:], names[5:], functools.partial(_when, times))
    return np.column_stack([bars, user]), rows


def _forward_fill(values: np.ndarray, nan: np.ndarray, times: pd.DatetimeIndex) -> np.ndarray:
    """Repairs NaN from the past only: prices from the previous close, volume 0 (nothing traded)."""
    o, h, lo, c, v = (pd.Series(values[:, k]) for k in range(5))
    c = c.ffill()
    prev_close = c.shift(1)
    o = o.fillna(prev_close)
    if np.isnan(c.iloc[0]) or np.isnan(o.iloc[0]):
        col = "close" if np.isnan(c.iloc[0]) else "open"
        raise DataError(
            f"row 0 ({_when(times, 0)}): {col} is NaN and nan_policy='ffill' has no earlier bar to fill from"
        )
    repaired = nan[:, :4].any(axis=1)
    body_high, body_low = np.maximum(o, c), np.minimum(o, c)
    # Only repaired rows are widened: an intact bar that breaks high >= max(open, close) must still raise.
    h = np.where(repaired, np.fmax(h, body_high), h)
    lo = np.where(repaired, np.fmin(lo, body_low), lo)
    return np.column_stack([o, h, lo, c, v.fillna(0.0)])


def _check_bars(values: np.ndarray, rows: np.ndarray, times: pd.DatetimeIndex) -> None:
    o, h, lo, c, v = values.T
    body_high, body_low = np.maximum(o, c), np.minimum(o, c)
    checks = [
        (values[:, :4].min(axis=1) <= 0, lambda i: _nonpositive(values[i])),
        (h < lo, lambda i: f"high {_num(h[i])} < low {_num(lo[i])}"),
        (h < body_high, lambda i: f"high {_num(h[i])} < max(open, close) {_num(body_high[i])}"),
        (lo > body_low, lambda i: f"low {_num(lo[i])} > min(open, close) {_num(body_low[i])}"),
        (v < 0, lambda i: f"volume {_num(v[i])} is negative"),
    ]
    first = [int(np.argmax(bad)) if bad.any() else len(values) for bad, _ in checks]
    i = min(first)
    if i < len(values):
        describe = checks[first.index(i)][1]
        row = int(rows[i])
        raise DataError(f"row {row} ({_when(times, row)}): {describe(i)}")


def _nonpositive(bar: np.ndarray) -> str:
    col = int(np.argmax(bar[:4] <= 0))
    return f"{OHLCV_COLUMNS[col]} {_num(bar[col])} is not positive (log returns need prices > 0)"


def _num(value: float) -> str:
    return f"{value:.10g}"


def _when(times: pd.DatetimeIndex, row: int) -> str:
    """A timestamp for messages: the date alone for daily bars, else date and time."""
    stamp = times[row]
    if stamp is pd.NaT:
        return "NaT"
    return stamp.strftime("%Y-%m-%d") if stamp == stamp.normalize() else str(stamp)
