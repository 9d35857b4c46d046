"""Candle windows made scale-free: the model input that reads any market at any price level.

Raw OHLC(V) windows cannot be standardised by one scaler across symbols and decades (a price of 100 in
1999 and 4,000 in 2021 are the same kind of bar), and augmentation (time warp, jitter, volatility scaling)
works on raw candles. :func:`relative_candles` turns raw windows into inputs after augmentation, using
nothing outside the window itself, so it is causal by construction and needs no fitted statistics.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neural_trader.errors import DataError, ShapeError

#: The columns of a candle window, in order.
CANDLE_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close", "volume")


def relative_candles(windows: np.ndarray) -> np.ndarray:
    """Scale-free model inputs from OHLC(V) candle windows: log prices relative to the window's last close
    and, with volume, ``log1p(volume)`` minus its window mean. Shape ``(N, T, 4 or 5)``, float32.

    Every window then lives on one scale whatever the price level, so an encoder pre-trained on one
    market and period can read another.

    Raises:
        ShapeError: not ``(N, T, 4 or 5)``. DataError: a non-finite or non-positive price.

    Example:
        >>> w = np.array([[[100.0, 101.0, 99.0, 100.0], [100.0, 102.0, 99.0, 101.0]]])
        >>> relative_candles(w)[0, :, 3].tolist()  # closes relative to the last one
        [-0.00995033048093319, 0.0]
    """
    x = np.asarray(windows, dtype=np.float64)
    if x.ndim != 3 or x.shape[2] not in (4, 5):
        raise ShapeError(f"windows must be (N, T, 4 or 5) OHLC(V) candles, got shape {x.shape}")
    if not np.isfinite(x).all() or (x[..., :4] <= 0).any():
        raise DataError("candle prices must be finite and > 0")
    out = np.log(x[..., :4] / x[:, -1:, 3:4])
    if x.shape[2] == 5:
        v = np.log1p(np.maximum(x[..., 4:5], 0.0))
        out = np.concatenate([out, v - v.mean(axis=1, keepdims=True)], axis=2)
    return out.astype(np.float32)


@dataclass(frozen=True)
class RelativeCandles:
    """:func:`relative_candles` applied to the candle columns of ``(N, T, F)`` windows, in place; the other
    columns are left as they are. The transform of gathered windows whose inputs hold candles (equal
    transforms let the windows of several symbols be pooled).

    Attributes:
        columns: positions of the OHLC(V) columns, in that order; empty: every column is a candle column.

    Example:
        >>> w = np.array([[[7.0, 100.0, 101.0, 99.0, 100.0], [8.0, 100.0, 102.0, 99.0, 101.0]]], np.float32)
        >>> RelativeCandles((1, 2, 3, 4))(w)[0, :, [0, 4]].tolist()
        [[7.0, 8.0], [-0.00995033048093319, 0.0]]
    """

    columns: tuple[int, ...] = ()

    def __call__(self, windows: np.ndarray) -> np.ndarray:
        if not self.columns:
            return relative_candles(windows)
        at = list(self.columns)
        windows[:, :, at] = relative_candles(windows[:, :, at])
        return windows
