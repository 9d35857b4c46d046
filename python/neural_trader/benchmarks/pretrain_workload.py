"""The recipe's pre-training workload, timed: masked pre-training of a 2-layer bidirectional LSTM encoder
(hidden 128) on 59,365 windows of 105 bars x 4 features, batches of 512, patch masks of 7 steps at
ratio 0.15, run by the package's own path (:class:`~neural_trader.training.MaskedWindows`,
:class:`~neural_trader.training.MaskedReconstructionTask` and the one
:class:`~neural_trader.training.Trainer`).

A full epoch on a CPU takes many minutes, so a few training steps and validation batches are timed and the
epoch is extrapolated: ``seconds per step x steps per epoch + seconds per validation batch x validation
batches``; the projected budget is that times the recipe's 50 epochs (early stopping may end sooner). One
untimed step first warms up the allocator and the kernels. The recipe quotes "about 20 minutes on an RTX
4090" for the whole run.

The windows are synthetic (a Gaussian random walk's returns, z-scored, windowed by
:func:`neural_trader.kernels.sliding_windows`): the time of a step depends on the shapes, not the values.

Example:
    >>> result = time_pretraining(steps=2, device="cpu", threads=1)     # doctest: +SKIP
    >>> print(format_result(result))                                    # doctest: +SKIP
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from neural_trader import kernels, recipe
from neural_trader.models import MaskedBiLSTMAutoencoder, MaskedBiLSTMAutoencoderConfig
from neural_trader.training import MaskedWindows, PretrainConfig, Trainer, split_windows
from neural_trader.training.distributed import resolve_device
from neural_trader.validation import positive_int

#: The recipe's workload.
RECIPE_WINDOWS = 59_365
RECIPE_WINDOW = 105
RECIPE_FEATURES = 4
RECIPE_HIDDEN = 128
RECIPE_LAYERS = 2
#: What the recipe quotes for the whole 50-epoch run on one RTX 4090, in minutes.
RECIPE_REFERENCE_MINUTES = 20.0


def synthetic_windows(n: int, window: int, features: int, seed: int = 0) -> np.ndarray:
    """``(n, window, features)`` float32 windows of z-scored random-walk returns (one column per feature)."""
    rng = np.random.default_rng(seed)
    series = rng.standard_normal((n + window - 1, features)).astype(np.float32)
    return kernels.sliding_windows(series, window, 1, np.zeros(features), np.ones(features))


def time_pretraining(
    *,
    steps: int = 3,
    val_batches: int = 1,
    device: str = "cpu",
    threads: int | None = None,
    windows: int = RECIPE_WINDOWS,
    window: int = RECIPE_WINDOW,
    features: int = RECIPE_FEATURES,
    hidden_size: int = RECIPE_HIDDEN,
    num_layers: int = RECIPE_LAYERS,
    batch_size: int = recipe.PRETRAIN_BATCH_SIZE,
    epochs: int = recipe.PRETRAIN_EPOCHS,
    seed: int = 0,
) -> dict[str, Any]:
    """Times ``steps`` training steps and ``val_batches`` validation batches of the workload and projects
    an epoch and the whole run (see the module docstring).

    Args:
        steps: timed training steps (batches), after one untimed warm-up step.
        val_batches: timed validation batches.
        device: ``cpu``, ``cuda`` or ``auto``.
        threads: PyTorch CPU threads (``torch.set_num_threads``); None keeps the current number.
        windows, window, features, hidden_size, num_layers, batch_size, epochs: the workload (default: the
            recipe's).
        seed: of the synthetic windows, the masks and the model.

    Returns:
        A JSON-ready dict: the workload, the device and threads, ``seconds_per_step``,
        ``seconds_per_val_batch``, ``seconds_per_epoch`` (projected), ``projected_minutes`` (``epochs``
        epochs) and the recipe's reference.

    Raises:
        ConfigError: a bad size or count, ``device="cuda"`` without CUDA.
    """
    steps, val_batches = positive_int("steps", steps), positive_int("val_batches", val_batches)
    for name, value in (("windows", windows), ("window", window), ("batch_size", batch_size)):
        positive_int(name, value)
    if threads is not None:
        torch.set_num_threads(positive_int("threads", threads))
    dev = resolve_device(device)
    x = synthetic_windows(windows, window, features, seed)
    train_x, val_x = split_windows(x, val_fraction=0.15, gap=window)
    model_config = MaskedBiLSTMAutoencoderConfig(
        input_size=features, hidden_size=hidden_size, num_layers=num_layers, decoder_hidden=[hidden_size]
    )
    config = PretrainConfig(batch_size=batch_size, epochs=1, seed=seed, device=str(dev), progress=False)
    task = config.task(model_config.latent_weight)

    def loader(rows: np.ndarray, batches: int, fixed: bool) -> DataLoader:
        part = torch.from_numpy(np.ascontiguousarray(rows[: batches * batch_size]))
        return DataLoader(MaskedWindows(part, task, fixed=fixed), batch_size=batch_size)

    train_loader, val_loader = loader(train_x, steps, False), loader(val_x, val_batches, True)
    torch.manual_seed(seed)
    warm = Trainer(MaskedBiLSTMAutoencoder(model_config), task, config.trainer)
    warm.fit(loader(train_x, 1, False), loader(val_x, 1, True))
    trainer = Trainer(MaskedBiLSTMAutoencoder(model_config), task, config.trainer)
    trainer.fit(train_loader, val_loader)
    epoch_seconds = trainer.history.records[-1]["seconds"]
    started = time.perf_counter()
    trainer.evaluate(val_loader)
    val_seconds = time.perf_counter() - started
    per_step = max(epoch_seconds - val_seconds, 0.0) / steps
    per_val_batch = val_seconds / val_batches
    steps_per_epoch = math.ceil(len(train_x) / batch_size)
    val_per_epoch = math.ceil(len(val_x) / batch_size)
    epoch = per_step * steps_per_epoch + per_val_batch * val_per_epoch
    return {
        "workload": {
            "windows": windows,
            "train_windows": len(train_x),
            "val_windows": len(val_x),
            "window": window,
            "features": features,
            "hidden_size": hidden_size,
            "num_layers": num_layers,
            "bidirectional": True,
            "batch_size": batch_size,
            "mask": {"strategy": task.mask_strategy, "patch_size": task.patch_size, "ratio": task.mask_ratio},
            "epochs": epochs,
            "parameters": sum(p.numel() for p in trainer.model.parameters()),
        },
        "device": str(dev),
        "device_name": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
        "threads": torch.get_num_threads(),
        "autocast_bf16": bool(config.trainer.autocast and dev.type == "cuda"),
        "steps_timed": steps,
        "val_batches_timed": val_batches,
        "seconds_per_step": per_step,
        "seconds_per_val_batch": per_val_batch,
        "steps_per_epoch": steps_per_epoch,
        "val_batches_per_epoch": val_per_epoch,
        "seconds_per_epoch": epoch,
        "projected_minutes": epoch * epochs / 60.0,
        "recipe_reference_minutes": RECIPE_REFERENCE_MINUTES,
    }


def format_result(result: dict[str, Any]) -> str:
    """The result as a few lines: the workload, the device, seconds per epoch and the projected run."""
    w = result["workload"]
    m = w["mask"]
    ratio = result["projected_minutes"] / result["recipe_reference_minutes"]
    return "\n".join(
        [
            f"pre-training workload  {w['windows']} windows of {w['window']} x {w['features']} "
            f"({w['train_windows']} train, {w['val_windows']} validation), BiLSTM hidden {w['hidden_size']} "
            f"x {w['num_layers']} layers ({w['parameters']} parameters), batch {w['batch_size']}, "
            f"{m['strategy']} masks of {m['patch_size']} at {m['ratio']}",
            f"device                 {result['device_name']} ({result['device']}), {result['threads']} "
            f"thread(s){', bf16 autocast' if result['autocast_bf16'] else ''}",
            f"timed                  {result['steps_timed']} training steps: "
            f"{result['seconds_per_step']:.3f} s/step; {result['val_batches_timed']} validation "
            f"batch(es): {result['seconds_per_val_batch']:.3f} s/batch",
            f"seconds per epoch      {result['seconds_per_epoch']:.1f} (projected: "
            f"{result['steps_per_epoch']} steps + {result['val_batches_per_epoch']} validation batches)",
            f"{str(w['epochs']) + ' epochs':<22} {result['projected_minutes']:.1f} min projected "
            f"({ratio:.2g}x the recipe's ~{result['recipe_reference_minutes']:g} min on an RTX 4090)",
        ]
    )
