"""The evaluation report: test windows in, Markdown + JSON + PNG out, ending with one verdict sentence.

Inputs are :class:`Segment` objects (the test windows of one walk-forward fold of one symbol, with the
probabilities of the model and of every baseline) and, for forecasters, :class:`ForecastSegment` objects.
:func:`classification_result` and :func:`forecast_result` compute everything (intervals, leads, verdict,
equity curves); :func:`report_document` turns results into the JSON document, from which
:func:`~neural_trader.evaluation.markdown.render_markdown` writes the Markdown, so both always say the same;
:func:`write_report` writes the files.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from neural_trader.errors import ConfigError
from neural_trader.evaluation.attention import AttentionMap, plot_attention
from neural_trader.evaluation.bootstrap import Interval
from neural_trader.evaluation.classification import (
    Verdict,
    class_metrics,
    score_intervals,
    undefined_on_one_class,
    verdict,
)
from neural_trader.evaluation.equity import EquityCurves, equity_curves
from neural_trader.evaluation.forecast import ForecastScores, score_forecasts
from neural_trader.evaluation.intervals import Bootstrap, interval_dict
from neural_trader.evaluation.markdown import render_markdown
from neural_trader.evaluation.plots import plot_equity, plot_forecast, plot_intervals
from neural_trader.files import write_atomic


@dataclass
class Segment:
    """The test windows of one fold of one symbol, in time order.

    Attributes:
        name: e.g. ``"fold 1"``.
        symbol: the series the windows come from.
        dates: ``(N,)`` window-end dates (decision times).
        y: ``(N,)`` true classes.
        proba: ``{predictor: (N, C) probabilities}``, the model's and every baseline's.
        returns: ``(N,)`` simple return of the bar after each window's end.
    """

    name: str
    symbol: str
    dates: np.ndarray
    y: np.ndarray
    proba: dict[str, np.ndarray]
    returns: np.ndarray


@dataclass
class ForecastSegment:
    """Test windows of a forecaster, values in the target's own units.

    Attributes:
        name, symbol, dates: as in :class:`Segment`.
        history: ``(N, T, O)`` observed values of the targets in each window.
        target: ``(N, H, O)`` true future values.
        forecasts: ``{name: (N, H, O)}``, the model's and the naive forecasts.
    """

    name: str
    symbol: str
    dates: np.ndarray
    history: np.ndarray
    target: np.ndarray
    forecasts: dict[str, np.ndarray]


@dataclass
class ClassificationResult:
    """Everything the classification part of the report shows.

    Attributes:
        model, baselines, label: names.
        boot: the bootstrap settings.
        sections: ``{section: {predictor: {metric: Interval}}}``, each segment then ``"overall"``.
        info: ``{section: {"symbol", "windows", "first", "last", "class_shares", "blocks", "reliable"}}``
            (and ``"up_share"`` for two classes; ``blocks``: effective bootstrap blocks; ``reliable``: enough
            of them for intervals).
        verdict: decided on the overall windows.
        equity: ``{symbol: EquityCurves}`` over that symbol's segments, chained in time.
        boundaries: ``{symbol: first dates of its segments after the first}``.
        other_labels: the results of the model's other direction labels (one per further horizon of a
            multi-horizon model), each scored and decided on its own.
        attention: the model's attention averaged over the test windows (attention models only).
        classes: the class names in index order: ``down, up``; ``down, flat, up``; your values. The
            trading rule is long on the last class, short on the first.
        not_fittable: ``{baseline: why}`` for the baselines asked for that could not be fit (e.g. on
            training windows of one class), which are left out of the tables and the verdict.
    """

    model: str
    baselines: list[str]
    label: str
    boot: Bootstrap
    sections: dict[str, dict[str, dict[str, Interval]]]
    info: dict[str, dict[str, Any]]
    verdict: Verdict
    equity: dict[str, EquityCurves] = field(default_factory=dict)
    boundaries: dict[str, list[np.datetime64]] = field(default_factory=dict)
    other_labels: list[ClassificationResult] = field(default_factory=list)
    attention: AttentionMap | None = None
    classes: list[str] = field(default_factory=lambda: ["down", "up"])
    not_fittable: dict[str, str] = field(default_factory=dict)


def _date(d: Any) -> str:
    return str(np.datetime_as_string(np.datetime64(d, "s"), unit="D"))


def _check_order(segments: list[Any]) -> None:
    by_symbol: dict[str, list[Any]] = {}
    for s in segments:
        by_symbol.setdefault(s.symbol, []).append(s)
    for symbol, segs in by_symbol.items():
        for a, b in zip(segs, segs[1:], strict=False):
            if np.datetime64(b.dates[0]) <= np.datetime64(a.dates[-1]):
                raise ConfigError(
                    f"{symbol}: the test windows of {a.name} ({_date(a.dates[0])} .. {_date(a.dates[-1])}) "
                    f"and {b.name} ({_date(b.dates[0])} .. {_date(b.dates[-1])}) overlap or are out of "
                    "order; give folds in time order with disjoint test periods"
                )


def classification_result(
    segments: list[Segment],
    model: str,
    baselines: list[str],
    boot: Bootstrap,
    *,
    label: str,
    cost_bps: float = 1.0,
    band: float = 0.0,
    progress: bool = False,
    classes: list[str] | None = None,
    not_fittable: dict[str, str] | None = None,
) -> ClassificationResult:
    """Scores with intervals per segment and overall, the verdict, and the equity curves.

    ``classes`` names the classes (default ``down, up``). With more than two, every metric is the
    k-class one (balanced accuracy over k recalls, multi-class MCC, macro one-vs-rest ROC-AUC, Brier over
    k classes) and the equity curve trades the predicted class (long on the last, short on the first).
    On a section whose windows hold one class only, balanced accuracy, MCC and ROC-AUC are undefined
    (``info[section]["one_class"]`` names the class). ``not_fittable``: the baselines asked for that
    could not be fit, and why (reported, not scored).

    Raises:
        ConfigError: no segment, or segments of one symbol whose test periods overlap.
    """
    if not segments:
        raise ConfigError("nothing to evaluate: no test windows")
    _check_order(segments)
    predictors = [model, *baselines]
    sections: dict[str, dict[str, dict[str, Interval]]] = {}
    info: dict[str, dict[str, Any]] = {}
    parts = list(segments)
    if len(segments) > 1:
        parts.append(_concatenate(segments, "overall"))
    names = list(classes) if classes is not None else ["down", "up"]
    for seg in tqdm(parts, desc="bootstrap intervals", unit="section", disable=not progress, leave=False):
        sections[seg.name] = {
            p: undefined_on_one_class(score_intervals(seg.y, seg.proba[p], boot), seg.y) for p in predictors
        }
        info[seg.name] = {
            "symbol": seg.symbol,
            "windows": len(seg.y),
            "first": _date(seg.dates[0]),
            "last": _date(seg.dates[-1]),
            "class_shares": {n: float(np.mean(seg.y == k)) for k, n in enumerate(names)},
            # Effective bootstrap blocks: below boot.min_blocks the section's figures have no interval.
            "blocks": boot.effective_blocks(len(seg.y)),
            "reliable": boot.enough(len(seg.y)),
        }
        if len(names) == 2:
            info[seg.name]["up_share"] = float(np.mean(seg.y == 1))
        if len(np.unique(seg.y)) == 1:
            info[seg.name]["one_class"] = (
                names[int(seg.y[0])] if int(seg.y[0]) < len(names) else str(seg.y[0])
            )
    overall = parts[-1]
    result = ClassificationResult(
        model,
        baselines,
        label,
        boot,
        sections,
        info,
        verdict(overall.y, overall.proba, model, baselines, boot, names),
        classes=names,
        not_fittable=dict(not_fittable or {}),
    )
    for symbol in dict.fromkeys(s.symbol for s in segments):
        segs = [s for s in segments if s.symbol == symbol]
        joined = _concatenate(segs, symbol)
        # Two classes: P(up); more: the class probabilities, traded on the predicted class.
        signal = {p: joined.proba[p][:, 1] if len(names) == 2 else joined.proba[p] for p in predictors}
        result.equity[symbol] = equity_curves(
            signal, joined.returns, joined.dates, cost_bps=cost_bps, band=band
        )
        result.boundaries[symbol] = [np.datetime64(s.dates[0]) for s in segs[1:]]
    return result


def _concatenate(segments: list[Segment], name: str) -> Segment:
    return Segment(
        name=name,
        symbol=segments[0].symbol if len({s.symbol for s in segments}) == 1 else "all",
        dates=np.concatenate([s.dates for s in segments]),
        y=np.concatenate([s.y for s in segments]),
        proba={p: np.concatenate([s.proba[p] for s in segments]) for p in segments[0].proba},
        returns=np.concatenate([s.returns for s in segments]),
    )


@dataclass
class ForecastResult:
    """The forecast part of the report: scores over all test windows and a few examples to plot (and the
    attention averaged over the test windows, for an attention model).

    ``kind`` is ``"forecast"`` (a multi-step forecaster) or ``"regression"`` (a regression label,
    :func:`~neural_trader.evaluation.regression.regression_result`: one value per window, ``horizon``
    bars ahead, with rank correlations in ``scores.ic``).
    """

    model: str
    targets: list[str]
    horizon: int
    season: int
    boot: Bootstrap
    scores: ForecastScores
    info: dict[str, Any]
    examples: ForecastSegment
    attention: AttentionMap | None = None
    kind: str = "forecast"


def forecast_result(
    segments: list[ForecastSegment], model: str, targets: list[str], boot: Bootstrap, *, season: int
) -> ForecastResult:
    """MAE/RMSE of the model and the naive forecasts over every test window, with paired leads."""
    if not segments:
        raise ConfigError("nothing to evaluate: no forecast test windows")
    _check_order(segments)
    target = np.concatenate([s.target for s in segments])
    forecasts = {k: np.concatenate([s.forecasts[k] for s in segments]) for k in segments[0].forecasts}
    scores = score_forecasts(target, forecasts, model, boot, units=", ".join(targets))
    dates = np.concatenate([s.dates for s in segments])
    history = np.concatenate([s.history for s in segments])
    picks = np.linspace(0, len(target) - 1, num=min(3, len(target))).round().astype(int)
    examples = ForecastSegment(
        "examples",
        segments[0].symbol,
        dates[picks],
        history[picks],
        target[picks],
        {k: v[picks] for k, v in forecasts.items()},
    )
    info = {
        "windows": len(target),
        "first": _date(dates[0]),
        "last": _date(dates[-1]),
        "blocks": boot.effective_blocks(len(target)),
        "reliable": boot.enough(len(target)),
    }
    return ForecastResult(model, targets, target.shape[1], season, boot, scores, info, examples)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def report_document(
    title: str,
    context: dict[str, Any],
    classification: ClassificationResult | None = None,
    forecast: ForecastResult | None = None,
    parity: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The JSON document of a report (NaN written as null). ``verdict`` holds the closing sentence: the
    classifier's when there is one, else the forecaster's."""
    doc: dict[str, Any] = {"title": title, "context": context}
    if classification is not None:
        c = classification
        per_class = class_metrics(len(c.classes))
        doc["classification"] = {
            "model": c.model,
            "baselines": c.baselines,
            "label": c.label,
            "classes": c.classes,
            "bootstrap": _boot_dict(c.boot),
            "sections": [
                {
                    "name": name,
                    **c.info[name],
                    "scores": {
                        p: {m: interval_dict(iv) for m, iv in scores.items() if m not in per_class}
                        for p, scores in table.items()
                    },
                    # Per class (precision, F1 of every class), apart from the headline metrics.
                    "class_scores": {
                        p: {m: interval_dict(scores[m]) for m in per_class if m in scores}
                        for p, scores in table.items()
                    },
                }
                for name, table in c.sections.items()
            ],
            "leads": {
                m: {"baseline": base, **interval_dict(iv)} for m, (base, iv) in c.verdict.leads.items()
            },
            "outcome": c.verdict.outcome,
            "sentence": c.verdict.sentence,
            "not_fittable": c.not_fittable,
        }
        if c.other_labels:
            doc["classification"]["other_labels"] = [
                report_document(title, {}, other)["classification"] for other in c.other_labels
            ]
        doc["equity"] = {
            "cost_bps": next(iter(c.equity.values())).cost_bps,
            "band": next(iter(c.equity.values())).band,
            "symbols": {
                symbol: {
                    "first": _date(curves.dates[0]),
                    "last": _date(curves.dates[-1]),
                    "stats": {name: s.to_dict() for name, s in curves.stats.items()},
                }
                for symbol, curves in c.equity.items()
            },
        }
    if forecast is not None:
        f, s = forecast, forecast.scores
        doc["forecast"] = {
            "kind": f.kind,
            "model": f.model,
            "targets": f.targets,
            "horizon": f.horizon,
            "season": f.season,
            "bootstrap": _boot_dict(f.boot),
            **f.info,
            "mae": {k: interval_dict(v) for k, v in s.mae.items()},
            "rmse": {k: interval_dict(v) for k, v in s.rmse.items()},
            "mae_by_step": {k: [float(x) for x in v] for k, v in s.mae_by_step.items()},
            "leads": {m: {"baseline": b, **interval_dict(iv)} for m, (b, iv) in s.leads.items()},
            "outcome": s.outcome,
            "sentence": s.sentence,
        }
        if s.ic:
            doc["forecast"]["ic"] = {k: interval_dict(v) for k, v in s.ic.items()}
    if parity:
        doc["parity"] = parity
    attention, owner = _attention(classification, forecast)
    if attention is not None:
        doc["attention"] = {"model": owner, **attention.to_dict()}
    if classification is not None:
        doc["verdict"] = classification.verdict.sentence
        if classification.other_labels:
            doc["verdict"] = " ".join(
                f"{c.label}: {c.verdict.sentence}" for c in (classification, *classification.other_labels)
            )
    elif forecast is not None:
        doc["verdict"] = forecast.scores.sentence
    return _finite(doc)


def _attention(
    classification: ClassificationResult | None, forecast: ForecastResult | None
) -> tuple[AttentionMap | None, str]:
    """The attention map of the report and the model it belongs to (the classifier's, else the
    forecaster's: in the quickstart only the forecaster has attention)."""
    if classification is not None and classification.attention is not None:
        return classification.attention, classification.model
    if forecast is not None and forecast.attention is not None:
        return forecast.attention, forecast.model
    return None, ""


def _boot_dict(boot: Bootstrap) -> dict[str, Any]:
    return {
        "block_size": boot.block_size,
        "n_resamples": boot.n_resamples,
        "confidence": boot.confidence,
        "seed": boot.seed,
        "min_blocks": boot.min_blocks,
    }


def write_report(
    out_dir: str | os.PathLike,
    doc: dict[str, Any],
    classification: ClassificationResult | None = None,
    forecast: ForecastResult | None = None,
    *,
    extra_figures: list[Path] | tuple[Path, ...] = (),
) -> list[Path]:
    """Writes ``report.md``, ``report.json`` and the plots (``attention.png`` for an attention model) into
    ``out_dir``, each atomically (temporary file, fsync, rename); returns the paths written.
    ``extra_figures``: plots the caller already wrote there, listed in the document's ``figures``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = list(extra_figures)
    if classification is not None:
        c = classification
        path = out / "scores.png"
        # A constant prediction scores balanced accuracy 1/k and MCC 0.
        references = {"balanced_accuracy": 1.0 / len(c.classes), "mcc": 0.0}
        plot_intervals(path, c.sections, references=references)
        written.append(path)
        for other in c.other_labels:
            path = out / f"scores_{_slug(other.label)}.png"
            references = {"balanced_accuracy": 1.0 / len(other.classes), "mcc": 0.0}
            plot_intervals(path, other.sections, references=references)
            written.append(path)
        for symbol, curves in c.equity.items():
            path = out / ("equity.png" if len(c.equity) == 1 else f"equity_{_slug(symbol)}.png")
            title = f"{symbol}: long/flat/short on the predictions, {curves.cost_bps:g} bp per unit traded"
            plot_equity(path, curves.dates, curves.equity, title=title, boundaries=c.boundaries[symbol])
            written.append(path)
    if forecast is not None and forecast.kind == "forecast":
        ex = forecast.examples
        path = out / "forecast.png"
        plot_forecast(
            path,
            ex.history[:, :, 0],
            ex.target[:, :, 0],
            {k: v[:, :, 0] for k, v in ex.forecasts.items()},
            forecast.scores.mae_by_step,
            name=forecast.targets[0],
        )
        written.append(path)
    attention, owner = _attention(classification, forecast)
    if attention is not None:
        path = out / "attention.png"
        plot_attention(path, attention, title=owner)
        written.append(path)
    doc = {**doc, "figures": [p.name for p in written]}
    write_atomic(out / "report.json", json.dumps(doc, indent=2) + "\n")
    write_atomic(out / "report.md", render_markdown(doc))
    return [out / "report.md", out / "report.json", *written]


def report_paths(out_dir: str | os.PathLike, symbols: list[str]) -> list[Path]:
    """Every file :func:`write_report` may write into ``out_dir`` for these symbols, so a command can
    refuse a report folder that would overwrite one of its inputs before it runs.

    Example:
        >>> [p.name for p in report_paths("r", ["goog"])]
        ['report.md', 'report.json', 'scores.png', 'forecast.png', 'equity.png', 'equity_goog.png']
    """
    out = Path(out_dir)
    names = ["report.md", "report.json", "scores.png", "forecast.png", "equity.png"]
    return [out / n for n in names] + [out / f"equity_{_slug(s)}.png" for s in symbols]


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in text).strip("_").lower() or "series"
