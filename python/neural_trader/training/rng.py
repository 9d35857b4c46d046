"""Seeding, and the random-number-generator states a resumed run must restore, as tensors and JSON.

Training draws randomness from python's ``random``, numpy's global generator, torch's CPU (and CUDA)
generators (dropout, initialisation) and the data loader's own ``torch.Generator`` (shuffling). A run
resumed from epoch ``k`` repeats an uninterrupted one only if every one of them is where it was; all of
them are captured here as plain numbers, never pickled.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from neural_trader.errors import CheckpointError


def seed_everything(seed: int) -> None:
    """Seeds python's ``random``, numpy's global generator and torch (CPU and every CUDA device).

    Example:
        >>> seed_everything(0); a = torch.rand(1)
        >>> seed_everything(0); bool(torch.rand(1) == a)
        True
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 (the legacy global generator is what libraries draw from)
    torch.manual_seed(seed)


def capture_rng(generators: Sequence[torch.Generator] = ()) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Every generator state: tensors (big states) and JSON-ready scalars.

    Args:
        generators: extra generators to capture (e.g. a data loader's), in a fixed order.

    Returns:
        ``(tensors, meta)``; :func:`restore_rng` takes them back.
    """
    tensors = {"torch_cpu": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for i, state in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"cuda_{i}"] = state
    _, keys, pos, has_gauss, cached = np.random.get_state()  # noqa: NPY002
    tensors["numpy_keys"] = torch.from_numpy(np.asarray(keys, dtype=np.int64))
    version, internal, gauss_next = random.getstate()
    tensors["python_state"] = torch.tensor(internal, dtype=torch.int64)
    for k, g in enumerate(generators):
        tensors[f"generator_{k}"] = g.get_state()
    meta = {
        "numpy": {"pos": int(pos), "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
        "python": {"version": version, "gauss_next": gauss_next},
        "generators": len(generators),
    }
    return tensors, meta


def restore_rng(
    tensors: dict[str, torch.Tensor], meta: dict[str, Any], generators: Sequence[torch.Generator] = ()
) -> None:
    """Restores what :func:`capture_rng` captured.

    Raises:
        CheckpointError: the saved states do not match the generators given (count), or are missing.
    """
    if meta.get("generators") != len(generators):
        raise CheckpointError(
            f"the resume file holds {meta.get('generators')} data-loader generator state(s), "
            f"but {len(generators)} generator(s) were given; build the loaders as the interrupted run did"
        )
    try:
        torch.set_rng_state(tensors["torch_cpu"])
        cuda = [tensors[k] for k in sorted(t for t in tensors if t.startswith("cuda_"))]
        if cuda and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(cuda)
        n = meta["numpy"]
        keys = tensors["numpy_keys"].numpy().astype(np.uint32)
        numpy_state = ("MT19937", keys, n["pos"], n["has_gauss"], n["cached_gaussian"])
        np.random.set_state(numpy_state)  # noqa: NPY002
        p = meta["python"]
        random.setstate(
            (p["version"], tuple(int(v) for v in tensors["python_state"].tolist()), p["gauss_next"])
        )
        for k, g in enumerate(generators):
            g.set_state(tensors[f"generator_{k}"])
    except KeyError as e:
        raise CheckpointError(f"the resume file lacks random state {e}") from None


def loader_generators(loader: Any) -> list[torch.Generator]:
    """The distinct ``torch.Generator`` objects a ``DataLoader`` draws from (its own and its sampler's)."""
    found: list[torch.Generator] = []
    for owner in (loader, getattr(loader, "sampler", None), getattr(loader, "batch_sampler", None)):
        g = getattr(owner, "generator", None)
        if isinstance(g, torch.Generator) and all(g is not f for f in found):
            found.append(g)
    sampler = getattr(getattr(loader, "batch_sampler", None), "sampler", None)
    g = getattr(sampler, "generator", None)
    if isinstance(g, torch.Generator) and all(g is not f for f in found):
        found.append(g)
    return found
