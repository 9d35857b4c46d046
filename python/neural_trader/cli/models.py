"""``neural-trader models``: the registry's models and the baselines, read from their declarations."""

from __future__ import annotations

import argparse
from typing import Any


def add(sub: Any) -> None:
    """Adds the command to the sub-parsers."""
    p = sub.add_parser("models", help="list the models and baselines", description="Lists the registry.")
    p.set_defaults(func=run)


def run(_: argparse.Namespace) -> int:
    """Prints one line per model and baseline: name, kind, description."""
    from neural_trader.workflows.build import registry_rows

    for name, kind, doc in registry_rows():
        print(f"{name:<28} {kind:<40} {doc}")
    return 0
