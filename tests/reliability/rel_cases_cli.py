"""Hostile command lines for every sub-command of ``neural-trader`` (discovered from the parser, so
commands added later are covered too): ``--help``, unknown options, missing required arguments,
numbers the option's validator refuses, and hostile files in every input path option (missing,
directory, empty, garbage, compressed garbage, ``/dev/zero``, a FIFO, a hostile checkpoint).

The command runs in the case's process through ``cli.main(argv)``, exactly what ``python -m
neural_trader.cli`` runs. It passes when it ends with an exit status of 2 (a usage error from argparse,
or the CLI's one-line ``neural-trader: error: ...``) or 0 for ``--help``; an exception escaping
``main`` (a traceback for the user) or any other status fails.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
from collections.abc import Callable

import numpy as np
from rel_cases import add
from rel_fixtures import bars, clf_file, workdir

from neural_trader import cli

# Numbers given to every typed option; the ones its validator refuses must exit with status 2.
NUMBERS = ["abc", "-1", "0", "nan", "inf", "-inf", "1e400", "99999999999999999999999999", "", "0x10", "1.5"]
# Input options by the kind of file they read.
DATA_OPTIONS = {"data", "input"}
CHECKPOINT_OPTIONS = {"checkpoint", "pretrained_encoder", "resume"}
SPLIT_OPTIONS = {"split"}


def run_cli(argv: list[str]) -> tuple[int, str]:
    """``cli.main(argv)`` with stdout/stderr captured: ``(exit status, stderr)``."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main(argv)
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
    return int(code), err.getvalue()


def expect_status(argv_fn: Callable[[], list[str]], status: int, *also: int) -> Callable[[], str]:
    def run() -> str:
        argv = argv_fn()
        code, err = run_cli(argv)
        assert code in (status, *also), f"exit status {code}, expected {status}; stderr: {err[-500:]}"
        assert "Traceback" not in err, err[-1500:]
        if code == 2:
            assert err.strip(), "an error without a message"
        return f"status {code}: {err.strip().splitlines()[-1][:200] if err.strip() else ''}"

    return run


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = cli.build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _options(sub: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in sub._actions if a.option_strings and a.dest != "help"]


# ---------------------------------------------------------------------------------------- files
def _write(name: str, data: bytes | str) -> str:
    path = workdir() / "cli" / name
    path.parent.mkdir(exist_ok=True)
    if not path.exists():
        path.write_bytes(data.encode() if isinstance(data, str) else data)
    return str(path)


def valid_data() -> str:
    return _write("bars.csv", bars(160).to_csv())


def _fifo() -> str:
    path = workdir() / "cli" / "fifo.safetensors"
    path.parent.mkdir(exist_ok=True)
    if not path.exists():
        os.mkfifo(path)
    return str(path)


def _special(name: str, target: str | None = None) -> str:
    """A FIFO (``target`` None) or a link to ``target`` named ``name``: a reader must refuse both, not
    block on the FIFO's open or read ``/dev/zero`` until memory runs out."""
    path = workdir() / "cli" / name
    path.parent.mkdir(exist_ok=True)
    if not path.is_symlink() and not path.exists():
        if target is None:
            os.mkfifo(path)
        else:
            path.symlink_to(target)
    return str(path)


def _hostile_config_checkpoint() -> str:
    from rel_cases_checkpoints import with_config

    return _write("hostile_config.safetensors", with_config("bilstm_classifier", hidden_size=2**30))


GARBAGE = np.random.default_rng(7).bytes(4096)
HOSTILE_DATA: dict[str, Callable[[], str]] = {
    "missing": lambda: str(workdir() / "cli" / "missing.csv"),
    "directory_without_bars": lambda: str(workdir() / "cli" / "emptydir"),
    "empty_csv": lambda: _write("empty.csv", b""),
    "garbage_csv": lambda: _write("garbage.csv", GARBAGE),
    "garbage_csv_gz": lambda: _write("garbage.csv.gz", GARBAGE),
    "nan_bars_csv": lambda: _write("nan.csv", bars(160).to_csv().replace(",", ",nan", 7)),
    "wrong_suffix": lambda: _write("bars.txt", bars(160).to_csv()),
    "dev_null": lambda: "/dev/null",
    "fifo_csv": lambda: _special("fifo.csv"),
    "dev_zero_link_csv": lambda: _special("zero.csv", "/dev/zero"),
}
HOSTILE_CHECKPOINTS: dict[str, Callable[[], str]] = {
    "missing": lambda: str(workdir() / "cli" / "missing.safetensors"),
    "directory": lambda: str(workdir() / "cli" / "emptydir"),
    "empty": lambda: _write("empty.safetensors", b""),
    "random_bytes": lambda: _write("random.safetensors", GARBAGE),
    "truncated": lambda: _write("truncated.safetensors", clf_file().read_bytes()[:100]),
    "header_petabytes": lambda: _write("petabytes.safetensors", (2**50).to_bytes(8, "little") + b"{}"),
    "hostile_config": _hostile_config_checkpoint,
    "dev_zero": lambda: "/dev/zero",
    "fifo": _fifo,
    "garbage_extra_metadata": lambda: _garbage_extra(),
}


def _garbage_extra() -> str:
    # A valid model whose extra metadata (scaler, splits, data options written by `train`) is garbage.
    from rel_fixtures import clf_model

    path = workdir() / "cli" / "garbage_extra.safetensors"
    if not path.exists():
        extra = {
            k: "{not json" for k in ("scaler", "splits", "data", "periods", "features", "task", "target")
        }
        clf_model().save(path, extra=extra)
    return str(path)


HOSTILE_SPLITS: dict[str, Callable[[], str]] = {
    "missing": lambda: str(workdir() / "cli" / "missing.json"),
    "garbage": lambda: _write("garbage.json", GARBAGE),
    "deeply_nested": lambda: _write("nested.json", "[" * 100_000 + "]" * 100_000),
    "not_a_split": lambda: _write("other.json", '{"format": "other"}'),
    "fifo": lambda: _special("fifo.json"),
    "dev_zero_link": lambda: _special("zero.json", "/dev/zero"),
}


def _baseline(sub: argparse.ArgumentParser, case_dir: str) -> dict[str, list[str]]:
    """Valid values for every required option (outputs go to ``case_dir``)."""
    values: dict[str, list[str]] = {}
    for a in _options(sub):
        if not a.required:
            continue
        flag = a.option_strings[0]
        if a.dest in DATA_OPTIONS:
            values[a.dest] = [flag, valid_data()]
        elif a.dest in CHECKPOINT_OPTIONS:
            values[a.dest] = [flag, str(clf_file())]
        elif a.dest == "model":
            values[a.dest] = [flag, "bilstm_classifier"]
        else:  # an output path
            values[a.dest] = [flag, os.path.join(case_dir, f"out-{a.dest}")]
    return values


def _argv(
    cmd: str, sub: argparse.ArgumentParser, dest: str, value: list[str], case: str
) -> Callable[[], list[str]]:
    def build() -> list[str]:
        case_dir = str(workdir() / "cli" / case)
        os.makedirs(case_dir, exist_ok=True)
        (workdir() / "cli" / "emptydir").mkdir(exist_ok=True)
        base = _baseline(sub, case_dir)
        base[dest] = value
        quiet = ["--no-progress"] if _has(sub, "no_progress") else []
        return [cmd, *(v for vs in base.values() for v in vs), *quiet]

    return build


def _has(sub: argparse.ArgumentParser, dest: str) -> bool:
    return any(a.dest == dest for a in _options(sub))


def _refuses(action: argparse.Action, text: str) -> bool:
    try:
        action.type(text)  # type: ignore[misc]
    except (argparse.ArgumentTypeError, ValueError, TypeError):
        return True
    return False


def register() -> None:
    add("cli/--help", expect_status(lambda: ["--help"], 0), None, group="cli")
    add("cli/no_command", expect_status(lambda: [], 2), None, group="cli")
    add("cli/unknown_command", expect_status(lambda: ["no-such-command"], 2), None, group="cli")
    add("cli/models", expect_status(lambda: ["models"], 0), None, group="cli")
    for cmd, sub in _subcommands().items():
        add(f"cli.{cmd}/--help", expect_status(lambda c=cmd: [c, "--help"], 0), None, group="cli")
        add(
            f"cli.{cmd}/unknown_option",
            expect_status(lambda c=cmd: [c, "--no-such-option"], 2),
            None,
            group="cli",
        )
        if any(a.required for a in _options(sub)):
            add(f"cli.{cmd}/missing_required", expect_status(lambda c=cmd: [c], 2), None, group="cli")
        for action in _options(sub):
            flag = action.option_strings[0]
            if callable(action.type):
                for text in NUMBERS:
                    if _refuses(action, text):
                        add(
                            f"cli.{cmd}/{flag}={text!r}",
                            expect_status(lambda c=cmd, f=flag, t=text: [c, f, t], 2),
                            None,
                            group="cli",
                            slow=text not in ("abc", "-1", "nan"),
                        )
            if action.choices:
                add(
                    f"cli.{cmd}/{flag}=not_a_choice",
                    expect_status(lambda c=cmd, f=flag: [c, f, "not-a-choice"], 2),
                    None,
                    group="cli",
                )
            hostile: dict[str, Callable[[], str]] = {}
            if action.dest in DATA_OPTIONS:
                hostile = HOSTILE_DATA
            elif action.dest in CHECKPOINT_OPTIONS:
                hostile = HOSTILE_CHECKPOINTS
            elif action.dest in SPLIT_OPTIONS:
                hostile = HOSTILE_SPLITS
            for label, make in hostile.items():
                case = f"{cmd}-{action.dest}-{label}"
                add(
                    f"cli.{cmd}/{flag}={label}",
                    # Extra metadata is optional: a command that does not need it may succeed.
                    expect_status(
                        _lazy_argv(cmd, sub, action.dest, flag, make, case),
                        2,
                        *((0,) if "extra" in label else ()),
                    ),
                    None,
                    group="cli",
                    max_rss_growth_mb=400,
                    slow=label in ("wrong_suffix", "header_petabytes", "dev_null"),
                )


def _lazy_argv(
    cmd: str, sub: argparse.ArgumentParser, dest: str, flag: str, make: Callable[[], str], case: str
) -> Callable[[], list[str]]:
    def build() -> list[str]:
        return _argv(cmd, sub, dest, [flag, make()], case)()

    return build


register()
