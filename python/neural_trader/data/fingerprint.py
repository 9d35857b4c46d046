"""A compact fingerprint of the bars a pre-trained encoder saw, by content, not by file name.

Each row is hashed from its timestamp (nanoseconds, UTC for bars with a zone) and its close (float64
bits): the same bar under another file name or symbol has the same hash. A fingerprint keeps, per
symbol, the rows' count and time range, the hashes of the first and last row (anchors) and the hashes
that fall in one of :data:`SAMPLE_EVERY` buckets (about 1 row in 32, chosen by the hash itself, so the
same rows are sampled in any file that holds them). :func:`overlap` finds where a fingerprinted range
sits in other bars:

* an anchor found in the bars locates the range exactly (the encoder's rows run to the last anchor, or
  ``rows`` rows from the first);
* otherwise any sampled hash among the bars' rows says the bars hold rows the encoder saw.

Example:
    >>> fp = fingerprint(series, (0, 500))                        # doctest: +SKIP
    >>> overlap(fp, other_series, start=600)                      # doctest: +SKIP
    620
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from neural_trader.data.series import Series

#: One row in this many (by hash) is kept in the sample.
SAMPLE_EVERY = 32


def row_hashes(series: Series) -> np.ndarray:
    """``(n_rows,)`` uint64: one hash per row of its timestamp and close.

    Example:
        >>> row_hashes(series).dtype                                  # doctest: +SKIP
        dtype('uint64')
    """
    index = series.index
    if index.tz is not None:
        index = index.tz_convert("UTC").tz_localize(None)
    frame = pd.DataFrame(
        {
            "time": index.as_unit("ns").asi8,
            "close": series.bars["close"].to_numpy(dtype=np.float64),
        }
    )
    return pd.util.hash_pandas_object(frame, index=False).to_numpy(dtype=np.uint64)


def fingerprint(series: Series, rows: tuple[int, int]) -> dict[str, Any]:
    """The fingerprint of rows ``[start, stop)`` of ``series`` (JSON-ready).

    Returns:
        ``{"rows", "first", "last", "anchors": [first hash, last hash], "sample": [hashes]}`` (hashes as
        16-digit hex strings, timestamps ISO).
    """
    start, stop = rows
    hashes = row_hashes(series)[start:stop]
    sample = hashes[hashes % SAMPLE_EVERY == 0]
    return {
        "rows": int(stop - start),
        "first": series.index[start].isoformat(),
        "last": series.index[stop - 1].isoformat(),
        "anchors": [_hex(hashes[0]), _hex(hashes[-1])],
        "sample": [_hex(h) for h in sample],
    }


def overlap(fp: dict[str, Any], series: Series, start: int) -> int | None:
    """The first row ``>= start`` of ``series`` that the fingerprinted rows include, or None.

    Raises:
        ValueError: a malformed fingerprint (the caller names the file).
    """
    hashes = row_hashes(series)
    first, last = (int(h, 16) for h in fp["anchors"])
    n = int(fp["rows"])
    found_last = np.flatnonzero(hashes == np.uint64(last))
    found_first = np.flatnonzero(hashes == np.uint64(first))
    if found_last.size or found_first.size:
        end = int(found_last[0]) if found_last.size else int(found_first[0]) + n - 1
        begin = int(found_first[0]) if found_first.size else end - n + 1
        if end >= start:
            return max(begin, start)
    sample = np.array([int(h, 16) for h in fp["sample"]], dtype=np.uint64)
    hits = np.flatnonzero(np.isin(hashes[start:], sample))
    return start + int(hits[0]) if hits.size else None


def _hex(value: np.uint64) -> str:
    return f"{int(value):016x}"
