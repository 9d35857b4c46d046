"""Masked pre-training: the loss sees masked steps only; the pre-trainer learns and ships an encoder."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from neural_trader.checkpoint import Checkpoint
from neural_trader.errors import ConfigError
from neural_trader.models.masked_autoencoder import (
    MaskedBiLSTMAutoencoder,
    MaskedBiLSTMAutoencoderConfig,
    PretrainedEncoder,
    latent_spread_penalty,
    masked_mse,
)
from neural_trader.models.simple_lstm import EnhancedSimpleLSTM, EnhancedSimpleLSTMConfig
from neural_trader.training import PretrainConfig, load_pretrained_strict, pretrain_encoder, relative_candles


def test_masked_loss_ignores_unmasked_positions() -> None:
    g = torch.Generator().manual_seed(0)
    target = torch.randn(4, 10, 3, generator=g)
    recon = torch.randn(4, 10, 3, generator=g)
    mask = torch.rand(4, 10, generator=g) < 0.3
    base = masked_mse(recon, target, mask)
    changed = torch.where(mask.unsqueeze(-1), recon, recon + 100.0 * torch.randn(4, 10, 3, generator=g))
    assert torch.equal(masked_mse(changed, target, mask), base)
    # ... while a change at one masked position does move it.
    bumped = recon.clone()
    i, t = map(int, mask.nonzero()[0])
    bumped[i, t, 0] += 1.0
    assert masked_mse(bumped, target, mask) != base
    # The value is the mean squared error over the masked entries.
    expected = ((recon - target)[mask] ** 2).mean()
    torch.testing.assert_close(base, expected)


def test_model_loss_gets_no_gradient_from_unmasked_reconstructions() -> None:
    model = MaskedBiLSTMAutoencoder(
        MaskedBiLSTMAutoencoderConfig(input_size=3, hidden_size=4, latent_weight=0.0)
    )
    x = torch.randn(2, 8, 3)
    mask = torch.zeros(2, 8, dtype=torch.bool)
    mask[:, 2:4] = True
    out = model(x, mask)
    recon = out["reconstruction"].detach().requires_grad_(True)
    masked_mse(recon, x, mask).backward()
    assert torch.count_nonzero(recon.grad[~mask]) == 0 and torch.count_nonzero(recon.grad[mask]) > 0
    # The mask token replaces masked inputs: changing x there changes nothing the encoder sees.
    x2 = x.clone()
    x2[mask] = 1e3
    torch.testing.assert_close(model.eval()(x2, mask)["encoded"], model(x, mask)["encoded"])


def test_latent_penalty_punishes_collapse_only() -> None:
    assert float(latent_spread_penalty(torch.zeros(8, 5, 4))) > 0.98
    assert (
        float(latent_spread_penalty(3.0 * torch.randn(64, 5, 4, generator=torch.Generator().manual_seed(0))))
        == 0.0
    )


def _sine_windows(n: int, length: int = 24, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    phase = rng.uniform(0, 2 * np.pi, size=(n, 1))
    t = np.arange(length)[None, :]
    a = np.sin(0.5 * t + phase)
    b = np.cos(0.3 * t + 2 * phase)
    return np.stack([a, b], axis=-1).astype(np.float32) + 0.05 * rng.normal(size=(n, length, 2)).astype(
        np.float32
    )


@pytest.mark.parametrize("strategy", ["random", "block", "patch"])
def test_pretraining_learns_and_writes_a_transferable_encoder(tmp_path, strategy) -> None:
    windows = _sine_windows(400)
    model_cfg = MaskedBiLSTMAutoencoderConfig(input_size=2, hidden_size=12, num_layers=1, decoder_hidden=[16])
    cfg = PretrainConfig(
        epochs=8,
        lr=1e-2,
        batch_size=32,
        mask_strategy=strategy,
        mask_ratio=0.25,
        patch_size=4,
        progress=False,
    )
    path = tmp_path / "encoder.safetensors"
    result = pretrain_encoder(windows, model_cfg, cfg, path, extra={"scaler": "{}"})
    recon = result.history.column("val_reconstruction")
    assert recon[result.best_epoch - 1] < 0.5 * recon[0]  # learned well below the first epoch
    ck = Checkpoint.read(path)
    assert ck.model == "lstm_encoder" and all(k.startswith("encoder.lstm.") for k in ck.tensors)
    assert (
        json.loads(ck.extra["pretraining"])["best_epoch"] == result.best_epoch and ck.extra["scaler"] == "{}"
    )
    encoder = PretrainedEncoder.load(path)
    torch.testing.assert_close(encoder.state_dict(), result.model.encoder_only().state_dict())
    clf = EnhancedSimpleLSTM(
        EnhancedSimpleLSTMConfig(input_size=2, hidden_size=12, num_layers=1, num_heads=2)
    )
    assert load_pretrained_strict(clf, path).ratio == 1.0


def test_pretraining_is_reproducible_and_augments_candles(tmp_path) -> None:
    rng = np.random.default_rng(0)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 300)))
    rows = np.stack([close, close * 1.01, close * 0.99, close, np.full(300, 1e5)], axis=1)
    candles = np.lib.stride_tricks.sliding_window_view(rows, (16, 5))[:, 0].copy()
    model_cfg = MaskedBiLSTMAutoencoderConfig(input_size=5, hidden_size=4, num_layers=1, decoder_hidden=[])
    cfg = PretrainConfig(epochs=2, num_augmentations=2, progress=False)
    a = pretrain_encoder(candles, model_cfg, cfg, tmp_path / "a.safetensors", transform=relative_candles)
    b = pretrain_encoder(candles, model_cfg, cfg, transform=relative_candles)
    note = json.loads(Checkpoint.read(tmp_path / "a.safetensors").extra["pretraining"])
    n_val = round(len(candles) * cfg.val_fraction)
    assert note["train_windows"] == 3 * (len(candles) - n_val - 16)  # originals + 2 augmented copies
    assert a.history.column("val_loss") == b.history.column("val_loss")
    assert a.history.column("train_loss") == b.history.column("train_loss")
    with pytest.raises(ConfigError, match="OHLC"):
        pretrain_encoder(relative_candles(candles)[..., :3], MaskedBiLSTMAutoencoderConfig(input_size=3), cfg)
