"""The GPU suite: run with ``pytest -m gpu`` on a machine with a CUDA GPU (``scripts/gpu_check.sh`` does).

Every test here is marked ``gpu`` (deselected by default) and skipped with a reason when PyTorch sees no
CUDA device, or, for the native engine's tests, when this build of the extension has no CUDA support.
CI never has a GPU, so it never runs them.
"""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _needs_cuda() -> None:
    if not torch.cuda.is_available():
        pytest.skip("PyTorch sees no CUDA device")
