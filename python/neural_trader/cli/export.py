"""``neural-trader export``: a checkpoint as ONNX, verified with ONNX Runtime
(:func:`neural_trader.export.export_onnx`)."""

from __future__ import annotations

import argparse
from typing import Any

from neural_trader.cli import scopes
from neural_trader.cli.options import (
    line,
    number,
    refuse_overwriting_inputs,
    run_options,
    setup,
)


def add(sub: Any) -> None:
    """Adds the command to the sub-parsers."""
    p = sub.add_parser(
        "export",
        help="export a checkpoint to ONNX, verified with ONNX Runtime",
        description="The .safetensors checkpoint already is the native engine's format; this writes an ONNX "
        "file (needs onnx, onnxscript and onnxruntime) and checks it against PyTorch.",
    )
    p.add_argument("--checkpoint", required=True, metavar="PATH", help="a neural_trader checkpoint")
    p.add_argument("--onnx", required=True, metavar="MODEL.onnx", help="ONNX file to write")
    p.add_argument("--opset", type=number(int, 1, 100), help="ONNX opset (default: the exporter's)")
    p.add_argument(
        "--tolerance",
        type=number(float, 0.0, 1.0, low_open=True),
        default=1e-4,
        help="largest accepted |ONNX Runtime - PyTorch| (default: 1e-4)",
    )
    run_options(p, device_default="cpu")
    scopes.always(p, "checkpoint", "onnx", "opset", "tolerance")
    scopes.declare(
        p,
        device=scopes.never("commands that run on a device (the ONNX export and its check run on the CPU)"),
        no_progress=scopes.never("commands that show progress bars"),
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Exports and prints the graph's outputs and the verified difference."""
    from neural_trader.export import export_onnx

    refuse_overwriting_inputs({"--onnx": args.onnx}, {"--checkpoint": args.checkpoint})
    setup(args)
    result = export_onnx(
        args.checkpoint, args.onnx, opset=args.opset, tolerance=args.tolerance, seed=args.seed
    )
    line(
        "onnx",
        f"{result.path} ({result.model}; input x (batch, time, features); outputs "
        f"{', '.join(result.outputs)})",
    )
    line(
        "verified",
        f"ONNX Runtime vs PyTorch max |diff| {result.max_abs_diff:.2e} on a "
        f"{'x'.join(map(str, result.verify_shape))} batch (tolerance {args.tolerance:g})",
    )
    return 0
