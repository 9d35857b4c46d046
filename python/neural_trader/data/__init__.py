"""Leakage-proof data pipeline: OHLCV loading, causal features, forward labels, embargoed splits, windows.

One road from bars to windows, used by the library loaders and the ``neural-trader`` workflows alike:
:func:`load_ohlcv` -> :func:`series_from_bars` (the rows after the features' warm-up) -> a split
(:func:`chronological_split`, :func:`walk_forward_splits`, or purged cross-validation in
:mod:`neural_trader.data.cv`) -> :func:`fit_scaler` on training rows only ->
windows (:func:`make_windows` / :func:`make_loaders`), gathered batch by batch from the input rows when
they would not fit (:class:`LazyWindows`, :class:`WindowBatches`). A :class:`DataSpec` says which inputs
and labels; :func:`resolve_spec` fixes its input columns (built-in features, candles, your own columns) at
train time.

Example:
    >>> from neural_trader.data import load_ohlcv, make_loaders
    >>> loaders = make_loaders(load_ohlcv("sp500_daily.csv"), window=64)    # doctest: +SKIP
    >>> metadata = {"scaler": loaders.scaler.to_dict()}                     # doctest: +SKIP

The rules every piece follows are in ``docs/design.md``, "Data rules"; each module's docstring states its
part.
"""

from neural_trader.data.batches import WindowBatches, batch_loader
from neural_trader.data.candles import CANDLE_COLUMNS, relative_candles
from neural_trader.data.cv import PurgedCV, combinatorial_purged_cv, purged_kfold, purged_train
from neural_trader.data.dataset import WindowDataset
from neural_trader.data.features import FEATURE_NAMES, FEATURE_WARMUP, feature_warmup, make_features
from neural_trader.data.gathered import LazyWindows
from neural_trader.data.inputs import resolve_spec
from neural_trader.data.io import BAR_FILE_SUFFIXES, OHLCV_COLUMNS, load_ohlcv, symbol_of, validate_ohlcv
from neural_trader.data.labels import DEFAULT_HORIZONS, label_columns, make_labels
from neural_trader.data.loaders import Loaders, make_loaders
from neural_trader.data.multi_symbol import (
    MultiSymbolLoaders,
    MultiSymbolWindowDataset,
    make_multi_symbol_loaders,
)
from neural_trader.data.scaling import Scaler, fit_pooled_scaler, fit_training_scaler
from neural_trader.data.series import Series, feature_and_label_frames, load_series, series_from_bars
from neural_trader.data.spec import INPUT_KINDS, LABELS, TASKS, DataSpec
from neural_trader.data.splits import Split, chronological_split, walk_forward_splits
from neural_trader.data.targets import label_end_rows, label_scaler
from neural_trader.data.windows import (
    Windows,
    check_label_ends,
    fit_scaler,
    label_matrix,
    make_windows,
    part_dataset,
    window_spans,
)

__all__ = [
    "BAR_FILE_SUFFIXES",
    "CANDLE_COLUMNS",
    "DEFAULT_HORIZONS",
    "FEATURE_NAMES",
    "FEATURE_WARMUP",
    "INPUT_KINDS",
    "LABELS",
    "OHLCV_COLUMNS",
    "PurgedCV",
    "TASKS",
    "DataSpec",
    "LazyWindows",
    "Loaders",
    "MultiSymbolLoaders",
    "MultiSymbolWindowDataset",
    "Scaler",
    "Series",
    "Split",
    "WindowBatches",
    "WindowDataset",
    "Windows",
    "batch_loader",
    "check_label_ends",
    "chronological_split",
    "combinatorial_purged_cv",
    "feature_and_label_frames",
    "feature_warmup",
    "fit_pooled_scaler",
    "fit_scaler",
    "fit_training_scaler",
    "label_columns",
    "label_end_rows",
    "label_matrix",
    "label_scaler",
    "load_ohlcv",
    "load_series",
    "make_features",
    "make_labels",
    "make_loaders",
    "make_multi_symbol_loaders",
    "make_windows",
    "part_dataset",
    "purged_kfold",
    "purged_train",
    "relative_candles",
    "resolve_spec",
    "series_from_bars",
    "symbol_of",
    "validate_ohlcv",
    "walk_forward_splits",
    "window_spans",
]
