"""Purged k-fold and combinatorial purged cross-validation over the windows of one series, with a held-out
test period: the split files of ``neural-trader splits --kind purged-kfold|cpcv`` and of ``tune``.

The samples are the labelled windows of the *development* rows (``t0``: a window's last row, ``t1``: the
last row its label reads, from :func:`~neural_trader.data.window_spans`), split by
:mod:`neural_trader.data.cv`. The last rows of the series, after an embargo, are the *test* period: no
development window reads them, neither as input nor as label, and ``tune`` opens them once, for the
configuration it chose. A file is a purged cross-validation document (format ``neural_trader.purged_cv``,
:meth:`~neural_trader.data.cv.PurgedCV.to_dict`) with one more key saying which rows it indexes::

    {"format": "neural_trader.purged_cv", "version": 1, "kind": "combinatorial_purged", ...,
     "series": {"n_rows": 4982, "time_range": ["1999-03-16T00:00:00", "2018-12-31T00:00:00"],
                "window": 32, "horizon": 5, "embargo": 5,
                "development": [0, 3981], "test": [3986, 4982]}}

``test`` is null when nothing is held out. Reading a file back checks every invariant of the splits
(:class:`~neural_trader.data.cv.PurgedCV`), that the test period starts at least ``embargo`` rows after
the development rows, and, against a series, that the samples are this series' windows
(:meth:`~neural_trader.data.cv.PurgedCV.check`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from neural_trader.data import DataSpec, Series, window_spans
from neural_trader.data.cv import PurgedCV, combinatorial_purged_cv
from neural_trader.errors import ConfigError
from neural_trader.files import read_regular_file, write_atomic
from neural_trader.validation import fraction, integer

#: ``--kind`` of the purged split files, and the number of test groups each takes.
PURGED_KINDS: tuple[str, ...] = ("purged-kfold", "cpcv")


@dataclass(frozen=True, eq=False)
class HeldOutCV:
    """Purged cross-validation over the development windows of a series, and its held-out test rows.

    Attributes:
        cv: the splits of the development windows (samples in time order).
        n_rows: rows of the series (after the feature warm-up). time_range: its first and last timestamp.
        window, horizon: the windows' length and the labels' horizon, in bars.
        embargo: rows between the development and the test rows, and after every CV test group.
        development: ``(0, stop)`` rows whose windows are the samples.
        test: ``(start, n_rows)`` held-out rows, or None.

    Example:
        >>> h = held_out_cv(series, DataSpec(window=32, horizon=5), kind="cpcv")   # doctest: +SKIP
        >>> len(h.cv), h.cv.n_paths, h.test                                       # doctest: +SKIP
        (15, 5, (3986, 4982))
    """

    cv: PurgedCV
    n_rows: int
    time_range: tuple[str, str] | None
    window: int
    horizon: int
    embargo: int
    development: tuple[int, int]
    test: tuple[int, int] | None

    def __post_init__(self) -> None:
        n = integer("series n_rows", self.n_rows, low=1)
        integer("series window", self.window, low=1)
        horizon = integer("series horizon", self.horizon, low=1)
        embargo = integer("series embargo", self.embargo, low=0)
        if embargo < horizon:
            raise ConfigError(
                f"embargo {embargo} < horizon {horizon}: the last development labels would read test rows"
            )
        start, stop = _pair("development", self.development)
        if start != 0 or not 0 < stop <= n:
            raise ConfigError(f"development rows must be [0, stop), 0 < stop <= {n}, got [{start}, {stop})")
        if self.test is not None:
            first, end = _pair("test", self.test)
            if end != n or not first < end:
                raise ConfigError(f"test rows must be [start, {n}) with start < {n}, got [{first}, {end})")
            if first - stop < embargo:
                raise ConfigError(
                    f"the test period [{first}, {end}) overlaps the development period [0, {stop}) or starts "
                    f"only {first - stop} rows after it; it must start at least {embargo} rows (the "
                    "embargo) after the last development row"
                )

    def spans(self, series: Series, spec: DataSpec) -> tuple[np.ndarray, np.ndarray]:
        """``(t0, t1)`` of the development windows of ``series``: the samples the splits index."""
        return development_spans(series, spec, self.development, self.test)

    def check(self, series: Series, spec: DataSpec) -> None:
        """Checks that these splits were made for ``series`` and windows of ``spec``.

        Raises:
            ConfigError: another series (length, dates), another window or horizon, or other samples.
        """
        if self.n_rows != series.n_rows:
            raise ConfigError(f"the split indexes {self.n_rows} rows but {series.symbol} has {series.n_rows}")
        if self.time_range is not None and _time_range(series) != self.time_range:
            raise ConfigError(f"the split was made for rows {self.time_range}, not {_time_range(series)}")
        if (spec.window, spec.horizon) != (self.window, self.horizon):
            raise ConfigError(
                f"the split was made for windows of {self.window} bars and a horizon of {self.horizon}, "
                f"not {spec.window} and {spec.horizon}"
            )
        self.cv.check(*self.spans(series, spec))

    def to_dict(self) -> dict[str, Any]:
        """The split document (see the module docstring)."""
        doc = self.cv.to_dict()
        doc["series"] = {
            "n_rows": self.n_rows,
            "time_range": None if self.time_range is None else list(self.time_range),
            "window": self.window,
            "horizon": self.horizon,
            "embargo": self.embargo,
            "development": list(self.development),
            "test": None if self.test is None else list(self.test),
        }
        return doc

    def save(self, path: str | os.PathLike) -> None:
        """Writes the document atomically (temporary file, fsync, rename)."""
        write_atomic(Path(path), (json.dumps(self.to_dict(), indent=1) + "\n").encode())

    @classmethod
    def from_dict(cls, doc: object) -> HeldOutCV:
        """Parses and validates a document written by :meth:`to_dict`.

        Raises:
            ConfigError: not a purged split document, broken splits, or rows that break the held-out rule.
        """
        cv = PurgedCV.from_dict(doc)
        assert isinstance(doc, dict)  # from_dict refuses anything else
        rows = doc.get("series")
        if not isinstance(rows, dict):
            raise ConfigError(
                "this purged cross-validation document does not say which rows it indexes (no 'series'); "
                "write it with `neural-trader splits --kind purged-kfold|cpcv`"
            )
        fields = ("n_rows", "window", "horizon", "embargo", "development", "test")
        missing = [k for k in fields if k not in rows]
        if missing:
            raise ConfigError(f"purged split 'series' lacks field {missing[0]!r}")
        time_range = rows.get("time_range")
        if time_range is not None and (
            not isinstance(time_range, list)
            or len(time_range) != 2
            or not all(isinstance(t, str) for t in time_range)
        ):
            raise ConfigError(f"purged split time_range must be two ISO timestamps, got {time_range!r:.80}")
        return cls(
            cv=cv,
            n_rows=rows["n_rows"],
            time_range=None if time_range is None else (time_range[0], time_range[1]),
            window=rows["window"],
            horizon=rows["horizon"],
            embargo=rows["embargo"],
            development=_pair("development", rows["development"]),
            test=None if rows["test"] is None else _pair("test", rows["test"]),
        )

    @classmethod
    def load(cls, path: str | os.PathLike) -> HeldOutCV:
        """Reads a split file written by :meth:`save`; see :meth:`from_dict` for the checks."""
        raw = read_regular_file(path, what="split file")
        try:
            doc = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise ConfigError(f"{path}: not a JSON split file: {exc}") from None
        try:
            return cls.from_dict(doc)
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}") from None


def development_spans(
    series: Series, spec: DataSpec, development: tuple[int, int], test: tuple[int, int] | None
) -> tuple[np.ndarray, np.ndarray]:
    """``(t0, t1)`` of the labelled windows inside the development rows whose labels end before the test
    rows (with an embargo of at least the horizon they all do; a label that ends later is left out)."""
    t0, t1 = window_spans(series, spec, development)
    if test is not None:
        keep = t1 < test[0]
        t0, t1 = t0[keep], t1[keep]
    return t0, t1


def held_out_cv(
    series: Series,
    spec: DataSpec,
    *,
    kind: str = "cpcv",
    n_groups: int = 6,
    n_test_groups: int = 2,
    embargo: int | None = None,
    holdout: float = 0.2,
) -> HeldOutCV:
    """Holds out the last ``holdout`` share of the rows and splits the windows before them.

    Args:
        series: one symbol's rows. spec: the windows (``window``) and labels (``horizon``).
        kind: ``"purged-kfold"`` (``n_groups`` folds, one test group each) or ``"cpcv"`` (``n_groups``
            groups, every choice of ``n_test_groups`` as a split).
        embargo: rows between the development and test rows and after each CV test group; default the
            horizon, never less.
        holdout: share of the rows held out at the end, in ``[0, 1)``; 0 holds nothing out.

    Raises:
        ConfigError: a bad kind, counts, embargo or share. DataError: too few rows or windows.

    Example:
        >>> h = held_out_cv(series, DataSpec(window=32, horizon=5), kind="purged-kfold", n_groups=5)
        ...                                                                     # doctest: +SKIP
    """
    if kind not in PURGED_KINDS:
        raise ConfigError(f"kind must be one of {', '.join(PURGED_KINDS)}, got {kind!r}")
    embargo = spec.horizon if embargo is None else integer("embargo", embargo, low=0)
    if embargo < spec.horizon:
        raise ConfigError(f"embargo {embargo} < horizon {spec.horizon}: training labels would read test rows")
    n = series.n_rows
    test = None
    stop = n
    if holdout != 0:
        share = fraction("holdout", holdout)
        first = n - max(1, int(round(n * share)))
        stop = first - embargo
        if stop < spec.window:
            raise ConfigError(
                f"holding out {share:.0%} of {n} rows with an embargo of {embargo} leaves {max(stop, 0)} "
                f"development rows, fewer than one window of {spec.window}"
            )
        test = (first, n)
        window_spans(series, spec, test)  # the test period must hold a labelled window
    development = (0, stop)
    t0, t1 = development_spans(series, spec, development, test)
    k = 1 if kind == "purged-kfold" else n_test_groups
    cv = combinatorial_purged_cv(t0, t1, n_groups=n_groups, n_test_groups=k, embargo=embargo)
    return HeldOutCV(cv, n, _time_range(series), spec.window, spec.horizon, embargo, development, test)


def _pair(name: str, value: object) -> tuple[int, int]:
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise ConfigError(f"{name} rows must be a [start, stop] pair, got {value!r:.80}")
    return integer(f"{name} start", value[0], low=0), integer(f"{name} stop", value[1], low=0)


def _time_range(series: Series) -> tuple[str, str] | None:
    index = series.index
    if len(index) == 0:
        return None
    return (index[0].isoformat(), index[-1].isoformat())
