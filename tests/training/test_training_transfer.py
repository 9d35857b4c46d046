"""load_pretrained_strict on hand-made checkpoints whose overlap with the target is known exactly."""

from __future__ import annotations

import pytest
import torch

from neural_trader.checkpoint import Checkpoint
from neural_trader.errors import CheckpointError
from neural_trader.models.bilstm_classifier import BiLSTMClassifier, BiLSTMClassifierConfig
from neural_trader.models.masked_autoencoder import PretrainedEncoder, PretrainedEncoderConfig
from neural_trader.models.simple_lstm import (
    EnhancedSimpleLSTM,
    EnhancedSimpleLSTMConfig,
    SimpleLSTM,
    SimpleLSTMConfig,
)
from neural_trader.models.trend_attention import TrendAttention, TrendAttentionConfig
from neural_trader.training import load_pretrained_strict

F, H = 3, 6


def _encoder(tmp_path, *, layers=2, hidden=H, bidirectional=True, drop=()) -> tuple[str, dict]:
    """An ``lstm_encoder`` file with the given sizes, minus the tensors named in ``drop``."""
    torch.manual_seed(1)
    enc = PretrainedEncoder(PretrainedEncoderConfig(F, hidden, layers, bidirectional))
    ck = enc.to_checkpoint()
    ck.tensors = {k: v for k, v in ck.tensors.items() if k.removeprefix("encoder.lstm.") not in drop}
    path = tmp_path / "encoder.safetensors"
    ck.write(path)
    return path, ck.tensors


def _lstm_names(layers: int, bidirectional: bool) -> list[str]:
    suffixes = ["", "_reverse"] if bidirectional else [""]
    return [
        f"encoder.lstm.{kind}_{mat}_l{k}{s}"
        for k in range(layers)
        for s in suffixes
        for kind in ("weight", "bias")
        for mat in ("ih", "hh")
    ]


def test_bidirectional_encoder_moves_whole_into_enhanced_lstm(tmp_path) -> None:
    path, source = _encoder(tmp_path)
    model = EnhancedSimpleLSTM(
        EnhancedSimpleLSTMConfig(input_size=F, hidden_size=H, num_layers=2, num_heads=2)
    )
    report = load_pretrained_strict(model, path)
    assert report.ratio == 1.0 and report.loaded
    assert sorted(report.matched) == sorted(_lstm_names(2, True))
    assert report.frozen_count == 16 and not report.missing and not report.unused and not report.skipped
    for name in report.matched:
        assert torch.equal(model.state_dict()[name], source[name])
        assert not dict(model.named_parameters())[name].requires_grad
    assert all(p.requires_grad for n, p in model.named_parameters() if not n.startswith("encoder."))


def test_bidirectional_to_unidirectional_loads_forward_layer_0_and_reports_layer_1(tmp_path) -> None:
    path, source = _encoder(tmp_path)
    model = SimpleLSTM(SimpleLSTMConfig(input_size=F, hidden_size=H, num_layers=2))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(CheckpointError, match=r"weight_ih_l1.*2H = 12") as err:
        load_pretrained_strict(model, path)
    assert "unused source tensor `encoder.lstm.weight_ih_l0_reverse`" in str(err.value)
    assert all(torch.equal(model.state_dict()[k], v) for k, v in before.items())  # refused: untouched

    report = load_pretrained_strict(model, path, min_match_ratio=0.5, allow_shape_mismatch=True)
    layer0 = _lstm_names(1, False)
    assert sorted(report.matched) == sorted(layer0) and report.ratio == 0.5
    (mismatch,) = report.shape_mismatches
    assert (mismatch.name, mismatch.source_shape, mismatch.target_shape) == (
        "encoder.lstm.weight_ih_l1",
        (4 * H, 2 * H),
        (4 * H, H),
    )
    assert sorted(report.skipped) == sorted(set(_lstm_names(2, False)) - set(layer0) - {mismatch.name})
    assert sorted(report.unused) == sorted(n for n in _lstm_names(2, True) if n.endswith("_reverse"))
    for name in layer0:
        assert torch.equal(model.state_dict()[name], source[name])  # the forward direction
    for name in [*report.skipped, mismatch.name]:
        assert torch.equal(model.state_dict()[name], before[name])  # never half-loaded
    assert sorted(report.frozen) == sorted(layer0)


def test_single_layer_bidirectional_into_unidirectional_is_complete(tmp_path) -> None:
    path, _ = _encoder(tmp_path, layers=1)
    report = load_pretrained_strict(
        SimpleLSTM(SimpleLSTMConfig(input_size=F, hidden_size=H, num_layers=1)), path
    )
    assert report.ratio == 1.0 and len(report.matched) == 4 and len(report.unused) == 4


def test_missing_tensors_lower_the_ratio_and_take_their_layer_with_them(tmp_path) -> None:
    path, _ = _encoder(tmp_path, drop={"bias_hh_l1", "bias_hh_l1_reverse"})
    model = EnhancedSimpleLSTM(
        EnhancedSimpleLSTMConfig(input_size=F, hidden_size=H, num_layers=2, num_heads=2)
    )
    with pytest.raises(CheckpointError, match=r"only 0.50 of the encoder matches") as err:
        load_pretrained_strict(model, path)
    assert "missing in source `encoder.lstm.bias_hh_l1`" in str(err.value)
    report = load_pretrained_strict(model, path, min_match_ratio=0.5, freeze_encoder=False)
    assert sorted(report.matched) == sorted(_lstm_names(1, True))
    assert sorted(report.missing) == ["encoder.lstm.bias_hh_l1", "encoder.lstm.bias_hh_l1_reverse"]
    assert len(report.skipped) == 6 and report.frozen_count == 0
    assert all(p.requires_grad for p in model.parameters())


def test_hidden_size_mismatch_is_named(tmp_path) -> None:
    path, _ = _encoder(tmp_path, hidden=4)
    model = EnhancedSimpleLSTM(
        EnhancedSimpleLSTMConfig(input_size=F, hidden_size=H, num_layers=2, num_heads=2)
    )
    with pytest.raises(CheckpointError, match=r"hidden_size differs: 4H = 16 vs 24"):
        load_pretrained_strict(model, path)
    report = load_pretrained_strict(model, path, allow_shape_mismatch=True, min_match_ratio=0.0)
    assert report.ratio == 0.0 and len(report.shape_mismatches) == 16  # every tensor has a 4H side


def test_a_full_classifier_checkpoint_gives_its_encoder_only(tmp_path) -> None:
    source = BiLSTMClassifier(BiLSTMClassifierConfig(input_size=F, hidden_size=H, num_layers=2))
    source.save(tmp_path / "clf.safetensors")
    target = TrendAttention(TrendAttentionConfig(input_size=F, hidden_size=H, num_heads=2))
    report = load_pretrained_strict(target, tmp_path / "clf.safetensors")
    assert report.ratio == 1.0 and report.source_model == "bilstm_classifier"
    assert not any(n.startswith("head") for n in report.matched + report.unused)


def test_a_checkpoint_without_encoder_is_refused(tmp_path) -> None:
    Checkpoint("other", {}, {"head.weight": torch.zeros(2, 2)}).write(tmp_path / "x.safetensors")
    with pytest.raises(CheckpointError, match="no tensor under 'encoder.'"):
        load_pretrained_strict(SimpleLSTM(SimpleLSTMConfig(input_size=F)), tmp_path / "x.safetensors")
