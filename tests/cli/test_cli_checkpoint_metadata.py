"""Checkpoints whose metadata disagrees with itself, or with the bars: refused at load (or before the
first window) with one error naming the disagreement, never a traceback from inside torch (issue 18)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch
from cli_helpers import assert_user_error, run_cli

import neural_trader as nt
from neural_trader.checkpoint import Checkpoint
from neural_trader.errors import CheckpointError
from neural_trader.workflows import read_trained

FEATURES = {"horizon": 5, "inputs": "features", "targets": [], "task": "direction", "window": 16}


def tampered(source: Path, out: Path, *, model: nt.TwinModel | None = None, **extra: object) -> Path:
    """A copy of ``source`` with other weights and config (``model``) or other metadata entries."""
    ck = Checkpoint.read(source)
    if model is not None:
        ck = Checkpoint(ck.model, dataclasses.asdict(model.config), dict(model.state_dict()), ck.extra)
    for key, value in extra.items():
        ck.extra[key] = value if isinstance(value, str) else json.dumps(value)
    ck.write(out)
    return out


def _with_offsets(stamps: list[str]) -> list[str]:
    return [t + "+00:00" for t in stamps]


def test_a_config_of_27_inputs_with_a_spec_of_28_features_is_refused_at_load(
    trained: Path, tmp_path: Path
) -> None:
    model = nt.BiLSTMClassifier(nt.BiLSTMClassifierConfig(input_size=27, hidden_size=8))
    path = tampered(trained, tmp_path / "m.safetensors", model=model)
    with pytest.raises(CheckpointError, match=r"input_size = 27, but its data spec yields 28 input columns"):
        read_trained(path)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({**FEATURES, "inputs": "candles"}, "input_size = 28, but its data spec yields 5 input columns"),
        (
            {**FEATURES, "task": "forecast", "targets": ["close_location"]},
            "learns the direction task, but its data spec's task is 'forecast'",
        ),
        ({**FEATURES, "label": "triple_barrier"}, "num_classes = 2, but its data spec yields 3 classes"),
    ],
)
def test_a_data_spec_that_disagrees_with_the_model_is_refused_at_load(
    trained: Path, tmp_path: Path, data: dict, message: str
) -> None:
    path = tampered(trained, tmp_path / "m.safetensors", data=data)
    with pytest.raises(CheckpointError, match=message):
        read_trained(path)


def test_scaler_columns_permuted_or_unknown_are_refused_naming_the_first_mismatch(
    trained: Path, tmp_path: Path
) -> None:
    scaler = json.loads(Checkpoint.read(trained).extra["scaler"])
    names = scaler["columns"]
    permuted = tampered(
        trained, tmp_path / "p.safetensors", scaler={**scaler, "columns": names[1:] + names[:1]}
    )
    with pytest.raises(
        CheckpointError, match="column 0 of the scaler is 'log_return', where the inputs have"
    ):
        read_trained(permuted)
    unknown = tampered(
        trained, tmp_path / "u.safetensors", scaler={**scaler, "columns": [*names[:3], "zz", *names[4:]]}
    )
    with pytest.raises(CheckpointError, match="column 3 of the scaler is 'zz'"):
        read_trained(unknown)
    for bad in (0.0, -1.0):
        std = tampered(
            trained, tmp_path / "s.safetensors", scaler={**scaler, "std": [bad, *scaler["std"][1:]]}
        )
        with pytest.raises(CheckpointError, match="scaler std of 'return' must be a finite float > 0"):
            read_trained(std)


def test_periods_mixing_time_zones_are_refused_and_consistent_ones_must_match_the_bars(
    trained: Path, goog_csv: Path, tmp_path: Path
) -> None:
    extra = Checkpoint.read(trained).extra
    periods = {
        s: {p: _with_offsets(b) for p, b in parts.items()}
        for s, parts in json.loads(extra["periods"]).items()
    }
    mixed = tampered(trained, tmp_path / "mixed.safetensors", periods=periods)
    with pytest.raises(CheckpointError, match="mix timestamps with and without a time zone"):
        read_trained(mixed)
    splits = json.loads(extra["splits"])
    for split in splits.values():
        split["time_range"] = _with_offsets(split["time_range"])
    aware = tampered(trained, tmp_path / "aware.safetensors", periods=periods, splits=splits)
    assert read_trained(aware).time_convention == "UTC"
    for command in (
        ["predict", "--output", str(tmp_path / "p.csv")],
        ["predict", "--native", "--output", str(tmp_path / "p.csv")],
        ["evaluate", "--out", str(tmp_path / "ev")],
    ):
        proc = run_cli(command[0], "--checkpoint", str(aware), "--data", str(goog_csv), *command[1:])
        assert_user_error(proc, "the bars have no time zone but", "was trained on timestamps with one")


@pytest.mark.parametrize("command", ["predict", "evaluate"])
def test_the_cli_reports_a_disagreeing_checkpoint_in_one_line(
    trained: Path, goog_csv: Path, tmp_path: Path, command: str
) -> None:
    model = nt.BiLSTMClassifier(nt.BiLSTMClassifierConfig(input_size=27, hidden_size=8))
    path = tampered(trained, tmp_path / "m.safetensors", model=model)
    out = ["--output", str(tmp_path / "p.csv")] if command == "predict" else ["--out", str(tmp_path / "ev")]
    proc = run_cli(command, "--checkpoint", str(path), "--data", str(goog_csv), *out)
    assert_user_error(proc, str(path), "input_size = 27")


@pytest.mark.parametrize(
    "command",
    [
        ["predict", "--output", "p.csv"],
        ["predict", "--native", "--output", "p.csv"],
        ["evaluate", "--out", "ev"],
    ],
)
def test_nan_weights_are_an_error_never_a_predicted_class_or_a_score(
    trained: Path, goog_csv: Path, tmp_path: Path, command: list[str]
) -> None:
    ck = Checkpoint.read(trained)
    ck.tensors["head.bias"] = torch.full_like(ck.tensors["head.bias"], float("nan"))
    path = tmp_path / "nan.safetensors"
    ck.write(path)
    out = [tmp_path / a if a.endswith((".csv", "ev")) else a for a in command[1:]]
    proc = run_cli(command[0], "--checkpoint", str(path), "--data", str(goog_csv), *map(str, out))
    assert_user_error(proc, str(path), "the model's proba is NaN or infinite", "tensor `head.bias`")
    assert not (tmp_path / "p.csv").exists() and not (tmp_path / "ev").exists()
