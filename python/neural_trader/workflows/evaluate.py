"""``neural-trader evaluate``: trained checkpoints on the test part of the split each was trained with,
next to baselines fit on the same training windows, as a report that ends with a verdict.

Give one checkpoint per walk-forward fold (``train --split folds.json --fold k`` for each ``k``) to get a
walk-forward evaluation: every fold is scored on its own test windows, and "overall" pools them. Test
periods of one symbol must not overlap, so no window is counted twice.

Classifiers of any number of classes are scored as such (two: down/up; triple-barrier: down/flat/up;
your classes); regression heads (forward returns, your real-valued label) against the zero,
training-mean and persistence forecasts (:mod:`neural_trader.evaluation.regression`); forecasters
against persistence, seasonal-naive and training-mean forecasts.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from neural_trader.data import DataSpec, Scaler, Series, Windows, label_matrix, make_windows
from neural_trader.errors import ConfigError, NeuralTraderError
from neural_trader.evaluation import (
    Bootstrap,
    ClassificationResult,
    ForecastResult,
    ForecastSegment,
    Segment,
    classification_result,
    forecast_result,
    mean_forecast,
    persistence,
    regression_result,
    regression_segment,
    seasonal_naive,
)
from neural_trader.evaluation.attention import AttentionMap
from neural_trader.models.baselines import (
    BASELINES,
    Baseline,
    MomentumBaseline,
    RandomForestBaseline,
    XGBoostBaseline,
)
from neural_trader.models.stacking import StackingBaseline
from neural_trader.workflows.build import check_finite_outputs, torch_outputs
from neural_trader.workflows.checkpoints import TrainedModel

DEFAULT_BASELINES: tuple[str, ...] = ("majority", "momentum", "logreg")


@dataclass
class EvaluateOptions:
    """Settings of the evaluation (``block_size`` None: window length + horizon)."""

    cost_bps: float = 1.0
    band: float = 0.0
    n_resamples: int = 1000
    block_size: int | None = None
    seed: int = 0
    baselines: tuple[str, ...] = DEFAULT_BASELINES
    # Season of the seasonal-naive forecast, in bars (5: a trading week of daily bars).
    season: int = 5
    device: str = "cpu"
    progress: bool = True


def momentum_windows(series: Series, windows: Windows, spec: DataSpec) -> np.ndarray:
    """``(N, 1, 1)``: the past move that the ``momentum`` baseline reads, whatever the model's inputs: the
    sum of the one-bar log returns of each window's bars, ``log(c_e / c_{e - window})``."""
    returns = series.features["log_return"].to_numpy(dtype=np.float64)
    total = np.concatenate([[0.0], np.cumsum(returns)])
    end = np.asarray(windows.end_rows)
    return (total[end + 1] - total[end + 1 - spec.window]).reshape(-1, 1, 1)


def baseline_input(name: str, windows: Windows, series: Series, spec: DataSpec) -> np.ndarray:
    """What baseline ``name`` reads of ``windows``: the past move (``momentum``) or the windows."""
    return momentum_windows(series, windows, spec) if name == "momentum" else windows.x


def fit_baselines(
    names: tuple[str, ...],
    train: Windows,
    spec: DataSpec,
    scaler: Scaler | None,
    seed: int = 0,
    *,
    label_index: int = 0,
    series: Series | None = None,
    not_fittable: dict[str, str] | None = None,
) -> dict[str, Baseline]:
    """The named baselines fit on training windows with class labels in ``train.y[:, label_index]`` (any
    number of classes, ordered from "down" to "up").

    With ``series``, ``momentum`` reads the sign of the past move over each window
    (:func:`momentum_windows`, from ``series``' closes, whatever the model's inputs) and maps it to the
    first ("down") or last ("up") class; predict with
    ``model.predict_proba(baseline_input(name, windows, series, spec))``. Without it, ``momentum`` reads
    the windows themselves (:func:`make_baseline`). The others read the windows as the model does
    (``scaler`` is the one they were standardised with); ``rf``, ``xgb`` and ``stack`` draw from ``seed``;
    ``stack`` leaves a gap of ``spec.horizon`` windows before each of its out-of-fold blocks.

    With ``not_fittable`` (a dict), a baseline that cannot be fit on these labels (``logreg`` on training
    windows of one class) is left out of the result and recorded there with the reason.

    Raises:
        ConfigError: an unknown baseline. ValueError: a baseline that cannot be fit, without
            ``not_fittable``.
    """
    y = train.y[:, label_index].astype(np.int64)
    out: dict[str, Baseline] = {}
    for name in names:
        if name == "momentum" and series is not None:
            momentum = MomentumBaseline(0, lookback=1, kind="last", ordered=True)
            out[name] = momentum.fit(momentum_windows(series, train, spec), y)
            continue
        try:
            out[name] = make_baseline(name, spec, scaler, seed).fit(train.x, y)
        except NeuralTraderError:
            raise
        except ValueError:  # scikit-learn's "needs samples of at least 2 classes"
            classes = np.unique(y)
            if not_fittable is None or len(classes) > 1:
                raise
            names_ = spec.class_names()
            only = names_[classes[0]] if classes[0] < len(names_) else str(classes[0])
            not_fittable[name] = f"the training windows hold one class only ({only})"
    return out


def make_baseline(name: str, spec: DataSpec, scaler: Scaler | None, seed: int = 0, **params: Any) -> Baseline:
    """The (unfitted) baseline ``name`` for windows of ``spec``; ``params`` override its settings (e.g.
    ``C`` of ``logreg``, ``lookback`` of ``momentum``), as ``tune`` searches them.

    ``momentum`` sums the window's one-bar log returns (``log_return`` among the inputs; a raw return of 0
    is ``-mean/std`` after scaling) or takes the change of the relative close over the window (candles).

    Raises:
        ConfigError: an unknown baseline, a setting it does not have, or ``momentum`` on inputs without
            ``log_return`` or the candles.
    """
    if name not in BASELINES:
        raise ConfigError(f"unknown baseline {name!r}; choose from {', '.join(BASELINES)}")
    try:
        if name == "momentum":
            return _momentum(spec, scaler, params)
        if name == "rf":
            return RandomForestBaseline(**{"seed": seed, "n_jobs": 1, **params})
        if name == "xgb":
            return XGBoostBaseline(**{"seed": seed, "n_jobs": 1, **params})
        if name == "stack":
            return StackingBaseline(**{"seed": seed, "gap": spec.horizon, **params})
        return BASELINES[name](**params)
    except TypeError as exc:  # a setting the baseline's constructor does not take
        raise ConfigError(f"baseline {name!r} has no setting among {sorted(params)}: {exc}") from None


def _momentum(spec: DataSpec, scaler: Scaler | None, params: dict[str, Any]) -> MomentumBaseline:
    """The windows' momentum: the scaled ``log_return`` column summed, else the relative close's change."""
    columns = spec.input_columns
    if "log_return" in spec.scaled_columns and scaler is not None:
        at = scaler.columns.index("log_return")
        mean, std = scaler.arrays()
        settings = {"lookback": spec.window, "kind": "sum", "zero": -mean[at] / std[at], **params}
        return MomentumBaseline(columns.index("log_return"), **settings)
    if "close" in spec.candle_columns:
        settings = {"lookback": max(1, spec.window - 1), "kind": "change", **params}
        return MomentumBaseline(columns.index("close"), **settings)
    raise ConfigError(
        f"the momentum baseline reads log_return or the candles among the inputs; {spec.describe_inputs()} "
        "has neither"
    )


def _check_same(models: list[TrainedModel]) -> None:
    first = models[0]
    for m in models[1:]:
        if m.name != first.name or m.spec.to_json() != first.spec.to_json():
            raise ConfigError(
                f"{m.path} ({m.name}, {m.spec.to_json()}) and {first.path} ({first.name}, "
                f"{first.spec.to_json()}) are different models: evaluate one kind at a time"
            )


def _test_start(model: TrainedModel) -> str:
    starts = [p["test"][0] for p in model.periods.values() if "test" in p]
    return min(starts) if starts else ""


def evaluate(
    models: list[TrainedModel], series: list[Series], options: EvaluateOptions | None = None
) -> tuple[ClassificationResult | None, ForecastResult | None]:
    """Scores every checkpoint on every symbol's test windows; see the module docstring.

    Returns:
        ``(classification, None)`` for classifiers (``direction``/``trend`` tasks, any number of classes)
        or ``(None, forecast)`` for forecasters and regression heads (``forecast.kind`` tells which).

    Raises:
        ConfigError: checkpoints of different models, overlapping test periods, unknown baselines.
    """
    o = options or EvaluateOptions()
    if not models:
        raise ConfigError("no checkpoint to evaluate")
    _check_same(models)
    # Folds are numbered in time order, whatever order the checkpoints were given in.
    models = sorted(models, key=_test_start)
    spec = models[0].spec
    boot = Bootstrap(
        block_size=o.block_size or spec.window + spec.horizon, n_resamples=o.n_resamples, seed=o.seed
    )
    labels = _direction_heads(spec)
    segments: dict[str, list[Segment]] = {label: [] for label, _, _ in labels}
    fsegments: list[ForecastSegment] = []
    not_fittable: dict[str, dict[str, str]] = {label: {} for label, _, _ in labels}
    attention: list[AttentionMap | None] = []
    jobs = [(k, m, s) for k, m in enumerate(models, 1) for s in series]
    for k, trained, s in tqdm(jobs, desc="evaluate", disable=not o.progress or len(jobs) < 2, leave=False):
        split = trained.split_for(s)
        name = f"fold {k}" if len(models) > 1 else "test"
        if len(series) > 1:
            name = f"{s.symbol} {name}" if len(models) > 1 else s.symbol
        test = make_windows(s, spec, trained.scaler, split.test)
        out = torch_outputs(trained.model, test.x, spec, device=o.device)
        check_finite_outputs(out, trained.path, test.dates, trained.model)
        attention.append(AttentionMap.of(trained.model, test.x, device=o.device))
        if spec.task == "forecast":
            fsegments.append(_forecast_segment(name, s, test, out["forecast"], trained, o.season))
            continue
        if spec.is_regression:
            fsegments.append(_regression_segment(name, s, test, out["value"], trained))
            continue
        train = make_windows(s, spec, trained.scaler, split.train)
        returns = s.next_returns()[test.end_rows]
        for label, column, key in labels:
            unfit: dict[str, str] = {}
            baselines = fit_baselines(
                o.baselines,
                train,
                spec,
                trained.scaler,
                o.seed,
                label_index=column,
                series=s,
                not_fittable=unfit,
            )
            for b, why in unfit.items():
                not_fittable[label].setdefault(b, why if len(jobs) == 1 else f"{name}: {why}")
            proba = {trained.name: out[key]}
            proba |= {b: m.predict_proba(baseline_input(b, test, s, spec)) for b, m in baselines.items()}
            y = test.y[:, column].astype(np.int64)
            segments[label].append(Segment(name, s.symbol, test.dates, y, proba, returns))
    pooled = AttentionMap.pooled(attention)
    if spec.task == "forecast":
        result = forecast_result(fsegments, models[0].name, spec.targets, boot, season=o.season)
        result.attention = pooled
        return None, result
    if spec.is_regression:
        label = spec.label_columns()[0]
        result = regression_result(fsegments, models[0].name, label, spec.horizon, boot)
        result.attention = pooled
        return None, result
    results = [
        classification_result(
            # A baseline not fittable on one segment is left out of every one (the sections compare the
            # same predictors on the same windows).
            [_without(seg, not_fittable[label]) for seg in segments[label]],
            models[0].name,
            [b for b in o.baselines if b not in not_fittable[label]],
            boot,
            label=label,
            cost_bps=o.cost_bps,
            band=o.band,
            progress=o.progress,
            classes=spec.class_names(),
            not_fittable=not_fittable[label],
        )
        for label, _, _ in labels
    ]
    results[0].other_labels = results[1:]
    results[0].attention = pooled
    return results[0], None


def _without(segment: Segment, names: dict[str, str]) -> Segment:
    """``segment`` without the predictions of the baselines ``names``."""
    if not names:
        return segment
    proba = {k: v for k, v in segment.proba.items() if k not in names}
    return dataclasses.replace(segment, proba=proba)


def _direction_heads(spec: DataSpec) -> list[tuple[str, int, str]]:
    """``(label, its column in the label rows, the output key of its probabilities)`` for every class
    label of the spec: one (``proba``) for most models, one per horizon (``proba_{h}``) for a model with a
    head per horizon."""
    columns = spec.label_columns()
    labels = spec.direction_labels()
    if len(labels) <= 1:  # one class label: direction, triple barrier, your classes, one trend horizon
        return [(columns[0], 0, "proba")]
    return [(label, columns.index(label), "proba_" + label.removeprefix("direction_")) for label in labels]


def _regression_segment(
    name: str, s: Series, test: Windows, value: np.ndarray, trained: TrainedModel
) -> ForecastSegment:
    """A regression head's test windows with the naive forecasts; persistence is the label of row
    ``e - horizon``, the latest one known at the close of ``e``."""
    spec = trained.spec
    labels = label_matrix(s, spec, trained.scaler)[:, 0].astype(np.float64)
    known_row = test.end_rows - spec.horizon
    known = np.where(known_row >= 0, labels[np.maximum(known_row, 0)], np.nan)
    assert trained.label_scaler is not None  # read_trained requires it for a regression label
    return regression_segment(
        name,
        s.symbol,
        test.dates,
        test.y[:, 0],
        {trained.name: trained.label_units(value)},
        train_mean=trained.label_scaler.mean[0],
        known=known,
    )


def _forecast_segment(
    name: str, s: Series, test: Windows, forecast: np.ndarray, trained: TrainedModel, season: int
) -> ForecastSegment:
    spec, scaler = trained.spec, trained.scaler
    idx = spec.target_indices()
    mean, std = scaler.arrays()
    at = [scaler.columns.index(t) for t in spec.targets]
    mean, std = mean[at], std[at]
    n, h, o = len(test.x), spec.horizon, len(idx)
    history = test.x[:, :, idx] * std + mean
    target = test.y.reshape(n, h, o) * std + mean
    forecasts = {
        trained.name: forecast * std + mean,
        "persistence": persistence(history, h),
        f"seasonal naive ({season})": seasonal_naive(history, h, min(season, spec.window)),
        "training mean": mean_forecast(mean, n, h),
    }
    return ForecastSegment(name, s.symbol, test.dates, history, target, forecasts)
