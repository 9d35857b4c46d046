"""Teacher forcing in training: the trainer passes the targets at the configured ratio (per epoch, by a
schedule), evaluation decodes autoregressively, the ratios land in the history, resume is bit-identical,
and the PyTorch twin's ``teacher_forced`` gives the native engine's numbers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

import neural_trader as nt
from neural_trader.data import DataSpec
from neural_trader.errors import ConfigError, DataError
from neural_trader.models import ScheduledSampling, TaskOptions
from neural_trader.training import ForecastTask, Trainer, TrainerConfig
from neural_trader.training.forecasting import coin_flip_seed

HORIZON, WINDOW, FEATURES = 5, 12, 3


class SpyForecaster(nt.LSTMAttention):
    """An LSTMAttention that notes, per call, its mode, whether it saw targets, and its coin flips."""

    def __init__(self, config: nt.LSTMAttentionConfig) -> None:
        super().__init__(config)
        self.calls: list[dict] = []

    def forward(self, x, y=None, **kwargs):
        self.calls.append({"training": self.training, "targets": y is not None, "flips": None})
        return super().forward(x, y, **kwargs)

    def _coin_flips(self, ratio, generator):
        flips = super()._coin_flips(ratio, generator)
        self.calls[-1]["flips"] = list(flips)
        return flips


def config(**overrides) -> nt.LSTMAttentionConfig:
    values = dict(
        input_size=FEATURES, output_size=1, horizon=HORIZON, hidden_size=8, num_heads=2, num_encoder_layers=1
    )
    return nt.LSTMAttentionConfig(**{**values, **overrides})


def data(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A learnable series: the target column's future continues its noisy sine."""
    rng = np.random.default_rng(seed)
    phase = rng.uniform(0, 2 * np.pi, size=(n, 1))
    t = np.arange(WINDOW + HORIZON)[None, :]
    wave = np.sin(phase + 0.5 * t) + 0.05 * rng.normal(size=(n, WINDOW + HORIZON))
    x = np.concatenate([wave[:, :WINDOW, None], rng.normal(size=(n, WINDOW, FEATURES - 1))], axis=2)
    return torch.tensor(x, dtype=torch.float32), torch.tensor(wave[:, WINDOW:], dtype=torch.float32)


def loaders(batch_size: int = 16, seed: int = 0) -> tuple[DataLoader, DataLoader]:
    x, y = data(160)
    train = DataLoader(
        TensorDataset(x[:128], y[:128]),
        batch_size=batch_size,
        shuffle=True,
        generator=torch.Generator().manual_seed(seed),
    )
    return train, DataLoader(TensorDataset(x[128:], y[128:]), batch_size=32)


def task(schedule: ScheduledSampling | None = None, seed: int = 0) -> ForecastTask:
    return nt.LSTMAttention.make_task(
        DataSpec(task="forecast", horizon=HORIZON, targets=["log_return"]),
        np.zeros((1, HORIZON), np.float32),
        options=TaskOptions(teacher_forcing=schedule, seed=seed),
    )


def fit(model, schedule=None, epochs: int = 2, **cfg) -> Trainer:
    settings = TrainerConfig(epochs=epochs, progress=False, device="cpu", **cfg)
    trainer = Trainer(model, task(schedule), settings)
    trainer.fit(*loaders())
    return trainer


def flips_of(model: SpyForecaster, training: bool = True) -> list[list[bool]]:
    return [c["flips"] for c in model.calls if c["training"] == training]


def test_lstm_attention_trains_with_the_forecast_task() -> None:
    t = task()
    assert isinstance(t, ForecastTask) and (t.horizon, t.output_size) == (HORIZON, 1)
    assert t.label_indices == list(range(HORIZON))


@pytest.mark.parametrize("ratio", [0.0, 0.5, 1.0])
def test_training_reads_the_truth_at_the_configured_ratio(ratio: float) -> None:
    torch.manual_seed(0)
    model = SpyForecaster(config(teacher_forcing_ratio=ratio))
    fit(model, epochs=3)
    train_calls = [c for c in model.calls if c["training"]]
    assert train_calls and all(c["targets"] for c in train_calls)  # the trainer passed the targets
    flips = [f for call in flips_of(model) for f in call]
    assert len(flips) == len(train_calls) * (HORIZON - 1)
    share = float(np.mean(flips))
    if ratio in (0.0, 1.0):
        assert share == ratio
    else:
        # 24 batches x 4 steps = 96 flips: the share's standard deviation is 0.05.
        assert 0.3 < share < 0.7, share
        assert 0 < sum(map(all, flips_of(model))) < len(train_calls)  # batches differ, not one fixed draw


def test_evaluation_is_autoregressive() -> None:
    torch.manual_seed(0)
    model = SpyForecaster(config(teacher_forcing_ratio=1.0))
    trainer = fit(model, epochs=1)
    eval_calls = [c for c in model.calls if not c["training"]]
    assert eval_calls and not any(c["targets"] for c in eval_calls)
    # The validation loss is that of the autoregressive forecast, not of the teacher-forced one.
    _, val = loaders()
    x, y = next(iter(val))
    model.eval()
    with torch.no_grad():
        auto = torch.mean((model.forecast(x) - y.unsqueeze(-1)) ** 2)
        forced = torch.mean((model.teacher_forced(x, y.unsqueeze(-1)) - y.unsqueeze(-1)) ** 2)
    assert trainer.evaluate(val)["loss"] == pytest.approx(float(auto), rel=1e-5)
    assert abs(float(auto) - float(forced)) > 1e-4


def test_ratio_one_training_is_the_teacher_forced_pass() -> None:
    torch.manual_seed(0)
    model = nt.LSTMAttention(config(teacher_forcing_ratio=1.0, dropout=0.0)).train()
    x, y = data(8)
    t = task()
    t.start_epoch(0, model)
    out = t.forward(model, x, y)
    torch.testing.assert_close(out, model.teacher_forced(x, y.unsqueeze(-1)), rtol=0.0, atol=0.0)
    assert not torch.allclose(out, model(x))  # the autoregressive path would differ


def test_schedule_values_land_in_the_history_and_drive_the_flips() -> None:
    torch.manual_seed(0)
    model = SpyForecaster(config())
    linear = ScheduledSampling("linear", start=1.0, end=0.0, decay_epochs=2)
    trainer = fit(model, schedule=linear, epochs=3)
    assert trainer.history.column("teacher_forcing_ratio") == [1.0, 0.5, 0.0]
    per_epoch = len(flips_of(model)) // 3
    first, last = flips_of(model)[:per_epoch], flips_of(model)[-per_epoch:]
    assert all(all(f) for f in first) and not any(any(f) for f in last)


def test_without_a_schedule_the_history_records_the_config_ratio() -> None:
    torch.manual_seed(0)
    trainer = fit(nt.LSTMAttention(config(teacher_forcing_ratio=0.25)), epochs=2)
    assert trainer.history.column("teacher_forcing_ratio") == [0.25, 0.25]


def test_flips_are_seeded_by_seed_epoch_and_batch() -> None:
    runs = []
    for seed in (0, 0, 1):
        torch.manual_seed(0)
        model = SpyForecaster(config())
        t = task(seed=seed)
        trainer = Trainer(model, t, TrainerConfig(epochs=2, progress=False, device="cpu"))
        trainer.fit(*loaders())
        runs.append(flips_of(model))
    assert runs[0] == runs[1] and runs[0] != runs[2]
    seeds = {coin_flip_seed(0, e, b) for e in range(3) for b in range(50)}
    assert len(seeds) == 150


def test_resume_with_teacher_forcing_is_bit_identical(tmp_path) -> None:
    schedule = ScheduledSampling("exponential", start=0.9, end=0.1, rate=0.5)

    def run(epochs: int, out: str, resume: bool = False) -> Trainer:
        torch.manual_seed(7 if resume else 0)  # a resumed run's fresh init must not matter
        model = nt.LSTMAttention(config())
        out_dir = str(tmp_path / out)
        # A constant learning rate: the cosine's length depends on `epochs`, which a resume may raise.
        cfg = TrainerConfig(
            epochs=epochs, schedule="constant", progress=False, device="cpu", out_dir=out_dir, patience=9
        )
        trainer = Trainer(model, task(schedule), cfg)
        train, val = loaders()
        trainer.fit(train, val, resume_from=tmp_path / out / "last.safetensors" if resume else None)
        return trainer

    whole = run(4, "whole")
    run(2, "split")
    resumed = run(4, "split", resume=True)
    for a, b in zip(whole.model.state_dict().values(), resumed.model.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    strip = [{k: v for k, v in r.items() if k != "seconds"} for r in whole.history.records]
    assert strip == [{k: v for k, v in r.items() if k != "seconds"} for r in resumed.history.records]
    assert resumed.history.column("teacher_forcing_ratio") == [schedule.ratio(e) for e in range(4)]


def test_bad_targets_and_options_are_refused() -> None:
    model = nt.LSTMAttention(config()).train()
    t = task()
    x, y = data(2)
    y[0, 2] = float("nan")
    with pytest.raises(DataError, match="NaN"):
        t.forward(model, x, y)
    with pytest.raises(ConfigError, match="teacher_forcing"):
        ForecastTask(horizon=HORIZON, teacher_forcing=0.5)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="label_indices"):
        ForecastTask(label_indices=[0, 1], horizon=HORIZON, output_size=1)


@pytest.mark.parametrize(("bidirectional", "batch"), [(True, 1), (False, 7), (True, 32)])
def test_teacher_forced_matches_the_native_engine(bidirectional: bool, batch: int) -> None:
    torch.manual_seed(3)
    model = nt.LSTMAttention(
        nt.LSTMAttentionConfig(
            input_size=4, output_size=2, horizon=6, hidden_size=16, num_heads=4, target_indices=[3, 1],
            bidirectional=bidirectional, num_decoder_layers=2,
        )
    ).eval()  # fmt: skip
    with torch.no_grad():
        for p in model.parameters():
            p.uniform_(-0.5, 0.5)  # far from uniform attention, so a wrong score would show
    g = torch.Generator().manual_seed(4)
    x, y = torch.randn(batch, 10, 4, generator=g), torch.randn(batch, 6, 2, generator=g)
    engine = model.to_native()
    with torch.no_grad():
        pred, attn = model.teacher_forced(x, y, return_attention=True)
        plain = model.teacher_forced(x, y)
    native_pred, native_attn = engine.teacher_forced(x.numpy(), y.numpy(), return_attention=True)
    torch.testing.assert_close(torch.from_numpy(native_pred), pred, atol=1e-5, rtol=0.0)
    torch.testing.assert_close(torch.from_numpy(native_attn), attn, atol=1e-5, rtol=0.0)
    torch.testing.assert_close(plain, pred, atol=0.0, rtol=0.0)
    assert (model.forecast(x) - pred).abs().max() > 1e-3  # teacher forcing changed the numbers


def test_teacher_forced_keeps_gradients_and_refuses_bad_targets() -> None:
    model = nt.LSTMAttention(config()).train()
    x, y = data(4)
    out = model.teacher_forced(x, y.unsqueeze(-1))
    out.sum().backward()
    assert model.decoder.weight_ih_l0.grad is not None
    with pytest.raises(nt.ShapeError, match="target y"):
        model.teacher_forced(x, y)  # (B, H) instead of (B, H, 1)
