"""Causal features of OHLCV bars: returns, bar shape, volatility, volume and classic technical indicators.

**Causal** means the feature at row ``t`` is computed from rows ``<= t`` only: every operation is a
backward shift, a trailing rolling window or a recursive (``adjust=False``) exponential average; nothing is
centred, back-filled or normalised with statistics of the whole series. ``tests/data`` checks this on real
data by rewriting every row after ``t`` and requiring bit-identical features up to ``t``.

**Warm-up.** A feature is NaN on its first ``FEATURE_WARMUP[name]`` rows, while its lookback is not yet
filled, and finite afterwards for any frame that passed :func:`~neural_trader.data.validate_ohlcv`
(degenerate denominators, e.g. a flat 14-bar range, get the indicator's neutral value instead of NaN/Inf).
With all features the warm-up is 49 rows (``sma_ratio_50``); :func:`make_features` can drop them.

The features (``c, o, h, l, v`` = close, open, high, low, volume; scales as in the textbooks, because a
:class:`~neural_trader.data.Scaler` standardises them anyway):

==================== ======= ==========================================================================
name                 warm-up definition
==================== ======= ==========================================================================
``return``           1       ``c_t / c_{t-1} - 1``
``log_return``       1       ``log(c_t / c_{t-1})``
``log_return_5``     5       ``log(c_t / c_{t-5})``
``log_return_20``    20      ``log(c_t / c_{t-20})``
``gap``              1       ``o_t / c_{t-1} - 1`` (overnight gap)
``range``            0       ``(h - l) / c``
``body``             0       ``(c - o) / o``
``upper_shadow``     0       ``(h - max(o, c)) / c``
``lower_shadow``     0       ``(min(o, c) - l) / c``
``close_location``   0       ``(c - l) / (h - l)``, 0.5 when ``h == l``
``volatility_20``    20      sample std (ddof 1) of the last 20 ``log_return``
``volume_change``    1       ``log1p(v_t) - log1p(v_{t-1})``
``volume_zscore_20`` 19      ``(v - mean_20(v)) / std_20(v)`` (ddof 0), 0 when the std is 0
``rsi_14``           13      Wilder RSI (0..100) as ``ta.momentum.RSIIndicator``, 50 with no move
``ppo``              25      MACD in percent of the slow EMA: ``100 (ema_12 - ema_26) / ema_26``
``ppo_signal``       33      ``ema_9(ppo)``
``ppo_hist``         33      ``ppo - ppo_signal``
``atr_pct_14``       13      Wilder ATR (14) in percent of ``c``, as ``ta.volatility.AverageTrueRange``
``bb_percent_b_20``  19      Bollinger %B (20, 2 std, ddof 0), 0.5 when the bands touch
``bb_width_20``      19      Bollinger band width in percent of the middle band
``stoch_k_14``       13      stochastic %K (0..100), 50 when the 14-bar range is 0
``stoch_d_3``        15      ``sma_3(stoch_k_14)``
``williams_r_14``    13      Williams %R (-100..0), -50 when the 14-bar range is 0
``cci_20``           19      commodity channel index (constant 0.015), 0 when the mean deviation is 0
``roc_10``           10      ``100 (c_t / c_{t-10} - 1)``
``mfi_14``           13      money flow index (0..100), 100 without outflow, 50 without any flow
``sma_ratio_10``     9       ``c / sma_10(c) - 1``
``sma_ratio_50``     49      ``c / sma_50(c) - 1``
==================== ======= ==========================================================================

EMAs are ``ewm(span=n, adjust=False)`` and Wilder averages ``ewm(alpha=1/n, adjust=False)``, the
conventions of the ``ta`` package, against which the indicators are tested.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from neural_trader.data.io import validate_ohlcv
from neural_trader.errors import ConfigError, ShapeError

#: Leading NaN rows of each feature (its warm-up), in the order :func:`make_features` returns them.
FEATURE_WARMUP: dict[str, int] = {
    "return": 1,
    "log_return": 1,
    "log_return_5": 5,
    "log_return_20": 20,
    "gap": 1,
    "range": 0,
    "body": 0,
    "upper_shadow": 0,
    "lower_shadow": 0,
    "close_location": 0,
    "volatility_20": 20,
    "volume_change": 1,
    "volume_zscore_20": 19,
    "rsi_14": 13,
    "ppo": 25,
    "ppo_signal": 33,
    "ppo_hist": 33,
    "atr_pct_14": 13,
    "bb_percent_b_20": 19,
    "bb_width_20": 19,
    "stoch_k_14": 13,
    "stoch_d_3": 15,
    "williams_r_14": 13,
    "cci_20": 19,
    "roc_10": 10,
    "mfi_14": 13,
    "sma_ratio_10": 9,
    "sma_ratio_50": 49,
}
FEATURE_NAMES: tuple[str, ...] = tuple(FEATURE_WARMUP)
#: Rows of the CCI's mean deviation computed at a time (each row is computed on its own: same bits).
_CCI_BLOCK_ROWS = 65536


def feature_warmup(columns: Sequence[str] = FEATURE_NAMES) -> int:
    """Rows to drop from the start so that every feature in ``columns`` is defined.

    Example:
        >>> feature_warmup()
        49
        >>> feature_warmup(["log_return", "rsi_14"])
        13
    """
    _check_names(columns)
    return max(FEATURE_WARMUP[name] for name in columns)


def make_features(
    bars: pd.DataFrame, *, columns: Sequence[str] | None = None, drop_warmup: bool = False
) -> pd.DataFrame:
    """Computes causal features of validated OHLCV bars.

    Args:
        bars: OHLCV bars; validated with :func:`~neural_trader.data.validate_ohlcv` (NaN raises).
        columns: feature names to compute, default all of :data:`FEATURE_NAMES` in that order.
        drop_warmup: drop the first :func:`feature_warmup` rows, so every value is finite.

    Returns:
        A float64 frame on the bars' index (or its tail when ``drop_warmup``) with one column per feature.

    Raises:
        DataError: invalid bars. ConfigError: an unknown feature name.

    Example:
        >>> feats = make_features(load_ohlcv("sp500_daily.csv"), drop_warmup=True)   # doctest: +SKIP
        >>> bool(np.isfinite(feats.to_numpy()).all())                                 # doctest: +SKIP
        True
    """
    names = tuple(FEATURE_NAMES if columns is None else columns)
    _check_names(names)
    out = feature_frame(validate_ohlcv(bars), names)
    return out.iloc[feature_warmup(names) :] if drop_warmup else out


def feature_frame(
    valid: pd.DataFrame, names: Sequence[str] = FEATURE_NAMES, *, out: np.ndarray | None = None
) -> pd.DataFrame:
    """:func:`make_features` of bars that :func:`~neural_trader.data.validate_ohlcv` already returned (as
    :func:`~neural_trader.data.series_from_bars` has them), without validating (copying) them again.

    The frame views one C-contiguous ``(rows, F)`` float64 array, so ``frame.to_numpy()`` is that array
    (what the window kernels read in place), and each feature's pandas intermediates are freed before the
    next feature is computed.

    Args:
        valid: validated bars.
        names: the features, in order.
        out: the C-contiguous float64 ``(rows, F)`` array to fill and view, e.g. one block of rows of a
            matrix that holds several symbols (:func:`~neural_trader.data.load_series` does so).

    Raises:
        ConfigError: an unknown feature name. ShapeError: ``out`` of another shape or layout.

    Example:
        >>> feats = feature_frame(validate_ohlcv(bars), ["log_return", "rsi_14"])   # doctest: +SKIP
        >>> feats.to_numpy().flags.c_contiguous                                     # doctest: +SKIP
        True
    """
    _check_names(names)
    shape = (len(valid), len(names))
    if out is None:
        values = np.empty(shape, dtype=np.float64)
    elif out.shape != shape or out.dtype != np.float64 or not out.flags.c_contiguous:
        raise ShapeError(f"out must be a C-contiguous float64 array of shape {shape}")
    else:
        values = out
    for k, name in enumerate(names):
        values[:, k] = _FEATURES[name](valid).to_numpy(dtype=np.float64)
    return pd.DataFrame(values, index=valid.index, columns=list(names), copy=False)


def _check_names(names: Sequence[str]) -> None:
    if isinstance(names, str) or len(names) == 0:
        raise ConfigError(f"feature columns must be a non-empty sequence of names, got {names!r}")
    unknown = [name for name in names if name not in FEATURE_WARMUP]
    if unknown:
        raise ConfigError(f"unknown feature {unknown[0]!r}; known features: {', '.join(FEATURE_NAMES)}")
    if len(set(names)) != len(names):
        raise ConfigError(f"feature columns repeat a name: {list(names)}")


# The features below free each intermediate series as soon as it is used (del): on millions of rows a
# feature then needs a few columns of working memory, not ten. The operations, and so the bits, are the
# same as when written as one expression.


def _safe_ratio(num: pd.Series, den: pd.Series, neutral: float) -> pd.Series:
    """``num / den``, or ``neutral`` where ``den`` is 0; NaN stays NaN (warm-up)."""
    nonzero = den != 0
    ratio = (num / den.where(nonzero)).where(nonzero, neutral)
    return ratio.where(num.notna() & den.notna())


def _ema(series: pd.Series, span: int) -> pd.Series:
    return series.ewm(span=span, min_periods=span, adjust=False).mean()


def _wilder(series: pd.Series, window: int) -> pd.Series:
    return series.ewm(alpha=1 / window, min_periods=window, adjust=False).mean()


def _log_return(bars: pd.DataFrame, lag: int) -> pd.Series:
    return np.log(bars.close / bars.close.shift(lag))


def _volatility(bars: pd.DataFrame) -> pd.Series:
    return _log_return(bars, 1).rolling(20).std()


def _volume_zscore(bars: pd.DataFrame) -> pd.Series:
    rolling = bars.volume.rolling(20)
    return _safe_ratio(bars.volume - rolling.mean(), rolling.std(ddof=0), 0.0)


def _rsi(bars: pd.DataFrame) -> pd.Series:
    diff = bars.close.diff()
    # diff is NaN on row 0; like ta, that row counts as "no move", which fixes the warm-up at 13.
    avg_up = _wilder(diff.where(diff > 0, 0.0), 14)
    avg_down = _wilder(-diff.where(diff < 0, 0.0), 14)
    del diff
    moved, known = (avg_up + avg_down) != 0, avg_up.notna()
    rsi = 100 - 100 / (1 + _safe_ratio(avg_up, avg_down, np.inf))
    # No move at all in the lookback: neither overbought nor oversold (ta would say 100).
    return rsi.where(moved, 50.0).where(known)


def _ppo(bars: pd.DataFrame) -> pd.Series:
    slow = _ema(bars.close, 26)
    return 100 * (_ema(bars.close, 12) - slow) / slow


def _ppo_signal(bars: pd.DataFrame) -> pd.Series:
    return _ema(_ppo(bars), 9)


def _true_range(bars: pd.DataFrame) -> pd.Series:
    high, low = bars.high.to_numpy(), bars.low.to_numpy()
    prev_close = bars.close.shift(1).to_numpy()
    # fmax skips the NaN of row 0, where the true range is just high - low.
    out = high - low
    np.fmax(out, np.abs(high - prev_close), out=out)
    np.fmax(out, np.abs(low - prev_close), out=out)
    return pd.Series(out, index=bars.index)


def _atr_pct(bars: pd.DataFrame) -> pd.Series:
    seeded = _true_range(bars)
    # Wilder's ATR seeds with the mean of the first 14 true ranges, then recurses with alpha = 1/14.
    first = seeded.iloc[:14].mean()
    seeded.iloc[:13] = np.nan
    seeded.iloc[13:14] = first
    atr = seeded.ewm(alpha=1 / 14, adjust=False, ignore_na=True).mean()
    del seeded
    return 100 * atr / bars.close


def _bollinger(bars: pd.DataFrame) -> tuple[pd.Series, pd.Series, pd.Series]:
    rolling = bars.close.rolling(20)
    middle, std = rolling.mean(), rolling.std(ddof=0)
    return middle, middle + 2 * std, middle - 2 * std


def _percent_b(bars: pd.DataFrame) -> pd.Series:
    middle, upper, lower = _bollinger(bars)
    del middle
    width = upper - lower
    del upper
    above = bars.close - lower
    del lower
    return _safe_ratio(above, width, 0.5)


def _band_width(bars: pd.DataFrame) -> pd.Series:
    middle, upper, lower = _bollinger(bars)
    width = upper - lower
    del upper, lower
    return 100 * width / middle


def _stoch_k(bars: pd.DataFrame) -> pd.Series:
    low, high = bars.low.rolling(14).min(), bars.high.rolling(14).max()
    above, span = bars.close - low, high - low
    del low, high
    return 100 * _safe_ratio(above, span, 0.5)


def _williams_r(bars: pd.DataFrame) -> pd.Series:
    low, high = bars.low.rolling(14).min(), bars.high.rolling(14).max()
    below, span = high - bars.close, high - low
    del low, high
    return -100 * _safe_ratio(below, span, 0.5)


def _mean_deviation(values: np.ndarray, n: int) -> np.ndarray:
    """Mean absolute deviation from the mean of the trailing ``n`` values (NaN on the first ``n - 1``)."""
    out = np.full(len(values), np.nan)
    if len(values) >= n:
        windows = sliding_window_view(values, n)  # trailing windows: row t sees rows t-n+1..t
        # A block of rows at a time: the deviations of all windows at once would take n columns.
        for lo in range(0, len(windows), _CCI_BLOCK_ROWS):
            block = windows[lo : lo + _CCI_BLOCK_ROWS]
            out[n - 1 + lo : n - 1 + lo + len(block)] = np.abs(
                block - block.mean(axis=1, keepdims=True)
            ).mean(axis=1)
    return out


def _cci(bars: pd.DataFrame) -> pd.Series:
    typical = (bars.high + bars.low + bars.close) / 3
    scale = 0.015 * pd.Series(_mean_deviation(typical.to_numpy(), 20), index=bars.index)
    above = typical - typical.rolling(20).mean()
    del typical
    return _safe_ratio(above, scale, 0.0)


def _mfi(bars: pd.DataFrame) -> pd.Series:
    typical = (bars.high + bars.low + bars.close) / 3
    prev = typical.shift(1)
    rising, falling = typical > prev, typical < prev
    flow = typical * bars.volume
    del typical, prev
    # Row 0 has no previous price, so its flow counts as neither in nor out (as in ta).
    inflow = flow.where(rising, 0.0).rolling(14).sum()
    outflow = flow.where(falling, 0.0).rolling(14).sum()
    del flow, rising, falling
    flowing, known = (inflow + outflow) != 0, inflow.notna()
    mfi = 100 - 100 / (1 + _safe_ratio(inflow, outflow, np.inf))
    return mfi.where(flowing, 50.0).where(known)


def _ppo_hist(bars: pd.DataFrame) -> pd.Series:
    ppo = _ppo(bars)
    return ppo - _ema(ppo, 9)  # ppo - ppo_signal, the PPO computed once


def _sma_ratio(bars: pd.DataFrame, window: int) -> pd.Series:
    return bars.close / bars.close.rolling(window).mean() - 1


_FEATURES: dict[str, Callable[[pd.DataFrame], pd.Series]] = {
    "return": lambda b: b.close / b.close.shift(1) - 1,
    "log_return": lambda b: _log_return(b, 1),
    "log_return_5": lambda b: _log_return(b, 5),
    "log_return_20": lambda b: _log_return(b, 20),
    "gap": lambda b: b.open / b.close.shift(1) - 1,
    "range": lambda b: (b.high - b.low) / b.close,
    "body": lambda b: (b.close - b.open) / b.open,
    "upper_shadow": lambda b: (b.high - np.maximum(b.open, b.close)) / b.close,
    "lower_shadow": lambda b: (np.minimum(b.open, b.close) - b.low) / b.close,
    "close_location": lambda b: _safe_ratio(b.close - b.low, b.high - b.low, 0.5),
    "volatility_20": _volatility,
    "volume_change": lambda b: np.log1p(b.volume).diff(),
    "volume_zscore_20": _volume_zscore,
    "rsi_14": _rsi,
    "ppo": _ppo,
    "ppo_signal": _ppo_signal,
    "ppo_hist": _ppo_hist,
    "atr_pct_14": _atr_pct,
    "bb_percent_b_20": _percent_b,
    "bb_width_20": _band_width,
    "stoch_k_14": _stoch_k,
    "stoch_d_3": lambda b: _stoch_k(b).rolling(3).mean(),
    "williams_r_14": _williams_r,
    "cci_20": _cci,
    "roc_10": lambda b: 100 * (b.close / b.close.shift(10) - 1),
    "mfi_14": _mfi,
    "sma_ratio_10": lambda b: _sma_ratio(b, 10),
    "sma_ratio_50": lambda b: _sma_ratio(b, 50),
}
