"""``neural-trader bench``: the native engine against PyTorch and ONNX Runtime, then the data kernels
(:mod:`neural_trader.benchmarks`)."""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from neural_trader.cli import scopes
from neural_trader.cli.options import MAX_TRIALS, UsageError, number, threads
from neural_trader.files import write_atomic


def add(sub: Any) -> None:
    """Adds the command to the sub-parsers."""
    p = sub.add_parser(
        "bench",
        help="time the native engine against PyTorch and ONNX Runtime",
        description="Native engine vs PyTorch vs ONNX Runtime on the same weights, in one run: batch-1 "
        "latency (p50, p99) and batch-256 throughput at 1 thread and at all threads; then the data "
        "kernels (windows vs numpy, torch.unfold and a memory copy; masks and augmentation vs numpy). "
        "With --only models --device cuda: the engine on the GPU vs PyTorch on the GPU.",
    )
    p.add_argument("--json", help="also write the raw results to this JSON file")
    p.add_argument("--quick", action="store_true", help="fewer repeats (a smoke run, not for reporting)")
    p.add_argument(
        "--only",
        choices=["models", "kernels", "pretrain"],
        help="run one part (default: models, then kernels); pretrain: the recipe's masked pre-training "
        "workload (59,365 windows of 105 x 4, BiLSTM hidden 128 x 2 layers, batch 512), a few steps timed "
        "and extrapolated to seconds per epoch and the 50-epoch run; only run when asked",
    )
    p.add_argument(
        "--device",
        choices=("auto", "cpu", "cuda"),
        default="cpu",
        help="where --only models and --only pretrain run (default: cpu). cuda: --only models times the "
        "engine on the GPU against PyTorch on the GPU (cuDNN) at batch 1, 256 and 4096; needs a GPU and "
        "the CUDA build of the extension",
    )
    g = p.add_argument_group("pretrain workload (--only pretrain)")
    g.add_argument(
        "--steps", type=number(int, 1, MAX_TRIALS), default=3, help="training steps timed (default: 3)"
    )
    g.add_argument(
        "--val-batches",
        type=number(int, 1, MAX_TRIALS),
        default=1,
        help="validation batches timed (default: 1)",
    )
    g.add_argument(
        "--threads", type=threads, nargs="+", help="PyTorch CPU threads, one run each (default: as set)"
    )
    pretrain = scopes.option_in("only", ("pretrain",), None, "--only pretrain")
    scopes.always(p, "json", "only")
    scopes.declare(
        p,
        quick=scopes.option_in("only", (None, "models", "kernels"), None, "the models and kernels parts"),
        steps=pretrain,
        val_batches=pretrain,
        device=scopes.option_in("only", ("models", "pretrain"), None, "--only models and --only pretrain"),
        threads=pretrain,
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Runs the benchmarks and prints their tables."""
    from neural_trader.benchmarks import kernels, models

    result: dict[str, Any] = {}
    if args.only == "models" and args.device != "cpu" and engine_device(args.device) != "cpu":
        from neural_trader.benchmarks import models_device

        result["models"] = models_device.run(device=engine_device(args.device), quick=args.quick)
        print(models_device.table(result["models"]), flush=True)
    elif args.only in (None, "models"):
        result["models"] = models.run(quick=args.quick)
        print(models.table(result["models"]), flush=True)
    if args.only in (None, "kernels"):
        # All cores for rayon and torch alike (the models part leaves torch at its last thread count).
        result["kernels"] = kernels.run(threads=os.cpu_count() or 1, repeats=1 if args.quick else 5)
        print(kernels.format_table(result["kernels"]))
    if args.only == "pretrain":
        from neural_trader.benchmarks import pretrain_workload

        runs = []
        for torch_threads in args.threads or [None]:
            timed = pretrain_workload.time_pretraining(
                steps=args.steps,
                val_batches=args.val_batches,
                device=setup_device(args.device),
                threads=torch_threads,
            )
            print(pretrain_workload.format_result(timed), flush=True)
            runs.append(timed)
        result["pretrain"] = runs
    if args.json:
        write_atomic(args.json, json.dumps(result, indent=2))
    return 0


def engine_device(name: str) -> str:
    """``--device`` for the native engine: ``cuda`` needs a CUDA device for PyTorch and the CUDA build of
    the extension; ``auto`` is ``cuda`` when both are there, else ``cpu``.

    Raises:
        UsageError: ``cuda`` without them, saying which is missing.
    """
    import neural_trader as nt

    name = setup_device(name)
    if name == "auto":
        import torch

        return "cuda" if torch.cuda.is_available() and nt.native.cuda_available() else "cpu"
    if name == "cuda" and not nt.native.cuda_available():
        raise UsageError(
            "--device cuda: the native engine cannot run on CUDA here: this build of the extension has no "
            "CUDA support (install the CUDA wheel, scripts/build_wheels.sh) or its CUDA device does not open"
        )
    return name


def setup_device(name: str) -> str:
    """``--device`` checked: ``cuda`` needs a CUDA device.

    Raises:
        UsageError: ``cuda`` without one.
    """
    import torch

    if name == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda: this PyTorch sees no CUDA device (use --device cpu or auto)")
    return name
