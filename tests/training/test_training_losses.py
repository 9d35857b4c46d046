"""Weighted losses: class weights, per-sample weights, volatility-aware weights, multi-horizon weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from neural_trader.errors import ConfigError
from neural_trader.training import (
    ClassificationTask,
    MultiHorizonLoss,
    balanced_class_weights,
    volatility_weights,
    weighted_cross_entropy,
    weighted_mse,
    window_volatility,
)


def test_balanced_class_weights_equalise_the_classes() -> None:
    y = np.array([1] * 70 + [0] * 30)
    w = balanced_class_weights(y)
    assert w.tolist() == pytest.approx([100 / 60, 100 / 140])
    assert float(w[0] * 30) == pytest.approx(float(w[1] * 70))  # each class carries the same total weight
    with pytest.raises(ConfigError):
        balanced_class_weights(np.array([0, 2]), num_classes=2)


def test_weighted_cross_entropy_matches_torch_and_honours_sample_weights() -> None:
    g = torch.Generator().manual_seed(0)
    logits, y = torch.randn(50, 3, generator=g), torch.randint(0, 3, (50,), generator=g)
    cw = torch.tensor([1.0, 2.0, 0.5])
    expected = F.cross_entropy(logits, y, weight=cw)
    torch.testing.assert_close(weighted_cross_entropy(logits, y.float(), class_weight=cw), expected)
    # Weight 0 removes a sample exactly; integer weights duplicate it.
    sw = torch.ones(50)
    sw[0], sw[1] = 0.0, 2.0
    dup = torch.cat([logits[1:], logits[1:2]]), torch.cat([y[1:], y[1:2]])
    torch.testing.assert_close(
        weighted_cross_entropy(logits, y.float(), sample_weight=sw), F.cross_entropy(*dup)
    )


def test_nan_targets_are_ignored() -> None:
    logits = torch.randn(4, 2)
    y = torch.tensor([0.0, 1.0, float("nan"), 1.0])
    torch.testing.assert_close(
        weighted_cross_entropy(logits, y), F.cross_entropy(logits[[0, 1, 3]], y[[0, 1, 3]].long())
    )
    pred, target = torch.zeros(3), torch.tensor([1.0, float("nan"), 3.0])
    assert float(weighted_mse(pred, target)) == 5.0


def test_volatility_weights_favour_calm_windows() -> None:
    vol = torch.tensor([0.5, 1.0, 2.0, 4.0, 1000.0])
    w = volatility_weights(vol)
    assert float(w.mean()) == pytest.approx(1.0)
    assert all(a > b for a, b in zip(w.tolist(), w.tolist()[1:], strict=False))
    assert float(w.max() / w.min()) <= 16.0 + 1e-4  # clipped: one wild window cannot vanish entirely
    assert torch.equal(volatility_weights(vol, power=0.0), torch.ones(5))
    x = torch.zeros(2, 4, 2)
    x[0, :, 1] = torch.tensor([1.0, -1.0, 1.0, -1.0])
    x[1, :, 1] = torch.tensor([3.0, -3.0, 3.0, -3.0])
    assert window_volatility(x, 1).tolist() == [1.0, 3.0]


def test_classification_task_uses_volatility_from_the_inputs_only() -> None:
    x = torch.zeros(2, 4, 1)
    x[0, :, 0] = torch.tensor([0.1, -0.1, 0.1, -0.1])  # calm
    x[1, :, 0] = torch.tensor([2.0, -2.0, 2.0, -2.0])  # turbulent
    logits = torch.tensor([[0.0, 3.0], [0.0, 3.0]])
    y = torch.tensor([[0.0], [1.0]])  # calm sample wrong (high loss), turbulent right (low loss)
    plain = ClassificationTask().loss(logits, x, y)
    weighted = ClassificationTask(volatility_feature=0).loss(logits, x, y)
    assert float(weighted) > float(plain)  # the calm, badly predicted sample now counts more


def test_multi_horizon_loss_weights_each_part() -> None:
    out = {"trend_1": torch.zeros(2), "direction_logits_1": torch.zeros(2, 2)}
    out |= {"trend_5": torch.zeros(2), "direction_logits_5": torch.zeros(2, 2)}
    targets = {"trend_1": torch.ones(2), "direction_1": torch.zeros(2)}
    targets |= {"trend_5": 2 * torch.ones(2), "direction_5": torch.ones(2)}
    loss = MultiHorizonLoss([1, 5], regression_weight={1: 1.0, 5: 0.25}, classification_weight=2.0)
    total, parts = loss(out, targets)
    ln2 = float(np.log(2))
    assert float(total) == pytest.approx(2 * ln2 + 1.0 + 2 * ln2 + 0.25 * 4.0)
    assert float(parts["trend_5"]) == 4.0
    with pytest.raises(ConfigError):
        MultiHorizonLoss([1, 5], regression_weight={1: 1.0})
