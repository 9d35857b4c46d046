"""Timing helpers of the side-by-side benchmarks: calls timed in rounds, and the spread over rounds.

A shared machine has slow spells. Timing every runtime in the same rounds (a block of calls of each per
round, in rotating order) makes a slow spell fall on all of them alike, and reporting each round's p50
and p99 (their minimum and maximum over rounds) shows how far one run can be trusted: a figure that holds
in every round holds, one that swings between rounds does not.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch


def time_calls(fn: Callable[[], object], repeats: int, warmup: int = 2) -> np.ndarray:
    """Seconds of each of ``repeats`` calls, after ``warmup`` untimed ones."""
    for _ in range(warmup):
        fn()
    times = np.empty(repeats)
    for i in range(repeats):
        start = time.perf_counter()
        fn()
        times[i] = time.perf_counter() - start
    return times


def time_rounds(
    fns: dict[str, Callable[[], object]], rounds: int, block: int, warmup: int = 2
) -> dict[str, list[np.ndarray]]:
    """Seconds of ``block`` calls of each function per round, for ``rounds`` rounds.

    Each round times a block of every function in turn, the order rotating every round, so a slow spell
    of a shared machine falls on every runtime alike. Each block starts after a short pause and
    ``warmup`` untimed calls, so the thread pool of the runtime timed before it (PyTorch's and ORT's spin
    after a call) has gone idle.

    Returns:
        For each function, one array of ``block`` call times per round.

    Example:
        >>> times = time_rounds({"noop": lambda: None}, rounds=3, block=5, warmup=0)
        >>> len(times["noop"]), times["noop"][0].shape
        (3, (5,))
    """
    names = list(fns)
    times: dict[str, list[np.ndarray]] = {name: [] for name in names}
    for i in range(rounds):
        for j in range(len(names)):
            name = names[(i + j) % len(names)]
            time.sleep(0.02)
            times[name].append(time_calls(fns[name], block, warmup))
    return times


def spread(rounds: list[np.ndarray]) -> dict[str, float | list[float]]:
    """p50 and p99 of all calls in ms, and each one's minimum and maximum over rounds.

    Example:
        >>> s = spread([np.array([0.001, 0.002]), np.array([0.003, 0.004])])
        >>> s["p50_ms"], s["round_p50_ms"]
        (2.5, [1.5, 3.5])
    """
    every = np.concatenate(rounds)
    p50 = [float(np.percentile(r, 50) * 1e3) for r in rounds]
    p99 = [float(np.percentile(r, 99) * 1e3) for r in rounds]
    return {
        "p50_ms": float(np.percentile(every, 50) * 1e3),
        "p99_ms": float(np.percentile(every, 99) * 1e3),
        "round_p50_ms": [min(p50), max(p50)],
        "round_p99_ms": [min(p99), max(p99)],
    }


def rounds_ahead(native: list[np.ndarray], other: list[np.ndarray]) -> int:
    """In how many rounds the native engine's p50 was below ``other``'s (same round, same time window)."""
    return int(sum(np.percentile(n, 50) < np.percentile(o, 50) for n, o in zip(native, other, strict=True)))


def single_core_peak_gflops() -> float:
    """Measured float32 matmul GFLOP/s of one torch thread: the practical single-core ceiling here."""
    torch.set_num_threads(1)
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    best = time_calls(lambda: a @ b, 5).min()
    return 2 * 1024**3 / best / 1e9
