"""Triple-barrier labels (López de Prado, *Advances in Financial Machine Learning*, 2018, section 3.4),
computed by a Rust kernel (``crates/nt-core/src/kernels/barriers.rs``); exported as
:func:`neural_trader.kernels.triple_barrier`.

A label says which of three barriers the price reaches first after an event: an upper and a lower barrier
set in units of the volatility at the event, and a vertical barrier ``horizon`` bars later. The row where
that happens (``t1``) is the label's true end: splits and embargoes must keep every training label's
``t1`` before the first validation input, not just ``e + horizon``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from neural_trader import _core
from neural_trader._kernel_args import count, real
from neural_trader.arrays import as_real_array as as_array
from neural_trader.errors import ConfigError


def triple_barrier(
    close: npt.ArrayLike,
    sigma: npt.ArrayLike,
    horizon: int,
    upper: float | None = 1.0,
    lower: float | None = 1.0,
    vertical: str = "zero",
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Labels every row ``e`` by the first barrier its future closes reach.

    With ``x = log(close)`` (float64) and for each event row ``e``: the upper barrier is
    ``x[e] + upper * sigma[e]``, the lower barrier ``x[e] - lower * sigma[e]``, the vertical barrier row
    ``e + horizon``. Rows ``e + 1 ..= e + horizon`` are scanned in order; the first with
    ``x[t] >= upper barrier`` gives ``+1``, the first with ``x[t] <= lower barrier`` gives ``-1``. One row
    never reaches both (the barriers lie strictly on either side of ``x[e]``). If neither is reached, the
    vertical barrier decides: ``0`` with ``vertical="zero"``, or with ``vertical="sign"`` the sign of
    ``x[e + horizon] - x[e]`` (``0`` when exactly flat).

    The label is unknown (``label`` NaN, ``t1 = -1``, ``ret`` NaN) when ``sigma[e]`` is NaN or ``<= 0``
    (the usual warm-up rows of a rolling volatility, flat prices; set ``sigma`` to NaN to skip an event),
    when ``upper * sigma[e]`` or ``lower * sigma[e]`` is too small to move the barrier off ``x[e]`` in
    float64 (below about ``1e-16 * |x[e]|``), or when no barrier is reached and ``e + horizon`` lies past
    the last row: the label's span is not complete. A barrier reached before the data ends is known even
    when ``e + horizon`` is past the end, since later closes cannot change which barrier came first.

    ``sigma`` must be causal, known at the close of row ``e``: for instance the rolling standard
    deviation of one-bar log returns up to and including ``e``:
    ``np.log(close).diff().rolling(20).std()`` in pandas.

    Args:
        close: ``(T,)`` closes, finite and ``> 0`` (converted to float64).
        sigma: ``(T,)`` volatility of log returns per row (float64); NaN or ``<= 0`` leaves that row
            unlabelled.
        horizon: bars to the vertical barrier, ``>= 1`` (any size: a huge horizon only waits for the
            horizontal barriers).
        upper: multiplier of ``sigma`` for the upper barrier, finite and ``>= 0``; ``0`` or ``None``
            disables it.
        lower: multiplier of ``sigma`` for the lower barrier, finite and ``>= 0``; ``0`` or ``None``
            disables it.
        vertical: ``"zero"`` or ``"sign"``, the label when the vertical barrier decides.

    Returns:
        ``(label, t1, ret)``: ``(T,)`` float32 labels in ``{-1, 0, +1}`` or NaN; ``(T,)`` int64 rows whose
        close decided the label (the barrier row or ``e + horizon``), ``-1`` when unknown; ``(T,)``
        float64 log returns ``x[t1] - x[e]``, NaN when unknown.

    Raises:
        ShapeError: ``close`` or ``sigma`` not 1-D, or of different lengths.
        ConfigError: ``horizon < 1``; a negative, NaN or infinite multiplier; an unknown ``vertical``.
        DataError: a close that is not finite or not ``> 0``, or an infinite sigma (names the row);
            unsupported dtypes.

    Example:
        >>> close = np.array([100.0, 101.0, 103.0, 99.0, 100.0])
        >>> label, t1, ret = triple_barrier(close, np.full(5, 0.01), horizon=2, upper=2, lower=2)
        >>> label.tolist(), t1.tolist()
        ([1.0, -1.0, -1.0, nan, nan], [2, 3, 3, -1, -1])
    """
    close_arr = as_array(close, "close", 1, "(T,)", dtype=np.float64)
    sigma_arr = as_array(sigma, "sigma", 1, "(T,)", dtype=np.float64)
    if not isinstance(vertical, str):
        raise ConfigError(f"vertical must be 'zero' or 'sign', got {vertical!r}")
    return _core.triple_barrier(
        close_arr,
        sigma_arr,
        count(horizon, "horizon"),
        None if upper is None else real(upper, "upper"),
        None if lower is None else real(lower, "lower"),
        vertical,
    )


__all__ = ["triple_barrier"]
