"""Numeric options at their edges: every number has a stated range, checked at parse time (exit 2, the range
in --help), and a model too big for memory is refused by name before anything is allocated."""

from __future__ import annotations

import argparse

import pytest
from cli_helpers import TINY

from neural_trader.cli import build_parser


def _commands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    return next(a for a in parser._actions if a.dest == "command").choices


def _numeric_actions():
    for name, command in _commands().items():
        for action in command._actions:
            if action.type in (int, float) or getattr(action.type, "range_words", None):
                yield name, action


def test_every_numeric_option_states_its_range_in_help() -> None:
    seen = 0
    for name, action in _numeric_actions():
        words = getattr(action.type, "range_words", None)
        assert words, f"{name} {action.option_strings[0]} is a number without a range (use options.number)"
        assert (" in " in words) or ("<=" in words) or (")" in words), (name, action.option_strings, words)
        help_text = _commands()[name].format_help()
        assert words.split(" in ")[-1].split()[0] in help_text, (name, action.option_strings, words)
        seen += 1
    assert seen > 50  # every command's numbers, not a few


def test_every_numeric_option_has_an_upper_bound() -> None:
    """No number is open-ended: an integer large enough would overflow torch or the Rust kernels."""
    for name, action in _numeric_actions():
        words = action.type.range_words
        assert "..=" in words or "<" in words or ("[" in words or "(" in words), (name, action.option_strings)
        assert ">=" not in words and "> " not in words, (name, action.option_strings, words)


@pytest.mark.parametrize(
    ("option", "value", "fragment"),
    [
        ("--seed", "18446744073709551616", "in 0..=18446744073709551615"),
        ("--seed", str(10**30), "in 0..=18446744073709551615"),
        ("--lr", "1e300", "in (0, 10]"),
        ("--threads", "2147483648", "in 1..=4096"),
        ("--num-layers", "1000", "in 1..=64"),
        ("--hidden-dim", "2000000", "in 1..=1048576"),
        ("--batch-size", str(2**40), "in 1..=1048576"),
        ("--dropout", "1", "in [0, 1)"),
    ],
)
def test_train_refuses_numbers_beyond_their_range_at_parse_time(
    cli, user_error, option: str, value: str, fragment: str
) -> None:
    # The data file does not exist: the refusal comes from the parser, before anything is read.
    proc = cli("train", "--model", "bilstm_classifier", "--data", "missing.csv", option, value)
    user_error(proc, "argument --", option, fragment, value)


@pytest.mark.parametrize(
    "argv",
    [
        ["evaluate", "--checkpoint", "x", "--data", "x", "--n-bootstrap", str(10**12)],
        ["splits", "--data", "x", "--groups", "100000"],
        ["tune", "--data", "x", "--model", "logreg", "--trials", str(10**9)],
        ["pretrain", "--input", "x", "--output", "y", "--num-augmentations", "1000"],
        ["bench", "--threads", "2147483648"],
        ["quickstart", "--epochs", str(10**12)],
        ["export", "--checkpoint", "x", "--onnx", "y", "--opset", str(10**6)],
    ],
)
def test_every_command_bounds_its_numbers(cli, user_error, argv: list[str]) -> None:
    user_error(cli(*argv), "argument --", "expected an integer in")


def test_a_model_too_big_for_memory_is_refused_by_its_sizes(cli, user_error, goog_csv, tmp_path) -> None:
    """640 GB of LSTM weights: a ConfigError naming the size, not torch's allocator traceback."""
    argv = ["train", "--model", "bilstm_classifier", "--data", str(goog_csv), "--out", str(tmp_path), *TINY]
    user_error(cli(*argv, "--hidden-dim", "200000"), "hidden_size=200000", "memory")
    assert not (tmp_path / "best.safetensors").exists()


def test_one_batch_too_big_for_memory_is_refused_before_training(cli, user_error, goog_csv, tmp_path) -> None:
    argv = ["train", "--model", "bilstm_classifier", "--data", str(goog_csv), "--out", str(tmp_path)]
    sizes = ["--window", "60", "--hidden-dim", "4096", "--num-layers", "8", "--batch-size", "100000"]
    user_error(
        cli(*argv, *sizes, "--epochs", "1", "--no-progress"), "training bilstm_classifier", "batch_size="
    )
