"""Your own columns in a bars file: which extra columns are kept, and their checks.

A bars file may carry columns besides the time and OHLCV ones (sentiment scores, order-book imbalance,
a label you computed). :func:`~neural_trader.data.validate_ohlcv` keeps the ones you *select*, by exact
name or by glob pattern (``sent_*``, ``x?``, ``[ab]_score``; case-sensitive, the names as written in the
file), and checks them:

* **Input columns** must be numeric (a selected text column is a :class:`~neural_trader.errors.DataError`
  naming the column and the first row that is not a number), never infinite, and NaN follows the same
  ``nan_policy`` as the bars: ``raise`` names the first NaN, ``drop`` removes the row, ``ffill`` repeats
  the column's previous value (from the past only; a NaN on the first row has nothing to repeat).
* **The label column** must be numeric and never infinite; NaN means "no label for this row" (the last
  rows of a forward label), is never filled, and does not drop the row's inputs.

A plain name that the file lacks is an error naming it; a pattern that matches nothing selects nothing
(the caller decides whether that is an error). Unselected extra columns are ignored, whatever they hold.

Columns are taken as given: nothing here can check that a value was known at the close of its bar.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from neural_trader.errors import ConfigError, DataError

_PATTERN_CHARS = frozenset("*?[")


def is_pattern(selector: str) -> bool:
    """Whether ``selector`` is a glob pattern rather than a plain column name.

    Example:
        >>> is_pattern("sent_*"), is_pattern("imbalance")
        (True, False)
    """
    return any(ch in _PATTERN_CHARS for ch in selector)


def matches(name: str, selector: str) -> bool:
    """Whether column ``name`` is selected by ``selector``: the exact name (even one holding ``[``), or a
    glob pattern (case-sensitive).

    Example:
        >>> matches("sent_news", "sent_*"), matches("Sent_news", "sent_*"), matches("p[usd]", "p[usd]")
        (True, False, True)
    """
    return name == selector or (is_pattern(selector) and fnmatch.fnmatchcase(name, selector))


def check_selectors(selectors: Sequence[str], what: str = "extra_columns") -> tuple[str, ...]:
    """``selectors`` as a tuple of non-empty strings.

    Raises:
        ConfigError: a single string (a list is expected), or an entry that is not a non-empty string.
    """
    if isinstance(selectors, str):
        raise ConfigError(f"{what} must be a list of column names or patterns, got the string {selectors!r}")
    out = tuple(selectors)
    for s in out:
        if not isinstance(s, str) or not s.strip():
            raise ConfigError(f"{what} must hold non-empty column names or patterns, got {s!r}")
    return out


def select_extra_columns(
    extras: Mapping[str, object], selectors: Sequence[str], label_column: str | None
) -> tuple[list[str], str | None]:
    """The extra columns that ``selectors`` pick, in file order, and the label column.

    Args:
        extras: ``{name as written (stripped): original label}`` of the file's columns other than the
            time and OHLCV ones, in file order.
        selectors: names or patterns of input columns.
        label_column: the name of the label column, or None.

    Raises:
        DataError: a plain name (or the label column) that the file lacks, naming it and the columns found.
        ConfigError: the label column also selected as an input (a model would read its own label).
    """
    found = ", ".join(repr(n) for n in extras) or "none"
    for s in selectors:
        if not is_pattern(s) and s not in extras:
            raise DataError(f"column {s!r} missing (extra columns found: {found})")
    if label_column is not None and label_column not in extras:
        raise DataError(f"label column {label_column!r} missing (extra columns found: {found})")
    picked = [name for name in extras if any(matches(name, s) for s in selectors)]
    if label_column is not None and label_column in picked:
        raise ConfigError(
            f"label column {label_column!r} is also selected as an input: a model would read its own label"
        )
    return picked, label_column


def numeric_column(column: pd.Series, name: str, when: Callable[[int], str]) -> np.ndarray:
    """``column`` as float64 (NaN for missing cells).

    Raises:
        DataError: a bool, complex or text column, naming the first cell that is not a number.
    """
    if pd.api.types.is_bool_dtype(column.dtype) or pd.api.types.is_complex_dtype(column.dtype):
        raise DataError(f"column {name!r} is not numeric (dtype {column.dtype})")
    if pd.api.types.is_numeric_dtype(column.dtype):
        return column.to_numpy(dtype=np.float64, na_value=np.nan)
    coerced = pd.to_numeric(column, errors="coerce")
    bad = np.flatnonzero(coerced.isna().to_numpy() & column.notna().to_numpy())
    if bad.size:
        row = int(bad[0])
        raise DataError(f"column {name!r} is not numeric: row {row} ({when(row)}) holds {column.iloc[row]!r}")
    return coerced.to_numpy(dtype=np.float64, na_value=np.nan)


def check_label_values(values: np.ndarray, name: str, when: Callable[[int], str]) -> None:
    """Refuses an infinite label (NaN is allowed: an unknown label).

    Raises:
        DataError: naming the row and the column.
    """
    bad = np.flatnonzero(np.isinf(values))
    if bad.size:
        row = int(bad[0])
        raise DataError(f"row {row} ({when(row)}): label column {name!r} is {values[row]}")


def read_user_columns(
    frame: pd.DataFrame,
    columns: Mapping[str, object],
    skip: set[str | None],
    selectors: Sequence[str],
    label_column: str | None,
    when: Callable[[int], str],
) -> tuple[list[str], list[np.ndarray], np.ndarray | None]:
    """The selected input columns of ``frame`` (names and float64 values, in file order) and the label
    column's values.

    Args:
        frame: the raw table.
        columns: ``{lower-cased stripped name: original label}`` of its columns.
        skip: the lower-cased names that are not extra columns (time, OHLCV).
        selectors, label_column: what to keep (:func:`select_extra_columns`).
        when: row -> its date, for messages.

    Raises:
        DataError, ConfigError: see :func:`select_extra_columns`, :func:`numeric_column` and
            :func:`check_label_values`.
    """
    extras = {str(label).strip(): label for key, label in columns.items() if key not in skip}
    picked, label_name = select_extra_columns(extras, selectors, label_column)
    values = [numeric_column(frame[extras[name]], name, when) for name in picked]
    label = None
    if label_name is not None:
        label = numeric_column(frame[extras[label_name]], label_name, when)
        check_label_values(label, label_name, when)
    return picked, values, label


def forward_fill_columns(values: np.ndarray, names: Sequence[str], when: Callable[[int], str]) -> np.ndarray:
    """Repairs NaN in ``(n, k)`` input columns from the past only: each NaN repeats its column's
    previous value.

    Raises:
        DataError: a NaN on the first row (no earlier value to repeat), naming the column.
    """
    if not np.isnan(values).any():
        return values
    first = np.flatnonzero(np.isnan(values[0]))
    if first.size:
        raise DataError(
            f"row 0 ({when(0)}): {names[int(first[0])]} is NaN and nan_policy='ffill' has no earlier bar "
            "to fill from"
        )
    return pd.DataFrame(values).ffill().to_numpy(dtype=np.float64)
