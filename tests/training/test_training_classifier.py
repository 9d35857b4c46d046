"""The trainer learns a planted pattern, and does not find one in shuffled labels."""

from __future__ import annotations

import numpy as np
import torch

from neural_trader.models.simple_lstm import (
    EnhancedSimpleLSTM,
    EnhancedSimpleLSTMConfig,
    SimpleLSTM,
    SimpleLSTMConfig,
)
from neural_trader.models.trend_attention import TrendAttention, TrendAttentionConfig
from neural_trader.training import ClassificationTask, RegressionTask, Trainer, TrainerConfig, TrendTask
from neural_trader.training.metrics import balanced_accuracy


def _fit_simple(loaders, epochs: int) -> Trainer:
    model = SimpleLSTM(
        SimpleLSTMConfig(input_size=3, hidden_size=24, num_layers=1, dropout=0.0, head_hidden=[16])
    )
    cfg = TrainerConfig(epochs=epochs, lr=1e-2, warmup_steps=5, progress=False, device="cpu", patience=epochs)
    trainer = Trainer(model, ClassificationTask(), cfg)
    trainer.fit(*loaders)
    return trainer


def test_planted_pattern_reaches_90_percent_balanced_accuracy_in_12_small_epochs(
    planted, make_loader
) -> None:
    x, y = planted(3000, seed=0)
    x_test, y_test = planted(1000, seed=1)
    trainer = _fit_simple(
        (make_loader(x[:2500], y[:2500]), make_loader(x[2500:], y[2500:], shuffle=False)), epochs=12
    )
    metrics = trainer.evaluate(make_loader(x_test, y_test, shuffle=False))
    assert metrics["balanced_accuracy"] >= 0.90, metrics
    assert metrics["mcc"] >= 0.8, metrics
    losses = trainer.history.column("train_loss")
    assert len(losses) == 12 and losses[-1] < 0.5 * losses[0]


def test_shuffled_labels_stay_near_chance_on_held_out_data(planted, make_loader) -> None:
    x, y = planted(3000, seed=0)
    shuffled = np.random.default_rng(7).permutation(y)
    x_test, y_test = planted(1500, seed=2)
    trainer = _fit_simple(
        (make_loader(x[:2500], shuffled[:2500]), make_loader(x[2500:], shuffled[2500:], shuffle=False)),
        epochs=6,
    )
    _, out = trainer.predict(make_loader(x_test, y_test, shuffle=False))
    score = balanced_accuracy(out["target"], out["proba"].argmax(axis=1))
    # Under the null, balanced accuracy on 1500 samples has a standard deviation of about 0.013.
    assert abs(score - 0.5) < 0.06, score


def test_enhanced_lstm_monitoring_a_metric_saves_the_best_checkpoint(tmp_path, planted, make_loader) -> None:
    x, y = planted(2000, seed=3)
    model = EnhancedSimpleLSTM(
        EnhancedSimpleLSTMConfig(input_size=3, hidden_size=12, num_layers=1, num_heads=2)
    )
    cfg = TrainerConfig(
        epochs=6,
        lr=5e-3,
        progress=False,
        device="cpu",
        out_dir=str(tmp_path),
        monitor="val_balanced_accuracy",
        mode="max",
    )
    trainer = Trainer(model, ClassificationTask(), cfg, checkpoint_extra={"note": "planted"})
    val = make_loader(x[1600:], y[1600:], shuffle=False)
    trainer.fit(make_loader(x[:1600], y[:1600]), val)
    assert trainer.stopper.best >= 0.8
    best = EnhancedSimpleLSTM.load(trainer.best_checkpoint)
    again = Trainer(best, ClassificationTask(), cfg).evaluate(val)
    assert again["balanced_accuracy"] == trainer.stopper.best
    for name in ("history.json", "history.png", "last.safetensors", "best.safetensors"):
        assert (tmp_path / name).stat().st_size > 0


def test_trend_attention_trains_on_its_dict_output(make_loader) -> None:
    rng = np.random.default_rng(4)
    x = rng.normal(size=(1200, 12, 2)).astype(np.float32)
    signal = x[:, -4:, 0].mean(axis=1)
    trend = np.tanh(2 * signal)
    labels = np.stack([(signal > 0), trend, (signal < 0), -trend], axis=1).astype(np.float32)
    columns = ["direction_7", "trend_7", "direction_30", "trend_30"]
    model = TrendAttention(
        TrendAttentionConfig(input_size=2, hidden_size=12, num_heads=2, head_hidden=[16], dropout=0.0)
    )
    cfg = TrainerConfig(epochs=8, lr=1e-2, progress=False, device="cpu")
    task = TrendTask([7, 30], columns, regression_weight={7: 1.0, 30: 0.5}, volatility_feature=1)
    trainer = Trainer(model, task, cfg)
    trainer.fit(make_loader(x[:1000], labels[:1000]), make_loader(x[1000:], labels[1000:], shuffle=False))
    final = trainer.history.records[-1]
    assert final["val_direction_7_balanced_accuracy"] > 0.85
    assert final["val_direction_30_balanced_accuracy"] > 0.85
    assert final["val_trend_7_correlation"] > 0.8


class _Regressor(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lstm = torch.nn.LSTM(2, 16, batch_first=True)
        self.out = torch.nn.Linear(16, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.lstm(x)[0][:, -1]).squeeze(-1)


def test_regression_task_with_plateau_schedule(make_loader) -> None:
    rng = np.random.default_rng(5)
    x = rng.normal(size=(1000, 8, 2)).astype(np.float32)
    target = (x[:, -1, 0] - 0.5 * x[:, -2, 1]).astype(np.float32)
    cfg = TrainerConfig(epochs=10, lr=1e-2, progress=False, device="cpu", schedule="plateau")
    trainer = Trainer(_Regressor(), RegressionTask(), cfg)
    val = make_loader(x[800:], target[800:], shuffle=False)
    trainer.fit(make_loader(x[:800], target[:800]), val)
    metrics = trainer.evaluate(val)
    assert metrics["correlation"] > 0.9 and metrics["direction_accuracy"] > 0.85
    assert abs(metrics["rmse"] ** 2 - metrics["mse"]) < 1e-9
