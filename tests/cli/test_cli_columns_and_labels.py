"""Your columns and labels through the CLI, as a user runs it: a CSV with extra columns trains, evaluates
and predicts with them as inputs; a file lacking one is refused by name; triple-barrier labels train a
3-class classifier whose report never reads as up/down; a forward-return regression head is scored
against naive forecasts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from safetensors import safe_open

from neural_trader.cli import main

TINY = ["--window", "12", "--hidden-size", "8", "--num-layers", "1", "--epochs", "2", "--no-progress"]


@pytest.fixture(scope="module")
def extra_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """700 generated daily bars with two sentiment columns, a text column and a class label column."""
    rng = np.random.default_rng(11)
    n = 700
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    open_ = np.r_[100.0, close[:-1]] * (1 + rng.normal(0, 0.002, n))
    frame = pd.DataFrame(
        {
            "date": pd.bdate_range("2015-01-01", periods=n).strftime("%Y-%m-%d"),
            "open": open_,
            "high": np.maximum(open_, close) * (1 + rng.uniform(0, 0.01, n)),
            "low": np.minimum(open_, close) * (1 - rng.uniform(0, 0.01, n)),
            "close": close,
            "volume": rng.integers(1_000, 5_000, n).astype(float),
            "sent_a": rng.normal(size=n),
            "sent_b": rng.normal(size=n),
            "note": "text",
        }
    )
    move = np.log(frame["close"]).shift(-5) - np.log(frame["close"])
    # Your own 3-class label reading 5 bars ahead: -1, 0, +1 by a 1% band; NaN on the last 5 rows.
    frame["regime"] = np.where(
        move.isna(), np.nan, np.where(move > 0.01, 1.0, np.where(move < -0.01, -1.0, 0.0))
    )
    path = tmp_path_factory.mktemp("extra") / "bars.csv"
    frame.to_csv(path, index=False)
    return path


def _meta(checkpoint: Path) -> dict[str, str]:
    with safe_open(str(checkpoint), framework="numpy") as f:
        return f.metadata()


def test_a_csv_with_extra_columns_trains_evaluates_and_predicts_on_them(
    cli, user_error, extra_csv: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    proc = cli("train", "--model", "bilstm_classifier", "--data", str(extra_csv), "--out", str(out),
               "--inputs", "features", "sent_*", *TINY)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "inputs               30 columns:" in proc.stdout and "sent_a, sent_b" in proc.stdout
    checkpoint = out / "best.safetensors"
    meta = _meta(checkpoint)
    spec = json.loads(meta["data"])
    assert spec["inputs"] == ["features", "sent_*"] and spec["columns"][-2:] == ["sent_a", "sent_b"]
    scaler = json.loads(meta["scaler"])
    assert scaler["columns"] == spec["columns"] and len(scaler["mean"]) == 30

    proc = cli("evaluate", "--checkpoint", str(checkpoint), "--data", str(extra_csv), "--out",
               str(tmp_path / "report"), "--n-bootstrap", "100", "--no-progress")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "report" / "report.json").exists() and "Verdict:" in proc.stdout
    predictions = tmp_path / "p.csv"
    proc = cli(
        "predict", "--checkpoint", str(checkpoint), "--data", str(extra_csv), "--output", str(predictions)
    )
    assert proc.returncode == 0, proc.stderr
    frame = pd.read_csv(predictions)
    assert list(frame.columns) == ["timestamp", "symbol", "part", "p_down", "p_up", "predicted"]
    assert len(frame) == 700 - 49 - 12 + 1

    # The same bars without one of the model's columns: refused, naming the column and the file.
    lacking = tmp_path / "lacking.csv"
    pd.read_csv(extra_csv).drop(columns="sent_b").to_csv(lacking, index=False)
    for command in (
        [
            "predict",
            "--checkpoint",
            str(checkpoint),
            "--data",
            str(lacking),
            "--output",
            str(tmp_path / "q.csv"),
        ],
        ["evaluate", "--checkpoint", str(checkpoint), "--data", str(lacking), "--no-progress"],
    ):
        user_error(cli(*command), "lacking.csv", "column 'sent_b' missing")
    assert not (tmp_path / "q.csv").exists()


def test_triple_barrier_labels_train_a_three_class_classifier(cli, extra_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "tb"
    proc = cli("train", "--model", "bilstm_classifier", "--data", str(extra_csv), "--out", str(out),
               "--label", "triple_barrier", "--barriers", "1.5", "1.5", "--horizon", "10", *TINY)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "(3-class classification task" in proc.stdout and "classes down, flat, up" in proc.stdout
    checkpoint = out / "best.safetensors"
    spec = json.loads(_meta(checkpoint)["data"])
    assert spec["label"] == "triple_barrier" and spec["barriers"] == [1.5, 1.5] and spec["vol_window"] == 20

    report = tmp_path / "report"
    proc = cli("evaluate", "--checkpoint", str(checkpoint), "--data", str(extra_csv), "--out", str(report),
               "--n-bootstrap", "100", "--baselines", "majority", "momentum", "logreg", "rf",
               "--no-progress")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((report / "report.json").read_text())
    c = doc["classification"]
    assert c["classes"] == ["down", "flat", "up"] and c["label"] == "triple_barrier_10"
    for section in c["sections"]:
        assert "up_share" not in section and set(section["class_shares"]) == {"down", "flat", "up"}
        assert set(section["scores"]) == {"bilstm_classifier", "majority", "momentum", "logreg", "rf"}
    markdown = (report / "report.md").read_text()
    for binary in ("up share", "P(up)", "Direction classification", "share up"):
        assert binary not in markdown and binary not in proc.stdout, binary
    assert "shares down" in proc.stdout

    predictions = tmp_path / "p.csv"
    proc = cli("predict", "--checkpoint", str(checkpoint), "--data", str(extra_csv), "--output",
               str(predictions), "--native")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    frame = pd.read_csv(predictions)
    assert list(frame.columns)[3:] == ["p_down", "p_flat", "p_up", "predicted"]
    assert set(frame["predicted"]) <= {-1, 0, 1}
    np.testing.assert_allclose(frame[["p_down", "p_flat", "p_up"]].sum(axis=1), 1.0, atol=1e-6)


def test_a_forward_return_regression_head(cli, user_error, extra_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "fr"
    proc = cli("train", "--model", "simple_lstm", "--data", str(extra_csv), "--out", str(out),
               "--label", "forward_return", "--inputs", "features", "sent_a", *TINY)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "(regression task" in proc.stdout and " mae " in proc.stdout and " ic " in proc.stdout
    checkpoint = out / "best.safetensors"
    assert json.loads(_meta(checkpoint)["label_scaler"])["columns"] == ["forward_return_5"]
    report = tmp_path / "report"
    proc = cli("evaluate", "--checkpoint", str(checkpoint), "--data", str(extra_csv), "--out", str(report),
               "--n-bootstrap", "100", "--no-progress")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    f = json.loads((report / "report.json").read_text())["forecast"]
    assert f["kind"] == "regression" and set(f["mae"]) == {
        "simple_lstm",
        "zero",
        "training mean",
        "persistence",
    }
    assert set(f["ic"]) == set(f["mae"]) and "## Regression" in (report / "report.md").read_text()
    predictions = tmp_path / "p.csv"
    proc = cli(
        "predict", "--checkpoint", str(checkpoint), "--data", str(extra_csv), "--output", str(predictions)
    )
    assert proc.returncode == 0, proc.stderr
    values = pd.read_csv(predictions)["predicted"]
    assert values.abs().max() < 0.5  # in the label's units (a 5-bar log return), not standardised
    native = tmp_path / "native.csv"
    proc = cli("predict", "--checkpoint", str(checkpoint), "--data", str(extra_csv), "--output", str(native),
               "--native")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    np.testing.assert_allclose(pd.read_csv(native)["predicted"], values, atol=1e-5)


@pytest.mark.parametrize(
    ("extra", "fragments"),
    [
        (["--label", "classes"], ["--label classes reads your column", "--label-horizon"]),
        (["--label", "values", "--label-column", "regime"], ["--label-horizon BARS"]),
        (["--label-column", "regime"], ["--label-column needs --label classes"]),
        (["--barriers", "1", "1"], ["add --label triple_barrier"]),
        (["--label", "trend"], ["bilstm_classifier learns direction labels"]),
        (["--label", "triple_barrier", "--barriers", "0", "0"], ["disable both horizontal barriers"]),
        (["--horizon", "3", "--label-horizon", "4"], ["--horizon 3 and --label-horizon 4 disagree"]),
        (
            ["--label", "classes", "--label-column", "nope", "--label-horizon", "5"],
            ["label column 'nope' missing"],
        ),
        (["--inputs", "features", "note"], ["column 'note' is not numeric: row 0"]),
        (
            ["--inputs", "regime", "--label", "classes", "--label-column", "regime", "--label-horizon", "5"],
            ["'regime' is also selected as an input"],
        ),
    ],
)
def test_label_and_input_mistakes_are_one_line_errors(
    capsys, extra_csv: Path, tmp_path, extra, fragments
) -> None:
    argv = ["train", "--model", "bilstm_classifier", "--data", str(extra_csv), "--out", str(tmp_path), *TINY]
    assert main([*argv, *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("neural-trader: error: ") and "\n" not in err
    for fragment in fragments:
        assert fragment in err, (fragment, err)


def test_your_class_column_trains_with_its_stated_horizon(capsys, extra_csv: Path, tmp_path: Path) -> None:
    argv = ["train", "--model", "bilstm_classifier", "--data", str(extra_csv), "--out", str(tmp_path),
            "--label", "classes", "--label-column", "regime", "--label-horizon", "5", *TINY]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "label                regime (5 bars ahead, classes -1, 0, 1)" in out
    meta = _meta(tmp_path / "best.safetensors")
    spec = json.loads(meta["data"])
    assert spec["classes"] == [-1, 0, 1] and spec["horizon"] == 5 and spec["label_column"] == "regime"
    splits = json.loads(meta["splits"])["bars"]
    assert splits["embargo"] >= 5


def test_an_encoder_pretrained_on_your_columns_fits_only_a_model_of_the_same_columns(
    capsys, extra_csv: Path, tmp_path: Path
) -> None:
    encoder = tmp_path / "encoder.safetensors"
    tiny = ["--window", "12", "--hidden-size", "8", "--num-layers", "1", "--epochs", "1", "--no-progress"]
    inputs = ["--inputs", "features", "sent_*"]
    argv = ["pretrain", "--input", str(extra_csv), "--output", str(encoder), *inputs, *tiny]
    assert main(argv) == 0
    assert "(lstm_encoder: hidden 8, 1 layer(s), features sent_* inputs)" in capsys.readouterr().out
    with safe_open(str(encoder), framework="numpy") as f:
        assert f.get_slice("encoder.lstm.weight_ih_l0").get_shape() == [32, 30]
    train = ["train", "--model", "bilstm_classifier", "--data", str(extra_csv), "--out", str(tmp_path / "t")]
    train += ["--pretrained-encoder", str(encoder), *tiny]
    assert main([*train, *inputs]) == 0
    capsys.readouterr()
    assert main(train) == 2
    err = capsys.readouterr().err
    assert "pre-trained on features sent_* inputs (30 columns)" in err
    assert "pass --inputs features sent_*" in err
