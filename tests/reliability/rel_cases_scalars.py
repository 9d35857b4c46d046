"""Hostile scalar arguments and configs: kernel parameters (counts, ratios, seeds, strategies), sizes
whose product overflows, engine thread counts and save paths, the raw ``lstm_forward``/``mha_forward``
weight dictionaries, and every model config's fields."""

from __future__ import annotations

import dataclasses
import os
import stat
from collections.abc import Callable
from typing import Any

import numpy as np
from rel_cases import add
from rel_fixtures import clf_engine, clf_file, clf_model, ohlcv_windows, windows, workdir

import neural_trader as nt
from neural_trader import _core, kernels
from neural_trader.errors import CheckpointError, ConfigError, DataError, NeuralTraderError, ShapeError

# Values an integer count must refuse (ConfigError in the Python API) and the raw layer too (pyo3's own
# argument conversion errors, TypeError/OverflowError/ValueError, for what it cannot convert).
BAD_COUNTS: dict[str, Any] = {
    "negative": -1,
    "bool": True,
    "float": 2.5,
    "nan": float("nan"),
    "str": "3",
    "none": None,
    "2^64": 2**64,
    "2^200": 2**200,
}
RAW_ARG_ERRORS = (TypeError, OverflowError, ValueError)


def _series() -> np.ndarray:
    return windows(1, 20, 3)[0]


def register_counts() -> None:
    calls: dict[str, Callable[[Any], Any]] = {
        "kernels.sliding_windows.window": lambda v: kernels.sliding_windows(_series(), v),
        "kernels.sliding_windows.stride": lambda v: kernels.sliding_windows(_series(), 3, v),
        "kernels.zscore_stats.start": lambda v: kernels.zscore_stats(_series(), v),
        "kernels.zscore_stats.stop": lambda v: kernels.zscore_stats(_series(), 0, v),
        "kernels.mask.n": lambda v: kernels.mask(v, 10),
        "kernels.mask.length": lambda v: kernels.mask(2, v),
        "kernels.mask.patch_size": lambda v: kernels.mask(2, 10, strategy="patch", patch_size=v),
        "kernels.mask.seed": lambda v: kernels.mask(2, 10, seed=v),
        "kernels.augment.seed": lambda v: kernels.augment(ohlcv_windows(), seed=v),
        "kernels.augment_dataset.num_augmentations": lambda v: kernels.augment_dataset(ohlcv_windows(), v),
    }
    for name, call in calls.items():
        for label, value in BAD_COUNTS.items():
            if name.endswith(".stop") and value is None:
                continue  # stop=None is documented (the end)
            add(f"{name}/{label}", lambda c=call, v=value: c(v), ConfigError, group="scalars")
    raw: dict[str, Callable[[Any], Any]] = {
        "_core.sliding_windows.window": lambda v: _core.sliding_windows(_series(), v),
        "_core.mask.n": lambda v: _core.mask(v, 10),
        "_core.mask.seed": lambda v: _core.mask(2, 10, seed=v),
        "_core.augment_dataset.num_augmentations": lambda v: _core.augment_dataset(ohlcv_windows(), v),
    }
    for name, call in raw.items():
        for label, value in BAD_COUNTS.items():
            if label == "bool":
                continue  # pyo3 takes a bool as the integer 0 or 1
            add(f"{name}/{label}", lambda c=call, v=value: c(v), RAW_ARG_ERRORS, group="scalars", slow=True)


def register_sizes() -> None:
    """Sizes whose product overflows or cannot be allocated: a typed error, never an abort."""
    big = {
        "mask_2^32x2^32": (lambda: kernels.mask(2**32, 2**32), ConfigError),
        "mask_2^62x4": (lambda: kernels.mask(2**62, 4), ConfigError),
        "mask_2^63x2^63": (lambda: kernels.mask(2**63, 2**63), ConfigError),
        "mask_usize_max": (lambda: kernels.mask(2**64 - 1, 2**64 - 1), ConfigError),
        "mask_1TiB": (lambda: kernels.mask(2**20, 2**20), (DataError, ConfigError)),
        "mask_length_1e12_patch": (
            lambda: kernels.mask(1, 10**12, strategy="patch"),
            (DataError, ConfigError),
        ),
        "augment_dataset_k_2^62": (lambda: kernels.augment_dataset(ohlcv_windows(), 2**62), ConfigError),
        "augment_dataset_k_2^64-1": (
            lambda: kernels.augment_dataset(ohlcv_windows(), 2**64 - 1),
            ConfigError,
        ),
        "augment_dataset_1TiB": (
            lambda: kernels.augment_dataset(ohlcv_windows(), 2**33),
            (DataError, ConfigError),
        ),
        "sliding_windows_output_1TiB": (lambda: _windows_beyond_memory(), (DataError, ConfigError)),
        "sliding_windows_window_2^63": (lambda: kernels.sliding_windows(_series(), 2**63), (ShapeError,)),
        "sliding_windows_stride_2^63": (lambda: kernels.sliding_windows(_series(), 3, 2**63), None),
        "zscore_stats_stop_2^63": (lambda: kernels.zscore_stats(_series(), 0, 2**63), ConfigError),
        "zscore_stats_start_after_stop": (lambda: kernels.zscore_stats(_series(), 5, 2), ConfigError),
        "zscore_stats_empty_range": (lambda: kernels.zscore_stats(_series(), 3, 3), ConfigError),
    }
    for name, (call, exc) in big.items():
        add(f"sizes/{name}", call, exc, group="scalars", max_rss_growth_mb=256)


def _windows_beyond_memory() -> Any:
    # 1 M rows x 4 features (16 MB) cut into windows of 100 k rows every row: a 1.4 TB output.
    series = np.zeros((1_000_000, 4), np.float32)
    return kernels.sliding_windows(series, 100_000, 1)


def register_kernel_params() -> None:
    w = ohlcv_windows
    bad_mask = {
        "ratio_nan": {"ratio": float("nan")},
        "ratio_inf": {"ratio": float("inf")},
        "ratio_negative": {"ratio": -0.1},
        "ratio_one": {"ratio": 1.0},
        "ratio_none": {"ratio": None},
        "strategy_unknown": {"strategy": "everything"},
        "strategy_none": {"strategy": None},
        "strategy_bytes": {"strategy": b"random"},
        "strategy_empty": {"strategy": ""},
        "patch_zero": {"strategy": "patch", "patch_size": 0},
        "patch_longer_than_length": {"strategy": "patch", "patch_size": 11},
        "block_patch_zero": {"strategy": "block", "patch_size": 0},
        "length_zero": {"length": 0},
    }
    for name, kw in bad_mask.items():
        args = {"n": 2, "length": 10, **kw}
        add(f"kernels.mask/{name}", lambda a=args: kernels.mask(**a), ConfigError, group="scalars")
    add("kernels.mask/n_zero", lambda: kernels.mask(0, 10), None, _shape_is((0, 10)), group="scalars")
    bad_aug = {
        "time_warp_prob_2": {"time_warp_prob": 2.0},
        "time_warp_prob_nan": {"time_warp_prob": float("nan")},
        "time_warp_max_one": {"time_warp_max": 1.0},
        "time_warp_max_negative": {"time_warp_max": -0.5},
        "jitter_prob_negative": {"jitter_prob": -0.1},
        "jitter_scale_inf": {"jitter_scale": float("inf")},
        "jitter_scale_negative": {"jitter_scale": -1.0},
        "jitter_scale_str": {"jitter_scale": "big"},
        "vol_scale_prob_inf": {"vol_scale_prob": float("inf")},
        "vol_scale_range_reversed": {"vol_scale_range": (1.2, 0.8)},
        "vol_scale_range_zero": {"vol_scale_range": (0.0, 1.0)},
        "vol_scale_range_nan": {"vol_scale_range": (float("nan"), 1.0)},
        "vol_scale_range_inf": {"vol_scale_range": (1.0, float("inf"))},
        "vol_scale_range_scalar": {"vol_scale_range": 1.0},
        "vol_scale_range_triple": {"vol_scale_range": (0.9, 1.0, 1.1)},
        "vol_scale_range_none": {"vol_scale_range": None},
    }
    for name, kw in bad_aug.items():
        add(f"kernels.augment/{name}", lambda k=kw: kernels.augment(w(), **k), ConfigError, group="scalars")
        add(
            f"kernels.augment_dataset/{name}",
            lambda k=kw: kernels.augment_dataset(w(), 1, **k),
            ConfigError,
            group="scalars",
            slow=True,
        )
        add(
            f"_core.augment/{name}",
            lambda k=kw: _core.augment(w(), **k),
            (ConfigError, *RAW_ARG_ERRORS),
            group="scalars",
        )
    add("kernels.augment/width_3", lambda: kernels.augment(w()[..., :3]), ShapeError, group="scalars")
    add(
        "kernels.augment/width_6",
        lambda: kernels.augment(np.concatenate([w(), w()[..., :1]], -1)),
        ShapeError,
        group="scalars",
    )
    # Extreme but valid candles: the output is still valid candles, finite.
    add(
        "kernels.augment/extreme_candles",
        lambda: kernels.augment(_extreme_candles(), seed=5),
        None,
        _valid_candles,
        group="scalars",
    )
    add(
        "kernels.augment/invalid_candles_repaired",
        lambda: kernels.augment(_invalid_candles(), seed=5),
        None,
        _valid_candles,
        group="scalars",
    )
    bad_sw = {
        "mean_only": lambda: kernels.sliding_windows(_series(), 3, mean=np.zeros(3)),
        "std_zero": lambda: kernels.sliding_windows(_series(), 3, mean=np.zeros(3), std=np.zeros(3)),
        "std_negative": lambda: kernels.sliding_windows(_series(), 3, mean=np.zeros(3), std=-np.ones(3)),
        "std_nan": lambda: kernels.sliding_windows(_series(), 3, mean=np.zeros(3), std=np.full(3, np.nan)),
        "mean_inf": lambda: kernels.sliding_windows(_series(), 3, mean=np.full(3, np.inf), std=np.ones(3)),
        "mean_wrong_len": lambda: kernels.sliding_windows(_series(), 3, mean=np.zeros(4), std=np.ones(4)),
        "mean_2d": lambda: kernels.sliding_windows(_series(), 3, mean=np.zeros((1, 3)), std=np.ones((1, 3))),
        "mean_object": lambda: kernels.sliding_windows(
            _series(), 3, mean=np.zeros(3, object), std=np.ones(3)
        ),
    }
    for name, call in bad_sw.items():
        add(f"kernels.sliding_windows/{name}", call, (ConfigError, ShapeError, DataError), group="scalars")


def _shape_is(shape: tuple[int, ...]) -> Callable[[Any], None]:
    def check(got: Any) -> None:
        assert got.shape == shape, got.shape

    return check


def _extreme_candles() -> np.ndarray:
    x = ohlcv_windows(2, 8, 5)
    x[0] *= 1e30
    x[1] *= 1e-30
    return x


def _invalid_candles() -> np.ndarray:
    x = ohlcv_windows(2, 8, 5)
    x[..., 1], x[..., 2] = x[..., 2].copy(), x[..., 1].copy()  # high and low swapped
    x[..., 4] = -x[..., 4]  # negative volume
    return x


def _valid_candles(y: np.ndarray) -> None:
    o, h, low, c = (y[..., k] for k in range(4))
    assert np.isfinite(y).all(), "non-finite output"
    assert (h >= np.maximum(o, c)).all() and (low <= np.minimum(o, c)).all(), "invalid candle"
    if y.shape[-1] == 5:
        assert (y[..., 4] >= 0).all(), "negative volume"


def register_engine() -> None:
    bad_threads = (
        ("zero", 0),
        ("too_many", 10**6),
        ("negative", -1),
        ("float", 1.5),
        ("str", "2"),
        ("2^64", 2**64),
    )
    for label, value in bad_threads:
        add(
            f"native.load.threads/{label}",
            lambda v=value: nt.native.load(clf_file(), v),
            ConfigError,
            group="scalars",
        )
        add(
            f"native.from_bytes.threads/{label}",
            lambda v=value: nt.native.from_bytes(clf_model().to_checkpoint().to_bytes(), v),
            ConfigError,
            group="scalars",
        )
    add(
        "native.predict/return_attention_on_classifier",
        lambda: clf_engine().predict(windows(), True),
        ConfigError,
        group="scalars",
    )
    add(
        "native.teacher_forced/on_classifier",
        lambda: clf_engine().teacher_forced(windows(), windows(3, 1, 1)),
        ConfigError,
        group="scalars",
    )
    # Saving: every failure is an OSError (FileNotFoundError for a missing folder), never a crash.
    saves: dict[str, tuple[Callable[[], str], Any]] = {
        "missing_folder": (lambda: str(workdir() / "no" / "such" / "m.safetensors"), FileNotFoundError),
        "path_is_folder": (lambda: str(workdir()), (OSError, CheckpointError)),
        "empty_path": (lambda: "", (OSError, CheckpointError)),
        "nul_byte": (lambda: str(workdir() / "a\x00b"), (OSError, ValueError, TypeError, CheckpointError)),
        "fifo": (_fifo, CheckpointError),
        "parent_is_file": (lambda: str(clf_file()) + "/m.safetensors", (OSError,)),
    }
    for label, (path, exc) in saves.items():
        add(f"native.save/{label}", lambda p=path: clf_engine().save(p()), exc, group="scalars")
        add(f"model.save/{label}", lambda p=path: clf_model().save(p()), exc, group="scalars")
    add("native+model.save/fifo_still_a_fifo", _fifo_intact, None, group="scalars")


def _fifo() -> str:
    # An existing non-regular file must not be replaced by the rename (as root, /dev/full would be).
    path = workdir() / "save-target.fifo"
    if not path.exists():
        os.mkfifo(path)
    return str(path)


def _fifo_intact() -> str:
    path = workdir() / "save-target.fifo"
    assert path.exists() and stat.S_ISFIFO(os.lstat(path).st_mode), "the FIFO was replaced"
    return "FIFO intact"


def _lstm_weights(hidden: int = 3, inp: int = 2) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "weight_ih_l0": rng.normal(size=(4 * hidden, inp)).astype(np.float32),
        "weight_hh_l0": rng.normal(size=(4 * hidden, hidden)).astype(np.float32),
        "bias_ih_l0": rng.normal(size=4 * hidden).astype(np.float32),
        "bias_hh_l0": rng.normal(size=4 * hidden).astype(np.float32),
    }


def _mha_weights(e: int = 4) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    return {
        "in_proj_weight": rng.normal(size=(3 * e, e)).astype(np.float32),
        "in_proj_bias": rng.normal(size=3 * e).astype(np.float32),
        "out_proj.weight": rng.normal(size=(e, e)).astype(np.float32),
        "out_proj.bias": rng.normal(size=e).astype(np.float32),
    }


def _edit(weights: dict[str, np.ndarray], **changes: Any) -> dict[str, Any]:
    out: dict[str, Any] = dict(weights)
    for k, v in changes.items():
        if v is None:
            out.pop(k)
        else:
            out[k] = v
    return out


def register_raw_models() -> None:
    x = np.zeros((2, 5, 2), np.float32)
    lw = _lstm_weights()
    lstm_cases: dict[str, tuple[Callable[[], Any], Any]] = {
        "valid": (lambda: _core.lstm_forward(lw, x, 1, False), None),
        "missing_weight": (
            lambda: _core.lstm_forward(_edit(lw, bias_hh_l0=None), x, 1, False),
            NeuralTraderError,
        ),
        "misshapen_weight": (
            lambda: _core.lstm_forward(_edit(lw, bias_hh_l0=np.zeros(5, np.float32)), x, 1, False),
            NeuralTraderError,
        ),
        "nan_weight": (
            lambda: _core.lstm_forward(_edit(lw, bias_hh_l0=np.full(12, np.nan, np.float32)), x, 1, False),
            DataError,
        ),
        "weight_float64": (
            lambda: _core.lstm_forward(_edit(lw, bias_hh_l0=np.zeros(12)), x, 1, False),
            TypeError,
        ),
        "weight_not_array": (
            lambda: _core.lstm_forward(_edit(lw, bias_hh_l0=[0.0] * 12), x, 1, False),
            TypeError,
        ),
        "weight_key_not_str": (
            lambda: _core.lstm_forward({**lw, 3: lw["bias_hh_l0"]}, x, 1, False),
            TypeError,
        ),
        "weights_empty": (lambda: _core.lstm_forward({}, x, 1, False), NeuralTraderError),
        "weights_not_dict": (lambda: _core.lstm_forward([1, 2], x, 1, False), TypeError),
        "extra_weight": (
            lambda: _core.lstm_forward({**lw, "junk": np.zeros(1, np.float32)}, x, 1, False),
            NeuralTraderError,
        ),
        "num_layers_zero": (lambda: _core.lstm_forward(lw, x, 0, False), NeuralTraderError),
        "num_layers_two_missing": (lambda: _core.lstm_forward(lw, x, 2, False), NeuralTraderError),
        "num_layers_2^63": (lambda: _core.lstm_forward(lw, x, 2**63, False), NeuralTraderError),
        "num_layers_negative": (lambda: _core.lstm_forward(lw, x, -1, False), RAW_ARG_ERRORS),
        "bidirectional_missing_reverse": (lambda: _core.lstm_forward(lw, x, 1, True), NeuralTraderError),
        "x_wrong_width": (
            lambda: _core.lstm_forward(lw, np.zeros((2, 5, 3), np.float32), 1, False),
            ShapeError,
        ),
        "x_empty_batch": (
            lambda: _core.lstm_forward(lw, np.zeros((0, 5, 2), np.float32), 1, False),
            ShapeError,
        ),
        "x_nan": (
            lambda: _core.lstm_forward(lw, np.full((2, 5, 2), np.nan, np.float32), 1, False),
            DataError,
        ),
        "h0_only": (
            lambda: _core.lstm_forward(lw, x, 1, False, np.zeros((1, 2, 3), np.float32)),
            ConfigError,
        ),
        "h0_wrong_shape": (
            lambda: _core.lstm_forward(
                lw, x, 1, False, np.zeros((1, 3, 3), np.float32), np.zeros((1, 3, 3), np.float32)
            ),
            NeuralTraderError,
        ),
        "h0_nan": (
            lambda: _core.lstm_forward(
                lw, x, 1, False, np.full((1, 2, 3), np.nan, np.float32), np.zeros((1, 2, 3), np.float32)
            ),
            DataError,
        ),
        "h0_wrong_count": (
            lambda: _core.lstm_forward(
                lw, x, 1, False, np.zeros((7,), np.float32), np.zeros((7,), np.float32)
            ),
            NeuralTraderError,
        ),
    }
    for name, (call, exc) in lstm_cases.items():
        check = (lambda got: _shape_is((2, 5, 3))(got[0])) if name == "valid" else None
        add(f"_core.lstm_forward/{name}", call, exc, check, group="scalars")
    q = np.zeros((2, 3, 4), np.float32)
    mw = _mha_weights()
    mha_cases: dict[str, tuple[Callable[[], Any], Any]] = {
        "valid": (lambda: _core.mha_forward(mw, q, q, q, 2), None),
        "num_heads_zero": (lambda: _core.mha_forward(mw, q, q, q, 0), NeuralTraderError),
        "num_heads_not_dividing": (lambda: _core.mha_forward(mw, q, q, q, 3), NeuralTraderError),
        "num_heads_2^63": (lambda: _core.mha_forward(mw, q, q, q, 2**63), NeuralTraderError),
        "num_heads_negative": (lambda: _core.mha_forward(mw, q, q, q, -2), RAW_ARG_ERRORS),
        "missing_out_proj": (
            lambda: _core.mha_forward(_edit(mw, **{"out_proj.weight": None}), q, q, q, 2),
            NeuralTraderError,
        ),
        "out_proj_1d": (
            lambda: _core.mha_forward(_edit(mw, **{"out_proj.weight": np.zeros(4, np.float32)}), q, q, q, 2),
            NeuralTraderError,
        ),
        "out_proj_huge_claim": (
            lambda: _core.mha_forward(
                _edit(mw, **{"out_proj.weight": np.zeros((1, 2**20), np.float32)}), q, q, q, 2
            ),
            NeuralTraderError,
        ),
        "in_proj_misshapen": (
            lambda: _core.mha_forward(_edit(mw, in_proj_weight=np.zeros((5, 4), np.float32)), q, q, q, 2),
            NeuralTraderError,
        ),
        "query_wrong_width": (
            lambda: _core.mha_forward(mw, np.zeros((2, 3, 5), np.float32), q, q, 2),
            ShapeError,
        ),
        "key_length_zero": (
            lambda: _core.mha_forward(
                mw, q, np.zeros((2, 0, 4), np.float32), np.zeros((2, 0, 4), np.float32), 2
            ),
            ShapeError,
        ),
        "query_length_zero": (
            lambda: _core.mha_forward(mw, np.zeros((2, 0, 4), np.float32), q, q, 2),
            (ShapeError,),
        ),
        "key_value_length_differ": (
            lambda: _core.mha_forward(mw, q, q, np.zeros((2, 5, 4), np.float32), 2),
            ShapeError,
        ),
        "batch_differ": (
            lambda: _core.mha_forward(
                mw, q, np.zeros((3, 3, 4), np.float32), np.zeros((3, 3, 4), np.float32), 2
            ),
            ShapeError,
        ),
        "batch_zero": (lambda: _core.mha_forward(mw, np.zeros((0, 3, 4), np.float32), q, q, 2), ShapeError),
        "query_rank2": (lambda: _core.mha_forward(mw, np.zeros((3, 4), np.float32), q, q, 2), ShapeError),
        "query_inf": (
            lambda: _core.mha_forward(mw, np.full((2, 3, 4), np.inf, np.float32), q, q, 2),
            DataError,
        ),
        "weight_nan": (
            lambda: _core.mha_forward(_edit(mw, in_proj_bias=np.full(12, np.nan, np.float32)), q, q, q, 2),
            DataError,
        ),
    }
    for name, (call, exc) in mha_cases.items():
        add(f"_core.mha_forward/{name}", call, exc, group="scalars")


# Model configs: every field gets the values its type cannot take.
HOSTILE_FIELD_VALUES: dict[str, Any] = {
    "zero": 0,
    "negative": -3,
    "bool": True,
    "float": 2.5,
    "nan": float("nan"),
    "inf": float("inf"),
    "str": "8",
    "none": None,
    "list": [8],
    "dict": {"a": 1},
}
CONFIGS: dict[str, tuple[type, dict[str, Any]]] = {
    "BiLSTMClassifierConfig": (nt.BiLSTMClassifierConfig, {"input_size": 4}),
    "LSTMAttentionConfig": (nt.LSTMAttentionConfig, {"input_size": 4, "output_size": 1, "horizon": 3}),
    "TrendAttentionConfig": (nt.TrendAttentionConfig, {"input_size": 4, "horizons": [1], "head_hidden": [8]}),
    "MaskedBiLSTMAutoencoderConfig": (
        nt.MaskedBiLSTMAutoencoderConfig,
        {"input_size": 4, "decoder_hidden": [8]},
    ),
    "SimpleLSTMConfig": (nt.SimpleLSTMConfig, {"input_size": 4, "head_hidden": [8]}),
    "EnhancedSimpleLSTMConfig": (nt.EnhancedSimpleLSTMConfig, {"input_size": 4, "head_hidden": [8]}),
}


def _accepts(field: dataclasses.Field, label: str, value: Any, cls: type) -> bool:
    """Values that are legitimately accepted by a field (documented), so they are no hostile case."""
    name = field.name
    if name == "latent_weight" and label in ("zero", "float"):
        return True
    if name in ("dropout", "latent_weight", "teacher_forcing_ratio") and label in ("zero", "float"):
        return label == "zero"
    if name == "target_indices" and label in ("none", "list"):
        return True
    if name in ("bidirectional", "layer_norm") and label == "bool":
        return True
    if name in ("horizons", "head_hidden", "decoder_hidden") and label == "list":
        return True
    if name == "num_classes" and label == "zero":  # no classes: one real output (a regression head)
        return True
    return False


def register_configs() -> None:
    for cname, (cls, required) in CONFIGS.items():
        for field in dataclasses.fields(cls):
            for label, value in HOSTILE_FIELD_VALUES.items():
                if _accepts(field, label, value, cls):
                    continue
                kwargs = {**required, field.name: value}
                add(
                    f"config.{cname}.{field.name}/{label}",
                    lambda c=cls, k=kwargs: c(**k),
                    ConfigError,
                    group="scalars",
                    slow=label in ("dict", "inf"),
                )
        add(
            f"config.{cname}/unknown_field",
            lambda c=cls, r=required: c(**r, surprise=1),
            TypeError,
            group="scalars",
        )
        # Models built from a valid config take their input like the engine: NaN is not checked in
        # torch (documented), but a wrong width is torch's own error; only the config is validated here.


register_counts()
register_sizes()
register_kernel_params()
register_engine()
register_raw_models()
register_configs()
