"""What the CLI tests share as plain functions (the fixtures in conftest.py wrap them): the CLI run as a
user runs it, the check of a one-line user error, and tiny model sizes. A module of its own name, so test
files can import it whichever conftest.py pytest loaded last."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
