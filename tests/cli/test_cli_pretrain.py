"""pretrain -> train --pretrained-encoder, and the augmentation recipe, through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

from safetensors import safe_open

SMALL = ["--window", "16", "--hidden-dim", "8", "--num-layers", "1", "--epochs", "2", "--no-progress"]


def test_pretrain_then_fine_tune_with_stats(cli, goog_csv: Path, tmp_path: Path) -> None:
    encoder = tmp_path / "enc" / "encoder.safetensors"
    proc = cli(
        "pretrain", "--input", str(goog_csv), "--output", str(encoder), "--mask-strategy", "patch",
        "--patch-size", "3", "--mask-ratio", "0.3", "--batch-size", "32", *SMALL,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "training rows only" in proc.stdout and "goog rows [0, 518)" in proc.stdout
    with safe_open(str(encoder), framework="numpy") as f:
        meta = f.metadata()
        names = sorted(f.keys())
    assert meta["model"] == "lstm_encoder"
    assert json.loads(meta["pretraining"])["config"]["mask_strategy"] == "patch"
    assert names == sorted(
        f"encoder.lstm.{kind}_l0{rev}"
        for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        for rev in ("", "_reverse")
    )
    assert (tmp_path / "enc" / "encoder.history.png").exists()

    proc = cli(
        "train", "--model", "bilstm_classifier", "--data", str(goog_csv), "--out", str(tmp_path / "ft"),
        "--pretrained-encoder", str(encoder), "--unfreeze-after", "1", "--log-pretrained-stats", *SMALL,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "8/8 encoder tensors matched (ratio 1.00), 8 frozen" in out
    rows = [line.split() for line in out.splitlines() if line.startswith("encoder.lstm.")]
    assert len(rows) == 8 and all(r[5] == "yes" for r in rows)
    # Unfrozen after epoch 1, so fine-tuning moved every loaded tensor a little (and not wildly).
    moved = [float(r[6].rstrip("%")) for r in rows]
    assert all(0.0 < m < 100.0 for m in moved), moved


def test_augmented_candle_encoder(cli, user_error, goog_csv: Path, tmp_path: Path) -> None:
    encoder = tmp_path / "candles.safetensors"
    proc = cli(
        "pretrain", "--input", str(goog_csv), "--output", str(encoder), "--inputs", "candles",
        "--augment", "--num-augmentations", "1", *SMALL,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    line = next(x for x in proc.stdout.splitlines() if x.startswith("windows"))
    assert "x2 with augmentation" in line
    with safe_open(str(encoder), framework="numpy") as f:
        assert f.get_slice("encoder.lstm.weight_ih_l0").get_shape() == [32, 5]  # 5 candle columns
    # An encoder of candle inputs cannot read the 28 features: the error says what to pass.
    proc = cli(
        "train", "--model", "bilstm_classifier", "--data", str(goog_csv), "--pretrained-encoder",
        str(encoder), *SMALL,
    )  # fmt: skip
    user_error(proc, "pre-trained on candles inputs", "--inputs candles")
