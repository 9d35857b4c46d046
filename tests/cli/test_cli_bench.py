"""``neural-trader bench``: one smoke run of both parts, checked through its JSON and printed tables."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from cli_helpers import run_cli

import neural_trader as nt


def test_bench_quick_times_every_runtime_and_kernel(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    proc = run_cli("bench", "--quick", "--json", str(out), timeout=1800)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(out.read_text())

    models = result["models"]
    assert models["single_core_peak_gflops"] > 0
    seen = {(r["model"].split()[0], r["runtime"], r["threads"]) for r in models["rows"]}
    for model in ("BiLSTMClassifier", "LSTMAttention"):
        for runtime in ("native", "pytorch", "onnxruntime"):
            assert (model, runtime, 1) in seen, (model, runtime)
    for row in models["rows"]:
        assert 0 < row["batch1_p50_ms"] <= row["batch1_p99_ms"], row
        assert row["batch256_samples_per_s"] > 0 and math.isfinite(row["batch1_gflops"]), row

    kernels = result["kernels"]
    for name in ("rust_plain", "numpy_plain", "torch_plain", "copyto_same_bytes"):
        assert kernels["windows"][name] > 0, name
    for name in ("windows_plain_of_copy_bandwidth", "mask_block_vs_numpy", "augment_vs_numpy"):
        assert kernels["ratios"][name] > 0, name
    # Both tables are printed for a reader, not only written to the file.
    assert "| BiLSTMClassifier" in proc.stdout and "augment_vs_numpy" in proc.stdout


def test_bench_rejects_an_unknown_part() -> None:
    proc = run_cli("bench", "--only", "gpu")
    assert proc.returncode == 2 and "invalid choice" in proc.stderr


def test_bench_on_cuda_without_a_usable_gpu_is_a_clear_usage_error(tmp_path: Path) -> None:
    if torch.cuda.is_available() and nt.native.cuda_available():
        pytest.skip("a GPU and the CUDA build are here: tests/gpu runs the benchmark")
    for part in ("models", "pretrain"):
        out = tmp_path / f"{part}.json"
        proc = run_cli("bench", "--only", part, "--device", "cuda", "--json", str(out))
        assert proc.returncode == 2, proc.stderr
        assert "--device cuda:" in proc.stderr and "Traceback" not in proc.stderr
        assert not out.exists()


def test_device_applies_to_one_part_only() -> None:
    proc = run_cli("bench", "--device", "cuda")
    assert proc.returncode == 2 and "--device applies to --only models and --only pretrain" in proc.stderr
    proc = run_cli("bench", "--only", "kernels", "--steps", "5")
    assert proc.returncode == 2 and "--steps applies to --only pretrain" in proc.stderr
