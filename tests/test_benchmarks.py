"""The model benchmark's bookkeeping: rounds, their spread, rounds ahead, and rows a JSON file can hold.

Nothing here asserts on a duration: the timings of a tiny model are only checked for shape and order.
"""

from __future__ import annotations

import json

import numpy as np
import torch

import neural_trader as nt
from neural_trader.benchmarks import models, timing


def test_spread_reports_every_round():
    rounds = [np.array([0.001, 0.002, 0.009]), np.array([0.003, 0.004, 0.005])]
    s = timing.spread(rounds)
    assert s["round_p50_ms"] == [2.0, 4.0]
    assert s["round_p99_ms"][0] < s["round_p99_ms"][1] == max(s["round_p99_ms"])
    assert s["p50_ms"] == 3.5
    assert timing.rounds_ahead(rounds, [np.array([0.0025] * 3), np.array([0.0025] * 3)]) == 1


def test_rounds_rotate_and_keep_their_blocks():
    calls: list[str] = []
    times = timing.time_rounds(
        {"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, rounds=3, block=2, warmup=1
    )
    assert [len(t) for t in times["a"]] == [2, 2, 2] and len(times["b"]) == 3
    # The order rotates: a first in round 0, b first in round 1.
    assert calls[:6] == ["a"] * 3 + ["b"] * 3 and calls[6:9] == ["b"] * 3


def test_rows_of_a_served_model_fit_a_json_file():
    torch.manual_seed(0)
    model = nt.TrendAttention(nt.TrendAttentionConfig(input_size=2, hidden_size=4, num_heads=2)).eval()
    case = models.Case("TrendAttention tiny", model, 6, 2, 1e3, model)
    rows = models.bench_case(case, 1, (2, 1), 2, 3, models.onnx_model(case))
    result = {"single_core_peak_gflops": 1.0, "big_batch": 3, "rows": rows}
    again = json.loads(json.dumps(result))
    assert {r["runtime"] for r in again["rows"]} >= {"native", "pytorch"}
    for r in again["rows"]:
        assert r["rounds"] == 2 and 0 <= r["native_ahead_rounds"] <= 2
        lo, hi = r["batch1_round_p50_ms"]
        assert 0 < lo <= hi and r["batch1_p50_ms"] <= r["batch1_p99_ms"]
    assert "rounds" in models.table(result)
