"""``neural-trader predict``: a checkpoint's outputs for every window of the bars, as CSV
(:func:`neural_trader.workflows.predict`)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from neural_trader.cli import scopes
from neural_trader.cli.options import (
    line,
    load_bars,
    nan_option,
    refuse_overwriting_inputs,
    run_options,
    setup,
)


def add(sub: Any) -> None:
    """Adds the command to the sub-parsers."""
    p = sub.add_parser(
        "predict",
        help="predictions of a checkpoint for every window of the bars, as CSV",
        description="Writes one row per window: timestamp, symbol, part (train/val/test of the model's "
        "split, 'after' for truly out-of-sample rows, 'other' for the rest) and the outputs.",
    )
    p.add_argument("--checkpoint", required=True, metavar="PATH", help="checkpoint from `train`")
    p.add_argument("--data", required=True, metavar="PATH", help="CSV/Parquet file or folder of bars")
    nan_option(p)
    p.add_argument("--output", default="predictions.csv", metavar="CSV", help="default: predictions.csv")
    p.add_argument("--native", action="store_true", help="run the Rust engine instead of PyTorch")
    run_options(p, device_default="cpu")
    pytorch = scopes.without_option("native", "PyTorch predictions (not --native)")
    scopes.always(p, "checkpoint", "data", "output", "native")
    scopes.declare(
        p, device=pytorch, threads=pytorch, no_progress=scopes.never("commands that show progress bars")
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Predicts, writes the CSV and prints the rows per part."""
    from neural_trader.files import write_atomic
    from neural_trader.workflows import predict, read_trained

    refuse_overwriting_inputs(
        {"--output": args.output}, {"--checkpoint": args.checkpoint, "--data": args.data}
    )
    device = setup(args)
    trained = read_trained(args.checkpoint)
    # The label column is not needed to predict: new bars have no labels yet.
    series = load_bars(
        args.data, trained.spec.horizons or trained.spec.horizon, args, trained.spec, labels=False
    )
    frame = predict(trained, series, use_native=args.native, device=device)
    out = Path(args.output)
    if out.parent != Path(""):
        out.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(out, frame.to_csv(index=False))
    engine = "native engine" if args.native else "PyTorch"
    line(
        "predictions",
        f"{out}: {len(frame)} rows ({engine}), {frame['timestamp'].iloc[0].date()} .. "
        f"{frame['timestamp'].iloc[-1].date()}",
    )
    counts = frame["part"].value_counts()
    line(
        "parts",
        ", ".join(f"{k} {counts[k]}" for k in ("train", "val", "test", "after", "other") if k in counts),
    )
    return 0
