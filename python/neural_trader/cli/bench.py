"""``neural-trader bench``: the native engine against PyTorch and ONNX Runtime, then the data kernels
(:mod:`neural_trader.benchmarks`)."""

from __future__ import annotations

import argparse
import json
import os
from typing import Any


def add(sub: Any) -> None:
    """Adds the command to the sub-parsers."""
    p = sub.add_parser(
        "bench",
        help="time the native engine against PyTorch and ONNX Runtime",
        description="Native engine vs PyTorch vs ONNX Runtime on the same weights, in one run: batch-1 "
        "latency (p50, p99) and batch-256 throughput at 1 thread and at all threads; then the data "
        "kernels (windows vs numpy, torch.unfold and a memory copy; masks and augmentation vs numpy).",
    )
    p.add_argument("--json", help="also write the raw results to this JSON file")
    p.add_argument("--quick", action="store_true", help="fewer repeats (a smoke run, not for reporting)")
    p.add_argument(
        "--only", choices=["models", "kernels"], help="run one part (default: models, then kernels)"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Runs the benchmarks and prints their tables."""
    from neural_trader.benchmarks import kernels, models
    from neural_trader.files import write_atomic

    result: dict[str, Any] = {}
    if args.only in (None, "models"):
        result["models"] = models.run(quick=args.quick)
        print(models.table(result["models"]), flush=True)
    if args.only in (None, "kernels"):
        # All cores for rayon and torch alike (the models part leaves torch at its last thread count).
        result["kernels"] = kernels.run(threads=os.cpu_count() or 1, repeats=1 if args.quick else 5)
        print(kernels.format_table(result["kernels"]))
    if args.json:
        write_atomic(args.json, json.dumps(result, indent=2))
    return 0
