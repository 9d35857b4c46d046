"""The binding side of the training kernels (``gather_windows``, ``triple_barrier``): both release the GIL
for their work (another Python thread keeps running inside the call), and ``_core.pyi`` declares them with
the extension's own parameters and defaults.
"""

from __future__ import annotations

import ast
import inspect
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from neural_trader import _core, kernels


def test_triple_barrier_releases_the_gil():
    """While one thread is inside ``triple_barrier``, a Python thread counting in a loop keeps counting.

    Only the middle half of each call is looked at: at a call's edges the counting thread may run while
    the caller waits to be scheduled (several ms on a loaded machine). The horizon, and so the work,
    doubles until a call lasts long enough for its middle half to be far from both edges.
    """
    rng = np.random.default_rng(0)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.001, 100_000)))
    sigma = np.full(len(close), 0.001)
    horizon = 16
    while True:
        # Barriers off: every event scans its whole horizon, so the work grows with it.
        start = time.perf_counter()
        kernels.triple_barrier(close, sigma, horizon, upper=None, lower=None)
        if time.perf_counter() - start > 0.2 or horizon >= 2**16:
            break
        horizon *= 2
    spans: list[tuple[float, float]] = []

    def work() -> None:
        for _ in range(3):
            begin = time.perf_counter()
            kernels.triple_barrier(close, sigma, horizon, upper=None, lower=None)
            spans.append((begin, time.perf_counter()))

    ticks: list[float] = []
    worker = threading.Thread(target=work)
    worker.start()
    while worker.is_alive():
        ticks.append(time.perf_counter())
    worker.join()
    t = np.array(ticks)
    quarter = [(b - a) / 4 for a, b in spans]
    inside = sum(int(((t > a + q) & (t < b - q)).sum()) for (a, b), q in zip(spans, quarter, strict=True))
    # Held GIL: no increment at all in the middle of a call; released: thousands per millisecond run.
    assert inside > 100, f"only {inside} increments inside triple_barrier calls: the GIL is held"


def test_gather_windows_releases_the_gil():
    """Another Python thread sees the output buffer half written: it ran while the kernel was writing.

    Calls alternate between a series of zeros and one of ones into the same buffer, so between calls
    the buffer is all zeros or all ones, and a mix can only be seen from inside a call. With the GIL held
    for the call no Python code could run there; the check involves no timing at all.
    """
    rows, width, window = 2_000, 64, 256
    series = (np.zeros((rows, width)), np.ones((rows, width)))
    starts = np.random.default_rng(1).integers(0, rows - window + 1, size=1_024)
    out = np.zeros((len(starts), window, width), dtype=np.float32)
    done = threading.Event()

    def work() -> None:
        for k in range(200):
            if done.is_set():
                return
            kernels.gather_windows(series[k % 2], starts, window, out=out)
        done.set()

    worker = threading.Thread(target=work)
    worker.start()
    seen_mixed = False
    while not done.is_set():
        # tolist() holds the GIL for the whole snapshot (numpy may release it inside larger copies).
        first = out[:, 0, 0].tolist()
        if min(first) != max(first):
            seen_mixed = True
            done.set()
    worker.join()
    assert seen_mixed, "the buffer was never seen half written: the GIL is held during gather_windows"


def _stub(name: str) -> ast.FunctionDef:
    source = Path(_core.__file__).with_name("_core.pyi").read_text()
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            return node
    raise AssertionError(f"_core.pyi does not declare {name}")


@pytest.mark.parametrize("name", ["gather_windows", "triple_barrier"])
def test_stubs_match_the_extension(name):
    stub = _stub(name)
    declared = [a.arg for a in stub.args.args]
    defaults = [ast.literal_eval(d) for d in stub.args.defaults]
    params = inspect.signature(getattr(_core, name)).parameters.values()
    assert declared == [p.name for p in params]
    assert defaults == [p.default for p in params if p.default is not inspect.Parameter.empty]
