"""The main job, end to end, on the bundled S&P 500 daily bars (1999-2018), with no other input.

1. Rows and windows: 28 causal features, ``direction_5`` labels (up over the next 5 bars), expanding
   walk-forward folds with an embargo of 5 rows (``folds.json``).
2. Masked pre-training of a BiLSTM encoder on the first fold's *training* windows only, so no later
   fine-tuning or test period is seen (``encoder.safetensors``).
3. Fine-tuning of a :class:`~neural_trader.BiLSTMClassifier` from that encoder in every fold (encoder
   frozen for the first epochs, then everything at half the learning rate), best epoch by validation loss.
4. Walk-forward evaluation against the ``majority``, ``momentum`` and ``logreg`` baselines (fit on each
   fold's training windows): accuracy, balanced accuracy, MCC, ROC-AUC, Brier with moving-block bootstrap
   intervals, a long/flat/short equity curve after costs next to buy-and-hold, and the verdict.
5. An :class:`~neural_trader.LSTMAttention` forecaster of ``volatility_20`` 5 bars ahead, trained on the last
   fold and scored against persistence and seasonal-naive forecasts.
6. Both models exported (``bilstm_classifier.safetensors`` from the last fold and
   ``lstm_attention.safetensors``), run in the native Rust engine and compared with PyTorch on their test
   windows.
7. ``report.md``/``report.json`` and PNG plots; :func:`console_summary` ends with the parity figures and
   the verdict sentence.

Sizes are small (windows of 32 bars, 32 hidden units) so that the whole run takes a few minutes on two
CPU cores; it measures, it does not tune.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from neural_trader import native
from neural_trader.datasets import load_sp500_daily
from neural_trader.evaluation import report_document, write_report
from neural_trader.workflows import (
    DataSpec,
    EvaluateOptions,
    ModelOptions,
    PretrainOptions,
    TrainOptions,
    evaluate,
    make_windows,
    pretrain,
    read_trained,
    series_from_bars,
    train,
    walk_forward,
    walk_forward_json,
)

#: Largest accepted |native - torch| (float32, CPU), as in the parity tests.
PARITY_TOLERANCE = 1e-5


@dataclass
class QuickstartConfig:
    """Sizes of the quickstart; the defaults run in a few minutes on two CPU cores."""

    window: int = 32
    # Label horizon: direction over the next 5 bars (a trading week).
    horizon: int = 5
    folds: int = 3
    hidden_size: int = 32
    num_layers: int = 2
    pretrain_epochs: int = 20
    # Patch masks: whole runs of 4 bars are hidden, which interpolation cannot fill in.
    mask_ratio: float = 0.25
    mask_strategy: str = "patch"
    patch_size: int = 4
    epochs: int = 12
    patience: int = 3
    # The pre-trained encoder stays frozen this long, then trains at half the learning rate.
    freeze_epochs: int = 2
    batch_size: int = 64
    lr: float = 2e-3
    forecast_target: str = "volatility_20"
    forecast_horizon: int = 5
    forecast_epochs: int = 20
    n_resamples: int = 1000
    cost_bps: float = 1.0
    seed: int = 0
    device: str = "cpu"
    # One intra-op thread: these small LSTMs run fastest on one, and a busy machine punishes more.
    threads: int = 1
    progress: bool = True


def _stage(log: Callable[[str], None], started: float, text: str) -> None:
    log(f"[{time.perf_counter() - started:6.1f} s] {text}")


def run(
    out_dir: str | Path = "runs/quickstart",
    config: QuickstartConfig | None = None,
    *,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Runs the quickstart (module docstring) and returns its summary, also written to ``summary.json``.

    Args:
        out_dir: output folder (created).
        config: sizes and settings.
        log: called with one line per stage (e.g. ``print`` to stderr); default silent.

    Example:
        >>> summary = run("runs/quickstart")                    # doctest: +SKIP
        >>> print(console_summary(summary))                     # doctest: +SKIP
    """
    cfg = config or QuickstartConfig()
    say = log or (lambda _: None)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    threads = torch.get_num_threads()
    torch.set_num_threads(cfg.threads)
    started = time.perf_counter()
    try:
        return _run(out, cfg, say, started)
    finally:
        torch.set_num_threads(threads)


def _run(out: Path, cfg: QuickstartConfig, say: Callable[[str], None], started: float) -> dict[str, Any]:
    seconds: dict[str, float] = {}
    bars = load_sp500_daily()
    series = series_from_bars("sp500_daily", bars, cfg.horizon)
    embargo = max(cfg.horizon, cfg.forecast_horizon)
    folds = walk_forward(series, horizon=cfg.horizon, n_folds=cfg.folds, embargo=embargo)
    (out / "folds.json").write_text(walk_forward_json(folds, mode="expanding", horizon=cfg.horizon))
    spec = DataSpec(task="direction", window=cfg.window, horizon=cfg.horizon)
    sizes = ModelOptions(hidden_size=cfg.hidden_size, num_layers=cfg.num_layers, num_heads=4)

    _stage(say, started, f"pre-training the encoder on the training rows of fold 1 ({folds[0].train})")
    t = time.perf_counter()
    encoder = out / "encoder.safetensors"
    pre, pre_windows = pretrain(
        [series],
        spec,
        {series.symbol: folds[0].train},
        encoder,
        PretrainOptions(
            epochs=cfg.pretrain_epochs,
            patience=cfg.patience,
            mask_ratio=cfg.mask_ratio,
            mask_strategy=cfg.mask_strategy,
            patch_size=cfg.patch_size,
            hidden_size=cfg.hidden_size,
            num_layers=cfg.num_layers,
            batch_size=cfg.batch_size,
            lr=cfg.lr,
            seed=cfg.seed,
            device=cfg.device,
            progress=cfg.progress,
        ),
        source="bundled sp500_daily",
    )
    seconds["pretrain"] = time.perf_counter() - t
    recon = pre.history.column("val_reconstruction")

    fold_info, checkpoints = [], []
    t = time.perf_counter()
    for k, split in enumerate(folds, 1):
        _stage(say, started, f"fine-tuning bilstm_classifier, fold {k}/{len(folds)}")
        result = train(
            "bilstm_classifier",
            [series],
            spec,
            {series.symbol: split},
            out / "folds" / f"fold_{k}",
            model_options=sizes,
            options=TrainOptions(
                epochs=cfg.epochs,
                patience=cfg.patience,
                batch_size=cfg.batch_size,
                lr=cfg.lr,
                warmup_steps=20,
                pretrained_encoder=str(encoder),
                freeze_encoder=True,
                unfreeze_after=cfg.freeze_epochs,
                seed=cfg.seed,
                device=cfg.device,
                progress=cfg.progress,
            ),
            source="bundled sp500_daily",
        )
        checkpoints.append(result.checkpoint)
        fold_info.append(
            {
                "fold": k,
                "windows": result.windows,
                "epochs": result.epochs,
                "best_epoch": result.best_epoch,
                "transfer_ratio": result.transfer.ratio if result.transfer else None,
                "checkpoint": str(result.checkpoint),
            }
        )
    seconds["fine_tune"] = time.perf_counter() - t

    _stage(say, started, "walk-forward evaluation against the baselines (bootstrap intervals)")
    t = time.perf_counter()
    options = EvaluateOptions(
        cost_bps=cfg.cost_bps, n_resamples=cfg.n_resamples, seed=cfg.seed, progress=cfg.progress
    )
    trained = [read_trained(p) for p in checkpoints]
    classification, _ = evaluate(trained, [series], options)
    seconds["evaluate"] = time.perf_counter() - t

    _stage(
        say, started, f"training the lstm_attention forecaster of {cfg.forecast_target} on fold {len(folds)}"
    )
    t = time.perf_counter()
    fspec = DataSpec(
        task="forecast", window=cfg.window, horizon=cfg.forecast_horizon, targets=[cfg.forecast_target]
    )
    forecaster = train(
        "lstm_attention",
        [series],
        fspec,
        {series.symbol: folds[-1]},
        out / "forecaster",
        model_options=ModelOptions(hidden_size=cfg.hidden_size, num_layers=1, num_heads=4, decoder_layers=1),
        options=TrainOptions(
            epochs=cfg.forecast_epochs,
            patience=cfg.patience,
            batch_size=cfg.batch_size,
            lr=cfg.lr,
            seed=cfg.seed,
            device=cfg.device,
            progress=cfg.progress,
        ),
        source="bundled sp500_daily",
    )
    forecaster_trained = read_trained(forecaster.checkpoint)
    _, forecast = evaluate([forecaster_trained], [series], options)
    seconds["forecaster"] = time.perf_counter() - t

    _stage(say, started, "exporting both models and checking the native engine against PyTorch")
    exported = {
        "bilstm_classifier": out / "bilstm_classifier.safetensors",
        "lstm_attention": out / "lstm_attention.safetensors",
    }
    shutil.copyfile(checkpoints[-1], exported["bilstm_classifier"])
    shutil.copyfile(forecaster.checkpoint, exported["lstm_attention"])
    parity = {name: _parity(path, series) for name, path in exported.items()}

    context = {
        "data": "bundled S&P 500 daily bars (Yahoo Finance, via the arch package), "
        f"{bars.index[0].date()} .. {bars.index[-1].date()}, {len(bars)} bars",
        "task": f"up or down over the next {cfg.horizon} bars, from windows of {cfg.window} bars of "
        f"{len(spec.input_columns)} causal features",
        "walk-forward": f"{cfg.folds} expanding folds, embargo {embargo} rows (folds.json)",
        "pre-training": f"masked BiLSTM autoencoder ({cfg.mask_strategy} masks, {cfg.mask_ratio:.0%}) on "
        f"{pre_windows['train']} training windows of fold 1 only; best epoch {pre.best_epoch}, "
        f"masked MSE {recon[0]:.3f} (epoch 1) -> {recon[pre.best_epoch - 1]:.3f}",
        "fine-tuning": f"bilstm_classifier from the pre-trained encoder in every fold (frozen for "
        f"{cfg.freeze_epochs} epochs), best epoch by validation loss",
        "config": asdict(cfg),
    }
    doc = report_document(
        "neural-trader quickstart: S&P 500 daily", context, classification, forecast, parity=parity
    )
    figures = write_report(out, doc, classification, forecast)
    seconds["total"] = time.perf_counter() - started
    summary = {
        "out_dir": str(out),
        "report": str(out / "report.md"),
        "figures": [str(p) for p in figures],
        "checkpoints": {k: str(v) for k, v in exported.items()},
        "context": {k: v for k, v in context.items() if k != "config"},
        "folds": fold_info,
        "pretrain": {"windows": pre_windows, "best_epoch": pre.best_epoch, "val_reconstruction": recon},
        "classification": doc["classification"],
        "equity": doc["equity"],
        "forecast": doc["forecast"],
        "parity": parity,
        "verdict": doc["verdict"],
        "seconds": {k: round(v, 1) for k, v in seconds.items()},
        "config": asdict(cfg),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def _parity(path: Path, series: Any) -> dict[str, Any]:
    """Native engine vs the torch twin, both loaded from ``path``, on the model's test windows."""
    trained = read_trained(path)
    split = trained.split_for(series)
    x = make_windows(series, trained.spec, trained.scaler, split.test).x
    got = native.load(path).predict(x)
    with torch.inference_mode():
        want = trained.model.eval()(torch.from_numpy(x)).numpy()
    diff = float(np.max(np.abs(got - want)))
    same = float(np.mean(got.argmax(1) == want.argmax(1))) if got.ndim == 2 else None
    return {
        "max_abs_diff": diff,
        "windows": int(len(x)),
        "tolerance": PARITY_TOLERANCE,
        "ok": bool(diff <= PARITY_TOLERANCE),
        "same_class": same,
    }


def _iv(d: dict[str, Any]) -> str:
    if d.get("estimate") is None:
        return "n/a"
    if d.get("low") is None:
        return f"{d['estimate']:.3f}"
    return f"{d['estimate']:.3f} [{d['low']:.3f}, {d['high']:.3f}]"


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
        cells = [_iv(scores[m]) for m in ("balanced_accuracy", "mcc", "roc_auc", "accuracy")]
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


def main() -> int:
    """``python -m neural_trader.quickstart``: the same as ``neural-trader quickstart``."""
    summary = run(log=lambda line: print(line, file=sys.stderr))
    print(console_summary(summary))
    return 0 if all(p["ok"] for p in summary["parity"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
