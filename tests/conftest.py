"""Shared pytest setup: deterministic torch, few threads (CI machines have 2 cores)."""

from pathlib import Path

import pytest
import torch

# One thread: the test models are small, and CI machines have 2 cores.
torch.set_num_threads(1)

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


@pytest.fixture
def shared_data() -> Path:
    """The real OHLCV files beside the repository (../shared/data)."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    return SHARED_DATA
