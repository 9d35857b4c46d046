"""``neural-trader splits --kind purged-kfold|cpcv``: purged splits of the development windows next to the
walk-forward folds, with a held-out test period; the file reads back validated."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from neural_trader.data import DataSpec, load_series, make_windows, window_spans
from neural_trader.errors import ConfigError
from neural_trader.workflows import HeldOutCV, held_out_cv


def test_window_spans_are_the_windows_make_windows_makes(goog_csv: Path) -> None:
    series = load_series(goog_csv, 5)[0]
    spec = DataSpec(window=16, horizon=5, inputs="candles")
    for rows in ((0, series.n_rows), (100, 300)):
        t0, t1 = window_spans(series, spec, rows)
        assert np.array_equal(t0, make_windows(series, spec, None, rows).end_rows)
        assert np.array_equal(t1, t0 + 5) and t1.max() <= series.n_rows - 1


def test_cpcv_file_purges_embargoes_and_holds_out_the_test_rows(cli, goog_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "cv.json"
    out.write_text("an earlier file\n")
    proc = cli(
        "splits", "--data", str(goog_csv), "--kind", "cpcv", "--groups", "5", "--test-groups", "2",
        "--window", "16", "--embargo", "8", "--holdout", "0.25", "--out", str(out),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "10 splits, 4 backtest paths" in proc.stdout and "held out" in proc.stdout
    held = HeldOutCV.load(out)
    series = load_series(goog_csv, 5)[0]
    spec = DataSpec(window=16, horizon=5)
    held.check(series, spec)  # the samples are this series' development windows
    assert held.cv.kind == "combinatorial_purged" and len(held.cv) == 10 and held.cv.n_paths == 4
    n = series.n_rows
    first_test = n - round(0.25 * n)
    assert held.test == (first_test, n) and held.development == (0, first_test - 8)
    t0, t1 = held.spans(series, spec)
    assert t1.max() < first_test  # no development label reads a test row
    for split in held.cv.splits:
        train, test = split.train, split.test
        # Brute force: no training span meets a test span, and none starts within 8 rows after the
        # last label end of a block of consecutive test windows.
        overlap = (t0[train, None] <= t1[None, test]) & (t0[None, test] <= t1[train, None])
        assert not overlap.any()
        blocks = np.split(test, np.flatnonzero(np.diff(test) != 1) + 1)
        for block in blocks:
            end = t1[block].max()
            assert not ((t0[train] > end) & (t0[train] <= end + 8)).any()
    # Another window length gives other samples: refused.
    with pytest.raises(ConfigError, match="windows of 16 bars"):
        held.check(series, DataSpec(window=20, horizon=5))
    # A walk-forward file is still the default kind, and `train` refuses a purged file with exit 2.
    proc = cli("train", "--model", "bilstm_classifier", "--data", str(goog_csv), "--split", str(out))
    assert proc.returncode == 2 and "tune --split" in proc.stderr


def test_purged_kfold_file_and_inapplicable_options(cli, user_error, goog_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "kf.json"
    proc = cli("splits", "--data", str(goog_csv), "--kind", "purged-kfold", "--folds", "4", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    held = HeldOutCV.load(out)
    assert held.cv.kind == "purged_kfold" and len(held.cv) == 4 and held.cv.n_paths == 1
    assert (held.window, held.horizon, held.embargo) == (32, 5, 5)
    user_error(cli("splits", "--data", str(goog_csv), "--kind", "cpcv", "--mode", "rolling"), "--mode")
    user_error(cli("splits", "--data", str(goog_csv), "--groups", "4"), "--groups", "walk-forward")
    user_error(cli("splits", "--data", str(goog_csv), "--kind", "cpcv", "--folds", "4"), "--folds")


def test_a_test_period_overlapping_the_development_rows_is_refused(goog_csv: Path) -> None:
    series = load_series(goog_csv, 5)[0]
    held = held_out_cv(series, DataSpec(window=16, horizon=5), kind="purged-kfold", n_groups=3)
    doc = held.to_dict()
    assert HeldOutCV.from_dict(json.loads(json.dumps(doc))).to_dict() == doc
    stop = doc["series"]["development"][1]
    doc["series"]["test"][0] = stop - 20  # the test period now starts inside the development rows
    with pytest.raises(ConfigError, match="overlaps the development period"):
        HeldOutCV.from_dict(doc)
    doc["series"]["test"][0] = stop + 2  # after it, but closer than the embargo of 5 rows
    with pytest.raises(ConfigError, match="at least 5 rows"):
        HeldOutCV.from_dict(doc)
