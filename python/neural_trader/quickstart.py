"""The main job, end to end, on the bundled S&P 500 daily bars (1999-2018), with no other input.

Each numbered stage is one function (:func:`make_folds`, :func:`pretrain_encoder_stage`,
:func:`fine_tune`, :func:`evaluate_folds`, :func:`forecast_stage`, :func:`check_parity`,
:func:`write_outputs`); :func:`run` calls them in order, so the recipe reads top to bottom.

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
7. ``report.md``/``report.json`` and PNG plots; the command's summary
   (:func:`neural_trader.cli.quickstart.console_summary`) ends with the parity figures and the verdict.

Sizes are small (windows of 32 bars, 32 hidden units) so that the whole run takes a few minutes on two
CPU cores; it measures, it does not tune.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from neural_trader import native, recipe
from neural_trader.data import DataSpec, Series, Split, make_windows, series_from_bars
from neural_trader.datasets import load_sp500_daily
from neural_trader.evaluation import ClassificationResult, ForecastResult, report_document, write_report
from neural_trader.files import read_regular_file, write_atomic
from neural_trader.training import PretrainResult
from neural_trader.workflows import (
    EvaluateOptions,
    ModelOptions,
    PretrainOptions,
    TrainOptions,
    evaluate,
    pretrain,
    read_trained,
    train,
    walk_forward,
    walk_forward_json,
)

#: Largest accepted |native - torch| (float32, CPU), as in the parity tests.
PARITY_TOLERANCE = 1e-5
SOURCE = "bundled sp500_daily"


@dataclass
class QuickstartConfig:
    """Sizes of the quickstart; the defaults run in a few minutes on two CPU cores."""

    window: int = 32
    # Label horizon: direction over the next 5 bars (a trading week).
    horizon: int = 5
    folds: int = 3
    hidden_size: int = 32
    num_layers: int = 2
    # A smaller budget than the recipe's 50 epochs of batches of 512 with patience 10 (the summary says so):
    # the quickstart runs in minutes on two CPU cores.
    pretrain_epochs: int = 20
    # The recipe's masks: whole patches of 7 bars are hidden, which interpolation cannot fill in.
    mask_ratio: float = recipe.MASK_RATIO
    mask_strategy: str = recipe.MASK_STRATEGY
    patch_size: int = recipe.PATCH_SIZE
    epochs: int = 12
    patience: int = 3
    # The pre-trained encoder stays frozen this long (the recipe's 10 would leave 2 of the 12 epochs),
    # then trains at half the learning rate.
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


@dataclass
class Folds:
    """The data stage's result: the bars, their rows, the walk-forward folds and the spec of the windows."""

    bars: Any
    series: Series
    folds: list[Split]
    spec: DataSpec
    embargo: int


def make_folds(out: Path, cfg: QuickstartConfig) -> Folds:
    """Stage 1, data: the bundled bars, their rows after the feature warm-up, expanding walk-forward folds
    (written to ``folds.json``) with an embargo covering both label horizons."""
    bars = load_sp500_daily()
    series = series_from_bars("sp500_daily", bars, cfg.horizon)
    embargo = max(cfg.horizon, cfg.forecast_horizon)
    folds = walk_forward(series, horizon=cfg.horizon, n_folds=cfg.folds, embargo=embargo)
    write_atomic(out / "folds.json", walk_forward_json(folds, mode="expanding", horizon=cfg.horizon))
    spec = DataSpec(task="direction", window=cfg.window, horizon=cfg.horizon)
    return Folds(bars, series, folds, spec, embargo)


def pretrain_encoder_stage(
    out: Path, cfg: QuickstartConfig, data: Folds
) -> tuple[PretrainResult, dict[str, int]]:
    """Stage 2, pre-training: the masked BiLSTM autoencoder on the *training* rows of fold 1 only, so no
    later fine-tuning or test period is seen; the encoder goes to ``encoder.safetensors``."""
    return pretrain(
        [data.series],
        data.spec,
        {data.series.symbol: data.folds[0].train},
        out / "encoder.safetensors",
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
        source=SOURCE,
    )


def fine_tune(
    out: Path, cfg: QuickstartConfig, data: Folds, say: Callable[[str], None]
) -> tuple[list[Path], list[dict[str, Any]]]:
    """Stage 3, fine-tuning: a ``bilstm_classifier`` from the encoder in every fold (frozen for
    ``freeze_epochs``, then everything at half the learning rate); returns the best checkpoints and a
    summary per fold."""
    sizes = ModelOptions(hidden_size=cfg.hidden_size, num_layers=cfg.num_layers, num_heads=4)
    checkpoints, info = [], []
    for k, split in enumerate(data.folds, 1):
        say(f"fine-tuning bilstm_classifier, fold {k}/{len(data.folds)}")
        result = train(
            "bilstm_classifier",
            [data.series],
            data.spec,
            {data.series.symbol: split},
            out / "folds" / f"fold_{k}",
            model_options=sizes,
            options=TrainOptions(
                epochs=cfg.epochs,
                patience=cfg.patience,
                batch_size=cfg.batch_size,
                lr=cfg.lr,
                warmup_steps=20,
                pretrained_encoder=str(out / "encoder.safetensors"),
                freeze_encoder=True,
                unfreeze_after=cfg.freeze_epochs,
                seed=cfg.seed,
                device=cfg.device,
                progress=cfg.progress,
            ),
            source=SOURCE,
        )
        checkpoints.append(result.checkpoint)
        info.append(
            {
                "fold": k,
                "windows": result.windows,
                "epochs": result.epochs,
                "best_epoch": result.best_epoch,
                "transfer_ratio": result.transfer.ratio if result.transfer else None,
                "checkpoint": str(result.checkpoint),
            }
        )
    return checkpoints, info


def _evaluate_options(cfg: QuickstartConfig) -> EvaluateOptions:
    return EvaluateOptions(
        cost_bps=cfg.cost_bps, n_resamples=cfg.n_resamples, seed=cfg.seed, progress=cfg.progress
    )


def evaluate_folds(cfg: QuickstartConfig, data: Folds, checkpoints: list[Path]) -> ClassificationResult:
    """Stage 4, evaluation: every fold's checkpoint on its own test windows, against the baselines fit on
    the same training windows, with block-bootstrap intervals."""
    classification, _ = evaluate(
        [read_trained(p) for p in checkpoints], [data.series], _evaluate_options(cfg)
    )
    assert classification is not None  # a direction model gives a classification result
    return classification


def forecast_stage(out: Path, cfg: QuickstartConfig, data: Folds) -> tuple[Path, ForecastResult]:
    """Stage 5, forecasting: an ``lstm_attention`` forecaster of the target trained on the last fold and
    scored against persistence and seasonal-naive forecasts."""
    fspec = DataSpec(
        task="forecast", window=cfg.window, horizon=cfg.forecast_horizon, targets=[cfg.forecast_target]
    )
    forecaster = train(
        "lstm_attention",
        [data.series],
        fspec,
        {data.series.symbol: data.folds[-1]},
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
        source=SOURCE,
    )
    _, forecast = evaluate([read_trained(forecaster.checkpoint)], [data.series], _evaluate_options(cfg))
    assert forecast is not None  # a forecast model gives a forecast result
    return forecaster.checkpoint, forecast


def check_parity(out: Path, data: Folds, classifier: Path, forecaster: Path) -> dict[str, dict[str, Any]]:
    """Stage 6, serving: both models copied beside the report and run in the native engine against
    PyTorch on their test windows."""
    exported = {
        "bilstm_classifier": out / "bilstm_classifier.safetensors",
        "lstm_attention": out / "lstm_attention.safetensors",
    }
    write_atomic(exported["bilstm_classifier"], read_regular_file(classifier))
    write_atomic(exported["lstm_attention"], read_regular_file(forecaster))
    return {name: _parity(path, data.series) for name, path in exported.items()}


def _run(out: Path, cfg: QuickstartConfig, say: Callable[[str], None], started: float) -> dict[str, Any]:
    """The recipe: each stage is one function above, timed."""
    seconds: dict[str, float] = {}

    def timed(name: str, text: str | None, stage: Callable[..., Any], *args: Any) -> Any:
        if text is not None:
            _stage(say, started, text)
        t = time.perf_counter()
        result = stage(*args)
        seconds[name] = time.perf_counter() - t
        return result

    data = make_folds(out, cfg)
    fold1 = f"pre-training the encoder on the training rows of fold 1 ({data.folds[0].train})"
    pretrained = timed("pretrain", fold1, pretrain_encoder_stage, out, cfg, data)
    progress = lambda text: _stage(say, started, text)  # noqa: E731 (one line per fold)
    checkpoints, fold_info = timed("fine_tune", None, fine_tune, out, cfg, data, progress)
    text = "walk-forward evaluation against the baselines (bootstrap intervals)"
    classification = timed("evaluate", text, evaluate_folds, cfg, data, checkpoints)
    text = f"training the lstm_attention forecaster of {cfg.forecast_target} on fold {cfg.folds}"
    forecaster, forecast = timed("forecaster", text, forecast_stage, out, cfg, data)
    _stage(say, started, "exporting both models and checking the native engine against PyTorch")
    parity = check_parity(out, data, checkpoints[-1], forecaster)
    results = {"classification": classification, "forecast": forecast, "parity": parity}
    return write_outputs(out, cfg, data, pretrained, fold_info, results, seconds, started)


def write_outputs(
    out: Path,
    cfg: QuickstartConfig,
    data: Folds,
    pretrained: tuple[PretrainResult, dict[str, int]],
    fold_info: list[dict[str, Any]],
    results: dict[str, Any],
    seconds: dict[str, float],
    started: float,
) -> dict[str, Any]:
    """Stage 7, report: ``report.md``/``report.json``, the PNG plots and ``summary.json``.

    ``results`` holds the ``classification`` and ``forecast`` results and the ``parity`` figures.
    """
    pre, pre_windows = pretrained
    classification, forecast, parity = results["classification"], results["forecast"], results["parity"]
    recon = pre.history.column("val_reconstruction")
    bars, spec = data.bars, data.spec
    context = {
        "data": "bundled S&P 500 daily bars (Yahoo Finance, via the arch package), "
        f"{bars.index[0].date()} .. {bars.index[-1].date()}, {len(bars)} bars",
        "task": f"up or down over the next {cfg.horizon} bars, from windows of {cfg.window} bars of "
        f"{len(spec.input_columns)} causal features",
        "walk-forward": f"{cfg.folds} expanding folds, embargo {data.embargo} rows (folds.json)",
        "pre-training": f"masked BiLSTM autoencoder ({cfg.mask_strategy} masks of {cfg.patch_size}, "
        f"{cfg.mask_ratio:.0%}) on "
        f"{pre_windows['train']} training windows of fold 1 only; best epoch {pre.best_epoch}, "
        f"masked MSE {recon[0]:.3f} (epoch 1) -> {recon[pre.best_epoch - 1]:.3f}",
        "fine-tuning": f"bilstm_classifier from the pre-trained encoder in every fold (frozen for "
        f"{cfg.freeze_epochs} epochs), best epoch by validation loss",
        "budget": f"pre-training: {cfg.pretrain_epochs} epochs of batches of {cfg.batch_size}, patience "
        f"{cfg.patience} (recipe: {recipe.PRETRAIN_EPOCHS} epochs of {recipe.PRETRAIN_BATCH_SIZE}, patience "
        f"{recipe.PRETRAIN_PATIENCE}); fine-tuning: encoder frozen {cfg.freeze_epochs} epochs (recipe: "
        f"{recipe.FREEZE_EPOCHS}); smaller, to run in minutes on two CPU cores",
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
        "checkpoints": {name: str(out / f"{name}.safetensors") for name in parity},
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
    write_atomic(out / "summary.json", json.dumps(summary, indent=2) + "\n")
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


def main() -> int:
    """``python -m neural_trader.quickstart``: the same as ``neural-trader quickstart``."""
    from neural_trader.cli import main as cli_main

    return cli_main(["quickstart"])


if __name__ == "__main__":
    sys.exit(main())
