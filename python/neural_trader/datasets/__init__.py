"""Datasets bundled with the package, so the quickstart and examples need no download."""

from __future__ import annotations

import gzip
from importlib import resources

import pandas as pd

from neural_trader.data import validate_ohlcv

SP500_DAILY = "sp500_daily.csv.gz"


def load_sp500_daily() -> pd.DataFrame:
    """Daily S&P 500 index bars, 1999-01-04 to 2018-12-31 (5031 rows), validated OHLCV.

    Origin: Yahoo Finance daily bars as redistributed in the data folder of the ``arch`` package.

    Example:
        >>> from neural_trader.datasets import load_sp500_daily
        >>> bars = load_sp500_daily()
        >>> len(bars), list(bars.columns)
        (5031, ['open', 'high', 'low', 'close', 'volume'])
    """
    with resources.files(__name__).joinpath(SP500_DAILY).open("rb") as raw, gzip.open(raw, "rt") as f:
        frame = pd.read_csv(f, parse_dates=["timestamp"], index_col="timestamp")
    return validate_ohlcv(frame)
