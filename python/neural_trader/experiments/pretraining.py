"""Does masked pre-training help? Pre-trained vs from-scratch fine-tuning against the baselines.

For each market (the bundled S&P 500 daily bars, EUR/USD hourly bars from the shared data folder):

1. Leakage-free windows of causal features and ``direction_{h}`` labels
   (:func:`neural_trader.data.make_loaders`: chronological split with embargo, scaler fit on train rows).
2. Masked pre-training of a BiLSTM encoder on the *training* windows only (labels unused; its own
   validation split is the last 15% of them), :func:`~neural_trader.training.pretrain_encoder`.
3. Fine-tuning of an :class:`~neural_trader.models.EnhancedSimpleLSTM` twice, with the same seeds and
   settings: once from the pre-trained encoder (frozen for ``freeze_epochs``, then unfrozen at half the
   learning rate), once from scratch. Early stopping on validation loss; the best epoch is tested.
4. The baselines of :data:`neural_trader.models.baselines.BASELINES` on the same windows.
5. Test-set balanced accuracy and MCC with 95% moving-block bootstrap intervals (blocks of
   ``window + horizon`` samples, because neighbouring windows and labels overlap), and ROC-AUC.

Sizes are small so that the whole run takes a few minutes on 2 CPU cores; it measures, it does not tune.

Example:
    $ python -m neural_trader.experiments.pretraining --out runs/pretraining
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from neural_trader.data import Loaders, load_ohlcv, make_loaders
from neural_trader.datasets import load_sp500_daily
from neural_trader.files import write_atomic
from neural_trader.models.baselines import BASELINES, MomentumBaseline
from neural_trader.models.masked_autoencoder import MaskedBiLSTMAutoencoderConfig
from neural_trader.models.simple_lstm import EnhancedSimpleLSTM, EnhancedSimpleLSTMConfig
from neural_trader.training import (
    ClassificationTask,
    PretrainConfig,
    Trainer,
    TrainerConfig,
    balanced_class_weights,
    block_bootstrap,
    load_pretrained_strict,
    pretrain_encoder,
    seed_everything,
)
from neural_trader.training.metrics import balanced_accuracy, mcc, roc_auc


@dataclass
class ExperimentConfig:
    """Sizes of the experiment; defaults run in a few CPU minutes."""

    window: int = 32
    # Label horizon in bars: a trading week on daily bars, five hours on hourly bars.
    horizon: int = 5
    hidden_size: int = 32
    num_layers: int = 2
    num_heads: int = 4
    pretrain_epochs: int = 20
    finetune_epochs: int = 15
    # Pre-trained runs keep the encoder frozen this long, then train it at half the learning rate.
    freeze_epochs: int = 3
    mask_ratio: float = 0.25
    mask_strategy: str = "patch"
    patch_size: int = 4
    batch_size: int = 64
    lr: float = 2e-3
    patience: int = 4
    seeds: tuple[int, ...] = (0, 1)
    n_bootstrap: int = 1000
    # One intra-op thread: small LSTM batches do not profit from more, and a busy machine punishes them.
    threads: int = 1


def _arrays(loaders: Loaders, part: str) -> tuple[np.ndarray, np.ndarray]:
    ds = loaders.datasets()[part]
    return ds.windows, ds.labels[:, 0].astype(np.int64)


def _scores(y: np.ndarray, proba: np.ndarray, block: int, cfg: ExperimentConfig) -> dict[str, object]:
    pred = proba.argmax(axis=1)
    ba = block_bootstrap(balanced_accuracy, y, pred, n_resamples=cfg.n_bootstrap, block_size=block, seed=0)
    mc = block_bootstrap(mcc, y, pred, n_resamples=cfg.n_bootstrap, block_size=block, seed=0)
    return {
        "balanced_accuracy": ba,
        "mcc": mc,
        "roc_auc": roc_auc(y, proba),
        "up_share_predicted": float(np.mean(pred == 1)),
    }


def _finetune(
    loaders: Loaders, cfg: ExperimentConfig, seed: int, encoder: Path | None, out: Path
) -> tuple[np.ndarray, dict]:
    seed_everything(seed)
    model = EnhancedSimpleLSTM(
        EnhancedSimpleLSTMConfig(
            input_size=len(loaders.feature_columns),
            hidden_size=cfg.hidden_size,
            num_layers=cfg.num_layers,
            num_heads=cfg.num_heads,
        )
    )
    info: dict = {}
    if encoder is not None:
        report = load_pretrained_strict(model, encoder, freeze_encoder=True)
        info["transfer_ratio"] = report.ratio
    _, y_train = _arrays(loaders, "train")
    task = ClassificationTask(class_weight=balanced_class_weights(y_train))
    tcfg = TrainerConfig(
        epochs=cfg.finetune_epochs,
        lr=cfg.lr,
        warmup_steps=20,
        patience=cfg.patience,
        seed=seed,
        unfreeze_after_epochs=cfg.freeze_epochs if encoder is not None else None,
        out_dir=str(out),
        progress=False,
    )
    extra = {"scaler": json.dumps(loaders.scaler.to_dict())}
    trainer = Trainer(model, task, tcfg, checkpoint_extra=extra)
    trainer.fit(loaders.train, loaders.val)
    best = EnhancedSimpleLSTM.load(trainer.best_checkpoint)
    _, collected = Trainer(best, task, tcfg).predict(loaders.test)
    info.update(
        epochs=trainer.epoch, best_epoch=trainer.stopper.best_epoch, best_val_loss=trainer.stopper.best
    )
    return collected["proba"], info


def _baselines(loaders: Loaders, cfg: ExperimentConfig) -> dict[str, np.ndarray]:
    x_train, y_train = _arrays(loaders, "train")
    x_test, _ = _arrays(loaders, "test")
    column = loaders.feature_columns.index("log_return")
    mean, std = loaders.scaler.arrays()
    out = {}
    for name, cls in BASELINES.items():
        if name == "momentum":
            # Trend following over the window on one-bar log returns; a raw return of 0 is -mean/std scaled.
            model = MomentumBaseline(
                column, lookback=cfg.window, kind="sum", zero=-mean[column] / std[column]
            )
        else:
            model = cls()
        out[name] = model.fit(x_train, y_train).predict_proba(x_test)
    return out


def run_market(name: str, bars: pd.DataFrame, cfg: ExperimentConfig, out: Path) -> list[dict]:
    """Every row of the result table for one market."""
    loaders = make_loaders(
        bars,
        window=cfg.window,
        horizons=(cfg.horizon,),
        labels=[f"direction_{cfg.horizon}"],
        batch_size=cfg.batch_size,
        seed=0,
    )
    x_train, _ = _arrays(loaders, "train")
    _, y_test = _arrays(loaders, "test")
    block = cfg.window + cfg.horizon
    test_from = loaders.index[loaders.datasets()["test"].window_end_rows[0]]
    base = {
        "market": name,
        "test_windows": len(y_test),
        "test_from": str(test_from),
        "test_up": float(y_test.mean()),
    }
    rows = []
    for model_name, proba in _baselines(loaders, cfg).items():
        rows.append({**base, "model": f"baseline: {model_name}", **_scores(y_test, proba, block, cfg)})

    for seed in cfg.seeds:
        slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
        encoder_path = out / f"{slug}_encoder_seed{seed}.safetensors"
        pre = pretrain_encoder(
            x_train,
            MaskedBiLSTMAutoencoderConfig(
                input_size=x_train.shape[2], hidden_size=cfg.hidden_size, num_layers=cfg.num_layers
            ),
            PretrainConfig(
                mask_ratio=cfg.mask_ratio,
                mask_strategy=cfg.mask_strategy,
                patch_size=cfg.patch_size,
                epochs=cfg.pretrain_epochs,
                batch_size=cfg.batch_size,
                lr=cfg.lr,
                patience=cfg.patience,
                seed=seed,
                progress=False,
            ),
            encoder_path,
        )
        first = pre.history.records[0]["val_reconstruction"]
        best = pre.history.records[pre.best_epoch - 1]["val_reconstruction"]
        for label, encoder in (("pre-trained", encoder_path), ("from scratch", None)):
            with tempfile.TemporaryDirectory() as tmp:
                proba, info = _finetune(loaders, cfg, seed, encoder, Path(tmp))
            info.update(pretrain_val_reconstruction_first=first, pretrain_val_reconstruction_best=best)
            row = {
                **base,
                "model": f"EnhancedSimpleLSTM {label} (seed {seed})",
                **_scores(y_test, proba, block, cfg),
            }
            rows.append({**row, **info})
    return rows


def table(rows: list[dict]) -> str:
    """The rows as a Markdown table."""
    lines = [
        "| market | model | balanced accuracy [95% CI] | MCC [95% CI] | ROC-AUC | predicted up |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        lines.append(
            f"| {r['market']} | {r['model']} | {r['balanced_accuracy']} | {r['mcc']} | "
            f"{r['roc_auc']:.3f} | {r['up_share_predicted']:.2f} |"
        )
    return "\n".join(lines)


def notes(rows: list[dict]) -> str:
    """One line per fine-tuned model: epochs run, best epoch, pre-training reconstruction error."""
    lines = []
    for r in rows:
        if "epochs" not in r:
            continue
        line = (
            f"- {r['market']}, {r['model']}: {r['epochs']} epochs, best (lowest val loss) {r['best_epoch']}"
        )
        if "transfer_ratio" in r:
            line += (
                f"; encoder transfer ratio {r['transfer_ratio']:.2f}; masked reconstruction MSE on "
                f"pre-training validation windows {r['pretrain_val_reconstruction_first']:.3f} (epoch 1), "
                f"{r['pretrain_val_reconstruction_best']:.3f} (best epoch)"
            )
        lines.append(line)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Runs the experiment, prints the table and writes ``results.json`` and ``table.md`` to ``--out``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/pretraining", help="output folder")
    parser.add_argument(
        "--eurusd", help="an EUR/USD hourly bars CSV (optional: without it that market is skipped)"
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=list(ExperimentConfig.seeds))
    args = parser.parse_args(argv)
    cfg = ExperimentConfig(seeds=tuple(args.seeds))
    torch.set_num_threads(cfg.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    markets = {"S&P 500 daily": load_sp500_daily()}
    eurusd = Path(args.eurusd) if args.eurusd else None
    if eurusd is not None and eurusd.exists():
        markets["EUR/USD hourly"] = load_ohlcv(eurusd)
    else:
        print(f"note: {eurusd or 'no --eurusd given'}: EUR/USD skipped", file=sys.stderr)
    rows = []
    for name, bars in markets.items():
        rows += run_market(name, bars, cfg, out)
        print(f"{name}: done after {time.perf_counter() - started:.0f} s", file=sys.stderr)
    text = table(rows) + "\n\n" + notes(rows)
    print(text)
    serialisable = [{k: (str(v) if hasattr(v, "confidence") else v) for k, v in r.items()} for r in rows]
    results = {"config": asdict(cfg), "seconds": time.perf_counter() - started, "rows": serialisable}
    write_atomic(out / "results.json", json.dumps(results, indent=2))
    write_atomic(out / "table.md", text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
