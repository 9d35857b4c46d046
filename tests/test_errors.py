"""Bad input reaches the user as a typed error that names the bad value, never a crash."""

import numpy as np
import pytest
import torch

import neural_trader as nt
from neural_trader import _core


@pytest.fixture(scope="module")
def engine():
    return nt.BiLSTMClassifier(nt.BiLSTMClassifierConfig(input_size=4, hidden_size=8)).to_native()


def test_error_hierarchy():
    for cls in (nt.ShapeError, nt.ConfigError, nt.DataError):
        assert issubclass(cls, nt.NeuralTraderError) and issubclass(cls, ValueError)
    assert issubclass(nt.CheckpointError, nt.NeuralTraderError)


@pytest.mark.parametrize(
    ("shape", "needle"),
    [((2, 5, 3), "(2, 5, 3)"), ((5, 4), "(5, 4)"), ((1, 2, 5, 4), "(1, 2, 5, 4)"), ((2, 0, 4), "(2, 0, 4)")],
)
def test_wrong_width_rank_and_empty_time_are_shape_errors(engine, shape, needle):
    with pytest.raises(nt.ShapeError, match=r"expected shape \(batch, time >= 1, 4\)") as e:
        engine.predict(np.zeros(shape, np.float32))
    assert needle in str(e.value)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_values_are_data_errors_naming_the_index(engine, bad):
    x = np.zeros((2, 3, 4), np.float32)
    x[1, 2, 0] = bad
    with pytest.raises(nt.DataError, match=r"index \(1, 2, 0\)"):
        engine.predict(x)


def test_float64_overflowing_float32_is_a_data_error(engine):
    with pytest.raises(nt.DataError, match="inf"):
        engine.predict(np.full((1, 2, 4), 1e300))


@pytest.mark.parametrize(
    "x",
    [np.zeros((1, 2, 4), dtype=object), np.zeros((1, 2, 4), dtype=bool), np.zeros((1, 2, 4), dtype=complex)],
)
def test_non_real_dtypes_are_data_errors(engine, x):
    with pytest.raises(nt.DataError, match="dtype"):
        engine.predict(x)


def test_raw_core_refuses_non_contiguous_arrays_with_shape_error():
    inner = nt.BiLSTMClassifier(nt.BiLSTMClassifierConfig(input_size=4, hidden_size=8)).to_native()._inner
    x = np.zeros((2, 6, 4), np.float32)[:, ::2]
    with pytest.raises(nt.ShapeError, match="non-contiguous"):
        inner.predict(x)


@pytest.mark.parametrize(
    "kw",
    [
        {"input_size": 0},
        {"input_size": 4, "hidden_size": 0},
        {"input_size": 4, "num_layers": -1},
        {"input_size": 4, "dropout": 1.0},
        {"input_size": 4, "num_classes": 1},
        {"input_size": 2.5},
    ],
)
def test_invalid_configs_are_config_errors(kw):
    with pytest.raises(nt.ConfigError):
        nt.BiLSTMClassifierConfig(**kw)


def test_missing_and_misshapen_tensors_name_the_tensor_and_shapes(tmp_path):
    model = nt.BiLSTMClassifier(nt.BiLSTMClassifierConfig(input_size=4, hidden_size=8))
    ck = model.to_checkpoint()
    del ck.tensors["head.bias"]
    ck.tensors["encoder.lstm.weight_ih_l0"] = torch.zeros(32, 5)
    path = tmp_path / "bad.safetensors"
    ck.write(path)
    for load in (nt.native.load, nt.load):
        with pytest.raises(nt.CheckpointError) as e:
            load(path)
        msg = str(e.value)
        assert "missing tensor `head.bias` (expected shape (2,))" in msg
        assert "tensor `encoder.lstm.weight_ih_l0` has shape (32, 5), expected (32, 4)" in msg


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        nt.native.load(tmp_path / "nope.safetensors")
    with pytest.raises(FileNotFoundError):
        nt.load(tmp_path / "nope.safetensors")


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x00" * 7,
        b"\xff" * 64,
        (2**62).to_bytes(8, "little") + b"{}",
        b"\x02\x00\x00\x00\x00\x00\x00\x00{}",
    ],
)
def test_hostile_bytes_are_checkpoint_errors(data):
    with pytest.raises(nt.CheckpointError):
        nt.native.from_bytes(data)
    with pytest.raises(nt.CheckpointError):
        nt.Checkpoint.from_bytes(data)


def test_plain_safetensors_file_is_refused(tmp_path):
    from safetensors.torch import save_file

    path = tmp_path / "plain.safetensors"
    save_file({"w": torch.zeros(2)}, path)
    for load in (nt.native.load, nt.load):
        with pytest.raises(nt.CheckpointError, match="not a neural_trader checkpoint|format"):
            load(path)


def test_wrong_dtype_tensor_is_refused(tmp_path):
    model = nt.BiLSTMClassifier(nt.BiLSTMClassifierConfig(input_size=4, hidden_size=8))
    data = model.to_checkpoint().to_bytes()
    # Re-save one tensor as float64 with the same metadata.
    from safetensors.torch import save

    ck = nt.Checkpoint.from_bytes(data)
    tensors = dict(ck.tensors)
    tensors["head.bias"] = tensors["head.bias"].double()
    meta = {
        "format": "neural_trader",
        "format_version": "1",
        "model": ck.model,
        "config": '{"input_size": 4, "hidden_size": 8}',
    }
    bad = save(tensors, metadata=meta)
    with pytest.raises(nt.CheckpointError, match="head.bias"):
        nt.native.from_bytes(bad)
    with pytest.raises(nt.CheckpointError, match="head.bias"):
        nt.Checkpoint.from_bytes(bad)


def test_lstm_forward_validates_weights():
    lstm = torch.nn.LSTM(3, 4, 1, batch_first=True)
    weights = {k: v.detach().numpy() for k, v in lstm.state_dict().items()}
    del weights["bias_hh_l0"]
    with pytest.raises(nt.CheckpointError, match="bias_hh_l0"):
        _core.lstm_forward(weights, np.zeros((1, 2, 3), np.float32), 1, False)


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"hidden_size": 2**19}, nt.CheckpointError),  # valid sizes, but far more than the file holds
        ({"num_layers": 60}, nt.CheckpointError),
        ({"hidden_size": 2**40}, nt.CheckpointError),  # beyond the size limits
        ({"num_classes": 2**62}, nt.CheckpointError),
    ],
)
def test_hostile_config_in_a_small_file_is_refused_without_allocating(overrides, error):
    ck = nt.BiLSTMClassifier(nt.BiLSTMClassifierConfig(input_size=4, hidden_size=8)).to_checkpoint()
    ck.config.update(overrides)
    with pytest.raises((error, nt.ConfigError)):
        nt.native.from_bytes(ck.to_bytes())
