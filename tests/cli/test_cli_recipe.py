"""The recipe through the command line: pre-training defaults recorded in the encoder, fine-tuning frozen
for 10 epochs by default, teacher forcing and its schedule in the history, both trend horizons through
train / evaluate / predict with the new baselines, the attention heat map, and the options that do not
apply refused."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from safetensors import safe_open

from neural_trader.checkpoint import Checkpoint

TINY = ["--window", "16", "--hidden-dim", "8", "--num-layers", "1", "--no-progress"]


def _moved(stdout: str) -> list[float]:
    rows = [line.split() for line in stdout.splitlines() if line.startswith("encoder.lstm.")]
    return [float(r[6].rstrip("%")) for r in rows]


@pytest.fixture(scope="module")
def encoder(cli, goog_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An encoder pre-trained with the recipe's defaults (tiny sizes, 2 epochs)."""
    path = tmp_path_factory.mktemp("recipe") / "encoder.safetensors"
    proc = cli("pretrain", "--input", str(goog_csv), "--output", str(path), "--epochs", "2", *TINY)
    assert proc.returncode == 0, proc.stderr
    return path


def test_pretrain_records_the_recipe_defaults(encoder: Path) -> None:
    with safe_open(str(encoder), framework="numpy") as f:
        note = json.loads(f.metadata()["pretraining"])
    cfg = note["config"]
    assert (cfg["mask_strategy"], cfg["patch_size"], cfg["mask_ratio"], cfg["batch_size"]) == (
        "patch",
        7,
        0.15,
        512,
    )
    t = cfg["trainer"]
    assert (t["patience"], t["min_lr"], t["grad_clip"], t["schedule"]) == (10, 1e-5, 1.0, "cosine")


def test_fine_tuning_keeps_the_encoder_frozen_for_ten_epochs(
    cli, goog_csv: Path, encoder: Path, tmp_path
) -> None:
    moved = {}
    for epochs in (10, 11):
        proc = cli(
            "train", "--model", "bilstm_classifier", "--data", str(goog_csv),
            "--out", str(tmp_path / str(epochs)),
            "--pretrained-encoder", str(encoder), "--log-pretrained-stats", "--epochs", str(epochs),
            "--patience", "30", *TINY,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        moved[epochs] = _moved(proc.stdout)
    # Frozen through epoch 10 (best epoch or not, the encoder never moved); epoch 11 trains it.
    assert len(moved[10]) == 2 * 4 and all(m == 0.0 for m in moved[10]), moved[10]
    assert len(moved[11]) == 2 * 4 and any(m > 0.0 for m in moved[11]), moved[11]


def test_unfreeze_after_with_no_freeze_encoder_is_refused(cli, user_error, goog_csv: Path, tmp_path) -> None:
    proc = cli(
        "train", "--model", "bilstm_classifier", "--data", str(goog_csv), "--out", str(tmp_path),
        "--pretrained-encoder", "enc.safetensors", "--no-freeze-encoder", "--unfreeze-after", "2", *TINY,
    )  # fmt: skip
    user_error(proc, "--unfreeze-after", "--no-freeze-encoder")


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--model", "bilstm_classifier", "--horizons", "7", "30"], ["--horizons", "trend_attention"]),
        (
            ["--model", "bilstm_classifier", "--teacher-forcing", "0.5"],
            ["--teacher-forcing", "lstm_attention"],
        ),
        (
            ["--model", "lstm_attention", "--regression-weight", "2"],
            ["--regression-weight", "trend_attention"],
        ),
        (
            [
                "--model",
                "lstm_attention",
                "--teacher-forcing-schedule",
                "linear",
                "--teacher-forcing-rate",
                "0.5",
            ],
            ["--teacher-forcing-rate", "exponential", "linear"],
        ),
        (["--model", "lstm_attention", "--teacher-forcing-k", "3"], ["--teacher-forcing-k", "constant"]),
        (["--model", "lstm_attention", "--teacher-forcing", "1.5"], ["--teacher-forcing", "1.5"]),
    ],
)
def test_task_options_that_do_not_apply_are_refused(
    cli, user_error, goog_csv, tmp_path, args, fragments
) -> None:
    proc = cli("train", "--data", str(goog_csv), "--out", str(tmp_path), *args, *TINY)
    if "1.5" in args:
        assert proc.returncode == 2 and "--teacher-forcing" in proc.stderr and "1.5" in proc.stderr
        return
    user_error(proc, *fragments)


def test_teacher_forcing_schedule_lands_in_the_history_and_the_report_shows_attention(
    cli, goog_csv: Path, tmp_path: Path
) -> None:
    out = tmp_path / "forecaster"
    proc = cli(
        "train", "--model", "lstm_attention", "--data", str(goog_csv), "--out", str(out), "--epochs", "3",
        "--patience", "5", "--teacher-forcing-schedule", "linear", *TINY,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "linear, ratio 1 (epoch 1) -> 0 (epoch 3)" in proc.stdout
    history = json.loads((out / "history.json").read_text())
    assert [r["teacher_forcing_ratio"] for r in history] == [1.0, 0.5, 0.0]
    assert Checkpoint.read(out / "best.safetensors").config["teacher_forcing_ratio"] == 1.0

    report = tmp_path / "report"
    proc = cli(
        "evaluate", "--checkpoint", str(out / "best.safetensors"), "--data", str(goog_csv),
        "--out", str(report),
        "--n-bootstrap", "50", "--no-progress",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((report / "report.json").read_text())
    assert doc["attention"]["shape"] == [5, 16] and "attention.png" in doc["figures"]
    assert doc["attention"]["model"] == "lstm_attention"
    weights = doc["attention"]["weights"]
    assert all(abs(sum(row) - 1.0) < 1e-4 for row in weights)  # each query's weights sum to 1
    assert (report / "attention.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "![attention](attention.png)" in (report / "report.md").read_text()


def test_trend_attention_trains_both_horizons_and_evaluate_predict_score_each(
    cli, goog_csv: Path, tmp_path: Path
) -> None:
    out = tmp_path / "trend"
    proc = cli(
        "train", "--model", "trend_attention", "--data", str(goog_csv), "--out", str(out), "--epochs", "2",
        "--horizons", "7", "30", "--num-heads", "2", *TINY,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "7, 30 bars (splits and embargo by 30)" in proc.stdout
    ck = Checkpoint.read(out / "best.safetensors")
    assert ck.config["horizons"] == [7, 30]
    spec = json.loads(ck.extra["data"])
    assert (spec["horizons"], spec["horizon"]) == ([7, 30], 30)
    split = json.loads(ck.extra["splits"])["goog"]
    assert split["val"][0] - split["train"][1] >= 30 and split["test"][0] - split["val"][1] >= 30
    assert "val_direction_30_balanced_accuracy" in json.loads((out / "history.json").read_text())[0]

    report = tmp_path / "report"
    proc = cli(
        "evaluate", "--checkpoint", str(out / "best.safetensors"), "--data", str(goog_csv),
        "--out", str(report),
        "--n-bootstrap", "50", "--baselines", "majority", "xgb", "stack", "--no-progress",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((report / "report.json").read_text())
    c = doc["classification"]
    assert c["label"] == "direction_7" and [o["label"] for o in c["other_labels"]] == ["direction_30"]
    for part in (c, c["other_labels"][0]):
        scores = part["sections"][-1]["scores"]
        assert set(scores) == {"trend_attention", "majority", "xgb", "stack"}
        per_class = part["sections"][-1]["class_scores"]
        assert set(per_class["stack"]) == {"precision_0", "precision_1", "f1_0", "f1_1"}
    assert "scores_direction_30.png" in doc["figures"] and doc["attention"]["shape"] == [1, 16]
    assert doc["verdict"].startswith("direction_7: ") and " direction_30: " in doc["verdict"]
    md = (report / "report.md").read_text()
    assert "Label `direction_30`" in md and "precision (up)" in md and "F1 (down)" in md

    csv = tmp_path / "p.csv"
    proc = cli(
        "predict",
        "--checkpoint",
        str(out / "best.safetensors"),
        "--data",
        str(goog_csv),
        "--output",
        str(csv),
    )
    assert proc.returncode == 0, proc.stderr
    frame = pd.read_csv(csv)
    for h in (7, 30):
        assert {f"p_down_{h}", f"p_up_{h}", f"predicted_{h}", f"trend_{h}"} <= set(frame.columns)
    assert ((frame["p_up_30"] + frame["p_down_30"] - 1).abs() < 1e-6).all()


def test_pretrain_workload_options_need_only_pretrain(cli, user_error) -> None:
    user_error(cli("bench", "--only", "kernels", "--steps", "2"), "--steps", "--only pretrain")
    user_error(cli("bench", "--threads", "2"), "--threads", "--only pretrain")
