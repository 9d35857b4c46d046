"""The Rust engine: load a checkpoint that the PyTorch twin wrote and run it without PyTorch.

:data:`SERVED_MODELS` lists the registry names the engine serves; it is read from the engine's own table,
so it is never out of date.

Example:
    >>> import neural_trader as nt
    >>> "bilstm_classifier" in nt.native.SERVED_MODELS
    True
    >>> engine = nt.native.load("model.safetensors")   # doctest: +SKIP
    >>> logits = engine.predict(windows)                # numpy float32 in and out  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from neural_trader import _core
from neural_trader.arrays import as_float32
from neural_trader.errors import ConfigError

#: Registry names of the models the native engine serves, in the order of its table (from the Rust side).
SERVED_MODELS: tuple[str, ...] = tuple(_core.SERVED_MODELS)


class NativeModel:
    """A model served by the Rust engine. Thread-safe: ``predict`` releases the GIL."""

    def __init__(self, inner: _core.NativeModel) -> None:
        self._inner = inner

    @property
    def model(self) -> str:
        """Registry name of the model, e.g. ``"bilstm_classifier"``."""
        return self._inner.model

    @property
    def config(self) -> dict:
        """The model config, field for field the PyTorch twin's dataclass."""
        return json.loads(self._inner.config_json)

    @property
    def threads(self) -> int:
        """Threads of the engine's own pool."""
        return self._inner.threads

    @property
    def input_size(self) -> int:
        """Features per time step the model expects."""
        return self._inner.input_size

    def num_parameters(self) -> int:
        """Number of scalar parameters, as the PyTorch twin's ``num_parameters()``."""
        return self._inner.num_parameters

    def predict(
        self, x: Any, return_attention: bool = False
    ) -> np.ndarray | dict[str, np.ndarray] | tuple[np.ndarray | dict[str, np.ndarray], np.ndarray]:
        """Runs the model on windows ``(B, T, input_size)``: what the PyTorch twin's forward returns in eval
        mode, as numpy.

        Args:
            x: Array-like of real numbers; converted to C-contiguous float32 (and then read in place, with
                the GIL released).
            return_attention: Also return the attention weights, averaged over heads (models with
                attention only): ``(B, horizon, T)`` for ``lstm_attention``, ``(B, T)`` for
                ``enhanced_simple_lstm`` and ``trend_attention``.

        Returns:
            float32 array for a model with one output: for a classifier, logits ``(B, num_classes)``; for
            ``lstm_attention``, the autoregressive forecast ``(B, horizon, output_size)``; for
            ``lstm_encoder``, the encoder outputs ``(B, T, H * dirs)``. A dict of arrays with the twin's
            keys for a model with several outputs (``trend_attention``: ``trend_{h}`` ``(B,)``,
            ``direction_logits_{h}`` ``(B, 2)`` per horizon and ``attention_weights`` ``(B, T)``). With
            ``return_attention``, a tuple ``(output, attention)``.

        Raises:
            ShapeError: wrong rank or width. DataError: NaN/Inf or a non-numeric dtype.
            ConfigError: ``return_attention=True`` for a model without attention.

        Example:
            >>> engine.predict(np.zeros((2, 30, 4), np.float32)).shape   # doctest: +SKIP
            (2, 2)
        """
        return self._inner.predict(as_float32(x), return_attention)

    def teacher_forced(
        self, x: Any, y: Any, return_attention: bool = False
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Teacher-forced pass of an encoder-decoder model: every step reads the true previous target.

        Args:
            x: Windows ``(B, T, input_size)``.
            y: True targets ``(B, horizon, output_size)``.
            return_attention: Also return the attention weights ``(B, horizon, T)``.

        Returns:
            Predictions ``(B, horizon, output_size)``, or ``(predictions, attention)``.

        Raises:
            ShapeError: wrong shapes. DataError: NaN/Inf. ConfigError: the model is not encoder-decoder.
        """
        return self._inner.teacher_forced(as_float32(x), as_float32(y, "y"), return_attention)

    def embed(self, x: Any) -> np.ndarray:
        """One embedding per window ``(B, T, input_size)``, for feeding other models (``lstm_encoder`` only).

        The encoder's last layer's final hidden states, forward then backward: ``(B, hidden_size * dirs)``,
        as ``PretrainedEncoder.embed`` of the PyTorch twin.

        Raises:
            ShapeError: wrong shapes. DataError: NaN/Inf. ConfigError: the model gives no embeddings.

        Example:
            >>> encoder = nt.native.load("encoder.safetensors")   # doctest: +SKIP
            >>> encoder.embed(windows).shape                     # doctest: +SKIP
            (1024, 256)
        """
        return self._inner.embed(as_float32(x))

    def save(self, path: str | os.PathLike) -> None:
        """Writes config, weights and extra metadata to a checkpoint file (atomically) that either twin loads.

        Example:
            >>> engine.save("copy.safetensors")   # doctest: +SKIP
        """
        self._inner.save(os.fspath(path))

    def __repr__(self) -> str:
        return f"NativeModel({self.model}, {self.config})"


def _checked_threads(threads: Any) -> int | None:
    """``threads`` as the engine takes it: None (one per core) or an int in 1..=1024 (bool is refused)."""
    if threads is None:
        return None
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)):
        raise ConfigError(f"threads must be an integer in 1..=1024 or None, got {threads!r}")
    if not 1 <= int(threads) <= 1024:
        raise ConfigError(f"threads must be in 1..=1024, got {int(threads)}")
    return int(threads)


def load(path: str | os.PathLike, threads: int | None = None) -> NativeModel:
    """Loads a neural_trader checkpoint; the model class comes from the file's metadata.

    Args:
        path: The ``.safetensors`` file.
        threads: Size of the engine's own thread pool; default one per core. PyTorch's pool is not
            touched, so ``torch.set_num_threads`` and this are independent.

    Raises:
        FileNotFoundError: no such file. CheckpointError: not a valid checkpoint for a served model.
        ConfigError: ``threads`` is not None or an integer in 1..=1024.
    """
    threads = _checked_threads(threads)
    return NativeModel(_core.NativeModel.load(os.fspath(path), threads))


def from_bytes(data: bytes, threads: int | None = None) -> NativeModel:
    """Loads a checkpoint from the bytes of a safetensors file (what ``model.to_native()`` uses).

    Raises:
        CheckpointError: not a valid checkpoint for a served model. ConfigError: bad ``threads``.
    """
    return NativeModel(_core.NativeModel.from_bytes(data, _checked_threads(threads)))
