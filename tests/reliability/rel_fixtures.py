"""Objects the reliability cases share, built once per process on first use."""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import torch

import neural_trader as nt


@functools.cache
def workdir() -> Path:
    """A temporary folder of this process, removed at exit."""
    path = Path(tempfile.mkdtemp(prefix="nt-reliability-"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


@functools.cache
def clf_model() -> nt.BiLSTMClassifier:
    torch.manual_seed(0)
    return nt.BiLSTMClassifier(nt.BiLSTMClassifierConfig(input_size=4, hidden_size=8, num_layers=2)).eval()


@functools.cache
def att_model() -> nt.LSTMAttention:
    torch.manual_seed(1)
    cfg = nt.LSTMAttentionConfig(
        input_size=4,
        output_size=1,
        horizon=3,
        hidden_size=8,
        num_encoder_layers=1,
        num_decoder_layers=1,
        num_heads=2,
    )
    return nt.LSTMAttention(cfg).eval()


@functools.cache
def clf_engine() -> nt.native.NativeModel:
    return clf_model().to_native()


@functools.cache
def att_engine() -> nt.native.NativeModel:
    return att_model().to_native()


@functools.cache
def trend_engine() -> nt.native.NativeModel:
    """A served model with several named outputs."""
    torch.manual_seed(2)
    cfg = nt.TrendAttentionConfig(input_size=4, hidden_size=8, num_heads=2, horizons=[2, 5], head_hidden=[4])
    return nt.TrendAttention(cfg).eval().to_native()


@functools.cache
def encoder_engine() -> nt.native.NativeModel:
    """A served model with embeddings."""
    torch.manual_seed(3)
    cfg = nt.models.PretrainedEncoderConfig(input_size=4, hidden_size=8, num_layers=2)
    return nt.models.PretrainedEncoder(cfg).eval().to_native()


@functools.cache
def clf_file() -> Path:
    path = workdir() / "clf.safetensors"
    clf_model().save(path)
    return path


def windows(b: int = 3, t: int = 7, f: int = 4, seed: int = 0) -> np.ndarray:
    """Random ``(b, t, f)`` float32 values."""
    return np.random.default_rng(seed).normal(size=(b, t, f)).astype(np.float32)


def ohlcv_windows(n: int = 3, w: int = 8, f: int = 5, seed: int = 0) -> np.ndarray:
    """Valid OHLC(V) candles ``(n, w, f)`` float32."""
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, (n, w)), axis=1))
    open_ = close * (1 + rng.normal(0, 0.002, (n, w)))
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.01, (n, w)))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.01, (n, w)))
    cols = [open_, high, low, close, rng.uniform(1e3, 5e3, (n, w))][:f]
    return np.stack(cols, axis=-1).astype(np.float32)


def bars(n: int = 120, seed: int = 0) -> pd.DataFrame:
    """Valid daily OHLCV bars on a DatetimeIndex."""
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    open_ = np.r_[100.0, close[:-1]] * (1 + rng.normal(0, 0.002, n))
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.01, n))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.01, n))
    volume = rng.integers(1_000, 5_000, n).astype(np.float64)
    index = pd.date_range("2020-01-01", periods=n, freq="D", name="timestamp")
    return pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close, "volume": volume}, index=index
    )


def sparse_memmap(shape: tuple[int, ...], name: str) -> np.memmap:
    """A read-only float32 memmap of ``shape`` over a sparse file: huge, yet costs no disk or memory."""
    path = workdir() / name
    nbytes = int(np.prod(shape, dtype=np.uint64)) * 4
    with open(path, "wb") as f:
        f.truncate(nbytes)
    return np.memmap(path, dtype=np.float32, mode="r", shape=shape)
