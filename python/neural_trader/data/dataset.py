"""``WindowDataset``: the windows of one part of a series, with their labels, as a torch Dataset.

Window ``i`` of a dataset over rows ``[start, stop)`` covers rows ``[s, s + window)`` with
``s = start + i * stride`` (the data rules of ``docs/design.md``, offset to the part), and only windows
that fit entirely inside the part are taken. Its label is row ``s + window - 1`` of the label array: the
labels of :func:`~neural_trader.data.make_labels` are aligned with the window's last row and read only
later rows.

Two modes give identical samples:

* **eager** (default): every window is materialised at construction by the Rust kernel
  ``sliding_windows``, with the z-score fused into the copy. Fastest per epoch; needs
  ``N * window * F * 4`` bytes.
* **lazy**: only window start rows are stored; a ``DataLoader`` batch is gathered from the series in one
  call of the Rust kernel ``gather_windows`` (``__getitems__``; one window at a time for a series that is
  not C-contiguous float32/float64). Memory stays at the size of the series, which may itself be a
  ``np.memmap`` on disk, so data larger than memory works with a ``DataLoader`` and workers.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from neural_trader import kernels
from neural_trader.data.gathered import LazyWindows
from neural_trader.data.scaling import Scaler
from neural_trader.errors import ConfigError, DataError, ShapeError
from neural_trader.validation import positive_int

#: Rows checked for NaN/Inf at a time, so the check of a memory-mapped series never loads it whole.
_CHECK_CHUNK_ROWS = 65536


class WindowDataset(Dataset):
    """Windows of rows ``[start, stop)`` of a ``(T, F)`` series, normalised, with aligned labels.

    Args:
        series: ``(T, F)`` float features (a numpy array or ``np.memmap``); not copied in lazy mode.
        labels: ``(T, L)`` labels, row ``e`` belonging to the window that ends at row ``e``; NaN marks a
            missing label. ``None`` for unlabelled data (pre-training): items are then ``x`` alone.
        window: rows per window.
        stride: rows between consecutive window starts.
        start: first row of the part.
        stop: end of the part (exclusive), default ``T``.
        scaler: normalisation applied to every window; ``None`` keeps raw values (as float32).
        lazy: index windows on the fly instead of materialising them.
        drop_unlabeled: skip windows whose label row has a NaN (the last ``horizon`` windows of a series,
            dead-zone moves). With ``False`` they are kept and the loss must mask NaN.

    Attributes:
        window_end_rows: ``(N,)`` int64, the series row where each sample's window ends.
        labels: ``(N, L)`` float32 labels of the samples, or ``None``.
        windows: ``(N, window, F)`` float32 samples in eager mode, ``None`` in lazy mode.

    Raises:
        ShapeError: bad ranks or lengths. ConfigError: bad window, stride or row range. DataError:
            NaN/Inf in the part's rows (naming row and column), or no sample left.

    Example:
        >>> ds = WindowDataset(np.arange(20.0).reshape(10, 2), window=4, stride=3)
        >>> len(ds), ds[1][0].tolist()
        (3, [6.0, 7.0])
    """

    def __init__(
        self,
        series: np.ndarray,
        labels: np.ndarray | None = None,
        *,
        window: int,
        stride: int = 1,
        start: int = 0,
        stop: int | None = None,
        scaler: Scaler | None = None,
        lazy: bool = False,
        drop_unlabeled: bool = True,
    ) -> None:
        if getattr(series, "ndim", None) != 2:
            try:
                series = np.asarray(series)
            except ValueError as e:  # a ragged nested list
                raise ShapeError(f"series is not a rectangular (T, F) array: {e}") from None
            if series.ndim != 2:
                raise ShapeError(f"series must be (T, F), got shape {series.shape}")
        n_rows, n_features = series.shape
        stop = n_rows if stop is None else stop
        window, stride = positive_int("window", window), positive_int("stride", stride)
        if not 0 <= start < stop <= n_rows:
            raise ConfigError(f"rows [{start}, {stop}) are not a non-empty range of the {n_rows} series rows")
        if stop - start < window:
            raise DataError(
                f"rows [{start}, {stop}) hold {stop - start} rows, fewer than one window ({window})"
            )
        if scaler is not None and scaler.n_features != n_features:
            raise ShapeError(f"scaler has {scaler.n_features} features but the series has {n_features}")
        _check_finite(series, start, stop)

        starts = np.arange(start, stop - window + 1, stride, dtype=np.int64)
        ends = starts + window - 1
        self.labels: np.ndarray | None = None
        if labels is not None:
            try:
                labels = np.asarray(labels, dtype=np.float32)
            except (ValueError, TypeError) as e:  # text, None, ragged lists
                raise DataError(f"labels must be real numbers: {e}") from None
            if labels.ndim != 2 or labels.shape[0] != n_rows:
                raise ShapeError(f"labels must be ({n_rows}, L), got shape {labels.shape}")
            kept = np.isfinite(labels[ends]).all(axis=1) if drop_unlabeled else np.ones(len(ends), bool)
            if not kept.any():
                raise DataError(f"no window in rows [{start}, {stop}) has a label")
            starts, ends, keep = starts[kept], ends[kept], np.flatnonzero(kept)
            self.labels = np.ascontiguousarray(labels[ends])
        else:
            keep = None

        self.series = series
        self.window, self.stride, self.scaler, self.lazy = window, stride, scaler, lazy
        self.window_starts: np.ndarray = starts
        self.window_end_rows: np.ndarray = ends
        self.windows: np.ndarray | None = None
        self._gather: LazyWindows | None = None
        if not lazy:
            self.windows = _materialise(series, start, stop, window, stride, scaler)
            if keep is not None and len(keep) != len(self.windows):
                self.windows = self.windows[keep]
        elif _borrowable(series):
            self._gather = LazyWindows([series], starts, window, scaler=scaler)
        self._labels_t = None if self.labels is None else torch.from_numpy(self.labels)

    def __len__(self) -> int:
        return len(self.window_starts)

    def __getitem__(self, i: int) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        if self.windows is not None:
            x = torch.from_numpy(self.windows[i])
        else:
            s = int(self.window_starts[i])
            rows = np.asarray(self.series[s : s + self.window])
            values = self.scaler.transform(rows) if self.scaler is not None else rows.astype(np.float32)
            x = torch.from_numpy(values)
        return x if self._labels_t is None else (x, self._labels_t[i])

    def __getitems__(self, indices: list[int]) -> list:
        """The samples of one ``DataLoader`` batch, gathered at once in lazy mode (the default collate
        function stacks them as it stacks ``__getitem__``'s)."""
        if self._gather is None:
            return [self[i] for i in indices]
        rows = np.asarray(indices, dtype=np.int64)
        xs = torch.from_numpy(self._gather.gather(rows)).unbind(0)
        if self._labels_t is None:
            return list(xs)
        return list(zip(xs, self._labels_t[torch.from_numpy(rows)].unbind(0), strict=True))


def _borrowable(series: np.ndarray) -> bool:
    """Whether the gather kernel reads ``series`` in place (no copy of a large or memory-mapped series)."""
    return (
        isinstance(series, np.ndarray)
        and series.dtype in (np.float32, np.float64)
        and series.flags.c_contiguous
    )


def _materialise(
    series: np.ndarray, start: int, stop: int, window: int, stride: int, scaler: Scaler | None
) -> np.ndarray:
    part = np.asarray(series[start:stop])
    if part.dtype not in (np.float32, np.float64):
        part = part.astype(np.float64)
    part = np.ascontiguousarray(part)
    if scaler is None:
        return kernels.sliding_windows(part, window, stride)
    mean, std = scaler.arrays()
    return kernels.sliding_windows(part, window, stride, mean=mean, std=std)


def _check_finite(series: np.ndarray, start: int, stop: int) -> None:
    for lo in range(start, stop, _CHECK_CHUNK_ROWS):
        chunk = np.asarray(series[lo : min(stop, lo + _CHECK_CHUNK_ROWS)])
        if chunk.dtype.kind not in "iuf":  # complex would lose its imaginary part without a word
            raise DataError(f"series must hold real numbers, got dtype {chunk.dtype}")
        bad = np.argwhere(~np.isfinite(chunk))
        if bad.size:
            row, col = (int(v) for v in bad[0])
            raise DataError(f"series row {lo + row}, column {col} is {chunk[row, col]} (NaN/Inf)")
