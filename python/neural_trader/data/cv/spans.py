"""Label spans: where each sample is predicted (``t0``) and the last row its label reads (``t1``).

Sample ``i`` is a window in time order. It is predicted at the close of row ``t0[i]`` (the window's last
row) and its label reads rows up to ``t1[i] >= t0[i]``: ``t0 + horizon`` for a fixed horizon, the row
where the first barrier was hit for a triple-barrier label. Its label span is the closed row interval
``[t0[i], t1[i]]``. Purging compares these spans, so ``t1`` must be the label's *actual* end: a fixed
horizon that is shorter than a triple-barrier label's real life would let that label leak.

``t0`` and ``t1`` are positions on one time axis: the rows of one series, or, for a panel of several
symbols, positions in a calendar they share (samples of different symbols at one time then share a
``t0``, which is why ``t0`` only has to be non-decreasing).
"""

from __future__ import annotations

import hashlib

import numpy as np

from neural_trader.errors import DataError, ShapeError


def label_spans(t0: np.ndarray, t1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Checked int64 copies of the label spans ``(t0, t1)``.

    Args:
        t0: ``(n,)`` row at which each sample is predicted, non-decreasing (samples in time order).
        t1: ``(n,)`` last row each sample's label reads, ``t1[i] >= t0[i]``.

    Returns:
        ``(t0, t1)`` as new int64 arrays. Integral floats (``5.0``) are accepted as integers.

    Raises:
        ShapeError: not 1-D, or of different lengths.
        DataError: empty, not integers (NaN, ``2.5``, strings, bools), negative rows, ``t0`` out of
            time order, or ``t1 < t0``; the message names the first bad index.

    Example:
        >>> t0, t1 = label_spans([0, 1, 2], [5, 3, 2])
        >>> t1.tolist(), t1.dtype.name
        ([5, 3, 2], 'int64')
    """
    t0 = _row_indices("t0", t0)
    t1 = _row_indices("t1", t1)
    if len(t0) != len(t1):
        raise ShapeError(f"t0 and t1 must have one length, got {len(t0)} and {len(t1)}")
    if len(t0) == 0:
        raise DataError("t0 and t1 are empty: there are no samples to split")
    if (t0 < 0).any():
        i = int(np.argmax(t0 < 0))
        raise DataError(f"t0[{i}] = {t0[i]} is negative; spans are row indices >= 0")
    unsorted = np.flatnonzero(t0[1:] < t0[:-1])
    if unsorted.size:
        i = int(unsorted[0]) + 1
        raise DataError(
            f"t0 is not in time order: t0[{i}] = {t0[i]} < t0[{i - 1}] = {t0[i - 1]}; "
            "sort the samples by prediction row first"
        )
    early = np.flatnonzero(t1 < t0)
    if early.size:
        i = int(early[0])
        raise DataError(
            f"t1[{i}] = {t1[i]} < t0[{i}] = {t0[i]}: a label cannot end before the row it is predicted at"
        )
    return t0, t1


def spans_digest(t0: np.ndarray, t1: np.ndarray) -> str:
    """SHA-256 (hex) of the spans, recorded in a split document to catch its use on other samples.

    Example:
        >>> spans_digest(np.array([0, 1]), np.array([2, 3]))[:12]
        '04b863f50d19'
    """
    h = hashlib.sha256()
    for name, a in (("t0", t0), ("t1", t1)):
        h.update(name.encode())
        h.update(np.ascontiguousarray(a, dtype="<i8").tobytes())
    return h.hexdigest()


def _row_indices(name: str, values: object) -> np.ndarray:
    try:
        a = np.asarray(values)
    except (ValueError, TypeError) as exc:
        # A ragged nested list is not an array of rows.
        raise ShapeError(f"{name} must be a 1-D array of row indices: {exc}") from None
    if a.ndim != 1:
        raise ShapeError(f"{name} must be 1-D (one row index per sample), got shape {a.shape}")
    if a.dtype.kind in "iu":
        if a.dtype.kind == "u" and a.size and int(a.max()) > np.iinfo(np.int64).max:
            raise DataError(f"{name} holds a row index beyond int64: {int(a.max())}")
        return a.astype(np.int64)
    if a.dtype.kind == "f":
        bad = ~np.isfinite(a) | (a != np.round(a)) | (np.abs(a) >= 2.0**53)
        if bad.any():
            i = int(np.argmax(bad))
            raise DataError(f"{name}[{i}] = {a[i].item()!r} is not an integer row index")
        return a.astype(np.int64)
    raise DataError(f"{name} must hold integer row indices, got dtype {a.dtype}")
