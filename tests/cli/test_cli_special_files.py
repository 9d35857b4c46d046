"""Special files given where a command reads a file: a FIFO with no writer (whose open blocks forever) and
a link to ``/dev/zero`` (which never ends) must be a clean exit-2 error naming the path, never a hang or
memory that grows until the machine kills the process. Bars, split files, checkpoints and resume files.

Each command runs in a subprocess watched by the test: killed (and failed) if it outlives a generous
limit or its resident memory passes 2 GB, so a regression fails the test instead of the machine.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_helpers import TINY, assert_user_error

LIMIT_S = 300  # only there to stop a hang: each command here ends in a few seconds
MAX_RSS_MB = 2048


def run_watched(*args: str) -> subprocess.CompletedProcess:
    """The CLI in a subprocess, killed if it hangs or its memory runs away (both fail the test)."""
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONIOENCODING="utf-8")
    proc = subprocess.Popen(
        [sys.executable, "-m", "neural_trader.cli", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    started = time.monotonic()
    why = None
    while proc.poll() is None:
        if time.monotonic() - started > LIMIT_S:
            why = f"still running after {LIMIT_S} s (hung)"
        elif _rss_mb(proc.pid) > MAX_RSS_MB:
            why = f"resident memory past {MAX_RSS_MB} MB (runaway read)"
        if why is not None:
            proc.kill()
            proc.communicate()
            pytest.fail(f"neural-trader {' '.join(args)}: {why}")
        time.sleep(0.1)
    stdout, stderr = proc.communicate()
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


def _rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


@pytest.fixture
def specials(tmp_path: Path) -> dict[str, Path]:
    """A FIFO and a link to /dev/zero, each under a bar-file and a split-file name."""
    paths = {}
    for name in ("fifo.csv", "fifo.json", "fifo.safetensors"):
        os.mkfifo(tmp_path / name)
        paths[name] = tmp_path / name
    for name in ("zero.csv", "zero.json"):
        (tmp_path / name).symlink_to("/dev/zero")
        paths[name] = tmp_path / name
    return paths


def test_bars_that_are_a_fifo_or_dev_zero_are_refused(specials, trained: Path, tmp_path: Path) -> None:
    out = str(tmp_path / "out")
    commands = {
        "fifo.csv": [
            ["train", "--model", "bilstm_classifier", "--data", "{}", "--out", out, *TINY],
            ["evaluate", "--checkpoint", str(trained), "--data", "{}", "--out", out],
            ["pretrain", "--input", "{}", "--output", f"{out}/enc.safetensors", "--no-progress"],
        ],
        "zero.csv": [
            ["predict", "--checkpoint", str(trained), "--data", "{}", "--output", f"{out}/p.csv"],
            ["splits", "--data", "{}", "--out", f"{out}/folds.json"],
        ],
    }
    for name, argvs in commands.items():
        path = specials[name]
        kind = "a FIFO" if name.startswith("fifo") else "a character device"
        for argv in argvs:
            proc = run_watched(*(str(path) if a == "{}" else a for a in argv))
            assert_user_error(proc, f"{path} is {kind}, not a regular file")


def test_split_files_that_are_a_fifo_or_dev_zero_are_refused(
    specials, goog_csv: Path, tmp_path: Path
) -> None:
    out = str(tmp_path / "out")
    base = ["train", "--model", "bilstm_classifier", "--data", str(goog_csv), "--out", out, *TINY]
    for name, kind in (("fifo.json", "a FIFO"), ("zero.json", "a character device")):
        proc = run_watched(*base, "--split", str(specials[name]))
        assert_user_error(proc, f"{specials[name]} is {kind}, not a regular file")


def test_checkpoints_and_resume_files_that_are_a_fifo_are_refused(
    specials, goog_csv: Path, tmp_path: Path
) -> None:
    fifo = specials["fifo.safetensors"]
    proc = run_watched("predict", "--checkpoint", str(fifo), "--data", str(goog_csv))
    assert_user_error(proc, f"{fifo} is a FIFO, not a regular file")
    out = str(tmp_path / "out")
    args = ["train", "--model", "bilstm_classifier", "--data", str(goog_csv), "--out", out, *TINY]
    proc = run_watched(*args, "--pretrained-encoder", str(fifo))
    assert_user_error(proc, f"{fifo} is a FIFO, not a regular file")
    resume = ["train", "--model", "bilstm_classifier", "--data", str(goog_csv), "--resume", str(fifo), *TINY]
    proc = run_watched(*resume)
    assert_user_error(proc, f"{fifo} is a FIFO, not a regular file")
