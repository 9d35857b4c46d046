"""Runs reliability cases in child processes, so a crash, an abort or a hang is a result, not a lost run.

Cases (``rel_cases.CASES``) run in batches in one child (``rel_runner.py``), which prints a JSON line
``{"start": id}`` before each case and a result line after it. If the child dies (signal, abort, exit) or
prints nothing for ``timeout`` seconds, the case it had started is re-run alone in a fresh child to
confirm, recorded as ``crash``/``hang``, and the rest of the batch goes on in a new child.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
RUNNER = HERE / "rel_runner.py"
PYTHON = sys.executable


@dataclass
class Report:
    """Results by case id, and how many children were started."""

    results: dict[str, dict] = field(default_factory=dict)
    children: int = 0
    wall_s: float = 0.0

    def failures(self) -> dict[str, dict]:
        return {k: r for k, r in self.results.items() if r.get("status") != "pass"}

    def summary(self, label: str) -> str:
        counts: dict[str, int] = {}
        for r in self.results.values():
            counts[r.get("status", "?")] = counts.get(r.get("status", "?"), 0) + 1
        detail = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        return (
            f"{label}: {len(self.results)} cases run in {self.children} child process(es), "
            f"{self.wall_s:.1f} s ({detail})"
        )


def _reader(stream, out: queue.Queue) -> None:
    for line in stream:
        out.put(line)
    out.put(None)


def _run_batch(ids: list[str], timeout: float, env: dict[str, str]) -> tuple[list[dict], str | None, str]:
    """Runs ``ids`` in one child; returns ``(results, culprit, why)`` where ``culprit`` is the case that
    was running when the child died or hung (``None`` if the child finished every case)."""
    proc = subprocess.Popen(
        [PYTHON, str(RUNNER)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=HERE,
    )
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    proc.stdin.write("\n".join(ids) + "\n")
    proc.stdin.close()
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_reader, args=(proc.stdout, lines), daemon=True).start()
    errs: list[str] = []
    err_thread = threading.Thread(target=lambda: errs.extend(proc.stderr), daemon=True)
    err_thread.start()
    results: list[dict] = []
    running: str | None = None
    # Import of torch + neural_trader comes before the first case: allow it its own generous delay.
    deadline = timeout + 120
    why = ""
    rss_abort = ""
    while True:
        try:
            line = lines.get(timeout=deadline)
        except queue.Empty:
            proc.kill()
            proc.wait()
            why = f"hang: no progress for {deadline:.0f} s"
            break
        deadline = timeout
        if line is None:
            rc = proc.wait()
            if running is not None or rc != 0:
                why = f"child exited with {rc}" + (f" (signal {-rc})" if rc < 0 else "")
            break
        line = line.strip()
        if not line.startswith("{"):
            continue
        msg = json.loads(line)
        if "rss_abort" in msg:
            rss_abort = f"RSS watchdog ended the child at {msg['rss_abort']} MB; "
        elif "start" in msg:
            running = msg["start"]
        else:
            results.append(msg)
            running = None
    err_thread.join(timeout=5)
    proc.stdout.close()
    proc.stderr.close()
    if why and running is None and not results:
        # Died before any case: an import or set-up failure; blame the first case so the loop moves on.
        running = ids[0] if ids else None
    if why:
        why = rss_abort + why + ": " + "".join(errs)[-1500:]
    return results, running, why


def run_cases(
    ids: list[str], *, timeout: float = 120.0, headroom: dict[str, int] | None = None, parallel: int = 2
) -> Report:
    """Runs every case id; see the module docstring. ``headroom`` maps ids to the address-space headroom
    (MB, 0 = none) of the child that runs them; cases of one headroom share children. Up to ``parallel``
    children run at once (large groups are split in interleaved shards)."""
    report = Report()
    start = time.perf_counter()
    groups: dict[int, list[str]] = {}
    for i in ids:
        groups.setdefault((headroom or {}).get(i, 4096), []).append(i)
    tasks = []
    for extra_mb, group in groups.items():
        shards = parallel if len(group) > 200 else 1
        tasks += [(group[k::shards], extra_mb) for k in range(shards)]
    with ThreadPoolExecutor(max(parallel, 1)) as pool:
        parts = list(pool.map(lambda t: _run_group(t[0], timeout, t[1]), tasks))
    for part in parts:
        report.results.update(part.results)
        report.children += part.children
    report.wall_s = time.perf_counter() - start
    return report


def _run_group(ids: list[str], timeout: float, extra_mb: int) -> Report:
    report = Report()
    env = dict(os.environ)
    env.setdefault("RAYON_NUM_THREADS", "2")
    env["NT_REL_AS_EXTRA_MB"] = str(extra_mb)
    pending = list(ids)
    while pending:
        results, culprit, why = _run_batch(pending, timeout, env)
        report.children += 1
        for r in results:
            report.results[r["id"]] = r
        if culprit is not None:
            alone, culprit_again, why_alone = _run_batch([culprit], timeout, env)
            report.children += 1
            status = "hang" if why.startswith("hang") else "crash"
            report.results[culprit] = {
                "id": culprit,
                "status": status,
                "detail": why,
                "alone": alone[0] if alone else why_alone,
                "reproduced_alone": culprit_again is not None,
            }
        pending = [i for i in pending if i not in report.results]
        if culprit is None and pending:
            # The child finished without reporting some ids (unknown ids): record them as errors.
            for i in pending:
                report.results[i] = {"id": i, "status": "error", "detail": why or "no result reported"}
            pending = []
    return report


def describe(failures: dict[str, dict]) -> str:
    """Readable list of failed cases for an assertion message."""
    return "\n".join(f"{k}: {json.dumps(v)[:600]}" for k, v in sorted(failures.items()))
