"""Direction-classification scores with moving-block bootstrap intervals, and the skill verdict.

Every metric is computed for the model and for each baseline on the *same* test windows, and every
bootstrap resample uses the same rows for all of them (same seed, same block layout), so intervals of
different models are comparable and the *lead* of the model over a baseline is a paired statistic:
``metric(model) - metric(baseline)`` on each resample.

The verdict (:func:`verdict`) is decided by those paired intervals only, never by point estimates: the
model shows skill when the lower 95% bound of its lead over the best baseline is above zero for both
balanced accuracy and MCC. Balanced accuracy and MCC are the two metrics that a constant "always up"
prediction cannot inflate (0.5 and 0 by construction); plain accuracy can, so it never decides.

When the test windows hold fewer effective bootstrap blocks than ``boot.min_blocks`` (windows / block size,
see :mod:`~neural_trader.evaluation.bootstrap`), there is no interval to decide by, and the verdict is
``"too few windows"``: never "skill", nor "worse".

**A test set of one class.** Balanced accuracy, MCC and ROC-AUC compare the classes that occurred; with
one class only, a constant prediction of that class scores balanced accuracy 1.0 (not 0.5), MCC 0 and
ROC-AUC nothing. Those figures are *undefined* there (:data:`UNDEFINED_ON_ONE_CLASS`: reported as n/a, see
:func:`undefined_on_one_class`) and the verdict is ``"one class"``: nothing can be concluded.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from neural_trader.errors import ShapeError
from neural_trader.evaluation.bootstrap import Interval
from neural_trader.evaluation.intervals import TOO_FEW, Bootstrap, too_few_sentence
from neural_trader.training.metrics import (
    accuracy,
    balanced_accuracy,
    brier,
    mcc,
    per_class_f1,
    per_class_precision,
    roc_auc,
)

#: Reported metrics, in table order.
METRICS: tuple[str, ...] = ("accuracy", "balanced_accuracy", "mcc", "roc_auc", "brier")
#: Per-class metrics of two classes (class 0 = down, 1 = up), reported in a second table: precision (of
#: the windows called "up", the share that went up) and F1. 0 for a class a predictor never calls
#: (scikit-learn's). ``k`` classes have ``precision_0 .. precision_{k-1}``, ``f1_0 ..``
#: (:func:`class_metrics`).
CLASS_METRICS: tuple[str, ...] = ("precision_0", "precision_1", "f1_0", "f1_1")
#: Whether a larger value is better (Brier is an error).
HIGHER_IS_BETTER: dict[str, bool] = {m: m != "brier" for m in (*METRICS, *CLASS_METRICS)}
#: Metrics that compare classes, undefined on test windows of one class only.
UNDEFINED_ON_ONE_CLASS: tuple[str, ...] = ("balanced_accuracy", "mcc", "roc_auc")
#: The verdict's outcome on test windows of one class, and when no baseline could be fit.
ONE_CLASS, NO_BASELINE = "one class", "no baseline"
#: Metrics whose paired lead decides the verdict.
VERDICT_METRICS: tuple[str, ...] = ("balanced_accuracy", "mcc")
LABELS = {
    "accuracy": "accuracy",
    "balanced_accuracy": "balanced accuracy",
    "mcc": "MCC",
    "roc_auc": "ROC-AUC",
    "brier": "Brier",
    "precision_0": "precision (down)",
    "precision_1": "precision (up)",
    "f1_0": "F1 (down)",
    "f1_1": "F1 (up)",
}

_SCORES: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "accuracy": lambda y, p: accuracy(y, p.argmax(axis=1)),
    "balanced_accuracy": lambda y, p: balanced_accuracy(y, p.argmax(axis=1)),
    "mcc": lambda y, p: mcc(y, p.argmax(axis=1)),
    "roc_auc": roc_auc,
    "brier": brier,
}


def class_metrics(num_classes: int) -> tuple[str, ...]:
    """The per-class metric names of ``num_classes`` classes: every class's precision, then its F1.

    Example:
        >>> class_metrics(2) == CLASS_METRICS
        True
        >>> class_metrics(3)
        ('precision_0', 'precision_1', 'precision_2', 'f1_0', 'f1_1', 'f1_2')
    """
    k = range(num_classes)
    return (*(f"precision_{i}" for i in k), *(f"f1_{i}" for i in k))


def class_metric_label(metric: str, classes: list[str]) -> str:
    """The table heading of a per-class metric, by the class's name: ``precision (flat)``.

    Example:
        >>> class_metric_label("f1_2", ["down", "flat", "up"])
        'F1 (up)'
    """
    kind, index = metric.rsplit("_", 1)
    return f"{'precision' if kind == 'precision' else 'F1'} ({classes[int(index)]})"


def _scores(num_classes: int) -> dict[str, Callable[[np.ndarray, np.ndarray], float]]:
    """:data:`METRICS` and the per-class metrics of ``num_classes`` classes."""
    out = dict(_SCORES)
    for k in range(num_classes):
        out[f"precision_{k}"] = lambda y, p, k=k: per_class_precision(y, p.argmax(axis=1), p.shape[1])[k]
    for k in range(num_classes):
        out[f"f1_{k}"] = lambda y, p, k=k: per_class_f1(y, p.argmax(axis=1), p.shape[1])[k]
    return out


def score(y: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    """Point values of :data:`METRICS` and the per-class metrics (:func:`class_metrics` of the ``C``
    classes) for labels ``(N,)`` and class probabilities ``(N, C)``.

    Example:
        >>> s = score(np.array([0, 1, 1]), np.array([[0.8, 0.2], [0.4, 0.6], [0.6, 0.4]]))
        >>> round(s["accuracy"], 3), s["balanced_accuracy"]
        (0.667, 0.75)
    """
    y, p = _check(y, proba)
    return {name: float(fn(y, p)) for name, fn in _scores(p.shape[1]).items()}


def score_intervals(y: np.ndarray, proba: np.ndarray, boot: Bootstrap) -> dict[str, Interval]:
    """Every metric of :data:`METRICS` and the per-class metrics (:func:`class_metrics` of the ``C``
    classes) with its bootstrap interval."""
    y, p = _check(y, proba)
    return {name: boot.interval(fn, y, p) for name, fn in _scores(p.shape[1]).items()}


def undefined_on_one_class(scores: dict[str, Interval], y: np.ndarray) -> dict[str, Interval]:
    """``scores`` with :data:`UNDEFINED_ON_ONE_CLASS` made undefined (NaN, no interval) when the labels
    ``y`` hold one class only; unchanged otherwise.

    Example:
        >>> iv = Interval(1.0, 1.0, 1.0, 0.95)
        >>> undefined_on_one_class({"balanced_accuracy": iv}, np.zeros(9))["balanced_accuracy"].estimate
        nan
    """
    if len(np.unique(y)) > 1:
        return scores
    out = dict(scores)
    for metric in UNDEFINED_ON_ONE_CLASS:
        if metric in out:
            iv = out[metric]
            why = ("undefined: the test windows hold one class only",)
            out[metric] = Interval(math.nan, math.nan, math.nan, iv.confidence, iv.blocks, why)
    return out


def lead(metric: str, y: np.ndarray, model: np.ndarray, baseline: np.ndarray, boot: Bootstrap) -> Interval:
    """Paired interval of ``metric(model) - metric(baseline)`` (positive: the model is better, for every
    metric where higher is better; for Brier the sign is flipped so that positive still means better).

    Example:
        >>> y = np.array([0, 1] * 50); good = np.eye(2)[y]; bad = np.full((100, 2), 0.5)
        >>> lead("mcc", y, good, bad, Bootstrap(block_size=5)).low > 0.9
        True
    """
    y, a = _check(y, model)
    _, b = _check(y, baseline)
    fn = _scores(a.shape[1])[metric]
    sign = 1.0 if HIGHER_IS_BETTER.get(metric, True) else -1.0
    return boot.interval(lambda yy, pa, pb: sign * (fn(yy, pa) - fn(yy, pb)), y, a, b)


def best_baseline(scores: Mapping[str, Mapping[str, float]], metric: str) -> str:
    """Name of the baseline with the best point value of ``metric`` (ties: the first in order).

    Args:
        scores: ``{baseline name: {metric: value}}`` (values may be NaN, which never wins).
    """
    sign = 1.0 if HIGHER_IS_BETTER.get(metric, True) else -1.0
    ranked = [(sign * v[metric], name) for name, v in scores.items() if np.isfinite(v[metric])]
    if not ranked:
        return next(iter(scores))
    best = max(v for v, _ in ranked)
    return next(name for v, name in ranked if v == best)


@dataclass(frozen=True)
class Verdict:
    """The answer to "does the model show skill beyond the baselines?".

    Attributes:
        outcome: ``"skill"`` (every lead's lower bound > 0), ``"worse"`` (some lead's upper bound < 0),
            ``"no skill"`` (otherwise: an interval includes zero), ``"too few windows"`` (the windows
            hold too few bootstrap blocks for an interval), ``"one class"`` (the test windows hold one
            class only: the measures are undefined) or ``"no baseline"`` (none could be fit): in the last
            three nothing can be concluded.
        leads: ``{metric: (best baseline, paired interval of the model's lead)}``.
        sentence: the verdict in one plain sentence.
    """

    outcome: str
    leads: dict[str, tuple[str, Interval]]
    sentence: str


def verdict(
    y: np.ndarray,
    probas: Mapping[str, np.ndarray],
    model: str,
    baselines: list[str],
    boot: Bootstrap,
    classes: list[str] | None = None,
) -> Verdict:
    """Decides skill from paired intervals of the model's lead over the best baseline per metric.

    Args:
        y: labels of every test window (all folds, in time order).
        probas: ``{name: (N, C) probabilities}`` for the model and every baseline.
        model: the model's key in ``probas``.
        baselines: the baselines' keys.
        boot: bootstrap settings.
        classes: the class names, for the sentence (default: the class indices).

    Example:
        >>> y = np.array([0, 1] * 100); probas = {"m": np.eye(2)[y], "majority": np.full((200, 2), 0.5)}
        >>> verdict(y, probas, "m", ["majority"], Bootstrap(block_size=4)).outcome
        'skill'
    """
    if not baselines or len(np.unique(y)) < 2:
        return _no_verdict(y, model, baselines, boot, classes)
    point = {name: score(y, probas[name]) for name in baselines}
    leads = {}
    for metric in VERDICT_METRICS:
        best = best_baseline(point, metric)
        leads[metric] = (best, lead(metric, y, probas[model], probas[best], boot))
    lows = [iv.low for _, iv in leads.values()]
    highs = [iv.high for _, iv in leads.values()]
    if not all(iv.reliable for _, iv in leads.values()):
        sentence = too_few_sentence(f"{model} shows skill", len(y), boot, _point_detail(leads))
        return Verdict(TOO_FEW, leads, sentence)
    if all(np.isfinite(lows)) and min(lows) > 0:
        outcome = "skill"
    elif any(np.isfinite(h) and h < 0 for h in highs):
        outcome = "worse"
    else:
        outcome = "no skill"
    return Verdict(outcome, leads, _sentence(outcome, model, leads, boot.confidence))


def _no_verdict(
    y: np.ndarray, model: str, baselines: list[str], boot: Bootstrap, classes: list[str] | None
) -> Verdict:
    """The verdict when none can be drawn: no fitted baseline, or test windows of one class."""
    undefined = Interval(math.nan, math.nan, math.nan, boot.confidence, problems=("no verdict",))
    leads = {m: (baselines[0] if baselines else "none", undefined) for m in VERDICT_METRICS}
    if not baselines:
        sentence = (
            f"No verdict: no baseline could be fit on the training windows, so there is nothing to compare "
            f"{model} with."
        )
        return Verdict(NO_BASELINE, leads, sentence)
    only = classes[int(y[0])] if classes and int(y[0]) < len(classes) else f"class {int(y[0])}"
    sentence = (
        f"No verdict: the {len(y)} test windows hold one class only ({only}), where balanced "
        f"accuracy, MCC and ROC-AUC are undefined (a constant prediction of that class would score "
        f"balanced accuracy 1.0): nothing can be concluded about {model}'s skill."
    )
    return Verdict(ONE_CLASS, leads, sentence)


def _sentence(outcome: str, model: str, leads: dict[str, tuple[str, Interval]], confidence: float) -> str:
    parts = [
        f"{LABELS[m]} {iv.estimate:+.3f} [{iv.low:+.3f}, {iv.high:+.3f}] over {base}"
        for m, (base, iv) in leads.items()
    ]
    detail = " and ".join(parts)
    pct = f"{100 * confidence:.0f}%"
    if outcome == "skill":
        return (
            f"{model} shows skill beyond the baselines: its lead over the best baseline is above zero with "
            f"{pct} confidence for both measures ({detail})."
        )
    if outcome == "worse":
        return (
            f"{model} does worse than the best baseline: at least one {pct} interval of its lead lies "
            f"below zero ({detail})."
        )
    return (
        f"{model} shows no skill beyond the baselines: the {pct} interval of its lead over the best "
        f"baseline includes zero ({detail})."
    )


def _point_detail(leads: dict[str, tuple[str, Interval]]) -> str:
    return " and ".join(f"{LABELS[m]} {iv.estimate:+.3f} over {base}" for m, (base, iv) in leads.items())


def _check(y: np.ndarray, proba: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y)
    p = np.asarray(proba, dtype=np.float64)
    if y.ndim != 1 or p.ndim != 2 or len(y) != len(p) or len(y) == 0:
        raise ShapeError(f"need labels (N,) and probabilities (N, C), got {y.shape} and {p.shape}")
    return y.astype(np.int64), p
