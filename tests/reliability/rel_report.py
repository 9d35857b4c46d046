"""Summary lines of the reliability suite (printed by ``conftest.pytest_terminal_summary``) and the one
way tests run cases."""

from __future__ import annotations

import rel_cases
import rel_harness

SUMMARY: list[str] = []


def report_line(line: str) -> None:
    """Adds a line to the summary printed after the tests (and prints it, for ``-s`` runs)."""
    SUMMARY.append(line)
    print(line)


def run(ids: list[str]) -> rel_harness.Report:
    """Runs case ids in child processes, each with the address-space headroom its case asks for."""
    headroom = {c.id: c.as_extra_mb for c in rel_cases.CASES.values()}
    return rel_harness.run_cases(ids, headroom=headroom)
