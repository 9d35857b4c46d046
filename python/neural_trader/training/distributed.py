"""Multi-process training under ``torchrun`` with DistributedDataParallel: the plumbing, in one place.

:class:`~neural_trader.training.Trainer` and :func:`~neural_trader.training.pretrain_encoder` call these
helpers themselves, so a script that trains in one process trains in ``N`` when launched with
``torchrun --nproc_per_node=N script.py`` (or multi-node ``torchrun --nnodes ...``). In a plain
``python script.py`` run every helper is the identity or a no-op, and nothing changes.

How a multi-process run stays the run a single process would make:

* **One global batch, cut across ranks.** A training loader's ``batch_size`` stays the *global* batch.
  Every rank draws the same index order from the loader's own sampler and seeded generator (the order a
  single process draws), cuts it into the same global batches, and takes its contiguous share of each
  (:func:`shard_bounds`: sizes differ by at most one). A rank multiplies its mean loss by
  ``n_rank * world / n_batch``; DDP averages gradients over ranks, so every update is the gradient of the
  global-batch mean: the single-process update, to float rounding, for losses that are plain means over
  windows. A rank whose share of a short last batch is empty runs one window with weight 0, so all ranks
  take every step and every window counts exactly once per epoch.
* **Evaluation** gives each rank a contiguous block of the loader's windows and gathers the predictions
  in rank order, which is the loader's order: AUC-type metrics see every window, once.
* **One decision.** Metrics and each epoch's record are broadcast from rank 0, so early stopping, the
  plateau schedule and the best checkpoint are decided on the same numbers on every rank.
* **Files** are written by rank 0 only; a barrier at the end of training lets the others read them.
* **Failure.** Every collective times out after ``timeout_s``: a rank that hangs makes the others raise
  ("Timed out waiting ... for recv operation") instead of waiting forever, and a rank that dies breaks
  their connections at once; either way ``torchrun`` then stops every worker and exits non-zero, naming
  the first rank that failed.
"""

from __future__ import annotations

import atexit
import datetime
import hashlib
import os
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, IterableDataset, RandomSampler, Sampler, SequentialSampler
from torch.utils.data.distributed import DistributedSampler

from neural_trader.errors import ConfigError

#: Collective timeout when none is configured: long enough for rank 0 to write a checkpoint and plots
#: while the others wait, short enough that a hung rank fails the run within minutes.
DEFAULT_TIMEOUT_S = 300.0


# ------------------------------------------------------------------------------- process group
def launched_by_torchrun() -> bool:
    """Whether this process is one of several started by ``torchrun`` (``WORLD_SIZE > 1`` in the env)."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def resolve_device(name: str) -> torch.device:
    """``"auto"`` -> CUDA if available else CPU; anything else as ``torch.device(name)``."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def setup(device: str = "auto", timeout_s: float = DEFAULT_TIMEOUT_S) -> torch.device:
    """This rank's device; joins the process group first when launched by ``torchrun``.

    The backend is ``nccl`` on CUDA and ``gloo`` on CPU; a CUDA device is always ``cuda:LOCAL_RANK``
    under ``torchrun``. A process group that already exists (initialised by the caller) is kept. Calling
    this again is harmless.

    Args:
        device: ``"auto"``, ``"cpu"``, ``"cuda"``, ...
        timeout_s: seconds before a collective that a peer never joins raises.

    Example:
        >>> setup("cpu")  # a plain run: no process group
        device(type='cpu')
    """
    dev = resolve_device(device)
    if not launched_by_torchrun():
        return dev
    if dev.type == "cuda":
        dev = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(dev)
    if not dist.is_initialized():
        # Binding the group to this rank's GPU (device_id) lets NCCL set up eagerly and lets barriers
        # know the device; gloo has nothing to bind.
        bind = {"device_id": dev} if dev.type == "cuda" else {}
        backend = "nccl" if dev.type == "cuda" else "gloo"
        dist.init_process_group(backend, timeout=datetime.timedelta(seconds=timeout_s), **bind)
        atexit.register(cleanup)
    return dev


def cleanup() -> None:
    """Destroys the process group, if there is one (registered at exit by :func:`setup`)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def is_distributed() -> bool:
    """Whether a process group of more than one rank is active."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    """This process's rank (0 in a plain run)."""
    return dist.get_rank() if is_distributed() else 0


def world_size() -> int:
    """Number of ranks (1 in a plain run)."""
    return dist.get_world_size() if is_distributed() else 1


def is_main() -> bool:
    """Whether this rank writes files and shows progress (rank 0)."""
    return rank() == 0


def barrier() -> None:
    """Waits for every rank (no-op in a plain run)."""
    if is_distributed():
        dist.barrier()


def wrap_model(model: nn.Module, device: torch.device) -> nn.Module:
    """``model`` in DistributedDataParallel when distributed (unless already wrapped), else ``model``.

    DDP registers the parameters that require a gradient *now*: after unfreezing parameters, wrap the
    bare module again.
    """
    if not is_distributed() or isinstance(model, DistributedDataParallel):
        return model
    return DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)


# --------------------------------------------------------------------------------------- sharding
def shard_bounds(n: int, rank: int, world: int) -> tuple[int, int]:
    """Rank ``rank``'s contiguous part ``[lo, hi)`` of ``n`` items; parts differ in size by at most one.

    Example:
        >>> [shard_bounds(5, r, 2) for r in range(2)]
        [(0, 3), (3, 5)]
    """
    base, extra = divmod(n, world)
    lo = rank * base + min(rank, extra)
    return lo, lo + base + (1 if rank < extra else 0)


def share_of(batch: Sequence[int] | torch.Tensor) -> tuple[Any, int]:
    """This rank's part of one global batch and how many of its windows count.

    An empty part becomes the batch's first window with count 0 (its loss is multiplied by 0), so every
    rank runs every step: DDP needs all ranks in every gradient all-reduce.
    """
    lo, hi = shard_bounds(len(batch), rank(), world_size())
    return (batch[lo:hi], hi - lo) if hi > lo else (batch[:1], 0)


def loss_weight(n_rank: int, n_batch: int) -> float:
    """Multiplier of a rank's mean loss so that DDP's average over ranks is the global-batch mean.

    Example:
        >>> loss_weight(3, 5)  # in a plain run: 3 windows of a 5-window batch
        0.6
    """
    return n_rank * world_size() / n_batch


class ShardedBatchSampler(Sampler[list[int]]):
    """This rank's share of every global batch that ``sampler`` and ``batch_size`` make.

    Iterating draws the base sampler's order once (the same draws, from the same generator, as a
    single-process ``DataLoader``), so on every rank the global batches are the single-process batches.

    Args:
        sampler: the loader's sampler; it must give the same order on every rank (seeded generator).
        batch_size: the global batch.
        drop_last: drop a short last global batch, as ``DataLoader(drop_last=True)`` does.
        rank, world: this rank and the number of ranks.
    """

    def __init__(self, sampler: Sampler[int], batch_size: int, drop_last: bool, rank: int, world: int):
        self.sampler = sampler
        self.batch_size, self.drop_last = batch_size, drop_last
        self.rank, self.world = rank, world

    def __len__(self) -> int:
        n = len(self.sampler)  # type: ignore[arg-type]
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[list[int]]:
        batch: list[int] = []
        for index in self.sampler:
            batch.append(int(index))
            if len(batch) == self.batch_size:
                yield self._share(batch)
                batch = []
        if batch and not self.drop_last:
            yield self._share(batch)

    def _share(self, batch: list[int]) -> list[int]:
        lo, hi = shard_bounds(len(batch), self.rank, self.world)
        return batch[lo:hi] if hi > lo else batch[:1]


class ShardedLoader:
    """A training ``DataLoader`` cut across ranks: yields ``(x, y, n_rank, n_batch)`` per global batch.

    ``n_rank`` windows of this rank's batch count (0 for a padding window), out of ``n_batch`` in the
    global batch. The inner loader keeps the original's dataset, workers, collate function and
    generator, so resuming restores the same generator objects.
    """

    def __init__(self, loader: DataLoader, rank: int, world: int) -> None:
        if loader.batch_size is None:
            raise ConfigError("under torchrun the training loader needs a batch_size, not a batch_sampler")
        self.n_windows = len(loader.sampler)  # type: ignore[arg-type]
        self.batch_size, self.rank, self.world = loader.batch_size, rank, world
        self.batch_sampler = ShardedBatchSampler(
            loader.sampler, loader.batch_size, loader.drop_last, rank, world
        )
        self.loader = _rebuild(loader, self.batch_sampler)

    def __len__(self) -> int:
        return len(self.batch_sampler)

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        for k, (x, y) in enumerate(self.loader):
            n_batch = min(self.batch_size, self.n_windows - k * self.batch_size)
            lo, hi = shard_bounds(n_batch, self.rank, self.world)
            yield x, y, hi - lo, n_batch


def _rebuild(loader: DataLoader, batch_sampler: Sampler[list[int]]) -> DataLoader:
    return DataLoader(
        loader.dataset,
        batch_sampler=batch_sampler,
        num_workers=loader.num_workers,
        collate_fn=loader.collate_fn,
        pin_memory=loader.pin_memory,
        timeout=loader.timeout,
        worker_init_fn=loader.worker_init_fn,
        multiprocessing_context=loader.multiprocessing_context,
        generator=loader.generator,
        prefetch_factor=loader.prefetch_factor,
        persistent_workers=loader.persistent_workers,
    )


def shard_for_training(loader: Iterable, seed: int) -> Iterable:
    """The batches this rank trains on: a :class:`ShardedLoader` when distributed, else ``loader``.

    A loader that already has a ``DistributedSampler`` is used as it is (the caller sharded it; call
    :func:`set_epoch` every epoch). A shuffling ``RandomSampler`` without a generator gets one seeded
    with ``seed``: unseeded, each rank would draw its own order and the shards would overlap.

    Raises:
        ConfigError: distributed with a loader that is not a map-style ``DataLoader``.
    """
    if not is_distributed() or isinstance(getattr(loader, "sampler", None), DistributedSampler):
        return loader
    if not isinstance(loader, DataLoader) or isinstance(loader.dataset, IterableDataset):
        raise ConfigError(
            "under torchrun, pass a torch DataLoader over a map-style dataset, so its windows can be "
            f"split across ranks; got {type(loader).__name__}"
        )
    if isinstance(loader.sampler, RandomSampler) and loader.sampler.generator is None:
        loader.sampler.generator = torch.Generator().manual_seed(seed)
    return ShardedLoader(loader, rank(), world_size())


def set_epoch(loader: Iterable, epoch: int) -> None:
    """Tells a caller-made ``DistributedSampler`` the epoch (its shuffling depends on it)."""
    sampler = getattr(loader, "sampler", None)
    if isinstance(sampler, DistributedSampler):
        sampler.set_epoch(epoch)


def counted(batches: Iterable) -> Iterator[tuple[Any, Any, int, float]]:
    """``(x, y, n, weight)``: ``n`` windows of the batch count, the loss is multiplied by ``weight``.

    ``weight`` is 1.0 in a plain run (and for a caller's ``DistributedSampler``, whose per-rank batches
    DDP averages as they are).
    """
    if isinstance(batches, ShardedLoader):
        for x, y, n_rank, n_batch in batches:
            yield x, y, n_rank, loss_weight(n_rank, n_batch)
    else:
        for x, y in batches:
            yield x, y, len(x), 1.0


def shard_for_evaluation(loader: Iterable) -> Iterable:
    """This rank's contiguous block of an evaluation loader's windows (``loader`` in a plain run).

    The blocks follow the loader's order (dataset order for sequential and random samplers), so the
    predictions gathered in rank order are in the loader's order.
    """
    if not is_distributed() or isinstance(getattr(loader, "sampler", None), DistributedSampler):
        return loader
    if not isinstance(loader, DataLoader) or loader.batch_size is None:
        raise ConfigError(
            "under torchrun, evaluate a torch DataLoader with a batch_size, so its windows can be "
            f"split across ranks; got {type(loader).__name__}"
        )
    if isinstance(loader.sampler, (SequentialSampler, RandomSampler)):
        order: Sequence[int] = range(len(loader.dataset))  # type: ignore[arg-type]
    else:
        order = [int(i) for i in loader.sampler]
    lo, hi = shard_bounds(len(order), rank(), world_size())
    mine = list(order[lo:hi])
    batches = [mine[i : i + loader.batch_size] for i in range(0, len(mine), loader.batch_size)]
    return _rebuild(loader, batches)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------- reductions
def all_reduce_sum(values: Sequence[float], device: torch.device) -> list[float]:
    """Sums of ``values`` over ranks, in float64 (``values`` unchanged in a plain run)."""
    if not is_distributed():
        return [float(v) for v in values]
    t = torch.tensor([float(v) for v in values], dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return t.tolist()


def gather_arrays(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Every rank's arrays concatenated in rank order (``arrays`` unchanged in a plain run).

    A rank without data passes ``{}``.
    """
    if not is_distributed():
        return arrays
    parts: list[Any] = [None] * world_size()
    dist.all_gather_object(parts, arrays)
    keys = next((list(p) for p in parts if p), [])
    return {k: np.concatenate([p[k] for p in parts if p]) for k in keys}


def broadcast_from_main(value: Any) -> Any:
    """Rank 0's ``value`` on every rank (``value`` in a plain run): one set of numbers decides."""
    if not is_distributed():
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def check_same(value: Any, what: str) -> None:
    """Raises on every rank unless ``value`` is equal on all ranks (no-op in a plain run).

    Raises:
        ConfigError: naming ``what`` and the values of the ranks.
    """
    if not is_distributed():
        return
    values: list[Any] = [None] * world_size()
    dist.all_gather_object(values, value)
    if any(v != values[0] for v in values):
        raise ConfigError(f"{what} differs across ranks: {values}; every rank must build the same data")


def generator_digest(generators: Sequence[torch.Generator]) -> list[str]:
    """Short digests of generator states, to check that ranks will draw the same order."""
    return [hashlib.sha1(g.get_state().numpy().tobytes()).hexdigest()[:16] for g in generators]
