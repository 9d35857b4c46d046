"""What every twin model shares: a dataclass config, a registry name, and save/load/to_native.

A model class declares ``registry_name`` and ``config_class``; :func:`register` adds it to the registry that
:func:`neural_trader.load` and the CLI read. Parameter names are the torch ``state_dict()`` keys, which the
Rust twin uses as its ``VarBuilder`` paths.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, ClassVar, TypeVar

import torch
from torch import nn

from neural_trader.checkpoint import Checkpoint
from neural_trader.errors import CheckpointError, ConfigError

MODELS: dict[str, type[TwinModel]] = {}
M = TypeVar("M", bound="TwinModel")


def register(cls: type[M]) -> type[M]:
    """Class decorator adding a model to the registry under its ``registry_name``."""
    MODELS[cls.registry_name] = cls
    return cls


def config_from_dict(config_class: type, values: dict[str, Any]) -> Any:
    """Builds a config dataclass from a dict, rejecting unknown fields by name.

    Raises:
        ConfigError: an unknown or missing field, or a value the config's own checks refuse.
    """
    names = {f.name for f in dataclasses.fields(config_class)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise ConfigError(f"{config_class.__name__} has no field(s) {unknown}")
    try:
        return config_class(**values)
    except TypeError as e:
        raise ConfigError(f"{config_class.__name__}: {e}") from None


class TwinModel(nn.Module):
    """Base of the PyTorch twins. Subclasses set ``registry_name`` and ``config_class``."""

    registry_name: ClassVar[str]
    config_class: ClassVar[type]

    def __init__(self, config: Any) -> None:
        super().__init__()
        if not isinstance(config, self.config_class):
            raise ConfigError(
                f"{type(self).__name__} needs a {self.config_class.__name__}, got {type(config).__name__}"
            )
        self.config = config

    def num_parameters(self) -> int:
        """Number of scalar parameters (the Rust twin counts the same)."""
        return sum(p.numel() for p in self.parameters())

    def to_checkpoint(self, extra: dict[str, str] | None = None) -> Checkpoint:
        """The checkpoint this model saves: config, every tensor of ``state_dict()``, extra metadata."""
        return Checkpoint(
            model=self.registry_name,
            config=dataclasses.asdict(self.config),
            tensors=dict(self.state_dict()),
            extra=dict(extra or {}),
        )

    def save(self, path: str | os.PathLike, extra: dict[str, str] | None = None) -> None:
        """Saves config and weights to one safetensors file, atomically.

        Example:
            >>> model.save("model.safetensors")  # doctest: +SKIP
        """
        self.to_checkpoint(extra).write(path)

    @classmethod
    def from_checkpoint(cls: type[M], ck: Checkpoint) -> M:
        """Builds the model from parsed checkpoint contents, checking every tensor name and shape."""
        if ck.model != cls.registry_name:
            raise CheckpointError(
                f"checkpoint holds model {ck.model!r}, not {cls.registry_name!r}; "
                "use neural_trader.load() to pick the class from the file"
            )
        model = cls(config_from_dict(cls.config_class, ck.config))
        load_exact(model, ck.tensors)
        return model.eval()

    @classmethod
    def load(cls: type[M], path: str | os.PathLike) -> M:
        """Loads a model saved by :meth:`save` (or by the Rust twin), in eval mode."""
        return cls.from_checkpoint(Checkpoint.read(path))

    def to_native(self, threads: int | None = None) -> Any:
        """The same weights in the Rust engine, without a file (see :mod:`neural_trader.native`)."""
        from neural_trader import native

        return native.from_bytes(self.to_checkpoint().to_bytes(), threads)


def load_exact(model: nn.Module, tensors: dict[str, torch.Tensor]) -> None:
    """Loads ``tensors`` into ``model``; every missing, extra or misshapen tensor is named in one error."""
    expected = model.state_dict()
    problems = [
        f"missing tensor `{k}` (expected shape {tuple(v.shape)})"
        for k, v in expected.items()
        if k not in tensors
    ]
    problems += [
        f"tensor `{k}` has shape {tuple(tensors[k].shape)}, expected {tuple(v.shape)}"
        for k, v in expected.items()
        if k in tensors and tensors[k].shape != v.shape
    ]
    problems += [f"unexpected tensor `{k}`" for k in sorted(set(tensors) - set(expected))]
    if problems:
        raise CheckpointError("; ".join(problems))
    model.load_state_dict(tensors, strict=True)
