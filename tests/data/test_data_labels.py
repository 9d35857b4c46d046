"""Labels: direction and trend per horizon, read only rows after the window's end, NaN (never filled)
where the future is unknown, dead zone, and the documented trend formula."""

from __future__ import annotations

import numpy as np
import pytest

from neural_trader.data import label_columns, make_labels
from neural_trader.errors import ConfigError


def test_columns_and_missing_future(sp500):
    labels = make_labels(sp500)
    assert list(labels.columns) == [
        *(f"direction_{h}" for h in (1, 7, 30)),
        *(f"trend_{h}" for h in (1, 7, 30)),
        *(f"forward_return_{h}" for h in (1, 7, 30)),
    ]
    n = len(sp500)
    for h in (1, 7, 30):
        for kind in ("direction", "trend", "forward_return"):
            values = labels[f"{kind}_{h}"].to_numpy()
            assert np.isnan(values[n - h :]).all(), f"{kind}_{h}: the last {h} rows have no future"
        assert np.isfinite(labels[f"direction_{h}"].to_numpy()[: n - h]).all()
        assert np.isfinite(labels[f"trend_{h}"].to_numpy()[20 : n - h]).all()


def test_direction_and_trend_follow_the_documented_formulas(sp500):
    labels = make_labels(sp500, horizons=(1, 7, 30), vol_window=20)
    close = sp500.close.to_numpy()
    log_ret = np.diff(np.log(close))
    for h in (1, 7, 30):
        for e in (20, 21, 1000, 3333, len(close) - h - 1):
            r = np.log(close[e + h] / close[e])
            sigma = np.std(log_ret[e - 20 : e], ddof=1)  # returns of rows e-19..e
            assert labels[f"direction_{h}"].iloc[e] == float(r > 0)
            assert labels[f"forward_return_{h}"].iloc[e] == pytest.approx(r, rel=1e-12)
            assert labels[f"trend_{h}"].iloc[e] == pytest.approx(np.tanh(r / (sigma * np.sqrt(h))), rel=1e-9)
    trend = labels[[f"trend_{h}" for h in (1, 7, 30)]].to_numpy()
    assert np.nanmax(np.abs(trend)) < 1
    assert np.isnan(labels.trend_1.iloc[:20]).all()  # no volatility yet


@pytest.mark.parametrize("h", [1, 7, 30])
@pytest.mark.parametrize("e", [100, 2000, 4000])
def test_label_at_e_reads_rows_up_to_e_plus_h_only(sp500, rewrite, h, e):
    labels = make_labels(sp500, horizons=(h,))
    row = labels.iloc[e].to_numpy()
    later = make_labels(rewrite(sp500, e + h + 1), horizons=(h,)).iloc[e].to_numpy()
    np.testing.assert_array_equal(row, later)
    # ... and it does read row e + h: the check above would notice a label that ignored its horizon.
    moved = make_labels(rewrite(sp500, e + h), horizons=(h,)).iloc[e].to_numpy()
    assert not np.array_equal(row, moved)


def test_dead_zone_excludes_small_moves_only(sp500):
    plain = make_labels(sp500, horizons=(1, 7))
    zoned = make_labels(sp500, horizons=(1, 7), dead_zone=0.002)
    for h in (1, 7):
        r = plain[f"forward_return_{h}"]
        small = r.abs() < 0.002
        assert small.sum() > 100
        assert zoned[f"direction_{h}"][small].isna().all()
        big = ~small & r.notna()
        np.testing.assert_array_equal(zoned[f"direction_{h}"][big], plain[f"direction_{h}"][big])
        np.testing.assert_array_equal(zoned[f"trend_{h}"], plain[f"trend_{h}"])


def test_label_column_names_and_bad_arguments(sp500):
    assert label_columns((1, 7)) == ["direction_1", "direction_7", "trend_1", "trend_7"]
    assert label_columns((5,), kinds=("forward_return",)) == ["forward_return_5"]
    for bad in ((), (0,), (1, 1), (2.5,), 3, (True,)):
        with pytest.raises(ConfigError):
            make_labels(sp500, horizons=bad)
    with pytest.raises(ConfigError):
        make_labels(sp500, dead_zone=-0.1)
    with pytest.raises(ConfigError):
        make_labels(sp500, vol_window=1)
    with pytest.raises(ConfigError):
        label_columns((1,), kinds=("sign",))
