"""The options of ``train`` that set a model's task rather than its sizes: teacher forcing and its schedule
(forecasters), the horizons and multi-task loss weights (``trend_attention``).

Each applies to one task (the model's declared ``task``; the schedule parameters, to their schedules): its
scope (:mod:`neural_trader.cli.scopes`) refuses it elsewhere with one line naming the option and what it
applies to, never silently ignored.
"""

from __future__ import annotations

import argparse
from typing import Any

from neural_trader import recipe
from neural_trader.cli import scopes
from neural_trader.cli.options import MAX_EPOCHS, bars, epochs, number, weight
from neural_trader.models.teacher_forcing import KINDS, ScheduledSampling

probability = number(float, low=0.0, high=1.0)
inverse_sigmoid_width = number(float, low=1.0, high=float(MAX_EPOCHS))
decay_rate = number(float, low=0.0, high=1.0, low_open=True, high_open=True)

#: The schedule parameters and the kinds that use them.
_SCHEDULE_PARAMETERS = {
    "teacher_forcing_end": ("linear", "exponential", "inverse_sigmoid"),
    "teacher_forcing_decay_epochs": ("linear",),
    "teacher_forcing_rate": ("exponential",),
    "teacher_forcing_k": ("inverse_sigmoid",),
}
_TREND = ("horizons", "regression_weight", "classification_weight")


def add(p: argparse.ArgumentParser) -> None:
    """Adds the teacher-forcing group (forecasters) and the trend group (``trend_attention``)."""
    g = p.add_argument_group("teacher forcing (lstm_attention)")
    g.add_argument(
        "--teacher-forcing",
        type=probability,
        metavar="RATIO",
        help="chance per decoder step, in training, of reading the true previous value instead of the "
        "model's own forecast; the ratio of the first epoch with a schedule (default: 0.5, the config's "
        "teacher_forcing_ratio; 1.0 with a decaying schedule)",
    )
    g.add_argument(
        "--teacher-forcing-schedule",
        choices=KINDS,
        help="how the ratio changes over epochs (scheduled sampling; default: constant)",
    )
    g.add_argument(
        "--teacher-forcing-end",
        type=probability,
        metavar="RATIO",
        help="linear, exponential, inverse_sigmoid: the ratio approached (default: 0.0)",
    )
    g.add_argument(
        "--teacher-forcing-decay-epochs",
        type=epochs,
        metavar="N",
        help="linear: epochs from the first ratio to the end ratio (default: --epochs minus 1, so the last "
        "epoch trains at the end ratio)",
    )
    g.add_argument(
        "--teacher-forcing-rate",
        type=decay_rate,
        help="exponential: per-epoch factor of the distance to the end ratio (default: 0.9)",
    )
    g.add_argument(
        "--teacher-forcing-k",
        type=inverse_sigmoid_width,
        help="inverse_sigmoid: width k >= 1; half-way near epoch k ln k (default: 5)",
    )
    t = p.add_argument_group("trend heads (trend_attention)")
    t.add_argument(
        "--horizons",
        type=bars,
        nargs="+",
        metavar="H",
        help="one head per horizon, trained together, e.g. --horizons 7 30 (the recipe's); labels for "
        "each, splits and embargo by the largest (replaces --horizon; default: --horizon alone)",
    )
    t.add_argument(
        "--regression-weight",
        type=weight,
        help=f"weight of the trend-score MSE in the loss (default: {recipe.REGRESSION_WEIGHT})",
    )
    t.add_argument(
        "--classification-weight",
        type=weight,
        help=f"weight of the up/down cross-entropy in the loss (default: {recipe.CLASSIFICATION_WEIGHT})",
    )
    forecasters = scopes.tasks("forecast", words="forecasters (lstm_attention)")
    trend = scopes.tasks("trend", words="trend_attention")
    schedule = {
        name: scopes.all_of(
            forecasters,
            scopes.option_in(
                "teacher_forcing_schedule",
                kinds,
                "constant",
                f"--teacher-forcing-schedule {' or '.join(kinds)}",
            ),
        )
        for name, kinds in _SCHEDULE_PARAMETERS.items()
    }
    scopes.declare(p, teacher_forcing=forecasters, teacher_forcing_schedule=forecasters, **schedule)
    scopes.declare(p, **dict.fromkeys(_TREND, trend))


def teacher_forcing(args: argparse.Namespace) -> ScheduledSampling | None:
    """The teacher-forcing schedule the options ask for; None when none was given (the config's ratio).

    A decaying schedule without ``--teacher-forcing`` starts at 1.0 (Bengio et al.: the decoder first
    reads the truth, then more and more its own forecasts).
    """
    if args.teacher_forcing is None and args.teacher_forcing_schedule is None:
        return None
    kind = args.teacher_forcing_schedule or "constant"
    start = args.teacher_forcing
    if start is None:
        start = 1.0 if kind != "constant" else 0.5
    values: dict[str, Any] = {"kind": kind, "start": start}
    if args.teacher_forcing_end is not None:
        values["end"] = args.teacher_forcing_end
    values["decay_epochs"] = args.teacher_forcing_decay_epochs or max(1, args.epochs - 1)
    if args.teacher_forcing_rate is not None:
        values["rate"] = args.teacher_forcing_rate
    if args.teacher_forcing_k is not None:
        values["k"] = args.teacher_forcing_k
    return ScheduledSampling(**values)


def loss_weights(args: argparse.Namespace) -> dict[str, float]:
    """``regression_weight`` and ``classification_weight``: the options', else the recipe's."""
    return {
        "regression_weight": recipe.REGRESSION_WEIGHT
        if args.regression_weight is None
        else args.regression_weight,
        "classification_weight": recipe.CLASSIFICATION_WEIGHT
        if args.classification_weight is None
        else args.classification_weight,
    }


def describe(schedule: ScheduledSampling | None, epochs: int) -> str | None:
    """One line for the summary: the ratio of the first and the last epoch, and the schedule's kind."""
    if schedule is None:
        return None
    first, last = schedule.ratio(0), schedule.ratio(max(0, epochs - 1))
    return f"{schedule.kind}, ratio {first:.3g} (epoch 1) -> {last:.3g} (epoch {epochs})"
