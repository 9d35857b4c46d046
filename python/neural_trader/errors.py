"""Exception classes of neural_trader, raised alike by the Python code and the Rust engine.

Every class derives from :class:`NeuralTraderError`; the ones about bad values also derive from
``ValueError`` so generic handlers keep working.
"""


class NeuralTraderError(Exception):
    """Base class of every error raised by neural_trader."""


class ShapeError(NeuralTraderError, ValueError):
    """An array has the wrong rank or shape; the message names the array, expected and actual shape."""


class ConfigError(NeuralTraderError, ValueError):
    """A model, kernel or training configuration is invalid; the message names the field."""


class DataError(NeuralTraderError, ValueError):
    """Input data is invalid: NaN/Inf, a missing column, unsorted time, an unsupported dtype."""


class CheckpointError(NeuralTraderError):
    """A checkpoint file is malformed, of another format, or does not match its model."""


class CheckpointConfigError(CheckpointError, ConfigError):
    """A checkpoint's config is malformed (an unknown or missing field, a value of the wrong JSON type):
    a bad file, as the Rust engine reports it (``CheckpointError``), and a bad config (``ConfigError``),
    so a handler of either catches it."""


__all__ = [
    "CheckpointConfigError",
    "CheckpointError",
    "ConfigError",
    "DataError",
    "NeuralTraderError",
    "ShapeError",
]
