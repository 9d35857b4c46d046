"""Fingerprints of everything that takes a seed, computed in this (fresh) process; run by
``test_reliability_determinism.py`` under different thread counts.

Usage: ``python rel_determinism.py TORCH_THREADS ENGINE_THREADS`` (``RAYON_NUM_THREADS`` comes from the
environment and sizes the kernels' pool). Prints one JSON object: name -> sha256 of the result's bytes.
"""

from __future__ import annotations

import hashlib
import json
import sys

import numpy as np
import torch


def sha(*arrays: np.ndarray | torch.Tensor) -> str:
    h = hashlib.sha256()
    for a in arrays:
        a = a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else np.asarray(a)
        h.update(str(a.shape).encode() + str(a.dtype).encode() + np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def main() -> int:
    torch_threads, engine_threads = int(sys.argv[1]), int(sys.argv[2])
    torch.set_num_threads(torch_threads)
    import neural_trader as nt
    from neural_trader import kernels
    from neural_trader.data import WindowDataset
    from neural_trader.training import ClassificationTask, Trainer, TrainerConfig, seed_everything

    rng = np.random.default_rng(0)
    out: dict[str, str] = {}
    # Masks: enough rows that the pool splits them differently at each thread count.
    for strategy in ("random", "block", "patch"):
        out[f"mask.{strategy}"] = sha(kernels.mask(4099, 96, 0.3, strategy, 6, seed=123))
    candles = np.abs(rng.normal(100, 1, (2048, 48, 5))).astype(np.float32)
    candles[..., 1] = candles.max(axis=-1) + 1
    candles[..., 2] = candles[..., :4].min(axis=-1) - 1
    out["augment"] = sha(kernels.augment(candles, seed=7))
    out["augment_dataset"] = sha(kernels.augment_dataset(candles[:256], 3, seed=7))
    series = rng.normal(size=(200_000, 8))
    mean, std = kernels.zscore_stats(series, 0, 150_000)
    out["zscore_stats"] = sha(mean, std)
    out["sliding_windows"] = sha(kernels.sliding_windows(series[:20_000], 64, 3, mean, std))

    # Training: seeded init, shuffling and dropout; same bits whatever the thread count?
    seed_everything(0)
    feats = rng.normal(size=(600, 6)).astype(np.float32)
    labels = (rng.random((600, 1)) > 0.5).astype(np.float32)
    train = WindowDataset(feats, labels, window=16, stop=450)
    val = WindowDataset(feats, labels, window=16, start=450)
    gen = torch.Generator().manual_seed(0)
    loaders = (
        torch.utils.data.DataLoader(train, batch_size=32, shuffle=True, generator=gen),
        torch.utils.data.DataLoader(val, batch_size=64),
    )
    model = nt.BiLSTMClassifier(nt.BiLSTMClassifierConfig(input_size=6, hidden_size=16, num_layers=2))
    cfg = TrainerConfig(epochs=2, device="cpu", progress=False, out_dir=None, seed=0, patience=5)
    Trainer(model, ClassificationTask(), cfg).fit(*loaders)
    state = model.state_dict()
    out["trained_weights"] = sha(*(state[k] for k in sorted(state)))

    # The native engine on its own pool.
    engine = model.to_native(threads=engine_threads)
    x = rng.normal(size=(512, 40, 6)).astype(np.float32)
    out["engine.predict"] = sha(engine.predict(x))
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
