"""The native engine on a device against PyTorch on the same device, same weights, one run.

``neural-trader bench --only models --device cuda`` runs it: every served model of
:mod:`neural_trader.benchmarks.models` (same sizes, same seeds), the engine loaded with ``device="cuda"``
(each model's candle implementation on the GPU) against the PyTorch twin on the GPU (cuDNN's LSTM), at
batch 1, 256 and 4096. Both are timed from a host array to a host result (the input copied to the device,
the outputs copied back), as a caller serving from numpy sees them; the copy back also waits for the
device to finish. The runtimes are timed in the same round-robin rounds as the CPU benchmark, so the
table shows each figure's spread over rounds and in how many rounds the engine was ahead.

JSON (``--json F``: ``{"models": <this>}``)::

    {"device": "cuda:0", "device_name": "NVIDIA H100 ...", "torch": "2.x", "neural_trader": "0.1.0",
     "batches": [1, 256, 4096],
     "rows": [{"model": "BiLSTMClassifier 105x4 h128 L2 bi", "runtime": "native" | "pytorch",
               "device": "cuda:0", "batch": 1, "p50_ms": ..., "p99_ms": ...,
               "round_p50_ms": [min, max], "round_p99_ms": [min, max], "rounds": 10,
               "native_ahead_rounds": 7, "samples_per_s": ...}, ...]}

Example:
    >>> result = run(device="cuda")   # doctest: +SKIP
    >>> print(table(result))          # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

import neural_trader as nt
from neural_trader.benchmarks.models import Case, cases
from neural_trader.benchmarks.timing import rounds_ahead, spread, time_rounds

#: Batch sizes timed on a device.
BATCHES = (1, 256, 4096)


def _plan(batch: int, quick: bool, slow: bool) -> tuple[int, int]:
    """(rounds, calls per round) for a batch size: many short calls at batch 1, a few long ones above."""
    if batch == 1:
        rounds, block = (5, 10) if quick else (10, 30)
        return rounds, max(2, block // 3) if slow else block
    if batch <= 256:
        return (3, 2) if quick else (5, 3)
    return (2, 1) if quick else (3, 1)


def _torch_device(device: str) -> torch.device:
    """The PyTorch device beside an engine device string (``"cpu:candle"``, a testing aid, is the CPU)."""
    return torch.device("cpu" if device.startswith("cpu") else device)


def _to_host(out: object) -> object:
    """Outputs copied to the host (which waits for the device)."""
    if isinstance(out, dict):
        return {k: v.cpu() for k, v in out.items()}
    if isinstance(out, tuple):
        return tuple(v.cpu() for v in out)
    return out.cpu()


def bench_case(case: Case, device: str, batches: tuple[int, ...], quick: bool) -> list[dict]:
    """Rows of one model: the engine and PyTorch on ``device``, at each batch size."""
    engine = case.model.to_native(device=device)
    dev = _torch_device(device)
    case.model.to(dev)  # in place: `case.run_torch` (the model, or its bound `forecast`) runs there
    rng = np.random.default_rng(0)
    rows = []
    try:
        for batch in batches:
            x = rng.normal(size=(batch, case.steps, case.features)).astype(np.float32)

            def torch_call(x: np.ndarray = x) -> object:
                with torch.inference_mode():
                    return _to_host(case.run_torch(torch.from_numpy(x).to(dev)))

            runtimes: dict[str, Callable[[], object]] = {
                "native": lambda x=x: engine.predict(x),
                "pytorch": torch_call,
            }
            rounds, block = _plan(batch, quick, case.slow)
            times = time_rounds(runtimes, rounds, block, warmup=2 if batch == 1 else 1)
            for runtime in runtimes:
                lat = spread(times[runtime])
                rows.append(
                    {
                        "model": case.name,
                        "runtime": runtime,
                        "device": engine.device,
                        "batch": batch,
                        "p50_ms": lat["p50_ms"],
                        "p99_ms": lat["p99_ms"],
                        "round_p50_ms": lat["round_p50_ms"],
                        "round_p99_ms": lat["round_p99_ms"],
                        "rounds": rounds,
                        "native_ahead_rounds": rounds_ahead(times["native"], times[runtime]),
                        "samples_per_s": batch / (lat["p50_ms"] / 1e3),
                    }
                )
    finally:
        case.model.to("cpu")
    return rows


def run(
    device: str = "cuda",
    quick: bool = False,
    batches: tuple[int, ...] = BATCHES,
    models: list[Case] | None = None,
) -> dict:
    """Times every served model (``models``, default the CPU benchmark's cases) on ``device``.

    Args:
        device: An engine device string: ``"cuda"``, ``"cuda:N"`` (or ``"cpu:candle"``, which times the
            GPU code path on the CPU: a check of the benchmark itself, not a figure to report).
        quick: Fewer rounds and calls (a smoke run).
        batches: Batch sizes to time.
        models: The cases to time; default :func:`neural_trader.benchmarks.models.cases`.

    Raises:
        ConfigError: the engine cannot run on ``device`` (a build without CUDA, no GPU, no device N).
    """
    rows = []
    for case in models if models is not None else cases():
        rows += bench_case(case, device, batches, quick)
    dev = _torch_device(device)
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu"
    return {
        "device": rows[0]["device"] if rows else device,
        "device_name": name,
        "torch": torch.__version__,
        "neural_trader": nt.__version__,
        "batches": list(batches),
        "rows": rows,
    }


def table(result: dict) -> str:
    """A Markdown table: per model and batch, latency with its spread over rounds, throughput, the rounds
    the engine was ahead, and PyTorch's latency over the engine's."""
    lines = [
        f"Native engine vs PyTorch on {result['device']} ({result['device_name']}), host array to host "
        "result",
        "",
        "| model | batch | runtime | p50 ms | p99 ms | p50 over rounds | native ahead | samples/s | "
        "latency vs native |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    rows = result["rows"]
    for r in rows:
        native = next(
            n
            for n in rows
            if n["model"] == r["model"] and n["batch"] == r["batch"] and n["runtime"] == "native"
        )
        ahead = "" if r["runtime"] == "native" else f"{r['native_ahead_rounds']}/{r['rounds']} rounds"
        p50 = r["round_p50_ms"]
        lines.append(
            f"| {r['model']} | {r['batch']} | {r['runtime']} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | "
            f"{p50[0]:.2f}-{p50[1]:.2f} | {ahead} | {r['samples_per_s']:.0f} | "
            f"{r['p50_ms'] / native['p50_ms']:.2f}x |"
        )
    return "\n".join(lines)
