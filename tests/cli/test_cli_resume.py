"""``train --resume``: a run killed after its second epoch, resumed from the command line, ends bit for bit
where the same run uninterrupted ends; a resume file of another model, configuration or data is refused
with exit 2 naming what differs.

The kill is a real SIGKILL, sent by the process to itself right after the trainer wrote the resume file of
epoch 2 (``faults/sitecustomize.py``, on the child's ``PYTHONPATH`` only in these tests).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch
from cli_helpers import assert_user_error, run_cli

from neural_trader.training.resume import read_training_state

FAULTS = Path(__file__).with_name("faults")
FOUR_EPOCHS = ["--window", "16", "--hidden-dim", "8", "--num-layers", "1", "--epochs", "4", "--no-progress"]


def train(
    data: Path, out: Path, *extra: str, kill_after_epoch: int | None = None
) -> subprocess.CompletedProcess:
    """``train`` of a bilstm_classifier for four epochs (killed after ``kill_after_epoch`` if given)."""
    args = ["train", "--model", "bilstm_classifier", "--data", str(data), "--out", str(out), *FOUR_EPOCHS]
    if kill_after_epoch is None:
        return run_cli(*args, *extra)
    env = dict(os.environ, NT_TEST_KILL_AFTER_EPOCH=str(kill_after_epoch), OMP_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(FAULTS), os.environ.get("PYTHONPATH")) if p)
    command = [sys.executable, "-m", "neural_trader.cli", *args, *extra]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, check=False)


@pytest.fixture(scope="module")
def killed(goog_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder of a four-epoch run killed (SIGKILL) right after its second epoch."""
    out = tmp_path_factory.mktemp("killed") / "run"
    proc = train(goog_csv, out, kill_after_epoch=2)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert read_training_state(out / "last.safetensors").state["epoch"] == 2
    return out


def _records(path: Path) -> list[dict]:
    # Wall-clock seconds per epoch are the one field that cannot repeat; every other value must.
    return [{k: v for k, v in r.items() if k != "seconds"} for r in json.loads(path.read_text())]


def test_a_killed_run_resumed_from_the_command_line_ends_bit_for_bit_like_the_uninterrupted_one(
    goog_csv: Path, killed: Path, tmp_path: Path
) -> None:
    straight = tmp_path / "straight"
    proc = train(goog_csv, straight)
    assert proc.returncode == 0, proc.stderr
    resumed = tmp_path / "resumed"
    shutil.copytree(killed, resumed)
    proc_resumed = train(goog_csv, resumed, "--resume")
    assert proc_resumed.returncode == 0, proc_resumed.stderr
    assert (resumed / "best.safetensors").read_bytes() == (straight / "best.safetensors").read_bytes()
    assert _records(resumed / "history.json") == _records(straight / "history.json")
    assert len(_records(resumed / "history.json")) == 4
    a, b = (read_training_state(p / "last.safetensors") for p in (straight, resumed))
    assert a.state["epoch"] == b.state["epoch"] == 4 and a.state["step"] == b.state["step"]
    for name, tensor in a.model_tensors.items():
        assert torch.equal(b.model_tensors[name], tensor), name
    # The summary's test scores come from the same best checkpoint.
    test_line = [line for line in proc.stdout.splitlines() if line.startswith("test ")]
    assert test_line == [line for line in proc_resumed.stdout.splitlines() if line.startswith("test ")]


def _other_bars(goog_csv: Path, folder: Path) -> Path:
    """The same file name (so the same symbol), one training bar's volume changed."""
    bars = pd.read_csv(goog_csv)
    bars.loc[100, "Volume" if "Volume" in bars else "volume"] *= 2
    folder.mkdir()
    path = folder / goog_csv.name
    bars.to_csv(path, index=False)
    return path


def test_a_resume_file_of_another_model_configuration_or_data_is_refused(
    goog_csv: Path, killed: Path, tmp_path: Path
) -> None:
    before = {p.name: p.read_bytes() for p in killed.iterdir()}
    resume = ["--resume", str(killed / "last.safetensors")]
    cases = [
        (goog_csv, ["--hidden-dim", "16"], "model config: hidden_size 8 -> 16"),
        (goog_csv, ["--window", "20"], "data spec: window 16 -> 20"),
        (goog_csv, ["--batch-size", "32"], "batch size: 64 -> 32"),
        (goog_csv, ["--no-class-weights"], "class weights: true -> false"),
        (goog_csv, ["--lr", "0.01"], "changed settings ['lr']"),
        (_other_bars(goog_csv, tmp_path / "other"), [], "training windows: "),
    ]
    for data, extra, fragment in cases:
        proc = train(data, killed, *extra, *resume)
        assert_user_error(proc, str(killed / "last.safetensors"), fragment)
    # Refused before anything was written.
    assert {p.name: p.read_bytes() for p in killed.iterdir()} == before


def test_resume_needs_a_resume_file_in_the_run_folder(goog_csv: Path, killed: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    proc = train(goog_csv, empty, "--resume")
    assert_user_error(proc, f"--resume: no resume file {empty / 'last.safetensors'}")
    proc = train(goog_csv, tmp_path / "elsewhere", "--resume", str(killed / "last.safetensors"))
    assert_user_error(proc, f"is not in --out {tmp_path / 'elsewhere'}")
