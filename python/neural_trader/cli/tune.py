"""``neural-trader tune``: a seeded random search over model and training options, selected on purged
cross-validation of the development rows, with the held-out test period opened once for the chosen
configuration (:func:`neural_trader.workflows.tune`)."""

from __future__ import annotations

import argparse
import os
from typing import Any

from neural_trader.cli import scopes
from neural_trader.cli.options import (
    MAX_SPLITS,
    MAX_TRIALS,
    UsageError,
    bars,
    cost_bps,
    interval,
    line,
    load_bars,
    nan_option,
    number,
    progress,
    resamples,
    rows,
    run_options,
    setup,
)

# Options that make the splits; a --split file already fixes them (refused beside it).
_SPLIT_MAKING = ("kind", "folds", "groups", "test_groups", "embargo", "holdout")


def add(sub: Any) -> None:
    """Adds the command to the sub-parsers."""
    p = sub.add_parser(
        "tune",
        help="search model and training options on purged cross-validation; test the winner once",
        description="Draws --trials configurations of the --model families from a grid (seeded, without "
        "replacement), trains each on every split of a purged k-fold or combinatorial purged "
        "cross-validation of the development rows and scores it on that split's test groups, picks the "
        "best mean validation metric, retrains it on the development rows and scores it once on the "
        "held-out test rows against the baselines. The report adds the deflated Sharpe ratio, the "
        "probability of backtest overfitting and the spread across backtest paths, and its verdict says "
        "skill only when all of them agree.",
    )
    p.add_argument("--data", required=True, metavar="PATH", help="one CSV/Parquet file of bars")
    nan_option(p)
    p.add_argument(
        "--model",
        required=True,
        nargs="+",
        metavar="NAME",
        help="families to search: trainable direction classifiers (see `neural-trader models`) and/or "
        "baselines (logreg, rf, momentum, majority)",
    )
    p.add_argument(
        "--trials", type=number(int, 1, MAX_TRIALS), default=20, help="configurations to try (default: 20)"
    )
    p.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=V1,V2",
        help="values of one setting, replacing its default grid (e.g. hidden_size=16,32, lr=1e-3,3e-3, "
        "epochs=2, C=0.1,1); repeat for several settings",
    )
    p.add_argument(
        "--metric",
        choices=("sharpe", "balanced_accuracy", "mcc"),
        default="sharpe",
        help="validation metric the search selects by (default: sharpe, per bar, of the trading rule)",
    )
    p.add_argument("--out", metavar="DIR", help="report folder (default: runs/tune)")
    g = p.add_argument_group("windows (default: the --split file's, else 32 and 5)")
    g.add_argument("--window", type=bars, help="bars per window")
    g.add_argument("--horizon", type=bars, help="label horizon in bars")
    g.add_argument("--inputs", choices=("features", "candles"), default="features", help="default: features")
    s = p.add_argument_group("splits: a --split file, or the options that make one")
    s.add_argument("--split", metavar="SPLIT.json", help="a file from `splits --kind purged-kfold|cpcv`")
    s.add_argument("--kind", choices=("purged-kfold", "cpcv"), help="default: cpcv")
    s.add_argument("--folds", type=number(int, 2, MAX_SPLITS), help="purged-kfold: folds (default: 5)")
    s.add_argument("--groups", type=number(int, 2, MAX_SPLITS), help="cpcv: groups N (default: 6)")
    s.add_argument(
        "--test-groups",
        type=number(int, 1, MAX_SPLITS - 1),
        help="cpcv: test groups k per split (default: 2)",
    )
    s.add_argument("--embargo", type=rows, help="rows after test groups and before the test rows")
    s.add_argument(
        "--holdout",
        type=number(float, 0.0, 1.0, low_open=True, high_open=True),
        help="share of the last rows held out as the test period (default: 0.2)",
    )
    e = p.add_argument_group("evaluation of the chosen configuration (as in `evaluate`)")
    e.add_argument(
        "--baselines",
        nargs="+",
        default=["majority", "momentum", "logreg"],
        help="default: majority momentum logreg",
    )
    e.add_argument("--cost-bps", type=cost_bps, default=1.0, help="default: 1")
    e.add_argument("--band", type=number(float, 0.0, 0.5, high_open=True), default=0.0, help="default: 0")
    e.add_argument("--n-bootstrap", type=resamples, default=1000, help="default: 1000")
    e.add_argument("--block-size", type=bars, help="bootstrap block (default: window + horizon)")
    run_options(p, device_default="cpu")
    s = scopes
    s.always(p, "data", "model", "trials", "param", "metric", "out", "window", "horizon", "inputs", "split")
    s.always(p, "baselines", "cost_bps", "band", "n_bootstrap", "block_size")
    making = s.without_option("split").hinted(
        "{option} does not apply with --split (the split file fixes the splits)"
    )
    kind = {
        "folds": s.option_in("kind", ("purged-kfold",), "cpcv", "--kind purged-kfold"),
        "groups": s.option_in("kind", ("cpcv",), "cpcv", "--kind cpcv"),
        "test_groups": s.option_in("kind", ("cpcv",), "cpcv", "--kind cpcv"),
    }
    s.declare(p, **{name: s.all_of(making, kind[name]) if name in kind else making for name in _SPLIT_MAKING})
    p.set_defaults(func=run)


def parse_params(items: list[str]) -> dict[str, list[Any]]:
    """``["C=0.1,1", "class_weights=false"]`` -> ``{"C": [0.1, 1], "class_weights": [False]}``.

    Raises:
        UsageError: an item without ``=``, a setting given twice, or an empty value.

    Example:
        >>> parse_params(["hidden_size=16,32", "lr=1e-3", "class_weight=balanced,none"])
        {'hidden_size': [16, 32], 'lr': [0.001], 'class_weight': ['balanced', None]}
    """
    out: dict[str, list[Any]] = {}
    for item in items:
        name, sep, values = item.partition("=")
        name = name.strip()
        if not sep or not name or not values.strip():
            raise UsageError(f"--param {item!r}: expected NAME=V1,V2,... (e.g. hidden_size=16,32)")
        if name in out:
            raise UsageError(f"--param {name} is given twice; list its values once (e.g. {name}=1,2)")
        out[name] = [_value(v.strip()) for v in values.split(",") if v.strip()]
    return out


def _value(text: str) -> Any:
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "none":
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def run(args: argparse.Namespace) -> int:
    """Tunes, writes the report and prints the search, the test scores, the statistics and the verdict."""
    from neural_trader.data import DataSpec
    from neural_trader.workflows import HeldOutCV
    from neural_trader.workflows.tune import TuneOptions, tune, write_tune_report

    device = setup(args)
    window, horizon = args.window, args.horizon
    if args.split is not None:
        held = HeldOutCV.load(args.split)
        window = held.window if window is None else window
        horizon = held.horizon if horizon is None else horizon
    kind = args.kind or "cpcv"
    spec = DataSpec(inputs=args.inputs, window=window or 32, horizon=horizon or 5)
    series = load_bars(args.data, spec.horizon, args)
    if len(series) != 1:
        raise UsageError("tune: --data must be one file (its splits index the rows of one series)")
    options = TuneOptions(
        models=tuple(args.model),
        trials=args.trials,
        params=parse_params(args.param),
        split_file=args.split,
        kind=kind,
        n_groups=(args.folds or 5) if kind == "purged-kfold" else (args.groups or 6),
        n_test_groups=args.test_groups or 2,
        embargo=args.embargo,
        holdout=0.2 if args.holdout is None else args.holdout,
        metric=args.metric,
        baselines=tuple(args.baselines),
        cost_bps=args.cost_bps,
        band=args.band,
        n_resamples=args.n_bootstrap,
        block_size=args.block_size,
        seed=args.seed,
        device=device,
        progress=progress(args),
    )
    result = tune(series[0], spec, options)
    out = args.out or os.path.join("runs", "tune")
    context = {
        "data": f"{args.data} ({series[0].symbol})",
        "windows": f"{spec.window} bars of {spec.inputs}, labels up/down {spec.horizon} bars ahead",
        "seed": args.seed,
    }
    written = write_tune_report(out, result, options, context)
    _summary(result, series[0], written)
    return 0


def _summary(result: Any, s: Any, written: list[Any]) -> None:
    from neural_trader.evaluation import report_document
    from neural_trader.workflows.tune_trials import METRIC_LABELS

    held, cv, best = result.held, result.held.cv, result.best
    index = s.index
    (a, b), (c, d) = held.development, held.test
    dev = f"development [{a}, {b}) {index[a].date()} .. {index[b - 1].date()}"
    line("rows", f"{dev}; test [{c}, {d}) {index[c].date()} .. {index[d - 1].date()}, opened once")
    kind = (
        "purged k-fold"
        if cv.n_test_groups == 1
        else f"CPCV ({cv.n_groups} groups, {cv.n_test_groups} tested)"
    )
    n = len(result.trials)
    paths = f"{cv.n_paths} path{'s' if cv.n_paths > 1 else ''}"
    line(
        "search",
        f"{n} trials ({n} of {result.grid_size} grid configurations); {kind}: {len(cv)} splits, {paths}",
    )
    metric = METRIC_LABELS[best.metric]
    line("chosen", f"trial {best.number}: {best.candidate.label()} (validation {metric} {best.score:.4f})")
    overall = report_document("", {}, result.classification)["classification"]["sections"][-1]
    line("test windows", f"{overall['windows']}, {overall['first']} .. {overall['last']}, "
         f"share up {overall['up_share']:.3f}")  # fmt: skip
    for name, scores in overall["scores"].items():
        ba, mcc = interval(scores["balanced_accuracy"]), interval(scores["mcc"])
        line(name, f"balanced accuracy {ba}   MCC {mcc}")
    for label, reading in zip(("DSR", "PBO", "path spread"), result.verdict.readings, strict=True):
        line(label, reading)
    line("report", f"{written[0]} (+ {', '.join(p.name for p in written[1:])})")
    print(f"Verdict: {result.verdict.sentence}")
