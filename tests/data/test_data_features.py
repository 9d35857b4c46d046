"""Features: values against the `ta` package and direct formulas, the documented warm-up, and causality
(rewriting the future never changes a feature of the past) on real data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from neural_trader.data import FEATURE_NAMES, FEATURE_WARMUP, feature_warmup, load_ohlcv, make_features
from neural_trader.errors import ConfigError


@pytest.fixture(scope="module", params=["sp500_daily", "goog_daily", "eurusd_hourly"])
def real_bars(request, sp500):
    if request.param == "sp500_daily":
        return sp500
    return load_ohlcv(request.getfixturevalue("shared_data_dir") / f"{request.param}.csv")


def _ta_reference(bars: pd.DataFrame) -> dict[str, pd.Series]:
    ta = pytest.importorskip("ta")
    c, h, lo, v = bars.close, bars.high, bars.low, bars.volume
    ppo = ta.momentum.PercentagePriceOscillator(c, window_slow=26, window_fast=12, window_sign=9)
    bands = ta.volatility.BollingerBands(c, window=20, window_dev=2)
    stoch = ta.momentum.StochasticOscillator(h, lo, c, window=14, smooth_window=3)
    atr = ta.volatility.AverageTrueRange(h, lo, c, window=14).average_true_range()
    return {
        "rsi_14": ta.momentum.RSIIndicator(c, window=14).rsi(),
        "ppo": ppo.ppo(),
        "ppo_signal": ppo.ppo_signal(),
        "ppo_hist": ppo.ppo_hist(),
        # ta writes 0 instead of NaN during the ATR warm-up; the warm-up is checked separately.
        "atr_pct_14": (100 * atr / c).where(np.arange(len(c)) >= 13),
        "bb_percent_b_20": bands.bollinger_pband(),
        "bb_width_20": bands.bollinger_wband(),
        "stoch_k_14": stoch.stoch(),
        "stoch_d_3": stoch.stoch_signal(),
        "williams_r_14": ta.momentum.WilliamsRIndicator(h, lo, c, lbp=14).williams_r(),
        "cci_20": ta.trend.CCIIndicator(h, lo, c, window=20, constant=0.015).cci(),
        "roc_10": ta.momentum.ROCIndicator(c, window=10).roc(),
        "mfi_14": ta.volume.MFIIndicator(h, lo, c, v, window=14).money_flow_index(),
        "return": ta.others.DailyReturnIndicator(c).daily_return() / 100,
    }


def test_indicators_match_the_ta_package(real_bars):
    ours = make_features(real_bars)
    reference = _ta_reference(real_bars)
    assert len(reference) >= 14
    for name, expected in reference.items():
        got, want = ours[name].to_numpy(), expected.to_numpy(dtype=np.float64)
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want), err_msg=f"{name}: NaN pattern")
        ok = ~np.isnan(want)
        # atol covers cancellation in differences such as ppo_hist near 0.
        scale = np.abs(want[ok]).max()
        np.testing.assert_allclose(got[ok], want[ok], rtol=1e-9, atol=1e-12 * scale, err_msg=name)


def _trailing(values: np.ndarray, window: int, stat) -> np.ndarray:
    out = np.full(len(values), np.nan)
    out[window - 1 :] = stat(sliding_window_view(values, window), axis=1)
    return out


def test_simple_features_match_direct_formulas(sp500):
    feats = make_features(sp500)
    o, h, lo, c, v = (sp500[k].to_numpy() for k in ("open", "high", "low", "close", "volume"))
    log_c = np.log(c)
    log_ret = np.r_[np.nan, np.diff(log_c)]
    vol_mean, vol_std = _trailing(v, 20, np.mean), _trailing(v, 20, np.std)
    expected = {
        "log_return": log_ret,
        "log_return_5": np.r_[[np.nan] * 5, log_c[5:] - log_c[:-5]],
        "log_return_20": np.r_[[np.nan] * 20, log_c[20:] - log_c[:-20]],
        "gap": np.r_[np.nan, o[1:] / c[:-1] - 1],
        "range": (h - lo) / c,
        "body": (c - o) / o,
        "upper_shadow": (h - np.maximum(o, c)) / c,
        "lower_shadow": (np.minimum(o, c) - lo) / c,
        "close_location": (c - lo) / (h - lo),
        "volatility_20": np.r_[
            np.nan, _trailing(log_ret[1:], 20, lambda w, axis: np.std(w, axis=axis, ddof=1))
        ],
        "volume_change": np.r_[np.nan, np.diff(np.log1p(v))],
        "volume_zscore_20": (v - vol_mean) / vol_std,
        "sma_ratio_10": c / _trailing(c, 10, np.mean) - 1,
        "sma_ratio_50": c / _trailing(c, 50, np.mean) - 1,
    }
    for name, want in expected.items():
        np.testing.assert_allclose(feats[name].to_numpy(), want, rtol=1e-8, atol=1e-12, err_msg=name)


def test_warmup_is_as_documented_and_values_are_finite_after_it(real_bars):
    feats = make_features(real_bars)
    assert tuple(feats.columns) == FEATURE_NAMES and 20 <= len(FEATURE_NAMES) <= 30
    for name in FEATURE_NAMES:
        finite = np.isfinite(feats[name].to_numpy())
        warm = FEATURE_WARMUP[name]
        assert not finite[:warm].any() and finite[warm:].all(), name
    dropped = make_features(real_bars, drop_warmup=True)
    assert feature_warmup() == 49 and len(dropped) == len(real_bars) - 49
    assert dropped.index[0] == real_bars.index[49] and np.isfinite(dropped.to_numpy()).all()


def test_flat_market_gives_neutral_finite_values():
    index = pd.date_range("2024-01-01", periods=80, name="timestamp")
    flat = pd.DataFrame({"open": 5.0, "high": 5.0, "low": 5.0, "close": 5.0, "volume": 0.0}, index=index)
    feats = make_features(flat, drop_warmup=True)
    assert np.isfinite(feats.to_numpy()).all()
    last = feats.iloc[-1]
    assert last.rsi_14 == 50 and last.stoch_k_14 == 50 and last.williams_r_14 == -50
    assert last.close_location == 0.5 and last.bb_percent_b_20 == 0.5 and last.mfi_14 == 50
    assert last.volume_zscore_20 == 0 and last.cci_20 == 0


def _unchanged_up_to(compute, bars: pd.DataFrame, t: int, rewrite) -> bool:
    """Whether ``compute`` gives bit-identical rows ``<= t`` when every row after ``t`` is rewritten."""
    before = compute(bars).iloc[: t + 1].to_numpy()
    after = compute(rewrite(bars, t + 1)).iloc[: t + 1].to_numpy()
    truncated = compute(bars.iloc[: t + 1]).to_numpy()
    return bool(
        np.array_equal(before, after, equal_nan=True) and np.array_equal(before, truncated, equal_nan=True)
    )


@pytest.mark.parametrize("t", [10, 49, 60, 777, 2500, 5029])
def test_features_are_causal_on_real_data(sp500, rewrite, t):
    assert _unchanged_up_to(make_features, sp500, t, rewrite)


def test_the_causality_check_catches_look_ahead(sp500, rewrite):
    leaky = {
        "next close": lambda b: b.close.shift(-1).to_frame(),
        "centred mean": lambda b: b.close.rolling(5, center=True).mean().to_frame(),
        "global z-score": lambda b: ((b.close - b.close.mean()) / b.close.std()).to_frame(),
        "back-filled warm-up": lambda b: b.close.rolling(20).mean().bfill().to_frame(),
    }
    for name, compute in leaky.items():
        assert not _unchanged_up_to(compute, sp500, 10, rewrite), name


def test_subsets_and_bad_names(sp500):
    feats = make_features(sp500, columns=["rsi_14", "log_return"])
    assert list(feats.columns) == ["rsi_14", "log_return"]
    assert feature_warmup(["rsi_14", "log_return"]) == 13
    pd.testing.assert_series_equal(feats.rsi_14, make_features(sp500).rsi_14)
    for bad in (["nope"], [], "rsi_14", ["rsi_14", "rsi_14"]):
        with pytest.raises(ConfigError):
            make_features(sp500, columns=bad)
