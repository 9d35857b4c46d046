"""The main job on the bundled S&P 500 daily bars: train, save, serve natively, compare.

Steps: leakage-free windows of causal features (scaler fit on training rows only), a short training of a
BiLSTMClassifier on next-day direction with early stopping on validation loss, a safetensors checkpoint,
the same file in the Rust engine, the max |native - torch| over the test windows, and test-set accuracy and
balanced accuracy next to "always up". A later issue grows this into the full walk-forward quickstart.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

import neural_trader as nt
from neural_trader.data import make_loaders
from neural_trader.datasets import load_sp500_daily


@dataclass
class QuickstartConfig:
    """Sizes of the quickstart run; small enough for a couple of CPU minutes."""

    window: int = 60
    hidden_size: int = 64
    num_layers: int = 2
    epochs: int = 8
    # Training stops when validation loss has not improved for this many epochs.
    patience: int = 3
    batch_size: int = 64
    lr: float = 1e-3
    seed: int = 0


def _collect(loader) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = zip(*[(x.numpy(), y.numpy()) for x, y in loader], strict=True)
    return np.concatenate(xs), np.concatenate(ys)[:, 0].astype(np.int64)


@torch.no_grad()
def _val_loss(model: nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    model.eval()
    logits = model(torch.from_numpy(x))
    return float(nn.functional.cross_entropy(logits, torch.from_numpy(y)))


def balanced_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean per-class recall over the classes present in ``y_true``."""
    recalls = [np.mean(y_pred[y_true == c] == c) for c in np.unique(y_true)]
    return float(np.mean(recalls))


def run(out_dir: str | Path = "runs/quickstart", config: QuickstartConfig | None = None) -> dict:
    """Runs the quickstart and returns its summary (also written to ``out_dir/summary.json``)."""
    cfg = config or QuickstartConfig()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.seed)
    started = time.perf_counter()

    bars = load_sp500_daily()
    loaders = make_loaders(
        bars,
        window=cfg.window,
        horizons=(1,),
        labels=["direction_1"],
        batch_size=cfg.batch_size,
        seed=cfg.seed,
    )
    x_val, y_val = _collect(loaders.val)
    x_test, y_test = _collect(loaders.test)

    model = nt.BiLSTMClassifier(
        nt.BiLSTMClassifierConfig(
            input_size=len(loaders.feature_columns),
            hidden_size=cfg.hidden_size,
            num_layers=cfg.num_layers,
        )
    )
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr)
    ckpt = out / "bilstm_classifier.safetensors"
    metadata = {"scaler": json.dumps(loaders.scaler.to_dict()), "split": loaders.split.to_json()}
    best, stale = float("inf"), 0
    bar = tqdm(range(cfg.epochs), desc="train BiLSTMClassifier", unit="epoch")
    for _ in bar:
        model.train()
        for x, y in loaders.train:
            loss = nn.functional.cross_entropy(model(x), y[:, 0].long())
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
        val = _val_loss(model, x_val, y_val)
        bar.set_postfix(val_loss=f"{val:.4f}")
        if val < best - 1e-4:
            best, stale = val, 0
            model.save(ckpt, extra=metadata)
        else:
            stale += 1
            if stale >= cfg.patience:
                break

    torch_model = nt.BiLSTMClassifier.load(ckpt)
    with torch.inference_mode():
        torch_logits = torch_model(torch.from_numpy(x_test)).numpy()
    engine = nt.native.load(ckpt)
    native_logits = engine.predict(x_test)
    pred = native_logits.argmax(axis=1)
    summary = {
        "checkpoint": str(ckpt),
        "test_windows": int(len(y_test)),
        "test_period": [str(loaders.index[loaders.split.test[0]].date()), str(loaders.index[-1].date())],
        "parity_max_abs_diff": float(np.abs(native_logits - torch_logits).max()),
        "accuracy": float(np.mean(pred == y_test)),
        "balanced_accuracy": balanced_accuracy(y_test, pred),
        "always_up_accuracy": float(np.mean(y_test == 1)),
        "always_up_balanced_accuracy": 0.5,
        "best_val_loss": best,
        "seconds": round(time.perf_counter() - started, 1),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary


def report(summary: dict) -> str:
    """The summary as a few plain lines."""
    skill = summary["balanced_accuracy"] - 0.5
    verdict = (
        "no better than chance" if abs(skill) < 0.02 else ("above" if skill > 0 else "below") + " chance"
    )
    s = summary
    first, last = s["test_period"]
    return "\n".join(
        [
            f"checkpoint            {s['checkpoint']}",
            f"native vs torch       max |diff| = {s['parity_max_abs_diff']:.2e} over "
            f"{s['test_windows']} test windows ({first} .. {last})",
            f"test accuracy         model {s['accuracy']:.3f}   always-up {s['always_up_accuracy']:.3f}",
            f"balanced accuracy     model {s['balanced_accuracy']:.3f}   always-up 0.500  ({verdict})",
            f"elapsed               {s['seconds']} s",
        ]
    )
