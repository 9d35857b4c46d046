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


def pytest_collection_finish(session: pytest.Session) -> None:
    """Starts the helper processes of the selected tests now, so they run while the case batches do."""
    names = {item.name for item in session.items}
    if "test_same_seed_same_bits_across_runs_and_thread_counts" in names:
        import test_reliability_determinism as det

        det.start(det.CONFIGS)
    if "test_sigkill_mid_save_never_leaves_a_partial_file" in names:
        import test_reliability_atomic_save as kill

        kill.start(*kill.DEFAULT)


@pytest.fixture(scope="session")
def default_cases() -> rel_harness.Report:
    """Every case of the default run, run once (in as few children as crashes allow)."""
    report = run(rel_cases.ids())
    report_line(report.summary("reliability cases (default)"))
    return report
