"""``neural-trader train``: fit a registry model on bars, optionally from a pre-trained encoder
(:func:`neural_trader.workflows.train`)."""

from __future__ import annotations

import argparse
import os
from typing import Any

from neural_trader import recipe
from neural_trader.cli import labels, scopes, task_options
from neural_trader.cli.options import (
    UsageError,
    batch_size,
    dropout,
    epochs,
    epochs_or_none,
    learning_rate,
    line,
    load_bars,
    nan_option,
    progress,
    refuse_overwriting_inputs,
    run_options,
    setup,
    size_options,
    split_options,
    window_options,
)

#: What a run writes into its --out folder (the trainer's files).
RESUME_STATE = "last.safetensors"
RUN_FILES = ("best.safetensors", RESUME_STATE, "history.json", "history.png")


def add(sub: Any) -> None:
    """Adds the command to the sub-parsers."""
    p = sub.add_parser(
        "train",
        help="train a model on bars (optionally from a pre-trained encoder)",
        description="Trains a registry model with early stopping on validation loss and keeps the best "
        "epoch (best.safetensors, with the data spec, scaler and split in its metadata).",
    )
    p.add_argument("--model", required=True, help="registry name (see `neural-trader models`)")
    p.add_argument("--data", required=True, metavar="PATH", help="CSV/Parquet file or folder of bars")
    nan_option(p)
    p.add_argument("--out", metavar="DIR", help="output folder (default: runs/<model>)")
    p.add_argument(
        "--resume",
        nargs="?",
        const="",
        metavar="PATH",
        help="continue an interrupted run from its resume file, with the run's own options (default PATH: "
        "last.safetensors of the --out folder; a PATH alone sets --out to its folder); a file of another "
        "model, configuration, data or split is refused",
    )
    p.add_argument(
        "--targets",
        "--target",
        dest="targets",
        nargs="+",
        default=["volatility_20"],
        metavar="FEATURE",
        help="lstm_attention: feature columns to forecast, the data spec's targets (default: volatility_20)",
    )
    g = p.add_argument_group("model and optimisation")
    size_options(g, heads=True)
    g.add_argument("--dropout", type=dropout, default=0.2, help="dropout (default: 0.2)")
    g.add_argument("--epochs", type=epochs, default=20, help="maximum epochs (default: 20)")
    g.add_argument("--patience", type=epochs, default=5, help="early-stopping patience (default: 5)")
    g.add_argument("--batch-size", type=batch_size, default=64, help="windows per batch (default: 64)")
    g.add_argument("--lr", type=learning_rate, default=1e-3, help="peak learning rate (default: 1e-3)")
    g.add_argument(
        "--no-class-weights",
        action="store_true",
        help="unweighted loss (class_weights off; default: inverse class frequency)",
    )
    task_options.add(p)
    e = p.add_argument_group("pre-trained encoder")
    e.add_argument("--pretrained-encoder", metavar="PATH", help="encoder file from `neural-trader pretrain`")
    e.add_argument(
        "--freeze-encoder",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="freeze the loaded encoder tensors (default: frozen)",
    )
    e.add_argument(
        "--unfreeze-after",
        type=epochs_or_none,
        help="with --freeze-encoder: unfreeze after this many epochs, at half the learning rate "
        f"(default: {recipe.FREEZE_EPOCHS}, the recipe's; a value >= --epochs keeps it frozen)",
    )
    e.add_argument(
        "--log-pretrained-stats",
        action="store_true",
        help="print the transfer report and, per loaded tensor, its norm and how far fine-tuning moved it",
    )
    window_options(p)
    labels.add(p)
    split_options(p)
    run_options(p)
    s = scopes
    s.always(p, "model", "data", "out", "resume", "dropout", "epochs", "patience", "batch_size", "lr")
    s.always(p, "pretrained_encoder")
    encoder = s.with_option("pretrained_encoder", "runs with --pretrained-encoder").hinted(
        "the encoder options need --pretrained-encoder"
    )
    frozen = s.Scope("a frozen encoder", lambda c: None if c.args.freeze_encoder else "--no-freeze-encoder")
    s.declare(
        p,
        targets=s.tasks("forecast", words="forecasters (lstm_attention)"),
        no_class_weights=s.objectives("classification", words="class labels (a classifier's loss)"),
        freeze_encoder=encoder,
        unfreeze_after=s.all_of(encoder, frozen.hinted("it releases a frozen encoder")),
        log_pretrained_stats=encoder,
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Trains, then prints the windows, epochs, test scores and the checkpoint."""
    from neural_trader.workflows import ModelOptions, TrainOptions, choose_splits, task_of, train

    device = setup(args)
    task = task_of(args.model)
    spec = labels.data_spec(args, task)
    schedule = task_options.teacher_forcing(args)
    out, resume = _out_and_resume(args)
    refuse_overwriting_inputs(
        {"--out": [os.path.join(out, name) for name in RUN_FILES]},
        {"--data": args.data, "--split": args.split, "--pretrained-encoder": args.pretrained_encoder},
    )
    series = load_bars(args.data, spec.horizons, args, spec)
    splits, where = choose_splits(series, horizon=spec.horizon, split_file=args.split, fold=args.fold)
    result = train(
        args.model,
        series,
        spec,
        splits,
        out,
        model_options=ModelOptions(
            hidden_size=args.hidden_size,
            num_layers=args.num_layers,
            num_heads=args.num_heads,
            dropout=args.dropout,
            **({"teacher_forcing_ratio": schedule.start} if schedule is not None else {}),
        ),
        options=TrainOptions(
            epochs=args.epochs,
            patience=args.patience,
            batch_size=args.batch_size,
            lr=args.lr,
            class_weights=not args.no_class_weights,
            pretrained_encoder=args.pretrained_encoder,
            freeze_encoder=args.freeze_encoder,
            unfreeze_after=args.unfreeze_after,
            seed=args.seed,
            device=device,
            progress=progress(args),
            resume_from=resume,
            teacher_forcing=schedule,
            **task_options.loss_weights(args),
        ),
        source=args.data,
    )
    trained = result.spec or spec
    inputs = trained.describe_inputs()
    line("model", f"{args.model} ({trained.objective} task, {inputs} inputs, windows of {spec.window} bars)")
    if trained.user_columns or inputs not in ("features", "candles"):
        line("inputs", f"{len(trained.input_columns)} columns: {', '.join(trained.input_columns)}")
    if trained.label != task:
        classes = f", classes {', '.join(trained.class_names())}" if trained.num_classes else ""
        line("label", f"{trained.label_columns()[0]} ({trained.horizon} bars ahead{classes})")
    if task == "trend":
        line("horizons", f"{', '.join(map(str, spec.horizons))} bars (splits and embargo by {spec.horizon})")
    tf = task_options.describe(schedule, args.epochs)
    if tf is not None:
        line("teacher forcing", tf)
    line("data", f"{', '.join(s.symbol for s in series)}: {where}")
    line("windows", ", ".join(f"{k} {v}" for k, v in result.windows.items()))
    line("epochs", f"{result.epochs} (best {result.best_epoch}, validation loss {result.best_val_loss:.4f})")
    if result.transfer is not None:
        line("encoder", result.transfer.summary().splitlines()[0])
    metrics = result.test_metrics
    names = ("balanced_accuracy", "mcc", "roc_auc", "accuracy", "mae", "rmse", "ic")
    shown = [k for k in names if k in metrics] or sorted(metrics)
    line("test", ", ".join(f"{k} {metrics[k]:.4g}" for k in shown) + f" (loss {metrics['loss']:.4g})")
    if trained.num_classes:
        chance = "0.5" if trained.num_classes == 2 else f"1/{trained.num_classes}"
        print(
            f"{'':<20} (a constant prediction scores balanced accuracy {chance} and MCC 0; run `evaluate` "
            "for baselines and intervals)"
        )
    line("checkpoint", result.checkpoint)
    if args.log_pretrained_stats and result.pretrained_stats is not None:
        _print_pretrained_stats(result)
    return 0


def _out_and_resume(args: argparse.Namespace) -> tuple[str, str | None]:
    """The output folder and the resume file (None: a fresh run).

    Raises:
        UsageError: a resume file outside the --out folder, or no resume file.
    """
    if args.resume is None:
        return args.out or os.path.join("runs", args.model), None
    if args.resume:
        folder = os.path.dirname(args.resume) or "."
        if args.out is not None and not _same_folder(args.out, folder):
            raise UsageError(
                f"--resume {args.resume} is not in --out {args.out}: a run continues in its own folder, "
                "where its best.safetensors and history are (leave out --out, or resume that folder's "
                "last.safetensors)"
            )
        out, resume = args.out or folder, args.resume
    else:
        out = args.out or os.path.join("runs", args.model)
        resume = os.path.join(out, RESUME_STATE)
    if not os.path.exists(resume):
        raise UsageError(
            f"--resume: no resume file {resume} (train writes {RESUME_STATE} into its --out folder after "
            "every epoch)"
        )
    return out, resume


def _same_folder(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)


def _print_pretrained_stats(result: Any) -> None:
    print()
    print(result.transfer.summary())
    print(f"{'tensor':<34} {'shape':<12} {'norm':>9} {'mean':>9} {'std':>9} {'frozen':>7} {'moved':>9}")
    for r in result.pretrained_stats:
        shape = "x".join(str(d) for d in r["shape"])
        print(
            f"{r['name']:<34} {shape:<12} {r['norm']:9.4f} {r['mean']:9.4f} {r['std']:9.4f} "
            f"{'yes' if r['frozen_at_start'] else 'no':>7} {r['relative_change']:9.2%}"
        )
    print("(moved: |w_best - w_pretrained| / |w_pretrained| after fine-tuning)")
