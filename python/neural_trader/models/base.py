"""What every twin model shares: a dataclass config, a registry name, save/load/to_native, and the
declaration that the rest of the package reads instead of naming models.

A model class declares, once, in its own file:

* ``registry_name`` and ``config_class``; :func:`register` adds it to :data:`MODELS`, the registry that
  :func:`neural_trader.load`, the CLI and the workflows read;
* ``task``: the labels it learns (``direction``, ``trend``, ``forecast``) or ``pretraining``;
* ``output``: what ``forward`` returns, as a key of the common output dict (``logits``, ``forecast``,
  ``encoded``), or :meth:`TwinModel.output_dict` for a dict-returning forward;
* :meth:`TwinModel.from_options` (how ``train`` builds it) and :meth:`TwinModel.make_task` (its task
  adapter for :class:`~neural_trader.training.Trainer`);
* ``not_exportable`` and :meth:`TwinModel.onnx_outputs`, what :mod:`neural_trader.export` needs;
* :meth:`TwinModel.attention_map` for a model with attention (the report's heat map).

Whether the Rust engine serves a model is not declared here: :meth:`TwinModel.served` reads the engine's
own table, ``neural_trader._core.SERVED_MODELS``. Parameter names are the torch ``state_dict()`` keys,
which the Rust twin uses as its ``VarBuilder`` paths.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import numpy as np
import torch
from torch import nn

from neural_trader import _core
from neural_trader.checkpoint import Checkpoint, naming_file
from neural_trader.errors import CheckpointError, ConfigError, DataError, ShapeError
from neural_trader.models import memory
from neural_trader.models.config_json import check_config_json, real_fields

if TYPE_CHECKING:
    from neural_trader.data.spec import DataSpec
    from neural_trader.models.options import ModelOptions, TaskOptions
    from neural_trader.training.tasks import Task

MODELS: dict[str, type[TwinModel]] = {}
M = TypeVar("M", bound="TwinModel")
#: The ``task`` of the models that ``neural-trader pretrain`` trains (not ``train``).
PRETRAINING = "pretraining"


def served_models() -> tuple[str, ...]:
    """Registry names the Rust engine serves: its own table, ``_core.SERVED_MODELS``."""
    return tuple(_core.SERVED_MODELS)


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
    """Base of the PyTorch twins. Subclasses declare themselves (see the module docstring)."""

    registry_name: ClassVar[str]
    config_class: ClassVar[type]
    #: The labels the model learns: a data-spec task ("direction", "trend", "forecast"), or
    #: "pretraining" for the models that `neural-trader pretrain` trains.
    task: ClassVar[str]
    #: What ``forward`` returns, named as in the common output dict: "logits" (made into ``proba``),
    #: "forecast" or "encoded". A model whose forward returns a dict overrides :meth:`output_dict`.
    output: ClassVar[str] = "logits"
    #: Why ONNX export refuses the model; None: exportable, with windows as its only input.
    not_exportable: ClassVar[str | None] = None

    # ------------------------------------------------------------------------------ declaration
    @classmethod
    def served(cls) -> bool:
        """Whether the Rust engine serves this model (``predict --native``, ``to_native``)."""
        return cls.registry_name in _core.SERVED_MODELS

    @classmethod
    def from_options(cls: type[M], spec: DataSpec, options: ModelOptions) -> M:
        """A fresh model for windows of ``spec`` with the sizes of ``options`` (what ``train`` builds).

        Raises:
            ConfigError: a model that ``train`` does not build (pre-training models), or bad sizes.
        """
        raise ConfigError(f"{cls.registry_name!r} is not trained by `neural-trader train`")

    @classmethod
    def make_task(
        cls,
        spec: DataSpec,
        y_train: np.ndarray,
        *,
        class_weights: bool = True,
        options: TaskOptions | None = None,
    ) -> Task:
        """The task adapter that trains this model on labels of ``spec`` (``y_train``: training labels,
        for class weights; ``options``: the task settings, of which the model reads the fields it has).

        Raises:
            ConfigError: a model that ``train`` does not build.
        """
        raise ConfigError(f"{cls.registry_name!r} is not trained by `neural-trader train`")

    def output_dict(self, out: Any, horizon: int | None = None) -> dict[str, torch.Tensor]:
        """``forward``'s output as the common output dict (``logits``, ``trend``, ``forecast``, ...).

        Args:
            out: what ``forward`` returned.
            horizon: the label horizon to read, for models with one head per horizon (default: first).
        """
        return {self.output: out}

    @classmethod
    def native_output_dict(cls, out: np.ndarray, horizon: int | None = None) -> dict[str, np.ndarray]:
        """The native engine's ``predict`` output as the common output dict (the same keys as
        :meth:`output_dict` gives for the torch twin)."""
        return {cls.output: out}

    def attention_map(self, x: torch.Tensor) -> torch.Tensor | None:
        """Attention weights ``(B, Q, T)`` on windows ``x`` in eval mode: one row per query over the window's
        ``T`` steps, averaged over heads (the report's heat map). None: the model has no attention."""
        return None

    def onnx_outputs(self) -> list[str]:
        """Names of the ONNX graph's outputs, in order; a dict-returning forward gives its keys."""
        return [self.output]

    def __init__(self, config: Any) -> None:
        super().__init__()
        if not isinstance(config, self.config_class):
            raise ConfigError(
                f"{type(self).__name__} needs a {self.config_class.__name__}, got {type(config).__name__}"
            )
        self.config = config
        # Before the subclass allocates a single parameter: a size that cannot fit is refused by name
        # (the sizing build runs on the meta device, where this check is skipped).
        memory.check_parameters(self.registry_name, type(self), config)

    def check_input(self, x: Any) -> torch.Tensor:
        """Windows ``x`` as ``forward`` takes them, checked as the native engine checks its input
        (:func:`check_windows`); every twin's ``forward`` calls it first, once per batch."""
        dtype = next((p.dtype for p in self.parameters()), torch.float32)
        return check_windows(x, self.config.input_size, dtype)

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
        # As the engine parses it: a malformed config is a bad file (CheckpointError), a well-formed one
        # out of range a bad configuration (ConfigError, from the dataclass's own checks).
        check_config_json(cls.registry_name, cls.config_class, ck.config)
        reals = real_fields(cls.config_class)
        check_config_sizes({k: v for k, v in ck.config.items() if k not in reals}, _elements(ck.tensors))
        config = config_from_dict(cls.config_class, ck.config)
        # Build once on the meta device (no memory), so a config that does not match the file is refused
        # before a single real parameter is allocated: a few-KB file claiming hidden_size=2**30 must not
        # make this process allocate gigabytes.
        try:
            with _parameter_budget(len(ck.tensors) + _SLACK_TENSORS), torch.device("meta"):
                skeleton = cls(config)
        except (NotImplementedError, RuntimeError):
            # An __init__ that computes values cannot run on meta; the config's sizes are bounded anyway.
            skeleton = None
        if skeleton is not None:
            check_tensor_shapes(skeleton.state_dict(), ck.tensors)
        model = cls(config)
        load_exact(model, ck.tensors)
        return model.eval()

    @classmethod
    def load(cls: type[M], path: str | os.PathLike) -> M:
        """Loads a model saved by :meth:`save` (or by the Rust twin), in eval mode."""
        ck = Checkpoint.read(path)
        with naming_file(path):
            return cls.from_checkpoint(ck)

    def to_native(self, threads: int | None = None, device: str = "cpu") -> Any:
        """The same weights in the Rust engine, without a file (see :mod:`neural_trader.native`), on
        ``device`` (``"cpu"``, ``"cuda"``, ``"cuda:N"``; as :func:`neural_trader.native.load`).

        Example:
            >>> engine = model.to_native(device="cuda")   # doctest: +SKIP
        """
        from neural_trader import native

        return native.from_bytes(self.to_checkpoint().to_bytes(), threads, device)


def check_windows(x: Any, input_size: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The one input check of the twins' ``forward``, worded as the Rust engine words its own: windows
    ``(batch, time >= 1, input_size)`` of finite real numbers, at least one window (the engine answers
    an empty batch with an empty result).

    Real tensors of another dtype are converted to ``dtype`` (the engine, too, reads any real array).
    Finiteness costs one reduction per batch, outside every recurrent loop.

    Raises:
        ShapeError: not a 3-d tensor, no time steps, another number of features, or no window.
        DataError: a NaN or infinite value, naming its index; a complex or non-numeric tensor.

    Example:
        >>> check_windows(torch.zeros(2, 5, 3), 4)
        Traceback (most recent call last):
        ...
        neural_trader.errors.ShapeError: input x: expected shape (batch, time >= 1, 4), got (2, 5, 3)
    """
    if not isinstance(x, torch.Tensor):
        expected = f"(batch, time >= 1, {input_size})"
        raise ShapeError(f"input x: expected a tensor of shape {expected}, got {type(x).__name__}")
    if _tracing():  # an ONNX export or torch.compile records the graph: no data-dependent branch in it
        return x
    if x.dim() != 3 or x.shape[1] < 1 or x.shape[2] != input_size:
        raise ShapeError(f"input x: expected shape (batch, time >= 1, {input_size}), got {tuple(x.shape)}")
    if x.shape[0] < 1:
        raise ShapeError(f"input x: expected at least one window, got shape {tuple(x.shape)}")
    if x.is_complex():
        raise DataError(f"input x: expected real numbers, got dtype {x.dtype}")
    if x.dtype != dtype:
        x = x.to(dtype)
    if x.numel() and not bool(torch.isfinite(x).all()):
        bad = (~torch.isfinite(x)).nonzero()[0]
        index = tuple(int(i) for i in bad)
        value = float(x[index])
        raise DataError(f"input x contains {'NaN' if value != value else 'inf'} at index {index}")
    return x


def _tracing() -> bool:
    return bool(torch.jit.is_tracing() or torch.onnx.is_in_onnx_export() or torch.compiler.is_compiling())


def load_exact(model: nn.Module, tensors: dict[str, torch.Tensor]) -> None:
    """Loads ``tensors`` into ``model``; every missing, extra or misshapen tensor is named in one error."""
    check_tensor_shapes(model.state_dict(), tensors)
    model.load_state_dict(tensors, strict=True)


def check_tensor_shapes(expected: dict[str, torch.Tensor], tensors: dict[str, torch.Tensor]) -> None:
    """Compares a model's ``state_dict()`` (real or on the meta device) with a file's tensors.

    Raises:
        CheckpointError: naming every missing, misshapen and unexpected tensor.
    """
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


# A config read from a file may not ask for a size (an integer field, or the length of a list field)
# beyond this or beyond the number of scalars the file holds, whichever is larger: no dimension of a
# model can exceed its parameter count, and the check costs nothing while building the model to find
# out could cost gigabytes (``list(range(output_size))``) or minutes (a million layers).
_MIN_SIZE_BOUND = 2**20
# Parameter tensors the meta build may register beyond the file's count before it stops: enough to
# name a few missing tensors in the error, far too few for a hostile layer count to cost anything.
_SLACK_TENSORS = 64


def _elements(tensors: dict[str, torch.Tensor]) -> int:
    return sum(t.numel() for t in tensors.values())


def check_config_sizes(config: Any, held: int, path: str = "config") -> None:
    """Refuses integers and lists in a config read from a file that exceed what the file could use.

    Raises:
        CheckpointError: naming the field, its value and the bound.
    """
    bound = max(_MIN_SIZE_BOUND, held)
    if isinstance(config, dict):
        for key, value in config.items():
            check_config_sizes(value, held, f"{path}.{key}" if path != "config" else str(key))
    elif isinstance(config, list):
        if len(config) > bound:
            raise CheckpointError(
                f"config field {path} has {len(config)} entries, more than the file can use"
            )
        for value in config:
            check_config_sizes(value, held, path)
    elif isinstance(config, int) and not isinstance(config, bool) and abs(config) > bound:
        raise CheckpointError(
            f"config field {path} = {config} is larger than any size a file of {held} scalars can use "
            f"(bound {bound})"
        )


@contextlib.contextmanager
def _parameter_budget(limit: int) -> Iterator[None]:
    """Stops a model build (in this thread) with ``CheckpointError`` once it registers more than ``limit``
    parameters and buffers: a config that asks for a million layers fails after ``limit`` of them."""
    thread = threading.get_ident()
    count = 0

    def hook(module: nn.Module, name: str, value: Any) -> None:
        nonlocal count
        if threading.get_ident() != thread:
            return
        count += 1
        if count > limit:
            held = limit - _SLACK_TENSORS
            raise CheckpointError(
                f"the config asks for more than {limit} parameter tensors; the file holds {held}"
            )

    handles = [
        torch.nn.modules.module.register_module_parameter_registration_hook(hook),
        torch.nn.modules.module.register_module_buffer_registration_hook(hook),
    ]
    try:
        yield
    finally:
        for h in handles:
            h.remove()
