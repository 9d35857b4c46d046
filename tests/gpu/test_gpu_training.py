"""Training on CUDA: every trainable model with bf16 autocast, masked pre-training, the quickstart, a
one-process ``torchrun`` with NCCL, and checkpoints written on the GPU that load on the CPU bit for bit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import neural_trader as nt
from neural_trader.models import MaskedBiLSTMAutoencoderConfig
from neural_trader.training import PretrainConfig, pretrain_encoder
from neural_trader.workflows import (
    DataSpec,
    ModelOptions,
    TrainOptions,
    choose_splits,
    series_from_bars,
    train,
    trainable,
)

pytestmark = pytest.mark.gpu
HERE = Path(__file__).resolve().parent


def random_walk_bars(n: int = 700, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    open_ = np.r_[close[0], close[:-1]]
    high = np.maximum(open_, close) * 1.002
    low = np.minimum(open_, close) * 0.998
    index = pd.date_range("2015-01-01", periods=n, freq="B", name="timestamp")
    return pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close, "volume": rng.uniform(1e3, 2e3, n)},
        index=index,
    )


def _spec(task: str) -> DataSpec:
    if task == "forecast":
        return DataSpec(task="forecast", window=16, horizon=3, targets=["volatility_20"])
    return DataSpec(task=task, window=16, horizon=5)


@pytest.mark.parametrize("name", sorted(trainable()))
def test_every_trainable_model_trains_on_cuda_with_bf16_autocast(tmp_path: Path, name: str) -> None:
    spec = _spec(trainable()[name])
    series = [series_from_bars("rw", random_walk_bars(), spec.horizon)]
    splits, _ = choose_splits(series, horizon=spec.horizon)
    seen: list[torch.dtype] = []
    hook = torch.nn.modules.module.register_module_forward_hook(
        lambda module, args, out: (
            seen.append(out.dtype)
            if isinstance(module, torch.nn.Linear) and isinstance(out, torch.Tensor) and out.is_cuda
            else None
        )
    )
    try:
        result = train(
            name,
            series,
            spec,
            splits,
            tmp_path / name,
            model_options=ModelOptions(hidden_size=16, num_layers=1, num_heads=2),
            options=TrainOptions(epochs=2, batch_size=32, device="cuda", progress=False),
        )
    finally:
        hook.remove()
    assert torch.bfloat16 in seen, f"no bf16 Linear output under autocast: {set(seen)}"
    assert np.isfinite(result.best_val_loss)
    # The best checkpoint was written from the GPU and loads on the CPU.
    assert nt.load(result.checkpoint).num_parameters() > 0


def test_gpu_checkpoints_load_on_the_cpu_bit_identically(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = nt.BiLSTMClassifier(nt.BiLSTMClassifierConfig(input_size=5, hidden_size=16)).cuda()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    x, y = torch.randn(64, 20, 5, device="cuda"), torch.randint(0, 2, (64,), device="cuda")
    for _ in range(3):
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    path = tmp_path / "gpu.safetensors"
    model.save(path)
    on_gpu = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    on_cpu = nt.load(path).state_dict()
    assert set(on_cpu) == set(on_gpu)
    for k in on_gpu:
        assert torch.equal(on_cpu[k], on_gpu[k]), k
    engine = nt.native.load(path, device="cpu")
    assert engine.num_parameters() == model.num_parameters()


def test_masked_pretraining_on_cuda(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    windows = rng.normal(size=(600, 32, 4)).astype(np.float32)
    result = pretrain_encoder(
        windows,
        MaskedBiLSTMAutoencoderConfig(input_size=4, hidden_size=16, num_layers=2),
        PretrainConfig(epochs=2, batch_size=64, device="cuda", progress=False),
        tmp_path / "encoder.safetensors",
    )
    assert np.isfinite(result.best_val_loss)
    assert next(result.model.parameters()).is_cuda
    assert nt.load(tmp_path / "encoder.safetensors").registry_name == "lstm_encoder"


def test_quickstart_on_cuda(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "neural_trader.cli",
            "quickstart",
            "--device",
            "cuda",
            "--epochs",
            "1",
            "--n-bootstrap",
            "50",
            "--no-progress",
            "--out",
            str(tmp_path / "qs"),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "native engine vs PyTorch" in proc.stdout
    assert (tmp_path / "qs" / "report.md").is_file()


def test_torchrun_one_process_with_nccl(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("WORLD_SIZE", "RANK", "LOCAL_RANK")}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc_per_node=1",
            "--max_restarts=0",
            str(HERE / "nccl_job.py"),
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env=env,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "backend nccl on cuda:0" in proc.stdout
    assert (tmp_path / "run" / "best.safetensors").is_file()
