"""The resume file: everything needed to continue a run, in one safetensors file, without pickle.

``torch.save`` would pickle the optimizer state, and unpickling a file can run arbitrary code. Here every
tensor (model weights, optimizer moments, random states) is a safetensors tensor and every scalar or
structure (epoch, step, schedule and early-stopping state, optimizer hyper-parameters, config, history)
is JSON in the file's metadata. Tensor names:

* ``model/<state_dict key>``
* ``optimizer/<param index>/<state key>`` (e.g. ``optimizer/3/exp_avg``; AdamW's ``step`` is a 0-d tensor)
* ``rng/<name>`` (see :mod:`neural_trader.training.rng`)

Metadata: ``format = "neural_trader.training_state"``, ``format_version = "1"``, ``model`` (registry name)
and ``state`` (JSON: trainer scalars, ``optimizer`` param groups and non-tensor state, ``rng`` scalars).
Tensors keep their dtype (a resumed run must continue with the very same bits).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from neural_trader.checkpoint import read_metadata, read_regular_file, stable_bytes, write_atomic
from neural_trader.errors import CheckpointError

FORMAT = "neural_trader.training_state"
FORMAT_VERSION = "1"


def optimizer_state_to_flat(
    optimizer: torch.optim.Optimizer,
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Splits ``optimizer.state_dict()`` into named tensors and JSON-ready structure.

    Raises:
        CheckpointError: a hyper-parameter that is not a plain number, string, bool or list of them.
    """
    sd = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for index, entries in sd["state"].items():
        for key, value in entries.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{index}/{key}"] = value.detach().cpu().contiguous()
            else:
                scalars.setdefault(str(index), {})[key] = value
    groups = [{k: (list(v) if isinstance(v, tuple) else v) for k, v in g.items()} for g in sd["param_groups"]]
    meta = {"param_groups": groups, "scalars": scalars}
    try:
        json.dumps(meta)
    except TypeError as e:
        raise CheckpointError(f"optimizer state is not JSON-serialisable: {e}") from None
    return tensors, meta


def optimizer_state_from_flat(
    optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], meta: dict[str, Any]
) -> None:
    """Loads what :func:`optimizer_state_to_flat` produced into ``optimizer``."""
    state: dict[int, dict[str, Any]] = {}
    for name, t in tensors.items():
        index, key = name.split("/", 1)
        state.setdefault(int(index), {})[key] = t
    for index, entries in meta["scalars"].items():
        state.setdefault(int(index), {}).update(entries)
    groups = [{k: (tuple(v) if k == "betas" else v) for k, v in g.items()} for g in meta["param_groups"]]
    try:
        optimizer.load_state_dict({"state": state, "param_groups": groups})
    except (ValueError, KeyError) as e:
        raise CheckpointError(f"optimizer state does not fit this optimizer: {e}") from None


@dataclass
class TrainingState:
    """Parsed resume file: tensors grouped by owner, and the JSON state."""

    model: str
    model_tensors: dict[str, torch.Tensor]
    optimizer_tensors: dict[str, torch.Tensor]
    rng_tensors: dict[str, torch.Tensor]
    state: dict[str, Any]


def write_training_state(
    path: str | os.PathLike,
    *,
    model_name: str,
    model_tensors: dict[str, torch.Tensor],
    optimizer_tensors: dict[str, torch.Tensor],
    rng_tensors: dict[str, torch.Tensor],
    state: dict[str, Any],
) -> None:
    """Writes a resume file atomically (see the module docstring for the layout)."""
    tensors = {f"model/{k}": v.detach().cpu().contiguous() for k, v in model_tensors.items()}
    tensors.update({f"optimizer/{k}": v for k, v in optimizer_tensors.items()})
    tensors.update({f"rng/{k}": v.contiguous() for k, v in rng_tensors.items()})
    metadata = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model": model_name,
        "state": json.dumps(state),
    }
    write_atomic(Path(path), stable_bytes(st_save(tensors, metadata=metadata)))


def identity_differences(saved: Any, now: dict[str, Any]) -> str:
    """What differs between the identity a resume file recorded and this run's, in words ("" if nothing).

    Values are compared as JSON; for an object, the differing fields are named (``model config:
    hidden_size 8 -> 16``); a file without an identity cannot be checked and is reported as such.

    Example:
        >>> identity_differences({"model config": {"hidden_size": 8}}, {"model config": {"hidden_size": 16}})
        'model config: hidden_size 8 -> 16'
    """
    if not isinstance(saved, dict):
        return "the file records no run identity (model, data, split) to check it against"
    parts = []
    for key in [*now, *(k for k in saved if k not in now)]:
        was, is_ = saved.get(key), now.get(key)
        if was == is_:
            continue
        if isinstance(was, dict) and isinstance(is_, dict):
            fields = [k for k in [*is_, *(k for k in was if k not in is_)] if was.get(k) != is_.get(k)]
            detail = ", ".join(f"{k} {_short(was.get(k))} -> {_short(is_.get(k))}" for k in fields)
            parts.append(f"{key}: {detail}")
        else:
            parts.append(f"{key}: {_short(was)} -> {_short(is_)}")
    return "; ".join(parts)


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 60 else text[:57] + "..."


def read_training_state(path: str | os.PathLike) -> TrainingState:
    """Reads a resume file written by :func:`write_training_state`.

    Raises:
        FileNotFoundError: no such file. CheckpointError: not a valid resume file.
    """
    data = read_regular_file(Path(path))
    try:
        tensors = st_load(data)
        metadata = read_metadata(data)
    except (SafetensorError, ValueError, OverflowError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{path}: not a valid safetensors file: {e}") from None
    if metadata.get("format") != FORMAT or metadata.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: not a training-state file (format {metadata.get('format')!r}, "
            f"version {metadata.get('format_version')!r}); model checkpoints cannot resume a run"
        )
    try:
        state = json.loads(metadata["state"])
    except (KeyError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{path}: training state metadata is missing or invalid: {e}") from None
    groups: dict[str, dict[str, torch.Tensor]] = {"model": {}, "optimizer": {}, "rng": {}}
    for name, t in tensors.items():
        owner, _, key = name.partition("/")
        if owner not in groups or not key:
            raise CheckpointError(f"{path}: unexpected tensor `{name}`")
        groups[owner][key] = t
    return TrainingState(
        metadata.get("model", ""), groups["model"], groups["optimizer"], groups["rng"], state
    )
