"""Per-feature z-score scaling, fit on training rows only (of one symbol or pooled over many) and stored
with the model.

A :class:`Scaler` is fit on the training part of a split (never on validation or test rows: their
mean and spread are the future) and travels in the checkpoint metadata as JSON (:meth:`Scaler.to_dict`),
so inference normalises exactly as training did.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from neural_trader import kernels
from neural_trader.errors import ConfigError, DataError, ShapeError


@dataclass(frozen=True)
class Scaler:
    """Per-feature mean and standard deviation; :meth:`transform` computes ``(x - mean) / std``.

    Attributes:
        mean: per-feature means (float64).
        std: per-feature population standard deviations, all finite and ``> 0`` (a column that was
            constant on the fitting rows gets 1.0, so it maps to exactly 0).
        columns: feature names, in the order of the series' columns.

    Example:
        >>> s = Scaler.fit(np.array([[1.0, 5.0], [3.0, 5.0]]), columns=["a", "b"])
        >>> s.mean, s.std
        ((2.0, 5.0), (1.0, 1.0))
        >>> Scaler.from_dict(s.to_dict()) == s
        True
    """

    mean: tuple[float, ...]
    std: tuple[float, ...]
    columns: tuple[str, ...]

    def __post_init__(self) -> None:
        if not (len(self.mean) == len(self.std) == len(self.columns) >= 1):
            raise ConfigError(
                f"scaler needs one mean, std and column name per feature, got {len(self.mean)} means, "
                f"{len(self.std)} stds and {len(self.columns)} columns"
            )
        for k, (name, m, s) in enumerate(zip(self.columns, self.mean, self.std, strict=True)):
            if not isinstance(name, str):
                raise ConfigError(f"scaler column {k} must be a name, got {name!r}")
            if not isinstance(m, float) or not math.isfinite(m):
                raise ConfigError(f"scaler mean of {name!r} must be a finite float, got {m!r}")
            if not isinstance(s, float) or not (math.isfinite(s) and s > 0):
                raise ConfigError(f"scaler std of {name!r} must be a finite float > 0, got {s!r}")

    @classmethod
    def fit(
        cls,
        series: np.ndarray,
        *,
        start: int = 0,
        stop: int | None = None,
        columns: Sequence[str] | None = None,
    ) -> Scaler:
        """Fits on rows ``[start, stop)`` of a ``(T, F)`` series (the training rows) and nothing else.

        The statistics come from the Rust kernel ``zscore_stats`` (float64, two-pass, the same bits
        whatever the thread count).

        Args:
            series: ``(T, F)`` float32 or float64 values.
            start: first fitting row.
            stop: end of the fitting rows (exclusive), default ``T``.
            columns: feature names, default ``"f0", "f1", ...``.

        Raises:
            ShapeError: not 2-D, or ``columns`` of another length. DataError: NaN/Inf in the rows.
            ConfigError: an empty or out-of-range row range.
        """
        series = _as_series(series)
        names = tuple(columns) if columns is not None else tuple(f"f{k}" for k in range(series.shape[1]))
        if len(names) != series.shape[1]:
            raise ShapeError(f"columns has {len(names)} names but the series has {series.shape[1]} features")
        mean, std = kernels.zscore_stats(series, start, stop)
        return cls(tuple(float(m) for m in mean), tuple(float(s) for s in std), names)

    @property
    def n_features(self) -> int:
        """Number of features."""
        return len(self.mean)

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """``(mean, std)`` as float64 arrays, the form the window kernel takes."""
        return np.asarray(self.mean, dtype=np.float64), np.asarray(self.std, dtype=np.float64)

    def transform(self, values: np.ndarray) -> np.ndarray:
        """Normalises ``(..., F)`` values to float32.

        Computes ``(x - mean) * (1 / std)`` in float64 and rounds once to float32, the same operations as
        the Rust window kernel, so lazily and eagerly built windows are bit-identical.
        """
        values = np.asarray(values)
        if values.ndim == 0 or values.shape[-1] != self.n_features:
            raise ShapeError(f"expected (..., {self.n_features}) values, got shape {values.shape}")
        mean, std = self.arrays()
        return ((values.astype(np.float64, copy=False) - mean) * (1.0 / std)).astype(np.float32)

    def to_dict(self) -> dict[str, list[Any]]:
        """A JSON-ready ``{"columns": [...], "mean": [...], "std": [...]}``; floats round-trip exactly."""
        return {"columns": list(self.columns), "mean": list(self.mean), "std": list(self.std)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Scaler:
        """Rebuilds a scaler from :meth:`to_dict` output (e.g. parsed from checkpoint metadata).

        Raises:
            ConfigError: a missing key, mismatched lengths, or a non-finite mean or non-positive std.
        """
        if not isinstance(data, Mapping):
            raise ConfigError(f"scaler must be a mapping, got {type(data).__name__}")
        missing = [k for k in ("columns", "mean", "std") if k not in data]
        if missing:
            raise ConfigError(f"scaler lacks field {missing[0]!r}")
        values = {}
        for key in ("mean", "std"):
            items = data[key]
            if not isinstance(items, Sequence) or isinstance(items, str):
                raise ConfigError(f"scaler {key} must be a list of numbers, got {items!r}")
            if any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in items):
                raise ConfigError(f"scaler {key} must be a list of numbers, got {list(items)!r}")
            values[key] = tuple(float(v) for v in items)
        columns = data["columns"]
        if not isinstance(columns, Sequence) or isinstance(columns, str):
            raise ConfigError(f"scaler columns must be a list of names, got {columns!r}")
        return cls(values["mean"], values["std"], tuple(columns))


def _as_series(series: np.ndarray) -> np.ndarray:
    array = np.asarray(series)
    if array.ndim != 2:
        raise ShapeError(f"expected a (T, F) series, got shape {array.shape}")
    if array.dtype not in (np.float32, np.float64):
        array = array.astype(np.float64)
    return np.ascontiguousarray(array)


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


def fit_training_scaler(
    series: Mapping[str, np.ndarray], rows: Mapping[str, tuple[int, int]], columns: Sequence[str]
) -> Scaler:
    """The scaler of the training rows ``rows[s]`` of one or more symbols' ``(T_s, F)`` series.

    The one scaler fit of every road from bars to windows (the library loaders and the CLI workflows):
    one symbol: :meth:`Scaler.fit` (the Rust kernel); several: :func:`fit_pooled_scaler` (per-symbol
    statistics combined exactly, in symbol order). Both read the training rows and nothing else.

    Raises:
        DataError: NaN/Inf in the training rows, or no symbol. ShapeError: ``columns`` of another width.

    Example:
        >>> fit_training_scaler({"a": np.array([[1.0], [3.0], [99.0]])}, {"a": (0, 2)}, ["x"]).mean
        (2.0,)
    """
    if len(series) == 1:
        ((symbol, values),) = series.items()
        start, stop = rows[symbol]
        return Scaler.fit(values, start=start, stop=stop, columns=columns)
    return fit_pooled_scaler(series, rows, columns)
