"""Atomic saves: SIGKILL at random points while a process saves leaves the previous checkpoint or the
new one, complete, for both the PyTorch twin's ``model.save`` and the Rust ``NativeModel.save``; a plain
``open(...).write`` control, killed the same way, does leave broken files (so the check can fail).

The kills run in ``rel_kill_saves.py`` (forked writers, see its docstring), 30 per writer by default and
300 in the slow variant.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from rel_report import report_line, scratch_dir, start_job

HERE = Path(__file__).resolve().parent


def start(iterations: int, seed: int) -> subprocess.Popen:
    """Starts the killer (once per session: conftest starts the default one early)."""
    folder = scratch_dir(f"kill{iterations}")
    return start_job(
        f"kill-{iterations}", [str(HERE / "rel_kill_saves.py"), str(iterations), str(seed), str(folder)]
    )


def kill_saves(iterations: int, seed: int) -> dict[str, dict]:
    proc = start(iterations, seed)
    stdout, stderr = proc.communicate(timeout=900 + 3 * iterations)  # stops a hang only
    assert proc.returncode == 0, stderr[-3000:]
    results = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    return {r["writer"]: r for r in results}


def check(results: dict[str, dict], iterations: int) -> None:
    for writer in ("torch", "native"):
        r = results[writer]
        report_line(
            f"SIGKILL during {writer} saves: {r['iterations']} kills, {r['mid_save']} inside a save "
            f"(temporary file left), file intact every time (A {r['A']}, B {r['B']}, "
            f"corrupt {r['corrupt']}); one save takes {r['save_ms']} ms"
        )
        assert r["corrupt"] == 0, r["bad"]
        assert r["A"] + r["B"] == iterations
    # Every kill lands inside a `save` call (the child does nothing else); some must land between the
    # temporary file's creation and the rename, or the test proves nothing. Seen: 4-18 of 30 per writer.
    assert results["torch"]["mid_save"] + results["native"]["mid_save"] >= 2, results
    naive = results["naive"]
    report_line(
        f"control (plain write, no rename): {naive['corrupt']} of {iterations} kills left a broken file"
    )
    assert naive["corrupt"] >= 1, "the control never broke a file: the kills do not land inside writes"


DEFAULT = (30, 1)
EXHAUSTIVE = (300, 2)


def test_sigkill_mid_save_never_leaves_a_partial_file() -> None:
    check(kill_saves(*DEFAULT), DEFAULT[0])


@pytest.mark.slow
def test_sigkill_mid_save_exhaustive() -> None:
    check(kill_saves(*EXHAUSTIVE), EXHAUSTIVE[0])
