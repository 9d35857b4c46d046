"""``neural-trader evaluate``: checkpoints on their test windows against baselines, as a report with a
verdict (:func:`neural_trader.workflows.evaluate`)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from neural_trader.cli import scopes
from neural_trader.cli.options import (
    bars,
    cost_bps,
    interval,
    line,
    load_bars,
    nan_option,
    number,
    progress,
    refuse_overwriting_inputs,
    resamples,
    run_options,
    setup,
)


def add(sub: Any) -> None:
    """Adds the command to the sub-parsers."""
    p = sub.add_parser(
        "evaluate",
        help="score checkpoints on their test windows against baselines; write the report",
        description="Scores each checkpoint on the test part of the split it was trained with (give one "
        "checkpoint per walk-forward fold), next to baselines fit on the same training windows, with "
        "block-bootstrap intervals, an equity curve after costs, and a verdict. Writes report.md, "
        "report.json and PNG plots.",
    )
    p.add_argument("--checkpoint", required=True, nargs="+", metavar="PATH", help="checkpoints from `train`")
    p.add_argument("--data", required=True, metavar="PATH", help="the bars the checkpoints were trained on")
    nan_option(p)
    p.add_argument("--out", metavar="DIR", help="report folder (default: <first checkpoint's folder>/report)")
    p.add_argument("--cost-bps", type=cost_bps, default=1.0, help="cost per unit traded, bp (default: 1)")
    p.add_argument(
        "--band",
        type=number(float, 0.0, 0.5, high_open=True),
        default=0.0,
        help="flat when |P(up) - 0.5| <= band (default: 0)",
    )
    p.add_argument(
        "--n-bootstrap",
        type=resamples,
        default=1000,
        help="bootstrap resamples, the options' n_resamples (default: 1000)",
    )
    p.add_argument(
        "--block-size",
        type=bars,
        help="bootstrap block, in windows (default: window + horizon); test windows holding fewer than 5 "
        "blocks get no interval and no verdict",
    )
    p.add_argument(
        "--baselines",
        nargs="+",
        default=["majority", "momentum", "logreg"],
        help="baselines to compare with (default: majority momentum logreg; also rf, xgb (gradient-boosted "
        "trees, pip install 'neural_trader[xgb]') and stack (logreg + rf stacked on time-ordered "
        "out-of-fold predictions); `neural-trader models` lists them)",
    )
    p.add_argument("--season", type=bars, default=5, help="seasonal-naive season in bars (default: 5)")
    run_options(p, device_default="cpu")
    scopes.always(p, "checkpoint", "data", "out", "n_bootstrap", "block_size")
    classifiers = scopes.objectives("classification", words="classifier checkpoints (class labels)")
    scopes.declare(
        p,
        cost_bps=classifiers,
        band=classifiers,
        baselines=classifiers,
        season=scopes.objectives("forecast", words="forecaster checkpoints (lstm_attention)"),
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Evaluates, writes the report and prints the overall scores and the verdict."""
    from neural_trader.evaluation import report_document, write_report
    from neural_trader.evaluation.report import report_paths
    from neural_trader.workflows import EvaluateOptions, evaluate, read_trained

    device = setup(args)
    models = [read_trained(p) for p in args.checkpoint]
    series = load_bars(args.data, models[0].spec.horizons or models[0].spec.horizon, args, models[0].spec)
    out = Path(args.out) if args.out else Path(args.checkpoint[0]).parent / "report"
    refuse_overwriting_inputs(
        {"--out": report_paths(out, [s.symbol for s in series])},
        {"--checkpoint": list(args.checkpoint), "--data": args.data},
    )
    options = EvaluateOptions(
        cost_bps=args.cost_bps,
        band=args.band,
        n_resamples=args.n_bootstrap,
        block_size=args.block_size,
        seed=args.seed,
        baselines=tuple(args.baselines),
        season=args.season,
        device=device,
        progress=progress(args),
    )
    classification, forecast = evaluate(models, series, options)
    context = {
        "data": f"{args.data} ({', '.join(s.symbol for s in series)})",
        "checkpoints": ", ".join(args.checkpoint),
        "model": models[0].name,
    }
    title = f"Evaluation of {models[0].name} on {', '.join(s.symbol for s in series)}"
    doc = report_document(title, context, classification, forecast)
    written = write_report(out, doc, classification, forecast)
    if classification is not None:
        c = doc["classification"]
        for part in (c, *c.get("other_labels", [])):
            overall = part["sections"][-1]
            label = f" ({part['label']})" if c.get("other_labels") else ""
            if "up_share" in overall:
                shares = f"share up {overall['up_share']:.3f}"
            else:
                shares = "shares " + ", ".join(f"{k} {v:.3f}" for k, v in overall["class_shares"].items())
            line(
                "test windows",
                f"{overall['windows']}, {overall['first']} .. {overall['last']}, {shares}{label}",
            )
            for name, scores in overall["scores"].items():
                ba, mcc = scores["balanced_accuracy"], scores["mcc"]
                line(name, f"balanced accuracy {interval(ba)}   MCC {interval(mcc)}")
            for name, why in part.get("not_fittable", {}).items():
                line(name, f"not fittable: {why}")
    if forecast is not None:
        f = doc["forecast"]
        line("test windows", f"{f['windows']}, {f['first']} .. {f['last']}")
        for name, iv in f["mae"].items():
            ic = f"   IC {interval(f['ic'][name])}" if "ic" in f else ""
            line(name, f"MAE {interval(iv, '{:.4g}')}{ic}")
    line("report", f"{written[0]} (+ {', '.join(p.name for p in written[1:])})")
    print(f"Verdict: {doc['verdict']}")
    return 0
