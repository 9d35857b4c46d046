"""``DataSpec``: how bars become a model's inputs and labels, stored as JSON in every trained checkpoint.

**Inputs.** ``features``: the 28 causal features of :mod:`neural_trader.data.features`, standardised by a
scaler fit on training rows only. ``candles``: the raw OHLCV rows of each window made scale-free by
:func:`~neural_trader.data.relative_candles` (5 columns; no scaler); the form that augmentation
(time warp, jitter, volatility scaling) works on.

**Targets.** ``direction``: ``direction_{h}`` (up over the next ``h`` bars). ``trend``: ``direction_{h}``
and ``trend_{h}`` for every horizon ``h`` of ``horizons`` (``trend_attention`` trains one head per horizon;
``horizon`` is then the largest, which splits and embargoes use). ``forecast``: the next ``h`` standardised
values of the ``targets`` feature columns, ``(h, len(targets))`` per window, flattened step-major into the
label row.

``train`` stores the spec, the scaler and the splits in the checkpoint, so ``evaluate`` and ``predict``
rebuild exactly the inputs the model was trained on.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from neural_trader.data.candles import CANDLE_COLUMNS
from neural_trader.data.features import FEATURE_NAMES
from neural_trader.errors import ConfigError
from neural_trader.validation import choice, int_list, positive_int

INPUT_KINDS: tuple[str, ...] = ("features", "candles")
#: The label kinds a spec describes; every trainable model declares one of them as its ``task``.
TASKS: tuple[str, ...] = ("direction", "trend", "forecast")


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
    """

    task: str = "direction"
    inputs: str = "features"
    # Bars per window: the model sees rows [e - window + 1, e] to predict at the close of bar e.
    window: int = 32
    # Label horizon in bars (direction/trend), or forecast steps (forecast).
    horizon: int = 5
    # Forecast task only: feature columns to forecast.
    targets: list[str] = field(default_factory=list)
    # Trend task: the label horizons, one model head each (e.g. [7, 30]); ``horizon`` becomes their
    # largest, so splits and embargoes cover every label. Empty or None: ``[horizon]``.
    horizons: list[int] | None = None

    def __post_init__(self) -> None:
        choice("task", self.task, TASKS)
        choice("inputs", self.inputs, INPUT_KINDS)
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
        if self.task == "forecast":
            if self.inputs != "features":
                raise ConfigError("the forecast task forecasts feature columns: use --inputs features")
            if not self.targets:
                raise ConfigError("the forecast task needs at least one target feature column")
            unknown = [t for t in self.targets if t not in FEATURE_NAMES]
            if unknown:
                raise ConfigError(
                    f"unknown target column {unknown[0]!r}; choose from {', '.join(FEATURE_NAMES)}"
                )

    @property
    def input_columns(self) -> tuple[str, ...]:
        """Names of the ``F`` columns of each window step."""
        return FEATURE_NAMES if self.inputs == "features" else CANDLE_COLUMNS

    def label_columns(self) -> list[str]:
        """Names of the label entries of each window."""
        h = self.horizon
        if self.task == "direction":
            return [f"direction_{h}"]
        if self.task == "trend":
            return [f"{kind}_{k}" for k in self.horizons or [h] for kind in ("direction", "trend")]
        return [f"{t}@+{k}" for k in range(1, h + 1) for t in self.targets]

    def direction_labels(self) -> list[str]:
        """The ``direction_{h}`` label columns, one per horizon (none for a forecast)."""
        return [c for c in self.label_columns() if c.startswith("direction_")]

    def target_indices(self) -> list[int]:
        """Input columns of the forecast targets."""
        return [FEATURE_NAMES.index(t) for t in self.targets]

    def to_json(self) -> str:
        """The spec as one JSON object (sorted keys), the form stored in checkpoint metadata; ``horizons``
        only when there are several (one is ``horizon``, as specs written before it existed say)."""
        values = asdict(self)
        if values["horizons"] == [self.horizon]:
            del values["horizons"]
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
