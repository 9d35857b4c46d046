"""Side-by-side inference benchmark: the native engine vs PyTorch vs ONNX Runtime, same weights, one run.

Every figure comes from the same process on the same machine, so ratios are meaningful even where the
machine is shared and absolute numbers drift. Models (the sizes of the performance issue, and every other
served model at the classifier's size):

* ``BiLSTMClassifier``: 105 steps x 4 features, hidden 128, 2 layers, bidirectional.
* ``LSTMAttention``: 168 steps x 5 features, hidden 128, horizon 24, 8 heads (autoregressive forecast).
* ``SimpleLSTM`` (unidirectional), ``EnhancedSimpleLSTM`` and ``TrendAttention`` (BiLSTM + 4-head attention
  readout; two horizons), ``LSTMEncoder`` (the pre-trained encoder's outputs): 105 x 4, hidden 128, 2 layers.

For each: batch-1 latency (p50, p99) and batch-256 throughput, with 1 thread and with all threads. The
runtimes are timed in rounds (a block of calls of each per round, after a pause and warm-up calls), so the
slow spells of a shared machine fall on all of them alike; the table shows each round's p50 and p99 as a
range over rounds, and in how many rounds the native engine was ahead of each other runtime, so one run
says how far it can be trusted. Thread counts are set per runtime: ``torch.set_num_threads``, the engine's
own pool, ORT's ``intra_op_num_threads``. Achieved GFLOP/s (the FLOPs of the model as defined, divided by
the time; the native engine folds the key and value projections of a one-query attention readout, so it
does fewer) is printed next to a measured single-core matmul peak.

Run: ``python -m neural_trader.benchmarks.models [--json out.json] [--quick]``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

import neural_trader as nt
from neural_trader.benchmarks.timing import rounds_ahead, single_core_peak_gflops, spread, time_rounds
from neural_trader.models.masked_autoencoder import PretrainedEncoder, PretrainedEncoderConfig

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
    # Forecasters cost several times a classifier per call: fewer calls per round.
    slow: bool = False


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


def readout_flops(width: int, steps: int) -> float:
    """FLOPs of an attention readout over ``steps`` encoder outputs of ``width``: key and value
    projections, one query, scores, weighted sum and output projection."""
    return 2 * 2 * steps * width * width + 2 * 2 * width * width + 2 * 2 * steps * width


def mlp_flops(fan_in: int, widths: list[int]) -> float:
    """FLOPs of a chain of linear layers ``fan_in -> widths[0] -> ...``."""
    total = 0.0
    for units in widths:
        total += 2 * fan_in * units
        fan_in = units
    return total


def cases() -> list[Case]:
    """The model sizes of the benchmark, with fixed seeds."""
    torch.manual_seed(0)
    clf = nt.BiLSTMClassifier(nt.BiLSTMClassifierConfig(input_size=4, hidden_size=128, num_layers=2)).eval()
    att_cfg = nt.LSTMAttentionConfig(input_size=5, output_size=1, horizon=24, hidden_size=128, num_heads=8)
    att = nt.LSTMAttention(att_cfg).eval()
    simple = nt.SimpleLSTM(nt.SimpleLSTMConfig(input_size=4, hidden_size=128, num_layers=2)).eval()
    enhanced_cfg = nt.EnhancedSimpleLSTMConfig(input_size=4, hidden_size=128, num_layers=2, num_heads=4)
    enhanced = nt.EnhancedSimpleLSTM(enhanced_cfg).eval()
    trend_cfg = nt.TrendAttentionConfig(input_size=4, hidden_size=128, num_layers=2, num_heads=4)
    trend = nt.TrendAttention(trend_cfg).eval()
    encoder = PretrainedEncoder(PretrainedEncoderConfig(input_size=4, hidden_size=128, num_layers=2)).eval()
    bi = lstm_flops(4, 128, 2, 2, 105)
    # Two horizons, each a [64, 32] trunk then a trend unit and two direction logits.
    trend_heads = readout_flops(256, 105) + 2 * mlp_flops(512, [64, 32, 3])
    return [
        Case("BiLSTMClassifier 105x4 h128 L2 bi", clf, 105, 4, bi + 2 * 256 * 2, clf),
        Case(
            "LSTMAttention 168x5 h128 H24 8 heads",
            att,
            168,
            5,
            attention_flops(att_cfg, 168),
            att.forecast,
            slow=True,
        ),
        Case(
            "SimpleLSTM 105x4 h128 L2",
            simple,
            105,
            4,
            lstm_flops(4, 128, 2, 1, 105) + mlp_flops(128, [64, 2]),
            simple,
        ),
        Case(
            "EnhancedSimpleLSTM 105x4 h128 L2 bi 4 heads",
            enhanced,
            105,
            4,
            bi + readout_flops(256, 105) + mlp_flops(512, [64, 2]),
            enhanced,
        ),
        Case("TrendAttention 105x4 h128 L2 bi 4 heads H7+30", trend, 105, 4, bi + trend_heads, trend),
        Case("LSTMEncoder 105x4 h128 L2 bi (outputs)", encoder, 105, 4, bi, encoder),
    ]


def onnx_model(case: Case) -> bytes | None:
    """The torch twin exported to ONNX (legacy tracer), its outputs as a flat tuple; None without ORT."""
    if ort is None:
        return None
    example = torch.zeros(1, case.steps, case.features)
    module = _Outputs(case.model, forecast=case.run_torch is not case.model)
    with torch.no_grad():
        count = len(module(example))
    names = [f"y{i}" for i in range(count)]
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's notes on LSTM and shape tracing
        torch.onnx.export(
            module,
            (example,),
            buf,
            input_names=["x"],
            output_names=names,
            dynamic_axes={"x": {0: "batch"}, **{n: {0: "batch"} for n in names}},
            dynamo=False,
        )
    return buf.getvalue()


def onnx_session(exported: bytes | None, threads: int) -> Callable[[np.ndarray], object] | None:
    """An ORT session of an exported model with ``threads`` threads."""
    if exported is None:
        return None
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(exported, options, providers=["CPUExecutionProvider"])
    return lambda x: session.run(None, {"x": x})


class _Outputs(torch.nn.Module):
    """The model's forward (or ``forecast``) with its outputs as a tuple, which the exporter traces."""

    def __init__(self, model: torch.nn.Module, forecast: bool) -> None:
        super().__init__()
        self.model = model
        self.forecast = forecast

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = self.model.forecast(x) if self.forecast else self.model(x)
        return tuple(out.values()) if isinstance(out, dict) else (out,)


def bench_case(
    case: Case, threads: int, rounds: tuple[int, int], block: int, big_batch: int, exported: bytes | None
) -> list[dict]:
    """Rows of one case at one thread count: batch-1 latency over ``rounds[0]`` rounds of ``block`` calls
    and batch-``big_batch`` throughput over ``rounds[1]`` rounds of one call."""
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
    session = onnx_session(exported, threads)
    if session is not None:
        runtimes["onnxruntime"] = lambda x: lambda: session(x)
    latencies = time_rounds({name: make(x1) for name, make in runtimes.items()}, rounds[0], block)
    throughputs = time_rounds({name: make(xb) for name, make in runtimes.items()}, rounds[1], 1, warmup=1)
    rows = []
    for runtime in runtimes:
        lat = spread(latencies[runtime])
        per_call = float(np.median(np.concatenate(throughputs[runtime])))
        rows.append(
            {
                "model": case.name,
                "runtime": runtime,
                "threads": threads,
                "batch1_p50_ms": lat["p50_ms"],
                "batch1_p99_ms": lat["p99_ms"],
                "batch1_round_p50_ms": lat["round_p50_ms"],
                "batch1_round_p99_ms": lat["round_p99_ms"],
                "rounds": rounds[0],
                "native_ahead_rounds": rounds_ahead(latencies["native"], latencies[runtime]),
                f"batch{big_batch}_samples_per_s": big_batch / per_call,
                "batch1_gflops": case.flops_per_sample / (lat["p50_ms"] / 1e3) / 1e9,
                f"batch{big_batch}_gflops": case.flops_per_sample * big_batch / per_call / 1e9,
            }
        )
    return rows


def run(quick: bool = False, big_batch: int = 256) -> dict:
    """Runs every case at 1 thread and at all threads; returns rows plus machine facts."""
    all_threads = os.cpu_count() or 1
    # Rounds of batch-1 calls and of batch-256 calls; calls per batch-1 round for a classifier and for a
    # forecaster. Quick mode keeps several rounds: the spread over rounds is the point.
    rounds, block, slow_block = ((5, 2), 20, 8) if quick else ((10, 5), 30, 12)
    rows = []
    for case in cases():
        exported = onnx_model(case)
        for threads in sorted({1, all_threads}):
            rows += bench_case(case, threads, rounds, slow_block if case.slow else block, big_batch, exported)
    return {
        "machine": {"cpu_count": all_threads, "torch": torch.__version__, "neural_trader": nt.__version__},
        "single_core_peak_gflops": single_core_peak_gflops(),
        "big_batch": big_batch,
        "rows": rows,
    }


def table(result: dict) -> str:
    """A Markdown table: latency with its spread over rounds, the rounds the native engine was ahead, and
    the native/other latency ratio, per model and thread count."""
    big = result["big_batch"]
    lines = [
        f"| model | threads | runtime | batch-1 p50 ms | p99 ms | p50 over rounds | p99 over rounds | "
        f"native ahead | batch-{big} samples/s | GFLOP/s (b1 / b{big}) | latency vs native |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    rows = result["rows"]
    for r in rows:
        native = next(
            n
            for n in rows
            if n["model"] == r["model"] and n["threads"] == r["threads"] and n["runtime"] == "native"
        )
        ratio = r["batch1_p50_ms"] / native["batch1_p50_ms"]
        p50, p99 = r["batch1_round_p50_ms"], r["batch1_round_p99_ms"]
        ahead = "" if r["runtime"] == "native" else f"{r['native_ahead_rounds']}/{r['rounds']} rounds"
        lines.append(
            f"| {r['model']} | {r['threads']} | {r['runtime']} | {r['batch1_p50_ms']:.2f} | "
            f"{r['batch1_p99_ms']:.2f} | {p50[0]:.2f}-{p50[1]:.2f} | {p99[0]:.2f}-{p99[1]:.2f} | {ahead} | "
            f"{r[f'batch{big}_samples_per_s']:.0f} | "
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
