"""Options that do not apply to the chosen model, task, label, checkpoint or other options are refused (exit
2, one line naming the option and what it applies to), never silently ignored; every option of every
command declares what it applies to, and applicable options are still accepted."""

from __future__ import annotations

import argparse

import pytest

from neural_trader.cli import build_parser, scopes


def _commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    return next(a for a in parser._actions if a.dest == "command").choices


def test_every_option_of_every_command_declares_its_scope() -> None:
    parser = build_parser()
    commands = _commands(parser)
    assert {
        "train",
        "pretrain",
        "evaluate",
        "predict",
        "export",
        "splits",
        "tune",
        "bench",
        "quickstart",
    } <= set(commands)
    missing = {name: scopes.undeclared(command) for name, command in commands.items()}
    assert not any(missing.values()), missing
    declared = [a for c in commands.values() for a in c._actions if hasattr(a, "scope")]
    assert len(declared) > 100
    assert all(isinstance(a.scope, scopes.Scope) and a.scope.words for a in declared)


def _check(argv: list[str]) -> str | None:
    """The refusal of ``argv`` by the scope check alone (no command runs), or None when accepted."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        scopes.check_given(parser, args, scopes.given_dests(parser, argv))
    except Exception as exc:  # UsageError, or ConfigError for an unknown model
        return str(exc)
    return None


TRAIN = ["train", "--data", "bars.csv", "--model"]


@pytest.mark.parametrize(
    ("argv", "fragments"),
    [
        (
            [*TRAIN, "bilstm_classifier", "--num-heads", "3"],
            ["--num-heads applies to", "not to bilstm_classifier"],
        ),
        ([*TRAIN, "bilstm_classifier", "--target", "close"], ["--targets applies to forecasters"]),
        ([*TRAIN, "simple_lstm", "--teacher-forcing", "0.3"], ["--teacher-forcing applies to forecasters"]),
        ([*TRAIN, "lstm_attention", "--horizons", "7", "30"], ["--horizons applies to trend_attention"]),
        ([*TRAIN, "lstm_attention", "--no-class-weights"], ["--no-class-weights applies to class labels"]),
        (
            [*TRAIN, "bilstm_classifier", "--label", "forward_return", "--no-class-weights"],
            ["--no-class-weights"],
        ),
        (
            [*TRAIN, "bilstm_classifier", "--vol-window", "10"],
            ["--vol-window applies to triple-barrier labels"],
        ),
        ([*TRAIN, "lstm_attention", "--teacher-forcing-k", "3"], ["--teacher-forcing-k", "inverse_sigmoid"]),
        ([*TRAIN, "bilstm_classifier", "--freeze-encoder"], ["--freeze-encoder", "--pretrained-encoder"]),
        ([*TRAIN, "bilstm_classifier", "--fold", "2"], ["--fold applies to", "--split"]),
        (
            ["pretrain", "--input", "x", "--output", "y", "--num-augmentations", "3"],
            ["--num-augmentations", "--augment"],
        ),
        (
            ["pretrain", "--input", "x", "--output", "y", "--mask-strategy", "random", "--patch-size", "3"],
            ["--patch-size"],
        ),
        (
            ["pretrain", "--input", "x", "--output", "y", "--split", "s.json", "--train-fraction", "0.5"],
            ["--train-fraction"],
        ),
        (
            ["predict", "--checkpoint", "c", "--data", "d", "--native", "--device", "cpu"],
            ["--device", "--native"],
        ),
        (["predict", "--checkpoint", "c", "--data", "d", "--no-progress"], ["--no-progress applies to"]),
        (["export", "--checkpoint", "c", "--onnx", "o", "--device", "cpu"], ["--device applies to"]),
        (["splits", "--data", "d", "--kind", "cpcv", "--test-size", "50"], ["--test-size", "walk-forward"]),
        (["splits", "--data", "d", "--holdout", "0.1"], ["--holdout", "--kind walk-forward"]),
        (["tune", "--data", "d", "--model", "logreg", "--folds", "4"], ["--folds", "--kind cpcv"]),
        (
            ["tune", "--data", "d", "--model", "logreg", "--split", "s", "--holdout", "0.1"],
            ["--holdout", "--split"],
        ),
        (["bench", "--only", "pretrain", "--quick"], ["--quick", "--only pretrain"]),
        (["bench", "--val-batches", "2"], ["--val-batches", "--only pretrain"]),
    ],
)
def test_an_option_that_does_not_apply_is_refused_naming_what_it_applies_to(argv, fragments) -> None:
    refusal = _check(argv)
    assert refusal is not None, argv
    assert " applies to " in refusal and "\n" not in refusal
    for fragment in fragments:
        assert fragment in refusal, (fragment, refusal)


@pytest.mark.parametrize(
    "argv",
    [
        [*TRAIN, "lstm_attention", "--num-heads", "2", "--target", "close", "--teacher-forcing", "0.3"],
        [
            *TRAIN,
            "lstm_attention",
            "--teacher-forcing-schedule",
            "inverse_sigmoid",
            "--teacher-forcing-k",
            "3",
        ],
        [*TRAIN, "trend_attention", "--horizons", "7", "30", "--num-heads", "4", "--regression-weight", "2"],
        [*TRAIN, "enhanced_simple_lstm", "--num-heads", "4", "--no-class-weights"],
        [
            *TRAIN,
            "bilstm_classifier",
            "--label",
            "triple_barrier",
            "--barriers",
            "1",
            "2",
            "--vol-window",
            "10",
        ],
        [*TRAIN, "bilstm_classifier", "--label", "classes", "--label-column", "c", "--label-horizon", "3"],
        [
            *TRAIN,
            "bilstm_classifier",
            "--pretrained-encoder",
            "e",
            "--unfreeze-after",
            "2",
            "--log-pretrained-stats",
        ],
        [*TRAIN, "bilstm_classifier", "--split", "s", "--fold", "2", "--seed", "3", "--threads", "2"],
        [
            "pretrain",
            "--input",
            "x",
            "--output",
            "y",
            "--augment",
            "--num-augmentations",
            "3",
            "--patch-size",
            "5",
        ],
        ["predict", "--checkpoint", "c", "--data", "d", "--native"],
        ["predict", "--checkpoint", "c", "--data", "d", "--device", "cpu", "--threads", "2"],
        ["export", "--checkpoint", "c", "--onnx", "o", "--threads", "2", "--seed", "1"],
        [
            "splits",
            "--data",
            "d",
            "--kind",
            "cpcv",
            "--groups",
            "6",
            "--test-groups",
            "2",
            "--holdout",
            "0.1",
        ],
        ["splits", "--data", "d", "--mode", "rolling", "--test-size", "50", "--folds", "4"],
        ["tune", "--data", "d", "--model", "logreg", "--kind", "purged-kfold", "--folds", "4"],
        ["bench", "--only", "pretrain", "--steps", "2", "--threads", "1", "2", "--device", "cpu"],
        ["bench", "--quick"],
        ["quickstart", "--epochs", "2", "--folds", "2", "--seed", "1", "--no-progress"],
    ],
)
def test_options_that_apply_are_accepted(argv) -> None:
    assert _check(argv) is None


def test_an_inapplicable_option_exits_2_from_the_command_line(cli, user_error) -> None:
    """The issue's reproduction, as a user runs it: before any data is read (the file does not exist)."""
    user_error(
        cli(*TRAIN, "bilstm_classifier", "--num-heads", "3"), "--num-heads applies to", "bilstm_classifier"
    )
    user_error(
        cli(*TRAIN, "bilstm_classifier", "--target", "triple_barrier"), "--targets applies to forecasters"
    )


def test_a_checkpoints_options_are_scoped_by_what_it_holds(
    cli, user_error, trained, goog_csv, tmp_path
) -> None:
    """evaluate: --season is for forecasters; --band, --cost-bps and --baselines for classifiers."""
    argv = ["evaluate", "--checkpoint", str(trained), "--data", str(goog_csv), "--out", str(tmp_path)]
    user_error(cli(*argv, "--season", "7"), "--season applies to forecaster checkpoints", "classification")
    assert _check([*argv, "--band", "0.1", "--cost-bps", "3", "--baselines", "majority"]) is None
