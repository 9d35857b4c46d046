"""``train``'s label options (``--label``, ``--barriers``, ``--vol-window``, ``--label-column``,
``--label-horizon``) and the :class:`~neural_trader.data.DataSpec` that ``train`` builds from its options.

The label recipes are those of :mod:`neural_trader.data.spec`: ``direction`` (default of the direction
classifiers), ``forward_return`` (regression), ``triple_barrier`` (3 classes), ``classes`` and ``values``
(your column, with the horizon you state), ``trend`` (``trend_attention``), ``forecast``
(``lstm_attention``).
"""

from __future__ import annotations

import argparse
from typing import Any

from neural_trader.cli import scopes
from neural_trader.cli.options import MAX_WIDTH, UsageError, bars, number, weight
from neural_trader.data.spec import COLUMN_LABELS

#: Every label kind, in --help order (which model learns which: DataSpec's LABELS).
LABEL_CHOICES = ("direction", "forward_return", "triple_barrier", "classes", "values", "trend", "forecast")
_DEFAULT_HORIZON = 5


def add(p: argparse.ArgumentParser) -> None:
    """Adds the label options to ``train``'s parser (after :func:`~neural_trader.cli.options.window_options`,
    whose ``--horizon`` default it takes over, so that a horizon given twice can be told apart)."""
    g = p.add_argument_group("labels")
    g.add_argument(
        "--label",
        choices=LABEL_CHOICES,
        help="what the model learns. Direction classifiers: direction (up over --horizon bars; the "
        "default), forward_return (the --horizon-bar log return, regression), triple_barrier (3 classes: "
        "down/flat/up, by the first barrier hit), classes or values (your --label-column); "
        "trend_attention: trend; lstm_attention: forecast (default: the model's own)",
    )
    g.add_argument(
        "--barriers",
        nargs=2,
        type=weight,
        metavar=("UP", "LOW"),
        help="triple_barrier: upper and lower barrier in units of the rolling volatility; 0 disables one "
        "(default: 1 1)",
    )
    g.add_argument(
        "--vol-window",
        type=number(int, 2, MAX_WIDTH),
        help="triple_barrier: one-bar log returns in the causal rolling volatility (default: 20)",
    )
    g.add_argument(
        "--label-column",
        metavar="NAME",
        help="classes/values: the column of the bars file holding your label (NaN: no label for that row)",
    )
    g.add_argument(
        "--label-horizon",
        type=bars,
        metavar="BARS",
        help="how many bars ahead your --label-column reads (required with it; the same as --horizon: "
        "the split's embargo covers it)",
    )
    p.set_defaults(horizon=None)
    s = scopes
    # --label-horizon is also how far ahead a built-in label reads (the same as --horizon).
    s.always(p, "label", "label_horizon")
    barrier = s.labels("triple_barrier", words="triple-barrier labels").hinted("add --label triple_barrier")
    column = s.labels(*COLUMN_LABELS, words="your label column").hinted(
        "{option} needs --label classes or --label values"
    )
    s.declare(
        p,
        barriers=barrier,
        vol_window=barrier,
        label_column=column,
    )


def data_spec(args: argparse.Namespace, task: str) -> Any:
    """The data spec of ``train``'s options for a model learning ``task``.

    Raises:
        UsageError: options that do not fit together (a label the model does not learn, a label column
            without its horizon, barrier options without triple-barrier labels, two different horizons).
    """
    from neural_trader.data import LABELS, DataSpec

    label = args.label or LABELS[task][0]
    if label not in LABELS[task]:
        raise UsageError(f"--label {label}: {args.model} learns {task} labels ({', '.join(LABELS[task])})")
    if label in COLUMN_LABELS and (args.label_column is None or args.label_horizon is None):
        raise UsageError(
            f"--label {label} reads your column: give --label-column NAME and --label-horizon BARS "
            "(how many bars ahead it reads, so the split's embargo covers it)"
        )
    if None not in (args.horizon, args.label_horizon) and args.horizon != args.label_horizon:
        raise UsageError(
            f"--horizon {args.horizon} and --label-horizon {args.label_horizon} disagree: give one of them"
        )
    horizon = next((h for h in (args.label_horizon, args.horizon) if h is not None), _DEFAULT_HORIZON)
    return DataSpec(
        task=task,
        inputs=args.inputs,
        window=args.window,
        horizon=horizon,
        targets=args.targets if task == "forecast" else [],
        horizons=getattr(args, "horizons", None),
        label=label,
        barriers=list(args.barriers) if args.barriers is not None else [1.0, 1.0],
        vol_window=args.vol_window if args.vol_window is not None else 20,
        label_column=args.label_column,
    )
