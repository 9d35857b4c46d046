"""``neural-trader bench``: one smoke run of both parts, checked through its JSON and printed tables."""

from __future__ import annotations

import json
import math
from pathlib import Path

from cli_helpers import run_cli


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
