"""Sizes that pass the configs' bounds but cannot fit in memory are refused by name before allocation, and
the library configs bound what cannot make sense (seeds, learning rates, layers, widths)."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

import neural_trader as nt
from neural_trader.errors import ConfigError
from neural_trader.models import memory
from neural_trader.training import ClassificationTask, Trainer, TrainerConfig
from neural_trader.training.masked import MaskedReconstructionTask


def test_a_model_whose_parameters_cannot_fit_is_refused_before_allocation() -> None:
    with pytest.raises(ConfigError, match=r"hidden_size=200000.*parameters.*memory"):
        nt.BiLSTMClassifier(nt.BiLSTMClassifierConfig(input_size=4, hidden_size=200000))


def test_the_meta_sizing_build_counts_what_the_real_model_holds() -> None:
    config = nt.BiLSTMClassifierConfig(input_size=5, hidden_size=7, num_layers=2)
    model = nt.BiLSTMClassifier(config)
    assert memory.parameter_count(nt.BiLSTMClassifier, config) == model.num_parameters()


def test_one_batch_that_cannot_fit_is_refused_by_the_trainer() -> None:
    model = nt.BiLSTMClassifier(nt.BiLSTMClassifierConfig(input_size=2, hidden_size=1024, num_layers=4))
    with pytest.raises(ConfigError, match=r"training bilstm_classifier .*batch_size=1000000000.*memory"):
        memory.check_training(model, 10**9, 10**4, "cpu")
    dataset = TensorDataset(torch.zeros(4, 2, 2), torch.tensor([[0.0], [1.0], [0.0], [1.0]]))
    task = ClassificationTask()
    small = DataLoader(dataset, batch_size=2)
    trainer = Trainer(model, task, TrainerConfig(epochs=1, device="cpu", progress=False))
    history = trainer.fit(small, small)  # a batch that fits trains
    assert len(history.records) == 1


def test_activations_grow_with_the_batch_and_the_window() -> None:
    model = nt.BiLSTMClassifier(nt.BiLSTMClassifierConfig(input_size=3, hidden_size=8, num_layers=2))
    one = memory.activation_bytes(model, 1, 10)
    assert memory.activation_bytes(model, 2, 10) == 2 * one
    assert memory.activation_bytes(model, 1, 20) == 2 * one
    assert one >= 4 * 10 * 2 * 2 * 6 * 8  # the LSTM's gates and states, 4 bytes each


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (
            lambda: nt.BiLSTMClassifierConfig(input_size=4, num_layers=65),
            "num_layers must be an integer in 1..=64",
        ),
        (
            lambda: nt.BiLSTMClassifierConfig(input_size=2**20 + 1),
            "input_size must be an integer in 1..=1048576",
        ),
        (lambda: TrainerConfig(seed=2**64), "seed must be an integer in 0..=18446744073709551615"),
        (lambda: TrainerConfig(lr=1e300), r"lr must be a finite number in \(0, 10\]"),
        (lambda: MaskedReconstructionTask(seed=-1), "seed must be an integer in 0..="),
    ],
)
def test_library_configs_bound_what_cannot_make_sense(make, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        make()


def test_the_largest_seed_draws_masks() -> None:
    """Training masks come from seed * 100_003 + epoch, reduced to the kernels' 64 bits."""
    task = MaskedReconstructionTask(seed=2**64 - 1)
    for epoch in (0, 5, None):
        masks = task.masks(3, 20, epoch=epoch).numpy()
        assert masks.shape == (3, 20) and masks.any(axis=1).all()
