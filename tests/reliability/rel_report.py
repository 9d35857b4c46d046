"""Summary lines of the reliability suite (printed by ``conftest.pytest_terminal_summary``) and the one
way tests run cases."""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import rel_cases
import rel_harness

HERE = Path(__file__).resolve().parent

SUMMARY: list[str] = []


def report_line(line: str) -> None:
    """Adds a line to the summary printed after the tests (and prints it, for ``-s`` runs)."""
    SUMMARY.append(line)
    print(line)


def run(ids: list[str]) -> rel_harness.Report:
    """Runs case ids in child processes, each with the address-space headroom its case asks for."""
    headroom = {c.id: c.as_extra_mb for c in rel_cases.CASES.values()}
    return rel_harness.run_cases(ids, headroom=headroom)


# Helper processes started once per session (by conftest, as soon as the tests are collected, so they run
# while the case batches run) and collected by the test that needs them.
_JOBS: dict[str, subprocess.Popen] = {}


def start_job(name: str, argv: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
    """Starts ``argv`` (a Python script of this folder and its arguments) once; returns its process."""
    if name not in _JOBS:
        _JOBS[name] = subprocess.Popen(
            [sys.executable, *argv],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
            cwd=HERE,
        )
    return _JOBS[name]


def scratch_dir(name: str) -> Path:
    """A temporary folder for a helper process, removed at exit."""
    path = Path(tempfile.mkdtemp(prefix=f"nt-reliability-{name}-"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path
