"""Issue 18's most severe finding, reproduced as a user meets it: ``evaluate`` on 400 daily bars of a
real index used to print zero-width 95% intervals (``0.528 [0.528, 0.528]``) and could claim skill
"with 95% confidence", because the moving-block bootstrap's block (window + horizon windows) was longer
than the test set. Now the figures say that there are too few blocks, give no interval, and the verdict
is "too few test windows to tell"."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from neural_trader.datasets import load_sp500_daily
from neural_trader.evaluation.bootstrap import MIN_BLOCKS


@pytest.fixture(scope="module")
def short_report(cli, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    root = tmp_path_factory.mktemp("short")
    data = root / "sp500_400.csv"
    load_sp500_daily().iloc[-400:].to_csv(data, index_label="timestamp")
    tiny = ["--hidden-dim", "8", "--num-layers", "1", "--epochs", "1", "--no-progress"]
    proc = cli("train", "--model", "bilstm_classifier", "--data", str(data), "--out", str(root), *tiny)
    assert proc.returncode == 0, proc.stderr
    out = root / "report"
    proc = cli(
        "evaluate", "--checkpoint", str(root / "best.safetensors"), "--data", str(data),
        "--out", str(out), "--n-bootstrap", "200", "--no-progress",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return out, proc.stdout


def test_too_few_blocks_give_no_interval_and_no_verdict_of_skill(short_report) -> None:
    out, stdout = short_report
    doc = json.loads((out / "report.json").read_text())
    c = doc["classification"]
    boot = c["bootstrap"]
    assert boot["min_blocks"] == MIN_BLOCKS == 5
    overall = c["sections"][-1]
    # 400 bars, window 32, horizon 5: the default split leaves 16 test windows, under half a block of 37.
    assert overall["windows"] < boot["block_size"]
    assert overall["blocks"] == pytest.approx(overall["windows"] / boot["block_size"])
    assert overall["reliable"] is False
    for scores in overall["scores"].values():
        for iv in scores.values():
            # The estimate is given; the interval is absent, never a zero-width one.
            assert iv["low"] is None and iv["high"] is None and iv["reliable"] is False, iv
    for lead in c["leads"].values():
        assert lead["low"] is None and lead["reliable"] is False
    assert c["outcome"] == "too few windows"
    verdict = doc["verdict"]
    assert verdict.startswith("Too few test windows to tell") and "skill beyond" not in verdict
    assert "confidence" not in verdict
    markdown = (out / "report.md").read_text()
    assert markdown.strip().splitlines()[-1] == verdict
    assert "no interval" in markdown and f"at least {MIN_BLOCKS} blocks" in markdown
    assert stdout.strip().splitlines()[-1] == f"Verdict: {verdict}"
    # Every console line of scores marks the missing interval instead of printing a zero-width one.
    score_lines = [ln for ln in stdout.splitlines() if "balanced accuracy" in ln]
    assert score_lines and all("no interval" in ln and "[" not in ln for ln in score_lines)
