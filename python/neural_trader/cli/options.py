"""What every command shares: the parser class, the bounded-number argument type, the common option
groups, and the small helpers that turn parsed options into library calls.

Options are named after the config fields they set (``--hidden-size`` sets ``hidden_size``); where a
shorter or older spelling is kept (``--hidden-dim``), it is an alias of the same option, and ``--help``
names the field.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import Any, NoReturn

from neural_trader.cli.scopes import always, declare, model_field, with_option
from neural_trader.data.cv.groups import MAX_SPLITS
from neural_trader.errors import ConfigError
from neural_trader.validation import (
    MAX_LAYERS,
    MAX_LR,
    MAX_SEED,
    MAX_WIDTH,
    integer,
    integer_range,
    real,
    real_range,
)

PROG = "neural-trader"


class UsageError(Exception):
    """A bad command line that argparse itself cannot see (e.g. CUDA asked for but absent)."""


class HelpFormatter(argparse.HelpFormatter):
    """Adds each bounded number's range to its option's help: ``(an integer in 1..=64)``."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        words = getattr(action.type, "range_words", None)
        if not words or action.help is argparse.SUPPRESS or words in text:
            return text
        if text.endswith(")") and "(default" in text:  # "(default: 2)" -> "(default: 2; an integer in ...)"
            return f"{text[:-1]}; {words})"
        return f"{text} ({words})" if text else words


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line, naming the command's --help, and whose help states
    the range of every bounded number."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        hint = f" (see '{self.prog} --help')"
        self.exit(2, f"{PROG}: error: {message}{hint}\n")


def number(
    kind: type = int,
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> Callable[[str], Any]:
    """An argparse ``type`` for a bounded number, checked by :mod:`neural_trader.validation` at parse time;
    ``--help`` states its range (the type's ``range_words``).

    Args:
        kind: ``int`` or ``float`` (floats must also be finite).
        low, high: the bounds, each optional; closed unless ``low_open`` / ``high_open``.

    Example:
        >>> number(int, low=1)("3")
        3
        >>> number(float, low=0.0, high=1.0, low_open=True, high_open=True)("0.15")
        0.15
        >>> number(int, low=1)("0")
        Traceback (most recent call last):
        ...
        argparse.ArgumentTypeError: expected an integer >= 1, got 0
    """
    if kind is int:
        low_int, high_int = (None if b is None else int(b) for b in (low, high))
        what = f"an integer {integer_range(low_int, high_int)}".rstrip()
        # An integer under its lower bound is told that bound (`--epochs 0`: ">= 1"); above, the range.
        below = f"an integer {integer_range(low_int)}".rstrip()
    else:
        what = f"a finite number {real_range(low, high, low_open=low_open, high_open=high_open)}".rstrip()
        below = what

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        try:
            if kind is int:
                return integer("value", value, low=low, high=high)  # type: ignore[arg-type]
            return real("value", value, low=low, high=high, low_open=low_open, high_open=high_open)
        except ConfigError:
            under = kind is int and low is not None and value < low
            raise argparse.ArgumentTypeError(f"expected {below if under else what}, got {text}") from None

    parse.__name__ = what  # argparse names the type by it in its own messages
    parse.range_words = what  # type: ignore[attr-defined]  # read by HelpFormatter
    return parse


# The bounds the commands use, named once. Upper bounds keep every value where the code can act on it
# (no overflow in torch or the Rust kernels, no run-away loop); what fits in memory is checked apart.
MAX_THREADS = 4096
MAX_EPOCHS = 100_000
MAX_BATCH = 2**20
#: Rows of a file (a split's part sizes, an embargo): far beyond any real series, within every index type.
MAX_ROWS = 2**31 - 1
MAX_RESAMPLES = 100_000
MAX_TRIALS = 10_000
positive_int = number(int, low=1)
non_negative_int = number(int, low=0)
positive_float = number(float, low=0.0, low_open=True)
non_negative_float = number(float, low=0.0)
fraction = number(float, low=0.0, high=1.0, low_open=True, high_open=True)
random_seed = number(int, 0, MAX_SEED)
threads = number(int, 1, MAX_THREADS)
width = number(int, 1, MAX_WIDTH)
layers = number(int, 1, MAX_LAYERS)
epochs = number(int, 1, MAX_EPOCHS)
epochs_or_none = number(int, 0, MAX_EPOCHS)
batch_size = number(int, 1, MAX_BATCH)
#: Bars (a window, a horizon, a season, a bootstrap block): the engine's widest dimension.
bars = number(int, 1, MAX_WIDTH)
rows = number(int, 1, MAX_ROWS)
learning_rate = number(float, 0.0, MAX_LR, low_open=True)
dropout = number(float, 0.0, 1.0, high_open=True)
resamples = number(int, 1, MAX_RESAMPLES)
cost_bps = number(float, 0.0, 10_000.0)
#: A loss weight or a barrier in units of volatility.
weight = number(float, 0.0, 1000.0)


# ------------------------------------------------------------------------------------ option groups
def run_options(p: argparse.ArgumentParser, device_default: str = "auto") -> None:
    """``--seed``, ``--device``, ``--threads``, ``--no-progress``."""
    g = p.add_argument_group("run")
    g.add_argument("--seed", type=random_seed, default=0, help="random seed (default: 0)")
    g.add_argument(
        "--device",
        choices=("auto", "cpu", "cuda"),
        default=device_default,
        help=f"where PyTorch runs; auto picks CUDA when available (default: {device_default})",
    )
    g.add_argument(
        "--threads",
        type=threads,
        default=1,
        help="PyTorch CPU threads (default: 1; small LSTMs run fastest on one, raise it for large models)",
    )
    g.add_argument("--no-progress", action="store_true", help="no progress bars")
    always(p, "seed", "device", "threads", "no_progress")


def nan_option(p: argparse.ArgumentParser) -> None:
    """``--nan-policy`` of the bars."""
    p.add_argument(
        "--nan-policy",
        choices=("raise", "drop", "ffill"),
        default="raise",
        help="missing values in the bars: raise (name the first), drop the rows, or ffill (repair from "
        "the previous bar only) (default: raise)",
    )
    always(p, "nan_policy")


def window_options(p: argparse.ArgumentParser, *, inputs: bool = True) -> None:
    """``--window``, ``--horizon`` (and ``--inputs``): the :class:`~neural_trader.data.DataSpec` fields."""
    g = p.add_argument_group("windows")
    g.add_argument("--window", type=bars, default=32, help="bars per window (default: 32)")
    g.add_argument(
        "--horizon",
        type=bars,
        default=5,
        help="label horizon in bars, or forecast steps for lstm_attention (default: 5)",
    )
    if inputs:
        g.add_argument(
            "--inputs",
            nargs="+",
            default=["features"],
            metavar="INPUT",
            help="the columns of each window step, in order: features (28 causal features), candles "
            "(scale-free relative OHLCV, needed by --augment), a built-in feature's name, or your own "
            "columns of the bars file by name or glob pattern (quote it: 'sent_*'; they must be known at "
            "the bar's close); all but the candles are standardised on training rows (default: features)",
        )
    always(p, "window", "horizon", *(["inputs"] if inputs else []))


def split_options(p: argparse.ArgumentParser) -> None:
    """``--split`` and ``--fold``."""
    g = p.add_argument_group("split")
    g.add_argument(
        "--split", metavar="SPLIT.json", help="a split or walk-forward file (`neural-trader splits`)"
    )
    g.add_argument(
        "--fold",
        type=number(int, 1, MAX_SPLITS),
        help="fold of a walk-forward --split, from 1 (default: last)",
    )
    always(p, "split")
    declare(p, fold=with_option("split", "a walk-forward --split file"))


def size_options(g: argparse._ArgumentGroup, *, heads: bool = False) -> None:
    """``--hidden-size`` (alias ``--hidden-dim``), ``--num-layers`` (and ``--num-heads``)."""
    g.add_argument(
        "--hidden-size",
        "--hidden-dim",
        dest="hidden_size",
        type=width,
        default=64,
        help="LSTM units per direction, the model config's hidden_size (default: 64)",
    )
    g.add_argument("--num-layers", type=layers, default=2, help="stacked LSTM layers (default: 2)")
    if heads:
        g.add_argument("--num-heads", type=width, default=4, help="attention heads (default: 4)")
    always(g, "hidden_size", "num_layers")
    if heads:
        declare(g, num_heads=model_field("num_heads"))


# ------------------------------------------------------------------------------------------ helpers
def setup(args: argparse.Namespace) -> str:
    """Applies --threads and resolves --device; returns the device name.

    Raises:
        UsageError: ``--device cuda`` without a CUDA device.
    """
    import torch

    torch.set_num_threads(args.threads)
    if args.device == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda: this PyTorch sees no CUDA device (use --device cpu or auto)")
    if args.device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return args.device


def progress(args: argparse.Namespace) -> bool:
    """Whether to show progress bars."""
    return not args.no_progress


def line(key: str, value: object) -> None:
    """One ``key   value`` line of a command's summary."""
    print(f"{key:<20} {value}")


def load_bars(
    path: str, horizon: int | list[int], args: argparse.Namespace, spec: Any = None, *, labels: bool = True
) -> list[Any]:
    """The series of a bars file or folder (labels for each horizon), with the command's ``--nan-policy``,
    keeping the columns of your own that ``spec`` reads (its input columns and, with ``labels``, its label
    column)."""
    from neural_trader.data import load_series

    if spec is None:
        return load_series(path, horizon, nan_policy=args.nan_policy)
    label_column = spec.label_column if labels else None
    return load_series(
        path,
        horizon,
        nan_policy=args.nan_policy,
        extra_columns=spec.file_columns(),
        label_column=label_column,
    )


def interval(d: dict[str, Any], fmt: str = "{:.3f}") -> str:
    """``estimate [low, high]`` of a report interval, ``estimate (no interval)`` when its sample held too
    few bootstrap blocks, the estimate alone, or ``n/a``."""
    if d.get("estimate") is None:
        return "n/a"
    if d.get("reliable") is False:
        return f"{fmt.format(d['estimate'])} (no interval)"
    if d.get("low") is None:
        return fmt.format(d["estimate"])
    return f"{fmt.format(d['estimate'])} [{fmt.format(d['low'])}, {fmt.format(d['high'])}]"


PathArg = str | os.PathLike | None


def refuse_overwriting_inputs(
    outputs: dict[str, PathArg | list[PathArg]], inputs: dict[str, PathArg | list[PathArg]]
) -> None:
    """Refuses a command whose output file is one of its input files, before anything runs.

    Two paths are the same file when ``os.path.samefile`` says so: the same path, another spelling of
    it (``./a/../a/x``), a hard link or a symbolic link to it. An input folder (``--data DIR``) stands for
    the files in it. Outputs that do not exist yet cannot be an input.

    Args:
        outputs: option -> the file(s) the command writes (``{"--output": "pred.csv"}``; for an output
            folder, every file written into it).
        inputs: option -> the file(s) or folder it reads; ``None`` entries are skipped.

    Raises:
        UsageError: naming the output option and file and the input option and file.

    Example:
        >>> refuse_overwriting_inputs({"--output": "pred.csv"}, {"--data": "bars.csv"})  # doctest: +SKIP
    """
    read = [(option, path) for option, value in inputs.items() for path in _input_files(value)]
    for out_option, value in outputs.items():
        for out in _paths(value):
            if not os.path.exists(out):
                continue
            for in_option, path in read:
                if _same_file(out, path):
                    same = "" if os.fspath(out) == os.fspath(path) else f" ({path})"
                    raise UsageError(
                        f"{out_option} {out} is the {in_option} file{same}: writing it would destroy "
                        "an input; choose another output path"
                    )


def _paths(value: PathArg | list[PathArg]) -> list[str]:
    values = value if isinstance(value, list) else [value]
    return [os.fspath(v) for v in values if v is not None]


def _input_files(value: PathArg | list[PathArg]) -> list[str]:
    """The files an input option reads: the file itself, or the files of a folder."""
    files = []
    for path in _paths(value):
        if os.path.isdir(path):
            with os.scandir(path) as entries:
                files += [e.path for e in entries if e.is_file()]
        elif os.path.exists(path):
            files.append(path)
    return files


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False
