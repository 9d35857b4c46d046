"""Bad inputs, hostile checkpoints, hostile command lines and Hypothesis fuzzing, every case in a child
process (see ``rel_harness``): each must end in a typed exception or documented correct handling, never a
crash, an abort, a hang or an unbounded allocation.

Known defects (``Case.known_issue``, reported to the owner of the code) must still fail: when one is
fixed, ``test_known_issues_still_fail`` says so and the marker goes.
"""

from __future__ import annotations

import re

import pytest
import rel_cases
from rel_harness import Report, describe
from rel_report import report_line, run

# Floors on the number of cases, so that a registration bug cannot quietly shrink the suite.
FLOORS = {"inputs": 580, "scalars": 520, "checkpoints": 460, "data": 180, "cli": 250, "fuzz": 7}
FLOOR_EXHAUSTIVE = 3100


def _known(case_id: str) -> bool:
    case = rel_cases.CASES.get(case_id)
    return case is not None and case.known_issue is not None


def _check_group(report: Report, group: str) -> None:
    ids = [i for i in rel_cases.ids(group=group) if i in report.results]
    assert len(ids) >= FLOORS[group], f"only {len(ids)} {group} cases ran (floor {FLOORS[group]})"
    failures = {i: report.results[i] for i in ids if report.results[i]["status"] != "pass" and not _known(i)}
    assert not failures, f"{len(failures)} of {len(ids)} {group} cases failed:\n{describe(failures)}"


@pytest.mark.parametrize("group", ["inputs", "scalars", "data", "cli"])
def test_bad_inputs_end_in_typed_errors(default_cases: Report, group: str) -> None:
    _check_group(default_cases, group)


def test_hostile_checkpoints_are_refused_with_bounded_memory(default_cases: Report) -> None:
    _check_group(default_cases, "checkpoints")
    peak = max(
        r.get("rss_growth_mb", 0) for i, r in default_cases.results.items() if i.startswith("checkpoint.")
    )
    report_line(f"hostile checkpoints: largest peak-RSS growth of one case {peak:.0f} MB")


def test_python_api_fuzzing(default_cases: Report) -> None:
    _check_group(default_cases, "fuzz")
    runs = sum(_examples(default_cases.results[i]) for i in rel_cases.ids(group="fuzz"))
    report_line(f"hypothesis fuzzing (default): {runs} examples, 0 failures")
    assert runs >= 7 * 100


def _examples(result: dict) -> int:
    match = re.search(r"examples=(\d+)", result.get("detail", ""))
    return int(match.group(1)) if match else 0


def test_known_issues_still_fail(default_cases: Report) -> None:
    known = [i for i in rel_cases.ids() if _known(i)]
    fixed = [i for i in known if default_cases.results.get(i, {}).get("status") == "pass"]
    assert not fixed, f"known issues now pass; remove their known_issue marker: {fixed}"
    report_line(f"known issues (reported, still failing as expected): {len(known)} cases")


def test_every_case_ran_once(default_cases: Report) -> None:
    assert set(default_cases.results) == set(rel_cases.ids())


@pytest.mark.slow
def test_exhaustive_cases() -> None:
    """Every case, the slow ones too, with 3000 Hypothesis examples per property."""
    import os

    os.environ["NT_FUZZ_EXAMPLES"] = os.environ.get("NT_FUZZ_EXAMPLES", "3000")
    ids = rel_cases.ids(slow=True)
    report = run(ids)
    report_line(report.summary("reliability cases (exhaustive)"))
    assert len(report.results) >= FLOOR_EXHAUSTIVE
    failures = {i: r for i, r in report.failures().items() if not _known(i)}
    assert not failures, describe(failures)
    fixed = [i for i in ids if _known(i) and report.results[i]["status"] == "pass"]
    assert not fixed, f"known issues now pass; remove their known_issue marker: {fixed}"
