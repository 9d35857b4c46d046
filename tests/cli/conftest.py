"""Fixtures of the CLI tests: the CLI run as a user runs it (a subprocess), a small real file of bars,
and one tiny trained model (with its evaluation report) shared by the tests of a session."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_helpers import SHARED_DATA, TINY, assert_user_error, run_cli


@pytest.fixture(scope="session")
def cli() -> Callable[..., subprocess.CompletedProcess]:
    """The :func:`run_cli` runner."""
    return run_cli


@pytest.fixture(scope="session")
def user_error() -> Callable[..., str]:
    """The :func:`assert_user_error` check."""
    return assert_user_error


@pytest.fixture(scope="session")
def goog_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 800 rows of the real goog_daily.csv (2004-08-19 .. 2007-10-22)."""
    source = SHARED_DATA / "goog_daily.csv"
    if not source.exists():
        pytest.skip(f"shared real data not found at {source}")
    lines = source.read_text().splitlines()[:801]
    path = tmp_path_factory.mktemp("data") / "goog.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="session")
def trained(goog_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny bilstm_classifier trained by the CLI on ``goog_csv``; returns its checkpoint."""
    out = tmp_path_factory.mktemp("train")
    proc = run_cli("train", "--model", "bilstm_classifier", "--data", str(goog_csv), "--out", str(out), *TINY)
    assert proc.returncode == 0, proc.stderr
    checkpoint = out / "best.safetensors"
    assert checkpoint.exists()
    return checkpoint


@pytest.fixture(scope="session")
def report(trained: Path, goog_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """``evaluate`` of the trained model: the report folder and the command's stdout."""
    out = tmp_path_factory.mktemp("report")
    proc = run_cli(
        "evaluate",
        "--checkpoint",
        str(trained),
        "--data",
        str(goog_csv),
        "--out",
        str(out),
        "--n-bootstrap",
        "200",
        "--cost-bps",
        "2",
        # The default split leaves 92 test windows: 4.4 blocks of window + horizon = 21, too few for
        # intervals (tests/cli/test_cli_honest_intervals.py covers that case); blocks of 16 give 5.75.
        "--block-size",
        "16",
        "--no-progress",
    )
    assert proc.returncode == 0, proc.stderr
    assert "Warning" not in proc.stderr, proc.stderr
    return out, proc.stdout
