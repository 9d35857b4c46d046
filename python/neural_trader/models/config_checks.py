"""Validation helpers shared by the model configs of the training front end (each raises ``ConfigError``)."""

from __future__ import annotations

from collections.abc import Sequence

from neural_trader.errors import ConfigError


def positive_int(name: str, value: object) -> int:
    """Returns ``value`` if it is an integer ``>= 1`` (bools refused), else raises ``ConfigError``."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"{name} must be an integer >= 1, got {value!r}")
    return value


def dropout_rate(name: str, value: object) -> float:
    """Returns ``value`` if it is a number in ``[0, 1)``, else raises ``ConfigError``."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0.0 <= value < 1.0:
        raise ConfigError(f"{name} must be in [0, 1), got {value!r}")
    return float(value)


def flag(name: str, value: object) -> bool:
    """Returns ``value`` if it is a bool, else raises ``ConfigError``."""
    if not isinstance(value, bool):
        raise ConfigError(f"{name} must be a bool, got {value!r}")
    return value


def int_list(name: str, values: object, *, allow_empty: bool = True, distinct: bool = False) -> list[int]:
    """Returns ``values`` as a list of integers ``>= 1`` (JSON gives lists, users may give tuples)."""
    if not isinstance(values, Sequence) or isinstance(values, str):
        raise ConfigError(f"{name} must be a list of integers >= 1, got {values!r}")
    out = [positive_int(f"{name} entry", v) for v in values]
    if not allow_empty and not out:
        raise ConfigError(f"{name} must not be empty")
    if distinct and len(set(out)) != len(out):
        raise ConfigError(f"{name} repeats a value: {out}")
    return out
