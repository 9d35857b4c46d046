"""From bars to model inputs, the same way in every command: a JSON-able :class:`DataSpec` says how.

**Rows.** Each symbol's rows are its bars after the features' warm-up
(:func:`~neural_trader.data.feature_and_label_frames`); splits index these rows, and ``train`` stores the
spec, the scaler and the splits in the checkpoint, so ``evaluate`` and ``predict`` rebuild exactly the
inputs the model was trained on.

**Inputs.** ``features``: the 28 causal features of :mod:`neural_trader.data.features`, standardised by a
scaler fit on training rows only. ``candles``: the raw OHLCV rows of each window made scale-free by
:func:`~neural_trader.training.relative_candles` (5 columns; no scaler); the form that augmentation
(time warp, jitter, volatility scaling) works on.

**Targets.** ``direction``: ``direction_{h}`` (up over the next ``h`` bars). ``trend``: ``direction_{h}``
and ``trend_{h}`` (for ``trend_attention``). ``forecast``: the next ``h`` standardised values of the
``targets`` feature columns, ``(h, len(targets))`` per window, flattened step-major into the label row.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from neural_trader.data import (
    FEATURE_NAMES,
    Scaler,
    WindowDataset,
    feature_and_label_frames,
    fit_pooled_scaler,
    load_ohlcv,
)
from neural_trader.errors import ConfigError, DataError
from neural_trader.training.pretrain import relative_candles

INPUT_KINDS: tuple[str, ...] = ("features", "candles")
TASKS: tuple[str, ...] = ("direction", "trend", "forecast")
CANDLE_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close", "volume")
_SUFFIXES = (".csv.gz", ".csv.bz2", ".csv.xz", ".csv.zip", ".csv", ".parquet", ".pq")


@dataclass
class DataSpec:
    """How bars become windows and labels; stored as JSON in every checkpoint the CLI writes.

    Example:
        >>> DataSpec(window=32, horizon=5).label_columns()
        ['direction_5']
        >>> DataSpec.from_json(DataSpec(task="forecast", targets=["volatility_20"]).to_json()).targets
        ['volatility_20']
    """

    task: str = "direction"
    inputs: str = "features"
    # Bars per window: the model sees rows [e - window + 1, e] to predict at the close of bar e.
    window: int = 32
    # Label horizon in bars (direction/trend), or forecast steps (forecast).
    horizon: int = 5
    # Forecast task only: feature columns to forecast.
    targets: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ConfigError(f"task must be one of {', '.join(TASKS)}, got {self.task!r}")
        if self.inputs not in INPUT_KINDS:
            raise ConfigError(f"inputs must be one of {', '.join(INPUT_KINDS)}, got {self.inputs!r}")
        for name in ("window", "horizon"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be an integer >= 1, got {value!r}")
        self.targets = list(self.targets)
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
            return [f"direction_{h}", f"trend_{h}"]
        return [f"{t}@+{k}" for k in range(1, h + 1) for t in self.targets]

    def target_indices(self) -> list[int]:
        """Input columns of the forecast targets."""
        return [FEATURE_NAMES.index(t) for t in self.targets]

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

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


@dataclass
class Series:
    """One symbol's rows: the bars after the feature warm-up, their raw features and labels.

    Attributes:
        symbol: the file name without suffix (or the name given).
        bars: OHLCV on the rows.
        features: raw (unscaled) causal features on the rows.
        labels: ``direction_{h}``, ``trend_{h}``, ``forward_return_{h}`` on the rows.
    """

    symbol: str
    bars: pd.DataFrame
    features: pd.DataFrame
    labels: pd.DataFrame

    @property
    def n_rows(self) -> int:
        return len(self.features)

    @property
    def index(self) -> pd.DatetimeIndex:
        return pd.DatetimeIndex(self.features.index)

    def next_returns(self) -> np.ndarray:
        """``(n_rows,)`` simple return from each row's close to the next; NaN on the last row."""
        close = self.bars["close"].to_numpy()
        out = np.full(len(close), np.nan)
        out[:-1] = close[1:] / close[:-1] - 1.0
        return out


def series_from_bars(symbol: str, bars: pd.DataFrame, horizon: int) -> Series:
    """Features and labels of validated ``bars`` on the rows after the warm-up.

    Raises:
        DataError: invalid bars, or no row left after the warm-up.
    """
    features, labels = feature_and_label_frames(bars, horizons=(horizon,))
    if len(features) == 0:
        raise DataError(f"{symbol}: {len(bars)} bars are fewer than the 49-bar feature warm-up")
    return Series(symbol, bars.loc[features.index], features, labels)


def load_series(path: str | Path, horizon: int, *, nan_policy: str = "raise") -> list[Series]:
    """Reads a CSV/Parquet file (one symbol) or a folder of them (one symbol per file).

    ``nan_policy`` (``raise``, ``drop`` or ``ffill``) is that of :func:`~neural_trader.data.load_ohlcv`.

    Raises:
        FileNotFoundError: no such path. DataError: invalid bars, naming the file and row.
    """
    data = load_ohlcv(path, nan_policy=nan_policy)
    if isinstance(data, pd.DataFrame):
        data = {_symbol(Path(path)): data}
    out = []
    for symbol, bars in data.items():
        try:
            out.append(series_from_bars(symbol, bars, horizon))
        except DataError as exc:
            raise DataError(f"{symbol}: {exc}") from exc
    return out


def _symbol(path: Path) -> str:
    name = path.name
    for suffix in _SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def label_matrix(series: Series, spec: DataSpec, scaler: Scaler | None) -> np.ndarray:
    """``(n_rows, L)`` float32 labels of ``spec`` aligned with window ends; NaN where unknown."""
    if spec.task != "forecast":
        return series.labels[spec.label_columns()].to_numpy(dtype=np.float32)
    if scaler is None:
        raise ConfigError("forecast labels are standardised targets: a scaler is needed")
    idx = spec.target_indices()
    mean, std = scaler.arrays()
    z = (series.features.to_numpy()[:, idx] - mean[idx]) / std[idx]
    n, h = len(z), spec.horizon
    out = np.full((n, h, len(idx)), np.nan)
    for k in range(1, h + 1):
        out[: n - k, k - 1] = z[k:]
    return out.reshape(n, -1).astype(np.float32)


@dataclass
class Windows:
    """Windows of one part of one symbol.

    Attributes:
        x: ``(N, window, F)`` float32 model inputs.
        y: ``(N, L)`` float32 labels, or None (unlabelled).
        end_rows: ``(N,)`` row of each window's last bar.
        dates: ``(N,)`` datetime64 of those bars.
        symbol: the series.
    """

    x: np.ndarray
    y: np.ndarray | None
    end_rows: np.ndarray
    dates: np.ndarray
    symbol: str


def make_windows(
    series: Series,
    spec: DataSpec,
    scaler: Scaler | None,
    rows: tuple[int, int] | None = None,
    *,
    labelled: bool = True,
    raw_candles: bool = False,
) -> Windows:
    """Windows lying inside ``rows`` (default: all rows); with ``labelled``, only those with a label.

    With ``raw_candles`` (candle inputs only), ``x`` holds the raw OHLCV rows instead of relative
    candles: the form augmentation needs (apply :func:`relative_candles` afterwards).

    Raises:
        DataError: the rows hold fewer bars than one window, or no window has a label.
    """
    start, stop = rows if rows is not None else (0, series.n_rows)
    labels = label_matrix(series, spec, scaler) if labelled else None
    if spec.inputs == "features":
        if scaler is None:
            raise ConfigError("feature inputs need the scaler fit on the training rows")
        values, row_scaler = series.features.to_numpy(dtype=np.float64), scaler
    else:
        values, row_scaler = series.bars.to_numpy(dtype=np.float64), None
    try:
        ds = WindowDataset(values, labels, window=spec.window, start=start, stop=stop, scaler=row_scaler)
    except DataError as exc:
        raise DataError(f"{series.symbol}: {exc}") from exc
    x = ds.windows if spec.inputs == "features" or raw_candles else relative_candles(ds.windows)
    dates = series.index[ds.window_end_rows].to_numpy()
    return Windows(
        np.ascontiguousarray(x, dtype=np.float32), ds.labels, ds.window_end_rows, dates, series.symbol
    )


def fit_scaler(series: list[Series], train_rows: dict[str, tuple[int, int]], spec: DataSpec) -> Scaler | None:
    """Scaler of the features on the training rows of every symbol (pooled); None for candle inputs.

    One symbol: :meth:`Scaler.fit` (the Rust kernel, the same bits as
    :func:`~neural_trader.data.make_loaders`); several: :func:`~neural_trader.data.fit_pooled_scaler`.
    """
    if spec.inputs != "features":
        return None
    if len(series) == 1:
        s = series[0]
        start, stop = train_rows[s.symbol]
        values = s.features.to_numpy(dtype=np.float64)
        return Scaler.fit(values, start=start, stop=stop, columns=FEATURE_NAMES)
    values = {s.symbol: s.features.to_numpy(dtype=np.float64) for s in series}
    return fit_pooled_scaler(values, train_rows, FEATURE_NAMES)
