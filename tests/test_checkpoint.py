"""The checkpoint file: metadata, round trips, atomic saves."""

import json
import os

import pytest
import torch
from safetensors import safe_open

import neural_trader as nt


def small_model(**kw):
    return nt.BiLSTMClassifier(nt.BiLSTMClassifierConfig(input_size=3, hidden_size=5, **kw))


def test_file_holds_format_metadata_and_float32_tensors(tmp_path):
    model = small_model(num_layers=1)
    path = tmp_path / "m.safetensors"
    model.save(path)
    with safe_open(path, "pt") as f:
        meta = f.metadata()
        keys = set(f.keys())
        dtypes = {f.get_tensor(k).dtype for k in keys}
    assert meta["format"] == "neural_trader" and meta["format_version"] == "1"
    assert meta["model"] == "bilstm_classifier"
    assert json.loads(meta["config"])["hidden_size"] == 5
    assert keys == set(model.state_dict())
    assert "encoder.lstm.weight_ih_l0_reverse" in keys
    assert dtypes == {torch.float32}


def test_failed_save_leaves_previous_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "m.safetensors"
    small_model().save(path)
    before = path.read_bytes()

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        small_model(num_classes=3).save(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.safetensors"]
    nt.native.load(path)  # still loads


def test_loading_into_the_wrong_class_is_refused(tmp_path):
    path = tmp_path / "m.safetensors"
    small_model().save(path)
    ck = nt.Checkpoint.read(path)
    ck.model = "something_else"
    ck.write(path)
    with pytest.raises(nt.CheckpointError, match="something_else"):
        nt.BiLSTMClassifier.load(path)
    with pytest.raises(nt.CheckpointError, match="unknown model 'something_else'"):
        nt.load(path)
    with pytest.raises(nt.CheckpointError, match="not served"):
        nt.native.load(path)


def test_unknown_config_field_is_refused_by_both_twins(tmp_path):
    path = tmp_path / "m.safetensors"
    ck = small_model().to_checkpoint()
    ck.config["attention_heads"] = 4
    ck.write(path)
    with pytest.raises(nt.ConfigError, match="attention_heads"):
        nt.load(path)
    with pytest.raises(nt.CheckpointError, match="attention_heads"):
        nt.native.load(path)


def test_invalid_config_json_is_a_checkpoint_error(tmp_path):
    from safetensors.torch import save

    meta = {"format": "neural_trader", "format_version": "1", "model": "bilstm_classifier", "config": "{oops"}
    data = save({"w": torch.zeros(1)}, metadata=meta)
    with pytest.raises(nt.CheckpointError, match="JSON"):
        nt.Checkpoint.from_bytes(data)
    with pytest.raises(nt.CheckpointError, match="config"):
        nt.native.from_bytes(data)


@pytest.mark.parametrize("config", ["[3, 5, 2, 0.2, true, 2]", "null", "7", '"bilstm"'])
def test_a_config_that_is_not_a_json_object_is_refused_by_both_twins(tmp_path, config):
    from safetensors.torch import save

    model = small_model(num_layers=2)
    meta = {"format": "neural_trader", "format_version": "1", "model": "bilstm_classifier", "config": config}
    path = tmp_path / "m.safetensors"
    path.write_bytes(save(dict(model.state_dict()), metadata=meta))
    with pytest.raises(nt.CheckpointError, match="must be a JSON object"):
        nt.load(path)
    with pytest.raises(nt.CheckpointError, match="must be a JSON object") as err:
        nt.native.load(path)
    assert config in str(err.value)


def test_the_engine_writes_the_bytes_the_torch_twin_writes(tmp_path):
    """Identical content, identical files: metadata keys sorted, the config as Python's JSON, whichever
    twin (or process) writes it."""
    from neural_trader.models import PretrainedEncoder, PretrainedEncoderConfig

    models = [
        small_model(dropout=1e-5),
        nt.SimpleLSTM(nt.SimpleLSTMConfig(input_size=3, hidden_size=4, head_hidden=[5])),
        nt.EnhancedSimpleLSTM(nt.EnhancedSimpleLSTMConfig(input_size=3, hidden_size=4, num_heads=2)),
        nt.TrendAttention(nt.TrendAttentionConfig(input_size=3, hidden_size=4, num_heads=2, horizons=[3, 9])),
        nt.LSTMAttention(
            nt.LSTMAttentionConfig(input_size=3, output_size=2, horizon=3, hidden_size=4, num_heads=2)
        ),
        PretrainedEncoder(PretrainedEncoderConfig(input_size=3, hidden_size=4, dropout=0.125)),
    ]
    assert {m.registry_name for m in models} == set(nt.native.SERVED_MODELS)
    for model in models:
        torch_file, rust_file = tmp_path / "torch.safetensors", tmp_path / "rust.safetensors"
        model.save(torch_file, extra={"scaler": '{"mean": [0.5]}', "source": "données.csv", "a": "1"})
        nt.native.load(torch_file).save(rust_file)
        assert rust_file.read_bytes() == torch_file.read_bytes(), model.registry_name
        # ... and a file the engine wrote is read back and written again unchanged.
        nt.native.load(rust_file).save(tmp_path / "again.safetensors")
        assert (tmp_path / "again.safetensors").read_bytes() == torch_file.read_bytes()
