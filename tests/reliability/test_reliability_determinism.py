"""Same seed, same bits: masks, augmentations, z-score statistics, windows, trained weights and the
native engine's output are identical across fresh processes and across thread counts (the kernels'
rayon pool, torch's intra-op pool, the engine's own pool), on CPU.

Each configuration runs ``rel_determinism.py`` in a fresh interpreter, so every pool is sized from
scratch; configurations A and C are the same (run-to-run), B differs in every thread count.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from rel_report import report_line, start_job

HERE = Path(__file__).resolve().parent
# (RAYON_NUM_THREADS, torch threads, engine threads)
CONFIGS = {"A": (1, 1, 1), "B": (3, 2, 3), "C": (1, 1, 1)}
SLOW_CONFIGS = {"D": (2, 1, 2), "E": (4, 4, 4), "F": (8, 3, 7)}


def start(configs: dict[str, tuple[int, int, int]]) -> dict[str, subprocess.Popen]:
    """Starts one fresh interpreter per configuration (once per session: conftest starts them early)."""
    return {
        name: start_job(
            f"determinism-{name}",
            [str(HERE / "rel_determinism.py"), str(torch_threads), str(engine)],
            {"RAYON_NUM_THREADS": str(rayon)},
        )
        for name, (rayon, torch_threads, engine) in configs.items()
    }


def fingerprints(configs: dict[str, tuple[int, int, int]]) -> dict[str, dict[str, str]]:
    procs = start(configs)
    out = {}
    for name, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=1800)  # stops a hang only; never a verdict on speed
        assert proc.returncode == 0, stderr[-3000:]
        out[name] = json.loads(stdout.strip().splitlines()[-1])
    return out


def check(prints: dict[str, dict[str, str]], configs: dict[str, tuple[int, int, int]]) -> None:
    first = next(iter(prints.values()))
    assert len(first) >= 9
    differ = {
        key: {name: p[key][:12] for name, p in prints.items()}
        for key in first
        if len({p[key] for p in prints.values()}) > 1
    }
    assert not differ, f"results depend on the run or the thread count: {differ}"
    report_line(
        f"determinism: {len(first)} seeded results ({', '.join(first)}) bit-identical across "
        f"{len(prints)} fresh processes with (rayon, torch, engine) threads {sorted(set(configs.values()))}"
    )


def test_same_seed_same_bits_across_runs_and_thread_counts() -> None:
    check(fingerprints(CONFIGS), CONFIGS)


@pytest.mark.slow
def test_same_seed_same_bits_more_thread_counts() -> None:
    configs = {**CONFIGS, **SLOW_CONFIGS}
    check(fingerprints(configs), configs)
