"""Forward-looking labels: direction and a volatility-scaled trend score per horizon.

Labels are aligned with the row where a window **ends**: the label at row ``e`` is the target of the
window whose last row is ``e``, and it reads the close at ``e`` and the close at ``e + h`` only (the
first row it reads that the window has not seen is ``e + 1``; the last is ``e + h``). The last ``h`` rows
have no future, so their labels are NaN: never filled, never guessed. Consumers drop or mask them
(:class:`~neural_trader.data.WindowDataset` drops windows with a NaN label by default).

For a horizon ``h`` (in bars) and the forward log return ``r = log(c_{e+h} / c_e)``:

* ``direction_{h}``: ``1.0`` if ``r > 0`` else ``0.0`` (a flat close counts as "not up"). With
  ``dead_zone > 0``, moves with ``|r| < dead_zone`` are too small to call: NaN (excluded).
* ``trend_{h}``: ``tanh(r / (sigma_e * sqrt(h)))`` in ``(-1, 1)``, where ``sigma_e`` is the sample std
  (ddof 1) of the last ``vol_window`` one-bar log returns up to and including row ``e``. Dividing by
  ``sigma_e * sqrt(h)``, the random-walk size of an ``h``-bar move, makes scores comparable across
  calm and wild periods and across horizons: a one-sigma move scores ``tanh(1) = 0.76``. ``sigma_e``
  uses rows ``<= e`` only, so the scale is known when the prediction is made. NaN while ``sigma_e`` is
  undefined (the first ``vol_window`` rows) or 0 (flat prices).
* ``forward_return_{h}``: ``r`` itself, for regression targets and for evaluating trading rules.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from neural_trader.data.io import validate_ohlcv
from neural_trader.errors import ConfigError
from neural_trader.validation import integer, real

DEFAULT_HORIZONS: tuple[int, ...] = (1, 7, 30)


def make_labels(
    bars: pd.DataFrame,
    *,
    horizons: Sequence[int] = DEFAULT_HORIZONS,
    dead_zone: float = 0.0,
    vol_window: int = 20,
) -> pd.DataFrame:
    """Computes direction, trend and forward-return labels for each horizon, aligned to window ends.

    Args:
        bars: OHLCV bars; validated with :func:`~neural_trader.data.validate_ohlcv`.
        horizons: horizons in bars, each ``>= 1``, no repeats.
        dead_zone: moves with ``|log return| < dead_zone`` get a NaN direction (``0`` keeps all moves).
        vol_window: bars in the trailing volatility that scales the trend score, ``>= 2``.

    Returns:
        A float64 frame on the bars' index with columns ``direction_{h}`` for every horizon, then
        ``trend_{h}``, then ``forward_return_{h}``. Row ``e`` holds the labels of the window ending at
        ``e``; the last ``h`` rows of each horizon's columns are NaN.

    Raises:
        DataError: invalid bars. ConfigError: a bad horizon, dead zone or volatility window.

    Example:
        >>> labels = make_labels(bars, horizons=(1, 7))       # doctest: +SKIP
        >>> labels.columns.tolist()                           # doctest: +SKIP
        ['direction_1', 'direction_7', 'trend_1', 'trend_7', 'forward_return_1', 'forward_return_7']
    """
    horizons = check_horizons(horizons)
    dead_zone = real("dead_zone", dead_zone, low=0.0)
    vol_window = integer("vol_window", vol_window, low=2)
    close = validate_ohlcv(bars).close
    log_close = np.log(close)
    sigma = log_close.diff().rolling(vol_window).std()
    sigma = sigma.where(sigma > 0)
    forward = {h: log_close.shift(-h) - log_close for h in horizons}
    columns: dict[str, pd.Series] = {}
    for h, r in forward.items():
        up = (r > 0).astype(np.float64).where(r.notna())
        columns[f"direction_{h}"] = up.where(~(r.abs() < dead_zone)) if dead_zone > 0 else up
    for h, r in forward.items():
        columns[f"trend_{h}"] = np.tanh(r / (sigma * np.sqrt(h)))
    for h, r in forward.items():
        columns[f"forward_return_{h}"] = r
    return pd.DataFrame(columns, index=close.index)


def label_columns(
    horizons: Sequence[int] = DEFAULT_HORIZONS, kinds: Sequence[str] = ("direction", "trend")
) -> list[str]:
    """Names of the label columns of ``kinds`` for ``horizons``, in :func:`make_labels` order.

    Example:
        >>> label_columns((1, 7))
        ['direction_1', 'direction_7', 'trend_1', 'trend_7']
    """
    for kind in kinds:
        if kind not in ("direction", "trend", "forward_return"):
            raise ConfigError(f"unknown label kind {kind!r}; use direction, trend or forward_return")
    return [f"{kind}_{h}" for kind in kinds for h in check_horizons(horizons)]


def check_horizons(horizons: Sequence[int]) -> tuple[int, ...]:
    """Returns ``horizons`` as a tuple after checking they are distinct integers ``>= 1``.

    Raises:
        ConfigError: naming the bad horizon.
    """
    if isinstance(horizons, (int, str)) or len(horizons) == 0:
        raise ConfigError(f"horizons must be a non-empty sequence of integers, got {horizons!r}")
    for h in horizons:
        if isinstance(h, bool) or not isinstance(h, (int, np.integer)) or not 1 <= h < 2**63:
            raise ConfigError(f"every horizon must be an integer in [1, 2**63), got {h!r}")
    if len(set(horizons)) != len(horizons):
        raise ConfigError(f"horizons repeat a value: {list(horizons)}")
    return tuple(int(h) for h in horizons)
