"""Shared set-up of the reliability suite: the case runs (one batch of child processes per session) and
the summary lines printed at the end of the run (cases, fuzz executions, kills, throughput)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import rel_cases  # noqa: E402
import rel_harness  # noqa: E402
from rel_report import SUMMARY, report_line, run  # noqa: E402


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if SUMMARY:
        terminalreporter.section("reliability summary")
        for line in SUMMARY:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def default_cases() -> rel_harness.Report:
    """Every case of the default run, run once (in as few children as crashes allow)."""
    report = run(rel_cases.ids())
    report_line(report.summary("reliability cases (default)"))
    return report
