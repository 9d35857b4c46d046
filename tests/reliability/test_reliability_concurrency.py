"""One native engine shared by many Python threads: results equal the serial ones, ``predict`` releases
the GIL (another Python thread keeps running while one is inside ``predict``), and concurrent saves to
one path leave one complete file. Throughput with 1, 2 and 8 calling threads is measured and reported,
not asserted (the machines are shared and noisy; see docs/design.md, Performance).
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import torch
from rel_report import report_line

import neural_trader as nt


@pytest.fixture(scope="module")
def model() -> nt.BiLSTMClassifier:
    torch.manual_seed(0)
    return nt.BiLSTMClassifier(nt.BiLSTMClassifierConfig(input_size=8, hidden_size=64, num_layers=2)).eval()


def batches(n: int, batch: int = 16, steps: int = 48) -> list[np.ndarray]:
    rng = np.random.default_rng(1)
    return [rng.normal(size=(batch, steps, 8)).astype(np.float32) for _ in range(n)]


def test_eight_threads_share_one_engine_and_get_the_serial_results(model: nt.BiLSTMClassifier) -> None:
    engine = model.to_native()
    xs = batches(64)
    serial = [engine.predict(x) for x in xs]
    barrier = threading.Barrier(8)

    def work(k: int) -> list[tuple[int, np.ndarray]]:
        barrier.wait()  # all eight start together
        return [(i, engine.predict(xs[i])) for i in range(k, len(xs), 8)]

    with ThreadPoolExecutor(8) as pool:
        results = [r for part in pool.map(work, range(8)) for r in part]
    assert len(results) == len(xs)
    for i, got in results:
        np.testing.assert_array_equal(got, serial[i])


def test_predict_releases_the_gil(model: nt.BiLSTMClassifier) -> None:
    """While one thread is inside ``predict``, a Python thread counting in a loop keeps counting: with
    the GIL held for the whole call it could not run at all between the call's start and end."""
    engine = model.to_native(threads=1)
    rng = np.random.default_rng(2)
    # The work is sized here, not assumed: the batch doubles until one call lasts long enough for its
    # middle half to be far from both edges (a fixed batch took 98 ms on a quiet machine). Only the
    # middle half is looked at: at the edges the counting thread may run while the caller waits to be
    # scheduled. No verdict depends on a duration: a fast machine gets a larger batch, that is all.
    batch = 16
    while True:
        x = rng.normal(size=(batch, 96, 8)).astype(np.float32)
        window: dict[str, float] = {}

        def call(x: np.ndarray = x, window: dict[str, float] = window) -> None:
            window["start"] = time.perf_counter()
            engine.predict(x)
            window["end"] = time.perf_counter()

        ticks: list[float] = []
        worker = threading.Thread(target=call)
        worker.start()
        while worker.is_alive():
            ticks.append(time.perf_counter())
        worker.join()
        duration = window["end"] - window["start"]
        if duration > 0.2 or batch >= 2**16:
            break
        batch *= 2
    quarter = duration / 4
    inside = sum(window["start"] + quarter < t < window["end"] - quarter for t in ticks)
    report_line(
        f"GIL: {inside} counter increments in another thread during the middle half of one "
        f"{duration * 1e3:.0f} ms predict (batch {batch})"
    )
    # With the GIL held for the call, the counting thread could not run in its middle at all (0); any
    # thread that gets a time slice there counts thousands of times.
    assert inside > 10, f"only {inside} increments during predict: the GIL is held"


def throughput(engine: nt.native.NativeModel, xs: list[np.ndarray], threads: int) -> float:
    """Predict calls per second with ``threads`` Python threads sharing the engine."""
    engine.predict(xs[0])  # warm-up
    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(engine.predict, xs))
    return len(xs) / (time.perf_counter() - start)


def test_throughput_with_many_calling_threads_is_reported(model: nt.BiLSTMClassifier) -> None:
    xs = batches(48, batch=32, steps=64)
    lines = []
    for engine_threads in (1, 2):
        engine = model.to_native(threads=engine_threads)
        rates = {k: throughput(engine, xs, k) for k in (1, 2, 8)}
        lines.append(
            f"engine threads {engine_threads}: "
            + ", ".join(f"{k} caller(s) {r:.1f} calls/s ({r / rates[1]:.2f}x)" for k, r in rates.items())
        )
        assert all(r > 0 for r in rates.values())
    report_line("throughput, batches of 32 x 64 x 8, hidden 64 x 2 layers: " + "; ".join(lines))


def test_concurrent_saves_to_one_path_leave_one_complete_file(
    tmp_path: Path, model: nt.BiLSTMClassifier
) -> None:
    """Rust saves used one temporary file name per process: two threads saving to one path could write
    into the same temporary file and rename a mix. Each save now has its own temporary file."""
    torch.manual_seed(3)
    other = nt.BiLSTMClassifier(model.config).eval()
    engines = [model.to_native(threads=1), other.to_native(threads=1)]
    want = [m.to_checkpoint().tensors for m in (model, other)]
    path = tmp_path / "shared.safetensors"
    for round_ in range(10):
        barrier = threading.Barrier(8)

        def save(k: int, barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            if k % 4 == 3:  # the torch twin saves to the same path too
                (model, other)[k % 2].save(path)
            else:
                engines[k % 2].save(path)

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(save, range(8)))
        got = nt.Checkpoint.read(path).tensors
        assert any(all(torch.equal(got[k], w[k]) for k in w) and set(got) == set(w) for w in want), (
            f"round {round_}: the file is neither model"
        )
        assert [p.name for p in tmp_path.iterdir()] == [path.name], "temporary files left behind"
