"""One road from bars to windows: the library loaders and the workflows' functions give the same rows,
scaler, windows and labels for the same split."""

from __future__ import annotations

import numpy as np
import pytest

from neural_trader.data import (
    DataSpec,
    chronological_split,
    fit_scaler,
    load_series,
    make_loaders,
    make_multi_symbol_loaders,
    make_windows,
    series_from_bars,
    symbol_of,
)
from neural_trader.errors import DataError


def test_loaders_and_workflow_windows_are_the_same(sp500) -> None:
    spec = DataSpec(window=16, horizon=5)
    series = series_from_bars("sp500", sp500, spec.horizon)
    split = chronological_split(series.n_rows, horizon=5, index=series.index)
    loaders = make_loaders(sp500, window=16, horizons=(5,), labels=["direction_5"], split=split)
    scaler = fit_scaler([series], {"sp500": split.train}, spec)
    assert scaler == loaders.scaler  # the same bits
    for part, dataset in loaders.datasets().items():
        windows = make_windows(series, spec, scaler, getattr(split, part))
        np.testing.assert_array_equal(windows.x, dataset.windows)
        np.testing.assert_array_equal(windows.y, dataset.labels)
        np.testing.assert_array_equal(windows.end_rows, dataset.window_end_rows)


def test_one_symbol_as_a_folder_gets_the_single_symbol_scaler(sp500) -> None:
    single = make_loaders(sp500, window=16, horizons=(5,))
    folder = make_multi_symbol_loaders({"sp500": sp500}, window=16, horizons=(5,))
    assert folder.scaler == single.scaler
    val = folder.datasets()["val"].parts()["sp500"]
    np.testing.assert_array_equal(val.windows, single.val.dataset.windows)


def test_symbol_names_and_errors_are_named_once(tmp_path, make_bars) -> None:
    assert symbol_of("a/GOOG_daily.CSV.gz") == "GOOG_daily" and symbol_of("notes.txt") is None
    folder = tmp_path / "bars"
    folder.mkdir()
    make_bars(30).to_csv(folder / "short.csv", index=False)
    with pytest.raises(DataError) as err:
        load_series(folder, horizon=5)
    assert str(err.value).startswith("short: 30 bars are fewer than the 49-bar feature warm-up")
