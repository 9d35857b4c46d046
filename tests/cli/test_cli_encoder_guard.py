"""The pre-training leakage guard recognises bars by content (timestamps and closes), so renaming the file
does not walk around it, and an encoder without provenance is trained with a one-line warning recorded
in the checkpoint (issue 18)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from cli_helpers import assert_user_error, run_cli

from neural_trader.checkpoint import Checkpoint

SIZES = ["--window", "8", "--hidden-dim", "4", "--num-layers", "1", "--epochs", "1", "--no-progress"]


@pytest.fixture(scope="module")
def late_encoder(goog_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An encoder pre-trained on the first 90% of goog's rows (train validates after the first 70%)."""
    encoder = tmp_path_factory.mktemp("enc") / "late.safetensors"
    args = ["--input", str(goog_csv), "--output", str(encoder), "--train-fraction", "0.9", *SIZES]
    proc = run_cli("pretrain", *args)
    assert proc.returncode == 0, proc.stderr
    return encoder


def _train(data: Path, encoder: Path, out: Path):
    args = ["--model", "bilstm_classifier", "--data", str(data), "--pretrained-encoder", str(encoder)]
    return run_cli("train", *args, "--out", str(out), *SIZES)


def test_the_same_bars_under_another_file_name_are_refused(
    late_encoder: Path, goog_csv: Path, tmp_path: Path
) -> None:
    renamed = tmp_path / "renamed_index.csv"
    shutil.copy(goog_csv, renamed)
    proc = _train(renamed, late_encoder, tmp_path / "run")
    assert_user_error(
        proc,
        str(late_encoder),
        "past the start of this split's validation rows",
        "renamed_index row",
        "has the timestamp and close of a bar the encoder saw (goog,",
        "whatever the file's name",
    )


def test_an_encoder_of_the_training_rows_passes_and_says_how_it_was_checked(
    goog_csv: Path, tmp_path: Path
) -> None:
    encoder = tmp_path / "early.safetensors"
    proc = run_cli(
        "pretrain", "--input", str(goog_csv), "--output", str(encoder), "--train-fraction", "0.6", *SIZES
    )
    assert proc.returncode == 0, proc.stderr
    renamed = tmp_path / "other.csv"
    shutil.copy(goog_csv, renamed)
    proc = _train(renamed, encoder, tmp_path / "run")
    assert proc.returncode == 0, proc.stderr
    assert "warning" not in proc.stderr
    meta = Checkpoint.read(tmp_path / "run" / "best.safetensors").extra
    assert json.loads(meta["encoder_provenance"])["checked"].startswith("by content")


def test_an_encoder_without_provenance_warns_on_one_line_and_in_the_metadata(
    late_encoder: Path, goog_csv: Path, tmp_path: Path
) -> None:
    ck = Checkpoint.read(late_encoder)
    bare = Checkpoint(ck.model, ck.config, ck.tensors)  # as saved from the Python API: no metadata
    encoder = tmp_path / "bare.safetensors"
    bare.write(encoder)
    proc = _train(goog_csv, encoder, tmp_path / "run")
    assert proc.returncode == 0, proc.stderr
    warnings = [line for line in proc.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1, proc.stderr
    assert (
        warnings[0].startswith("neural-trader: warning: ")
        and "carries no pre-training provenance" in warnings[0]
    )
    meta = json.loads(Checkpoint.read(tmp_path / "run" / "best.safetensors").extra["encoder_provenance"])
    assert meta["checked"] == "no" and "no pre-training provenance" in meta["warning"]
