"""Does teacher forcing help the lstm_attention forecaster? Validation MAE and epochs-to-best with teacher
forcing 0.0 / 0.5 / 1.0 / a linear schedule 1.0 -> 0.0, against persistence, on two series:

(a) ``sine``: a learnable synthetic series (a noisy sine with a slowly drifting period), one input column,
    forecast 5 steps ahead from windows of 32;
(b) ``volatility``: the quickstart's forecaster: ``volatility_20`` 5 bars ahead from windows of 32 bars of
    the 28 features, on the last walk-forward fold of the bundled S&P 500 daily bars (the quickstart's sizes:
    hidden 32, one encoder and one decoder layer, batch 64, lr 2e-3, early stopping with patience 3).

Everything else is the package's own path (``neural_trader.workflows.train`` for (b), the one ``Trainer``
with the model's ``ForecastTask`` for (a)); validation losses are always those of the autoregressive
forecast. MAE is in standardised units (the target's training mean and std). Run from the repository root:

    PYTHONPATH=python python scripts/teacher_forcing_study.py --seeds 0 1 --json runs/tf_study.json
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

import neural_trader as nt
from neural_trader.checkpoint import write_atomic
from neural_trader.data import DataSpec, make_windows, series_from_bars
from neural_trader.datasets import load_sp500_daily
from neural_trader.models import ScheduledSampling, TaskOptions
from neural_trader.training import Trainer, TrainerConfig
from neural_trader.workflows import ModelOptions, TrainOptions, read_trained, train, walk_forward

WINDOW, HORIZON, EPOCHS, PATIENCE, BATCH, LR, HIDDEN = 32, 5, 20, 3, 64, 2e-3, 32


def settings(epochs: int) -> dict[str, ScheduledSampling]:
    """The compared teacher-forcing settings, by name."""
    out = {f"{r:.1f}": ScheduledSampling("constant", start=r) for r in (0.0, 0.5, 1.0)}
    out["linear 1.0->0.0"] = ScheduledSampling("linear", start=1.0, end=0.0, decay_epochs=max(1, epochs - 1))
    return out


def sine_series(n: int, seed: int) -> np.ndarray:
    """A noisy sine whose period drifts between 15 and 25 steps: learnable, not trivially periodic."""
    rng = np.random.default_rng(seed)
    period = 20.0 + 5.0 * np.sin(np.arange(n) / 400.0)
    phase = np.cumsum(2 * np.pi / period)
    return (np.sin(phase) + 0.1 * rng.standard_normal(n)).astype(np.float32)


def sine_windows(series: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    idx = np.arange(len(series) - WINDOW - HORIZON + 1)
    x = np.stack([series[i : i + WINDOW] for i in idx])[:, :, None]
    y = np.stack([series[i + WINDOW : i + WINDOW + HORIZON] for i in idx])
    return x, y


def run_sine(schedule: ScheduledSampling, seed: int) -> dict[str, Any]:
    """(a): train on the first 70% of windows, validate on the last 15% (after a gap of one window)."""
    x, y = sine_windows(sine_series(4000, seed=100))
    n = len(x)
    n_train, n_val = int(0.7 * n), int(0.15 * n)
    xs, ys = (torch.from_numpy(a) for a in (x, y))
    train_part = TensorDataset(xs[:n_train], ys[:n_train])
    val_part = TensorDataset(xs[n - n_val :], ys[n - n_val :])
    torch.manual_seed(seed)
    model = nt.LSTMAttention(
        nt.LSTMAttentionConfig(1, 1, HORIZON, hidden_size=HIDDEN, num_encoder_layers=1, num_decoder_layers=1,
                               num_heads=4, dropout=0.1)
    )  # fmt: skip
    spec = DataSpec(task="forecast", window=WINDOW, horizon=HORIZON, targets=["log_return"])
    task = nt.LSTMAttention.make_task(spec, y[:1], options=TaskOptions(teacher_forcing=schedule, seed=seed))
    cfg = TrainerConfig(epochs=EPOCHS, lr=LR, patience=PATIENCE, seed=seed, progress=False, device="cpu")
    trainer = Trainer(model, task, cfg, keep_best=True)
    loader = DataLoader(train_part, BATCH, shuffle=True, generator=torch.Generator().manual_seed(seed))
    started = time.perf_counter()
    trainer.fit(loader, DataLoader(val_part, 256))
    best = trainer.stopper.best_epoch
    val_x, val_y = val_part.tensors
    persistence = float(torch.mean(torch.abs(val_x[:, -1:, 0] - val_y)))
    return {
        "val_mae": trainer.history.column("val_mae")[best - 1],
        "best_epoch": best,
        "epochs_run": trainer.epoch,
        "persistence_val_mae": persistence,
        "seconds": time.perf_counter() - started,
    }


def run_volatility(schedule: ScheduledSampling, seed: int, out: Path) -> dict[str, Any]:
    """(b): the quickstart's forecast stage (last of 3 expanding folds) with this teacher forcing."""
    bars = load_sp500_daily()
    series = series_from_bars("sp500_daily", bars, HORIZON)
    folds = walk_forward(series, horizon=HORIZON, n_folds=3, embargo=HORIZON)
    spec = DataSpec(task="forecast", window=WINDOW, horizon=HORIZON, targets=["volatility_20"])
    started = time.perf_counter()
    result = train(
        "lstm_attention",
        [series],
        spec,
        {series.symbol: folds[-1]},
        out,
        model_options=ModelOptions(
            hidden_size=HIDDEN,
            num_layers=1,
            num_heads=4,
            decoder_layers=1,
            teacher_forcing_ratio=schedule.start,
        ),
        options=TrainOptions(
            epochs=EPOCHS, patience=PATIENCE, batch_size=BATCH, lr=LR, seed=seed, device="cpu",
            progress=False, teacher_forcing=schedule,
        ),
    )  # fmt: skip
    seconds = time.perf_counter() - started
    history = json.loads((out / "history.json").read_text())
    trained = read_trained(result.checkpoint)
    split = trained.split_for(series)
    idx = spec.target_indices()[0]
    scores = {}
    for part in ("val", "test"):
        w = make_windows(series, spec, trained.scaler, getattr(split, part))
        scores[part] = float(np.mean(np.abs(w.x[:, -1:, idx] - w.y)))
    return {
        "val_mae": history[result.best_epoch - 1]["val_mae"],
        "best_epoch": result.best_epoch,
        "epochs_run": result.epochs,
        "persistence_val_mae": scores["val"],
        "test_mae": result.test_metrics["mae"],
        "persistence_test_mae": scores["test"],
        "seconds": seconds,
    }


def table(rows: list[dict[str, Any]]) -> str:
    """Markdown: one row per (series, setting), mean over seeds, with each seed's values."""
    lines = [
        "| series | teacher forcing | validation MAE (mean; per seed) | persistence "
        "| epochs to best (per seed) |",
        "| --- | --- | --- | --- | --- |",
    ]
    keys = list(dict.fromkeys((r["series"], r["setting"]) for r in rows))
    for series, setting in keys:
        runs = [r for r in rows if (r["series"], r["setting"]) == (series, setting)]
        maes = [r["val_mae"] for r in runs]
        lines.append(
            f"| {series} | {setting} | {np.mean(maes):.4f} ({', '.join(f'{m:.4f}' for m in maes)}) | "
            f"{runs[0]['persistence_val_mae']:.4f} | {', '.join(str(r['best_epoch']) for r in runs)} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--series", nargs="+", choices=("sine", "volatility"), default=["sine", "volatility"])
    parser.add_argument("--json", help="also write the raw results here")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for series in args.series:
            for name, schedule in settings(EPOCHS).items():
                for seed in args.seeds:
                    if series == "sine":
                        row = run_sine(schedule, seed)
                    else:
                        row = run_volatility(schedule, seed, Path(tmp) / f"{name}_{seed}".replace(" ", "_"))
                    rows.append({"series": series, "setting": name, "seed": seed, **row})
                    print(json.dumps(rows[-1]), flush=True)
    print(table(rows))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        write_atomic(Path(args.json), (json.dumps(rows, indent=2) + "\n").encode())


if __name__ == "__main__":
    main()
