"""User errors end with exit code 2 and one line ``neural-trader: error: ...``, never a traceback.

The first tests run the CLI as a user does (a subprocess); the many remaining cases call ``main()``
in-process, which is the same code path without paying the interpreter start-up for each.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import neural_trader as nt
from neural_trader.cli import main
from neural_trader.data import FEATURE_NAMES, Scaler, chronological_split
from neural_trader.workflows import DataSpec


def _bars(n: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    open_ = np.r_[100.0, close[:-1]]
    return pd.DataFrame(
        {
            "timestamp": pd.bdate_range("2020-01-01", periods=n).strftime("%Y-%m-%d"),
            "open": open_,
            "high": np.maximum(open_, close) * 1.01,
            "low": np.minimum(open_, close) * 0.99,
            "close": close,
            "volume": rng.integers(1000, 5000, n).astype(float),
        }
    )


@pytest.fixture
def bars_csv(tmp_path: Path) -> Path:
    path = tmp_path / "bars.csv"
    _bars().to_csv(path, index=False)
    return path


def _user_error(capsys: pytest.CaptureFixture, argv: list[str], *fragments: str) -> str:
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("neural-trader: error: "), err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


# ----------------------------------------------------------------------------------- as a user would
def test_missing_data_file_is_one_line(cli, user_error, tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    proc = cli("train", "--model", "bilstm_classifier", "--data", str(missing))
    user_error(proc, "no such file or folder", str(missing))


def test_unknown_model_is_one_line(cli, user_error, bars_csv: Path) -> None:
    proc = cli("train", "--model", "transformer_xl", "--data", str(bars_csv))
    user_error(proc, "unknown model 'transformer_xl'", "bilstm_classifier")


def test_wrong_columns_name_the_column(cli, user_error, tmp_path: Path) -> None:
    path = tmp_path / "no_close.csv"
    _bars().drop(columns=["close"]).to_csv(path, index=False)
    proc = cli("predict", "--checkpoint", str(tmp_path / "m.safetensors"), "--data", str(path))
    # The checkpoint is read first: a missing file is named before the data is looked at.
    user_error(proc, "No such file or directory", "m.safetensors")
    proc = cli("splits", "--data", str(path))
    user_error(proc, "no_close.csv", "column 'close' missing")


def test_bad_option_value_is_one_line(cli, user_error, bars_csv: Path) -> None:
    proc = cli("train", "--model", "bilstm_classifier", "--data", str(bars_csv), "--epochs", "0")
    user_error(proc, "--epochs", "expected an integer >= 1, got 0")
    proc = cli("frobnicate")
    user_error(proc, "invalid choice: 'frobnicate'")


# ----------------------------------------------------------------------------------- in-process
def test_a_baseline_is_not_trainable(capsys, bars_csv: Path) -> None:
    _user_error(capsys, ["train", "--model", "majority", "--data", str(bars_csv)], "'majority' is a baseline")


def test_pretraining_models_point_to_pretrain(capsys, bars_csv: Path) -> None:
    argv = ["train", "--model", "masked_bilstm_autoencoder", "--data", str(bars_csv)]
    _user_error(capsys, argv, "neural-trader pretrain")


def test_non_numeric_value_names_row_and_column(capsys, tmp_path: Path) -> None:
    frame = _bars()
    frame["volume"] = frame["volume"].astype(object)
    frame.loc[17, "volume"] = "lots"
    path = tmp_path / "bad.csv"
    frame.to_csv(path, index=False)
    _user_error(capsys, ["splits", "--data", str(path)], "bad.csv", "'volume' is not numeric", "row 17")


def test_broken_ohlc_names_the_row(capsys, tmp_path: Path) -> None:
    frame = _bars()
    frame.loc[42, "high"] = frame.loc[42, "low"] * 0.5
    path = tmp_path / "broken.csv"
    frame.to_csv(path, index=False)
    _user_error(capsys, ["splits", "--data", str(path)], "broken.csv", "row 42")


def test_too_few_rows(capsys, tmp_path: Path) -> None:
    path = tmp_path / "short.csv"
    _bars(40).to_csv(path, index=False)
    _user_error(capsys, ["splits", "--data", str(path)], "fewer than the 49-bar feature warm-up")


def test_folder_without_bars(capsys, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("no bars here")
    _user_error(capsys, ["splits", "--data", str(tmp_path)], "no CSV or Parquet files")


def test_split_file_with_a_folder_of_symbols(capsys, tmp_path: Path) -> None:
    for k in range(2):
        _bars(seed=k).to_csv(tmp_path / f"s{k}.csv", index=False)
    split = tmp_path / "split.json"
    split.write_text(chronological_split(151, horizon=5).to_json())
    argv = ["train", "--model", "bilstm_classifier", "--data", str(tmp_path), "--split", str(split)]
    _user_error(capsys, argv, "indexes the rows of one series")


def test_split_file_for_other_data(capsys, bars_csv: Path, tmp_path: Path) -> None:
    split = tmp_path / "split.json"
    split.write_text(chronological_split(500, horizon=5).to_json())
    argv = ["train", "--model", "bilstm_classifier", "--data", str(bars_csv), "--split", str(split)]
    _user_error(capsys, argv, "does not fit", "500 rows")
    (tmp_path / "junk.json").write_text("{not json")
    argv[-1] = str(tmp_path / "junk.json")
    _user_error(capsys, argv, "not a JSON split file")


def test_augment_needs_candles(capsys, bars_csv: Path, tmp_path: Path) -> None:
    argv = ["pretrain", "--input", str(bars_csv), "--output", str(tmp_path / "e.safetensors"), "--augment"]
    _user_error(capsys, argv, "--augment", "--inputs candles")


def test_encoder_options_need_an_encoder(capsys, bars_csv: Path) -> None:
    argv = ["train", "--model", "bilstm_classifier", "--data", str(bars_csv), "--log-pretrained-stats"]
    _user_error(capsys, argv, "need --pretrained-encoder")


def test_unknown_forecast_target(capsys, bars_csv: Path) -> None:
    argv = ["train", "--model", "lstm_attention", "--data", str(bars_csv), "--target", "price"]
    _user_error(capsys, argv, "unknown target column 'price'")


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_cuda_without_a_gpu(capsys, bars_csv: Path) -> None:
    argv = ["train", "--model", "bilstm_classifier", "--data", str(bars_csv), "--device", "cuda"]
    _user_error(capsys, argv, "--device cuda")


def _hand_made_checkpoint(path: Path, model: nt.TwinModel, spec: DataSpec | None = None) -> None:
    """A checkpoint with the metadata `train` writes, for models the tests need not train."""
    split = chronological_split(151, horizon=5)
    extra = {
        "data": (spec or DataSpec(window=8)).to_json(),
        "splits": json.dumps({"bars": json.loads(split.to_json())}),
        "scaler": json.dumps(Scaler((0.0,) * 28, (1.0,) * 28, FEATURE_NAMES).to_dict()),
    }
    model.save(path, extra=extra)


@pytest.mark.parametrize(
    ("model", "spec"),
    [
        (nt.SimpleLSTM(nt.SimpleLSTMConfig(input_size=28, hidden_size=4, num_layers=1)), None),
        (
            nt.TrendAttention(
                nt.TrendAttentionConfig(input_size=28, hidden_size=8, num_heads=2, horizons=[5, 9])
            ),
            DataSpec(window=8, task="trend", horizons=[5, 9]),
        ),
    ],
    ids=["simple_lstm", "trend_attention"],
)
def test_native_predict_of_every_trained_model_is_the_pytorch_one(
    capsys, bars_csv: Path, tmp_path: Path, model: nt.TwinModel, spec: DataSpec | None
) -> None:
    """Every model `train` builds is served: `predict --native` writes PyTorch's predictions."""
    path = tmp_path / "model.safetensors"
    _hand_made_checkpoint(path, model, spec)
    frames = []
    for flag, name in [([], "torch.csv"), (["--native"], "native.csv")]:
        argv = [
            "predict",
            "--checkpoint",
            str(path),
            "--data",
            str(bars_csv),
            "--output",
            str(tmp_path / name),
        ]
        assert main(argv + flag) == 0, capsys.readouterr().err
        frames.append(pd.read_csv(tmp_path / name))
    torch_frame, native_frame = frames
    assert list(native_frame.columns) == list(torch_frame.columns) and len(native_frame) > 0
    numeric = torch_frame.select_dtypes("number").columns
    np.testing.assert_allclose(native_frame[numeric], torch_frame[numeric], atol=1e-5)


def test_evaluate_needs_a_trained_checkpoint(capsys, bars_csv: Path, tmp_path: Path) -> None:
    encoder = tmp_path / "encoder.safetensors"
    nt.MaskedBiLSTMAutoencoder(nt.MaskedBiLSTMAutoencoderConfig(input_size=28, hidden_size=4)).save(encoder)
    argv = ["evaluate", "--checkpoint", str(encoder), "--data", str(bars_csv)]
    _user_error(capsys, argv, "no data spec or splits")
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x00" * 64)
    argv[2] = str(junk)
    _user_error(capsys, argv, "not a valid safetensors file")


def test_export_refuses_the_pretraining_model(capsys, tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    path = tmp_path / "mae.safetensors"
    nt.MaskedBiLSTMAutoencoder(nt.MaskedBiLSTMAutoencoderConfig(input_size=28, hidden_size=4)).save(path)
    argv = ["export", "--checkpoint", str(path), "--onnx", str(tmp_path / "m.onnx")]
    _user_error(capsys, argv, "exists only for pre-training")
    assert not (tmp_path / "m.onnx").exists()


def test_output_into_a_file_that_is_a_folder(capsys, bars_csv: Path, tmp_path: Path) -> None:
    (tmp_path / "out.json").mkdir()
    _user_error(capsys, ["splits", "--data", str(bars_csv), "--out", str(tmp_path / "out.json")], "out.json")


def test_an_encoder_that_saw_the_validation_bars_is_refused(capsys, bars_csv: Path, tmp_path: Path) -> None:
    encoder = tmp_path / "late.safetensors"
    tiny = ["--window", "8", "--hidden-dim", "4", "--num-layers", "1", "--epochs", "1", "--no-progress"]
    # Pre-trained on the first 90% of the rows; `train` validates on rows after the first 70%.
    argv = ["pretrain", "--input", str(bars_csv), "--output", str(encoder), "--train-fraction", "0.9", *tiny]
    assert main(argv) == 0
    capsys.readouterr()
    argv = [
        "train",
        "--model",
        "bilstm_classifier",
        "--data",
        str(bars_csv),
        "--pretrained-encoder",
        str(encoder),
    ]
    _user_error(capsys, [*argv, *tiny], "past the start of this split's validation rows", "pretrain --split")


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("splits", "[1, 2]"),
        ("splits", "{}"),
        ("data", '["window", 8]'),
        ("periods", '{"bars": {"test": ["2020-01-01"]}}'),
        ("periods", '{"bars": {"test": ["not a date", "2020-01-01"]}}'),
        ("scaler", '{"mean": "x"}'),
    ],
)
def test_malformed_training_metadata(capsys, bars_csv: Path, tmp_path: Path, key: str, value: str) -> None:
    path = tmp_path / "bad_meta.safetensors"
    split = chronological_split(151, horizon=5)
    scaler = Scaler((0.0,) * 28, (1.0,) * 28, FEATURE_NAMES)
    extra = {
        "data": DataSpec(window=8).to_json(),
        "splits": json.dumps({"bars": json.loads(split.to_json())}),
        "scaler": json.dumps(scaler.to_dict()),
    }
    good = tmp_path / "good.safetensors"
    model = nt.BiLSTMClassifier(nt.BiLSTMClassifierConfig(input_size=28, hidden_size=4, num_layers=1))
    model.save(good, extra=extra)
    assert (
        main(
            [
                "predict",
                "--checkpoint",
                str(good),
                "--data",
                str(bars_csv),
                "--output",
                str(tmp_path / "g.csv"),
            ]
        )
        == 0
    )
    extra[key] = value
    nt.BiLSTMClassifier(nt.BiLSTMClassifierConfig(input_size=28, hidden_size=4, num_layers=1)).save(
        path, extra=extra
    )
    argv = [
        "predict",
        "--checkpoint",
        str(path),
        "--data",
        str(bars_csv),
        "--output",
        str(tmp_path / "p.csv"),
    ]
    _user_error(capsys, argv, "bad_meta.safetensors")
