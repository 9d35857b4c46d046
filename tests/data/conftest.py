"""Fixtures of the data-pipeline tests: real bars (the bundled S&P 500 copy, plus the shared files when
present) and a generator of small synthetic bars that satisfy every OHLCV rule."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import neural_trader

BUNDLED_SP500 = Path(neural_trader.__file__).parent / "datasets" / "sp500_daily.csv.gz"
# The shared folder holds the other real files (README there); tests that need it skip without it.
SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


def synthetic_bars(n: int = 40, seed: int = 0, freq: str = "D") -> pd.DataFrame:
    """Valid OHLCV bars as a raw frame (string timestamps in a column), like a freshly read CSV."""
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    open_ = np.r_[100.0, close[:-1]] * (1 + rng.normal(0, 0.002, n))
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.01, n))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.01, n))
    volume = rng.integers(1_000, 5_000, n).astype(np.float64)
    times = pd.date_range("2024-01-01", periods=n, freq=freq)
    stamps = times.strftime("%Y-%m-%d") if freq == "D" else times.strftime("%Y-%m-%d %H:%M:%S")
    return pd.DataFrame(
        {"timestamp": stamps, "open": open_, "high": high, "low": low, "close": close, "volume": volume}
    )


def rewrite_after(bars: pd.DataFrame, first_row: int, seed: int = 1) -> pd.DataFrame:
    """Bars whose rows ``>= first_row`` are replaced by other valid bars (prices x10 with noise, volume
    x7): a future that has nothing to do with the past, yet passes validation."""
    out = bars.copy()
    rng = np.random.default_rng(seed)
    n = len(out) - first_row
    if n <= 0:
        return out
    noise = 1 + rng.uniform(-0.05, 0.05, (n, 1))
    prices = out.iloc[first_row:][["open", "high", "low", "close"]].to_numpy() * 10 * noise
    out.iloc[first_row:, out.columns.get_indexer(["open", "high", "low", "close"])] = prices
    out.iloc[first_row:, out.columns.get_loc("volume")] = out.iloc[first_row:]["volume"].to_numpy() * 7
    return out


@pytest.fixture(scope="session")
def sp500() -> pd.DataFrame:
    from neural_trader.data import load_ohlcv

    return load_ohlcv(BUNDLED_SP500)


@pytest.fixture(scope="session")
def shared_data_dir() -> Path:
    """The shared real files (session scope, unlike the root conftest's `shared_data`)."""
    if not (SHARED_DATA / "goog_daily.csv").exists():
        pytest.skip(f"shared real data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def make_bars():
    """The :func:`synthetic_bars` generator."""
    return synthetic_bars


@pytest.fixture(scope="session")
def rewrite():
    """The :func:`rewrite_after` transformation."""
    return rewrite_after


@pytest.fixture(scope="session")
def sp500_path() -> Path:
    """The package's bundled copy of sp500_daily.csv (gzipped)."""
    return BUNDLED_SP500
