"""The ``neural-trader`` command line: it parses arguments, calls library functions and prints results.

One module per command (``quickstart``, ``pretrain``, ``train``, ``evaluate``, ``predict``, ``export``,
``splits``, ``models``, ``bench``), each with ``add(sub)`` (its options) and ``run(args)`` (the library
calls); :mod:`neural_trader.cli.options` holds what they share. To add a command, write its module and list
it in :data:`COMMANDS`.

Every command has ``--help``. User errors (bad paths, options, data or checkpoints) end with exit code 2
and one line ``neural-trader: error: ...`` on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from types import ModuleType

from neural_trader.cli import (
    bench,
    evaluate,
    export,
    models,
    predict,
    pretrain,
    quickstart,
    scopes,
    splits,
    train,
    tune,
)
from neural_trader.cli.options import PROG, Parser, UsageError

#: The commands, in --help order.
COMMANDS: list[ModuleType] = [
    quickstart,
    pretrain,
    train,
    evaluate,
    predict,
    export,
    splits,
    tune,
    models,
    bench,
]

__all__ = ["COMMANDS", "PROG", "UsageError", "build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command."""
    from neural_trader import _core

    parser = Parser(
        prog=PROG,
        description="Deep learning on OHLCV bars: PyTorch models, honest evaluation, a native Rust engine.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_core.__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=Parser)
    for command in COMMANDS:
        command.add(sub)
    return parser


def _error(message: str) -> int:
    text = " ".join(str(message).split()) or "unknown error"
    print(f"{PROG}: error: {text}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``neural-trader`` console script; returns the exit code."""
    from neural_trader.errors import NeuralTraderError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        # An option given where it does not apply is refused, never silently ignored.
        scopes.check_given(parser, args, scopes.given_dests(parser, argv))
        return args.func(args)
    except (NeuralTraderError, UsageError) as exc:
        return _error(str(exc))
    except OSError as exc:  # bad paths: missing files, folders where files belong, permissions
        if exc.filename is not None and exc.strerror:
            return _error(f"{exc.strerror}: {exc.filename}")
        return _error(str(exc))
    except ImportError as exc:  # optional dependencies, e.g. pyarrow for Parquet
        return _error(str(exc))
    except FloatingPointError as exc:  # the training loss diverged: a setting to change, not a crash
        return _error(str(exc))
    except MemoryError:
        return _error("out of memory: lower --hidden-size, --window, --batch-size or the data size")
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
