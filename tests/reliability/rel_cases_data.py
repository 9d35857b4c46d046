"""Hostile input to the data pipeline: files (garbage, empty, compressed garbage, wrong suffix), frames
(NaN, Inf, empty, unsorted, duplicated or unparsable times, text in price columns, invalid candles),
feature and label parameters, splits (sizes, fractions, embargoes, hostile JSON), ``WindowDataset`` and
``make_loaders`` arguments. Every one is a ``DataError``/``ConfigError``/``ShapeError`` (or
``FileNotFoundError`` for a missing path)."""

from __future__ import annotations

import bz2
import gzip
import lzma
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from rel_cases import add
from rel_fixtures import bars, workdir

from neural_trader.data import (
    Split,
    WindowDataset,
    chronological_split,
    load_ohlcv,
    make_features,
    make_labels,
    make_loaders,
    walk_forward_splits,
)
from neural_trader.data.scaling import Scaler
from neural_trader.errors import ConfigError, DataError, NeuralTraderError, ShapeError

TYPED = (NeuralTraderError,)


def _csv_text() -> str:
    return bars(30).to_csv()


def _file(name: str, data: bytes | str) -> str:
    path = workdir() / name
    if isinstance(data, str):
        data = data.encode()
    path.write_bytes(data)
    return str(path)


def register_files() -> None:
    rng = np.random.default_rng(0)
    garbage = rng.bytes(5000)
    files: dict[str, Callable[[], str]] = {
        "empty.csv": lambda: _file("empty.csv", b""),
        "header_only.csv": lambda: _file("header_only.csv", "timestamp,open,high,low,close,volume\n"),
        "garbage.csv": lambda: _file("garbage.csv", garbage),
        "garbage.csv.gz": lambda: _file("garbage.csv.gz", garbage),
        "garbage.csv.bz2": lambda: _file("garbage.csv.bz2", garbage),
        "garbage.csv.xz": lambda: _file("garbage.csv.xz", garbage),
        "garbage.csv.zip": lambda: _file("garbage.csv.zip", garbage),
        "garbage.parquet": lambda: _file("garbage.parquet", garbage),
        "gzip_of_garbage.csv.gz": lambda: _file("gzip_of_garbage.csv.gz", gzip.compress(garbage)),
        "bz2_of_text.csv.bz2": lambda: _file("bz2_of_text.csv.bz2", bz2.compress(b"a,b\n1,2\n")),
        "xz_truncated.csv.xz": lambda: _file("xz_truncated.csv.xz", lzma.compress(_csv_text().encode())[:50]),
        "gz_truncated.csv.gz": lambda: _file("gz_truncated.csv.gz", gzip.compress(_csv_text().encode())[:60]),
        "utf16.csv": lambda: _file("utf16.csv", _csv_text().encode("utf-16")),
        "nul_bytes.csv": lambda: _file("nul_bytes.csv", b"\x00" * 1000),
        "one_huge_field.csv": lambda: _file(
            "one_huge_field.csv", "timestamp,open\n" + "9" * 2_000_000 + ",1\n"
        ),
        "unbalanced_quotes.csv": lambda: _file(
            "quotes.csv", 'timestamp,open,high,low,close,volume\n"2020,1,1,1,1,1\n'
        ),
        "inf_price.csv": lambda: _file("inf.csv", _csv_text().replace(",", ",1e400", 1)),
        "text_price.csv": lambda: _file("text.csv", _csv_text().replace("\n2020-01-03", "\n2020-01-03x", 1)),
        "unsupported_suffix.txt": lambda: _file("bars.txt", _csv_text()),
        "no_suffix": lambda: _file("bars", _csv_text()),
        "empty_folder": lambda: _folder("empty_folder"),
    }
    for name, make in files.items():
        add(f"data.load_ohlcv/file={name}", lambda m=make: load_ohlcv(m()), DataError, group="data")
    add(
        "data.load_ohlcv/missing_path",
        lambda: load_ohlcv(str(workdir() / "nope.csv")),
        FileNotFoundError,
        group="data",
    )
    add("data.load_ohlcv/source_none", lambda: load_ohlcv(None), (TypeError, DataError), group="data")
    add("data.load_ohlcv/source_int", lambda: load_ohlcv(3), (TypeError, DataError), group="data")
    add(
        "data.load_ohlcv/nan_policy_bad",
        lambda: load_ohlcv(bars(), nan_policy="zero"),
        ConfigError,
        group="data",
    )
    add(
        "data.load_ohlcv/nan_policy_none",
        lambda: load_ohlcv(bars(), nan_policy=None),
        ConfigError,
        group="data",
    )


def _folder(name: str) -> str:
    path = workdir() / name
    path.mkdir(exist_ok=True)
    return str(path)


def _frame_with(edit: Callable[[pd.DataFrame], pd.DataFrame | None]) -> pd.DataFrame:
    frame = bars(40)
    out = edit(frame)
    return frame if out is None else out


def _set(col: str, row: int, value: Any) -> Callable[[pd.DataFrame], None]:
    def edit(f: pd.DataFrame) -> None:
        if not isinstance(value, float):
            f[col] = f[col].astype(object)
        f.iloc[row, f.columns.get_loc(col)] = value

    return edit


FRAMES: dict[str, Callable[[pd.DataFrame], Any]] = {
    "nan_close": _set("close", 5, float("nan")),
    "inf_high": _set("high", 5, float("inf")),
    "neg_inf_low": _set("low", 5, float("-inf")),
    "nan_first_row": _set("open", 0, float("nan")),
    "text_in_open": _set("open", 3, "abc"),
    "none_in_volume": _set("volume", 3, None),
    "negative_price": _set("close", 3, -1.0),
    "zero_price": _set("open", 3, 0.0),
    "negative_volume": _set("volume", 3, -5.0),
    "high_below_close": _set("high", 3, 1e-3),
    "huge_price": _set("close", 3, 1e308),
    "empty": lambda f: f.iloc[:0],
    "no_columns": lambda f: f[[]],
    "missing_close": lambda f: f.drop(columns="close"),
    "duplicate_close_column": lambda f: pd.concat([f, f[["close"]]], axis=1),
    "unsorted_index": lambda f: f.iloc[::-1],
    "duplicate_timestamps": lambda f: pd.concat([f.iloc[:5], f.iloc[4:]]),
    "integer_index": lambda f: f.reset_index(drop=True),
    "unparsable_time_column": lambda f: f.reset_index().assign(timestamp=["not a date"] * len(f)),
    "mixed_tz_time_column": lambda f: f.reset_index().assign(
        timestamp=[f"2020-01-{d:02d}T00:00:00{'+01:00' if d % 2 else 'Z'}" for d in range(1, 41)]
    ),
    "object_dtype_all": lambda f: f.astype(object),
    "bool_columns": lambda f: f > 0,
    "complex_columns": lambda f: f.astype(complex),
    "multiindex_columns": lambda f: f.set_axis(pd.MultiIndex.from_product([["a"], f.columns]), axis=1),
}
FRAME_OK = {"object_dtype_all"}


def register_frames() -> None:
    for name, edit in FRAMES.items():
        make = lambda e=edit: _frame_with(e)  # noqa: E731
        ok = name in FRAME_OK
        expect = None if ok else (DataError,)
        add(f"data.load_ohlcv/frame={name}", lambda m=make: load_ohlcv(m()), expect, group="data")
        add(
            f"data.make_features/frame={name}",
            lambda m=make: make_features(m()),
            expect,
            group="data",
            slow=True,
        )
        add(
            f"data.make_labels/frame={name}", lambda m=make: make_labels(m()), expect, group="data", slow=True
        )
    add(
        "data.load_ohlcv/not_a_frame_array",
        lambda: load_ohlcv(np.zeros((5, 5))),
        (DataError, TypeError),
        group="data",
    )
    add(
        "data.load_ohlcv/not_a_frame_dict",
        lambda: load_ohlcv({"open": [1.0]}),
        (DataError, TypeError),
        group="data",
    )


def register_features_labels() -> None:
    b = bars(80)
    bad_features: dict[str, Any] = {
        "unknown": ["not_a_feature"],
        "empty": [],
        "string": "rsi_14",
        "none_entry": [None],
        "int_entry": [3],
    }
    for name, cols in bad_features.items():
        add(
            f"data.make_features/columns={name}",
            lambda c=cols: make_features(b, columns=c),
            ConfigError,
            group="data",
        )
    add("data.make_features/one_row", lambda: make_features(bars(1)), None, group="data")
    bad_labels: dict[str, dict[str, Any]] = {
        "horizon_zero": {"horizons": [0]},
        "horizon_negative": {"horizons": [-1]},
        "horizon_repeated": {"horizons": [1, 1]},
        "horizons_empty": {"horizons": []},
        "horizon_float": {"horizons": [1.5]},
        "horizon_str": {"horizons": ["1"]},
        "horizon_bool": {"horizons": [True]},
        "horizons_str": {"horizons": "17"},
        "horizon_2^200": {"horizons": [2**200]},
        "dead_zone_nan": {"dead_zone": float("nan")},
        "dead_zone_negative": {"dead_zone": -0.1},
        "dead_zone_inf": {"dead_zone": float("inf")},
        "dead_zone_str": {"dead_zone": "0.1"},
        "dead_zone_none": {"dead_zone": None},
        "vol_window_one": {"vol_window": 1},
        "vol_window_bool": {"vol_window": True},
        "vol_window_float": {"vol_window": 2.5},
    }
    # Beyond the series: valid, every label of that horizon is NaN (documented: the last h rows are NaN).
    for name, kw in {"horizon_2^62": {"horizons": [2**62]}, "vol_window_2^62": {"vol_window": 2**62}}.items():
        add(
            f"data.make_labels/{name}",
            lambda k=kw: make_labels(b, **k),
            None,
            group="data",
            max_rss_growth_mb=256,
        )
    for name, kw in bad_labels.items():
        huge = name == "horizon_2^200"
        add(
            f"data.make_labels/{name}",
            lambda k=kw: make_labels(b, **k),
            (ConfigError,) if not huge else (ConfigError, DataError),
            group="data",
            max_rss_growth_mb=256 if huge else None,
        )


def register_splits() -> None:
    bad_chrono: dict[str, dict[str, Any]] = {
        "n_rows_zero": {"n_rows": 0},
        "n_rows_negative": {"n_rows": -5},
        "n_rows_float": {"n_rows": 100.5},
        "n_rows_str": {"n_rows": "100"},
        "n_rows_none": {"n_rows": None},
        "n_rows_bool": {"n_rows": True},
        "horizon_zero": {"horizon": 0},
        "horizon_none": {"horizon": None},
        "horizon_2^62": {"horizon": 2**62},
        "embargo_below_horizon": {"embargo": 1},
        "embargo_negative": {"embargo": -1},
        "embargo_float": {"embargo": 5.5},
        "fractions_two": {"fractions": (0.5, 0.5)},
        "fractions_zero_part": {"fractions": (1.0, 0.0, 0.0)},
        "fractions_nan": {"fractions": (float("nan"), 0.5, 0.5)},
        "fractions_sum_2": {"fractions": (1.0, 0.5, 0.5)},
        "fractions_str": {"fractions": ("a", "b", "c")},
        "fractions_none": {"fractions": None},
        "too_few_rows": {"n_rows": 12},
    }
    for name, kw in bad_chrono.items():
        args = {"n_rows": 100, "horizon": 5, **kw}
        add(
            f"data.chronological_split/{name}",
            lambda a=args: chronological_split(**a),
            ConfigError,
            group="data",
        )
    add(
        "data.chronological_split/n_rows_2^70",
        lambda: chronological_split(2**70, horizon=5),
        None,
        group="data",
    )
    bad_wf: dict[str, dict[str, Any]] = {
        "n_folds_zero": {"n_folds": 0},
        "n_folds_negative": {"n_folds": -2},
        "n_folds_2^40": {"n_folds": 2**40},
        "n_folds_float": {"n_folds": 2.5},
        "mode_unknown": {"mode": "sideways"},
        "test_size_zero": {"test_size": 0},
        "test_size_huge": {"test_size": 10**9},
        "val_size_negative": {"val_size": -1},
        "train_size_expanding": {"train_size": 10},
        "train_size_too_big": {"mode": "rolling", "train_size": 10**6},
        "embargo_below_horizon": {"embargo": 1},
        "horizon_str": {"horizon": "5"},
    }
    for name, kw in bad_wf.items():
        args = {"n_rows": 500, "horizon": 5, **kw}
        add(
            f"data.walk_forward_splits/{name}",
            lambda a=args: walk_forward_splits(**a),
            ConfigError,
            group="data",
            max_rss_growth_mb=128,
        )
    good = chronological_split(100, horizon=5).to_json()
    bad_json = {
        "not_json": "{",
        "empty": "",
        "array": "[]",
        "null": "null",
        "number": "3",
        "bytes": b"\xff\xfe",
        "none": None,
        "deeply_nested": "[" * 100_000 + "]" * 100_000,
        "huge_int": good.replace('"n_rows": 100', '"n_rows": 1' + "0" * 5000),
        "n_rows_str": good.replace('"n_rows": 100', '"n_rows": "100"'),
        "train_reversed": good.replace('"train": [\n    0,\n    63\n  ]', '"train": [63, 0]'),
        "train_strings": good.replace('"train": [\n    0,\n    63\n  ]', '"train": ["a", "b"]'),
        "train_triple": good.replace('"train": [\n    0,\n    63\n  ]', '"train": [0, 1, 2]'),
        "overlap": good.replace('"train": [\n    0,\n    63\n  ]', '"train": [0, 90]'),
        "other_format": good.replace("neural_trader.split", "other"),
        "future_version": good.replace('"version": 1', '"version": 99'),
        "embargo_float": good.replace('"embargo": 5', '"embargo": 5.5'),
        "time_range_object": good.replace('"time_range": null', '"time_range": {"a": 1}'),
    }
    for name, text in bad_json.items():
        add(f"data.Split.from_json/{name}", lambda t=text: Split.from_json(t), ConfigError, group="data")
    add("data.Split.from_json/valid", lambda: Split.from_json(good), None, group="data")
    add(
        "data.Split.load/missing",
        lambda: Split.load(workdir() / "nope.json"),
        FileNotFoundError,
        group="data",
    )
    add(
        "data.Split.load/directory",
        lambda: Split.load(workdir()),
        (ConfigError, IsADirectoryError),
        group="data",
    )
    add(
        "data.Split.load/binary",
        lambda: Split.load(_file("split.bin", b"\xff\x00" * 100)),
        ConfigError,
        group="data",
    )
    bad_scaler = {
        "empty": {},
        "std_zero": {"mean": [0.0], "std": [0.0], "columns": ["a"]},
        "std_nan": {"mean": [0.0], "std": [float("nan")], "columns": ["a"]},
        "lengths_differ": {"mean": [0.0, 1.0], "std": [1.0], "columns": ["a"]},
        "strings": {"mean": ["x"], "std": ["y"], "columns": ["a"]},
        "nested": {"mean": [[0.0]], "std": [[1.0]], "columns": ["a"]},
        "not_a_mapping": [1, 2],
    }
    for name, d in bad_scaler.items():
        add(
            f"data.Scaler.from_dict/{name}",
            lambda x=d: Scaler.from_dict(x),
            (ConfigError, DataError, ShapeError),
            group="data",
        )


def register_dataset() -> None:
    s = np.random.default_rng(0).normal(size=(50, 3))
    labels = np.random.default_rng(1).normal(size=(50, 2))
    cases: dict[str, tuple[Callable[[], Any], Any]] = {
        "series_1d": (lambda: WindowDataset(s[:, 0], window=5), ShapeError),
        "series_3d": (lambda: WindowDataset(s[None], window=5), ShapeError),
        "series_0d": (lambda: WindowDataset(np.float64(1.0), window=5), ShapeError),
        "series_empty": (lambda: WindowDataset(np.zeros((0, 3)), window=5), (ConfigError, DataError)),
        "series_no_features": (lambda: WindowDataset(np.zeros((50, 0)), window=5), TYPED),
        "series_nan": (
            lambda: WindowDataset(np.where(np.arange(150).reshape(50, 3) == 77, np.nan, s), window=5),
            DataError,
        ),
        "series_inf": (lambda: WindowDataset(np.full((50, 3), np.inf), window=5), DataError),
        "series_object": (lambda: WindowDataset(s.astype(object), window=5), (DataError,)),
        "series_str": (lambda: WindowDataset(s.astype(str), window=5), (DataError,)),
        "series_complex": (lambda: WindowDataset(s.astype(complex), window=5), (DataError,)),
        "series_ragged_list": (lambda: WindowDataset([[1.0, 2.0], [3.0]], window=1), (ShapeError, DataError)),
        "window_zero": (lambda: WindowDataset(s, window=0), ConfigError),
        "window_bool": (lambda: WindowDataset(s, window=True), ConfigError),
        "window_float": (lambda: WindowDataset(s, window=2.0), ConfigError),
        "window_2^62": (lambda: WindowDataset(s, window=2**62), (DataError, ConfigError)),
        "stride_zero": (lambda: WindowDataset(s, window=5, stride=0), ConfigError),
        "start_negative": (lambda: WindowDataset(s, window=5, start=-1), ConfigError),
        "stop_beyond": (lambda: WindowDataset(s, window=5, stop=51), ConfigError),
        "start_after_stop": (lambda: WindowDataset(s, window=5, start=30, stop=10), ConfigError),
        "start_float": (lambda: WindowDataset(s, window=5, start=1.5), (ConfigError, TypeError)),
        "labels_wrong_rows": (lambda: WindowDataset(s, labels[:10], window=5), ShapeError),
        "labels_1d": (lambda: WindowDataset(s, labels[:, 0], window=5), ShapeError),
        "labels_all_nan": (lambda: WindowDataset(s, np.full((50, 2), np.nan), window=5), DataError),
        "labels_object": (
            lambda: WindowDataset(s, np.full((50, 2), None, dtype=object), window=5),
            (DataError, ShapeError),
        ),
        "labels_text": (lambda: WindowDataset(s, np.full((50, 2), "up"), window=5), (DataError, ShapeError)),
        "scaler_mismatch": (lambda: WindowDataset(s, window=5, scaler=Scaler.fit(s[:, :2])), ShapeError),
        "lazy_nan": (lambda: WindowDataset(np.full((50, 3), np.nan), window=5, lazy=True), DataError),
    }
    for name, (call, exc) in cases.items():
        add(f"data.WindowDataset/{name}", call, exc, group="data", max_rss_growth_mb=256)
    # Layouts: the same windows as a C-contiguous float64 copy.
    layouts = {
        "fortran": np.asfortranarray(s),
        "strided": np.repeat(s, 2, axis=0)[::2],
        "negative_strides": s[::-1].copy()[::-1],
        "float32": s.astype(np.float32),
        "int64": np.round(s * 10).astype(np.int64),
        "memmap": None,  # made when the case runs: registering cases writes no file
        "readonly": _readonly(s),
    }
    for name, arr in layouts.items():
        for lazy in (False, True):
            add(
                f"data.WindowDataset/layout={name},lazy={lazy}",
                lambda a=arr, z=lazy: _dataset_items(_memmap(s) if a is None else a, z),
                None,
                _same_windows(s if arr is None else arr, lazy),
                group="data",
                slow=lazy,
            )


def _memmap(a: np.ndarray) -> np.memmap:
    path = workdir() / "dataset.bin"
    a.tofile(path)
    return np.memmap(path, dtype=a.dtype, mode="r", shape=a.shape)


def _readonly(a: np.ndarray) -> np.ndarray:
    b = a.copy()
    b.flags.writeable = False
    return b


def _dataset_items(a: np.ndarray, lazy: bool) -> np.ndarray:
    ds = WindowDataset(a, window=5, stride=3, lazy=lazy)
    return np.stack([ds[i].numpy() for i in range(len(ds))])


def _same_windows(a: np.ndarray, lazy: bool) -> Callable[[Any], None]:
    def check(got: np.ndarray) -> None:
        want = _dataset_items(np.ascontiguousarray(np.asarray(a), dtype=np.float64), lazy)
        np.testing.assert_array_equal(got, want)

    return check


def register_loaders() -> None:
    b = bars(400)
    bad: dict[str, dict[str, Any]] = {
        "window_zero": {"window": 0},
        "window_huge": {"window": 10**6},
        "batch_size_zero": {"batch_size": 0},
        "batch_size_negative": {"batch_size": -1},
        "batch_size_bool": {"batch_size": True},
        "batch_size_float": {"batch_size": 2.5},
        "num_workers_negative": {"num_workers": -1},
        "stride_zero": {"stride": 0},
        "horizons_empty": {"horizons": []},
        "labels_unknown": {"labels": ["nope"]},
        "labels_empty": {"labels": []},
        "features_unknown": {"features": ["nope"]},
        "fractions_bad": {"fractions": (0.9, 0.9, 0.9)},
        "embargo_small": {"embargo": 0},
        "seed_negative": {"seed": -1},
        "seed_str": {"seed": "x"},
        "split_wrong_rows": {"split": chronological_split(500, horizon=5)},
        "bars_not_frame": {"bars": np.zeros((10, 5))},
    }
    for name, kw in bad.items():
        args = {"bars": b, "window": 16, "horizons": (1, 5), **kw}
        add(f"data.make_loaders/{name}", lambda a=args: make_loaders(**a), TYPED, group="data")


register_files()
register_frames()
register_features_labels()
register_splits()
register_dataset()
register_loaders()
