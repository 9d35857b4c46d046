"""Side-by-side inference benchmark: the native engine vs PyTorch vs ONNX Runtime, same weights, one run.

Every figure comes from the same process on the same machine, so ratios are meaningful even where the
machine is shared and absolute numbers drift. Models (the sizes of the performance issue):

* ``BiLSTMClassifier``: 105 steps x 4 features, hidden 128, 2 layers, bidirectional.
* ``LSTMAttention``: 168 steps x 5 features, hidden 128, horizon 24, 8 heads (autoregressive forecast).

For each: batch-1 latency (p50, p99) and batch-256 throughput, with 1 thread and with all threads. The
runtimes are timed in rounds (a block of calls of each per round, after a pause and warm-up calls), so the
slow spells of a shared machine fall on all of them alike. Thread
counts are set per runtime: ``torch.set_num_threads``, the engine's own pool, ORT's ``intra_op_num_threads``.
Achieved GFLOP/s is printed next to a measured single-core matmul peak.

Run: ``python -m neural_trader.benchmarks.models [--json out.json] [--quick]``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

import neural_trader as nt

try:  # ONNX Runtime is an optional peer; the benchmark says so when it is missing.
    import onnxruntime as ort
except ImportError:  # pragma: no cover - depends on the environment
    ort = None


@dataclass
class Case:
    """One model size of the benchmark."""

    name: str
    model: torch.nn.Module
    steps: int
    features: int
    flops_per_sample: float
    run_torch: Callable[[torch.Tensor], object]


def lstm_flops(input_size: int, hidden: int, layers: int, dirs: int, steps: int) -> float:
    """Multiply-adds x 2 of a stacked LSTM over one sequence (gates only; nonlinearities not counted)."""
    total = 0.0
    width = input_size
    for _ in range(layers):
        total += dirs * steps * 2 * 4 * hidden * (width + hidden)
        width = hidden * dirs
    return total


def attention_flops(cfg: nt.LSTMAttentionConfig, steps: int) -> float:
    """Approximate FLOPs of one LSTMAttention forecast: encoder, decoder steps, attention, projections."""
    h, dirs = cfg.hidden_size, 2 if cfg.bidirectional else 1
    encoder = lstm_flops(cfg.input_size, h, cfg.num_encoder_layers, dirs, steps)
    key_proj = 2 * steps * (h * dirs) * h * (1 if dirs == 1 else 2) + 2 * 2 * steps * h * h
    decoder = lstm_flops(cfg.output_size, h, cfg.num_decoder_layers, 1, cfg.horizon)
    attend = cfg.horizon * (2 * h * h * 2 + 2 * 2 * steps * h)
    return encoder + key_proj + decoder + attend


def cases() -> list[Case]:
    """The two model sizes of the issue, with fixed seeds."""
    torch.manual_seed(0)
    clf = nt.BiLSTMClassifier(nt.BiLSTMClassifierConfig(input_size=4, hidden_size=128, num_layers=2)).eval()
    att_cfg = nt.LSTMAttentionConfig(input_size=5, output_size=1, horizon=24, hidden_size=128, num_heads=8)
    att = nt.LSTMAttention(att_cfg).eval()
    return [
        Case(
            "BiLSTMClassifier 105x4 h128 L2 bi", clf, 105, 4, lstm_flops(4, 128, 2, 2, 105) + 2 * 256 * 2, clf
        ),
        Case(
            "LSTMAttention 168x5 h128 H24 8 heads", att, 168, 5, attention_flops(att_cfg, 168), att.forecast
        ),
    ]


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


def time_interleaved(
    fns: dict[str, Callable[[], object]], repeats: int, block: int = 25, warmup: int = 2
) -> dict[str, np.ndarray]:
    """Seconds of ``repeats`` calls of each function, taken in rounds: each round times ``block`` calls
    of every function in turn (the order rotating every round), so a slow spell of a shared machine falls
    on every runtime alike. Each block starts after a short pause and ``warmup`` untimed calls, so the
    thread pool of the runtime timed before it (PyTorch's and ORT's spin after a call) has gone idle."""
    names = list(fns)
    times: dict[str, list[float]] = {name: [] for name in names}
    rounds = -(-repeats // block)
    for i in range(rounds):
        for j in range(len(names)):
            name = names[(i + j) % len(names)]
            time.sleep(0.02)
            for _ in range(warmup):
                fns[name]()
            for _ in range(min(block, repeats - i * block)):
                start = time.perf_counter()
                fns[name]()
                times[name].append(time.perf_counter() - start)
    return {name: np.array(t) for name, t in times.items()}


def single_core_peak_gflops() -> float:
    """Measured float32 matmul GFLOP/s of one torch thread: the practical single-core ceiling here."""
    torch.set_num_threads(1)
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    best = time_calls(lambda: a @ b, 5).min()
    return 2 * 1024**3 / best / 1e9


def onnx_session(case: Case, threads: int) -> Callable[[np.ndarray], object] | None:
    """The torch twin exported to ONNX (legacy tracer) and loaded in ORT with ``threads`` threads."""
    if ort is None:
        return None
    example = torch.zeros(1, case.steps, case.features)
    module = case.model if case.run_torch is case.model else _Forecast(case.model)
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's notes on LSTM and shape tracing
        torch.onnx.export(
            module,
            (example,),
            buf,
            input_names=["x"],
            output_names=["y"],
            dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}},
            dynamo=False,
        )
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(buf.getvalue(), options, providers=["CPUExecutionProvider"])
    return lambda x: session.run(None, {"x": x})


class _Forecast(torch.nn.Module):
    """``forecast`` as ``forward``, so the exporter traces the autoregressive loop."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.forecast(x)


def bench_case(case: Case, threads: int, repeats: int, big_repeats: int, big_batch: int) -> list[dict]:
    """Rows of one case at one thread count: batch-1 latency and batch-``big_batch`` throughput."""
    rng = np.random.default_rng(0)
    x1 = rng.normal(size=(1, case.steps, case.features)).astype(np.float32)
    xb = rng.normal(size=(big_batch, case.steps, case.features)).astype(np.float32)
    torch.set_num_threads(threads)
    engine = case.model.to_native(threads=threads)

    def torch_fn(x: np.ndarray) -> Callable[[], object]:
        xt = torch.from_numpy(x)

        def run() -> object:
            with torch.inference_mode():
                return case.run_torch(xt)

        return run

    runtimes: dict[str, Callable[[np.ndarray], Callable[[], object]]] = {
        "native": lambda x: lambda: engine.predict(x),
        "pytorch": torch_fn,
    }
    session = onnx_session(case, threads)
    if session is not None:
        runtimes["onnxruntime"] = lambda x: lambda: session(x)
    rows = []
    latencies = time_interleaved({name: make(x1) for name, make in runtimes.items()}, repeats)
    throughputs = time_interleaved(
        {name: make(xb) for name, make in runtimes.items()}, big_repeats, block=1, warmup=1
    )
    for runtime in runtimes:
        lat, thr = latencies[runtime], throughputs[runtime]
        rows.append(
            {
                "model": case.name,
                "runtime": runtime,
                "threads": threads,
                "batch1_p50_ms": float(np.percentile(lat, 50) * 1e3),
                "batch1_p99_ms": float(np.percentile(lat, 99) * 1e3),
                f"batch{big_batch}_samples_per_s": float(big_batch / np.median(thr)),
                "batch1_gflops": float(case.flops_per_sample / np.percentile(lat, 50) / 1e9),
                f"batch{big_batch}_gflops": float(case.flops_per_sample * big_batch / np.median(thr) / 1e9),
            }
        )
    return rows


def run(quick: bool = False, big_batch: int = 256) -> dict:
    """Runs every case at 1 thread and at all threads; returns rows plus machine facts."""
    all_threads = os.cpu_count() or 1
    repeats, big_repeats = (20, 2) if quick else (200, 5)
    rows = []
    for case in cases():
        case_repeats = repeats if "Classifier" in case.name else max(repeats // 4, 10)
        for threads in sorted({1, all_threads}):
            rows += bench_case(case, threads, case_repeats, big_repeats, big_batch)
    return {
        "machine": {"cpu_count": all_threads, "torch": torch.__version__, "neural_trader": nt.__version__},
        "single_core_peak_gflops": single_core_peak_gflops(),
        "big_batch": big_batch,
        "rows": rows,
    }


def table(result: dict) -> str:
    """A Markdown table with native/PyTorch and native/ORT ratios per model and thread count."""
    big = result["big_batch"]
    lines = [
        f"| model | threads | runtime | batch-1 p50 ms | p99 ms | batch-{big} samples/s | "
        f"GFLOP/s (b1 / b{big}) | latency vs native |",
        "|---|---|---|---|---|---|---|---|",
    ]
    rows = result["rows"]
    for r in rows:
        native = next(
            n
            for n in rows
            if n["model"] == r["model"] and n["threads"] == r["threads"] and n["runtime"] == "native"
        )
        ratio = r["batch1_p50_ms"] / native["batch1_p50_ms"]
        lines.append(
            f"| {r['model']} | {r['threads']} | {r['runtime']} | {r['batch1_p50_ms']:.2f} | "
            f"{r['batch1_p99_ms']:.2f} | {r[f'batch{big}_samples_per_s']:.0f} | "
            f"{r['batch1_gflops']:.1f} / {r[f'batch{big}_gflops']:.1f} | {ratio:.2f}x |"
        )
    lines.append("")
    lines.append(
        f"Measured single-core float32 matmul peak: {result['single_core_peak_gflops']:.1f} GFLOP/s."
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: prints the table, optionally writes JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", help="write the raw results to this file")
    parser.add_argument("--quick", action="store_true", help="fewer repeats (smoke run)")
    args = parser.parse_args(argv)
    result = run(quick=args.quick)
    print(table(result))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
