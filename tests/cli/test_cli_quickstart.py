"""The full quickstart, as a user runs it. Several minutes: marked slow (run with ``-m slow``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


@pytest.mark.slow
def test_quickstart_end_to_end(cli, tmp_path: Path) -> None:
    out = tmp_path / "qs"
    proc = cli("quickstart", "--out", str(out), "--no-progress", timeout=2400)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr and "Warning" not in proc.stderr
    lines = proc.stdout.strip().splitlines()
    # The output ends with the parity figures and the verdict sentence.
    assert lines[-4] == "native engine vs PyTorch (same file, same test windows)"
    assert lines[-3].startswith("bilstm_classifier    max |diff| = ") and lines[-3].endswith(": OK")
    assert lines[-2].startswith("lstm_attention       max |diff| = ") and lines[-2].endswith(": OK")
    summary = json.loads((out / "summary.json").read_text())
    assert lines[-1] == f"Verdict: {summary['verdict']}"
    assert summary["classification"]["outcome"] in ("skill", "no skill", "worse")
    assert [s["name"] for s in summary["classification"]["sections"]] == [
        "fold 1",
        "fold 2",
        "fold 3",
        "overall",
    ]
    for name in ("bilstm_classifier", "lstm_attention"):
        assert summary["parity"][name]["max_abs_diff"] <= 1e-5
        assert (out / f"{name}.safetensors").exists()
    for name in ("report.md", "report.json", "scores.png", "equity.png", "forecast.png", "folds.json"):
        assert (out / name).exists(), name
    assert (out / "report.md").read_text().strip().splitlines()[-1] == summary["verdict"]
