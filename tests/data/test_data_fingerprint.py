"""Fingerprints of the bars an encoder saw find those bars in other files by content (issue 18)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from neural_trader.data import series_from_bars
from neural_trader.data.fingerprint import fingerprint, overlap


def _bars(n: int, seed: int = 0) -> pd.DataFrame:
    close = 100 * np.exp(np.cumsum(np.random.default_rng(seed).normal(0, 0.01, n)))
    return pd.DataFrame(
        {"open": close, "high": close * 1.01, "low": close * 0.99, "close": close, "volume": 1000.0},
        index=pd.Index(pd.bdate_range("2015-01-01", periods=n), name="timestamp"),
    )


def test_seen_rows_are_found_in_a_shifted_or_renamed_copy_and_nowhere_else() -> None:
    bars = _bars(1200)
    seen = series_from_bars("a", bars, 5)
    fp = json.loads(json.dumps(fingerprint(seen, (0, 800))))  # as stored in the checkpoint
    assert len(fp["sample"]) < 80  # compact: about one row in 32
    assert overlap(fp, seen, 900) is None
    assert overlap(fp, seen, 700) == 700
    # The same bars from row 300 of the file on, under another name: the rows shift, the content does not.
    later = series_from_bars("b", bars.iloc[300:], 5)
    row = overlap(fp, later, 400)
    assert row is not None and later.index[row] <= seen.index[799]
    assert overlap(fp, later, 600) is None
    # A copy holding only rows inside the seen range (no anchor in it): found by the sampled hashes.
    inside = series_from_bars("c", bars.iloc[200:700], 5)
    assert overlap(fp, inside, 100) is not None
    # Other bars over the same dates are not the bars the encoder saw.
    other = series_from_bars("d", _bars(1200, seed=1), 5)
    assert overlap(fp, other, 0) is None
