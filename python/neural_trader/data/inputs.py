"""Which columns a model reads: a spec's input items resolved against the data, and the matrix of a
series' standardised input columns.

:func:`resolve_spec` turns the items of :attr:`DataSpec.inputs <neural_trader.data.DataSpec.inputs>`
(``features``, ``candles``, names, glob patterns) into an explicit, ordered column list, once, at train
time; the checkpoint stores that list, so ``evaluate`` and ``predict`` read exactly those columns. The
classes of a user class column are resolved at the same time, from the training rows alone.

Example:
    >>> spec = resolve_spec(DataSpec(inputs=["features", "sent_*"]), series, train_rows)  # doctest: +SKIP
    >>> spec.input_columns[-2:]                                                              # doctest: +SKIP
    ('sent_news', 'sent_social')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np

from neural_trader.data.candles import CANDLE_COLUMNS
from neural_trader.data.columns import matches
from neural_trader.data.features import FEATURE_NAMES
from neural_trader.data.series import Series
from neural_trader.data.spec import DataSpec
from neural_trader.data.targets import training_classes
from neural_trader.errors import ConfigError, DataError


def resolve_columns(spec: DataSpec, series: Sequence[Series]) -> list[str]:
    """The explicit, ordered input columns of ``spec`` for ``series``.

    Each item adds, in order: ``features`` the 28 built-in features, ``candles`` the 5 candle columns, a
    name or pattern the built-in features it matches then the user columns it matches (in file order,
    over all symbols). A column already added is not added again.

    Raises:
        ConfigError: an item matching nothing, or matching a built-in feature and a file column of the same
            name. DataError: a symbol lacking a column the items selected.
    """
    out: list[str] = []
    for item in spec.input_items:
        if item in ("features", "candles"):
            names = list(FEATURE_NAMES if item == "features" else CANDLE_COLUMNS)
        else:
            built_in = [f for f in FEATURE_NAMES if matches(f, item)]
            users: list[str] = []
            for s in series:
                users += [c for c in s.columns.columns if matches(c, item) and c not in users]
            users = [c for c in users if c != spec.label_column]
            clash = sorted(set(built_in) & set(users))
            if clash:
                raise ConfigError(
                    f"input {item!r} selects {clash[0]!r}, both a built-in feature and a column of the "
                    "bars file: rename the file's column"
                )
            names = built_in + users
            if not names:
                symbols = ", ".join(s.symbol for s in series)
                raise ConfigError(
                    f"input {item!r} matches no built-in feature and no numeric column of {symbols}"
                )
        out += [n for n in names if n not in out]
    for s in series:
        check_columns(s, [c for c in out if c not in FEATURE_NAMES and c not in CANDLE_COLUMNS])
    return out


def check_columns(series: Series, names: Sequence[str]) -> None:
    """Refuses a series that lacks one of your columns ``names``.

    Raises:
        DataError: naming the symbol (its file) and the column.
    """
    for name in names:
        if name not in series.columns.columns:
            raise DataError(f"{series.symbol}: column {name!r} missing; the model reads it as an input")


def resolve_spec(
    spec: DataSpec, series: Sequence[Series], train_rows: Mapping[str, tuple[int, int]]
) -> DataSpec:
    """``spec`` with its input columns and (label ``classes``) its classes resolved; the spec itself is
    not modified.

    Args:
        spec: the data spec as given.
        series: the symbols it is trained on.
        train_rows: ``{symbol: (start, stop)}`` training rows; the classes come from them alone.

    Raises:
        ConfigError, DataError: see :func:`resolve_columns` and
            :func:`~neural_trader.data.targets.training_classes`.
    """
    columns = resolve_columns(spec, series)
    classes = spec.classes
    if spec.label == "classes" and not classes:
        classes = training_classes(spec, series, train_rows)
    return replace(spec, columns=columns, classes=classes)


def input_matrix(series: Series, names: Sequence[str]) -> np.ndarray:
    """``(n_rows, len(names))`` float64 values of built-in features and your columns, in ``names`` order.

    Raises:
        DataError: a column of ``names`` that the series lacks.
    """
    if tuple(names) == FEATURE_NAMES:
        return series.features.to_numpy(dtype=np.float64)
    check_columns(series, [n for n in names if n not in FEATURE_NAMES])
    absent = [n for n in names if n in FEATURE_NAMES and n not in series.features.columns]
    if absent:
        raise DataError(f"{series.symbol}: feature {absent[0]!r} was not computed for this series")
    out = np.empty((series.n_rows, len(names)), dtype=np.float64)
    for k, name in enumerate(names):
        frame = series.features if name in FEATURE_NAMES else series.columns
        out[:, k] = frame[name].to_numpy(dtype=np.float64)
    return out
