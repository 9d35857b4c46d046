"""The ``neural-trader`` command line: it parses arguments, calls library functions and prints results.

Every command has ``--help``. User errors (bad paths, options, data or checkpoints) end with exit code 2
and one line ``neural-trader: error: ...`` on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

PROG = "neural-trader"


class UsageError(Exception):
    """A bad command line that argparse itself cannot see (e.g. CUDA asked for but absent)."""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line, naming the command's --help."""

    def error(self, message: str) -> NoReturn:
        hint = f" (see '{self.prog} --help')"
        self.exit(2, f"{PROG}: error: {message}{hint}\n")


# ------------------------------------------------------------------------------------------ arguments
def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {value}")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text}")
    return value


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text}")
    return value


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1), got {text!r}") from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1), got {text}")
    return value


def _common(p: argparse.ArgumentParser, device_default: str = "auto") -> None:
    g = p.add_argument_group("run")
    g.add_argument("--seed", type=_non_negative_int, default=0, help="random seed (default: 0)")
    g.add_argument(
        "--device",
        choices=("auto", "cpu", "cuda"),
        default=device_default,
        help=f"where PyTorch runs; auto picks CUDA when available (default: {device_default})",
    )
    g.add_argument(
        "--threads",
        type=_positive_int,
        default=1,
        help="PyTorch CPU threads (default: 1; small LSTMs run fastest on one, raise it for large models)",
    )
    g.add_argument("--no-progress", action="store_true", help="no progress bars")


def _nan_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--nan-policy",
        choices=("raise", "drop", "ffill"),
        default="raise",
        help="missing values in the bars: raise (name the first), drop the rows, or ffill (repair from "
        "the previous bar only) (default: raise)",
    )


def _spec_options(p: argparse.ArgumentParser, *, inputs: bool = True) -> None:
    g = p.add_argument_group("windows")
    g.add_argument("--window", type=_positive_int, default=32, help="bars per window (default: 32)")
    g.add_argument(
        "--horizon",
        type=_positive_int,
        default=5,
        help="label horizon in bars, or forecast steps for lstm_attention (default: 5)",
    )
    if inputs:
        g.add_argument(
            "--inputs",
            choices=("features", "candles"),
            default="features",
            help="features: 28 causal features, standardised on training rows; candles: scale-free "
            "relative OHLCV (needed by --augment) (default: features)",
        )


def _split_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("split")
    g.add_argument(
        "--split", metavar="SPLIT.json", help="a split or walk-forward file (`neural-trader splits`)"
    )
    g.add_argument(
        "--fold", type=_positive_int, help="fold of a walk-forward --split, from 1 (default: last)"
    )


def _add_quickstart(sub: Any) -> None:
    p = sub.add_parser(
        "quickstart",
        help="the main job on the bundled S&P 500 bars: pre-train, fine-tune, evaluate, serve natively",
        description="Pre-trains a masked BiLSTM encoder, fine-tunes a bilstm_classifier from it in every "
        "walk-forward fold, evaluates it against baselines with bootstrap intervals, trains an "
        "lstm_attention forecaster, runs both in the native engine and checks parity, and writes a report. "
        "About 3-5 minutes on two CPU cores.",
    )
    p.add_argument("--out", default="runs/quickstart", help="output folder (default: runs/quickstart)")
    p.add_argument(
        "--epochs", type=_positive_int, default=12, help="fine-tuning epochs at most (default: 12)"
    )
    p.add_argument("--folds", type=_positive_int, default=3, help="walk-forward folds (default: 3)")
    p.add_argument(
        "--n-bootstrap", type=_positive_int, default=1000, help="bootstrap resamples (default: 1000)"
    )
    _common(p, device_default="cpu")
    p.set_defaults(func=_quickstart)


def _add_pretrain(sub: Any) -> None:
    p = sub.add_parser(
        "pretrain",
        help="masked pre-training of a BiLSTM encoder on unlabelled training windows",
        description="Pre-trains a masked BiLSTM autoencoder on the windows of the training rows only "
        "(the first --train-fraction of each symbol, or the training part of --split) and writes its "
        "encoder, which `train --pretrained-encoder` loads.",
    )
    p.add_argument("--input", required=True, metavar="PATH", help="CSV/Parquet file or folder of bars")
    _nan_option(p)
    p.add_argument("--output", required=True, metavar="ENCODER.safetensors", help="encoder file to write")
    p.add_argument("--epochs", type=_positive_int, default=20, help="maximum epochs (default: 20)")
    p.add_argument("--patience", type=_positive_int, default=5, help="early-stopping patience (default: 5)")
    p.add_argument("--mask-ratio", type=_fraction, default=0.15, help="share of steps masked (default: 0.15)")
    p.add_argument(
        "--mask-strategy",
        choices=("random", "block", "patch"),
        default="random",
        help="random steps, contiguous blocks, or whole patches (default: random)",
    )
    p.add_argument(
        "--patch-size", type=_positive_int, default=5, help="patch / mean block length (default: 5)"
    )
    p.add_argument(
        "--hidden-dim", type=_positive_int, default=64, help="LSTM units per direction (default: 64)"
    )
    p.add_argument("--num-layers", type=_positive_int, default=2, help="stacked LSTM layers (default: 2)")
    p.add_argument("--batch-size", type=_positive_int, default=64, help="windows per batch (default: 64)")
    p.add_argument("--lr", type=_positive_float, default=1e-3, help="peak learning rate (default: 1e-3)")
    p.add_argument(
        "--augment", action="store_true", help="augment training windows (time warp, jitter, volatility)"
    )
    p.add_argument(
        "--num-augmentations", type=_positive_int, default=2, help="augmented copies per window (default: 2)"
    )
    p.add_argument(
        "--train-fraction",
        type=_fraction,
        default=0.7,
        help="share of each symbol's rows treated as training rows when no --split (default: 0.7)",
    )
    _spec_options(p)
    _split_options(p)
    _common(p)
    p.set_defaults(func=_pretrain)


def _add_train(sub: Any) -> None:
    p = sub.add_parser(
        "train",
        help="train a model on bars (optionally from a pre-trained encoder)",
        description="Trains a registry model with early stopping on validation loss and keeps the best "
        "epoch (best.safetensors, with the data spec, scaler and split in its metadata).",
    )
    p.add_argument("--model", required=True, help="registry name (see `neural-trader models`)")
    p.add_argument("--data", required=True, metavar="PATH", help="CSV/Parquet file or folder of bars")
    _nan_option(p)
    p.add_argument("--out", metavar="DIR", help="output folder (default: runs/<model>)")
    p.add_argument(
        "--target",
        nargs="+",
        default=["volatility_20"],
        metavar="FEATURE",
        help="lstm_attention: feature columns to forecast (default: volatility_20)",
    )
    g = p.add_argument_group("model and optimisation")
    g.add_argument(
        "--hidden-dim", type=_positive_int, default=64, help="LSTM units per direction (default: 64)"
    )
    g.add_argument("--num-layers", type=_positive_int, default=2, help="stacked LSTM layers (default: 2)")
    g.add_argument("--num-heads", type=_positive_int, default=4, help="attention heads (default: 4)")
    g.add_argument("--dropout", type=_non_negative_float, default=0.2, help="dropout (default: 0.2)")
    g.add_argument("--epochs", type=_positive_int, default=20, help="maximum epochs (default: 20)")
    g.add_argument("--patience", type=_positive_int, default=5, help="early-stopping patience (default: 5)")
    g.add_argument("--batch-size", type=_positive_int, default=64, help="windows per batch (default: 64)")
    g.add_argument("--lr", type=_positive_float, default=1e-3, help="peak learning rate (default: 1e-3)")
    g.add_argument(
        "--no-class-weights", action="store_true", help="unweighted loss (default: inverse class frequency)"
    )
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
        type=_non_negative_int,
        help="with --freeze-encoder: unfreeze after this many epochs, at half the learning rate "
        "(default: frozen to the end)",
    )
    e.add_argument(
        "--log-pretrained-stats",
        action="store_true",
        help="print the transfer report and, per loaded tensor, its norm and how far fine-tuning moved it",
    )
    _spec_options(p)
    _split_options(p)
    _common(p)
    p.set_defaults(func=_train)


def _add_evaluate(sub: Any) -> None:
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
    _nan_option(p)
    p.add_argument("--out", metavar="DIR", help="report folder (default: <first checkpoint's folder>/report)")
    p.add_argument(
        "--cost-bps", type=_non_negative_float, default=1.0, help="cost per unit traded, bp (default: 1)"
    )
    p.add_argument(
        "--band",
        type=_non_negative_float,
        default=0.0,
        help="flat when |P(up) - 0.5| <= band (default: 0)",
    )
    p.add_argument(
        "--n-bootstrap", type=_positive_int, default=1000, help="bootstrap resamples (default: 1000)"
    )
    p.add_argument(
        "--block-size", type=_positive_int, help="bootstrap block, in windows (default: window + horizon)"
    )
    p.add_argument(
        "--baselines",
        nargs="+",
        default=["majority", "momentum", "logreg"],
        help="baselines to compare with (default: majority momentum logreg; rf also available)",
    )
    p.add_argument(
        "--season", type=_positive_int, default=5, help="seasonal-naive season in bars (default: 5)"
    )
    _common(p, device_default="cpu")
    p.set_defaults(func=_evaluate)


def _add_predict(sub: Any) -> None:
    p = sub.add_parser(
        "predict",
        help="predictions of a checkpoint for every window of the bars, as CSV",
        description="Writes one row per window: timestamp, symbol, part (train/val/test of the model's "
        "split, 'after' for truly out-of-sample rows, 'other' for the rest) and the outputs.",
    )
    p.add_argument("--checkpoint", required=True, metavar="PATH", help="checkpoint from `train`")
    p.add_argument("--data", required=True, metavar="PATH", help="CSV/Parquet file or folder of bars")
    _nan_option(p)
    p.add_argument("--output", default="predictions.csv", metavar="CSV", help="default: predictions.csv")
    p.add_argument("--native", action="store_true", help="run the Rust engine instead of PyTorch")
    _common(p, device_default="cpu")
    p.set_defaults(func=_predict)


def _add_export(sub: Any) -> None:
    p = sub.add_parser(
        "export",
        help="export a checkpoint to ONNX, verified with ONNX Runtime",
        description="The .safetensors checkpoint already is the native engine's format; this writes an ONNX "
        "file (needs onnx, onnxscript and onnxruntime) and checks it against PyTorch.",
    )
    p.add_argument("--checkpoint", required=True, metavar="PATH", help="a neural_trader checkpoint")
    p.add_argument("--onnx", required=True, metavar="MODEL.onnx", help="ONNX file to write")
    p.add_argument("--opset", type=_positive_int, help="ONNX opset (default: the exporter's)")
    p.add_argument(
        "--tolerance",
        type=_positive_float,
        default=1e-4,
        help="largest accepted |ONNX Runtime - PyTorch| (default: 1e-4)",
    )
    _common(p, device_default="cpu")
    p.set_defaults(func=_export)


def _add_splits(sub: Any) -> None:
    p = sub.add_parser(
        "splits",
        help="write a walk-forward split file (JSON) for a file of bars",
        description="Walk-forward folds over the rows after the feature warm-up, with an embargo of at "
        "least the horizon between parts; `train --split FILE --fold K` uses fold K.",
    )
    p.add_argument("--data", required=True, metavar="PATH", help="one CSV/Parquet file of bars")
    _nan_option(p)
    p.add_argument("--out", default="folds.json", metavar="JSON", help="default: folds.json")
    p.add_argument("--folds", type=_positive_int, default=3, help="number of folds (default: 3)")
    p.add_argument("--horizon", type=_positive_int, default=5, help="largest label horizon (default: 5)")
    p.add_argument("--mode", choices=("expanding", "rolling"), default="expanding", help="default: expanding")
    p.add_argument("--test-size", type=_positive_int, help="test rows per fold")
    p.add_argument("--val-size", type=_positive_int, help="validation rows per fold (default: test size)")
    p.add_argument("--embargo", type=_positive_int, help="rows between parts (default: the horizon)")
    p.set_defaults(func=_splits)


def _add_models(sub: Any) -> None:
    p = sub.add_parser("models", help="list the models and baselines", description="Lists the registry.")
    p.set_defaults(func=_models)


def _add_bench(sub: Any) -> None:
    p = sub.add_parser(
        "bench",
        help="time the native engine against PyTorch and ONNX Runtime",
        description="Native engine vs PyTorch vs ONNX Runtime on the same weights, in one run: batch-1 "
        "latency (p50, p99) and batch-256 throughput at 1 thread and at all threads; then the data "
        "kernels (windows vs numpy, torch.unfold and a memory copy; masks and augmentation vs numpy).",
    )
    p.add_argument("--json", help="also write the raw results to this JSON file")
    p.add_argument("--quick", action="store_true", help="fewer repeats (a smoke run, not for reporting)")
    p.add_argument(
        "--only", choices=["models", "kernels"], help="run one part (default: models, then kernels)"
    )
    p.set_defaults(func=_bench)


# Commands in --help order.
COMMANDS: list[Callable[[Any], None]] = [
    _add_quickstart,
    _add_pretrain,
    _add_train,
    _add_evaluate,
    _add_predict,
    _add_export,
    _add_splits,
    _add_models,
    _add_bench,
]


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command."""
    from neural_trader import _core

    parser = _Parser(
        prog=PROG,
        description="Deep learning on OHLCV bars: PyTorch models, honest evaluation, a native Rust engine.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_core.__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)
    for add in COMMANDS:
        add(sub)
    return parser


# ------------------------------------------------------------------------------------------ commands
def _setup(args: argparse.Namespace) -> str:
    """Applies --threads and resolves --device; returns the device name."""
    import torch

    torch.set_num_threads(args.threads)
    if args.device == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda: this PyTorch sees no CUDA device (use --device cpu or auto)")
    if args.device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return args.device


def _progress(args: argparse.Namespace) -> bool:
    return not args.no_progress


def _line(key: str, value: object) -> None:
    print(f"{key:<20} {value}")


def _quickstart(args: argparse.Namespace) -> int:
    from neural_trader import quickstart

    cfg = quickstart.QuickstartConfig(
        epochs=args.epochs,
        folds=args.folds,
        n_resamples=args.n_bootstrap,
        seed=args.seed,
        device=_setup(args),
        threads=args.threads,
        progress=_progress(args),
    )
    summary = quickstart.run(args.out, cfg, log=lambda text: print(text, file=sys.stderr, flush=True))
    print(quickstart.console_summary(summary))
    return 0 if all(p["ok"] for p in summary["parity"].values()) else 1


def _load(path: str, horizon: int, args: argparse.Namespace) -> list[Any]:
    from neural_trader.workflows import load_series

    return load_series(path, horizon, nan_policy=args.nan_policy)


def _pretrain(args: argparse.Namespace) -> int:
    from neural_trader.workflows import DataSpec, PretrainOptions, choose_splits, pretrain

    device = _setup(args)
    spec = DataSpec(inputs=args.inputs, window=args.window, horizon=args.horizon)
    series = _load(args.input, args.horizon, args)
    rest = (1.0 - args.train_fraction) / 2
    splits, where = choose_splits(
        series,
        horizon=args.horizon,
        split_file=args.split,
        fold=args.fold,
        fractions=(args.train_fraction, rest, rest),
    )
    options = PretrainOptions(
        epochs=args.epochs,
        patience=args.patience,
        mask_ratio=args.mask_ratio,
        mask_strategy=args.mask_strategy,
        patch_size=args.patch_size,
        hidden_size=args.hidden_dim,
        num_layers=args.num_layers,
        batch_size=args.batch_size,
        lr=args.lr,
        augment=args.augment,
        num_augmentations=args.num_augmentations,
        seed=args.seed,
        device=device,
        progress=_progress(args),
    )
    rows = {sym: split.train for sym, split in splits.items()}
    result, windows = pretrain(series, spec, rows, args.output, options, source=args.input)
    recon = result.history.column("val_reconstruction")
    _line(
        "encoder",
        f"{args.output} (lstm_encoder: hidden {args.hidden_dim}, {args.num_layers} layer(s), "
        f"{spec.inputs} inputs)",
    )
    _line(
        "rows",
        f"training rows only: {where}; {', '.join(f'{s} rows [{a}, {b})' for s, (a, b) in rows.items())}",
    )
    aug = f", x{1 + args.num_augmentations} with augmentation" if args.augment else ""
    _line("windows", f"train {windows['train']}{aug}, validation {windows['val']}")
    _line("epochs", f"{len(result.history.records)} (best {result.best_epoch})")
    _line("masked MSE", f"{recon[0]:.4f} (epoch 1) -> {recon[result.best_epoch - 1]:.4f} (best), validation")
    _line("history", f"{Path(args.output).with_suffix('')}.history.png")
    return 0


def _train(args: argparse.Namespace) -> int:
    from neural_trader.workflows import DataSpec, ModelOptions, TrainOptions, choose_splits, task_of, train

    device = _setup(args)
    task = task_of(args.model)
    spec = DataSpec(
        task=task,
        inputs=args.inputs,
        window=args.window,
        horizon=args.horizon,
        targets=args.target if task == "forecast" else [],
    )
    if args.pretrained_encoder is None and (args.log_pretrained_stats or args.unfreeze_after is not None):
        raise UsageError("--log-pretrained-stats and --unfreeze-after need --pretrained-encoder")
    series = _load(args.data, args.horizon, args)
    splits, where = choose_splits(series, horizon=args.horizon, split_file=args.split, fold=args.fold)
    out = args.out or os.path.join("runs", args.model)
    result = train(
        args.model,
        series,
        spec,
        splits,
        out,
        model_options=ModelOptions(
            hidden_size=args.hidden_dim,
            num_layers=args.num_layers,
            num_heads=args.num_heads,
            dropout=args.dropout,
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
            progress=_progress(args),
        ),
        source=args.data,
    )
    _line("model", f"{args.model} ({task} task, {spec.inputs} inputs, windows of {spec.window} bars)")
    _line("data", f"{', '.join(s.symbol for s in series)}: {where}")
    _line("windows", ", ".join(f"{k} {v}" for k, v in result.windows.items()))
    _line("epochs", f"{result.epochs} (best {result.best_epoch}, validation loss {result.best_val_loss:.4f})")
    if result.transfer is not None:
        _line("encoder", result.transfer.summary().splitlines()[0])
    metrics = result.test_metrics
    shown = [k for k in ("balanced_accuracy", "mcc", "roc_auc", "accuracy", "mae", "rmse") if k in metrics]
    shown = shown or sorted(metrics)
    _line("test", ", ".join(f"{k} {metrics[k]:.4g}" for k in shown) + f" (loss {metrics['loss']:.4g})")
    if task != "forecast":
        print(
            f"{'':<20} (a constant prediction scores balanced accuracy 0.5 and MCC 0; run `evaluate` "
            "for baselines and intervals)"
        )
    _line("checkpoint", result.checkpoint)
    if args.log_pretrained_stats and result.pretrained_stats is not None:
        assert result.transfer is not None
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
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from neural_trader.evaluation import report_document, write_report
    from neural_trader.workflows import EvaluateOptions, evaluate, read_trained

    device = _setup(args)
    models = [read_trained(p) for p in args.checkpoint]
    series = _load(args.data, models[0].spec.horizon, args)
    options = EvaluateOptions(
        cost_bps=args.cost_bps,
        band=args.band,
        n_resamples=args.n_bootstrap,
        block_size=args.block_size,
        seed=args.seed,
        baselines=tuple(args.baselines),
        season=args.season,
        device=device,
        progress=_progress(args),
    )
    classification, forecast = evaluate(models, series, options)
    out = Path(args.out) if args.out else Path(args.checkpoint[0]).parent / "report"
    context = {
        "data": f"{args.data} ({', '.join(s.symbol for s in series)})",
        "checkpoints": ", ".join(args.checkpoint),
        "model": models[0].name,
    }
    title = f"Evaluation of {models[0].name} on {', '.join(s.symbol for s in series)}"
    doc = report_document(title, context, classification, forecast)
    written = write_report(out, doc, classification, forecast)
    if classification is not None:
        overall = doc["classification"]["sections"][-1]
        _line(
            "test windows",
            f"{overall['windows']}, {overall['first']} .. {overall['last']}, "
            f"share up {overall['up_share']:.3f}",
        )
        for name, scores in overall["scores"].items():
            ba, mcc = scores["balanced_accuracy"], scores["mcc"]
            _line(name, f"balanced accuracy {_iv(ba)}   MCC {_iv(mcc)}")
    if forecast is not None:
        f = doc["forecast"]
        _line("test windows", f"{f['windows']}, {f['first']} .. {f['last']}")
        for name, iv in f["mae"].items():
            _line(name, f"MAE {_iv(iv, '{:.4g}')}")
    _line("report", f"{written[0]} (+ {', '.join(p.name for p in written[1:])})")
    print(f"Verdict: {doc['verdict']}")
    return 0


def _iv(d: dict[str, Any], fmt: str = "{:.3f}") -> str:
    if d.get("estimate") is None:
        return "n/a"
    if d.get("low") is None:
        return fmt.format(d["estimate"])
    return f"{fmt.format(d['estimate'])} [{fmt.format(d['low'])}, {fmt.format(d['high'])}]"


def _predict(args: argparse.Namespace) -> int:
    from neural_trader.workflows import predict, read_trained

    device = _setup(args)
    trained = read_trained(args.checkpoint)
    series = _load(args.data, trained.spec.horizon, args)
    frame = predict(trained, series, use_native=args.native, device=device)
    out = Path(args.output)
    if out.parent != Path(""):
        out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out, index=False)
    engine = "native engine" if args.native else "PyTorch"
    _line(
        "predictions",
        f"{out}: {len(frame)} rows ({engine}), {frame['timestamp'].iloc[0].date()} .. "
        f"{frame['timestamp'].iloc[-1].date()}",
    )
    counts = frame["part"].value_counts()
    _line(
        "parts",
        ", ".join(f"{k} {counts[k]}" for k in ("train", "val", "test", "after", "other") if k in counts),
    )
    return 0


def _export(args: argparse.Namespace) -> int:
    from neural_trader.export import export_onnx

    _setup(args)
    result = export_onnx(
        args.checkpoint, args.onnx, opset=args.opset, tolerance=args.tolerance, seed=args.seed
    )
    _line(
        "onnx",
        f"{result.path} ({result.model}; input x (batch, time, features); outputs "
        f"{', '.join(result.outputs)})",
    )
    _line(
        "verified",
        f"ONNX Runtime vs PyTorch max |diff| {result.max_abs_diff:.2e} on a "
        f"{'x'.join(map(str, result.verify_shape))} batch (tolerance {args.tolerance:g})",
    )
    return 0


def _splits(args: argparse.Namespace) -> int:
    from neural_trader.workflows import walk_forward, walk_forward_json

    series = _load(args.data, args.horizon, args)
    if len(series) != 1:
        raise UsageError("splits: --data must be one file (a split indexes the rows of one series)")
    s = series[0]
    folds = walk_forward(
        s,
        horizon=args.horizon,
        n_folds=args.folds,
        mode=args.mode,
        test_size=args.test_size,
        val_size=args.val_size,
        embargo=args.embargo,
    )
    out = Path(args.out)
    if out.parent != Path(""):
        out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(walk_forward_json(folds, mode=args.mode, horizon=args.horizon), encoding="utf-8")
    index = s.index
    embargo = folds[0].embargo
    print(f"{s.symbol}: {s.n_rows} rows after the feature warm-up, {args.mode} folds, embargo {embargo}")
    for k, f in enumerate(folds, 1):
        parts = [
            f"{name} [{a}, {b}) {index[a].date()} .. {index[b - 1].date()}"
            for name, (a, b) in f.parts().items()
        ]
        print(f"fold {k}: " + "; ".join(parts))
    _line("written", out)
    return 0


def _models(_: argparse.Namespace) -> int:
    from neural_trader.workflows.build import registry_rows

    for name, kind, doc in registry_rows():
        print(f"{name:<28} {kind:<40} {doc}")
    return 0


def _bench(args: argparse.Namespace) -> int:
    from neural_trader.benchmarks import kernels, models

    result: dict[str, Any] = {}
    if args.only in (None, "models"):
        result["models"] = models.run(quick=args.quick)
        print(models.table(result["models"]), flush=True)
    if args.only in (None, "kernels"):
        # All cores for rayon and torch alike (the models part leaves torch at its last thread count).
        result["kernels"] = kernels.run(threads=os.cpu_count() or 1, repeats=1 if args.quick else 5)
        print(kernels.format_table(result["kernels"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    return 0


# ------------------------------------------------------------------------------------------ entry
def _error(message: str) -> int:
    text = " ".join(str(message).split()) or "unknown error"
    print(f"{PROG}: error: {text}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``neural-trader`` console script; returns the exit code."""
    from neural_trader.errors import NeuralTraderError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (NeuralTraderError, UsageError) as exc:
        return _error(str(exc))
    except OSError as exc:  # bad paths: missing files, folders where files belong, permissions
        if exc.filename is not None and exc.strerror:
            return _error(f"{exc.strerror}: {exc.filename}")
        return _error(str(exc))
    except ImportError as exc:  # optional dependencies, e.g. pyarrow for Parquet
        return _error(str(exc))
    except MemoryError:
        return _error("out of memory: lower --hidden-dim, --window, --batch-size or the data size")
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
