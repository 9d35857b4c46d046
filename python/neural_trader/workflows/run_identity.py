"""What makes a ``train`` run the run it is, so ``train --resume`` continues only that run.

The trainer's resume file (``last.safetensors``) already refuses a changed optimisation setting (the
:class:`~neural_trader.training.TrainerConfig`). A run is more than that: the model and its config, the data
spec, each symbol's split, the bars themselves, the batch size, the loss weighting and the pre-trained
encoder. :func:`run_identity` records them; the trainer stores the record in the resume file and refuses to
resume a run whose record differs (naming what differs), so a resumed run ends bit for bit where the
uninterrupted run would have, or does not start.

The bars are identified by content: a fingerprint of the training and validation windows (inputs and
labels, after scaling), so other bars in a file of the same name are refused. The file's path is not part
of the identity (the same file moved to another folder resumes); its symbol, which names the splits, is.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from neural_trader.checkpoint import read_regular_file
from neural_trader.data import DataSpec, Split
from neural_trader.data.gathered import CHUNK_WINDOWS, LazyWindows


def fingerprint(*arrays: np.ndarray | LazyWindows) -> str:
    """A SHA-256 of the arrays' dtypes, shapes and bytes (hex, 16 characters). Windows gathered when read
    are hashed a chunk at a time: the digest of their materialised array, without materialising it.

    Example:
        >>> fingerprint(np.zeros((2, 3), np.float32)) == fingerprint(np.zeros((2, 3), np.float32))
        True
        >>> fingerprint(np.zeros((2, 3), np.float32)) == fingerprint(np.ones((2, 3), np.float32))
        False
    """
    h = hashlib.sha256()
    for a in arrays:
        if isinstance(a, LazyWindows):
            h.update(f"{a.dtype.str}{a.shape}".encode())
            for lo in range(0, len(a), CHUNK_WINDOWS):
                h.update(memoryview(a[lo : lo + CHUNK_WINDOWS]).cast("B"))
            continue
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(memoryview(a).cast("B"))
    return h.hexdigest()[:16]


def run_identity(
    name: str,
    model: Any,
    spec: DataSpec,
    splits: dict[str, Split],
    windows: dict[str, tuple[np.ndarray | LazyWindows, np.ndarray]],
    *,
    batch_size: int,
    class_weights: bool,
    pretrained_encoder: str | os.PathLike | None,
    freeze_encoder: bool,
) -> dict[str, Any]:
    """The identity of a ``train`` run, as JSON values named for messages.

    Args:
        name: registry name. model: the model (its ``config`` dataclass is recorded).
        spec: the data spec. splits: ``{symbol: Split}``.
        windows: ``{"train": (x, y), "val": (x, y)}`` as the trainer sees them.
        batch_size, class_weights: the loader's batch and the loss weighting.
        pretrained_encoder: the encoder file loaded before training (recorded by content), or None.
        freeze_encoder: whether the loaded encoder starts frozen.
    """
    encoder = None
    if pretrained_encoder is not None:
        encoder = hashlib.sha256(read_regular_file(Path(pretrained_encoder))).hexdigest()[:16]
    return {
        "model": name,
        "model config": dataclasses.asdict(model.config),
        "data spec": json.loads(spec.to_json()),
        "splits": {symbol: json.loads(split.to_json()) for symbol, split in splits.items()},
        "training windows": fingerprint(*windows["train"]),
        "validation windows": fingerprint(*windows["val"]),
        "batch size": batch_size,
        "class weights": class_weights,
        "pretrained encoder": encoder,
        "freeze encoder": freeze_encoder if encoder is not None else None,
    }
