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


__all__ = ["CheckpointError", "ConfigError", "DataError", "NeuralTraderError", "ShapeError"]
