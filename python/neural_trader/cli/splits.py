"""``neural-trader splits``: a walk-forward split file for a file of bars
(:func:`neural_trader.workflows.walk_forward`)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from neural_trader.cli.options import (
    UsageError,
    line,
    load_bars,
    nan_option,
    positive_int,
    refuse_overwriting_inputs,
)


def add(sub: Any) -> None:
    """Adds the command to the sub-parsers."""
    p = sub.add_parser(
        "splits",
        help="write a walk-forward split file (JSON) for a file of bars",
        description="Walk-forward folds over the rows after the feature warm-up, with an embargo of at "
        "least the horizon between parts; `train --split FILE --fold K` uses fold K.",
    )
    p.add_argument("--data", required=True, metavar="PATH", help="one CSV/Parquet file of bars")
    nan_option(p)
    p.add_argument("--out", default="folds.json", metavar="JSON", help="default: folds.json")
    p.add_argument(
        "--folds", type=positive_int, default=3, help="number of folds, walk_forward's n_folds (default: 3)"
    )
    p.add_argument("--horizon", type=positive_int, default=5, help="largest label horizon (default: 5)")
    p.add_argument("--mode", choices=("expanding", "rolling"), default="expanding", help="default: expanding")
    p.add_argument("--test-size", type=positive_int, help="test rows per fold")
    p.add_argument("--val-size", type=positive_int, help="validation rows per fold (default: test size)")
    p.add_argument("--embargo", type=positive_int, help="rows between parts (default: the horizon)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Writes the folds and prints each fold's parts with their dates."""
    from neural_trader.files import write_atomic
    from neural_trader.workflows import walk_forward, walk_forward_json

    refuse_overwriting_inputs({"--out": args.out}, {"--data": args.data})
    series = load_bars(args.data, args.horizon, args)
    if len(series) != 1:
        raise UsageError("splits: --data must be one file (a split indexes the rows of one series)")
    s = series[0]
    folds = walk_forward(
        s,
        horizon=args.horizon,
        n_folds=args.folds,
        mode=args.mode,
        test_size=args.test_size,
        val_size=args.val_size,
        embargo=args.embargo,
    )
    out = Path(args.out)
    if out.parent != Path(""):
        out.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(out, walk_forward_json(folds, mode=args.mode, horizon=args.horizon))
    index = s.index
    embargo = folds[0].embargo
    print(f"{s.symbol}: {s.n_rows} rows after the feature warm-up, {args.mode} folds, embargo {embargo}")
    for k, f in enumerate(folds, 1):
        parts = [
            f"{name} [{a}, {b}) {index[a].date()} .. {index[b - 1].date()}"
            for name, (a, b) in f.parts().items()
        ]
        print(f"fold {k}: " + "; ".join(parts))
    line("written", out)
    return 0
