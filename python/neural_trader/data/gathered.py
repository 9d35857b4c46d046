"""Windows that are gathered when read: ``(N, window, F)`` model inputs that cost memory only for the
``(rows, F)`` matrices they are cut from, not times the window length.

A :class:`LazyWindows` holds one or more ``(rows, F)`` matrices (one per symbol, never copied when they
are C-contiguous float32/float64, e.g. the features frame of a :class:`~neural_trader.data.Series`), each
window's matrix and start row, and the scaler. Indexing it gathers the asked windows with the Rust kernel
:func:`~neural_trader.kernels.gather_windows` (GIL released, into a buffer the caller may reuse): the
same bits as the windows :func:`~neural_trader.kernels.sliding_windows` materialises, because both
compute the same float64 z-score and round once to float32. A window never spans two matrices, so windows
of several symbols never mix their rows. When the matrices are blocks of rows of one array (the symbols of
a folder read by :func:`~neural_trader.data.load_series`), a batch is one kernel call on that array;
otherwise one call per matrix of the batch.

Small data may still be materialised once (faster per batch: a plain copy instead of a normalising
gather); :func:`choose_windows` decides by the size the windows would take (:data:`EAGER_LIMIT_BYTES`).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from neural_trader import _core
from neural_trader.arrays import as_real_array
from neural_trader.data.scaling import Scaler
from neural_trader.errors import ConfigError, DataError, ShapeError
from neural_trader.validation import positive_int

#: Windows (of all the parts of a run together) that would take at most this many bytes once
#: materialised are materialised when the choice is automatic: a batch is then a plain copy (about
#: 0.1 ms less per batch of 64 windows of 64 x 28), and the memory this costs stays below this constant.
EAGER_LIMIT_BYTES = 64 * 2**20

#: Windows gathered per kernel call when a whole range is read (materialising, slicing with ``[:, ...]``).
CHUNK_WINDOWS = 4096

Transform = Callable[[np.ndarray], np.ndarray]


class LazyWindows:
    """``(N, window, F)`` float32 windows of ``(rows, F)`` matrices, gathered when indexed.

    Indexing follows numpy on the first axis (an integer, a slice, an integer array or a boolean mask;
    further axes are applied to the gathered windows) and returns a new numpy array; ``np.asarray`` of it
    materialises every window. :meth:`gather` can write into a buffer reused batch after batch.

    Args:
        matrices: ``(T_k, F)`` arrays (float32/float64; others are converted once), all of width ``F``.
        starts: ``(N,)`` first row of each window in its matrix.
        window: rows per window.
        sources: ``(N,)`` index into ``matrices`` of each window's matrix; may be omitted for one matrix.
        scaler: z-score applied to every gathered value (``None``: raw values as float32).
        transform: applied to every gathered batch, ``(B, window, F)`` float32 -> same shape, e.g.
            :func:`~neural_trader.data.relative_candles`; it must treat each window on its own.

    Raises:
        ShapeError: matrices of different widths, ``starts``/``sources`` not ``(N,)``, a scaler of another
            width. ConfigError: a bad window. DataError: a window that does not fit in its matrix.

    Example:
        >>> x = np.arange(20.0).reshape(10, 2)
        >>> w = LazyWindows([x], starts=[0, 5, 7], window=3)
        >>> w.shape, w[1][0].tolist(), np.asarray(w).dtype
        ((3, 3, 2), [10.0, 11.0], dtype('float32'))
    """

    def __init__(
        self,
        matrices: Sequence[np.ndarray],
        starts: Any,
        window: int,
        *,
        sources: Any = None,
        scaler: Scaler | None = None,
        transform: Transform | None = None,
    ) -> None:
        self.window = positive_int("window", window)
        # Converted once here: the per-batch kernel calls then borrow these arrays without checks.
        self.matrices = tuple(as_real_array(m, "matrix", 2, "(T, F)") for m in matrices)
        if not self.matrices:
            raise ShapeError("no matrix to gather windows from")
        widths = {m.shape[1] for m in self.matrices}
        if len(widths) != 1:
            raise ShapeError(f"matrices must all have the same number of columns, got {sorted(widths)}")
        self.starts = _vector(starts, "starts")
        self.sources = None if sources is None else _vector(sources, "sources")
        if self.sources is None and len(self.matrices) > 1:
            raise ShapeError("several matrices need the sources of the windows")
        if self.sources is not None and len(self.sources) != len(self.starts):
            raise ShapeError(f"{len(self.sources)} sources for {len(self.starts)} starts")
        (n_features,) = widths
        if scaler is not None and scaler.n_features != n_features:
            raise ShapeError(f"scaler has {scaler.n_features} features but the matrices have {n_features}")
        self.scaler, self.transform = scaler, transform
        self._zscore = scaler.arrays() if scaler is not None else ()
        self._check_fits()
        self._root, self._first_rows = _row_blocks(self.matrices)
        self.shape: tuple[int, int, int] = (len(self.starts), self.window, n_features)
        self._scratch = np.empty((0, self.window, n_features), dtype=np.float32)

    def _check_fits(self) -> None:
        if self.sources is not None and len(self.sources):
            bad = (self.sources < 0) | (self.sources >= len(self.matrices))
            if bad.any():
                at = int(np.argmax(bad))
                raise ShapeError(f"sources[{at}] = {self.sources[at]} is not a matrix index")
        lengths = np.array([len(m) for m in self.matrices], dtype=np.int64)
        limit = lengths[self.sources] if self.sources is not None else lengths[0]
        bad = (self.starts < 0) | (self.starts > limit - self.window)
        if bad.any():
            at = int(np.argmax(bad))
            rows = int(limit[at]) if self.sources is not None else int(limit)
            raise DataError(
                f"window {at} starts at row {self.starts[at]}: it does not fit in {rows} rows "
                f"with {self.window} rows per window"
            )

    # ------------------------------------------------------------------------------- array protocol
    dtype = np.dtype(np.float32)
    ndim = 3

    def __len__(self) -> int:
        return self.shape[0]

    @property
    def nbytes(self) -> int:
        """Bytes the windows take once materialised (``N * window * F * 4``)."""
        n, w, f = self.shape
        return n * w * f * 4

    def __repr__(self) -> str:
        return f"LazyWindows(shape={self.shape}, matrices={len(self.matrices)})"

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        if copy is False:
            raise ValueError("LazyWindows cannot be viewed as an array without gathering (a copy)")
        out = self.materialise()
        return out if dtype is None else out.astype(dtype, copy=False)

    def __getitem__(self, key: Any) -> np.ndarray:
        rest: tuple = ()
        if isinstance(key, tuple):
            key, rest = (key[0], key[1:]) if key else (slice(None), ())
        rows = self._rows(key)
        if rows.ndim == 0:
            return self.gather(rows.reshape(1))[(0, *rest)]
        if not rest:
            return self.gather(rows)
        # Further axes pick from each window: gather a chunk at a time, so only the result is whole.
        parts = [
            self.gather(rows[lo : lo + CHUNK_WINDOWS])[(slice(None), *rest)]
            for lo in range(0, max(len(rows), 1), CHUNK_WINDOWS)
        ]
        return np.concatenate(parts)

    def _rows(self, key: Any) -> np.ndarray:
        n = len(self)
        if isinstance(key, slice):
            r = range(n)[key]
            return np.arange(r.start, r.stop, r.step, dtype=np.int64)
        if isinstance(key, (int, np.integer)) and not isinstance(key, (bool, np.bool_)):
            i = operator.index(key)
            if not -n <= i < n:
                raise IndexError(f"window {i} is out of range for {n} windows")
            return np.asarray(i % n, dtype=np.int64)
        rows = np.asarray(key)
        if rows.dtype == bool:
            if rows.shape != (n,):
                raise IndexError(f"a boolean index must have shape ({n},), got {rows.shape}")
            return np.flatnonzero(rows).astype(np.int64)
        if rows.dtype.kind not in "iu" and rows.size:
            raise IndexError(f"windows are indexed by integers, slices or a boolean mask, got {key!r}")
        rows = rows.astype(np.int64, copy=False).reshape(-1)
        if rows.size:
            lowest, highest = rows.min(), rows.max()
            if lowest < -n or highest >= n:
                raise IndexError(f"window index out of range for {n} windows")
            if lowest < 0:
                rows = np.where(rows < 0, rows + n, rows)
        return rows

    # ---------------------------------------------------------------------------------- gathering
    def gather(self, indices: Any, out: np.ndarray | None = None) -> np.ndarray:
        """Windows ``indices`` (``(B,)`` integers in ``[0, N)``), in that order, as ``(B, window, F)``.

        Args:
            indices: window numbers, any order, repeats allowed.
            out: a C-contiguous float32 ``(B, window, F)`` buffer to overwrite (e.g. one reused every
                batch); ``None`` allocates one.

        Raises:
            IndexError: an index out of range. ShapeError: ``out`` of another shape or layout.
            DataError: a gathered value beyond float32 once normalised (named by row and column).
        """
        rows = self._rows(np.asarray(indices).reshape(-1))
        shape = (len(rows), *self.shape[1:])
        if out is None:
            out = np.empty(shape, dtype=np.float32)
        elif out.shape != shape or out.dtype != np.float32 or not out.flags.c_contiguous:
            raise ShapeError(f"out must be a C-contiguous float32 array of shape {shape}")
        starts = self.starts[rows]
        if self.sources is None:
            self._copy(0, starts, out)
        elif self._root is not None:  # blocks of one array: one call, at each window's row in the array
            rows_in_root = self._first_rows[self.sources[rows]] + starts
            _core.gather_windows(self._root, rows_in_root, self.window, *self._zscore, out=out)
        else:
            self._copy_grouped(self.sources[rows], starts, out)
        if self.transform is not None and len(out):
            out[...] = self.transform(out)
        return out

    def _copy(self, k: int, starts: np.ndarray, out: np.ndarray) -> None:
        # The kernel itself, not the checking wrapper kernels.gather_windows: the matrices, scaler and
        # starts were checked once in __init__, and a batch of many symbols makes one call per symbol
        # (the wrapper's conversions cost more than a small gather).
        _core.gather_windows(self.matrices[k], starts, self.window, *self._zscore, out=out)

    def _copy_grouped(self, sources: np.ndarray, starts: np.ndarray, out: np.ndarray) -> None:
        """One kernel call per matrix: windows of one matrix go to consecutive rows of the target."""
        order = None
        if len(sources) > 1 and (sources[1:] < sources[:-1]).any():
            order = np.argsort(sources, kind="stable")
            sources, starts = sources[order], starts[order]
            if len(self._scratch) < len(order):
                self._scratch = np.empty((len(order), *self.shape[1:]), dtype=np.float32)
        target = out if order is None else self._scratch[: len(out)]
        cuts = np.flatnonzero(sources[1:] != sources[:-1]) + 1
        bounds = [0, *cuts.tolist(), len(sources)]
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=False):
            if hi > lo:
                self._copy(int(sources[lo]), starts[lo:hi], target[lo:hi])
        if order is not None:
            out[order] = target

    def materialise(self) -> np.ndarray:
        """Every window as one ``(N, window, F)`` float32 array (gathered a chunk at a time)."""
        out = np.empty(self.shape, dtype=np.float32)
        for lo in range(0, len(self), CHUNK_WINDOWS):
            hi = min(lo + CHUNK_WINDOWS, len(self))
            self.gather(np.arange(lo, hi), out=out[lo:hi])
        return out

    @classmethod
    def concat(cls, parts: Sequence[LazyWindows]) -> LazyWindows:
        """The windows of ``parts`` one after the other, sharing their matrices (nothing is copied).

        Raises:
            ConfigError: parts of different window lengths, scalers or transforms, or no part.
        """
        if not parts:
            raise ConfigError("no windows to concatenate")
        if len(parts) == 1:
            return parts[0]
        first = parts[0]
        for p in parts[1:]:
            if (p.window, p.scaler, p.transform) != (first.window, first.scaler, first.transform):
                raise ConfigError("windows of different lengths, scalers or transforms cannot be pooled")
        matrices: list[np.ndarray] = []
        sources = []
        for p in parts:
            ids = []
            for m in p.matrices:
                k = next((i for i, seen in enumerate(matrices) if seen is m), None)
                if k is None:
                    matrices.append(m)
                    k = len(matrices) - 1
                ids.append(k)
            local = p.sources if p.sources is not None else np.zeros(len(p), dtype=np.int64)
            sources.append(np.asarray(ids, dtype=np.int64)[local])
        return cls(
            matrices,
            np.concatenate([p.starts for p in parts]),
            first.window,
            sources=np.concatenate(sources) if len(matrices) > 1 else None,
            scaler=first.scaler,
            transform=first.transform,
        )


def _row_blocks(matrices: Sequence[np.ndarray]) -> tuple[np.ndarray | None, np.ndarray | None]:
    """``(array, first rows)`` when the matrices are blocks of whole rows of one C-contiguous array (as
    :func:`~neural_trader.data.load_series` lays out the symbols of a folder), else ``(None, None)``."""
    root = matrices[0].base
    if len(matrices) < 2 or not isinstance(root, np.ndarray) or root.ndim != 2 or not root.flags.c_contiguous:
        return None, None
    first_rows = []
    for m in matrices:
        if (
            m.base is not root
            or m.dtype != root.dtype
            or m.strides != root.strides
            or m.shape[1] != root.shape[1]
        ):
            return None, None
        offset = m.ctypes.data - root.ctypes.data
        if offset % root.strides[0]:
            return None, None
        first_rows.append(offset // root.strides[0])
    return root, np.asarray(first_rows, dtype=np.int64)


def choose_windows(windows: LazyWindows, gather: bool | None = None) -> LazyWindows | np.ndarray:
    """``windows`` as they will be read: materialised once (eager) or gathered batch by batch.

    Args:
        windows: the windows.
        gather: ``True`` keeps them lazy, ``False`` materialises them, ``None`` decides by size:
            materialised when they take at most :data:`EAGER_LIMIT_BYTES`.

    Example:
        >>> w = LazyWindows([np.zeros((10, 2))], [0, 1], window=4)
        >>> type(choose_windows(w)).__name__, type(choose_windows(w, gather=True)).__name__
        ('ndarray', 'LazyWindows')
    """
    return windows if should_gather(windows.nbytes, gather) else windows.materialise()


def should_gather(nbytes: int, gather: bool | None = None) -> bool:
    """Whether windows that would take ``nbytes`` once materialised are gathered when read: ``gather``
    when it is given, else whether they exceed :data:`EAGER_LIMIT_BYTES`.

    Example:
        >>> should_gather(2**40), should_gather(2**40, gather=False)
        (True, False)
    """
    return nbytes > EAGER_LIMIT_BYTES if gather is None else bool(gather)


def window_bytes(parts: Iterable[tuple[int, int]], window: int, stride: int, n_features: int) -> int:
    """Bytes the windows of row ranges ``parts`` would take once materialised (an upper bound: windows
    without a label are dropped later).

    Example:
        >>> window_bytes([(0, 100), (200, 250)], window=10, stride=1, n_features=2)
        10560
    """
    n = sum(max(0, (stop - start - window) // stride + 1) for start, stop in parts)
    return n * window * n_features * 4


def _vector(values: Any, name: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ShapeError(f"{name} must be (N,), got shape {arr.shape}")
    if arr.size and arr.dtype.kind not in "iu":
        raise DataError(f"{name} must hold integer row numbers, got dtype {arr.dtype}")
    return np.ascontiguousarray(arr, dtype=np.int64)
