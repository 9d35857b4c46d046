"""Trading the predictions: a long/flat/short equity curve with transaction costs, next to buy-and-hold.

A prediction made at the close of bar ``e`` (the last bar of its window) sets the position held from
``e`` to ``e + 1``, and earns that bar's simple return ``r = c_{e+1} / c_e - 1``: the decision uses nothing
after ``e``. Positions come from the probability of "up": long above ``0.5 + band``, short below
``0.5 - band``, flat in between. With ``k > 2`` classes (``down, flat, up`` or your classes, lowest to
highest) the predicted class decides: long on the last ("up"), short on the first ("down"), flat on any
other, and flat when its probability leads the runner-up's by ``2 * band`` or less (for two classes this
is the same rule). Every change of position costs ``cost_bps`` basis points per unit
traded (going from long to short trades 2 units), charged on the bar where it happens. Buy-and-hold pays
one unit on entry. Returns compound: ``equity_t = prod_{s <= t} (1 + pos_s r_s - cost_s)``.

This is a sanity check of whether a classifier's calls are worth anything after costs, not a backtest
engine: no slippage model, no position sizing, no borrow costs for shorts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neural_trader.errors import ConfigError, ShapeError


def positions_from_proba(p_up: np.ndarray, band: float = 0.0) -> np.ndarray:
    """Positions ``+1`` (long), ``0`` (flat) or ``-1`` (short) from the probability of "up".

    Example:
        >>> positions_from_proba(np.array([0.9, 0.52, 0.5, 0.3]), band=0.05).tolist()
        [1, 0, 0, -1]
    """
    if not 0.0 <= band < 0.5:
        raise ConfigError(f"band must be in [0, 0.5), got {band!r}")
    p = np.asarray(p_up, dtype=np.float64)
    return np.where(p > 0.5 + band, 1, np.where(p < 0.5 - band, -1, 0)).astype(np.int64)


def class_positions(proba: np.ndarray, band: float = 0.0) -> np.ndarray:
    """Positions from ``(N, k)`` class probabilities, classes ordered from "down" to "up": ``+1`` when the
    last class is predicted, ``-1`` for the first, ``0`` otherwise or when the top probability leads the
    runner-up by ``2 * band`` or less.

    Example:
        >>> p = np.array([[0.2, 0.2, 0.6], [0.5, 0.3, 0.2], [0.3, 0.4, 0.3], [0.35, 0.3, 0.35]])
        >>> class_positions(p).tolist()
        [1, -1, 0, 0]
    """
    if not 0.0 <= band < 0.5:
        raise ConfigError(f"band must be in [0, 0.5), got {band!r}")
    p = np.asarray(proba, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] < 2:
        raise ShapeError(f"class probabilities must be (N, k >= 2), got shape {p.shape}")
    top2 = np.sort(p, axis=1)[:, -2:]
    decided = top2[:, 1] - top2[:, 0] > 2 * band
    predicted = p.argmax(axis=1)
    pos = np.where(predicted == p.shape[1] - 1, 1, np.where(predicted == 0, -1, 0))
    return np.where(decided, pos, 0).astype(np.int64)


def net_returns(positions: np.ndarray, returns: np.ndarray, cost_bps: float) -> np.ndarray:
    """Per-bar strategy returns after costs (the position before the first bar is flat).

    Example:
        >>> net_returns(np.array([1, 1, -1]), np.array([0.01, -0.02, 0.03]), cost_bps=10).round(4).tolist()
        [0.009, -0.02, -0.032]
    """
    pos = np.asarray(positions, dtype=np.float64)
    r = np.asarray(returns, dtype=np.float64)
    if pos.shape != r.shape or pos.ndim != 1:
        raise ShapeError(f"positions and returns must be (N,) alike, got {pos.shape} and {r.shape}")
    if not (np.isfinite(cost_bps) and cost_bps >= 0):
        raise ConfigError(f"cost_bps must be finite and >= 0, got {cost_bps!r}")
    if not np.isfinite(r).all():
        raise ShapeError("returns contain NaN or Inf (a window without a next bar?)")
    turnover = np.abs(np.diff(pos, prepend=0.0))
    return pos * r - turnover * cost_bps / 1e4


@dataclass(frozen=True)
class EquityStats:
    """Summary of one equity curve.

    Attributes:
        total_return: final equity - 1.
        annual_return: compound annual growth rate.
        annual_volatility: standard deviation of bar returns times ``sqrt(periods_per_year)``.
        sharpe: mean over standard deviation of bar returns, annualised (no risk-free rate).
        max_drawdown: largest fall from a running peak, as a positive fraction.
        turnover: mean units traded per bar.
        long_share, short_share: shares of bars held long and short.
    """

    total_return: float
    annual_return: float
    annual_volatility: float
    sharpe: float
    max_drawdown: float
    turnover: float
    long_share: float
    short_share: float

    def to_dict(self) -> dict[str, float]:
        return dict(self.__dict__)


def equity_stats(positions: np.ndarray, net: np.ndarray, periods_per_year: float) -> EquityStats:
    """Statistics of the curve made of per-bar net returns ``net``.

    Example:
        >>> s = equity_stats(np.ones(4), np.array([0.1, -0.5, 0.0, 1.0]), periods_per_year=4)
        >>> round(s.total_return, 3), round(s.max_drawdown, 3)
        (0.1, 0.5)
    """
    net = np.asarray(net, dtype=np.float64)
    pos = np.asarray(positions, dtype=np.float64)
    equity = np.cumprod(1.0 + net)
    total = float(equity[-1] - 1.0)
    years = len(net) / periods_per_year
    annual = float(equity[-1] ** (1.0 / years) - 1.0) if equity[-1] > 0 else -1.0
    std = float(np.std(net, ddof=1)) if len(net) > 1 else 0.0
    sharpe = float(np.mean(net) / std * np.sqrt(periods_per_year)) if std > 0 else 0.0
    peak = np.maximum.accumulate(np.concatenate([[1.0], equity]))[1:]
    return EquityStats(
        total_return=total,
        annual_return=annual,
        annual_volatility=std * float(np.sqrt(periods_per_year)),
        sharpe=sharpe,
        max_drawdown=float(np.max(1.0 - equity / peak)),
        turnover=float(np.mean(np.abs(np.diff(pos, prepend=0.0)))),
        long_share=float(np.mean(pos > 0)),
        short_share=float(np.mean(pos < 0)),
    )


def periods_per_year(dates: np.ndarray) -> float:
    """Bars per year of a time-ordered date array: bars over the span in years (252-ish for daily
    equity bars, whatever the weekends and holidays).

    Example:
        >>> import pandas as pd
        >>> round(periods_per_year(pd.bdate_range("2020-01-01", "2021-12-31").to_numpy()))
        261
    """
    d = np.asarray(dates, dtype="datetime64[ns]")
    if len(d) < 2:
        return 252.0
    years = (d[-1] - d[0]) / np.timedelta64(1, "D") / 365.25
    return float((len(d) - 1) / years) if years > 0 else 252.0


@dataclass(frozen=True)
class EquityCurves:
    """The equity curves of several strategies over the same bars.

    Attributes:
        dates: bar dates ``(N,)`` (the decision times).
        equity: ``{name: (N,) equity, starting from 1 before the first bar}``.
        stats: ``{name: EquityStats}``.
        cost_bps, band: the settings used.
    """

    dates: np.ndarray
    equity: dict[str, np.ndarray]
    stats: dict[str, EquityStats]
    cost_bps: float
    band: float


def equity_curves(
    p_up: dict[str, np.ndarray],
    returns: np.ndarray,
    dates: np.ndarray,
    *,
    cost_bps: float = 1.0,
    band: float = 0.0,
    bars_per_year: float | None = None,
) -> EquityCurves:
    """Long/flat/short curves for every predictor, and buy-and-hold (key ``"buy_and_hold"``).

    Args:
        p_up: ``{name: (N,) probability of up}`` per predictor, over the same bars; or ``(N, k)`` class
            probabilities of ``k > 2`` classes (:func:`class_positions`).
        returns: ``(N,)`` simple return of the bar after each decision.
        dates: ``(N,)`` decision dates, in time order.
        cost_bps: cost per unit traded, in basis points.
        band: half-width of the flat zone around 0.5.
        bars_per_year: annualisation; default from ``dates``.

    Example:
        >>> c = equity_curves({"m": np.array([0.9, 0.1])}, np.array([0.1, -0.1]), np.array([0, 1]),
        ...                   cost_bps=0, bars_per_year=2)
        >>> round(c.stats["m"].total_return, 2), round(c.stats["buy_and_hold"].total_return, 2)
        (0.21, -0.01)
    """
    ppy = bars_per_year if bars_per_year is not None else periods_per_year(dates)
    equity, stats = {}, {}
    positions = {
        name: class_positions(p, band) if np.ndim(p) == 2 else positions_from_proba(p, band)
        for name, p in p_up.items()
    }
    positions["buy_and_hold"] = np.ones(len(returns), dtype=np.int64)
    for name, pos in positions.items():
        net = net_returns(pos, returns, cost_bps)
        equity[name] = np.cumprod(1.0 + net)
        stats[name] = equity_stats(pos, net, ppy)
    return EquityCurves(np.asarray(dates), equity, stats, cost_bps, band)
