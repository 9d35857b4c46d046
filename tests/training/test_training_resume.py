"""Resuming from the pickle-free state file ends where an uninterrupted run ends; frozen means frozen."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors import safe_open

from neural_trader.errors import CheckpointError, ConfigError
from neural_trader.models.masked_autoencoder import PretrainedEncoder, PretrainedEncoderConfig
from neural_trader.models.simple_lstm import (
    EnhancedSimpleLSTM,
    EnhancedSimpleLSTMConfig,
    SimpleLSTM,
    SimpleLSTMConfig,
)
from neural_trader.training import ClassificationTask, Trainer, TrainerConfig, load_pretrained_strict


class _CrashAfter:
    """A task that raises after ``n`` training losses: a run killed in the middle of an epoch."""

    def __init__(self, n: int) -> None:
        self.inner, self.left = ClassificationTask(), n

    def loss(self, output, x, y):
        if torch.is_grad_enabled():
            self.left -= 1
            if self.left < 0:
                raise KeyboardInterrupt("simulated crash")
        return self.inner.loss(output, x, y)

    def predictions(self, output, y):
        return self.inner.predictions(output, y)

    def metrics(self, collected):
        return self.inner.metrics(collected)


def _model(seed: int) -> SimpleLSTM:
    torch.manual_seed(seed)  # a resumed run builds its model afresh: the init must not matter
    return SimpleLSTM(
        SimpleLSTMConfig(input_size=3, hidden_size=8, num_layers=2, dropout=0.3, head_hidden=[8])
    )


@pytest.mark.parametrize("schedule", ["cosine", "plateau"])
def test_resume_equals_uninterrupted_run(tmp_path, planted, make_loader, schedule) -> None:
    x, y = planted(600, seed=0)
    cfg = dict(epochs=4, lr=5e-3, warmup_steps=3, progress=False, device="cpu", schedule=schedule, seed=3)
    per_epoch = 8  # 500 / 64 batches

    def loaders():
        return make_loader(x[:500], y[:500], seed=11), make_loader(x[500:], y[500:], shuffle=False)

    straight = Trainer(_model(0), ClassificationTask(), TrainerConfig(**cfg))
    straight.fit(*loaders())

    crashed = Trainer(_model(0), _CrashAfter(2 * per_epoch + 3), TrainerConfig(**cfg, out_dir=str(tmp_path)))
    with pytest.raises(KeyboardInterrupt):
        crashed.fit(*loaders())
    resumed = Trainer(_model(99), ClassificationTask(), TrainerConfig(**cfg, out_dir=str(tmp_path)))
    resumed.fit(*loaders(), resume_from=tmp_path / "last.safetensors")

    assert resumed.epoch == straight.epoch == 4 and resumed.step == straight.step
    for name, value in straight.model.state_dict().items():
        torch.testing.assert_close(resumed.model.state_dict()[name], value, rtol=0, atol=1e-7)
    strip = [{k: v for k, v in r.items() if k != "seconds"} for r in straight.history.records]
    assert [{k: v for k, v in r.items() if k != "seconds"} for r in resumed.history.records] == strip


def test_resume_file_is_safetensors_with_json_state(tmp_path, planted, make_loader) -> None:
    x, y = planted(200, seed=0)
    cfg = TrainerConfig(epochs=1, progress=True, device="cpu", out_dir=str(tmp_path))
    Trainer(_model(0), ClassificationTask(), cfg).fit(make_loader(x, y), make_loader(x, y, shuffle=False))
    with safe_open(tmp_path / "last.safetensors", "pt") as f:
        meta, keys = f.metadata(), set(f.keys())
    state = json.loads(meta["state"])
    assert meta["format"] == "neural_trader.training_state" and meta["model"] == "simple_lstm"
    assert state["epoch"] == 1 and state["step"] == 4
    assert "model/encoder.lstm.weight_ih_l0" in keys and "rng/torch_cpu" in keys and "rng/generator_0" in keys
    assert {"optimizer/0/exp_avg", "optimizer/0/exp_avg_sq", "optimizer/0/step"} <= keys


def test_resume_refuses_changed_settings_and_model_files(tmp_path, planted, make_loader) -> None:
    x, y = planted(200, seed=0)
    cfg = TrainerConfig(epochs=1, progress=False, device="cpu", out_dir=str(tmp_path))
    trainer = Trainer(_model(0), ClassificationTask(), cfg)
    trainer.fit(make_loader(x, y), make_loader(x, y, shuffle=False))
    changed = Trainer(_model(0), ClassificationTask(), TrainerConfig(epochs=2, lr=0.5, progress=False))
    with pytest.raises(ConfigError, match="lr"):
        changed.fit(make_loader(x, y), make_loader(x, y), resume_from=tmp_path / "last.safetensors")
    with pytest.raises(CheckpointError, match="not a training-state file"):
        trainer.load_state(tmp_path / "best.safetensors")


def _encoder_file(tmp_path) -> str:
    torch.manual_seed(5)
    enc = PretrainedEncoder(PretrainedEncoderConfig(input_size=3, hidden_size=6, num_layers=1))
    path = tmp_path / "encoder.safetensors"
    enc.save(path)
    return path


def _enhanced() -> EnhancedSimpleLSTM:
    return EnhancedSimpleLSTM(
        EnhancedSimpleLSTMConfig(input_size=3, hidden_size=6, num_layers=1, num_heads=2)
    )


def test_frozen_parameters_do_not_change(tmp_path, planted, make_loader) -> None:
    model = _enhanced()
    report = load_pretrained_strict(model, _encoder_file(tmp_path))
    assert report.frozen_count == 8
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x, y = planted(300, seed=1)
    cfg = TrainerConfig(epochs=2, lr=1e-2, weight_decay=0.5, progress=False, device="cpu")
    Trainer(model, ClassificationTask(), cfg).fit(make_loader(x, y), make_loader(x, y, shuffle=False))
    after = model.state_dict()
    for name in report.frozen:
        assert torch.equal(after[name], before[name]), name  # not even weight decay touched them
    assert not torch.equal(after["head.0.weight"], before["head.0.weight"])


def test_unfreeze_after_epochs_releases_the_encoder_at_a_lower_lr(tmp_path, planted, make_loader) -> None:
    model = _enhanced()
    report = load_pretrained_strict(model, _encoder_file(tmp_path))
    loaded = {k: model.state_dict()[k].clone() for k in report.frozen}
    x, y = planted(300, seed=1)
    cfg = TrainerConfig(
        epochs=3, lr=1e-2, schedule="constant", unfreeze_after_epochs=1, progress=False, device="cpu"
    )
    trainer = Trainer(model, ClassificationTask(), cfg)
    trainer.fit(make_loader(x, y), make_loader(x, y, shuffle=False))
    assert trainer.history.column("lr") == [1e-2, 5e-3, 5e-3]
    assert all(p.requires_grad for p in model.parameters())
    assert all(not torch.equal(model.state_dict()[k], v) for k, v in loaded.items())
