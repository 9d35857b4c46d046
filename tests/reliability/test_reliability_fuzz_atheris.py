"""Coverage-guided fuzzing of the checkpoint loaders with atheris (see ``rel_atheris.py``); slow, and
skipped where atheris is not installed (``pip install atheris``)."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rel_report import report_line

HERE = Path(__file__).resolve().parent


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("atheris") is None, reason="atheris is not installed")
def test_atheris_checkpoint_fuzzing(tmp_path: Path) -> None:
    runs = int(os.environ.get("NT_ATHERIS_RUNS", "100000"))
    proc = subprocess.run(
        [
            sys.executable,
            str(HERE / "rel_atheris.py"),
            str(tmp_path / "corpus"),
            f"-runs={runs}",
            "-max_len=30000",
            "-print_final_stats=1",
            f"-artifact_prefix={tmp_path}/",
        ],
        capture_output=True,
        text=True,
        timeout=3600,
        cwd=HERE,
        env={**os.environ, "RAYON_NUM_THREADS": "1"},
    )
    done = re.search(r"stat::number_of_executed_units:\s*(\d+)", proc.stderr)
    executed = done.group(1) if done else "?"
    report_line(f"atheris: {executed} executions of the checkpoint loaders, exit {proc.returncode}")
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert done and int(done.group(1)) >= runs
