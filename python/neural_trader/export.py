"""ONNX export of a neural_trader checkpoint, verified with ONNX Runtime.

The model is exported with PyTorch's ``torch.export``-based exporter (``torch.onnx.export(...,
dynamo=True)``, which needs ``onnxscript``), with the batch and time dimensions dynamic, into one
self-contained ``.onnx`` file whose ``metadata_props`` carry the checkpoint's metadata (model name,
config, scaler, data spec), so the file says how its inputs must be prepared. The export is then run in
ONNX Runtime on a batch and a window length other than the ones it was traced with and compared with
PyTorch; a difference above ``tolerance`` is an error, not a warning.

Exportable: every registry model whose ``forward`` takes windows alone (``lstm_attention`` gives its
autoregressive forecast, as in eval mode). A model says otherwise in its declaration (``not_exportable``:
``masked_bilstm_autoencoder`` takes a mask and only exists for pre-training), and names its graph's
outputs (:meth:`~neural_trader.models.TwinModel.onnx_outputs`).

Example:
    >>> from neural_trader.export import export_onnx
    >>> result = export_onnx("best.safetensors", "model.onnx")          # doctest: +SKIP
    >>> result.max_abs_diff < 1e-4                                      # doctest: +SKIP
    True
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

import neural_trader as nt
from neural_trader.checkpoint import Checkpoint
from neural_trader.errors import NeuralTraderError
from neural_trader.files import atomic_path

_REQUIRED = ("onnx", "onnxscript", "onnxruntime")


class ExportError(NeuralTraderError):
    """A model that cannot be exported, a missing dependency, or an export that does not verify."""


@dataclass(frozen=True)
class OnnxExport:
    """What :func:`export_onnx` wrote and checked.

    Attributes:
        path: the ONNX file. model: registry name.
        inputs, outputs: tensor names in the ONNX graph.
        max_abs_diff: largest |ONNX Runtime - PyTorch| over every output of the verification batch.
        verify_shape: ``(batch, time, features)`` of the verification batch.
    """

    path: Path
    model: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    max_abs_diff: float
    verify_shape: tuple[int, int, int]


class _Outputs(nn.Module):
    """The model with its outputs as a flat tuple (ONNX graphs have positional outputs)."""

    def __init__(self, model: nn.Module, keys: list[str]) -> None:
        super().__init__()
        self.model, self.keys = model, keys

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = self.model(x)
        if isinstance(out, dict):
            return tuple(out[k] for k in self.keys)
        return (out,)


def _require_onnx() -> None:
    missing = [name for name in _REQUIRED if importlib.util.find_spec(name) is None]
    if missing:
        raise ExportError(
            f"ONNX export needs the packages {', '.join(_REQUIRED)} ({', '.join(missing)} missing): "
            "pip install 'neural_trader[onnx]' (or pip install onnx onnxscript onnxruntime)"
        )


@contextlib.contextmanager
def _quiet_exporter() -> Iterator[None]:
    """Silences the exporter's known, harmless chatter, and nothing else.

    ``torch.export`` warns that LSTM flat weights are "not registered as parameters" and that
    ``_check_is_size`` is deprecated (both internal to torch); the ONNX registry logs that torchvision
    operators are skipped (torchvision is not used), and onnxscript's optimizer logs each Split it does
    not constant-fold.
    """
    loggers = [logging.getLogger(n) for n in ("torch.onnx", "onnxscript", "onnx_ir")]
    levels = [lg.level for lg in loggers]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*_check_is_size will be removed", category=FutureWarning)
        warnings.filterwarnings(
            "ignore", message=r"The tensor attributes .*_flat_weights", category=UserWarning
        )
        for lg in loggers:
            lg.setLevel(logging.ERROR)
        try:
            yield
        finally:
            for lg, level in zip(loggers, levels, strict=True):
                lg.setLevel(level)


def _window_length(ck: Checkpoint) -> int:
    try:
        window = int(json.loads(ck.extra["data"])["window"])
    except (KeyError, ValueError, TypeError, RecursionError):
        return 16
    # The example only has to trace the graph; a hostile or absurd window must not allocate gigabytes.
    return window if 2 <= window <= 4096 else 16


def export_onnx(
    checkpoint: str | os.PathLike,
    output: str | os.PathLike,
    *,
    opset: int | None = None,
    tolerance: float = 1e-4,
    seed: int = 0,
) -> OnnxExport:
    """Exports a checkpoint to ONNX and verifies it with ONNX Runtime (see the module docstring).

    Args:
        checkpoint: a neural_trader ``.safetensors`` file.
        output: the ``.onnx`` file to write.
        opset: ONNX opset version (default: the exporter's).
        tolerance: largest accepted |ONNX Runtime - PyTorch| on the verification batch.
        seed: seed of the random example and verification windows.

    Raises:
        FileNotFoundError: no checkpoint. CheckpointError: not a checkpoint.
        ExportError: a model that cannot be exported, missing packages, a failed export, or a
            verification difference above ``tolerance``.
    """
    _require_onnx()
    ck = Checkpoint.read(checkpoint)
    cls = nt.MODELS.get(ck.model)
    if cls is not None and cls.not_exportable is not None:
        raise ExportError(cls.not_exportable)
    model = nt.load(checkpoint).eval()
    output_names = model.onnx_outputs()
    wrapped = _Outputs(model, output_names).eval()
    features = int(ck.config["input_size"])
    length = _window_length(ck)
    rng = np.random.default_rng(seed)
    example = torch.from_numpy(rng.normal(size=(2, length, features)).astype(np.float32))
    out = Path(output)
    if out.parent != Path(""):
        out.parent.mkdir(parents=True, exist_ok=True)
    verify = rng.normal(size=(3, length + 3, features)).astype(np.float32)
    # Written to a temporary file and verified there: only a faithful export replaces an earlier file.
    with atomic_path(out) as tmp:
        _export(wrapped, example, tmp, output_names, opset, ck.model)
        _add_metadata(tmp, ck)
        diff = _verify(tmp, wrapped, verify)
        if not diff <= tolerance:
            raise ExportError(
                f"ONNX Runtime and PyTorch differ by {diff:.3g} (> tolerance {tolerance:g}) on a "
                f"{verify.shape} batch: the export of {ck.model} is not faithful; {out} was not written"
            )
    return OnnxExport(out, ck.model, ("x",), tuple(output_names), diff, verify.shape)


def _export(
    wrapped: nn.Module,
    example: torch.Tensor,
    path: Path,
    output_names: list[str],
    opset: int | None,
    name: str,
) -> None:
    batch, time = torch.export.Dim("batch", min=1), torch.export.Dim("time", min=2)
    try:
        with _quiet_exporter(), torch.no_grad():
            torch.onnx.export(
                wrapped,
                (example,),
                os.fspath(path),
                input_names=["x"],
                output_names=output_names,
                opset_version=opset,
                dynamic_shapes=({0: batch, 1: time},),
                dynamo=True,
                external_data=False,
                verbose=False,
            )
    except OSError:
        raise  # a write error (full disk): atomic_path names the destination
    except Exception as exc:  # the exporter raises many private types; say which model failed and why
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ExportError(f"torch.onnx.export could not export {name}: {first}") from exc


def _add_metadata(path: Path, ck: Checkpoint) -> None:
    import onnx

    proto = onnx.load(os.fspath(path))
    meta = {"format": "neural_trader", "model": ck.model, "config": json.dumps(ck.config), **ck.extra}
    for key, value in meta.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(proto, os.fspath(path))


def _verify(path: Path, wrapped: nn.Module, x: np.ndarray) -> float:
    import onnxruntime as ort

    session = ort.InferenceSession(os.fspath(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {"x": x})
    with torch.no_grad():
        want = [t.numpy() for t in wrapped(torch.from_numpy(x))]
    if len(got) != len(want):
        raise ExportError(f"the ONNX graph has {len(got)} outputs, PyTorch {len(want)}")
    return max(float(np.max(np.abs(g - w))) if g.size else 0.0 for g, w in zip(got, want, strict=True))
