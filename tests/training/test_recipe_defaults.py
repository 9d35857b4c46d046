"""The recipe's defaults, one constant each, in the library configs, the kernels and the command line:
pre-training (patch masks of 7 at 0.15, 50 epochs of 512, patience 10, cosine to 1e-5, clip 1.0, latent
weight 0.1, augmentation 0.5 / 0.5 / 0.3) and fine-tuning (frozen 10 epochs, then half the lr)."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch

from neural_trader import kernels, recipe
from neural_trader.cli import build_parser
from neural_trader.errors import ConfigError
from neural_trader.models import MaskedBiLSTMAutoencoderConfig, SimpleLSTM, SimpleLSTMConfig
from neural_trader.training import (
    ClassificationTask,
    MaskedReconstructionTask,
    PretrainConfig,
    Trainer,
    TrainerConfig,
)
from neural_trader.workflows import PretrainOptions, TrainOptions
from neural_trader.workflows.train import unfreeze_epochs


def test_pretrain_config_defaults_are_the_recipe() -> None:
    cfg = PretrainConfig()
    assert (cfg.mask_strategy, cfg.patch_size, cfg.mask_ratio, cfg.batch_size) == ("patch", 7, 0.15, 512)
    t = cfg.trainer
    assert (t.epochs, t.patience, t.min_lr, t.grad_clip, t.schedule) == (50, 10, 1e-5, 1.0, "cosine")
    assert cfg.task(MaskedBiLSTMAutoencoderConfig(4).latent_weight).latent_weight == 0.1
    task = MaskedReconstructionTask()
    assert (task.mask_strategy, task.patch_size, task.mask_ratio, task.latent_weight) == (
        "patch",
        7,
        0.15,
        0.1,
    )


def test_workflow_and_cli_pretrain_defaults_agree_with_the_library() -> None:
    o = PretrainOptions()
    assert (o.epochs, o.patience, o.batch_size, o.min_lr, o.grad_clip, o.latent_weight) == (
        50, 10, 512, 1e-5, 1.0, 0.1
    )  # fmt: skip
    assert (o.mask_strategy, o.patch_size, o.mask_ratio) == ("patch", 7, 0.15)
    args = build_parser().parse_args(["pretrain", "--input", "bars.csv", "--output", "enc.safetensors"])
    cli = (args.epochs, args.patience, args.batch_size, args.min_lr, args.latent_weight)
    assert cli == (o.epochs, o.patience, o.batch_size, o.min_lr, o.latent_weight)
    assert (args.mask_strategy, args.patch_size, args.mask_ratio) == (
        o.mask_strategy,
        o.patch_size,
        o.mask_ratio,
    )


def test_kernels_default_to_the_recipe() -> None:
    assert inspect.signature(kernels.mask).parameters["patch_size"].default == recipe.PATCH_SIZE == 7
    np.testing.assert_array_equal(
        kernels.mask(50, 28, 0.15, "patch", seed=3), kernels.mask(50, 28, 0.15, "patch", patch_size=7, seed=3)
    )
    assert not np.array_equal(
        kernels.mask(50, 28, 0.15, "patch", seed=3), kernels.mask(50, 28, 0.15, "patch", patch_size=5, seed=3)
    )
    for fn in (kernels.augment, kernels.augment_dataset):
        p = inspect.signature(fn).parameters
        assert (p["time_warp_prob"].default, p["jitter_prob"].default, p["vol_scale_prob"].default) == (
            0.5, 0.5, 0.3
        )  # fmt: skip
    row = [100.0, 101.0, 99.0, 100.5]
    x = np.array([[row] * 12] * 400, dtype=np.float32)
    x[:, :, 1] += np.linspace(0, 2, 12)  # wicks of different sizes, so volatility scaling shows
    explicit = kernels.augment(x, time_warp_prob=0.5, jitter_prob=0.5, vol_scale_prob=0.3, seed=5)
    np.testing.assert_array_equal(kernels.augment(x, seed=5), explicit)
    old = kernels.augment(x, time_warp_prob=0.5, jitter_prob=0.5, vol_scale_prob=0.5, seed=5)
    assert not np.array_equal(explicit, old)


def test_min_lr_is_an_absolute_cosine_floor() -> None:
    assert TrainerConfig(lr=1e-3, min_lr=1e-5).lr_floor() == 1e-5
    assert TrainerConfig(lr=1e-3).lr_floor() == pytest.approx(5e-5)  # min_lr_ratio when unset
    assert TrainerConfig(lr=1e-3, min_lr=1e-5, schedule="constant").lr_floor() == 1e-3
    with pytest.raises(ConfigError, match="min_lr"):
        TrainerConfig(lr=1e-3, min_lr=1e-2)
    model = SimpleLSTM(SimpleLSTMConfig(input_size=2, hidden_size=4))
    trainer = Trainer(model, ClassificationTask(), TrainerConfig(lr=1e-2, min_lr=1e-5, device="cpu"))
    trainer.step = 100
    trainer._set_lr(total_steps=100)  # the end of the cosine
    assert trainer.optimizer.param_groups[0]["lr"] == 1e-5


def test_fine_tuning_defaults_to_ten_frozen_epochs_then_half_the_lr() -> None:
    assert unfreeze_epochs(TrainOptions(pretrained_encoder="enc.safetensors")) == recipe.FREEZE_EPOCHS == 10
    assert unfreeze_epochs(TrainOptions(pretrained_encoder="enc.safetensors", unfreeze_after=3)) == 3
    assert unfreeze_epochs(TrainOptions(pretrained_encoder="enc.safetensors", freeze_encoder=False)) is None
    assert unfreeze_epochs(TrainOptions()) is None
    assert TrainerConfig().unfreeze_lr_factor == 0.5
    with pytest.raises(ConfigError, match="no-freeze-encoder"):
        unfreeze_epochs(TrainOptions(pretrained_encoder="e", freeze_encoder=False, unfreeze_after=2))
    with pytest.raises(ConfigError, match="pretrained_encoder"):
        unfreeze_epochs(TrainOptions(unfreeze_after=2))


def test_frozen_encoder_is_released_after_the_configured_epochs() -> None:
    torch.manual_seed(0)
    model = SimpleLSTM(SimpleLSTMConfig(input_size=2, hidden_size=4, head_hidden=[]))
    for p in model.encoder.parameters():
        p.requires_grad_(False)
    before = {k: v.clone() for k, v in model.encoder.state_dict().items()}
    x = torch.randn(64, 6, 2)
    y = (x[:, -1, 0] > 0).float().unsqueeze(1)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=32)
    cfg = TrainerConfig(
        epochs=2, lr=1e-2, schedule="constant", unfreeze_after_epochs=1, device="cpu", progress=False
    )
    trainer = Trainer(model, ClassificationTask(), cfg)
    trainer.fit(loader, loader)
    assert trainer.history.column("lr") == [1e-2, 5e-3]  # the second epoch trains everything at half
    after = model.encoder.state_dict()
    assert all(not torch.equal(before[k], after[k]) for k in before)
