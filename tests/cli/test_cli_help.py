"""Every command has --help; the listing commands print the registry."""

from __future__ import annotations

import pytest

from neural_trader.cli import build_parser, main
from neural_trader.models import BASELINES, MODELS

COMMAND_NAMES = ["quickstart", "pretrain", "train", "evaluate", "predict", "export", "splits", "models"]


def test_top_level_help_and_version(cli) -> None:
    proc = cli("--help")
    assert proc.returncode == 0 and proc.stderr == ""
    for name in COMMAND_NAMES:
        assert name in proc.stdout
    proc = cli("--version")
    assert proc.returncode == 0 and proc.stdout.startswith("neural-trader 0.")


def test_no_command_is_a_usage_error(cli, user_error) -> None:
    user_error(cli(), "the following arguments are required: COMMAND")


@pytest.mark.parametrize("name", COMMAND_NAMES)
def test_every_command_has_help(name: str, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([name, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: neural-trader {name}")
    if name not in ("models", "splits"):
        assert "--seed" in out and "--device" in out


def test_documented_options_exist() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices
    expected = {
        "pretrain": ["--input", "--output", "--epochs", "--patience", "--mask-ratio", "--mask-strategy",
                     "--patch-size", "--hidden-dim", "--batch-size", "--augment", "--num-augmentations",
                     "--device"],
        "train": ["--model", "--data", "--split", "--pretrained-encoder", "--freeze-encoder",
                  "--no-freeze-encoder", "--log-pretrained-stats"],
        "predict": ["--native"],
        "export": ["--onnx"],
        "quickstart": ["--out", "--seed", "--device"],
    }  # fmt: skip
    for command, options in expected.items():
        known = {s for a in sub[command]._actions for s in a.option_strings}
        assert set(options) <= known, (command, set(options) - known)


def test_models_lists_models_and_baselines(capsys) -> None:
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    names = [line.split()[0] for line in out.splitlines()]
    assert sorted(names) == sorted([*MODELS, *BASELINES])
    served = {line.split()[0] for line in out.splitlines() if "served natively" in line}
    assert served == {name for name in MODELS if name != "masked_bilstm_autoencoder"}
