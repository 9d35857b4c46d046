"""The CPU wheel installs and runs where no Rust toolchain exists.

Marked ``wheel`` (skipped by default): it builds the manylinux_2_28 abi3 wheel with
``scripts/build_wheels.sh --cpu`` (a separate release build, several minutes on two cores) unless
``NT_WHEEL`` names an already built wheel, installs it into a fresh virtualenv whose ``PATH`` holds no
``cargo`` or ``rustc``, and runs, as a user would, a forecast through ``nt.native`` and
``neural-trader quickstart --epochs 1``. Run it with ``pytest -m wheel``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.wheel

FORECAST = """
import numpy as np, neural_trader as nt
cfg = nt.LSTMAttentionConfig(input_size=3, output_size=1, horizon=4, hidden_size=8, num_heads=2)
model = nt.LSTMAttention(cfg).eval()
model.save("m.safetensors")
engine = nt.native.load("m.safetensors")
x = np.random.default_rng(0).normal(size=(5, 12, 3)).astype(np.float32)
y = engine.predict(x)
import torch
with torch.inference_mode():
    ref = model(torch.from_numpy(x)).numpy()
assert y.shape == (5, 4, 1), y.shape
assert float(abs(y - ref).max()) < 1e-5
print("forecast ok", nt.__file__)
"""


def _wheel(tmp: Path) -> Path:
    given = os.environ.get("NT_WHEEL")
    if given:
        return Path(given)
    out = tmp / "dist"
    subprocess.run(
        ["bash", str(REPO / "scripts" / "build_wheels.sh"), "--cpu"],
        env=dict(os.environ, OUT_DIR=str(out)),
        check=True,
    )
    return next(out.glob("neural_trader-*-abi3-manylinux_2_28_x86_64.whl"))


def _no_rust_path() -> str:
    """``PATH`` without any folder that holds ``cargo`` or ``rustc``."""
    keep = [
        d
        for d in os.environ.get("PATH", "").split(os.pathsep)
        if d and not any((Path(d) / tool).exists() for tool in ("cargo", "rustc", "rustup"))
    ]
    return os.pathsep.join(keep)


def test_cpu_wheel_installs_and_runs_without_rust(tmp_path: Path) -> None:
    wheel = _wheel(tmp_path)
    assert "abi3" in wheel.name and "manylinux_2_28_x86_64" in wheel.name, wheel.name
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    env = dict(os.environ, PATH=f"{env_dir / 'bin'}{os.pathsep}{_no_rust_path()}", PYTHONPATH="")
    env.pop("VIRTUAL_ENV", None)
    assert shutil.which("cargo", path=env["PATH"]) is None
    assert shutil.which("rustc", path=env["PATH"]) is None
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(wheel)],
        env=env,
        check=True,
    )
    work = tmp_path / "work"
    work.mkdir()
    forecast = subprocess.run(
        [str(python), "-c", FORECAST], env=env, cwd=work, capture_output=True, text=True, check=False
    )
    assert forecast.returncode == 0, forecast.stderr
    assert "forecast ok" in forecast.stdout
    # The package came from the fresh environment, not from this checkout.
    assert str(env_dir) in forecast.stdout, forecast.stdout
    quickstart = subprocess.run(
        [
            str(env_dir / "bin" / "neural-trader"),
            "quickstart",
            "--epochs",
            "1",
            "--no-progress",
            "--n-bootstrap",
            "50",
            "--out",
            str(work / "qs"),
        ],
        env=env,
        cwd=work,
        capture_output=True,
        text=True,
        check=False,
    )
    assert quickstart.returncode == 0, quickstart.stdout + quickstart.stderr
    assert "native engine vs PyTorch" in quickstart.stdout
    assert (work / "qs" / "report.md").is_file()
