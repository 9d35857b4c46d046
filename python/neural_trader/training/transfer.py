"""Moving a pre-trained encoder into another model, strictly, with a report of what moved.

Rules of :func:`load_pretrained_strict`:

1. Only tensors under ``prefix`` (default ``encoder.``) take part, on both sides: the encoder is what
   pre-training learned; heads of the source model are task-specific and ignored.
2. A target tensor is *matched* when the source has the same name and the same shape.
3. LSTM tensors move per layer and direction, whole or not at all: the four tensors of layer ``k``
   (``weight_ih_lk``, ``weight_hh_lk``, ``bias_ih_lk``, ``bias_hh_lk``, and separately their ``_reverse``
   twins) only mean something together. If one of them is missing or misshapen, the others of that
   group are *skipped* (reported, not loaded), never mixed with random weights.
4. Bidirectional to unidirectional: names without ``_reverse`` are the forward direction in both, so a
   unidirectional model receives the forward weights of layer 0. Layer ``k >= 1`` of a bidirectional
   encoder reads ``2H`` features (both directions of the layer below); a unidirectional layer reads
   ``H``. Those are reported as shape mismatches with that reason, because cutting the matrix in half
   would load a different function, not a pre-trained one. The ``_reverse`` tensors end up *unused*.
5. Nothing is loaded unless the whole transfer is acceptable: a shape mismatch (unless
   ``allow_shape_mismatch``) or a match ratio below ``min_match_ratio`` raises ``CheckpointError`` with
   the full report, and the model is left untouched.
6. With ``freeze_encoder``, exactly the loaded tensors stop requiring gradients (random ones left in the
   encoder keep training). ``TrainerConfig.unfreeze_after_epochs`` later releases them.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

import torch
from torch import nn

from neural_trader.checkpoint import Checkpoint
from neural_trader.errors import CheckpointError, ConfigError

_LSTM_TENSOR = re.compile(r"^(?P<module>.*)\.(weight|bias)_(ih|hh)_l(?P<layer>\d+)(?P<reverse>_reverse)?$")


@dataclass(frozen=True)
class ShapeMismatch:
    """A tensor present on both sides with different shapes, and why they differ."""

    name: str
    source_shape: tuple[int, ...]
    target_shape: tuple[int, ...]
    reason: str

    def __str__(self) -> str:
        return f"`{self.name}`: source {self.source_shape} vs target {self.target_shape} ({self.reason})"


@dataclass(frozen=True)
class TransferReport:
    """What :func:`load_pretrained_strict` found and did.

    Attributes:
        source: file path. source_model: the checkpoint's registry name.
        matched: target tensors loaded from the source.
        missing: target tensors (under the prefix) the source does not have.
        shape_mismatches: tensors on both sides with other shapes.
        skipped: matching tensors not loaded because their LSTM layer could not move whole.
        unused: source tensors (under the prefix) the target has no place for.
        frozen: parameters frozen after loading.
        loaded: whether anything was copied (False when the transfer was refused).
    """

    source: str
    source_model: str
    matched: tuple[str, ...]
    missing: tuple[str, ...]
    shape_mismatches: tuple[ShapeMismatch, ...]
    skipped: tuple[str, ...]
    unused: tuple[str, ...]
    frozen: tuple[str, ...]
    loaded: bool

    @property
    def total(self) -> int:
        """Target tensors under the prefix."""
        return len(self.matched) + len(self.missing) + len(self.shape_mismatches) + len(self.skipped)

    @property
    def ratio(self) -> float:
        """``matched / total``: the share of the target encoder that is pre-trained."""
        return len(self.matched) / self.total if self.total else 0.0

    @property
    def frozen_count(self) -> int:
        """Number of frozen parameter tensors."""
        return len(self.frozen)

    def summary(self) -> str:
        """A multi-line human-readable account (the text of a refused transfer's error)."""
        lines = [
            f"transfer from {self.source} ({self.source_model}): {len(self.matched)}/{self.total} encoder "
            f"tensors matched (ratio {self.ratio:.2f}), {self.frozen_count} frozen"
        ]
        lines += [f"  shape mismatch {m}" for m in self.shape_mismatches]
        lines += [f"  missing in source `{n}`" for n in self.missing]
        lines += [f"  skipped `{n}` (its LSTM layer could not be transferred whole)" for n in self.skipped]
        lines += [f"  unused source tensor `{n}`" for n in self.unused]
        return "\n".join(lines)


def _group(name: str) -> tuple[str, str, bool] | None:
    m = _LSTM_TENSOR.match(name)
    return (m["module"], m["layer"], bool(m["reverse"])) if m else None


def _mismatch_reason(name: str, source: tuple[int, ...], target: tuple[int, ...]) -> str:
    m = _LSTM_TENSOR.match(name)
    if (
        m
        and name.endswith(f"weight_ih_l{m['layer']}{m['reverse'] or ''}")
        and len(source) == len(target) == 2
    ):
        layer = int(m["layer"])
        if source[0] == target[0] and layer >= 1 and source[1] == 2 * target[1]:
            return (
                f"layer {layer} of the source sits on a bidirectional layer and reads 2H = {source[1]} "
                f"features; this unidirectional layer reads H = {target[1]}; not transferable"
            )
        if source[0] == target[0] and layer == 0:
            return f"input_size differs: {source[1]} vs {target[1]} features"
    if m and source and target and source[0] != target[0]:
        return f"hidden_size differs: 4H = {source[0]} vs {target[0]}"
    return "shapes differ"


def load_pretrained_strict(
    model: nn.Module,
    path: str | os.PathLike,
    freeze_encoder: bool = True,
    min_match_ratio: float = 0.8,
    allow_shape_mismatch: bool = False,
    *,
    prefix: str = "encoder.",
) -> TransferReport:
    """Loads the pre-trained encoder tensors of a neural_trader checkpoint into ``model`` (rules above).

    Args:
        model: target model whose encoder lives under ``prefix`` (``encoder.lstm.*`` in this package).
        path: a neural_trader checkpoint: an ``lstm_encoder`` file from pre-training, or any model's.
        freeze_encoder: stop gradients of the loaded tensors.
        min_match_ratio: refuse when fewer than this share of the target's encoder tensors match.
        allow_shape_mismatch: accept mismatched tensors (they keep their initial values; the report lists
            them) instead of refusing.
        prefix: name prefix of the transferable part.

    Returns:
        A :class:`TransferReport`.

    Raises:
        CheckpointError: unreadable file, no tensor under ``prefix``, a shape mismatch (unless allowed), or
            a ratio below ``min_match_ratio``; the message is the report. ConfigError: the model has no
            parameter under ``prefix``, or a ratio outside ``[0, 1]``.

    Example:
        >>> from neural_trader.models.simple_lstm import SimpleLSTM, SimpleLSTMConfig
        >>> model = SimpleLSTM(SimpleLSTMConfig(input_size=28, hidden_size=64, num_layers=1))
        >>> report = load_pretrained_strict(model, "encoder.safetensors")        # doctest: +SKIP
        >>> report.ratio, report.frozen_count                                    # doctest: +SKIP
        (1.0, 4)
    """
    if not 0.0 <= min_match_ratio <= 1.0:
        raise ConfigError(f"min_match_ratio must be in [0, 1], got {min_match_ratio!r}")
    ck = Checkpoint.read(path)
    source = {k: v for k, v in ck.tensors.items() if k.startswith(prefix)}
    if not source:
        raise CheckpointError(f"{path}: no tensor under {prefix!r} (model {ck.model!r}); nothing to transfer")
    target = {k: v for k, v in model.state_dict().items() if k.startswith(prefix)}
    if not target:
        raise ConfigError(f"{type(model).__name__} has no parameter under {prefix!r}")

    missing = [k for k in target if k not in source]
    mismatches = [
        ShapeMismatch(
            k,
            tuple(source[k].shape),
            tuple(v.shape),
            _mismatch_reason(k, tuple(source[k].shape), tuple(v.shape)),
        )
        for k, v in target.items()
        if k in source and source[k].shape != v.shape
    ]
    broken = {_group(k) for k in missing} | {_group(m.name) for m in mismatches}
    broken.discard(None)
    candidates = [k for k in target if k in source and source[k].shape == target[k].shape]
    skipped = [k for k in candidates if _group(k) in broken]
    matched = [k for k in candidates if _group(k) not in broken]
    unused = sorted(k for k in source if k not in target)

    def report(frozen: list[str], loaded: bool) -> TransferReport:
        return TransferReport(
            str(path),
            ck.model,
            tuple(matched),
            tuple(missing),
            tuple(mismatches),
            tuple(skipped),
            tuple(unused),
            tuple(frozen),
            loaded,
        )

    refused = report([], loaded=False)
    if mismatches and not allow_shape_mismatch:
        raise CheckpointError(
            f"shape mismatch (pass allow_shape_mismatch=True to skip them)\n{refused.summary()}"
        )
    if refused.ratio < min_match_ratio:
        raise CheckpointError(
            f"only {refused.ratio:.2f} of the encoder matches, below min_match_ratio {min_match_ratio}\n"
            f"{refused.summary()}"
        )
    with torch.no_grad():
        for k in matched:
            target[k].copy_(source[k].to(target[k].dtype))
    frozen: list[str] = []
    if freeze_encoder:
        params = dict(model.named_parameters())
        for k in matched:
            if k in params:
                params[k].requires_grad_(False)
                frozen.append(k)
    return report(frozen, loaded=True)
