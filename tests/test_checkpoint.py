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
