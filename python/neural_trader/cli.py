"""The ``neural-trader`` command line. It parses arguments and calls library functions; no logic here."""

from __future__ import annotations

import argparse
import sys

from neural_trader.errors import NeuralTraderError


def _quickstart(args: argparse.Namespace) -> int:
    from neural_trader import quickstart

    cfg = quickstart.QuickstartConfig(seed=args.seed, epochs=args.epochs)
    summary = quickstart.run(args.out, cfg)
    print(quickstart.report(summary))
    return 0 if summary["parity_max_abs_diff"] <= 1e-5 else 1


def _models(_: argparse.Namespace) -> int:
    from neural_trader.models import MODELS

    for name, cls in sorted(MODELS.items()):
        print(f"{name:28s} {cls.__name__}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every sub-command."""
    parser = argparse.ArgumentParser(prog="neural-trader", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    q = sub.add_parser("quickstart", help="train on the bundled S&P 500 bars, serve natively, compare")
    q.add_argument("--out", default="runs/quickstart", help="output folder (default: runs/quickstart)")
    q.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    q.add_argument("--epochs", type=int, default=8, help="maximum training epochs (default: 8)")
    q.set_defaults(func=_quickstart)

    m = sub.add_parser("models", help="list the registered models")
    m.set_defaults(func=_models)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``neural-trader`` console script."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (NeuralTraderError, FileNotFoundError) as e:
        print(f"neural-trader: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
