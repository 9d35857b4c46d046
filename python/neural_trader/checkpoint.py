"""The neural_trader checkpoint: one safetensors file, tensors plus metadata, written atomically.

Metadata keys: ``format = "neural_trader"``, ``format_version = "1"``, ``model`` (registry name) and
``config`` (JSON). Other keys (scalers, training notes) travel along untouched. The Rust engine reads and
writes the same file. No pickle is involved anywhere: files hold numbers and strings only.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from neural_trader.errors import CheckpointError

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
        return st_save(tensors, metadata=metadata)

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


def read_regular_file(path: Path) -> bytes:
    """The bytes of a regular file, and no more than its size.

    Opened without blocking and checked on the open descriptor, so a FIFO (whose open would block
    forever), a device such as ``/dev/zero`` (which never ends) or a directory is a ``CheckpointError``.

    Raises:
        FileNotFoundError: no such file. CheckpointError: not a regular file.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        st = os.fstat(fd)
    except BaseException:
        os.close(fd)
        raise
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise CheckpointError(
            f"{path} is not a regular file (a directory, FIFO or device is never a checkpoint)"
        )
    with os.fdopen(fd, "rb") as f:
        return f.read(st.st_size)


def read_metadata(data: bytes) -> dict[str, str]:
    """The ``__metadata__`` of safetensors bytes that a safetensors loader has already validated."""
    # The header is 8 bytes of little-endian length, then JSON; `st_load` above already validated it.
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + n])
    return dict(header.get("__metadata__") or {})


def write_atomic(path: Path, data: bytes) -> None:
    """Writes ``data`` to ``path``; a crash leaves either the old or the new file, never half of one."""
    directory = path.parent if str(path.parent) else Path(".")
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            # The rename would replace a device, FIFO or directory entry (as root: /dev/full itself).
            raise CheckpointError(f"refusing to replace {path}: it exists and is not a regular file")
    except FileNotFoundError:
        pass
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
