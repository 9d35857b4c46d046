"""Two processes under torchrun (gloo, CPU) train what one process trains, and fail fast when a rank dies.

The job (``torchrun_job.py``) fits a tiny BiLSTM classifier on multi-symbol windows (encoder frozen for
the first epoch, early stopping after the third) and pre-trains a masked autoencoder. It runs once
in this process and once as 2 ranks with the same global batch and seed.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
import torchrun_job
from safetensors.numpy import load_file

from neural_trader.models.bilstm_classifier import BiLSTMClassifier, BiLSTMClassifierConfig
from neural_trader.training.resume import read_training_state


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, torchrun) -> dict[str, Path]:
    """The job in one process (``one``) and as two ranks (``two``)."""
    root = tmp_path_factory.mktemp("jobs")
    torchrun_job.run(root / "one")
    launched = torchrun([str(root / "two")])
    assert launched.returncode == 0, launched.output[-6000:]
    return {"one": root / "one", "two": root / "two"}


def _record(folder: Path, rank: int) -> dict:
    return json.loads((folder / f"rank{rank}.json").read_text())


def test_two_ranks_end_with_the_weights_of_one_process(runs) -> None:
    one = load_file(str(runs["one"] / "rank0.safetensors"))
    ranks = [load_file(str(runs["two"] / f"rank{r}.safetensors")) for r in range(2)]
    assert set(one) == set(ranks[0]) == set(ranks[1])
    for name in one:
        np.testing.assert_array_equal(ranks[0][name], ranks[1][name], err_msg=f"ranks disagree on {name}")
    diff = max(float(np.abs(one[k] - ranks[0][k]).max()) for k in one)
    assert diff < 1e-5, f"max |2 ranks - 1 process| = {diff:.3g}"
    # Not vacuous: the encoder, frozen for the first epoch, did train after it thawed.
    torch.manual_seed(0)
    init = BiLSTMClassifier(BiLSTMClassifierConfig(len(torchrun_job.FEATURES), 6, 1, 0.0)).state_dict()
    trained = torch.from_numpy(one["classifier.encoder.lstm.weight_ih_l0"])
    assert float((trained - init["encoder.lstm.weight_ih_l0"]).abs().max()) > 1e-3


def test_every_training_window_is_seen_once_per_epoch_with_balanced_ranks(runs) -> None:
    a, b = _record(runs["two"], 0), _record(runs["two"], 1)
    n, epochs = a["n_train_windows"], len(a["history"])
    counts = Counter(a["seen"] + b["seen"])
    assert sorted(counts) == list(range(n)) and set(counts.values()) == {epochs}
    # 205 windows in global batches of 16: 12 full batches (8 + 8) and one of 13 (7 + 6).
    assert n == 205 and (len(a["seen"]), len(b["seen"])) == (epochs * 103, epochs * 102)


def test_ranks_agree_on_history_early_stop_metrics_and_scaler(runs) -> None:
    one, a, b = _record(runs["one"], 0), _record(runs["two"], 0), _record(runs["two"], 1)
    assert a["history"] == b["history"] and a["test"] == b["test"]  # rank 0's numbers, broadcast
    # min_delta makes epochs 2 and 3 "no better": patience 2 stops after epoch 3 of 6, on both ranks.
    assert len(one["history"]) == len(a["history"]) == 3
    for key in ("train_loss", "val_loss", "val_roc_auc", "lr"):
        np.testing.assert_allclose(
            [r[key] for r in a["history"]], [r[key] for r in one["history"]], rtol=1e-5, atol=1e-6
        )
    # Test metrics from predictions gathered over both ranks' blocks: AUC sees every test window.
    np.testing.assert_allclose(a["test"]["roc_auc"], one["test"]["roc_auc"], atol=1e-6)
    np.testing.assert_allclose(
        [r["val_loss"] for r in a["pretrain_history"]],
        [r["val_loss"] for r in one["pretrain_history"]],
        rtol=1e-5,
    )
    assert a["scaler"] == b["scaler"] == one["scaler"]  # the same bits on every rank, no communication


def test_rank_zero_writes_the_files_and_every_rank_sees_them(runs) -> None:
    a, b = _record(runs["two"], 0), _record(runs["two"], 1)
    run = runs["two"] / "run"
    assert a["best_checkpoint"] == b["best_checkpoint"] == str(run / "best.safetensors")
    assert sorted(p.name for p in run.iterdir()) == [
        "best.safetensors",
        "history.json",
        "history.png",
        "last.safetensors",
    ]
    state = read_training_state(run / "last.safetensors")
    assert state.state["epoch"] == 3 and state.state["frozen"] == []
    assert (runs["two"] / "encoder.safetensors").stat().st_size > 0


def test_a_killed_rank_fails_the_run_instead_of_hanging(tmp_path, torchrun) -> None:
    launched = torchrun([str(tmp_path), "--fail", "kill"])
    assert "rank 1: kill at training step 3" in launched.output, launched.output[-4000:]
    assert launched.returncode != 0
    # torchrun names the rank that died and how.
    assert "rank      : 1" in launched.output and "SIGKILL" in launched.output, launched.output[-4000:]
    assert not (tmp_path / "rank0.json").exists()


def test_a_hung_rank_fails_the_run_at_the_collective_timeout(tmp_path, torchrun) -> None:
    launched = torchrun([str(tmp_path), "--fail", "hang"])
    assert "rank 1: hang at training step 3" in launched.output, launched.output[-4000:]
    assert launched.returncode != 0
    # Rank 0 gave up waiting after dist_timeout_s (8 s); torchrun then stopped the sleeping rank 1.
    assert "Timed out waiting 8000ms" in launched.output, launched.output[-4000:]
    assert "exitcode  : -15" in launched.output
