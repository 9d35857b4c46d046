"""The time of each bar, read the way real files write it, in one convention.

**One convention.** Timestamps with a time zone or a UTC offset become UTC at load (an
``America/New_York`` file, whose offsets change from ``-05:00`` to ``-04:00`` at daylight saving, is one
series of UTC instants); timestamps without one stay naive (local times as the file has them). The source
time zone (``America/New_York``, or the offsets seen) is kept in the frame's ``attrs["source_time_zone"]``
and recorded by ``train`` in the checkpoint; bars in the other convention than a model's are refused by
``evaluate`` and ``predict`` with a message naming both.

**Forms read.** One time column (``timestamp``, ``datetime``, ``date`` or ``time``, any case), or separate
``date`` and ``time`` columns (intraday files), combined; or the frame's ``DatetimeIndex``. Rows may mix
dates and date-times (a date-only first row, then times). Rows that mix timestamps with and without an
offset are refused (which zone would the naive ones be in?).
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd

from neural_trader.errors import DataError

#: Column names (any case) accepted as the time column, in order of preference.
TIME_COLUMNS: tuple[str, ...] = ("timestamp", "datetime", "date", "time")
#: The key of ``DataFrame.attrs`` holding the source time zone of tz-aware bars.
SOURCE_TIME_ZONE = "source_time_zone"
# No timestamp format needs more characters; dateutil's parser takes quadratic time on a hostile
# multi-megabyte field, so longer strings are refused before parsing.
_MAX_TIME_CHARS = 64
# A UTC offset (or Z) at the end of a timestamp string: "+05:30", "-0400", "Z".
_OFFSET = re.compile(r"(?:Z|[+-]\d\d(?::?\d\d)?)$", re.IGNORECASE)


def parse_times(frame: pd.DataFrame, columns: dict[str, object]) -> tuple[pd.DatetimeIndex, str | None]:
    """The bars' timestamps (UTC when they carry a zone, else naive) and the source time zone (None for
    naive timestamps).

    Args:
        frame: the raw bars. columns: lower-cased column name -> the frame's label.

    Raises:
        DataError: no time column, numeric times, unparsable or missing timestamps (naming the row),
            rows mixing timestamps with and without an offset.

    Example:
        >>> raw = pd.DataFrame({"Date": ["2024-03-08", "2024-03-11"], "Time": ["16:00", "16:00"]})
        >>> parse_times(raw, {"date": "Date", "time": "Time"})[0].tolist()
        [Timestamp('2024-03-08 16:00:00'), Timestamp('2024-03-11 16:00:00')]
    """
    name, raw = _time_source(frame, columns)
    source = None
    if isinstance(raw, pd.DatetimeIndex):
        times = raw
    elif pd.api.types.is_numeric_dtype(raw.dtype) or pd.api.types.is_bool_dtype(raw.dtype):
        # Integers could be epoch seconds, milliseconds or nanoseconds; guessing the unit is a silent bug.
        raise DataError(
            f"time column {name!r} is numeric ({raw.dtype}); convert it first, e.g. "
            "pd.to_datetime(values, unit='s')"
        )
    else:
        _check_time_lengths(raw, name)
        times, source = _parse_values(raw, name)
    missing = np.flatnonzero(times.isna())
    if missing.size:
        raise DataError(f"row {int(missing[0])}: timestamp missing")
    if times.tz is None:
        return times, None
    return times.tz_convert("UTC"), source or str(times.tz)


def _time_source(frame: pd.DataFrame, columns: dict[str, object]) -> tuple[str, pd.Index]:
    """The time column's name and values: one column, ``date`` + ``time`` combined, or the index."""
    if "timestamp" not in columns and "datetime" not in columns and {"date", "time"} <= set(columns):
        date, clock = frame[columns["date"]], frame[columns["time"]]
        if pd.api.types.is_datetime64_any_dtype(date.dtype):
            date = date.dt.strftime("%Y-%m-%d")
        text = date.astype("string").str.strip() + " " + clock.astype("string").str.strip()
        label = f"{columns['date']} + {columns['time']}"
        return label, pd.Index(text.astype(object).where(text.notna(), None))
    name = next((c for c in TIME_COLUMNS if c in columns), None)
    if name is not None:
        return name, pd.Index(frame[columns[name]])
    if isinstance(frame.index, pd.DatetimeIndex) or str(frame.index.name).lower() in TIME_COLUMNS:
        return "index", frame.index
    raise DataError(
        "no time column: expected a DatetimeIndex, a column named timestamp, datetime, date or time, or "
        "columns date and time"
    )


def _parse_values(raw: pd.Index, name: str) -> tuple[pd.DatetimeIndex, str | None]:
    """Strings (or objects) to timestamps, offsets read as UTC, dates and date-times mixed; and the
    offsets seen (None without)."""
    offsets = _offsets(raw)
    present = ~pd.isna(raw)
    utc = bool(offsets.any())
    if utc and not offsets[present].all():
        naive = int(np.flatnonzero(present & ~offsets)[0])
        aware = int(np.flatnonzero(offsets)[0])
        raise DataError(
            f"row {naive}: timestamp {raw[naive]!r} has no UTC offset while row {aware} ({raw[aware]!r}) "
            "has one: give every timestamp an offset (e.g. +00:00), or none"
        )
    parsed = _to_datetime(raw, name, utc)
    bad = np.flatnonzero(parsed.isna() & present)
    if bad.size:
        # The format was inferred from the first row: a date-only first row then date-times (or the
        # reverse) parses row by row instead.
        mixed = _to_datetime(raw, name, utc, format="mixed")
        if np.flatnonzero(mixed.isna() & present).size < bad.size:
            parsed = mixed
            bad = np.flatnonzero(parsed.isna() & present)
    if bad.size:
        row = int(bad[0])
        raise DataError(f"row {row}: timestamp {raw[row]!r} cannot be parsed")
    if not utc:
        return parsed, None
    seen = sorted({m.group(0) for v in raw[present] if (m := _OFFSET.search(str(v).strip()))})
    return parsed, "UTC offsets " + ", ".join(seen[:4]) + (", ..." if len(seen) > 4 else "")


def _to_datetime(raw: pd.Index, name: str, utc: bool, **kwargs: str) -> pd.DatetimeIndex:
    try:
        with warnings.catch_warnings():
            # "Could not infer format": the rows that do not parse are reported by the caller.
            warnings.filterwarnings("ignore", "Could not infer format", UserWarning)
            parsed = pd.to_datetime(raw, errors="coerce", utc=utc, **kwargs)
    except (ValueError, TypeError) as exc:  # zone-aware objects of several zones, out-of-range dates
        raise DataError(
            f"time column {name!r} cannot be parsed: {exc} (give timestamps as text with UTC offsets, or "
            "without any)"
        ) from exc
    if not isinstance(parsed, pd.DatetimeIndex):
        raise DataError(f"time column {name!r} does not parse to one time zone ({parsed.dtype})")
    return parsed


def _offsets(raw: pd.Index) -> np.ndarray:
    """Which values are strings ending in a UTC offset (or ``Z``)."""
    return np.fromiter(
        (isinstance(v, str) and _OFFSET.search(v.strip()) is not None and ":" in v for v in raw),
        dtype=bool,
        count=len(raw),
    )


def _check_time_lengths(raw: pd.Index, name: str) -> None:
    if raw.dtype == object or pd.api.types.is_string_dtype(raw.dtype):
        lengths = pd.Series(raw).map(lambda v: len(v) if isinstance(v, str) else 0).to_numpy()
        too_long = np.flatnonzero(lengths > _MAX_TIME_CHARS)
        if too_long.size:
            row = int(too_long[0])
            raise DataError(
                f"row {row}: time column {name!r} holds {lengths[row]} characters, "
                f"more than any timestamp ({_MAX_TIME_CHARS})"
            )
