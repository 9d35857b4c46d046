"""Labelled windows as a torch dataset that builds a whole batch at once, and its ``DataLoader``.

:class:`WindowBatches` pairs windows (a materialised ``(N, window, F)`` array or
:class:`~neural_trader.data.gathered.LazyWindows`) with ``(N, L)`` labels. A ``DataLoader`` asks a map-style
dataset for a batch through ``__getitems__``: here that is one kernel call (one per symbol of a
multi-symbol batch) writing into a buffer reused every batch, instead of one ``__getitem__`` and a
``torch.stack`` per window. The loader of :func:`batch_loader` is an ordinary ``DataLoader`` (sampler,
seeded generator, ``batch_size``), so the trainer's resume (the generator state) and its ``torchrun``
sharding (which rebuilds the loader with a batch sampler and the same collate function) work unchanged,
and both kinds of windows give the same batches in the same order for the same seed.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, RandomSampler, get_worker_info

from neural_trader.data.gathered import LazyWindows
from neural_trader.errors import ShapeError
from neural_trader.validation import integer, positive_int

Batch = tuple[torch.Tensor, torch.Tensor]
#: Indices of a shuffled epoch turned into Python integers at a time.
_INDEX_BLOCK = 65536


class WindowBatches(Dataset):
    """Windows and their labels; ``dataset.__getitems__(indices)`` is the batch ``(x, y)``.

    ``x`` of a batch of lazy windows lives in a buffer that the next batch overwrites (in the main
    process; worker processes send fresh arrays): use it before asking for the next batch, or copy it.

    Args:
        x: ``(N, window, F)`` float32 windows, materialised or lazy.
        y: ``(N, L)`` labels.

    Raises:
        ShapeError: ``x`` not 3-D, or ``y`` of another length.

    Example:
        >>> ds = WindowBatches(np.zeros((5, 4, 2), np.float32), np.arange(5.0).reshape(5, 1))
        >>> x, y = ds.__getitems__([4, 0])
        >>> tuple(x.shape), y.flatten().tolist()
        ((2, 4, 2), [4.0, 0.0])
    """

    def __init__(self, x: np.ndarray | LazyWindows, y: np.ndarray) -> None:
        if not isinstance(x, LazyWindows):
            x = np.ascontiguousarray(x, dtype=np.float32)
        if x.ndim != 3:
            raise ShapeError(f"windows must be (N, window, F), got shape {x.shape}")
        labels = np.ascontiguousarray(y, dtype=np.float32)
        if labels.ndim != 2 or len(labels) != len(x):
            raise ShapeError(f"labels must be ({len(x)}, L), got shape {labels.shape}")
        self.x, self.y = x, labels
        self._buffer = np.empty((0, *x.shape[1:]), dtype=np.float32)

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int) -> Batch:
        return torch.from_numpy(self.x[i]), torch.from_numpy(self.y[i])

    def __getitems__(self, indices: list[int]) -> Batch:
        rows = np.asarray(indices, dtype=np.int64)
        if isinstance(self.x, LazyWindows):
            out = self._reused(len(rows)) if get_worker_info() is None else None
            xb = self.x.gather(rows, out=out)
        else:
            xb = self.x[rows]  # a plain copy: faster than np.take into a buffer, which buffers again
        return torch.from_numpy(xb), torch.from_numpy(self.y[rows])

    def _reused(self, n: int) -> np.ndarray:
        if len(self._buffer) < n:
            self._buffer = np.empty((n, *self._buffer.shape[1:]), dtype=np.float32)
        return self._buffer[:n]


class ShuffledIndices(RandomSampler):
    """``RandomSampler``'s order, from the same draws of the same generator, yielded from the permutation
    tensor a block at a time: ``RandomSampler`` turns the whole permutation into one Python list first,
    about 36 bytes a window (250 MB for 7M windows).

    Example:
        >>> data = range(5)
        >>> order = list(ShuffledIndices(data, generator=torch.Generator().manual_seed(0)))
        >>> order == list(RandomSampler(data, generator=torch.Generator().manual_seed(0)))
        True
    """

    def __iter__(self) -> Iterator[int]:
        n = len(self.data_source)  # type: ignore[arg-type]
        if self.replacement or self.generator is None or self.num_samples != n:
            yield from super().__iter__()
            return
        for block in torch.randperm(n, generator=self.generator).split(_INDEX_BLOCK):
            yield from block.tolist()
        # RandomSampler draws a second permutation (and keeps none of it) once the first is used up: the
        # same draw keeps the generator where RandomSampler leaves it, epoch after epoch.
        torch.randperm(n, generator=self.generator)


def collate_batch(batch: Batch) -> Batch:
    """The collate function of :func:`batch_loader`: the dataset already returns a whole batch."""
    return batch


def batch_loader(dataset: WindowBatches, batch_size: int, *, seed: int | None = None) -> DataLoader:
    """A ``DataLoader`` of ``(x, y)`` batches: shuffled by a generator seeded with ``seed``, or in order
    when ``seed`` is None.

    Example:
        >>> ds = WindowBatches(np.zeros((5, 4, 2), np.float32), np.zeros((5, 1)))
        >>> [len(x) for x, _ in batch_loader(ds, 2, seed=0)]
        [2, 2, 1]
    """
    batch_size = positive_int("batch_size", batch_size)
    if seed is None:
        return DataLoader(dataset, batch_size=batch_size, collate_fn=collate_batch)
    # One generator for the sampler and the loader, as DataLoader(shuffle=True, generator=g) has.
    generator = torch.Generator().manual_seed(integer("seed", seed, low=0))
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=ShuffledIndices(dataset, generator=generator),
        generator=generator,
        collate_fn=collate_batch,
    )
