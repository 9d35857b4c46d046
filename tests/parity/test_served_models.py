"""The engine's table of served models, as Python sees it: ``_core.SERVED_MODELS`` and ``nt.native``."""

from __future__ import annotations

import pytest

import neural_trader as nt
from neural_trader import _core


def test_served_models_come_from_the_engine_table():
    assert isinstance(_core.SERVED_MODELS, tuple)
    assert nt.native.SERVED_MODELS == _core.SERVED_MODELS
    assert {"bilstm_classifier", "lstm_attention"} <= set(nt.native.SERVED_MODELS)
    assert len(set(nt.native.SERVED_MODELS)) == len(nt.native.SERVED_MODELS)
    # Every served model has a PyTorch twin under the same registry name.
    assert set(nt.native.SERVED_MODELS) <= set(nt.models.MODELS)


def test_a_model_outside_the_table_is_refused_naming_the_table():
    ck = nt.BiLSTMClassifier(nt.BiLSTMClassifierConfig(input_size=3, hidden_size=4)).to_checkpoint()
    ck.model = "not_a_model"
    with pytest.raises(nt.CheckpointError, match="not served") as err:
        nt.native.from_bytes(ck.to_bytes())
    for name in nt.native.SERVED_MODELS:
        assert name in str(err.value)
