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


def test_the_device_benchmark_times_every_model_at_every_batch_on_the_candle_path():
    """``bench --only models --device cuda`` on the CPU's candle path (the code CUDA runs): a row per
    model, runtime and batch, in a JSON-able result and a table; durations only checked for order."""
    from neural_trader.benchmarks import models_device

    torch.manual_seed(0)
    trend = nt.TrendAttention(nt.TrendAttentionConfig(input_size=2, hidden_size=4, num_layers=1, num_heads=2))
    classifier = nt.BiLSTMClassifier(nt.BiLSTMClassifierConfig(input_size=2, hidden_size=4, num_layers=1))
    forecaster = nt.LSTMAttention(
        nt.LSTMAttentionConfig(input_size=2, output_size=1, horizon=2, hidden_size=4, num_heads=2)
    )
    tiny = [
        models.Case("TrendAttention tiny", trend.eval(), 6, 2, 1.0, trend),
        models.Case("BiLSTMClassifier tiny", classifier.eval(), 6, 2, 1.0, classifier),
        models.Case("LSTMAttention tiny", forecaster.eval(), 6, 2, 1.0, forecaster.forecast, slow=True),
    ]
    result = json.loads(
        json.dumps(models_device.run(device="cpu:candle", quick=True, batches=(1, 3), models=tiny))
    )
    assert result["device"] == "cpu:candle" and result["batches"] == [1, 3]
    seen = {(r["model"], r["runtime"], r["batch"]) for r in result["rows"]}
    assert seen == {(c.name, rt, b) for c in tiny for rt in ("native", "pytorch") for b in (1, 3)}
    for r in result["rows"]:
        assert r["device"] == "cpu:candle" and 0 <= r["native_ahead_rounds"] <= r["rounds"]
        lo, hi = r["round_p50_ms"]
        assert 0 < lo <= hi and r["p50_ms"] <= r["p99_ms"] and r["samples_per_s"] > 0
    assert "| LSTMAttention tiny | 3 | pytorch |" in models_device.table(result)
    assert all(p.device.type == "cpu" for c in tiny for p in c.model.parameters())


def test_the_model_benchmark_has_a_case_for_every_served_model():
    assert sorted(c.model.registry_name for c in models.cases()) == sorted(nt.native.SERVED_MODELS)
