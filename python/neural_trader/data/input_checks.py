"""Checks of a model's input columns before they reach the kernels, so that a bad value is reported as the
user sees it: the symbol, the column's name, the bar's timestamp, and what to look at.

The Rust kernels check their input too, but they see a bare ``(T, F)`` matrix and can only say "row 251,
column 18". Two failures are caught here first:

* a built-in feature that is NaN, infinite or beyond float32's range (extreme prices, e.g. ``1e300``,
  make ratios and spreads overflow): named with the most extreme price of the bars before it;
* a standardised value ``(x - mean) / std`` beyond float32's range: the scaler's std (from the training
  rows) is too small for that value, which is the scaler's fault, not the value's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from neural_trader.data.scaling import Scaler
from neural_trader.errors import DataError

if TYPE_CHECKING:
    from neural_trader.data.series import Series

#: The largest float32, the type of every window.
FLOAT32_MAX = float(np.finfo(np.float32).max)
#: Bars before a bad feature searched for the extreme price behind it (the longest lookback is 50).
_LOOKBACK = 60


def check_input_values(
    symbol: str, names: tuple[str, ...], values: np.ndarray, bars: pd.DataFrame, rows: tuple[int, int]
) -> None:
    """Checks that ``values[rows]`` (a series' input columns ``names``) are finite and within float32.

    Raises:
        DataError: e.g. ``goog: feature 'bb_percent_b_20' is nan at the bar of 2005-10-25 (series row
            251): computed from the bars up to it, the most extreme price among them being high 1e+300 on
            2005-10-24``.

    Example:
        >>> check_input_values("s", ("a",), np.ones((3, 1)), bars, (0, 3))   # doctest: +SKIP
    """
    start, stop = rows
    part = values[start:stop]
    bad = ~np.isfinite(part) | (np.abs(np.nan_to_num(part, nan=0.0)) > FLOAT32_MAX)
    if not bad.any():
        return
    r, c = (int(v) for v in np.argwhere(bad)[0])
    row, value = start + r, part[r, c]
    what = "beyond float32's range (3.4e38)" if np.isfinite(value) else ""
    stamp = _when(bars.index[row])
    raise DataError(
        f"{symbol}: input column {names[c]!r} is {value:.4g}{' ' + what if what else ''} at the bar of "
        f"{stamp} (series row {row}): computed from the bars up to it{_extreme_price(bars, row)}"
    )


def check_standardised(
    symbol: str, values: np.ndarray, scaler: Scaler, index: pd.Index, rows: tuple[int, int]
) -> None:
    """Checks that ``(values[rows] - mean) / std`` stays within float32's range for every column.

    Raises:
        DataError: naming the column, the bar, the value and the scaler's std, e.g. ``s: the scaler
            cannot standardise column 'imbalance' at the bar of 2020-03-02 (series row 40): (2.5 - 1) /
            1e-300 = 1.5e+300 is beyond float32's range: the std of the training rows (1e-300) is too
            small for this value``.
    """
    start, stop = rows
    part = values[start:stop]
    mean, std = scaler.arrays()
    with np.errstate(over="ignore", invalid="ignore"):
        z = (part - mean) * (1.0 / std)
    bad = ~(np.abs(z) <= FLOAT32_MAX)
    if not bad.any():
        return
    r, c = (int(v) for v in np.argwhere(bad)[0])
    row = start + r
    raise DataError(
        f"{symbol}: the scaler cannot standardise column {scaler.columns[c]!r} at the bar of "
        f"{_when(index[row])} (series row {row}): ({part[r, c]:.4g} - {mean[c]:.4g}) / {std[c]:.4g} = "
        f"{z[r, c]:.4g} is beyond float32's range: the scaler's std for this column ({std[c]:.4g}, from "
        "the training rows) is too small for this value"
    )


def _extreme_price(bars: pd.DataFrame, row: int) -> str:
    """``, the most extreme price among them being high 1e+300 on 2005-10-24`` (the price furthest
    from the median, in orders of magnitude), or nothing."""
    lo = max(0, row - _LOOKBACK)
    prices = bars[["open", "high", "low", "close"]].iloc[lo : row + 1].to_numpy(dtype=np.float64)
    if prices.size == 0 or not (prices > 0).all():
        return ""
    distance = np.abs(np.log10(prices) - np.log10(np.median(prices)))
    i, j = (int(v) for v in np.unravel_index(int(np.argmax(distance)), prices.shape))
    name = ("open", "high", "low", "close")[j]
    return (
        f", the most extreme price among them being {name} {prices[i, j]:.4g} on "
        f"{_when(bars.index[lo + i])}: check that bar"
    )


def _when(stamp: object) -> str:
    """The date alone for a bar at midnight, else date and time."""
    t = pd.Timestamp(stamp)
    return t.strftime("%Y-%m-%d") if t == t.normalize() else str(t)


def check_inputs(
    series: Series, names: tuple[str, ...], values: np.ndarray, scaler: Scaler | None, rows: tuple[int, int]
) -> None:
    """:func:`check_input_values`, then (with a ``scaler``) :func:`check_standardised`, on the rows
    ``rows`` of ``series``' input columns ``names`` (``values``, ``(T, len(names))``).

    Raises:
        DataError: see both.
    """
    check_input_values(series.symbol, names, values, series.bars, rows)
    if scaler is not None:
        check_standardised(series.symbol, values, scaler, series.index, rows)
