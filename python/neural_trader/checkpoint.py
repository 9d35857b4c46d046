"""The neural_trader checkpoint: one safetensors file, tensors plus metadata, written atomically.

Metadata keys: ``format = "neural_trader"``, ``format_version = "1"``, ``model`` (registry name) and
``config`` (JSON). Other keys (scalers, training notes) travel along untouched. The Rust engine reads and
writes the same file. No pickle is involved anywhere: files hold numbers and strings only.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from neural_trader import files
from neural_trader.errors import CheckpointError, NeuralTraderError

FORMAT = "neural_trader"
FORMAT_VERSION = "1"
_RESERVED = ("format", "format_version", "model", "config")


@dataclass
class Checkpoint:
    """Parsed checkpoint contents.

    Attributes:
        model: Registry name of the model, e.g. ``"bilstm_classifier"``.
        config: The model config as a dict (parsed from the JSON metadata).
        tensors: Parameter name -> float32 CPU tensor.
        extra: Every other metadata entry, as strings.
    """

    model: str
    config: dict
    tensors: dict[str, torch.Tensor]
    extra: dict[str, str] = field(default_factory=dict)

    def to_bytes(self) -> bytes:
        """Serialises to the bytes of a safetensors file."""
        metadata = dict(self.extra)
        metadata.update(
            format=FORMAT,
            format_version=FORMAT_VERSION,
            model=self.model,
            config=json.dumps(self.config, sort_keys=True),
        )
        tensors = {k: v.detach().to("cpu", torch.float32).contiguous() for k, v in self.tensors.items()}
        return stable_bytes(st_save(tensors, metadata=metadata))

    def write(self, path: str | os.PathLike) -> None:
        """Writes the file atomically (temporary file, fsync, rename)."""
        write_atomic(Path(path), self.to_bytes())

    @classmethod
    def from_bytes(cls, data: bytes, source: str = "checkpoint") -> Checkpoint:
        """Parses the bytes of a safetensors file, checking the neural_trader metadata.

        Raises:
            CheckpointError: not safetensors, not neural_trader's format, or not float32.
        """
        try:
            tensors = st_load(data)
            metadata = read_metadata(data)
        except (SafetensorError, ValueError, OverflowError, UnicodeDecodeError) as e:
            raise CheckpointError(f"{source}: not a valid safetensors file: {e}") from None
        missing = [k for k in _RESERVED if k not in metadata]
        if missing:
            raise CheckpointError(
                f"{source}: metadata key(s) {missing} missing: not a neural_trader checkpoint"
            )
        if metadata["format"] != FORMAT:
            raise CheckpointError(f"{source}: metadata format is {metadata['format']!r}, expected {FORMAT!r}")
        if metadata["format_version"] != FORMAT_VERSION:
            raise CheckpointError(
                f"{source}: format_version {metadata['format_version']!r} is not supported "
                f"(this version reads {FORMAT_VERSION!r})"
            )
        try:
            config = json.loads(metadata["config"])
        except (ValueError, RecursionError) as e:
            # ValueError covers JSONDecodeError and integers beyond Python's digit limit; RecursionError a
            # hostile nesting depth.
            raise CheckpointError(f"{source}: config metadata is not valid JSON: {e}") from None
        if not isinstance(config, dict):
            raise CheckpointError(f"{source}: config metadata must be a JSON object, got {config!r}")
        for name, t in tensors.items():
            if t.dtype != torch.float32:
                raise CheckpointError(f"{source}: tensor `{name}` has dtype {t.dtype}, expected float32")
        extra = {k: v for k, v in metadata.items() if k not in _RESERVED}
        return cls(model=metadata["model"], config=config, tensors=tensors, extra=extra)

    @classmethod
    def read(cls, path: str | os.PathLike) -> Checkpoint:
        """Reads and parses a checkpoint file.

        Raises:
            FileNotFoundError: the file does not exist.
            CheckpointError: the file is not a valid neural_trader checkpoint.
        """
        path = Path(path)
        return cls.from_bytes(read_regular_file(path), source=str(path))


@contextlib.contextmanager
def naming_file(path: str | os.PathLike) -> Iterator[None]:
    """Prefixes the message of a neural_trader error raised in the block (a tensor of the wrong shape, a
    config out of range) with ``path``, unless the message already names it: the user learns which file.

    Example:
        >>> with naming_file("m.safetensors"):                        # doctest: +SKIP
        ...     BiLSTMClassifier.from_checkpoint(ck)
        CheckpointError: m.safetensors: tensor `head.weight` has shape (2, 8), expected (2, 16)
    """
    try:
        yield
    except NeuralTraderError as exc:
        if os.fspath(path) in str(exc):
            raise
        raise type(exc)(f"{os.fspath(path)}: {exc}") from None


def read_regular_file(path: Path) -> bytes:
    """The bytes of a regular checkpoint file, and no more than its size
    (:func:`neural_trader.files.read_regular_file`).

    Raises:
        FileNotFoundError: no such file. CheckpointError: a folder, FIFO or device.
    """
    return files.read_regular_file(path, error=CheckpointError, what="checkpoint")


def stable_bytes(data: bytes) -> bytes:
    """safetensors bytes with the metadata in sorted key order: the same checkpoint, the same bytes.

    The safetensors library writes metadata in a hash map's order, which changes from one process to the
    next, so two runs that end with identical weights and metadata wrote different files. The header is
    re-written (JSON, keys of ``__metadata__`` sorted, tensor entries and offsets as they were, padded
    with spaces to 8 bytes as the library pads it); the tensor data is untouched.

    Example:
        >>> a = stable_bytes(st_save({"w": torch.zeros(2)}, metadata={"b": "1", "a": "2"}))
        >>> a[8:50]
        b'{"__metadata__":{"a":"2","b":"1"},"w":{"dt'
    """
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + n])
    ordered = {}
    if "__metadata__" in header:
        ordered["__metadata__"] = dict(sorted(header.pop("__metadata__").items()))
    ordered.update(header)
    text = json.dumps(ordered, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-len(text) % 8)
    return len(text).to_bytes(8, "little") + text + data[8 + n :]


def read_metadata(data: bytes) -> dict[str, str]:
    """The ``__metadata__`` of safetensors bytes that a safetensors loader has already validated."""
    # The header is 8 bytes of little-endian length, then JSON; `st_load` above already validated it.
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + n])
    return dict(header.get("__metadata__") or {})


def write_atomic(path: Path, data: bytes) -> None:
    """Writes ``data`` to ``path``; a crash leaves either the old or the new file, never half of one
    (:func:`neural_trader.files.write_atomic`).

    Raises:
        CheckpointError: ``path`` exists and is not a regular file. OSError: the write failed, naming
            ``path``.
    """
    files.write_atomic(path, data, not_regular=CheckpointError)
