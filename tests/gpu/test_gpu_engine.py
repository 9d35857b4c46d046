"""The native engine on CUDA gives the PyTorch twin's numbers on CUDA and the CPU engine's, from one file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from gpu_models import small_model, windows

import neural_trader as nt
from neural_trader.models.base import served_models

pytestmark = pytest.mark.gpu
TOLERANCE = 1e-4


@pytest.fixture(autouse=True)
def _native_cuda() -> None:
    if not nt.native.cuda_available():
        pytest.skip("this build of the extension has no CUDA support (build it with --features cuda)")


def _as_dict(out: object) -> dict[str, np.ndarray]:
    if isinstance(out, dict):
        return {k: np.asarray(v) for k, v in out.items()}
    if isinstance(out, tuple):
        return {f"out{i}": np.asarray(v) for i, v in enumerate(out)}
    return {"out": np.asarray(out)}


def _torch_outputs(model: nt.TwinModel, x: np.ndarray) -> dict[str, np.ndarray]:
    with torch.inference_mode():
        out = model.cuda().eval()(torch.from_numpy(x).cuda())
    if isinstance(out, dict):
        return {k: v.float().cpu().numpy() for k, v in out.items()}
    return {"out": out.float().cpu().numpy()}


@pytest.mark.parametrize("name", sorted(served_models()))
@pytest.mark.parametrize("batch", [1, 32])
def test_cuda_engine_matches_torch_on_cuda_and_the_cpu_engine(tmp_path: Path, name: str, batch: int) -> None:
    model = small_model(name)
    path = tmp_path / f"{name}.safetensors"
    model.save(path)
    x = windows(batch)
    gpu = _as_dict(nt.native.load(path, device="cuda").predict(x))
    cpu = _as_dict(nt.native.load(path, device="cpu").predict(x))
    ref = _torch_outputs(model, x)
    assert set(gpu) == set(cpu)
    for key in gpu:
        np.testing.assert_allclose(gpu[key], cpu[key], atol=TOLERANCE, rtol=0, err_msg=f"{name} {key}")
    if set(ref) == set(gpu):
        for key in gpu:
            np.testing.assert_allclose(gpu[key], ref[key], atol=TOLERANCE, rtol=0, err_msg=f"{name} {key}")
    else:  # trend_attention: the engine returns the same keys as the twin's forward
        assert set(ref) == set(gpu), (sorted(ref), sorted(gpu))


def test_cuda_attention_and_teacher_forcing_match_the_cpu_engine(tmp_path: Path) -> None:
    model = small_model("lstm_attention")
    path = tmp_path / "f.safetensors"
    model.save(path)
    x, y = windows(8), np.random.default_rng(1).normal(size=(8, 4, 2)).astype(np.float32)
    gpu, cpu = nt.native.load(path, device="cuda"), nt.native.load(path, device="cpu")
    for a, b in zip(
        gpu.predict(x, return_attention=True), cpu.predict(x, return_attention=True), strict=True
    ):
        np.testing.assert_allclose(a, b, atol=TOLERANCE, rtol=0)
    for a, b in zip(
        gpu.teacher_forced(x, y, return_attention=True),
        cpu.teacher_forced(x, y, return_attention=True),
        strict=True,
    ):
        np.testing.assert_allclose(a, b, atol=TOLERANCE, rtol=0)


def test_model_to_native_on_cuda(tmp_path: Path) -> None:
    model = small_model("bilstm_classifier")
    engine = model.to_native(device="cuda")
    x = windows(4)
    np.testing.assert_allclose(engine.predict(x), _torch_outputs(model, x)["out"], atol=TOLERANCE, rtol=0)


def test_a_device_that_does_not_exist_is_a_config_error(tmp_path: Path) -> None:
    model = small_model("bilstm_classifier")
    path = tmp_path / "m.safetensors"
    model.save(path)
    with pytest.raises(nt.ConfigError, match="cuda:999"):
        nt.native.load(path, device="cuda:999")
