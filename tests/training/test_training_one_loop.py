"""One training loop: the task's forward hook is what the trainer runs in training and evaluation, and
masked pre-training is a task of that loop, with its resume, best checkpoint and schedules."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from neural_trader.checkpoint import Checkpoint
from neural_trader.errors import ConfigError
from neural_trader.models.masked_autoencoder import MaskedBiLSTMAutoencoder, MaskedBiLSTMAutoencoderConfig
from neural_trader.models.simple_lstm import SimpleLSTM, SimpleLSTMConfig
from neural_trader.training import (
    ClassificationTask,
    MaskedReconstructionTask,
    MaskedWindows,
    PretrainConfig,
    Trainer,
    TrainerConfig,
    pretrain_encoder,
)
from neural_trader.training.pretrain import PRETRAIN_TRAINER_DEFAULTS


class _RecordingTask(ClassificationTask):
    """A classification task whose forward hook notes every call (mode, whether it saw the labels)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[bool, int]] = []

    def forward(self, model, x, y):
        self.calls.append((model.training, len(y)))
        return model(x) + 0.0 * y[:, :1]  # reads y: a teacher-forced model would


def test_the_trainer_runs_the_task_forward_in_training_and_evaluation(planted, make_loader) -> None:
    x, y = planted(200, seed=0)
    task = _RecordingTask()
    model = SimpleLSTM(SimpleLSTMConfig(input_size=3, hidden_size=8, num_layers=1))
    trainer = Trainer(model, task, TrainerConfig(epochs=1, progress=False, device="cpu"))
    trainer.fit(make_loader(x[:136], y[:136], batch_size=64), make_loader(x[136:], y[136:], shuffle=False))
    # 3 training batches (64, 64, 8) then 1 validation batch (64), each through the hook.
    assert task.calls == [(True, 64), (True, 64), (True, 8), (False, 64)]
    trainer.evaluate(make_loader(x[:10], y[:10], shuffle=False))
    assert task.calls[-1] == (False, 10)


def _sine_windows(n: int, length: int = 24, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    phase = rng.uniform(0, 2 * np.pi, size=(n, 1))
    t = np.arange(length)[None, :]
    x = np.stack([np.sin(0.5 * t + phase), np.cos(0.3 * t + 2 * phase)], axis=-1)
    return (x + 0.05 * rng.normal(size=x.shape)).astype(np.float32)


def test_training_masks_change_per_epoch_and_validation_masks_do_not() -> None:
    task = MaskedReconstructionTask(mask_ratio=0.25, mask_strategy="random", seed=3)
    windows = torch.zeros(50, 20, 2)
    train, val = MaskedWindows(windows, task), MaskedWindows(windows, task, fixed=True)
    first_train, first_val = train.mask.clone(), val.mask.clone()
    assert int(first_train[0].sum()) == 5  # round(0.25 * 20) steps per window
    train.set_epoch(1)
    val.set_epoch(1)
    assert not torch.equal(train.mask, first_train) and torch.equal(val.mask, first_val)
    train.set_epoch(0)
    assert torch.equal(train.mask, first_train)  # a function of (seed, epoch) only
    assert not torch.equal(first_val, first_train)


def _tiny_config() -> MaskedBiLSTMAutoencoderConfig:
    return MaskedBiLSTMAutoencoderConfig(input_size=2, hidden_size=8, num_layers=2, decoder_hidden=[8])


@pytest.mark.parametrize("schedule", ["cosine", "plateau"])
def test_pretraining_resumes_to_the_uninterrupted_run(tmp_path, monkeypatch, schedule) -> None:
    windows = _sine_windows(240)
    common = dict(epochs=4, lr=5e-3, batch_size=32, progress=False, device="cpu", schedule=schedule, seed=2)
    straight_cfg = PretrainConfig(**common, out_dir=str(tmp_path / "a"))
    straight = pretrain_encoder(windows, _tiny_config(), straight_cfg)

    # A run killed as its third epoch starts (after two completed epochs and their resume file) ...
    draw = MaskedWindows.set_epoch

    def killed_at_epoch_2(self, epoch):
        if epoch == 2:
            raise KeyboardInterrupt("simulated kill")
        draw(self, epoch)

    with monkeypatch.context() as m:
        m.setattr(MaskedWindows, "set_epoch", killed_at_epoch_2)
        with pytest.raises(KeyboardInterrupt):
            pretrain_encoder(windows, _tiny_config(), PretrainConfig(**common, out_dir=str(tmp_path / "b")))
    # ... continues from its resume file to the uninterrupted run's numbers, bit for bit.
    resumed = pretrain_encoder(
        windows,
        _tiny_config(),
        PretrainConfig(**common, out_dir=str(tmp_path / "b")),
        resume_from=tmp_path / "b" / "last.safetensors",
    )

    strip = [{k: v for k, v in r.items() if k != "seconds"} for r in straight.history.records]
    assert [{k: v for k, v in r.items() if k != "seconds"} for r in resumed.history.records] == strip
    assert resumed.best_epoch == straight.best_epoch
    for name, value in straight.model.state_dict().items():
        torch.testing.assert_close(resumed.model.state_dict()[name], value, rtol=0, atol=0)
    # The one loop's files: the best autoencoder (with its epoch) and the history.
    best = Checkpoint.read(tmp_path / "a" / "best.safetensors")
    assert best.model == "masked_bilstm_autoencoder"
    assert json.loads(best.extra["training"])["epoch"] == straight.best_epoch
    assert len(json.loads((tmp_path / "a" / "history.json").read_text())) == 4


def test_pretraining_keeps_the_best_epoch_and_reports_the_trainer_history() -> None:
    windows = _sine_windows(200)
    cfg = PretrainConfig(epochs=3, lr=1e-2, batch_size=32, progress=False, device="cpu", patience=1)
    result = pretrain_encoder(windows, _tiny_config(), cfg)
    keys = set(result.history.records[0])
    assert {"epoch", "train_loss", "val_loss", "val_reconstruction", "val_latent", "lr"} <= keys
    val = result.history.column("val_loss")
    assert result.best_val_loss == min(val) and val[result.best_epoch - 1] == min(val)
    # The returned model holds the best epoch's weights: its validation loss is the best one.
    task = cfg.task(_tiny_config().latent_weight)
    n_val = round(len(windows) * cfg.val_fraction)
    val_set = MaskedWindows(torch.from_numpy(windows[-n_val:]), task, fixed=True)
    scorer = Trainer(result.model, task, TrainerConfig(progress=False, device="cpu"))
    loader = torch.utils.data.DataLoader(val_set, batch_size=cfg.batch_size)
    assert scorer.evaluate(loader)["loss"] == pytest.approx(result.best_val_loss, rel=1e-12)
    assert isinstance(result.model, MaskedBiLSTMAutoencoder) and not result.model.training


def test_pretrain_config_keeps_its_own_fields_and_one_trainer_config() -> None:
    cfg = PretrainConfig(mask_ratio=0.3, epochs=8, lr=1e-2, seed=4)
    assert cfg.trainer == TrainerConfig(**{**PRETRAIN_TRAINER_DEFAULTS, "epochs": 8, "lr": 1e-2, "seed": 4})
    assert PretrainConfig().trainer.epochs == 50  # pre-training's own default: the recipe's
    explicit = PretrainConfig(trainer=TrainerConfig(epochs=3), patience=2)
    assert (explicit.trainer.epochs, explicit.trainer.patience) == (3, 2)
    assert cfg.task(0.5).seed == 4 and cfg.task(0.5).latent_weight == 0.5
    with pytest.raises(ConfigError, match="no field"):
        PretrainConfig(mask_ration=0.2)
    with pytest.raises(ConfigError, match="mask_ratio"):
        PretrainConfig(mask_ratio=1.0)
    with pytest.raises(ConfigError, match="lr"):
        PretrainConfig(lr=-1.0)
