"""``neural-trader tune``: a search over model and training options that selects on validation folds only,
then opens the held-out test period once, for the configuration it chose.

1. **Rows.** The last ``holdout`` share of the series' rows, after an embargo, is the test period; the
   rows before it are the development period (:func:`~neural_trader.workflows.held_out_cv`, or a split
   file from ``neural-trader splits --kind purged-kfold|cpcv``, checked against the data).
2. **Trials.** ``trials`` configurations are drawn from the grid (:mod:`~neural_trader.workflows.tune_space`)
   and each is trained on every split of the purged cross-validation of the development windows and
   scored on that split's test groups (:mod:`~neural_trader.workflows.tune_trials`).
3. **Choice.** The trial with the best mean validation metric over the backtest paths wins (the first of
   ties). Nothing about the test period has been read so far.
4. **Test, once.** The chosen configuration is retrained on every development window, the baselines are fit
   on the same windows, and the test windows are made and predicted: the only time the test rows are read.
5. **Figures.** The test scores with their intervals and the verdict of ``evaluate``, the equity curves,
   and the overfitting statistics of the search (:mod:`neural_trader.evaluation.tuning`), whose rule
   decides the tuned verdict.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from neural_trader.data import DataSpec, Series, Windows, make_windows
from neural_trader.errors import ConfigError
from neural_trader.evaluation import (
    Bootstrap,
    ClassificationResult,
    Segment,
    classification_result,
    net_returns,
    periods_per_year,
    positions_from_proba,
)
from neural_trader.evaluation.tuning import Overfitting, TunedVerdict, overfitting_statistics, tuned_verdict
from neural_trader.workflows.cv_splits import HeldOutCV, held_out_cv
from neural_trader.workflows.evaluate import DEFAULT_BASELINES, fit_baselines
from neural_trader.workflows.tune_space import draw, search_space
from neural_trader.workflows.tune_trials import (
    METRIC_LABELS,
    SELECTION_METRICS,
    Development,
    TrialResult,
    cross_validate,
)

#: The level the path spread counts paths above, per selection metric (chance for each).
CHANCE: dict[str, float] = {"sharpe": 0.0, "balanced_accuracy": 0.5, "mcc": 0.0}


@dataclass
class TuneOptions:
    """What ``tune`` searches and how it validates (``block_size`` None: window + horizon).

    Attributes:
        models: the families searched (trainable direction classifiers and/or baselines).
        trials: configurations drawn from the grid (all of it when it is smaller).
        params: ``{setting: [values]}`` replacing a family's default grid for that setting.
        split_file: a purged split file (``splits --kind purged-kfold|cpcv``); None: made from the fields
            below. kind, n_groups, n_test_groups, embargo, holdout: see :func:`held_out_cv`.
        metric: the validation metric the search selects by (``sharpe``, ``balanced_accuracy``, ``mcc``).
        baselines, cost_bps, band, n_resamples, block_size: as in ``evaluate``.
    """

    models: tuple[str, ...] = ("bilstm_classifier",)
    trials: int = 20
    params: dict[str, list[Any]] = field(default_factory=dict)
    split_file: str | os.PathLike | None = None
    kind: str = "cpcv"
    n_groups: int = 6
    n_test_groups: int = 2
    embargo: int | None = None
    holdout: float = 0.2
    metric: str = "sharpe"
    baselines: tuple[str, ...] = DEFAULT_BASELINES
    cost_bps: float = 1.0
    band: float = 0.0
    n_resamples: int = 1000
    block_size: int | None = None
    seed: int = 0
    device: str = "cpu"
    progress: bool = True


@dataclass
class TuneResult:
    """What ``tune`` found.

    Attributes:
        spec, held: the windows and the splits. grid_size: configurations in the grid.
        trials: every trial's validation record, in trial order. best: the chosen one.
        model_key: the chosen model's name in the test figures (``tuned <family>``).
        classification: the test scores, intervals, verdict and equity curves.
        test_returns: the chosen model's per-bar test returns after costs.
        stats: DSR, PBO and path spread. verdict: the tuned verdict.
    """

    spec: DataSpec
    held: HeldOutCV
    grid_size: int
    trials: list[TrialResult]
    best: TrialResult
    model_key: str
    classification: ClassificationResult
    test_returns: np.ndarray
    stats: Overfitting
    verdict: TunedVerdict


def tune(series: Series, spec: DataSpec, options: TuneOptions | None = None) -> TuneResult:
    """Runs the search of the module docstring on one series.

    Raises:
        ConfigError: bad options, a split file for other data or without a test period, a model that
            cannot be tuned. DataError: too few rows or windows for the splits.

    Example:
        >>> result = tune(load_series("sp500.csv", 5)[0], DataSpec(window=32, horizon=5),
        ...               TuneOptions(models=("logreg",), trials=10))                    # doctest: +SKIP
        >>> result.verdict.outcome                                                       # doctest: +SKIP
        'no skill'
    """
    o = options or TuneOptions()
    if o.metric not in SELECTION_METRICS:
        raise ConfigError(f"metric must be one of {', '.join(SELECTION_METRICS)}, got {o.metric!r}")
    if isinstance(o.trials, bool) or not isinstance(o.trials, int) or o.trials < 1:
        raise ConfigError(f"trials must be an integer >= 1, got {o.trials!r}")
    if spec.task != "direction":
        raise ConfigError(f"tune works on direction labels, not {spec.task}")
    held = _held_out(series, spec, o)
    points = search_space(o.models, o.params)
    candidates = draw(points, o.trials, o.seed)
    dev = Development(series, spec, held)
    # numpy/scikit-learn (OpenBLAS) threads follow torch's: on a loaded machine, BLAS threads that spin
    # beside other processes made one small logistic regression 60 times slower. The limit reaches only
    # the libraries loaded when it is set, so scikit-learn's (and scipy's OpenBLAS) are loaded first.
    import sklearn.linear_model  # noqa: F401

    with threadpool_limits(limits=torch.get_num_threads()):
        trials = cross_validate(
            candidates,
            dev,
            metric=o.metric,
            cost_bps=o.cost_bps,
            band=o.band,
            seed=o.seed,
            device=o.device,
            progress=o.progress,
        )
        best = max(trials, key=lambda t: t.score)  # max keeps the first of ties
        key = f"tuned {best.candidate.model}"
        classification, test_returns = _open_test_period(series, spec, held, dev, best, key, o)
    stats = overfitting_statistics(
        test_returns,
        np.array([t.sharpe for t in trials]),
        np.stack([t.returns for t in trials], axis=1),
        np.array(best.path_scores),
        metric=f"validation {METRIC_LABELS[o.metric]}",
        threshold=CHANCE[o.metric],
        periods_per_year=periods_per_year(next(iter(classification.equity.values())).dates),
        seed=o.seed,
    )
    verdict = tuned_verdict(classification.verdict, stats, model=key, n_trials=len(trials))
    return TuneResult(
        spec, held, len(points), trials, best, key, classification, test_returns, stats, verdict
    )


def _held_out(series: Series, spec: DataSpec, o: TuneOptions) -> HeldOutCV:
    """The splits and the test period: from the split file (checked), or made from the options."""
    if o.split_file is None:
        if o.holdout == 0:
            raise ConfigError("tune needs a held-out test period: holdout must be above 0")
        return held_out_cv(
            series,
            spec,
            kind=o.kind,
            n_groups=o.n_groups,
            n_test_groups=o.n_test_groups,
            embargo=o.embargo,
            holdout=o.holdout,
        )
    held = HeldOutCV.load(o.split_file)
    if held.test is None:
        raise ConfigError(
            f"{o.split_file} holds no test period (made with --holdout 0): tune needs rows it never "
            "looks at until the end; write the file with --holdout above 0"
        )
    try:
        held.check(series, spec)
    except ConfigError as exc:
        raise ConfigError(f"{o.split_file} does not fit {series.symbol}: {exc}") from None
    return held


def _open_test_period(
    series: Series,
    spec: DataSpec,
    held: HeldOutCV,
    dev: Development,
    best: TrialResult,
    key: str,
    o: TuneOptions,
) -> tuple[ClassificationResult, np.ndarray]:
    """Retrains the chosen configuration on every development window, then reads the test rows once."""
    assert held.test is not None
    scaler = dev.scaler_for(None)
    x_dev = dev.inputs(scaler)
    train = Windows(x_dev, dev.y, dev.t0, series.index[dev.t0].to_numpy(), series.symbol)
    unfit: dict[str, str] = {}  # baselines that cannot be fit (one class): reported, not scored
    baselines = fit_baselines(o.baselines, train, spec, scaler, o.seed, not_fittable=unfit)
    test = make_windows(series, spec, scaler, held.test)  # the one read of the test rows
    chosen = best.candidate.fit_predict(spec, scaler, (x_dev, dev.y), test.x, seed=o.seed, device=o.device)
    proba = {key: chosen}
    proba.update({name: model.predict_proba(test.x) for name, model in baselines.items()})
    returns = series.next_returns()[test.end_rows]
    segment = Segment("test", series.symbol, test.dates, test.y[:, 0].astype(np.int64), proba, returns)
    boot = Bootstrap(
        block_size=o.block_size or spec.window + spec.horizon, n_resamples=o.n_resamples, seed=o.seed
    )
    result = classification_result(
        [segment],
        key,
        list(baselines),
        boot,
        label=spec.label_columns()[0],
        cost_bps=o.cost_bps,
        band=o.band,
        not_fittable=unfit,
    )
    test_returns = net_returns(positions_from_proba(proba[key][:, 1], o.band), returns, o.cost_bps)
    return result, test_returns


def tune_document(result: TuneResult, options: TuneOptions) -> dict[str, Any]:
    """The ``tuning`` part of the report document (JSON-ready: undefined figures are null)."""
    held, cv = result.held, result.held.cv
    n, grid = len(result.trials), result.grid_size
    searched = f"{n} of the {grid} grid configurations, drawn at random without replacement"
    searched += f" (seed {options.seed})"
    if n == grid:
        searched = f"all {grid} grid configurations"
    return {
        "trials": len(result.trials),
        "grid_size": result.grid_size,
        "search": searched,
        "models": list(dict.fromkeys(options.models)),
        "metric": result.best.metric,
        "metric_label": METRIC_LABELS[result.best.metric],
        "cv": {
            "kind": cv.kind,
            "n_groups": cv.n_groups,
            "n_test_groups": cv.n_test_groups,
            "splits": len(cv),
            "paths": cv.n_paths,
            "embargo": held.embargo,
            "development_windows": cv.n_samples,
            "development_rows": list(held.development),
            "test_rows": list(held.test) if held.test is not None else None,
            "split_file": None if options.split_file is None else os.fspath(options.split_file),
        },
        "results": [t.to_dict() for t in result.trials],
        "chosen": result.best.number,
        "chosen_label": result.best.candidate.label(),
        "model_key": result.model_key,
        "overfitting": result.stats.to_dict(),
        "outcome": result.verdict.outcome,
        "reasons": list(result.verdict.reasons),
        "rule": "skill only when the test lead over the best baseline is above zero with a reliable "
        "interval for balanced accuracy and MCC, the deflated Sharpe ratio is reliable and at least 0.95, "
        "and the probability of backtest overfitting is reliable and below 0.2",
    }


def write_tune_report(
    out_dir: str | os.PathLike, result: TuneResult, options: TuneOptions, context: dict[str, Any]
) -> list[Path]:
    """Writes ``report.md``, ``report.json`` and the PNG plots (scores, equity, trials), each atomically."""
    from neural_trader.evaluation import report_document, write_report
    from neural_trader.evaluation.plots import plot_trials

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    symbol = next(iter(result.classification.equity))
    title = f"Tuning {', '.join(dict.fromkeys(options.models))} on {symbol}"
    doc = report_document(title, context, result.classification)
    doc["tuning"] = tune_document(result, options)
    doc["readings"] = list(result.verdict.readings)
    doc["verdict"] = result.verdict.sentence
    trials_png = out / "trials.png"
    pbo = result.stats.pbo
    plot_trials(
        trials_png,
        [t.path_scores for t in result.trials],
        chosen=result.best.number - 1,
        metric=METRIC_LABELS[result.best.metric],
        logits=None if pbo is None else pbo.logits,
    )
    return write_report(out, doc, result.classification, extra_figures=[trials_png])
