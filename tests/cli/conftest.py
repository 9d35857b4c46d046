"""Fixtures of the CLI tests: the CLI run as a user runs it (a subprocess), a small real file of bars,
and one tiny trained model (with its evaluation report) shared by the tests of a session."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
#: Tiny sizes: the tests check plumbing and numbers, not model quality.
TINY = ["--window", "16", "--hidden-dim", "8", "--num-layers", "1", "--epochs", "2", "--no-progress"]


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 900) -> subprocess.CompletedProcess:
    """``python -m neural_trader.cli ARGS`` with one thread, returning the completed process (the timeout
    only stops a hang: it is generous so that a loaded machine never fails a test)."""
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONIOENCODING="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "neural_trader.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def assert_user_error(proc: subprocess.CompletedProcess, *fragments: str) -> str:
    """Exit code 2, one stderr line ``neural-trader: error: ...`` holding every fragment, no traceback."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("neural-trader: error: "), lines[0]
    assert "Traceback" not in proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


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
