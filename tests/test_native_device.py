"""``device=`` of the native engine where there is no GPU (CI): the CPU by default, CUDA a typed error that
says why and what to install, bad device strings refused by name, ``cuda_available()`` False."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import neural_trader as nt
from neural_trader import _core

pytestmark = pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is here: tests/gpu covers CUDA")

CUDA_REASONS = ("no CUDA support", "no CUDA device")


@pytest.fixture(scope="module")
def model() -> nt.BiLSTMClassifier:
    torch.manual_seed(0)
    return nt.BiLSTMClassifier(nt.BiLSTMClassifierConfig(input_size=3, hidden_size=4)).eval()


def test_cuda_is_not_available_without_a_gpu():
    assert nt.native.cuda_available() is False
    assert _core.cuda_available() is False


def test_the_default_device_is_the_cpu(tmp_path, model):
    model.save(tmp_path / "m.safetensors")
    for engine in (
        nt.native.load(tmp_path / "m.safetensors"),
        model.to_native(),
        model.to_native(device="cpu"),
    ):
        assert engine.device == "cpu"
        assert "device='cpu'" in repr(engine)


@pytest.mark.parametrize("device", ["cuda", "cuda:0", "cuda:3"])
def test_cuda_without_a_gpu_is_a_config_error_that_says_why(tmp_path, model, device):
    model.save(tmp_path / "m.safetensors")
    calls = (
        lambda: nt.native.load(tmp_path / "m.safetensors", device=device),
        lambda: nt.native.from_bytes((tmp_path / "m.safetensors").read_bytes(), device=device),
        lambda: model.to_native(device=device),
    )
    for call in calls:
        with pytest.raises(nt.ConfigError) as err:
            call()
        message = str(err.value)
        assert any(reason in message for reason in CUDA_REASONS), message
        if "no CUDA support" in message:  # the CPU build: what to install
            assert "CUDA wheel" in message and "--features cuda" in message, message


@pytest.mark.parametrize(
    "device", ["gpu", "CUDA", "cuda:", "cuda:-1", "cuda:x", "cuda0", " cpu", "", "cuda:1.0", "mps"]
)
def test_a_bad_device_string_is_a_config_error_naming_it(model, device):
    with pytest.raises(nt.ConfigError, match="device must be") as err:
        model.to_native(device=device)
    assert repr(device).strip("'") in str(err.value)


@pytest.mark.parametrize("device", [None, 0, 1.5, b"cpu", ["cpu"]])
def test_a_device_that_is_not_a_string_is_a_config_error(tmp_path, model, device):
    model.save(tmp_path / "m.safetensors")
    with pytest.raises(nt.ConfigError, match="device must be"):
        nt.native.load(tmp_path / "m.safetensors", device=device)
    with pytest.raises(nt.ConfigError, match="device must be"):
        model.to_native(device=device)


def test_the_candle_path_on_the_cpu_names_itself_and_gives_the_same_numbers(model):
    x = np.random.default_rng(0).normal(size=(3, 7, 3)).astype(np.float32)
    candle = model.to_native(threads=2, device="cpu:candle")
    assert (candle.device, candle.threads) == ("cpu:candle", 2)
    np.testing.assert_allclose(candle.predict(x), model.to_native().predict(x), atol=1e-5, rtol=0)
