"""Fixtures of the distributed tests: a ``torchrun`` launcher that can never hang the test session."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

JOB = Path(__file__).with_name("torchrun_job.py")


@dataclass
class Launch:
    """Outcome of one ``torchrun`` launch."""

    returncode: int
    output: str


def free_port() -> int:
    """A TCP port that was free a moment ago (the launcher binds it right after)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(args: list[str], *, nproc: int = 2, limit_s: float = 900.0) -> Launch:
    """Runs ``python -m torch.distributed.run --nproc_per_node=nproc JOB args`` on CPU (gloo).

    The launcher gets its own session; if it outlives ``limit_s``, the whole session is killed and the
    test fails: a hang is a failure, never a stuck test run. The limit is generous (a loaded machine
    must not fail a test) and only stops hangs; no test asserts on the time a launch took.
    """
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        f"--nproc_per_node={nproc}",
        f"--master_port={free_port()}",
        "--max_restarts=0",
        str(JOB),
        *args,
    ]
    env = {k: v for k, v in os.environ.items() if k not in ("WORLD_SIZE", "RANK", "LOCAL_RANK")}
    env.update(CUDA_VISIBLE_DEVICES="", OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, start_new_session=True
    )
    try:
        output, _ = proc.communicate(timeout=limit_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        output, _ = proc.communicate()
        pytest.fail(f"torchrun did not finish within {limit_s:.0f} s (hung); output:\n{output[-4000:]}")
    return Launch(proc.returncode, output)


@pytest.fixture(scope="session")
def torchrun():
    """The :func:`launch` function."""
    return launch
