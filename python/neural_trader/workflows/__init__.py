"""What the ``neural-trader`` commands do, as library functions (the CLI only parses and calls these).

* :mod:`neural_trader.data`: bars -> rows -> windows, described by a :class:`DataSpec` (re-exported here).
* :mod:`~neural_trader.workflows.build`: what the commands read from a model's declaration.
* :mod:`~neural_trader.workflows.splits`: split and walk-forward files;
  :mod:`~neural_trader.workflows.cv_splits`: purged k-fold and CPCV files with a held-out test period.
* :mod:`~neural_trader.workflows.pretrain`, :mod:`~neural_trader.workflows.train`,
  :mod:`~neural_trader.workflows.evaluate`, :mod:`~neural_trader.workflows.predict`,
  :mod:`~neural_trader.workflows.tune`: the commands.

Example:
    >>> from neural_trader.workflows import DataSpec, load_series, choose_splits, train
    >>> series = load_series("goog_daily.csv", horizon=5)                          # doctest: +SKIP
    >>> splits, _ = choose_splits(series, horizon=5)                               # doctest: +SKIP
    >>> result = train("bilstm_classifier", series, DataSpec(), splits, "runs/g")  # doctest: +SKIP
"""

from neural_trader.data import (
    DataSpec,
    Series,
    Windows,
    fit_scaler,
    load_series,
    make_windows,
    series_from_bars,
)
from neural_trader.workflows.build import ModelOptions, build_model, task_of, trainable
from neural_trader.workflows.checkpoints import TrainedModel, read_trained
from neural_trader.workflows.cv_splits import HeldOutCV, held_out_cv
from neural_trader.workflows.evaluate import DEFAULT_BASELINES, EvaluateOptions, evaluate, fit_baselines
from neural_trader.workflows.predict import predict
from neural_trader.workflows.pretrain import PretrainOptions, pretrain
from neural_trader.workflows.splits import choose_splits, read_split_file, walk_forward, walk_forward_json
from neural_trader.workflows.train import TrainOptions, TrainResult, train
from neural_trader.workflows.tune import TuneOptions, TuneResult, tune, write_tune_report

__all__ = [
    "DEFAULT_BASELINES",
    "DataSpec",
    "EvaluateOptions",
    "HeldOutCV",
    "ModelOptions",
    "PretrainOptions",
    "Series",
    "TrainOptions",
    "TrainResult",
    "TrainedModel",
    "TuneOptions",
    "TuneResult",
    "Windows",
    "build_model",
    "choose_splits",
    "evaluate",
    "fit_baselines",
    "fit_scaler",
    "held_out_cv",
    "load_series",
    "make_windows",
    "predict",
    "pretrain",
    "read_split_file",
    "read_trained",
    "series_from_bars",
    "task_of",
    "train",
    "trainable",
    "tune",
    "walk_forward",
    "walk_forward_json",
    "write_tune_report",
]
