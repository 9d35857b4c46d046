"""Sharding across ranks, checked in one process: each rank's share of every global batch, put back
together, is exactly the batch a single-process DataLoader draws; evaluation blocks keep the order."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch.utils.data import DataLoader, TensorDataset

from neural_trader.errors import ConfigError
from neural_trader.training import distributed
from neural_trader.training.distributed import ShardedBatchSampler, ShardedLoader, shard_bounds


@given(n=st.integers(0, 300), world=st.integers(1, 9))
def test_shard_bounds_cut_n_items_into_contiguous_parts_differing_by_at_most_one(n, world) -> None:
    bounds = [shard_bounds(n, r, world) for r in range(world)]
    assert bounds[0][0] == 0 and bounds[-1][1] == n
    assert all(hi == lo for (_, hi), (lo, _) in zip(bounds, bounds[1:], strict=False))
    sizes = [hi - lo for lo, hi in bounds]
    assert max(sizes) - min(sizes) <= 1 and sizes == sorted(sizes, reverse=True)


def _loader(
    n: int, batch_size: int, *, shuffle: bool = True, drop_last: bool = False, workers: int = 0
) -> DataLoader:
    x = torch.arange(n, dtype=torch.float32)[:, None]
    dataset = TensorDataset(x, x.clone())
    generator = torch.Generator().manual_seed(7) if shuffle else None
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle,
        generator=generator,
        drop_last=drop_last,
        num_workers=workers,
    )


@pytest.mark.parametrize(
    ("n", "batch", "world", "drop_last"),
    [
        (50, 8, 2, False),
        (49, 8, 2, False),
        (50, 8, 3, False),
        (41, 8, 3, False),
        (50, 8, 2, True),
        (9, 8, 4, False),
    ],
)
def test_rank_shares_put_together_are_the_single_process_batches_epoch_after_epoch(
    n, batch, world, drop_last
) -> None:
    single = _loader(n, batch, drop_last=drop_last)
    ranks = [ShardedLoader(_loader(n, batch, drop_last=drop_last), r, world) for r in range(world)]
    for _epoch in range(3):  # every epoch draws a new order from the same generator stream
        expected = [x[:, 0].long().tolist() for x, _ in single]
        per_rank = [list(loader) for loader in ranks]
        assert all(len(batches) == len(expected) == len(single) for batches in per_rank)
        for k, batch_ids in enumerate(expected):
            joined = []
            for r in range(world):
                x, _, n_rank, n_batch = per_rank[r][k]
                assert n_batch == len(batch_ids)
                lo, hi = shard_bounds(n_batch, r, world)
                assert n_rank == hi - lo
                if n_rank == 0:  # an empty share: one window, with weight 0
                    assert x[:, 0].long().tolist() == batch_ids[:1]
                else:
                    joined += x[:, 0].long().tolist()
            assert joined == batch_ids


def test_worker_processes_draw_the_same_order() -> None:
    # With workers the loader draws a worker base seed from its generator before the sampler's order.
    single = [x[:, 0].long().tolist() for x, _ in _loader(30, 8, workers=1)]
    shares = [list(ShardedLoader(_loader(30, 8, workers=1), r, 2)) for r in range(2)]
    joined = [a[0][:, 0].long().tolist() + b[0][:, 0].long().tolist() for a, b in zip(*shares, strict=True)]
    assert joined == single


def test_a_one_window_last_batch_leaves_one_rank_a_zero_weight_window() -> None:
    # 17 windows in batches of 8: the last global batch holds one window, which rank 0 trains on.
    shares = [list(ShardedBatchSampler(range(17), 8, False, r, 2)) for r in range(2)]
    assert shares[0][-1] == [16] and shares[1][-1] == [16]
    last = [list(ShardedLoader(_loader(17, 8, shuffle=False), r, 2))[-1] for r in range(2)]
    assert [(n_rank, n_batch) for _, _, n_rank, n_batch in last] == [(1, 1), (0, 1)]


def test_a_plain_run_leaves_loaders_untouched_and_weights_every_batch_by_one() -> None:
    loader = _loader(20, 8)
    assert not distributed.is_distributed() and distributed.world_size() == 1 and distributed.is_main()
    assert distributed.shard_for_training(loader, seed=0) is loader
    assert distributed.shard_for_evaluation(loader) is loader
    counted = list(distributed.counted(loader))
    assert [(n, w) for _, _, n, w in counted] == [(8, 1.0), (8, 1.0), (4, 1.0)]
    assert distributed.all_reduce_sum([1.5, 2], torch.device("cpu")) == [1.5, 2.0]
    arrays = {"p": np.arange(3.0)}
    assert distributed.gather_arrays(arrays) is arrays and distributed.broadcast_from_main(5) == 5
    distributed.check_same(1, "anything")  # nothing to compare with
    assert distributed.setup("cpu") == torch.device("cpu")


def test_a_loader_with_a_custom_batch_sampler_is_refused_for_sharding() -> None:
    x = torch.zeros(6, 1)
    loader = DataLoader(TensorDataset(x, x), batch_sampler=[[0, 1], [2, 3, 4, 5]])
    with pytest.raises(ConfigError, match="batch_size"):
        ShardedLoader(loader, 0, 2)


@pytest.mark.parametrize("module", [distributed])
def test_docstring_examples(module) -> None:
    assert doctest.testmod(module).failed == 0
