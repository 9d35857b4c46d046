"""Chronological train/validation/test splits and walk-forward folds, with an embargo between parts.

A split is three half-open row ranges of one series, in time order, separated by ``embargo`` unused rows::

    | train [a0, a1) | embargo | val [b0, b1) | embargo | test [c0, c1) |

**Which windows belong to a part.** A window belongs to a part when all its input rows lie inside the
part; in particular a part's first window starts on the part's first row, never earlier. Its label reads
up to ``horizon`` rows past the window's last row, so the labels of a part's last windows read into the
embargo that follows it, and nowhere further.

**The embargo rule.** The last training window ends at row ``a1 - 1`` and its label reads rows up to
``a1 - 1 + horizon``; the first validation input row is ``b0 = a1 + embargo``. No training label touches a
validation input (nor, a fortiori, a validation label) if and only if ``embargo >= horizon``, whatever the
window length. The same holds between validation and test, and inside every walk-forward fold. The
constructors below refuse a smaller embargo. (Validation inputs may still *look back* into training rows
through feature lookbacks: that is the past, available at prediction time, and not leakage.)

Splits are plain row indices; save them with :meth:`Split.save` next to an experiment so it can be
rerun on exactly the same rows.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from neural_trader.errors import ConfigError
from neural_trader.files import read_regular_file, write_atomic

PARTS: tuple[str, ...] = ("train", "val", "test")
_FORMAT, _VERSION = "neural_trader.split", 1


@dataclass(frozen=True)
class Split:
    """Row ranges ``[start, stop)`` of the train, validation and test parts of a series of ``n_rows``.

    Attributes:
        train: ``(start, stop)`` of the training rows.
        val: ``(start, stop)`` of the validation rows.
        test: ``(start, stop)`` of the test rows.
        embargo: rows left unused between consecutive parts (at least the label horizon).
        n_rows: length of the series the split indexes.
        time_range: first and last timestamp of that series (ISO strings), to catch a split applied
            to other data; ``None`` when unknown.

    Example:
        >>> s = chronological_split(1000, horizon=30)
        >>> s.train, s.val, s.test
        ((0, 658), (688, 829), (859, 1000))
        >>> Split.from_json(s.to_json()) == s
        True
    """

    train: tuple[int, int]
    val: tuple[int, int]
    test: tuple[int, int]
    embargo: int
    n_rows: int
    time_range: tuple[str, str] | None = None

    def __post_init__(self) -> None:
        # Accept numpy integers and lists (as parsed from JSON), store plain ints and tuples.
        for name in ("embargo", "n_rows"):
            value = _integer(getattr(self, name))
            if value is None or value < 0:
                raise ConfigError(f"split {name} must be an integer >= 0, got {getattr(self, name)!r}")
            object.__setattr__(self, name, value)
        prev_name, prev_stop = None, None
        for name in PARTS:
            part = getattr(self, name)
            bounds = tuple(_integer(v) for v in part) if isinstance(part, (tuple, list)) else ()
            if len(bounds) != 2 or None in bounds:
                raise ConfigError(f"split {name} must be a (start, stop) pair of integers, got {part!r}")
            object.__setattr__(self, name, bounds)
            start, stop = bounds
            if not 0 <= start < stop <= self.n_rows:
                raise ConfigError(
                    f"split {name} {bounds} must satisfy 0 <= start < stop <= n_rows ({self.n_rows})"
                )
            if prev_stop is not None and start - prev_stop < self.embargo:
                raise ConfigError(
                    f"split {name} starts at row {start}, only {start - prev_stop} rows after {prev_name} "
                    f"ends ({prev_stop}); the embargo is {self.embargo}"
                )
            prev_name, prev_stop = name, stop
        if self.time_range is not None:
            times = self.time_range
            if (
                not isinstance(times, (tuple, list))
                or len(times) != 2
                or not all(isinstance(t, str) for t in times)
            ):
                raise ConfigError(f"split time_range must be two ISO timestamps, got {times!r}")
            object.__setattr__(self, "time_range", tuple(times))

    def parts(self) -> dict[str, tuple[int, int]]:
        """The three parts by name, ``{"train": (start, stop), "val": ..., "test": ...}``."""
        return {name: getattr(self, name) for name in PARTS}

    def check(self, *, n_rows: int, horizon: int, index: pd.Index | None = None) -> None:
        """Checks that the split fits a series of ``n_rows`` and labels of ``horizon`` bars.

        Raises:
            ConfigError: another length, other timestamps, or ``embargo < horizon`` (a training label
                would read validation inputs).
        """
        if n_rows != self.n_rows:
            raise ConfigError(f"the split indexes {self.n_rows} rows but the series has {n_rows}")
        if self.embargo < horizon:
            raise ConfigError(
                f"embargo {self.embargo} < horizon {horizon}: the last training labels would read "
                "validation inputs; use an embargo of at least the largest horizon"
            )
        if index is not None and self.time_range is not None and _time_range(index) != self.time_range:
            raise ConfigError(f"the split was made for rows {self.time_range}, not {_time_range(index)}")

    def to_json(self) -> str:
        """The split as a JSON document (format ``neural_trader.split``, version 1)."""
        doc: dict[str, Any] = {"format": _FORMAT, "version": _VERSION}
        doc.update({name: list(getattr(self, name)) for name in PARTS})
        doc.update(embargo=self.embargo, n_rows=self.n_rows)
        doc["time_range"] = None if self.time_range is None else list(self.time_range)
        return json.dumps(doc, indent=2)

    @classmethod
    def from_json(cls, text: str) -> Split:
        """Parses and validates a document written by :meth:`to_json`.

        Raises:
            ConfigError: not JSON, another format or version, a missing or ill-typed field, or ranges
                that break the split's invariants (order, bounds, embargo).
        """
        try:
            doc = json.loads(text)
        except (ValueError, TypeError, RecursionError) as exc:
            # ValueError: invalid JSON, or an integer beyond Python's digit limit; RecursionError: nesting.
            raise ConfigError(f"split JSON cannot be parsed: {exc}") from exc
        if not isinstance(doc, dict) or doc.get("format") != _FORMAT:
            raise ConfigError(f"not a split document (expected format {_FORMAT!r})")
        if doc.get("version") != _VERSION:
            raise ConfigError(f"unsupported split version {doc.get('version')!r} (this reads {_VERSION})")
        missing = [k for k in (*PARTS, "embargo", "n_rows") if k not in doc]
        if missing:
            raise ConfigError(f"split JSON lacks field {missing[0]!r}")
        parts = {}
        for name in PARTS:
            if not isinstance(doc[name], list):
                raise ConfigError(f"split {name} must be a [start, stop] list, got {doc[name]!r}")
            parts[name] = doc[name]
        return cls(**parts, embargo=doc["embargo"], n_rows=doc["n_rows"], time_range=doc.get("time_range"))

    def save(self, path: str | os.PathLike[str]) -> None:
        """Writes :meth:`to_json` to ``path``, atomically (:func:`neural_trader.files.write_atomic`)."""
        write_atomic(path, self.to_json() + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Split:
        """Reads a split written by :meth:`save`; see :meth:`from_json` for the checks."""
        try:
            text = read_regular_file(path, what="split file").decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{path}: not a split document (not UTF-8 text): {exc}") from exc
        return cls.from_json(text)


def chronological_split(
    n_rows: int,
    *,
    horizon: int,
    fractions: tuple[float, float, float] = (0.7, 0.15, 0.15),
    embargo: int | None = None,
    index: pd.Index | None = None,
) -> Split:
    """Splits ``n_rows`` rows in time order into train, validation and test with embargoes between them.

    The ``2 * embargo`` embargo rows are set aside first; the rest is shared by ``fractions`` (train and
    validation rounded down, test takes the remainder).

    Args:
        n_rows: rows of the series (e.g. feature rows after the warm-up).
        horizon: the largest label horizon, in bars.
        fractions: shares of train, validation and test; positive, summing to 1.
        embargo: rows between parts, default ``horizon``; must be ``>= horizon``.
        index: the series' DatetimeIndex, recorded in ``time_range`` so a reloaded split can be checked.

    Raises:
        ConfigError: bad fractions, ``embargo < horizon``, or too few rows for three non-empty parts.

    Example:
        >>> chronological_split(100, horizon=5).parts()
        {'train': (0, 63), 'val': (68, 81), 'test': (86, 100)}
    """
    embargo = _check_embargo(horizon, embargo)
    _check_positive("n_rows", n_rows)
    if (
        not isinstance(fractions, (tuple, list))
        or len(fractions) != 3
        or not all(isinstance(f, (int, float)) and not isinstance(f, bool) and f > 0 for f in fractions)
        or abs(sum(fractions) - 1) > 1e-9
    ):
        raise ConfigError(f"fractions must be three positive shares summing to 1, got {fractions!r}")
    usable = n_rows - 2 * embargo
    # The epsilon keeps 0.7 * 940 = 657.9999... from losing a row to float rounding.
    n_train, n_val = (int(usable * f + 1e-9) for f in fractions[:2])
    if min(n_train, n_val, usable - n_train - n_val) < 1:
        raise ConfigError(
            f"{n_rows} rows are too few for three non-empty parts with fractions {fractions} "
            f"and an embargo of {embargo}"
        )
    val_start = n_train + embargo
    test_start = val_start + n_val + embargo
    return Split(
        train=(0, n_train),
        val=(val_start, val_start + n_val),
        test=(test_start, n_rows),
        embargo=embargo,
        n_rows=n_rows,
        time_range=_time_range(index, n_rows),
    )


def walk_forward_splits(
    n_rows: int,
    *,
    horizon: int,
    n_folds: int = 5,
    mode: Literal["expanding", "rolling"] = "expanding",
    test_size: int | None = None,
    val_size: int | None = None,
    train_size: int | None = None,
    embargo: int | None = None,
    index: pd.Index | None = None,
) -> list[Split]:
    """Walk-forward folds: each fold trains on the past, validates next, and tests on the block after.

    Folds are anchored at the end of the series, so the most recent rows are always tested: fold ``k``
    (from 0) tests rows ``[n_rows - (n_folds - k) * test_size, ... + test_size)``, validates on the
    ``val_size`` rows that end ``embargo`` rows before its test, and trains on the rows that end
    ``embargo`` rows before its validation: all of them (``"expanding"``) or the last ``train_size``
    (``"rolling"``). Consecutive folds' tests are adjacent; a fold's test rows are training rows of later
    folds, never of earlier ones.

    Args:
        n_rows: rows of the series.
        horizon: the largest label horizon, in bars.
        n_folds: number of folds, ``>= 1``.
        mode: ``"expanding"`` or ``"rolling"``.
        test_size: test rows per fold, default ``(n_rows - 2 * embargo) // (2 * n_folds + 1)`` (so the
            first fold trains on about 45% of the rows when ``val_size == test_size``).
        val_size: validation rows per fold, default ``test_size``.
        train_size: rolling mode only: training rows per fold, default the first fold's.
        embargo: rows between parts, default ``horizon``; must be ``>= horizon``.
        index: the series' DatetimeIndex, recorded in each fold's ``time_range``.

    Returns:
        ``n_folds`` :class:`Split` objects in time order.

    Raises:
        ConfigError: bad sizes or mode, ``embargo < horizon``, or too few rows.

    Example:
        >>> folds = walk_forward_splits(1000, horizon=10, n_folds=3)
        >>> [f.test for f in folds]
        [(580, 720), (720, 860), (860, 1000)]
    """
    embargo = _check_embargo(horizon, embargo)
    if mode not in ("expanding", "rolling"):
        raise ConfigError(f"mode must be 'expanding' or 'rolling', got {mode!r}")
    if mode == "expanding" and train_size is not None:
        raise ConfigError("train_size applies to rolling folds; expanding folds train on all earlier rows")
    _check_positive("n_folds", n_folds)
    if test_size is None:
        test_size = (n_rows - 2 * embargo) // (2 * n_folds + 1)
    val_size = test_size if val_size is None else val_size
    for name, value in (("test_size", test_size), ("val_size", val_size), ("train_size", train_size)):
        if value is not None:
            _check_positive(name, value, hint=f" ({n_rows} rows are too few for {n_folds} folds)")
    first_test = n_rows - n_folds * test_size
    first_train_stop = first_test - 2 * embargo - val_size
    if first_train_stop < 1:
        raise ConfigError(
            f"{n_rows} rows leave no training rows for the first of {n_folds} folds "
            f"(test_size {test_size}, val_size {val_size}, embargo {embargo})"
        )
    if train_size is None:
        train_size = first_train_stop
    if train_size > first_train_stop:
        raise ConfigError(
            f"train_size {train_size} exceeds the {first_train_stop} rows before the first fold"
        )
    time_range = _time_range(index, n_rows)
    folds = []
    for k in range(n_folds):
        test_start = first_test + k * test_size
        val_start = test_start - embargo - val_size
        train_stop = val_start - embargo
        train_start = 0 if mode == "expanding" else train_stop - train_size
        folds.append(
            Split(
                train=(train_start, train_stop),
                val=(val_start, val_start + val_size),
                test=(test_start, test_start + test_size),
                embargo=embargo,
                n_rows=n_rows,
                time_range=time_range,
            )
        )
    return folds


def _check_embargo(horizon: int, embargo: int | None) -> int:
    _check_positive("horizon", horizon)
    embargo = horizon if embargo is None else embargo
    if isinstance(embargo, bool) or not isinstance(embargo, int):
        raise ConfigError(f"embargo must be an integer, got {embargo!r}")
    if embargo < horizon:
        raise ConfigError(
            f"embargo {embargo} < horizon {horizon}: training labels would read validation inputs"
        )
    return embargo


def _integer(value: object) -> int | None:
    """``value`` as an int if it is a Python or numpy integer (not a bool, not a float), else None."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        return None
    return int(value)


def _check_positive(name: str, value: object, hint: str = "") -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{name} must be an integer >= 1, got {value!r}{hint}")


def _time_range(index: pd.Index | None, n_rows: int | None = None) -> tuple[str, str] | None:
    if index is None:
        return None
    if n_rows is not None and len(index) != n_rows:
        raise ConfigError(f"index has {len(index)} rows but n_rows is {n_rows}")
    if len(index) == 0:
        return None
    return (pd.Timestamp(index[0]).isoformat(), pd.Timestamp(index[-1]).isoformat())
