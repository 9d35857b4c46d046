"""``train`` on windows gathered batch by batch gives the run it gives on materialised windows: the same
weights, bit for bit, and the same test scores, for several symbols, feature and candle inputs."""

from __future__ import annotations

import pytest
import torch

import neural_trader as nt
from neural_trader.checkpoint import Checkpoint
from neural_trader.data import (
    DataSpec,
    LazyWindows,
    batch_loader,
    chronological_split,
    fit_scaler,
    series_from_bars,
)
from neural_trader.datasets import load_sp500_daily
from neural_trader.training import ClassificationTask, Trainer, TrainerConfig
from neural_trader.workflows import ModelOptions, TrainOptions, train
from neural_trader.workflows.train import part_windows, pool


@pytest.fixture(scope="module")
def three_symbols():
    """The S&P 500 bars cut into three series of their own, as a folder of three symbols would be."""
    bars = load_sp500_daily()
    cuts = [(0, 1500), (1500, 3300), (3300, 5031)]
    return [series_from_bars(f"part{k}", bars.iloc[lo:hi], 5) for k, (lo, hi) in enumerate(cuts)]


@pytest.mark.parametrize("inputs", ["features", "candles"])
def test_gathered_and_materialised_windows_train_the_same_weights(tmp_path, three_symbols, inputs):
    spec = DataSpec(window=16, horizon=5, inputs=inputs)
    splits = {s.symbol: chronological_split(s.n_rows, horizon=5, index=s.index) for s in three_symbols}
    results = {}
    for gather in (True, False):
        options = TrainOptions(epochs=2, batch_size=128, device="cpu", progress=False, gather=gather)
        results[gather] = train(
            "bilstm_classifier",
            three_symbols,
            spec,
            splits,
            tmp_path / str(gather),
            model_options=ModelOptions(hidden_size=8, num_layers=1),
            options=options,
        )
    lazy, eager = (Checkpoint.read(results[g].checkpoint).tensors for g in (True, False))
    assert lazy.keys() == eager.keys()
    for name in lazy:
        assert torch.equal(lazy[name], eager[name]), name
    assert results[True].test_metrics == results[False].test_metrics
    assert results[True].windows == results[False].windows


def test_a_run_on_gathered_windows_resumes_bit_for_bit(tmp_path, three_symbols):
    spec = DataSpec(window=16, horizon=5)
    splits = {s.symbol: chronological_split(s.n_rows, horizon=5, index=s.index) for s in three_symbols}
    scaler = fit_scaler(three_symbols, {k: v.train for k, v in splits.items()}, spec)
    sets = pool(part_windows(three_symbols, spec, scaler, splits), gather=True)
    assert isinstance(sets["train"].x, LazyWindows) and sets["train"].x._root is None  # one call per symbol

    def run(epochs: int, out: str, resume: bool = False) -> Trainer:
        torch.manual_seed(7 if resume else 0)  # a resumed run's fresh initialisation must not matter
        model = nt.BiLSTMClassifier(nt.BiLSTMClassifierConfig(input_size=28, hidden_size=8))
        cfg = TrainerConfig(epochs=epochs, schedule="constant", progress=False, device="cpu", out_dir=out)
        trainer = Trainer(model, ClassificationTask(), cfg)
        train_loader = batch_loader(sets["train"], 256, seed=3)
        resume_from = tmp_path / out / "last.safetensors" if resume else None
        trainer.fit(train_loader, batch_loader(sets["val"], 256), resume_from=resume_from)
        return trainer

    whole = run(3, str(tmp_path / "whole"))
    run(1, str(tmp_path / "split"))
    resumed = run(3, str(tmp_path / "split"), resume=True)
    for a, b in zip(whole.model.state_dict().values(), resumed.model.state_dict().values(), strict=True):
        assert torch.equal(a, b)
