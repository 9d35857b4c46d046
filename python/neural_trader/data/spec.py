"""``DataSpec``: how bars become a model's inputs and labels, stored as JSON in every trained checkpoint.

**Inputs** (``inputs``: one item or a list, in the order the window's columns take):

* ``features``: the 28 causal features of :mod:`neural_trader.data.features`;
* ``candles``: the raw OHLCV rows of each window made scale-free by
  :func:`~neural_trader.data.relative_candles` (5 columns, no scaler; the form augmentation works on);
* a built-in feature's name (``log_return``), or your own column of the bars file by name or glob pattern
  (``imbalance``, ``sent_*``; :mod:`neural_trader.data.columns`). A pattern also matches built-in feature
  names (``rsi_*``). Your columns must be known at the close of their bar: nothing can check that.

``train`` resolves the items to an explicit, ordered ``columns`` list
(:func:`~neural_trader.data.resolve_spec`; a column named twice is kept once, where it first appears),
fits one scaler on the training rows of every
column except the candles (built-in features and your columns alike are standardised), and stores both;
``evaluate`` and ``predict`` read exactly those columns back and refuse a file that lacks one.

**Labels** (``label``). Direction-family models (``task`` ``direction``) learn one of:

* ``direction``: ``direction_{h}``, up over the next ``h`` bars (2 classes: down, up);
* ``forward_return``: ``forward_return_{h}``, the ``h``-bar log return (regression);
* ``triple_barrier``: which of three barriers the close reaches first (3 classes: down, flat, up): upper
  and lower barriers at ``barriers`` times a causal rolling volatility (``vol_window`` one-bar log
  returns, up to the event's bar), and a vertical barrier ``h`` bars later (flat). Each label keeps the
  row where it was decided, so splits and purging cover its actual span;
* ``classes``: your ``label_column`` holding integer classes (the distinct values of the training rows,
  lowest = "down", highest = "up" for the trading rule);
* ``values``: your ``label_column`` holding real values (regression).

For your label column, ``horizon`` is how many bars ahead it reads (you state it; the embargo between the
split's parts is at least that). ``trend`` (``trend_attention``): ``direction_{h}`` and ``trend_{h}`` for
every horizon ``h`` of ``horizons`` (one head per horizon, trained together; ``horizon`` is then the
largest, which splits and embargoes use).
``forecast`` (``lstm_attention``): the next ``h`` standardised values of the ``targets`` feature columns,
``(h, len(targets))`` per window, flattened step-major into the label row.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any

from neural_trader.data.candles import CANDLE_COLUMNS
from neural_trader.data.features import FEATURE_NAMES
from neural_trader.errors import ConfigError
from neural_trader.validation import choice, int_list, integer, positive_int, real

#: The input keywords; any other input item is a column name or pattern.
INPUT_KINDS: tuple[str, ...] = ("features", "candles")
#: The label kinds a spec describes; every trainable model declares one of them as its ``task``.
TASKS: tuple[str, ...] = ("direction", "trend", "forecast")
#: The labels each task learns; the first is its default.
LABELS: dict[str, tuple[str, ...]] = {
    "direction": ("direction", "forward_return", "triple_barrier", "classes", "values"),
    "trend": ("trend",),
    "forecast": ("forecast",),
}
#: Labels read from your label column.
COLUMN_LABELS: tuple[str, ...] = ("classes", "values")
#: Labels learnt by regression: one real output, MSE.
REGRESSION_LABELS: tuple[str, ...] = ("forward_return", "values")
#: A user class column with more distinct values is almost surely real-valued: say ``values``.
MAX_CLASSES = 100
_OHLCV = frozenset(CANDLE_COLUMNS)


@dataclass
class DataSpec:
    """How bars become windows and labels; stored as JSON in every checkpoint the CLI writes.

    Example:
        >>> DataSpec(window=32, horizon=5).label_columns()
        ['direction_5']
        >>> DataSpec.from_json(DataSpec(task="forecast", targets=["volatility_20"]).to_json()).targets
        ['volatility_20']
        >>> spec = DataSpec(task="trend", horizons=[7, 30])
        >>> spec.horizon, spec.label_columns()
        (30, ['direction_7', 'trend_7', 'direction_30', 'trend_30'])
        >>> DataSpec(label="triple_barrier", horizon=10).class_names()
        ['down', 'flat', 'up']
    """

    task: str = "direction"
    # One keyword or a list of keywords, column names and patterns (module docstring).
    inputs: str | list[str] = "features"
    # Bars per window: the model sees rows [e - window + 1, e] to predict at the close of bar e.
    window: int = 32
    # Label horizon in bars (how far ahead the label reads), or forecast steps (forecast).
    horizon: int = 5
    # Forecast task only: feature columns to forecast.
    targets: list[str] = field(default_factory=list)
    # Trend task: the label horizons, one model head each (e.g. [7, 30]); ``horizon`` becomes their
    # largest, so splits and embargoes cover every label. Empty or None: ``[horizon]``.
    horizons: list[int] | None = None
    # The label recipe; None: the task's own (direction, trend, forecast).
    label: str | None = None
    # The resolved, ordered input columns (empty until resolved, or when the keywords imply them).
    columns: list[str] = field(default_factory=list)
    # triple_barrier: upper and lower barrier in units of the rolling volatility (0 disables one).
    barriers: list[float] = field(default_factory=lambda: [1.0, 1.0])
    # triple_barrier: one-bar log returns in the rolling volatility (up to and including the event's bar).
    vol_window: int = 20
    # classes / values: your column holding the label.
    label_column: str | None = None
    # classes: the class values (sorted), resolved from the training rows.
    classes: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        choice("task", self.task, TASKS)
        self.inputs = _check_inputs(self.inputs)
        self.window = positive_int("window", self.window)
        self.horizon = positive_int("horizon", self.horizon)
        self.targets = list(self.targets)
        if self.horizons:
            self.horizons = int_list("horizons", self.horizons, distinct=True)
            if len(self.horizons) > 1 and self.task != "trend":
                raise ConfigError(
                    f"several horizons {self.horizons} are for the trend task (trend_attention); "
                    f"the {self.task} task has one horizon"
                )
            self.horizon = max(self.horizons)
        else:
            self.horizons = [self.horizon]
        self.label = LABELS[self.task][0] if self.label is None else self.label
        choice("label", self.label, LABELS[self.task])
        self._check_label_fields()
        self.columns = _check_columns(self.columns, self.label_column)
        if self.task == "forecast":
            self._check_forecast()

    def _check_label_fields(self) -> None:
        b = self.barriers
        if isinstance(b, (str, bytes)) or not hasattr(b, "__len__") or len(b) != 2:
            raise ConfigError(f"barriers must be two multipliers [upper, lower], got {b!r}")
        self.barriers = [real("upper barrier", b[0], low=0.0), real("lower barrier", b[1], low=0.0)]
        if self.barriers == [0.0, 0.0]:
            raise ConfigError("barriers 0 0 disable both horizontal barriers: every label would be flat")
        self.vol_window = integer("vol_window", self.vol_window, low=2)
        if self.label in COLUMN_LABELS:
            if not isinstance(self.label_column, str) or not self.label_column.strip():
                raise ConfigError(f"label {self.label!r} reads your label column: give label_column")
        elif self.label_column is not None:
            raise ConfigError(f"label_column is for labels {' and '.join(COLUMN_LABELS)}, not {self.label!r}")
        classes = list(self.classes)
        if classes and self.label != "classes":
            raise ConfigError(f"classes belong to label 'classes', not {self.label!r}")
        for v in classes:
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v != int(v):
                raise ConfigError(f"classes must be integers, got {v!r}")
        self.classes = [int(v) for v in classes]
        if self.classes and (len(self.classes) < 2 or self.classes != sorted(set(self.classes))):
            raise ConfigError(f"classes must be at least 2 distinct sorted integers, got {self.classes}")
        if len(self.classes) > MAX_CLASSES:
            raise ConfigError(f"{len(self.classes)} classes are more than {MAX_CLASSES}: use label 'values'")

    def _check_forecast(self) -> None:
        if not self.targets:
            raise ConfigError("the forecast task needs at least one target feature column")
        unknown = [t for t in self.targets if t not in FEATURE_NAMES]
        if unknown:
            raise ConfigError(f"unknown target column {unknown[0]!r}; choose from {', '.join(FEATURE_NAMES)}")
        if self.columns:
            absent = [t for t in self.targets if t not in self.columns]
            if absent:
                raise ConfigError(f"forecast target {absent[0]!r} is not among the input columns")
        elif all(item in INPUT_KINDS for item in self.input_items) and "features" not in self.input_items:
            raise ConfigError("the forecast task forecasts feature columns: use --inputs features")

    # ------------------------------------------------------------------------------------ inputs
    @property
    def input_items(self) -> tuple[str, ...]:
        """The input items as given (keywords, names, patterns)."""
        return (self.inputs,) if isinstance(self.inputs, str) else tuple(self.inputs)

    @property
    def resolved(self) -> bool:
        """Whether :attr:`input_columns` is known (resolved, or implied by keywords alone)."""
        return bool(self.columns) or all(item in INPUT_KINDS for item in self.input_items)

    @property
    def input_columns(self) -> tuple[str, ...]:
        """Names of the ``F`` columns of each window step.

        Raises:
            ConfigError: names or patterns not resolved yet (:func:`~neural_trader.data.resolve_spec`).
        """
        if self.columns:
            return tuple(self.columns)
        if not self.resolved:
            raise ConfigError(
                f"the inputs {list(self.input_items)} name columns of the data: resolve them against the "
                "bars first (neural_trader.data.resolve_spec)"
            )
        out: list[str] = []
        for item in self.input_items:
            out += [c for c in (FEATURE_NAMES if item == "features" else CANDLE_COLUMNS) if c not in out]
        return tuple(out)

    @property
    def candle_columns(self) -> tuple[str, ...]:
        """The input columns that are relative candles (no scaler)."""
        if "candles" not in self.input_items:
            return ()
        return tuple(c for c in self.input_columns if c in _OHLCV)

    @property
    def scaled_columns(self) -> tuple[str, ...]:
        """The input columns the scaler standardises (built-in features and your columns), in order."""
        candles = set(self.candle_columns)
        return tuple(c for c in self.input_columns if c not in candles)

    @property
    def user_columns(self) -> tuple[str, ...]:
        """Your columns among the input columns (read from the bars file)."""
        candles = set(self.candle_columns)
        return tuple(c for c in self.input_columns if c not in candles and c not in FEATURE_NAMES)

    def file_columns(self) -> tuple[str, ...]:
        """What the bars file must provide besides OHLCV: the names (resolved) or the names and patterns
        (not yet resolved) of your input columns, for :func:`~neural_trader.data.load_ohlcv`."""
        if self.columns:
            return self.user_columns
        return tuple(i for i in self.input_items if i not in INPUT_KINDS and i not in FEATURE_NAMES)

    def describe_inputs(self) -> str:
        """The inputs as a user typed them, e.g. ``features sent_*``."""
        return " ".join(self.input_items)

    # ------------------------------------------------------------------------------------ labels
    @property
    def is_regression(self) -> bool:
        """Whether the label is a real value (one output, MSE)."""
        return self.label in REGRESSION_LABELS

    @property
    def objective(self) -> str:
        """What the model learns, in words: the task (``direction``, ``trend``, ``forecast``),
        ``regression`` or ``k-class classification``."""
        if self.is_regression:
            return "regression"
        if self.label in ("triple_barrier", "classes"):
            return f"{self.num_classes}-class classification"
        return self.task

    @property
    def num_classes(self) -> int:
        """Classes of the label: 2 (direction, trend), 3 (triple barrier), ``len(classes)``; 0 ("no
        classes": one real output) for a regression label and for forecasts.

        Raises:
            ConfigError: a class column whose classes are not resolved yet.
        """
        if self.label in ("direction", "trend"):
            return 2
        if self.label == "triple_barrier":
            return 3
        if self.label == "classes":
            if not self.classes:
                raise ConfigError("the classes of the label column are not resolved yet (resolve_spec)")
            return len(self.classes)
        return 0

    def class_values(self) -> list[int]:
        """The label value of each class index: ``[0, 1]``, ``[-1, 0, 1]`` (triple barrier), your classes."""
        if self.label == "triple_barrier":
            return [-1, 0, 1]
        if self.label == "classes":
            return list(self.classes)
        return list(range(self.num_classes))

    def class_names(self) -> list[str]:
        """Names of the classes in index order: ``down, up``; ``down, flat, up``; your values."""
        if self.label == "triple_barrier":
            return ["down", "flat", "up"]
        if self.label == "classes":
            return [str(v) for v in self.classes]
        return ["down", "up"] if self.num_classes == 2 else []

    def label_columns(self) -> list[str]:
        """Names of the label entries of each window."""
        h = self.horizon
        if self.label in COLUMN_LABELS:
            return [str(self.label_column)]
        if self.label == "trend":
            return [f"{kind}_{k}" for k in self.horizons or [h] for kind in ("direction", "trend")]
        if self.label == "forecast":
            return [f"{t}@+{k}" for k in range(1, h + 1) for t in self.targets]
        return [f"{self.label}_{h}"]

    def direction_labels(self) -> list[str]:
        """The ``direction_{h}`` label columns, one per horizon (none for a forecast)."""
        return [c for c in self.label_columns() if c.startswith("direction_")]

    def target_indices(self) -> list[int]:
        """Input columns of the forecast targets."""
        columns = self.input_columns
        return [columns.index(t) for t in self.targets]

    # ------------------------------------------------------------------------------------ JSON
    def to_json(self) -> str:
        """The spec as one JSON object (sorted keys), the form stored in checkpoint metadata.

        The five original fields are always written; the others only where they say something (several
        ``horizons``, a label other than the task's, its parameters, columns that the keywords do not
        imply), so a spec of the built-in inputs and labels reads as it always did.
        """
        values: dict[str, Any] = asdict(self)
        if values["horizons"] == [self.horizon]:
            values.pop("horizons")
        if self.label == LABELS[self.task][0]:
            values.pop("label")
        if not self.columns or all(i in INPUT_KINDS for i in self.input_items):
            values.pop("columns")
        if self.label != "triple_barrier":
            del values["barriers"], values["vol_window"]
        for key in ("label_column", "classes"):
            if not values[key]:
                values.pop(key)
        return json.dumps(values, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> DataSpec:
        """Parses :meth:`to_json`.

        Raises:
            ConfigError: not a data spec.
        """
        try:
            values = json.loads(text)
            if not isinstance(values, dict):
                raise TypeError(f"expected a JSON object, got {type(values).__name__}")
            return cls(**values)
        except (ValueError, TypeError, RecursionError) as exc:  # ConfigError is a ValueError
            raise ConfigError(f"not a data spec: {exc}") from None


def _check_inputs(inputs: object) -> str | list[str]:
    """The canonical inputs: a keyword alone stays a string (as old checkpoints store it), else a list."""
    items = [inputs] if isinstance(inputs, str) else inputs
    if not isinstance(items, (list, tuple)) or not items:
        raise ConfigError(f"inputs must be features, candles, or a list of inputs, got {inputs!r}")
    for item in items:
        if not isinstance(item, str) or not item.strip() or item != item.strip():
            raise ConfigError(f"every input must be a keyword, a column name or a pattern, got {item!r}")
        if item.lower() in _OHLCV and item not in INPUT_KINDS:
            raise ConfigError(
                f"input {item!r} is a column of the bars themselves: use candles (relative OHLCV) or a "
                "built-in feature such as log_return"
            )
        if item.lower() in INPUT_KINDS and item not in INPUT_KINDS:
            raise ConfigError(f"input {item!r}: the keywords are lower case ({', '.join(INPUT_KINDS)})")
    if len(items) == 1 and items[0] in INPUT_KINDS:
        return items[0]
    return list(items)


def _check_columns(columns: object, label_column: str | None) -> list[str]:
    if isinstance(columns, str) or not isinstance(columns, (list, tuple)):
        raise ConfigError(f"columns must be a list of column names, got {columns!r}")
    out = list(columns)
    for c in out:
        if not isinstance(c, str) or not c:
            raise ConfigError(f"columns must be column names, got {c!r}")
    if len(set(out)) != len(out):
        raise ConfigError(f"columns name a column twice: {out}")
    if label_column is not None and label_column in out:
        raise ConfigError(f"label column {label_column!r} is also an input: a model would read its own label")
    return out
