"""The checks every configuration in the package uses, so a bad value reads the same wherever it is set.

The model configs, :class:`~neural_trader.training.TrainerConfig`,
:class:`~neural_trader.training.PretrainConfig`, :class:`~neural_trader.data.DataSpec` and the command line
(through :func:`neural_trader.cli.options.number`) all call these. Each returns the value in its
canonical type or raises :class:`~neural_trader.errors.ConfigError` naming the field, the accepted range
and the value given.

Bools are refused wherever a number is expected (``True`` is an ``int`` to Python, never a size to us), and
every real number must be finite: ``inf`` is not a learning rate and NaN compares false with every bound.

Example:
    >>> integer("epochs", 3, low=1)
    3
    >>> real("lr", 1e-3, low=0.0, low_open=True)
    0.001
    >>> integer("epochs", 0, low=1)
    Traceback (most recent call last):
    ...
    neural_trader.errors.ConfigError: epochs must be an integer >= 1, got 0
"""

from __future__ import annotations

import math
import operator
from collections.abc import Collection, Sequence
from typing import Any

from neural_trader.errors import ConfigError

#: The largest width (inputs, hidden units, head widths, forecast steps) a model may have: the Rust engine's
#: ``MAX_LSTM_WIDTH``, so both twins accept the same configs. What fits in memory is checked apart
#: (:mod:`neural_trader.models.memory`).
MAX_WIDTH = 2**20
#: The most stacked recurrent layers: the Rust engine's ``MAX_LSTM_LAYERS``.
MAX_LAYERS = 64
#: Seeds are 64-bit unsigned integers, as the Rust kernels and torch's generators take them.
MAX_SEED = 2**64 - 1
#: The largest learning rate: beyond it AdamW's first step already overflows float32 arithmetic, and no
#: recipe uses more than a small fraction of it.
MAX_LR = 10.0


def integer_range(low: int | None = None, high: int | None = None) -> str:
    """The words for an integer range, as the error messages say it: ``">= 1"``, ``"in 1..=1024"``."""
    if low is not None and high is not None:
        return f"in {low}..={high}"
    if low is not None:
        return f">= {low}"
    if high is not None:
        return f"<= {high}"
    return ""


def real_range(
    low: float | None = None, high: float | None = None, *, low_open: bool = False, high_open: bool = False
) -> str:
    """The words for a range of real numbers: ``"> 0"``, ``"in [0, 1)"``, ``"in (0, 1)"``."""
    if low is not None and high is not None:
        return f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    if low is not None:
        return f"{'>' if low_open else '>='} {low:g}"
    if high is not None:
        return f"{'<' if high_open else '<='} {high:g}"
    return ""


def integer(name: str, value: Any, *, low: int | None = None, high: int | None = None) -> int:
    """``value`` as an ``int`` in ``[low, high]`` (either bound optional); numpy integers are accepted.

    Raises:
        ConfigError: not an integer (bools and floats included), or out of range.

    Example:
        >>> integer("threads", 4, low=1, high=1024)
        4
    """
    words = integer_range(low, high)
    what = f"an integer {words}" if words else "an integer"
    if isinstance(value, bool):
        raise ConfigError(f"{name} must be {what}, got {value!r}")
    try:
        number = operator.index(value)
    except TypeError:
        raise ConfigError(f"{name} must be {what}, got {value!r}") from None
    if (low is not None and number < low) or (high is not None and number > high):
        raise ConfigError(f"{name} must be {what}, got {number}")
    return number


def real(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """``value`` as a finite ``float`` within the bounds (each closed unless ``*_open``).

    Raises:
        ConfigError: not a real number, not finite, or out of range.

    Example:
        >>> real("dropout", 0.2, low=0.0, high=1.0, high_open=True)
        0.2
    """
    words = real_range(low, high, low_open=low_open, high_open=high_open)
    what = f"a finite number {words}" if words else "a finite number"
    if isinstance(value, (bool, str, bytes)):  # float("1e-3") would parse: a string is not a number
        raise ConfigError(f"{name} must be {what}, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be {what}, got {value!r}") from None
    if not math.isfinite(number):
        raise ConfigError(f"{name} must be {what}, got {value!r}")
    below = low is not None and (number <= low if low_open else number < low)
    above = high is not None and (number >= high if high_open else number > high)
    if below or above:
        raise ConfigError(f"{name} must be {what}, got {value!r}")
    return number


def positive_int(name: str, value: Any) -> int:
    """An integer ``>= 1`` (sizes, counts, epochs)."""
    return integer(name, value, low=1)


def width(name: str, value: Any) -> int:
    """A model width (input columns, hidden units, heads, a head's units): an integer in
    ``1..=MAX_WIDTH``."""
    return integer(name, value, low=1, high=MAX_WIDTH)


def layers(name: str, value: Any) -> int:
    """A number of stacked recurrent layers: an integer in ``1..=MAX_LAYERS``."""
    return integer(name, value, low=1, high=MAX_LAYERS)


def random_seed(name: str, value: Any) -> int:
    """A random seed: an integer in ``0..=2**64 - 1``.

    Example:
        >>> random_seed("seed", 2**64 - 1)
        18446744073709551615
    """
    return integer(name, value, low=0, high=MAX_SEED)


def learning_rate(name: str, value: Any) -> float:
    """A learning rate: a finite number in ``(0, MAX_LR]``."""
    return real(name, value, low=0.0, high=MAX_LR, low_open=True)


def fraction(name: str, value: Any) -> float:
    """A share strictly between 0 and 1 (mask ratio, validation share)."""
    return real(name, value, low=0.0, high=1.0, low_open=True, high_open=True)


def dropout_rate(name: str, value: Any) -> float:
    """A probability of dropping a unit: in ``[0, 1)`` (1 would drop everything)."""
    return real(name, value, low=0.0, high=1.0, high_open=True)


def probability(name: str, value: Any) -> float:
    """A probability in ``[0, 1]`` (e.g. a teacher-forcing ratio)."""
    return real(name, value, low=0.0, high=1.0)


def flag(name: str, value: Any) -> bool:
    """``value`` if it is a bool.

    Raises:
        ConfigError: anything else (``0``/``1`` and strings included).
    """
    if not isinstance(value, bool):
        raise ConfigError(f"{name} must be a bool, got {value!r}")
    return value


def choice(name: str, value: Any, options: Collection[str]) -> str:
    """``value`` if it is one of ``options``.

    Raises:
        ConfigError: naming the options.

    Example:
        >>> choice("mode", "min", ("min", "max"))
        'min'
    """
    if not isinstance(value, str) or value not in options:
        raise ConfigError(f"{name} must be one of {', '.join(options)}, got {value!r}")
    return value


def int_list(
    name: str, values: Any, *, allow_empty: bool = True, distinct: bool = False, high: int = MAX_WIDTH
) -> list[int]:
    """``values`` as a list of integers in ``1..=high`` (JSON gives lists, users may give tuples).

    Raises:
        ConfigError: not a sequence of such integers, empty when not allowed, or repeating a value.
    """
    if not isinstance(values, Sequence) or isinstance(values, str):
        raise ConfigError(f"{name} must be a list of integers {integer_range(1, high)}, got {values!r}")
    if len(values) > high:
        raise ConfigError(f"{name} must hold at most {high} entries, got {len(values)}")
    out = [integer(f"{name} entry", v, low=1, high=high) for v in values]
    if not allow_empty and not out:
        raise ConfigError(f"{name} must not be empty")
    if distinct and len(set(out)) != len(out):
        raise ConfigError(f"{name} repeats a value: {out}")
    return out
