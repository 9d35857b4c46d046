"""Label recipes: a spec's label matrix on a series' rows, the row where each label ends, the classes of
your class column, and the scaler of a regression label.

Every label is aligned with the row where its window **ends** (row ``e``) and reads rows ``<= t1[e]``, its
*end row*: ``e + horizon`` for the fixed-horizon labels (``direction``, ``trend``, ``forward_return``,
forecasts, your column with its stated horizon), and for ``triple_barrier`` the row where the first
barrier was reached, at most ``e + horizon``. :func:`label_end_rows` gives them; the split check and
purged cross-validation compare them with the next part's first row, so an embargo never relies on a
horizon shorter than a label's actual span.

The triple-barrier volatility is the sample standard deviation (ddof 1) of the last ``vol_window``
one-bar log returns up to and including row ``e`` of the series' rows (after the features' warm-up), so
the first ``vol_window`` rows have no label. The Rust kernel :func:`neural_trader.kernels.triple_barrier`
does the path scan; its labels ``-1, 0, +1`` become the classes ``0, 1, 2`` (down, flat, up).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from neural_trader import barriers
from neural_trader.data.scaling import Scaler
from neural_trader.data.series import Series
from neural_trader.data.spec import MAX_CLASSES, DataSpec
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


def triple_barrier_classes(series: Series, spec: DataSpec) -> tuple[np.ndarray, np.ndarray]:
    """``(n_rows,)`` float32 classes 0 (down), 1 (flat), 2 (up) or NaN, and the int64 row where each label
    was decided (``-1`` when unknown).

    Example:
        >>> spec = DataSpec(label="triple_barrier", horizon=10)
        >>> y, t1 = triple_barrier_classes(series, spec)                  # doctest: +SKIP
        >>> bool((t1[y == y] <= np.flatnonzero(y == y) + 10).all())       # doctest: +SKIP
        True
    """
    close = series.bars["close"].to_numpy(dtype=np.float64)
    sigma = pd.Series(np.log(close)).diff().rolling(spec.vol_window).std().to_numpy()
    upper, lower = spec.barriers
    label, t1, _ = barriers.triple_barrier(close, sigma, spec.horizon, upper, lower, "zero")
    return label + np.float32(1.0), t1


def _class_indices(series: Series, spec: DataSpec, parts: Sequence[tuple[int, int]] | None) -> np.ndarray:
    """Your class column as class indices of ``spec.classes`` (NaN where unlabelled).

    Raises:
        DataError: a labelled row inside one of ``parts`` (``(start, stop)`` rows; default: all rows)
            whose value is not a training class.
    """
    values = series.columns[spec.label_column].to_numpy(dtype=np.float64)
    classes = np.asarray(spec.classes, dtype=np.float64)
    idx = np.minimum(np.searchsorted(classes, values), len(classes) - 1)
    known = np.isfinite(values)
    unseen = known & (classes[idx] != values)
    for start, stop in parts if parts is not None else [(0, len(values))]:
        bad = np.flatnonzero(unseen[start:stop])
        if not bad.size:
            continue
        row = start + int(bad[0])
        raise DataError(
            f"{series.symbol}: label column {spec.label_column!r} holds {values[row]:g} at row {row} "
            f"({series.index[row].date()}), not one of the classes of the training rows {spec.classes}"
        )
    return np.where(known & ~unseen, idx, np.nan).astype(np.float32)


def labels_and_ends(
    series: Series,
    spec: DataSpec,
    scaler: Scaler | None,
    parts: Sequence[tuple[int, int]] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The ``(n_rows, L)`` float32 labels of ``spec`` (NaN where unknown) and each label's ``(n_rows,)``
    int64 end row (``-1`` where unknown).

    Args:
        series: the rows.
        spec: which labels.
        scaler: the input scaler, for forecast targets (standardised like the inputs).
        parts: the parts (``(start, stop)`` rows) being cut into windows; a class value outside the
            training classes is an error only there (default: anywhere).

    Raises:
        ConfigError: a forecast spec without the scaler its standardised targets need, or an unknown label
            column. DataError: see :func:`_class_indices`.
    """
    n, h = series.n_rows, spec.horizon
    if spec.label == "triple_barrier":
        classes, ends = triple_barrier_classes(series, spec)
        return classes[:, None], ends
    if spec.label == "forecast":
        labels = _forecast_labels(series, spec, scaler)
    elif spec.label == "classes":
        labels = _class_indices(series, spec, parts)[:, None]
    elif spec.label == "values":
        if spec.label_column not in series.columns.columns:
            raise DataError(f"{series.symbol}: label column {spec.label_column!r} missing")
        labels = series.columns[[spec.label_column]].to_numpy(dtype=np.float32)
    else:
        labels = select_labels(series.labels, spec.label_columns())
    known = np.isfinite(labels).all(axis=1)
    ends = np.where(known, np.arange(n, dtype=np.int64) + h, -1)
    return labels, ends


def label_end_rows(series: Series, spec: DataSpec) -> np.ndarray:
    """``(n_rows,)`` int64: the last row each row's label reads (``-1`` where the row has no label).

    The one source of label spans: :func:`~neural_trader.data.check_label_ends`, the windows'
    ``label_ends`` and :func:`~neural_trader.data.window_spans` (the samples of purged k-fold and CPCV in
    :mod:`neural_trader.data.cv`, ``splits --kind`` and ``tune``) read it.

    Example:
        >>> label_end_rows(series, DataSpec(horizon=5))[:3]      # doctest: +SKIP
        array([5, 6, 7])
    """
    if spec.label == "forecast":
        known = np.arange(series.n_rows) + spec.horizon < series.n_rows
        return np.where(known, np.arange(series.n_rows, dtype=np.int64) + spec.horizon, -1)
    if spec.label == "classes":
        values = series.columns[spec.label_column].to_numpy(dtype=np.float64)
        known = np.isfinite(values)
        return np.where(known, np.arange(series.n_rows, dtype=np.int64) + spec.horizon, -1)
    return labels_and_ends(series, spec, None)[1]


def _forecast_labels(series: Series, spec: DataSpec, scaler: Scaler | None) -> np.ndarray:
    if scaler is None:
        raise ConfigError("forecast labels are standardised targets: a scaler is needed")
    mean, std = scaler.arrays()
    at = [scaler.columns.index(t) for t in spec.targets]
    z = (series.features[list(spec.targets)].to_numpy(dtype=np.float64) - mean[at]) / std[at]
    n, h = len(z), spec.horizon
    out = np.full((n, h, len(at)), np.nan)
    for k in range(1, h + 1):
        out[: n - k, k - 1] = z[k:]
    return out.reshape(n, -1).astype(np.float32)


def training_classes(
    spec: DataSpec, series: Sequence[Series], train_rows: Mapping[str, tuple[int, int]]
) -> list[int]:
    """The classes of your label column: its distinct values on the training windows' label rows.

    Raises:
        DataError: a value that is not an integer (naming symbol, row and value). ConfigError: fewer than
            two classes, or more than :data:`~neural_trader.data.spec.MAX_CLASSES`.
    """
    seen: set[int] = set()
    for s in series:
        if spec.label_column not in s.columns.columns:
            raise DataError(f"{s.symbol}: label column {spec.label_column!r} missing")
        start, stop = train_rows[s.symbol]
        values = s.columns[spec.label_column].to_numpy(dtype=np.float64)[start + spec.window - 1 : stop]
        values = values[np.isfinite(values)]
        fractional = np.flatnonzero(values != np.round(values))
        if fractional.size:
            raise DataError(
                f"{s.symbol}: label column {spec.label_column!r} holds {values[fractional[0]]:g}: classes "
                "must be integers (use --label values for a real-valued label)"
            )
        seen.update(int(v) for v in np.unique(values))
    if len(seen) < 2:
        raise ConfigError(
            f"label column {spec.label_column!r} holds {len(seen)} class(es) {sorted(seen)} on the training "
            "rows: a classifier needs at least two"
        )
    if len(seen) > MAX_CLASSES:
        raise ConfigError(
            f"label column {spec.label_column!r} holds {len(seen)} distinct values on the training rows, "
            f"more than {MAX_CLASSES} classes: use --label values for a real-valued label"
        )
    return sorted(seen)


def label_scaler(spec: DataSpec, y_train: np.ndarray) -> Scaler | None:
    """The standardisation of a regression label, fit on the training labels (``y_train[:, 0]``): a
    regression head learns ``(y - mean) / std`` and its outputs are mapped back to the label's units.
    None for other labels.

    Raises:
        DataError: no finite training label.

    Example:
        >>> s = label_scaler(DataSpec(label="forward_return"), np.array([[0.01], [0.03], [np.nan]]))
        >>> round(s.mean[0], 6), round(s.std[0], 6)
        (0.02, 0.01)
    """
    if not spec.is_regression:
        return None
    y = np.asarray(y_train, dtype=np.float64)[:, :1]
    y = y[np.isfinite(y[:, 0])]
    if len(y) == 0:
        raise DataError("no training window has a label")
    return Scaler.fit(np.ascontiguousarray(y), columns=spec.label_columns()[:1])
