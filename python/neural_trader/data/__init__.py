"""Leakage-proof data pipeline: OHLCV loading, causal features, forward labels, embargoed splits, windows.

Example:
    >>> from neural_trader.data import load_ohlcv, make_loaders
    >>> loaders = make_loaders(load_ohlcv("sp500_daily.csv"), window=64)    # doctest: +SKIP
    >>> metadata = {"scaler": loaders.scaler.to_dict()}                     # doctest: +SKIP

The rules every piece follows are in DESIGN.md, "Data rules"; each module's docstring states its part.
"""

from neural_trader.data.dataset import WindowDataset
from neural_trader.data.features import FEATURE_NAMES, FEATURE_WARMUP, feature_warmup, make_features
from neural_trader.data.io import OHLCV_COLUMNS, load_ohlcv, validate_ohlcv
from neural_trader.data.labels import DEFAULT_HORIZONS, label_columns, make_labels
from neural_trader.data.loaders import Loaders, feature_and_label_frames, make_loaders
from neural_trader.data.multi_symbol import (
    MultiSymbolLoaders,
    MultiSymbolWindowDataset,
    fit_pooled_scaler,
    make_multi_symbol_loaders,
)
from neural_trader.data.scaling import Scaler
from neural_trader.data.splits import Split, chronological_split, walk_forward_splits

__all__ = [
    "DEFAULT_HORIZONS",
    "FEATURE_NAMES",
    "FEATURE_WARMUP",
    "OHLCV_COLUMNS",
    "Loaders",
    "MultiSymbolLoaders",
    "MultiSymbolWindowDataset",
    "Scaler",
    "Split",
    "WindowDataset",
    "chronological_split",
    "feature_and_label_frames",
    "feature_warmup",
    "fit_pooled_scaler",
    "label_columns",
    "load_ohlcv",
    "make_features",
    "make_labels",
    "make_loaders",
    "make_multi_symbol_loaders",
    "validate_ohlcv",
    "walk_forward_splits",
]

# Purged k-fold and combinatorial purged cross-validation (issue 19).
from neural_trader.data.cv import PurgedCV, combinatorial_purged_cv, purged_kfold, purged_train  # noqa: E402

__all__ += ["PurgedCV", "combinatorial_purged_cv", "purged_kfold", "purged_train"]
