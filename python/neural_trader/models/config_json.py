"""The JSON shape of a model config read from a checkpoint, checked as the Rust engine's serde checks it.

Both twins must answer a hostile file the same way. The engine parses a file's ``config`` into a typed
struct: a field of the wrong JSON type (a string, a bool or a float for a size, ``null`` for a field that
is not optional), a negative size, an unknown field or a missing required one is a malformed *file*
(``CheckpointError``); a well-typed value out of range (``dropout`` 1.5, ``hidden_size`` 0) is a bad
*configuration* (``ConfigError``). :func:`check_config_json` gives the PyTorch side the same first step,
from the config dataclass's annotations, before the dataclass's own range checks run; it raises a
``CheckpointConfigError``, which is both.

Example:
    >>> from neural_trader.models import BiLSTMClassifierConfig
    >>> check_config_json("bilstm_classifier", BiLSTMClassifierConfig, {"input_size": 4, "hidden_size": 8})
    >>> check_config_json("bilstm", BiLSTMClassifierConfig, {"input_size": "4"})
    Traceback (most recent call last):
    ...
    neural_trader.errors.CheckpointConfigError: config of model `bilstm` is not valid: field input_size: ...
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from typing import Any

from neural_trader.errors import CheckpointConfigError


def check_config_json(model: str, config_class: type, values: dict[str, Any]) -> None:
    """Refuses a config whose JSON shape is not ``config_class``'s (see the module docstring).

    Raises:
        CheckpointConfigError: (a ``CheckpointError`` and a ``ConfigError``) naming the model and the
            first bad field.
    """
    hints = _hints(config_class)
    fields = {f.name: f for f in dataclasses.fields(config_class) if f.init}
    problem = next((f"unknown field {k}" for k in values if k not in fields), None)
    if problem is None:
        required = [
            name
            for name, f in fields.items()
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        ]
        problem = next((f"missing field {k}" for k in required if k not in values), None)
    if problem is None:
        for name, value in values.items():
            expected = _expected(hints[name], value)
            if expected is not None:
                problem = f"field {name}: expected {expected}, got {value!r}"
                break
    if problem is not None:
        raise CheckpointConfigError(f"config of model `{model}` is not valid: {problem}")


def real_fields(config_class: type) -> set[str]:
    """The fields typed ``float``: their JSON numbers are values, not sizes (a huge one is out of range,
    a ``ConfigError``, not a file asking for more than it holds)."""
    return {name for name, hint in _hints(config_class).items() if _strip_optional(hint)[0] is float}


@functools.cache
def _hints(config_class: type) -> dict[str, Any]:
    return typing.get_type_hints(config_class)


def _strip_optional(hint: Any) -> tuple[Any, bool]:
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return (rest[0] if len(rest) == 1 else hint), True
    return hint, False


def _expected(hint: Any, value: Any) -> str | None:
    """None when ``value`` has the JSON shape of ``hint``; else what was expected."""
    hint, optional = _strip_optional(hint)
    if value is None:
        return None if optional else f"{_name(hint)}, not null"
    if hint is bool:
        return None if isinstance(value, bool) else "a bool"
    if hint is int:
        return None if _size(value) else "an integer >= 0"
    if hint is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return None if ok else "a number"
    if hint is str:
        return None if isinstance(value, str) else "a string"
    if typing.get_origin(hint) is list and typing.get_args(hint) in ((int,),):
        ok = isinstance(value, list) and all(_size(v) for v in value)
        return None if ok else "a list of integers >= 0"
    return None  # another type: the dataclass's own checks decide


def _size(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _name(hint: Any) -> str:
    return {bool: "a bool", int: "an integer >= 0", float: "a number", str: "a string"}.get(hint, "a value")
