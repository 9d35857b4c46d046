"""Fixtures of the training tests: windows with a planted pattern, loaders with seeded shuffling."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset


def planted_windows(
    n: int, length: int = 16, features: int = 3, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian windows whose class is ``x[-1, 0] + x[-3, 1] > 0``: learnable, balanced, noise elsewhere."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, length, features)).astype(np.float32)
    y = (x[:, -1, 0] + x[:, -3, 1] > 0).astype(np.float32)
    return x, y


def loader(
    x: np.ndarray, y: np.ndarray, *, batch_size: int = 64, shuffle: bool = True, seed: int = 0
) -> DataLoader:
    """``(x, y[:, None])`` batches like ``make_loaders``; training loaders shuffle with a generator."""
    labels = torch.from_numpy(np.asarray(y, dtype=np.float32).reshape(len(y), -1))
    dataset = TensorDataset(torch.from_numpy(x), labels)
    generator = torch.Generator().manual_seed(seed) if shuffle else None
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, generator=generator)


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """One intra-op thread for these tests: tiny LSTM batches gain nothing from a second thread, and on a
    busy 2-core machine OpenMP's spinning threads made an epoch ~10x slower (11 s vs 0.2 s, measured)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def planted():
    """The :func:`planted_windows` generator."""
    return planted_windows


@pytest.fixture
def make_loader():
    """The :func:`loader` builder."""
    return loader
