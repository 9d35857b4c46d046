"""A tiny job for the distributed tests: multi-symbol loaders, a classifier fit and a masked pre-training.

The same code runs in one process (the tests import :func:`run`) and under ``torchrun``::

    python -m torch.distributed.run --nproc_per_node=2 tests/distributed/torchrun_job.py OUT [--fail MODE]

Nothing in it knows about ranks except what it records: the library detects ``torchrun`` by itself.
Every rank writes ``rank{r}.json`` (history, scaler, windows it trained on, epochs) and
``rank{r}.safetensors`` (final classifier and pre-trained autoencoder weights) under ``OUT``; the trainer
itself writes ``OUT/run`` (rank 0 only) and the pre-trainer ``OUT/encoder.safetensors``.

``--fail kill`` kills rank 1 (SIGKILL) at its third training forward pass; ``--fail hang`` makes it sleep
there instead, so that only the collective timeout can end the run. The timeout is 60 s until that step
(a loaded machine may delay a rank by seconds: that is not a hang) and 8 s from it, on both ranks.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import signal
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from safetensors.torch import save_file
from torch.utils.data import DataLoader, Dataset

from neural_trader.data import make_multi_symbol_loaders
from neural_trader.models.bilstm_classifier import BiLSTMClassifier, BiLSTMClassifierConfig
from neural_trader.models.masked_autoencoder import MaskedBiLSTMAutoencoderConfig
from neural_trader.training import (
    ClassificationTask,
    PretrainConfig,
    Trainer,
    TrainerConfig,
    distributed,
    pretrain_encoder,
)

FEATURES = ("log_return", "range", "body", "volume_change", "close_location")
GLOBAL_BATCH = 16
# Symbols of unequal lengths: ranks must still get equal shares of windows.
SYMBOL_BARS = {"aaa": 150, "bbb": 110, "ccc": 75}


def universe(seed: int = 0) -> dict[str, pd.DataFrame]:
    """Random-walk OHLCV bars, one frame per symbol."""
    out = {}
    for k, (symbol, n) in enumerate(SYMBOL_BARS.items()):
        rng = np.random.default_rng(seed + k)
        close = 50 * (k + 1) * np.exp(np.cumsum(rng.normal(0, 0.015, n)))
        open_ = np.r_[close[0], close[:-1]] * (1 + rng.normal(0, 0.003, n))
        high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.01, n))
        low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.01, n))
        volume = rng.integers(1_000, 9_000, n).astype(np.float64)
        index = pd.date_range("2020-01-01", periods=n, freq="D", name="timestamp")
        out[symbol] = pd.DataFrame(
            {"open": open_, "high": high, "low": low, "close": close, "volume": volume}, index=index
        )
    return out


class Recording(Dataset):
    """A dataset that remembers which windows this process fetched (the training windows of each step)."""

    def __init__(self, inner: Dataset) -> None:
        self.inner, self.seen = inner, []

    def __len__(self) -> int:
        return len(self.inner)

    def __getitem__(self, i: int):
        self.seen.append(int(i))
        return self.inner[i]


def sine_windows(n: int, length: int = 12) -> np.ndarray:
    rng = np.random.default_rng(3)
    t = np.arange(length)[None, :]
    phase = rng.uniform(0, 2 * np.pi, size=(n, 1))
    x = np.stack([np.sin(0.5 * t + phase), np.cos(0.3 * t + 2 * phase)], axis=-1)
    return (x + 0.05 * rng.normal(size=x.shape)).astype(np.float32)


def run(out: Path, fail: str | None = None) -> dict:
    """Runs the job; returns (and writes) this rank's record."""
    out.mkdir(parents=True, exist_ok=True)
    loaders = make_multi_symbol_loaders(
        universe(),
        window=8,
        horizons=(1,),
        labels=["direction_1"],
        features=FEATURES,
        batch_size=GLOBAL_BATCH,
    )
    train_set = Recording(loaders.train.dataset)
    train = DataLoader(
        train_set, batch_size=GLOBAL_BATCH, shuffle=True, generator=torch.Generator().manual_seed(0)
    )

    torch.manual_seed(0)
    model = BiLSTMClassifier(
        BiLSTMClassifierConfig(input_size=len(FEATURES), hidden_size=6, num_layers=1, dropout=0.0)
    )
    # The encoder starts frozen and thaws after one epoch: DDP must be rebuilt to synchronise it.
    for name, p in model.named_parameters():
        p.requires_grad_(not name.startswith("encoder."))
    cfg = TrainerConfig(
        epochs=6,
        lr=2e-2,
        warmup_steps=3,
        # min_delta so large that only the first epoch "improves": early stopping ends epoch 3.
        patience=2,
        min_delta=10.0,
        unfreeze_after_epochs=1,
        progress=False,
        device="cpu",
        out_dir=str(out / "run"),
        dist_timeout_s=60.0,
    )
    trainer = Trainer(model, ClassificationTask(), cfg, checkpoint_extra={"scaler": json.dumps({})})
    if fail is not None:
        calls = []

        def die_or_hang(module, args):
            calls.append(1)
            if not (module.training and len(calls) == 3):
                return
            if fail == "hang":  # every rank: rank 0 must give up waiting for rank 1 soon
                torch.distributed.set_timeout(datetime.timedelta(seconds=8))
            if distributed.rank() == 1:
                print(f"rank 1: {fail} at training step 3", flush=True)
                if fail == "kill":
                    os.kill(os.getpid(), signal.SIGKILL)
                time.sleep(3600)

        model.register_forward_pre_hook(die_or_hang)
    trainer.fit(train, loaders.val)
    test = trainer.evaluate(loaders.test)

    # 91 windows: 65 train windows (4 batches of 16 and one of 1: rank 1 pads it with weight 0).
    pre = pretrain_encoder(
        sine_windows(91),
        MaskedBiLSTMAutoencoderConfig(
            input_size=2, hidden_size=5, num_layers=1, decoder_hidden=[], latent_weight=0.0
        ),
        PretrainConfig(epochs=2, batch_size=16, lr=1e-2, progress=False, device="cpu"),
        out / "encoder.safetensors",
    )

    r = distributed.rank()
    tensors = {f"classifier.{k}": v.contiguous() for k, v in model.state_dict().items()}
    tensors.update({f"autoencoder.{k}": v.contiguous() for k, v in pre.model.state_dict().items()})
    save_file(tensors, str(out / f"rank{r}.safetensors"))
    record = {
        "rank": r,
        "world": distributed.world_size(),
        "history": trainer.history.records,
        "test": test,
        "pretrain_history": pre.history.records,
        "scaler": loaders.scaler.to_dict(),
        "seen": train_set.seen,
        "n_train_windows": len(train_set),
        "best_checkpoint": str(trainer.best_checkpoint),
    }
    (out / f"rank{r}.json").write_text(json.dumps(record))
    return record


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--fail", choices=["kill", "hang"])
    args = parser.parse_args()
    torch.set_num_threads(1)
    run(args.out, args.fail)
    sys.exit(0)
