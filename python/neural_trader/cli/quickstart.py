"""``neural-trader quickstart``: the main job end to end on the bundled S&P 500 bars
(:mod:`neural_trader.quickstart`)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from neural_trader.cli import scopes
from neural_trader.cli.options import (
    MAX_SPLITS,
    epochs,
    interval,
    number,
    progress,
    resamples,
    run_options,
    setup,
)


def add(sub: Any) -> None:
    """Adds the command to the sub-parsers."""
    p = sub.add_parser(
        "quickstart",
        help="the main job on the bundled S&P 500 bars: pre-train, fine-tune, evaluate, serve natively",
        description="Pre-trains a masked BiLSTM encoder, fine-tunes a bilstm_classifier from it in every "
        "walk-forward fold, evaluates it against baselines with bootstrap intervals, trains an "
        "lstm_attention forecaster, runs both in the native engine and checks parity, and writes a report. "
        "About 3-5 minutes on two CPU cores.",
    )
    p.add_argument("--out", default="runs/quickstart", help="output folder (default: runs/quickstart)")
    p.add_argument("--epochs", type=epochs, default=12, help="fine-tuning epochs at most (default: 12)")
    p.add_argument(
        "--folds",
        type=number(int, 1, MAX_SPLITS),
        default=3,
        help="walk-forward folds, the config's folds (default: 3)",
    )
    p.add_argument(
        "--n-bootstrap",
        type=resamples,
        default=1000,
        help="bootstrap resamples, the config's n_resamples (default: 1000)",
    )
    run_options(p, device_default="cpu")
    scopes.always(p, "out", "epochs", "folds", "n_bootstrap")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Runs the quickstart; exit status 1 when the native engine and PyTorch disagree."""
    from neural_trader import quickstart

    cfg = quickstart.QuickstartConfig(
        epochs=args.epochs,
        folds=args.folds,
        n_resamples=args.n_bootstrap,
        seed=args.seed,
        device=setup(args),
        threads=args.threads,
        progress=progress(args),
    )
    summary = quickstart.run(args.out, cfg, log=lambda text: print(text, file=sys.stderr, flush=True))
    print(console_summary(summary))
    return 0 if all(p["ok"] for p in summary["parity"].values()) else 1


def console_summary(summary: dict[str, Any]) -> str:
    """The summary as plain lines: setting, scores, trading, forecaster, then parity and the verdict."""
    c, e, f = summary["classification"], summary["equity"], summary["forecast"]
    ctx = summary["context"]
    overall = c["sections"][-1]
    lines = ["neural-trader quickstart", ""]
    lines += [f"{k:<20} {v}" for k, v in ctx.items()]
    lines += [
        "",
        f"test windows         {overall['windows']} in {len(c['sections']) - 1 or 1} folds, "
        f"{overall['first']} .. {overall['last']}, share up {overall['up_share']:.3f} "
        f"(95% block-bootstrap intervals)",
        f"{'':<20} {'balanced accuracy':<24} {'MCC':<24} {'ROC-AUC':<24} {'accuracy':<24}",
    ]
    for name, scores in overall["scores"].items():
        cells = [interval(scores[m]) for m in ("balanced_accuracy", "mcc", "roc_auc", "accuracy")]
        lines.append(f"{name:<20} " + " ".join(f"{cell:<24}" for cell in cells))
    stats = next(iter(e["symbols"].values()))["stats"]
    model = c["model"]
    shown = [n for n in (model, *c["baselines"], "buy_and_hold") if n in stats]
    lines.append(
        f"{'trading (' + format(e['cost_bps'], 'g') + ' bp)':<20} total return (Sharpe): "
        + ", ".join(f"{n} {stats[n]['total_return']:+.0%} ({stats[n]['sharpe']:.2f})" for n in shown)
    )
    mae = f["mae"]
    lines.append(
        f"forecaster           {f['model']}, {', '.join(f['targets'])} {f['horizon']} bars ahead, MAE: "
        + ", ".join(f"{k} {v['estimate']:.3g}" for k, v in mae.items())
    )
    lines.append(f"{'':<20} {f['sentence']}")
    lines.append(f"report               {summary['report']} (+ report.json and PNG plots)")
    lines.append(f"elapsed              {summary['seconds']['total']:.0f} s")
    lines += ["", "native engine vs PyTorch (same file, same test windows)"]
    for name, p in summary["parity"].items():
        status = "OK" if p["ok"] else "FAILED"
        lines.append(
            f"{name:<20} max |diff| = {p['max_abs_diff']:.2e} over {p['windows']} windows "
            f"(tolerance {p['tolerance']:.0e}): {status}"
        )
    lines.append(f"Verdict: {summary['verdict']}")
    return "\n".join(line.rstrip() for line in lines)
