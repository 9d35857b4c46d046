"""Hostile checkpoint files against every loader, Rust and PyTorch side.

Files: truncated at every interesting offset, random bytes, a header length beyond the file, claiming
petabytes or zero, a header that is not JSON or not an object, invalid metadata (config JSON broken,
deeply nested, not an object, huge integers, unknown model, other format or version), tensors of the
wrong dtype, missing, extra and misshapen tensors, shapes whose product overflows, offsets that overlap or
leave the buffer, duplicate names, a plain safetensors file from elsewhere, and hostile configs (sizes up
to ``2**40``, a million layers or horizons) in a file of a few kilobytes, for every registered model.
Also: a directory, ``/dev/zero``, a FIFO, a missing file.

Loaders: ``nt.native.load``/``from_bytes``, ``nt.load``, ``nt.Checkpoint.read``/``from_bytes``, each
model class's ``load``, ``training.load_pretrained_strict``. Every one must raise ``CheckpointError`` (or
``ConfigError`` for a config value out of range), never allocate what the file does not hold (peak RSS
growth bounded), crash or hang.
"""

from __future__ import annotations

import functools
import json
import os
import struct
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from rel_cases import add
from rel_fixtures import workdir

import neural_trader as nt
from neural_trader.errors import CheckpointError, ConfigError
from neural_trader.models import PretrainedEncoder, PretrainedEncoderConfig
from neural_trader.training import load_pretrained_strict

BAD_FILE = (CheckpointError,)
BAD_CONFIG = (CheckpointError, ConfigError)
# Hostile configs must not allocate what the file does not hold: the model is a few KB, so anything
# beyond some tens of MB is the loader building what the config asks for.
RSS_BOUND_MB = 150


# ------------------------------------------------------------------------------------ valid models
def _small_models() -> dict[str, torch.nn.Module]:
    torch.manual_seed(0)
    return {
        "bilstm_classifier": nt.BiLSTMClassifier(nt.BiLSTMClassifierConfig(input_size=4, hidden_size=8)),
        "lstm_attention": nt.LSTMAttention(
            nt.LSTMAttentionConfig(input_size=4, output_size=1, horizon=3, hidden_size=8, num_heads=2)
        ),
        "trend_attention": nt.TrendAttention(
            nt.TrendAttentionConfig(
                input_size=4, hidden_size=8, num_heads=2, horizons=[1, 3], head_hidden=[8]
            )
        ),
        "masked_bilstm_autoencoder": nt.MaskedBiLSTMAutoencoder(
            nt.MaskedBiLSTMAutoencoderConfig(input_size=4, hidden_size=8, decoder_hidden=[8])
        ),
        "simple_lstm": nt.SimpleLSTM(nt.SimpleLSTMConfig(input_size=4, hidden_size=8, head_hidden=[8])),
        "enhanced_simple_lstm": nt.EnhancedSimpleLSTM(
            nt.EnhancedSimpleLSTMConfig(input_size=4, hidden_size=8, num_heads=2, head_hidden=[8])
        ),
        "lstm_encoder": PretrainedEncoder(PretrainedEncoderConfig(input_size=4, hidden_size=8)),
    }


@functools.cache
def models() -> dict[str, torch.nn.Module]:
    return _small_models()


@functools.cache
def valid_bytes(name: str) -> bytes:
    return models()[name].to_checkpoint().to_bytes()


def split(data: bytes) -> tuple[dict, bytes]:
    """``(header, buffer)`` of safetensors bytes."""
    n = struct.unpack("<Q", data[:8])[0]
    return json.loads(data[8 : 8 + n]), data[8 + n :]


def join(header: Any, buffer: bytes, *, declared_len: int | None = None) -> bytes:
    """Safetensors bytes from a header (any JSON value, or raw bytes) and a buffer."""
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    n = len(raw) if declared_len is None else declared_len
    return struct.pack("<Q", n) + raw + buffer


def with_meta(name: str, **changes: Any) -> bytes:
    """A valid file of model ``name`` with metadata entries replaced (``None`` removes one)."""
    header, buffer = split(valid_bytes(name))
    meta = dict(header["__metadata__"])
    for k, v in changes.items():
        if v is None:
            meta.pop(k, None)
        else:
            meta[k] = v
    header["__metadata__"] = meta
    return join(header, buffer)


def with_config(name: str, **fields: Any) -> bytes:
    """A valid file of model ``name`` whose config has ``fields`` replaced (tensors unchanged)."""
    header, _ = split(valid_bytes(name))
    config = json.loads(header["__metadata__"]["config"])
    config.update(fields)
    return with_meta(name, config=json.dumps(config))


def with_tensors(name: str, change: Callable[[dict[str, np.ndarray]], None]) -> bytes:
    """A file of model ``name`` whose tensors (numpy, float32) were edited by ``change``."""
    header, buffer = split(valid_bytes(name))
    meta = header.pop("__metadata__")
    arrays = {}
    for key, info in header.items():
        start, stop = info["data_offsets"]
        arrays[key] = np.frombuffer(buffer[start:stop], dtype=np.float32).reshape(info["shape"]).copy()
    change(arrays)
    return build(arrays, meta)


_DTYPES = {np.float32: "F32", np.float64: "F64", np.float16: "F16", np.int64: "I64", np.int32: "I32"}
_DTYPES |= {np.uint8: "U8", np.bool_: "BOOL", np.int8: "I8"}


def build(arrays: dict[str, np.ndarray], meta: dict[str, str] | None) -> bytes:
    """Serialises numpy arrays (any of the dtypes above) to safetensors bytes."""
    header: dict[str, Any] = {}
    chunks, offset = [], 0
    for key in sorted(arrays):
        a = np.ascontiguousarray(arrays[key])
        raw = a.tobytes()
        header[key] = {
            "dtype": _DTYPES[a.dtype.type],
            "shape": list(a.shape),
            "data_offsets": [offset, offset + len(raw)],
        }
        chunks.append(raw)
        offset += len(raw)
    if meta is not None:
        header["__metadata__"] = meta
    return join(header, b"".join(chunks))


def with_header(name: str, change: Callable[[dict], None]) -> bytes:
    """A file of model ``name`` with its raw header dict edited (buffer unchanged)."""
    header, buffer = split(valid_bytes(name))
    change(header)
    return join(header, buffer)


def _first_tensor(header: dict) -> str:
    return sorted(k for k in header if k != "__metadata__")[0]


# ----------------------------------------------------------------------------------- hostile files
def hostile_files() -> dict[str, tuple[Callable[[], bytes], tuple[type[BaseException], ...], bool]]:
    """name -> (bytes factory, allowed exceptions, slow)."""
    base = "bilstm_classifier"
    files: dict[str, tuple[Callable[[], bytes], tuple, bool]] = {}

    def f(name: str, make: Callable[[], bytes], allowed: tuple = BAD_FILE, slow: bool = False) -> None:
        files[name] = (make, allowed, slow)

    f("empty", lambda: b"")
    for cut in (1, 7, 8, 9, 20):
        f(f"truncated_at_{cut}", lambda c=cut: valid_bytes(base)[:c], slow=cut in (1, 9))
    f(
        "truncated_in_header_end",
        lambda: valid_bytes(base)[: 8 + split(valid_bytes(base))[1].__len__() // 1000],
    )
    f("truncated_at_header_end", lambda: _cut_after_header(valid_bytes(base), 0))
    f("truncated_one_byte_into_data", lambda: _cut_after_header(valid_bytes(base), 1))
    f("truncated_half", lambda: valid_bytes(base)[: len(valid_bytes(base)) // 2])
    f("truncated_last_byte", lambda: valid_bytes(base)[:-1])
    f("trailing_garbage", lambda: valid_bytes(base) + b"\x00garbage")
    for seed, size in ((0, 8), (1, 100), (2, 10_000), (3, 1_000_000)):
        f(f"random_bytes_{size}", lambda s=seed, n=size: np.random.default_rng(s).bytes(n), slow=size == 8)
    f("random_bytes_small_header_len", lambda: struct.pack("<Q", 64) + np.random.default_rng(4).bytes(200))
    body = lambda: valid_bytes(base)[8:]  # noqa: E731
    f("header_len_beyond_file", lambda: struct.pack("<Q", len(valid_bytes(base))) + body())
    f("header_len_petabytes", lambda: struct.pack("<Q", 2**50) + body())
    f("header_len_u64_max", lambda: struct.pack("<Q", 2**64 - 1) + body())
    f("header_len_zero", lambda: struct.pack("<Q", 0) + body())
    f("header_len_101MB_declared", lambda: struct.pack("<Q", 101 * 2**20) + body())
    f("header_not_json", lambda: join(b"{not json", b""))
    f("header_json_array", lambda: join([], b""))
    f("header_json_string", lambda: join("x", b""))
    f("header_invalid_utf8", lambda: join(b'{"\xff\xfe": 1}', b""))
    f("header_deeply_nested", lambda: join(b"[" * 100_000 + b"]" * 100_000, b""))
    f("header_nul_bytes", lambda: join(b"\x00" * 64, b""))
    # Metadata.
    f("plain_safetensors_no_metadata", lambda: build({"w": np.zeros(3, np.float32)}, None))
    f("plain_safetensors_other_metadata", lambda: build({"w": np.zeros(3, np.float32)}, {"format": "pt"}))
    f("metadata_missing_model", lambda: with_meta(base, model=None))
    f("metadata_missing_config", lambda: with_meta(base, config=None))
    f("metadata_other_format", lambda: with_meta(base, format="pt"))
    f("metadata_future_version", lambda: with_meta(base, format_version="2"))
    f("metadata_unknown_model", lambda: with_meta(base, model="no_such_model"))
    f("metadata_model_empty", lambda: with_meta(base, model=""))
    f("metadata_value_not_string", lambda: with_header(base, lambda h: h["__metadata__"].update(config=7)))
    f("metadata_not_object", lambda: with_header(base, lambda h: h.update(__metadata__=[1, 2])))
    f("config_not_json", lambda: with_meta(base, config="{input_size: 4"), BAD_CONFIG)
    f("config_json_array", lambda: with_meta(base, config="[1, 2]"), BAD_CONFIG)
    f("config_json_null", lambda: with_meta(base, config="null"), BAD_CONFIG)
    f("config_deeply_nested", lambda: with_meta(base, config="[" * 50_000 + "]" * 50_000), BAD_CONFIG)
    f(
        "config_huge_int_literal",
        lambda: with_meta(base, config='{"input_size": 1' + "0" * 5000 + "}"),
        BAD_CONFIG,
    )
    f("config_nan_literal", lambda: with_meta(base, config='{"input_size": NaN}'), BAD_CONFIG)
    f("config_unknown_field", lambda: with_config(base, surprise=1), BAD_CONFIG)
    f("config_missing_field", lambda: with_meta(base, config='{"hidden_size": 8}'), BAD_CONFIG)
    f("config_wrong_type_str", lambda: with_config(base, hidden_size="8"), BAD_CONFIG)
    f("config_wrong_type_float", lambda: with_config(base, hidden_size=8.5), BAD_CONFIG)
    f("config_bool_as_int", lambda: with_config(base, num_layers=True), BAD_CONFIG)
    f("config_negative", lambda: with_config(base, hidden_size=-8), BAD_CONFIG)
    f("config_zero", lambda: with_config(base, hidden_size=0), BAD_CONFIG)
    f("config_dropout_nan", lambda: with_meta(base, config=_config_text(base, dropout="NaN")), BAD_CONFIG)
    # Tensors.
    f(
        "tensor_dtype_f64",
        lambda: with_tensors(base, lambda a: a.update({"head.bias": a["head.bias"].astype(np.float64)})),
    )
    f(
        "tensor_dtype_f16",
        lambda: with_tensors(base, lambda a: a.update({"head.bias": a["head.bias"].astype(np.float16)})),
    )
    f(
        "tensor_dtype_i64",
        lambda: with_tensors(base, lambda a: a.update({"head.bias": a["head.bias"].astype(np.int64)})),
    )
    f("tensor_dtype_bool", lambda: with_tensors(base, lambda a: a.update({"head.bias": a["head.bias"] > 0})))
    f("tensor_dtype_u8", lambda: with_tensors(base, lambda a: a.update({"head.bias": np.zeros(2, np.uint8)})))
    f(
        "tensor_dtype_unknown_name",
        lambda: with_header(base, lambda h: h[_first_tensor(h)].update(dtype="F128")),
    )
    f("tensor_missing", lambda: with_tensors(base, lambda a: a.pop("head.bias")))
    f("tensor_extra", lambda: with_tensors(base, lambda a: a.update({"surprise": np.zeros(3, np.float32)})))
    f(
        "tensor_misshapen",
        lambda: with_tensors(base, lambda a: a.update({"head.bias": np.zeros(3, np.float32)})),
    )
    f(
        "tensor_transposed",
        lambda: with_tensors(base, lambda a: a.update({"head.weight": a["head.weight"].T.copy()})),
    )
    f(
        "tensor_scalar",
        lambda: with_tensors(base, lambda a: a.update({"head.bias": np.float32(0).reshape(())})),
    )
    f(
        "tensor_empty_shape0",
        lambda: with_tensors(base, lambda a: a.update({"head.bias": np.zeros(0, np.float32)})),
    )
    f("all_tensors_missing", lambda: with_tensors(base, lambda a: a.clear()))
    f(
        "shape_claims_petabytes",
        lambda: with_header(base, lambda h: h[_first_tensor(h)].update(shape=[2**25, 2**25])),
    )
    f(
        "shape_product_overflows",
        lambda: with_header(base, lambda h: h[_first_tensor(h)].update(shape=[2**32, 2**32, 2**32])),
    )
    f("shape_negative", lambda: with_header(base, lambda h: h[_first_tensor(h)].update(shape=[-1, 4])))
    f(
        "offsets_beyond_buffer",
        lambda: with_header(base, lambda h: h[_first_tensor(h)].update(data_offsets=[0, 2**40])),
    )
    f(
        "offsets_reversed",
        lambda: with_header(base, lambda h: h[_first_tensor(h)].update(data_offsets=[8, 0])),
    )
    f("offsets_overlapping", lambda: _overlapping(base))
    f(
        "offsets_not_numbers",
        lambda: with_header(base, lambda h: h[_first_tensor(h)].update(data_offsets="x")),
    )
    f("duplicate_tensor_names", lambda: _duplicate_names(base))
    return files


def _config_text(name: str, **raw: str) -> str:
    header, _ = split(valid_bytes(name))
    text = header["__metadata__"]["config"]
    config = json.loads(text)
    for k, v in raw.items():
        config[k] = f"@@{k}@@"
        text = json.dumps(config).replace(f'"@@{k}@@"', v)
    return text


def _cut_after_header(data: bytes, extra: int) -> bytes:
    n = struct.unpack("<Q", data[:8])[0]
    return data[: 8 + n + extra]


def _overlapping(name: str) -> bytes:
    header, buffer = split(valid_bytes(name))
    keys = sorted(k for k in header if k != "__metadata__")
    a, b = header[keys[0]], header[keys[1]]
    size = b["data_offsets"][1] - b["data_offsets"][0]
    b["data_offsets"] = [a["data_offsets"][0], a["data_offsets"][0] + size]
    return join(header, buffer)


def _duplicate_names(name: str) -> bytes:
    # JSON with the same key twice: parsers disagree on which one wins, so the file must be refused or
    # read consistently; here the second entry is misshapen.
    header, buffer = split(valid_bytes(name))
    raw = json.dumps(header)
    key = _first_tensor(header)
    entry = json.dumps({"dtype": "F32", "shape": [1], "data_offsets": [0, 4]})
    raw = raw[:-1] + f', "{key}": {entry}' + "}"
    return join(raw.encode(), buffer)


# --------------------------------------------------------------------------------------- loaders
def _path_of(name: str, data: bytes) -> str:
    path = workdir() / f"{name}.safetensors"
    if not path.exists():
        path.write_bytes(data)
    return str(path)


def _target_for_transfer() -> nt.SimpleLSTM:
    return nt.SimpleLSTM(nt.SimpleLSTMConfig(input_size=4, hidden_size=8, head_hidden=[8], num_layers=2))


PATH_LOADERS: dict[str, Callable[[str], Any]] = {
    "native.load": lambda p: nt.native.load(p),
    "nt.load": lambda p: nt.load(p),
    "Checkpoint.read+from_checkpoint": lambda p: _checkpoint_then_model(p),
    "BiLSTMClassifier.load": lambda p: nt.BiLSTMClassifier.load(p),
    "load_pretrained_strict": lambda p: load_pretrained_strict(_target_for_transfer(), p),
}
BYTES_LOADERS: dict[str, Callable[[bytes], Any]] = {
    "native.from_bytes": lambda b: nt.native.from_bytes(b),
    "Checkpoint.from_bytes": lambda b: nt.Checkpoint.from_bytes(b),
}
SLOW_LOADERS = {"Checkpoint.read+from_checkpoint", "load_pretrained_strict"}


def _checkpoint_then_model(path: str) -> Any:
    ck = nt.Checkpoint.read(path)
    cls = nt.MODELS.get(ck.model)
    if cls is None:
        raise CheckpointError(f"unknown model {ck.model!r}")
    return cls.from_checkpoint(ck)


def _register_files() -> None:
    for fname, (make, allowed, slow) in hostile_files().items():
        for lname, load in PATH_LOADERS.items():
            add(
                f"checkpoint.{lname}/{fname}",
                lambda m=make, f=fname, ld=load: ld(_path_of(f, m())),
                allowed,
                slow=slow or lname in SLOW_LOADERS,
                group="checkpoints",
                max_rss_growth_mb=RSS_BOUND_MB,
            )
        for lname, load in BYTES_LOADERS.items():
            either = _allowed_for(lname, fname, allowed) is None
            add(
                f"checkpoint.{lname}/{fname}",
                (lambda m=make, ld=load: _parses_or_refuses(ld, m()))
                if either
                else (lambda m=make, ld=load: ld(m())),
                None if either else allowed,
                slow=slow,
                group="checkpoints",
                max_rss_growth_mb=RSS_BOUND_MB,
            )


def _parses_or_refuses(load: Callable[[bytes], Any], data: bytes) -> str:
    try:
        load(data)
    except CheckpointError as e:
        return f"CheckpointError: {e}"
    return "parsed"


def _allowed_for(loader: str, fname: str, allowed: tuple) -> tuple | None:
    # Checkpoint.from_bytes parses the container and metadata only: a tensor that does not fit a model,
    # a config value out of range or NaN weights are the model loaders' business.
    if loader == "Checkpoint.from_bytes" and fname.startswith(
        (
            "tensor_missing",
            "tensor_extra",
            "tensor_misshapen",
            "tensor_transposed",
            "tensor_scalar",
            "tensor_empty",
            "tensor_nan",
            "all_tensors",
            "config_unknown",
            "config_missing",
            "config_wrong",
            "config_bool",
            "config_negative",
            "config_zero",
            "config_dropout",
            "metadata_unknown_model",
            "metadata_model_empty",
            "config_nan",
            "config_huge",
        )
    ):
        return None  # either parsed or CheckpointError: see _parses_or_refuses
    return allowed


# ------------------------------------------------------------------------------ hostile configs
HUGE_FIELDS: dict[str, list[dict[str, Any]]] = {
    "bilstm_classifier": [
        {"hidden_size": 2**30},
        {"input_size": 2**40},
        {"num_layers": 10**6},
        {"num_classes": 2**40},
        {"hidden_size": 2**14, "num_layers": 64},
    ],
    "lstm_attention": [
        {"hidden_size": 2**30, "num_heads": 2},
        {"input_size": 2**30, "output_size": 2**30},
        {"num_encoder_layers": 10**6},
        {"num_decoder_layers": 10**6},
        {"output_size": 10**6, "input_size": 10**6, "target_indices": None},
        {"target_indices": [2**62]},
        {"horizon": 2**62},
    ],
    "trend_attention": [
        {"hidden_size": 2**30},
        {"horizons": list(range(1, 100_001))},
        {"head_hidden": [2**30]},
        {"num_layers": 10**6},
    ],
    "masked_bilstm_autoencoder": [{"hidden_size": 2**30}, {"decoder_hidden": [2**40]}, {"input_size": 2**40}],
    "simple_lstm": [{"hidden_size": 2**30}, {"head_hidden": [2**40]}, {"num_layers": 10**6}],
    "enhanced_simple_lstm": [{"hidden_size": 2**30}, {"head_hidden": [2**40]}, {"num_heads": 2**40}],
    "lstm_encoder": [{"hidden_size": 2**30}, {"input_size": 2**40}, {"num_layers": 10**6}],
}
CLASS_LOADERS: dict[str, Callable[[str], Any]] = {
    "bilstm_classifier": lambda p: nt.BiLSTMClassifier.load(p),
    "lstm_attention": lambda p: nt.LSTMAttention.load(p),
    "trend_attention": lambda p: nt.TrendAttention.load(p),
    "masked_bilstm_autoencoder": lambda p: nt.MaskedBiLSTMAutoencoder.load(p),
    "simple_lstm": lambda p: nt.SimpleLSTM.load(p),
    "enhanced_simple_lstm": lambda p: nt.EnhancedSimpleLSTM.load(p),
    "lstm_encoder": lambda p: PretrainedEncoder.load(p),
}
# The engine's own table: a valid file of a served model loads natively, any other is refused.
SERVED = set(nt.native.SERVED_MODELS)


def _register_configs() -> None:
    for model, variants in HUGE_FIELDS.items():
        for fields in variants:
            label = ",".join(f"{k}={_short(v)}" for k, v in fields.items())
            make = functools.partial(with_config, model, **fields)
            fname = f"hostile_config_{model}_{label}".replace("/", "_")
            loaders: dict[str, Callable[[str], Any]] = {
                f"{model}.load": CLASS_LOADERS[model],
                "nt.load": lambda p: nt.load(p),
                "native.load": lambda p: nt.native.load(p),
            }
            for lname, load in loaders.items():
                add(
                    f"checkpoint.{lname}/{fname}",
                    lambda m=make, f=fname, ld=load: ld(_path_of(f, m())),
                    BAD_CONFIG,
                    group="checkpoints",
                    max_rss_growth_mb=RSS_BOUND_MB,
                    slow=lname == "nt.load" and model not in ("bilstm_classifier", "lstm_attention"),
                )


def _short(v: Any) -> str:
    if isinstance(v, list):
        return f"list{len(v)}" if len(v) > 3 else "-".join(map(str, v))
    if isinstance(v, int) and v >= 2**10:
        exp = v.bit_length() - 1
        return f"2^{exp}" if v == 2**exp else f"{v:.0e}"
    return str(v)


def _register_valid_and_cross() -> None:
    """Every valid file loads in every loader that serves it (the hostile cases above are not refusing
    everything), and a file of one model given to another model's class is a CheckpointError."""
    for model in HUGE_FIELDS:
        fname = f"valid_{model}"
        make = functools.partial(valid_bytes, model)
        add(
            f"checkpoint.{model}.load/{fname}",
            lambda m=make, f=fname, ld=CLASS_LOADERS[model]: ld(_path_of(f, m())),
            None,
            group="checkpoints",
        )
        add(
            f"checkpoint.nt.load/{fname}",
            lambda m=make, f=fname: nt.load(_path_of(f, m())),
            None,
            group="checkpoints",
        )
        add(
            f"checkpoint.native.load/{fname}",
            lambda m=make, f=fname: nt.native.load(_path_of(f, m())),
            None if model in SERVED else BAD_FILE,
            group="checkpoints",
        )
        other = "lstm_attention" if model == "bilstm_classifier" else "bilstm_classifier"
        add(
            f"checkpoint.{other}.load/{fname}",
            lambda m=make, f=fname, ld=CLASS_LOADERS[other]: ld(_path_of(f, m())),
            BAD_FILE,
            group="checkpoints",
        )


def _nan_weights_then_predict() -> str:
    # NaN weights are float32 values like any other: both twins load them (weights are not checked
    # for finiteness, see docs/guarantees.md) and the engine's output is NaN, not a crash.
    data = with_tensors("bilstm_classifier", lambda a: a["head.bias"].__setitem__(0, np.nan))
    engine = nt.native.from_bytes(data)
    out = engine.predict(np.zeros((2, 3, 4), np.float32))
    assert np.isnan(out[:, 0]).all() and np.isfinite(out[:, 1]).all(), out
    nt.BiLSTMClassifier.from_checkpoint(nt.Checkpoint.from_bytes(data))
    return "loaded; NaN output where the NaN weight acts"


def _register_special_paths() -> None:
    add(
        "checkpoint.native+torch/nan_weights_load_and_predict",
        _nan_weights_then_predict,
        None,
        group="checkpoints",
    )

    def make_fifo() -> str:
        fifo = workdir() / "fifo.safetensors"
        if not fifo.exists():
            os.mkfifo(fifo)
        return str(fifo)

    specials: dict[str, Callable[[], str]] = {
        "directory": lambda: str(workdir()),
        "dev_zero": lambda: "/dev/zero",
        "dev_null": lambda: "/dev/null",
        "fifo": make_fifo,
    }
    loaders = dict(PATH_LOADERS)
    loaders["Checkpoint.read"] = lambda p: nt.Checkpoint.read(p)
    for sname, make in specials.items():
        for lname, load in loaders.items():
            add(
                f"checkpoint.{lname}/special_{sname}",
                lambda m=make, ld=load: ld(m()),
                (CheckpointError, IsADirectoryError) if sname == "directory" else BAD_FILE,
                group="checkpoints",
                max_rss_growth_mb=RSS_BOUND_MB,
            )
    for lname, load in loaders.items():
        add(
            f"checkpoint.{lname}/missing_file",
            lambda ld=load: ld(str(workdir() / "does-not-exist.safetensors")),
            FileNotFoundError,
            group="checkpoints",
        )
    for bad, exc in (
        (None, TypeError),
        (3.5, TypeError),
        (b"\x00", (TypeError, ValueError, CheckpointError)),
    ):
        add(f"checkpoint.native.load/path={bad!r}", lambda b=bad: nt.native.load(b), exc, group="checkpoints")
    for bad in ("a string", bytearray(b"abc"), None, 7):
        add(
            f"checkpoint.native.from_bytes/data={type(bad).__name__}",
            lambda b=bad: nt.native.from_bytes(b),
            TypeError,
            group="checkpoints",
        )


_register_files()
_register_configs()
_register_valid_and_cross()
_register_special_paths()
