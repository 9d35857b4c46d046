"""The kernels that feed training, against what one would write without them; part of the kernels benchmark
(:mod:`neural_trader.benchmarks.kernels` calls these and prints their rows).

* Window gather (constant-memory training): one batch of ``GATHER_BATCH`` windows of ``WINDOW`` x
  ``FEATURES`` float32 at random starts of a ``GATHER_ROWS``-row series, written into a reused buffer, vs
  numpy fancy indexing (``series[starts[:, None] + arange(window)]``, then normalised), vs ``np.take`` and
  ``torch.index_select`` into the same reused buffer, vs a plain copy of the same number of bytes.
* Triple-barrier labels: ``BARRIER_ROWS`` closes, horizon ``BARRIER_HORIZON``, barriers at
  ``BARRIER_MULTIPLIER`` rolling sigmas, vs a vectorised numpy version (a ``(chunk, h)`` matrix of forward
  log closes from ``sliding_window_view`` and the first crossing by ``argmax``, chunked to bound memory),
  vs the plain Python loop timed on the first ``BARRIER_LOOP_EVENTS`` events and scaled to all of them.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable
from typing import Any

GATHER_ROWS = 1_000_000
FEATURES = 86
WINDOW = 105
GATHER_BATCH = 512
BARRIER_ROWS = 1_000_000
BARRIER_HORIZON = 20
BARRIER_MULTIPLIER = 2.0
BARRIER_VOL_WINDOW = 20
BARRIER_LOOP_EVENTS = 20_000
NUMPY_CHUNK = 1 << 16  # events per chunk of the vectorised numpy version: (65536, 20) float64 = 10 MB


def _median_seconds(fn: Callable[[], Any], repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def gather(repeats: int) -> dict[str, float]:
    """Seconds per batch of each gather implementation (median of ``10 * repeats`` batches)."""
    import numpy as np
    import torch

    from neural_trader import kernels

    rng = np.random.default_rng(0)
    x = rng.standard_normal((GATHER_ROWS, FEATURES), dtype=np.float32)
    x *= 10.0
    x += 100.0
    mean, std = kernels.zscore_stats(x)
    mean32, std32 = mean.astype(np.float32), std.astype(np.float32)
    starts = rng.integers(0, GATHER_ROWS - WINDOW + 1, size=GATHER_BATCH)
    index = starts[:, None] + np.arange(WINDOW)
    out = np.empty((GATHER_BATCH, WINDOW, FEATURES), dtype=np.float32)
    xt, flat_index = torch.from_numpy(x), torch.from_numpy(index.reshape(-1))
    out_t = torch.from_numpy(out).view(GATHER_BATCH * WINDOW, FEATURES)

    def numpy_zscore() -> Any:
        return (x[index] - mean32) / std32

    # Sanity: all implementations agree before anything is timed.
    np.testing.assert_array_equal(kernels.gather_windows(x, starts, WINDOW), x[index])
    ours = kernels.gather_windows(x, starts, WINDOW, mean=mean, std=std)
    np.testing.assert_allclose(ours, numpy_zscore(), rtol=1e-5, atol=1e-5)
    torch.index_select(xt, 0, flat_index, out=out_t)
    np.testing.assert_array_equal(out, x[index])

    src = np.ones(out.size, dtype=np.float32)
    dst = np.empty_like(src)
    timings = {
        "rust_into_buffer": lambda: kernels.gather_windows(x, starts, WINDOW, out=out),
        "rust_zscore_into_buffer": lambda: kernels.gather_windows(
            x, starts, WINDOW, mean=mean, std=std, out=out
        ),
        "numpy_fancy_index": lambda: x[index],
        "numpy_fancy_index_zscore": numpy_zscore,
        "numpy_take_into_buffer": lambda: np.take(x, index, axis=0, out=out),
        "torch_index_select_into_buffer": lambda: torch.index_select(xt, 0, flat_index, out=out_t),
        "copyto_same_bytes": lambda: np.copyto(dst, src),
    }
    result = {name: _median_seconds(fn, 10 * repeats) for name, fn in timings.items()}
    result["output_bytes"] = float(out.nbytes)
    return result


def _barrier_inputs() -> tuple[Any, Any]:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(1)
    # A random walk whose volatility drifts between calm and wild, like real bars.
    vol = 0.01 * np.exp(0.5 * np.sin(np.arange(BARRIER_ROWS) / 5_000))
    close = 100 * np.exp(np.cumsum(rng.normal(0.0, 1.0, BARRIER_ROWS) * vol))
    sigma = pd.Series(np.log(close)).diff().rolling(BARRIER_VOL_WINDOW).std().to_numpy()
    return close, sigma


def numpy_triple_barrier(close: Any, sigma: Any, horizon: int, upper: float, lower: float) -> tuple[Any, Any]:
    """Vectorised numpy triple barrier (labels and hit rows; vertical label 0), chunked over events."""
    import numpy as np
    from numpy.lib.stride_tricks import sliding_window_view

    n = len(close)
    x = np.log(close)
    # Rows past the end are NaN: no comparison with NaN is true, so they are never a hit.
    future = sliding_window_view(np.concatenate([x, np.full(horizon, np.nan)]), horizon + 1)[:, 1:]
    label = np.full(n, np.nan, dtype=np.float32)
    t1 = np.full(n, -1, dtype=np.int64)
    steps = np.arange(1, horizon + 1)
    for lo in range(0, n, NUMPY_CHUNK):
        hi = min(lo + NUMPY_CHUNK, n)
        path, entry, s = future[lo:hi], x[lo:hi], sigma[lo:hi]
        up_hit = path >= (entry + upper * s)[:, None]
        down_hit = path <= (entry - lower * s)[:, None]
        first_up = np.where(up_hit.any(axis=1), up_hit.argmax(axis=1), horizon)
        first_down = np.where(down_hit.any(axis=1), down_hit.argmax(axis=1), horizon)
        first = np.minimum(first_up, first_down)
        rows = np.arange(lo, hi)
        hit = first < horizon
        complete = rows + horizon < n
        usable = s > 0  # False for NaN too
        chunk_label = np.where(hit, np.where(first_up < first_down, 1.0, -1.0), 0.0)
        known = usable & (hit | complete)
        label[lo:hi] = np.where(known, chunk_label, np.nan)
        t1[lo:hi] = np.where(known, rows + np.where(hit, steps[np.minimum(first, horizon - 1)], horizon), -1)
    return label, t1


def python_triple_barrier(
    close: Any, sigma: Any, horizon: int, upper: float, lower: float, events: int
) -> Any:
    """The plain loop over events and rows (vertical label 0) for the first ``events`` events."""
    x = [math.log(c) for c in close]
    n = len(x)
    labels = [math.nan] * events
    for e in range(events):
        s = sigma[e]
        if not s > 0:
            continue
        up, down = x[e] + upper * s, x[e] - lower * s
        for t in range(e + 1, min(e + horizon, n - 1) + 1):
            if x[t] >= up:
                labels[e] = 1.0
                break
            if x[t] <= down:
                labels[e] = -1.0
                break
        else:
            if e + horizon < n:
                labels[e] = 0.0
    return labels


def triple_barrier(repeats: int) -> dict[str, float]:
    """Seconds per full labelling of ``BARRIER_ROWS`` rows (the Python loop scaled from its subset)."""
    import numpy as np

    from neural_trader import kernels

    close, sigma = _barrier_inputs()
    h, m = BARRIER_HORIZON, BARRIER_MULTIPLIER
    label, t1, _ = kernels.triple_barrier(close, sigma, h, m, m)
    want_label, want_t1 = numpy_triple_barrier(close, sigma, h, m, m)
    np.testing.assert_array_equal(label, want_label)
    np.testing.assert_array_equal(t1, want_t1)
    loop = python_triple_barrier(close, sigma, h, m, m, 1_000)
    np.testing.assert_array_equal(label[:1_000], np.array(loop, dtype=np.float32))

    events = BARRIER_LOOP_EVENTS
    subset = close[: events + h + 1]  # the rows the first events read, so the loop's log pass is scaled too
    loop_seconds = _median_seconds(lambda: python_triple_barrier(subset, sigma, h, m, m, events), 1)
    return {
        "rust": _median_seconds(lambda: kernels.triple_barrier(close, sigma, h, m, m), repeats),
        "numpy_vectorised": _median_seconds(lambda: numpy_triple_barrier(close, sigma, h, m, m), repeats),
        "python_loop_scaled": loop_seconds * BARRIER_ROWS / events,
    }


def table_rows(gathered: dict[str, float], barriers: dict[str, float]) -> list[str]:
    """The lines of the kernels table for :func:`gather` and :func:`triple_barrier` results."""
    mb = gathered["output_bytes"] / 1e6
    lines = [
        f"window gather: {GATHER_BATCH} windows of {WINDOW} x {FEATURES} float32 at random starts of a "
        f"{GATHER_ROWS}-row series -> {mb:.1f} MB per batch (median of timed batches)",
        f"  {'implementation':<32}{'ms':>10}{'GB/s out':>10}",
    ]
    for name, seconds in gathered.items():
        if name != "output_bytes":
            lines.append(f"  {name:<32}{seconds * 1e3:>10.2f}{mb / 1e3 / seconds:>10.2f}")
    lines.append(
        f"triple barrier: {BARRIER_ROWS} closes, horizon {BARRIER_HORIZON}, barriers at "
        f"±{BARRIER_MULTIPLIER} rolling sigmas (Python loop timed on {BARRIER_LOOP_EVENTS} events, scaled)"
    )
    lines.append(f"  {'implementation':<32}{'ms':>10}")
    for name, seconds in barriers.items():
        lines.append(f"  {name:<32}{seconds * 1e3:>10.1f}")
    return lines
