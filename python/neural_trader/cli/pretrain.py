"""``neural-trader pretrain``: masked pre-training of a BiLSTM encoder on unlabelled training windows
(:func:`neural_trader.workflows.pretrain`)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from neural_trader import recipe
from neural_trader.cli import scopes
from neural_trader.cli.options import (
    MAX_LR,
    bars,
    batch_size,
    epochs,
    fraction,
    learning_rate,
    line,
    load_bars,
    nan_option,
    number,
    progress,
    refuse_overwriting_inputs,
    run_options,
    setup,
    size_options,
    split_options,
    weight,
    window_options,
)


def add(sub: Any) -> None:
    """Adds the command to the sub-parsers."""
    p = sub.add_parser(
        "pretrain",
        help="masked pre-training of a BiLSTM encoder on unlabelled training windows",
        description="Pre-trains a masked BiLSTM autoencoder on the windows of the training rows only "
        "(the first --train-fraction of each symbol, or the training part of --split) and writes its "
        "encoder, which `train --pretrained-encoder` loads. The defaults are the recipe's: patch masks of "
        "7 steps at ratio 0.15, 50 epochs of batches of 512, patience 10, cosine to 1e-5, gradient clip "
        "1.0, latent weight 0.1.",
    )
    p.add_argument("--input", required=True, metavar="PATH", help="CSV/Parquet file or folder of bars")
    nan_option(p)
    p.add_argument("--output", required=True, metavar="ENCODER.safetensors", help="encoder file to write")
    r = recipe
    p.add_argument(
        "--epochs",
        type=epochs,
        default=r.PRETRAIN_EPOCHS,
        help=f"maximum epochs (default: {r.PRETRAIN_EPOCHS})",
    )
    p.add_argument(
        "--patience",
        type=epochs,
        default=r.PRETRAIN_PATIENCE,
        help=f"early-stopping patience (default: {r.PRETRAIN_PATIENCE})",
    )
    p.add_argument(
        "--mask-ratio",
        type=fraction,
        default=r.MASK_RATIO,
        help=f"share of steps masked (default: {r.MASK_RATIO})",
    )
    p.add_argument(
        "--mask-strategy",
        choices=("random", "block", "patch"),
        default=r.MASK_STRATEGY,
        help=f"random steps, contiguous blocks, or whole patches (default: {r.MASK_STRATEGY})",
    )
    p.add_argument(
        "--patch-size",
        type=bars,
        default=r.PATCH_SIZE,
        help=f"patch / mean block length (default: {r.PATCH_SIZE})",
    )
    size_options(p)
    p.add_argument(
        "--batch-size",
        type=batch_size,
        default=r.PRETRAIN_BATCH_SIZE,
        help=f"windows per batch (default: {r.PRETRAIN_BATCH_SIZE})",
    )
    p.add_argument("--lr", type=learning_rate, default=1e-3, help="peak learning rate (default: 1e-3)")
    p.add_argument(
        "--min-lr",
        type=number(float, 0.0, MAX_LR),
        default=r.PRETRAIN_MIN_LR,
        help=f"learning rate the cosine schedule ends at, absolute (default: {r.PRETRAIN_MIN_LR:g})",
    )
    p.add_argument(
        "--latent-weight",
        type=weight,
        default=r.LATENT_WEIGHT,
        help=f"weight of the latent-spread penalty (default: {r.LATENT_WEIGHT})",
    )
    p.add_argument(
        "--augment",
        action="store_true",
        help="augment training windows: time warp, jitter, volatility scaling with probabilities "
        f"{r.TIME_WARP_PROB} / {r.JITTER_PROB} / {r.VOL_SCALE_PROB}",
    )
    p.add_argument(
        "--num-augmentations",
        type=number(int, 1, 100),
        default=2,
        help="augmented copies per window (default: 2)",
    )
    p.add_argument(
        "--train-fraction",
        type=fraction,
        default=0.7,
        help="share of each symbol's rows treated as training rows when no --split (default: 0.7)",
    )
    window_options(p)
    split_options(p)
    run_options(p)
    s = scopes
    s.always(p, "input", "output", "epochs", "patience", "mask_ratio", "mask_strategy", "batch_size", "lr")
    s.always(p, "min_lr", "latent_weight", "augment")
    s.declare(
        p,
        patch_size=s.option_in("mask_strategy", ("block", "patch"), r.MASK_STRATEGY, "block and patch masks"),
        num_augmentations=s.with_option("augment"),
        train_fraction=s.without_option("split", "runs without --split (its training part is used)"),
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Pre-trains and prints what was seen and learned."""
    from neural_trader.workflows import DataSpec, PretrainOptions, choose_splits, pretrain

    stem = Path(args.output).with_suffix("")
    refuse_overwriting_inputs(
        {"--output": [args.output, f"{stem}.history.json", f"{stem}.history.png"]},
        {"--input": args.input, "--split": args.split},
    )
    device = setup(args)
    spec = DataSpec(inputs=args.inputs, window=args.window, horizon=args.horizon)
    series = load_bars(args.input, args.horizon, args, spec)
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
        hidden_size=args.hidden_size,
        num_layers=args.num_layers,
        batch_size=args.batch_size,
        lr=args.lr,
        min_lr=args.min_lr,
        latent_weight=args.latent_weight,
        augment=args.augment,
        num_augmentations=args.num_augmentations,
        seed=args.seed,
        device=device,
        progress=progress(args),
    )
    rows = {sym: split.train for sym, split in splits.items()}
    result, windows = pretrain(series, spec, rows, args.output, options, source=args.input)
    recon = result.history.column("val_reconstruction")
    line(
        "encoder",
        f"{args.output} (lstm_encoder: hidden {args.hidden_size}, {args.num_layers} layer(s), "
        f"{spec.describe_inputs()} inputs)",
    )
    line(
        "rows",
        f"training rows only: {where}; {', '.join(f'{s} rows [{a}, {b})' for s, (a, b) in rows.items())}",
    )
    aug = f", x{1 + args.num_augmentations} with augmentation" if args.augment else ""
    line("windows", f"train {windows['train']}{aug}, validation {windows['val']}")
    line("epochs", f"{len(result.history.records)} (best {result.best_epoch})")
    line("masked MSE", f"{recon[0]:.4f} (epoch 1) -> {recon[result.best_epoch - 1]:.4f} (best), validation")
    line("history", f"{Path(args.output).with_suffix('')}.history.png")
    return 0
