"""``neural-trader splits``: walk-forward folds, purged k-fold or combinatorial purged cross-validation
splits for a file of bars (:func:`neural_trader.workflows.walk_forward`,
:func:`neural_trader.workflows.held_out_cv`)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from neural_trader.cli import scopes
from neural_trader.cli.options import (
    MAX_SPLITS,
    UsageError,
    bars,
    line,
    load_bars,
    nan_option,
    number,
    refuse_overwriting_inputs,
    rows,
)

KINDS = ("walk-forward", "purged-kfold", "cpcv")


def add(sub: Any) -> None:
    """Adds the command to the sub-parsers."""
    p = sub.add_parser(
        "splits",
        help="write a split file (JSON): walk-forward folds, purged k-fold or CPCV",
        description="Walk-forward folds over the rows after the feature warm-up, with an embargo of at "
        "least the horizon between parts (`train --split FILE --fold K` uses fold K); or purged k-fold / "
        "combinatorial purged cross-validation (CPCV) over the windows of the development rows, with the "
        "last rows held out as a test period (`tune --split FILE` uses it). Written atomically.",
    )
    p.add_argument("--data", required=True, metavar="PATH", help="one CSV/Parquet file of bars")
    nan_option(p)
    p.add_argument("--out", default="folds.json", metavar="JSON", help="default: folds.json")
    p.add_argument("--kind", choices=KINDS, default="walk-forward", help="default: walk-forward")
    p.add_argument(
        "--folds",
        type=number(int, 1, MAX_SPLITS),
        help="walk-forward folds (default: 3), or purged k-fold folds (default: 5)",
    )
    p.add_argument("--horizon", type=bars, default=5, help="largest label horizon (default: 5)")
    p.add_argument(
        "--embargo",
        type=rows,
        help="rows between parts; purged kinds: also after every test group (default: the horizon)",
    )
    w = p.add_argument_group("walk-forward")
    w.add_argument("--mode", choices=("expanding", "rolling"), help="default: expanding")
    w.add_argument("--test-size", type=rows, help="test rows per fold")
    w.add_argument("--val-size", type=rows, help="validation rows per fold (default: test size)")
    c = p.add_argument_group("purged k-fold and CPCV (samples are the windows of the development rows)")
    c.add_argument("--window", type=bars, help="bars per window, as in `train` (default: 32)")
    c.add_argument(
        "--holdout",
        type=number(float, 0.0, 1.0, high_open=True),
        help="share of the last rows held out as the test period, after an embargo; 0 for none "
        "(default: 0.2)",
    )
    c.add_argument("--groups", type=number(int, 2, MAX_SPLITS), help="cpcv: groups N (default: 6)")
    c.add_argument(
        "--test-groups",
        type=number(int, 1, MAX_SPLITS - 1),
        help="cpcv: test groups k per split (default: 2)",
    )
    s = scopes
    s.always(p, "data", "out", "kind", "horizon", "embargo")
    walk_forward = s.option_in("kind", ("walk-forward",), "walk-forward", "--kind walk-forward")
    purged = s.option_in("kind", ("purged-kfold", "cpcv"), "walk-forward", "--kind purged-kfold or cpcv")
    cpcv = s.option_in("kind", ("cpcv",), "walk-forward", "--kind cpcv")
    folds = s.option_in(
        "kind", ("walk-forward", "purged-kfold"), "walk-forward", "--kind walk-forward or purged-kfold"
    )
    s.declare(p, folds=folds, mode=walk_forward, test_size=walk_forward, val_size=walk_forward)
    s.declare(p, window=purged, holdout=purged, groups=cpcv, test_groups=cpcv)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Writes the split file and prints its parts with their dates."""
    refuse_overwriting_inputs({"--out": args.out}, {"--data": args.data})
    series = load_bars(args.data, args.horizon, args)
    if len(series) != 1:
        raise UsageError("splits: --data must be one file (a split indexes the rows of one series)")
    if args.kind == "walk-forward":
        return _walk_forward(args, series[0])
    return _purged(args, series[0])


def _walk_forward(args: argparse.Namespace, s: Any) -> int:
    from neural_trader.files import write_atomic
    from neural_trader.workflows import walk_forward, walk_forward_json

    mode = args.mode or "expanding"
    folds = walk_forward(
        s,
        horizon=args.horizon,
        n_folds=args.folds or 3,
        mode=mode,
        test_size=args.test_size,
        val_size=args.val_size,
        embargo=args.embargo,
    )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(out, walk_forward_json(folds, mode=mode, horizon=args.horizon).encode())
    index = s.index
    embargo = folds[0].embargo
    print(f"{s.symbol}: {s.n_rows} rows after the feature warm-up, {mode} folds, embargo {embargo}")
    for k, f in enumerate(folds, 1):
        parts = [
            f"{name} [{a}, {b}) {index[a].date()} .. {index[b - 1].date()}"
            for name, (a, b) in f.parts().items()
        ]
        print(f"fold {k}: " + "; ".join(parts))
    line("written", out)
    return 0


def _purged(args: argparse.Namespace, s: Any) -> int:
    from neural_trader.data import DataSpec
    from neural_trader.workflows import held_out_cv

    spec = DataSpec(window=args.window or 32, horizon=args.horizon)
    held = held_out_cv(
        s,
        spec,
        kind=args.kind,
        n_groups=(args.folds or 5) if args.kind == "purged-kfold" else (args.groups or 6),
        n_test_groups=args.test_groups or 2,
        embargo=args.embargo,
        holdout=0.2 if args.holdout is None else args.holdout,
    )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    held.save(out)
    for text in describe(held, s):
        print(text)
    line("written", out)
    return 0


def describe(held: Any, s: Any, max_splits: int = 20) -> list[str]:
    """Lines saying what a purged split file holds: the rows, the groups, each split, the paths."""
    from neural_trader.data import DataSpec

    index, cv = s.index, held.cv
    t0, _ = held.spans(s, DataSpec(window=held.window, horizon=held.horizon))
    a, b = held.development
    lines = [
        f"{s.symbol}: {s.n_rows} rows after the feature warm-up; windows of {held.window} bars, labels "
        f"{held.horizon} bars ahead, embargo {held.embargo} rows",
        f"development rows [{a}, {b}) {index[a].date()} .. {index[b - 1].date()}: {cv.n_samples} windows "
        f"in {cv.n_groups} groups",
    ]
    if held.test is not None:
        c, d = held.test
        lines.append(f"test rows [{c}, {d}) {index[c].date()} .. {index[d - 1].date()}: held out")
    else:
        lines.append("test rows: none held out (--holdout 0)")
    what = "purged k-fold" if cv.n_test_groups == 1 else f"CPCV, {cv.n_test_groups} test groups per split"
    lines.append(f"{what}: {len(cv)} splits, {cv.n_paths} backtest path{'s' if cv.n_paths > 1 else ''}")
    for k, split in enumerate(cv.splits[:max_splits], 1):
        groups = ",".join(str(g + 1) for g in split.test_groups)
        first, last = (index[int(t0[i])].date() for i in (split.test_runs[0, 0], split.test_runs[-1, 1] - 1))
        lines.append(
            f"split {k}: test group{'s' if len(split.test_groups) > 1 else ''} {groups} ({split.n_test} "
            f"windows, {first} .. {last}); train {split.n_train} windows "
            f"(purged {split.n_purged}, embargoed {split.n_embargoed})"
        )
    if len(cv) > max_splits:
        lines.append(f"... and {len(cv) - max_splits} more splits")
    return lines
