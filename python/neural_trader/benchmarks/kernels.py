"""Rust data kernels vs the obvious numpy / PyTorch code and vs a plain memory copy.

Sizes follow issue 4: windows of 105 steps x 86 features over 100,000 rows of float32. At stride 1 the
output would be 100,000 x 105 x 86 x 4 bytes = 3.6 GB per call, too much next to numpy's temporaries on a
small machine, so the windows use **stride 10** (9,990 windows, 361 MB of output per call). Masks are
100,000 rows of 105 steps at ratio 0.15. Augmentation: 20,000 OHLCV windows of 105 steps, each step (time
warp, jitter, volatility scaling) with probability 0.5, against the same steps vectorised in numpy. The
window gather and triple-barrier labels are measured by :mod:`neural_trader.benchmarks.training_kernels`
(sizes in its docstring) and reported here.

Every figure is the median of ``repeats`` timed calls after one warm-up call, all in one process, and
every comparison is a ratio between numbers measured in the same run. Run it as::

    python -m neural_trader.benchmarks.kernels --threads 2

Threads: rayon reads ``RAYON_NUM_THREADS`` once, at the first kernel call in the process, so ``run``
sets it only if no kernel has run yet (``__main__`` does it before anything else); torch gets
``torch.set_num_threads``. numpy's elementwise code is single-threaded either way.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

from neural_trader.benchmarks import training_kernels

ROWS = 100_000
FEATURES = 86
WINDOW = 105
STRIDE = 10
MASK_ROWS = 100_000
MASK_LENGTH = 105
MASK_RATIO = 0.15
PATCH = 7
AUGMENT_WINDOWS = 20_000  # OHLCV windows of WINDOW steps for the augmentation benchmark


def _median_seconds(fn: Callable[[], Any], repeats: int) -> float:
    fn()  # warm-up: page faults of first use, lazy initialisation
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _windows(repeats: int) -> dict[str, float]:
    import numpy as np
    import torch
    from numpy.lib.stride_tricks import sliding_window_view

    from neural_trader import kernels

    rng = np.random.default_rng(0)
    x = rng.normal(100.0, 10.0, size=(ROWS, FEATURES)).astype(np.float32)
    mean, std = kernels.zscore_stats(x)
    mean32, std32 = mean.astype(np.float32), std.astype(np.float32)
    n = (ROWS - WINDOW) // STRIDE + 1
    out_bytes = n * WINDOW * FEATURES * 4
    xt = torch.from_numpy(x)
    mean_t, std_t = torch.from_numpy(mean32), torch.from_numpy(std32)

    def numpy_plain() -> np.ndarray:
        return np.ascontiguousarray(sliding_window_view(x, WINDOW, axis=0)[::STRIDE].transpose(0, 2, 1))

    def numpy_zscore() -> np.ndarray:
        view = sliding_window_view(x, WINDOW, axis=0)[::STRIDE].transpose(0, 2, 1)
        return np.ascontiguousarray((view - mean32) / std32)

    def torch_plain() -> torch.Tensor:
        return xt.unfold(0, WINDOW, STRIDE).transpose(1, 2).contiguous()

    def torch_zscore() -> torch.Tensor:
        return ((xt.unfold(0, WINDOW, STRIDE).transpose(1, 2) - mean_t) / std_t).contiguous()

    # Sanity: all implementations agree before anything is timed.
    ours = kernels.sliding_windows(x, WINDOW, STRIDE, mean=mean, std=std)
    np.testing.assert_allclose(ours, numpy_zscore(), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(kernels.sliding_windows(x, WINDOW, STRIDE), torch_plain().numpy())
    del ours

    src = np.ones(out_bytes // 4, dtype=np.float32)
    dst = np.empty_like(src)
    timings = {
        "rust_plain": lambda: kernels.sliding_windows(x, WINDOW, STRIDE),
        "rust_zscore": lambda: kernels.sliding_windows(x, WINDOW, STRIDE, mean=mean, std=std),
        "numpy_plain": numpy_plain,
        "numpy_zscore": numpy_zscore,
        "torch_plain": torch_plain,
        "torch_zscore": torch_zscore,
        # The physical limit: the same number of bytes copied into an existing buffer...
        "copyto_same_bytes": lambda: np.copyto(dst, src),
        # ...and into a fresh one, which also pays the page faults a new output pays.
        "alloc_copy_same_bytes": lambda: src.copy(),
    }
    result = {name: _median_seconds(fn, repeats) for name, fn in timings.items()}
    result["output_bytes"] = float(out_bytes)
    return result


def _numpy_random_mask(rng: Any, n: int, length: int, k: int) -> Any:
    import numpy as np

    order = np.argsort(rng.random((n, length)), axis=1)[:, :k]
    out = np.zeros((n, length), dtype=bool)
    np.put_along_axis(out, order, True, axis=1)
    return out


def _numpy_patch_mask(rng: Any, n: int, length: int, patch: int, ratio: float) -> Any:
    import numpy as np

    patches = length // patch
    chosen = min(max(int(np.floor(ratio * patches + 0.5)), 1), patches)
    order = np.argsort(rng.random((n, patches)), axis=1)[:, :chosen]
    grid = np.zeros((n, patches), dtype=bool)
    np.put_along_axis(grid, order, True, axis=1)
    out = np.zeros((n, length), dtype=bool)
    out[:, : patches * patch] = np.repeat(grid, patch, axis=1)
    return out


def _numpy_block_mask(rng: Any, n: int, length: int, k: int, mean_run: int) -> Any:
    # The kernel's algorithm vectorised: m runs whose lengths are a random composition of k (m - 1 cut
    # points among k - 1) separated by random gaps (stars and bars: m bars among spare + m slots).
    # Run j starts at bars[j] + (steps masked before it).
    import numpy as np

    visible = length - k
    m = min(max(int(np.floor(k / mean_run + 0.5)), 1), min(k, visible + 1))
    spare = visible - (m - 1)
    cuts = np.sort(np.argsort(rng.random((n, k - 1)), axis=1)[:, : m - 1], axis=1) + 1
    bounds = np.concatenate([np.zeros((n, 1), np.int64), cuts, np.full((n, 1), k)], axis=1)
    bars = np.sort(np.argsort(rng.random((n, spare + m)), axis=1)[:, :m], axis=1)
    starts = bars + bounds[:, :-1]
    ends = starts + np.diff(bounds, axis=1)
    edges = np.zeros((n, length + 1), np.int8)
    np.put_along_axis(edges, starts, 1, axis=1)
    np.put_along_axis(edges, ends, -1, axis=1)
    return np.cumsum(edges[:, :length], axis=1, dtype=np.int8) > 0


def _numpy_block_one_run_mask(rng: Any, n: int, length: int, k: int) -> Any:
    # The simplest vectorised block mask: ONE run of k steps at a random start. It does less than the
    # kernel (which places round(k / patch_size) runs of random lengths), so its ratio flatters numpy.
    import numpy as np

    starts = rng.integers(0, length - k + 1, size=n)[:, None]
    steps = np.arange(length)[None, :]
    return (steps >= starts) & (steps < starts + k)


def _masks(repeats: int) -> dict[str, float]:
    import numpy as np

    from neural_trader import kernels

    k = int(np.floor(MASK_RATIO * MASK_LENGTH + 0.5))
    rng = np.random.default_rng(0)
    assert (_numpy_random_mask(rng, 10, MASK_LENGTH, k).sum(axis=1) == k).all()
    same_runs = _numpy_block_mask(rng, 50, MASK_LENGTH, k, PATCH)
    ours = kernels.mask(50, MASK_LENGTH, MASK_RATIO, "block", patch_size=PATCH)
    assert (same_runs.sum(axis=1) == k).all()
    run_starts = np.diff(same_runs.astype(np.int8), axis=1, prepend=0) == 1
    our_starts = np.diff(ours.astype(np.int8), axis=1, prepend=0) == 1
    assert (run_starts.sum(axis=1) == our_starts.sum(axis=1)).all(), "numpy block baseline differs"
    timings = {
        "rust_random": lambda: kernels.mask(MASK_ROWS, MASK_LENGTH, MASK_RATIO, "random"),
        "numpy_random": lambda: _numpy_random_mask(rng, MASK_ROWS, MASK_LENGTH, k),
        "rust_block": lambda: kernels.mask(MASK_ROWS, MASK_LENGTH, MASK_RATIO, "block", patch_size=PATCH),
        "numpy_block": lambda: _numpy_block_mask(rng, MASK_ROWS, MASK_LENGTH, k, PATCH),
        "numpy_block_one_run": lambda: _numpy_block_one_run_mask(rng, MASK_ROWS, MASK_LENGTH, k),
        "rust_patch": lambda: kernels.mask(MASK_ROWS, MASK_LENGTH, MASK_RATIO, "patch", patch_size=PATCH),
        "numpy_patch": lambda: _numpy_patch_mask(rng, MASK_ROWS, MASK_LENGTH, PATCH, MASK_RATIO),
    }
    return {name: _median_seconds(fn, repeats) for name, fn in timings.items()}


def _repair(w: Any) -> None:
    """high >= max(open, close), low <= min(open, close), volume >= 0, in place on (N, W, 5)."""
    import numpy as np

    body_hi, body_lo = np.maximum(w[..., 0], w[..., 3]), np.minimum(w[..., 0], w[..., 3])
    np.maximum(w[..., 1], body_hi, out=w[..., 1])
    np.minimum(w[..., 2], body_lo, out=w[..., 2])
    np.maximum(w[..., 4], 0.0, out=w[..., 4])


def _numpy_augment(rng: Any, windows: Any, prob: float = 0.5, warp: float = 0.12) -> Any:
    """The three augmentation steps of ``kernels.augment`` vectorised over windows in numpy (float64,
    same distributions, not the same random streams)."""
    import numpy as np

    w = windows.astype(np.float64)
    n, length, _ = w.shape
    _repair(w)
    # Time warp: speed drawn at 5 knots, linear in between, integrated, rescaled to span the window.
    knots = rng.uniform(1 - warp, 1 + warp, size=(n, 5))
    pos = np.linspace(0, 4, length - 1)
    lo = np.minimum(pos.astype(int), 3)
    frac = pos - lo
    speed = knots[:, lo] * (1 - frac) + knots[:, lo + 1] * frac
    t = np.concatenate([np.zeros((n, 1)), np.cumsum(speed, axis=1)], axis=1)
    t *= (length - 1) / t[:, -1:]
    left = np.minimum(t.astype(int), length - 2)
    weight = (t - left)[..., None]
    warped = np.take_along_axis(w, left[..., None], 1) * (1 - weight)
    warped += np.take_along_axis(w, left[..., None] + 1, 1) * weight
    pick = rng.random(n) < prob
    w[pick] = warped[pick]
    _repair(w)
    # Jitter: noise scaled by each feature's std within the window.
    pick = rng.random(n) < prob
    w[pick] += rng.standard_normal(w[pick].shape) * 0.05 * w[pick].std(axis=1, keepdims=True)
    _repair(w)
    # Volatility scaling: both wicks around the body by one factor per window.
    pick = rng.random(n) < prob
    s = rng.uniform(0.85, 1.15, size=(int(pick.sum()), 1))
    v = w[pick]
    body_hi, body_lo = np.maximum(v[..., 0], v[..., 3]), np.minimum(v[..., 0], v[..., 3])
    v[..., 1] = body_hi + s * (v[..., 1] - body_hi)
    v[..., 2] = body_lo - s * (body_lo - v[..., 2])
    w[pick] = v
    _repair(w)
    return w.astype(np.float32)


def _augmentation(repeats: int) -> dict[str, float]:
    import numpy as np

    from neural_trader import kernels

    rng = np.random.default_rng(0)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, size=(AUGMENT_WINDOWS, WINDOW)), axis=1))
    spread = np.abs(rng.normal(0, 0.5, size=(AUGMENT_WINDOWS, WINDOW, 2)))
    windows = np.stack(
        [close, close + spread[..., 0], close - spread[..., 1], close, rng.uniform(1e5, 1e6, close.shape)],
        axis=-1,
    ).astype(np.float32)
    for out in (kernels.augment(windows, seed=1), _numpy_augment(rng, windows)):
        assert (out[..., 1] >= np.maximum(out[..., 0], out[..., 3])).all(), "invalid high"
        assert (out[..., 2] <= np.minimum(out[..., 0], out[..., 3])).all(), "invalid low"
    timings = {
        "rust_augment": lambda: kernels.augment(windows, seed=1),
        "numpy_augment": lambda: _numpy_augment(rng, windows),
    }
    return {name: _median_seconds(fn, repeats) for name, fn in timings.items()}


def run(threads: int | None = None, repeats: int = 5) -> dict[str, Any]:
    """Times the kernels and their baselines; returns seconds, bandwidths and ratios.

    Args:
        threads: threads for rayon (via ``RAYON_NUM_THREADS``, effective only before the first kernel
            call in this process) and for torch. ``None`` keeps the defaults (all cores).
        repeats: timed calls per measurement (median reported), after one warm-up call.

    Returns:
        ``{"threads": ..., "windows": {name: seconds, ...}, "masks": {...}, "ratios": {...}}``; ratios
        above 1 mean the Rust kernel is faster (or, for ``*_of_copy_bandwidth``, the fraction of a plain
        copy's bandwidth that the kernel reaches).

    Example:
        >>> result = run(threads=2, repeats=3)  # doctest: +SKIP
        >>> result["ratios"]["windows_plain_vs_numpy"]  # doctest: +SKIP
    """
    if threads is not None:
        os.environ["RAYON_NUM_THREADS"] = str(threads)
    import torch

    if threads is not None:
        torch.set_num_threads(threads)
    windows = _windows(repeats)
    masks = _masks(repeats)
    augmentation = _augmentation(repeats)
    gather = training_kernels.gather(repeats)
    barriers = training_kernels.triple_barrier(repeats)
    ratios = {
        "windows_plain_vs_numpy": windows["numpy_plain"] / windows["rust_plain"],
        "windows_zscore_vs_numpy": windows["numpy_zscore"] / windows["rust_zscore"],
        "windows_plain_vs_torch": windows["torch_plain"] / windows["rust_plain"],
        "windows_zscore_vs_torch": windows["torch_zscore"] / windows["rust_zscore"],
        "windows_plain_of_copy_bandwidth": windows["copyto_same_bytes"] / windows["rust_plain"],
        "windows_zscore_of_copy_bandwidth": windows["copyto_same_bytes"] / windows["rust_zscore"],
        "windows_plain_of_alloc_copy_bandwidth": windows["alloc_copy_same_bytes"] / windows["rust_plain"],
        "windows_zscore_of_alloc_copy_bandwidth": windows["alloc_copy_same_bytes"] / windows["rust_zscore"],
        "mask_random_vs_numpy": masks["numpy_random"] / masks["rust_random"],
        "mask_block_vs_numpy": masks["numpy_block"] / masks["rust_block"],
        "mask_block_vs_numpy_one_run": masks["numpy_block_one_run"] / masks["rust_block"],
        "mask_patch_vs_numpy": masks["numpy_patch"] / masks["rust_patch"],
        "augment_vs_numpy": augmentation["numpy_augment"] / augmentation["rust_augment"],
        "gather_vs_numpy_fancy_index": gather["numpy_fancy_index"] / gather["rust_into_buffer"],
        "gather_zscore_vs_numpy_fancy_index": gather["numpy_fancy_index_zscore"]
        / gather["rust_zscore_into_buffer"],
        "gather_vs_numpy_take_into_buffer": gather["numpy_take_into_buffer"] / gather["rust_into_buffer"],
        "gather_vs_torch_index_select": gather["torch_index_select_into_buffer"] / gather["rust_into_buffer"],
        "gather_of_copy_bandwidth": gather["copyto_same_bytes"] / gather["rust_into_buffer"],
        "gather_zscore_of_copy_bandwidth": gather["copyto_same_bytes"] / gather["rust_zscore_into_buffer"],
        "triple_barrier_vs_numpy": barriers["numpy_vectorised"] / barriers["rust"],
        "triple_barrier_vs_python_loop": barriers["python_loop_scaled"] / barriers["rust"],
    }
    return {
        "threads": threads,
        "rayon_threads_env": os.environ.get("RAYON_NUM_THREADS"),
        "torch_threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "windows": windows,
        "masks": masks,
        "augmentation": augmentation,
        "gather": gather,
        "triple_barrier": barriers,
        "ratios": ratios,
    }


def format_table(result: dict[str, Any]) -> str:
    """Renders :func:`run`'s result as a plain-text table."""
    gb = result["windows"]["output_bytes"] / 1e9
    lines = [
        f"threads: rayon={result['rayon_threads_env'] or 'default'} torch={result['torch_threads']} "
        f"cpus={result['cpu_count']}",
        f"sliding windows: {ROWS} rows x {FEATURES} features, window {WINDOW}, stride {STRIDE} "
        f"-> {gb * 1e3:.0f} MB out (median of timed calls)",
        f"  {'implementation':<24}{'ms':>10}{'GB/s out':>10}",
    ]
    for name, seconds in result["windows"].items():
        if name != "output_bytes":
            lines.append(f"  {name:<24}{seconds * 1e3:>10.1f}{gb / seconds:>10.2f}")
    lines.append(f"masks: {MASK_ROWS} x {MASK_LENGTH}, ratio {MASK_RATIO}, patch_size {PATCH}")
    lines.append(f"  {'implementation':<24}{'ms':>10}")
    for name, seconds in result["masks"].items():
        lines.append(f"  {name:<24}{seconds * 1e3:>10.2f}")
    lines.append(f"augmentation: {AUGMENT_WINDOWS} OHLCV windows of {WINDOW} steps, each step with p=0.5")
    lines.append(f"  {'implementation':<24}{'ms':>10}")
    for name, seconds in result["augmentation"].items():
        lines.append(f"  {name:<24}{seconds * 1e3:>10.2f}")
    lines.extend(training_kernels.table_rows(result["gather"], result["triple_barrier"]))
    lines.append("ratios (> 1: Rust faster; *_of_*copy_bandwidth: fraction of a plain copy's bandwidth)")
    for name, ratio in result["ratios"].items():
        lines.append(f"  {name:<42}{ratio:>8.2f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Command line: ``python -m neural_trader.benchmarks.kernels [--threads N] [--repeats R]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None, help="rayon and torch threads (default: all)")
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per measurement")
    args = parser.parse_args(argv)
    print(format_table(run(args.threads, args.repeats)))


if __name__ == "__main__":
    main()
