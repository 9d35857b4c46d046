"""PNG plots of a report: equity curves, metric intervals, forecast errors and examples.

matplotlib's object API on an Agg canvas (no ``pyplot``): nothing global is touched, no window opens, and
plots can be drawn from any thread on a headless machine.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from neural_trader.evaluation.bootstrap import Interval
from neural_trader.evaluation.classification import LABELS
from neural_trader.files import atomic_path


def _figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Any, path: str | os.PathLike) -> None:
    """Saves the figure as PNG, atomically (an earlier plot survives a full disk)."""
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")


def plot_equity(
    path: str | os.PathLike,
    dates: np.ndarray,
    equity: Mapping[str, np.ndarray],
    *,
    title: str,
    boundaries: Sequence[np.datetime64] = (),
) -> None:
    """Equity curves (log scale) of several strategies over the same dates; dotted lines mark folds."""
    fig = _figure(8.0, 4.2)
    ax = fig.add_subplot(1, 1, 1)
    x = np.asarray(dates, dtype="datetime64[ns]")
    for name, curve in equity.items():
        style = {"color": "black", "linewidth": 1.6} if name == "buy_and_hold" else {"linewidth": 1.1}
        ax.plot(x, curve, label=name.replace("_", " "), **style)
    for b in boundaries:
        ax.axvline(np.datetime64(b, "ns"), color="tab:gray", linestyle=":", linewidth=0.8)
    ax.set_yscale("log")
    ax.axhline(1.0, color="tab:gray", linewidth=0.5)
    ax.set_ylabel("equity (log scale)")
    ax.set_title(title, fontsize="medium")
    ax.legend(fontsize="small", loc="upper left")
    _save(fig, path)


def plot_intervals(
    path: str | os.PathLike,
    table: Mapping[str, Mapping[str, Mapping[str, Interval]]],
    *,
    metrics: Sequence[str] = ("balanced_accuracy", "mcc"),
    references: Mapping[str, float] | None = None,
) -> None:
    """Point estimates and intervals of ``metrics`` for every model in every section of ``table``.

    Args:
        table: ``{section (fold or "overall"): {model: {metric: Interval}}}``.
        references: a vertical line per metric, e.g. ``{"balanced_accuracy": 0.5, "mcc": 0.0}``.
    """
    sections = list(table)
    models = list(next(iter(table.values())))
    fig = _figure(4.0 * len(metrics), 0.9 + 0.28 * len(sections) * (len(models) + 1))
    axes = fig.subplots(1, len(metrics), squeeze=False)[0]
    colors = {m: f"C{i}" for i, m in enumerate(models)}
    for ax, metric in zip(axes, metrics, strict=True):
        y, ticks, labels = 0.0, [], []
        for section in sections:
            for model in models:
                iv = table[section][model][metric]
                if iv.reliable:
                    ax.errorbar(
                        iv.estimate,
                        y,
                        xerr=[[max(iv.estimate - iv.low, 0.0)], [max(iv.high - iv.estimate, 0.0)]],
                        fmt="o",
                        color=colors[model],
                        markersize=4,
                        capsize=2,
                    )
                elif np.isfinite(iv.estimate):
                    # Too few bootstrap blocks: a hollow point, no bar, and the label says so.
                    ax.plot(iv.estimate, y, "o", mfc="none", color=colors[model], markersize=4)
                ticks.append(y)
                labels.append(f"{section}: {model}" + ("" if iv.reliable else " (no interval)"))
                y -= 1.0
            y -= 0.8
        if references and metric in references:
            ax.axvline(references[metric], color="tab:gray", linestyle="--", linewidth=0.8)
        ax.set_yticks(ticks)
        ax.set_yticklabels(labels if ax is axes[0] else [""] * len(labels), fontsize="x-small")
        ax.set_title(f"{LABELS.get(metric, metric)} (95% CI)", fontsize="medium")
    _save(fig, path)


def plot_forecast(
    path: str | os.PathLike,
    history: np.ndarray,
    target: np.ndarray,
    forecasts: Mapping[str, np.ndarray],
    mae_by_step: Mapping[str, np.ndarray],
    *,
    name: str,
) -> None:
    """Left: a few test windows (history, truth, forecasts) of the first target. Right: MAE by step.

    Args:
        history: ``(k, T)`` observed values of the examples.
        target: ``(k, H)`` true future values.
        forecasts: ``{name: (k, H)}``.
        mae_by_step: ``{name: (H,)}`` over all test windows.
        name: the target's name.
    """
    k, t = history.shape
    h = target.shape[1]
    fig = _figure(11.0, 2.6 * k)
    grid = fig.add_gridspec(k, 3)
    for i in range(k):
        ax = fig.add_subplot(grid[i, :2])
        ax.plot(np.arange(-t + 1, 1), history[i], color="black", linewidth=1.0, label="observed")
        ax.plot(np.arange(1, h + 1), target[i], color="black", linestyle="--", label="truth")
        for j, (label, f) in enumerate(forecasts.items()):
            ax.plot(np.arange(1, h + 1), f[i], marker=".", color=f"C{j}", label=label)
        ax.set_ylabel(name, fontsize="small")
        if i == 0:
            ax.legend(fontsize="x-small", ncol=3)
    ax.set_xlabel("bars from the forecast origin")
    ax = fig.add_subplot(grid[:, 2])
    for j, (label, err) in enumerate(mae_by_step.items()):
        ax.plot(np.arange(1, len(err) + 1), err, marker="o", color=f"C{j}", label=label)
    ax.set_xlabel("forecast step")
    ax.set_ylabel("MAE (test windows)")
    ax.legend(fontsize="x-small")
    _save(fig, path)


def plot_trials(
    path: str | os.PathLike,
    path_scores: Sequence[Sequence[float]],
    *,
    chosen: int,
    metric: str,
    logits: np.ndarray | None = None,
) -> None:
    """Left: every trial's validation metric (mean, and the range over backtest paths), the chosen one in
    red. Right: the CSCV logits of the probability of backtest overfitting (left of 0: overfit)."""
    fig = _figure(11.0, 4.0)
    ax = fig.add_subplot(1, 2, 1)
    for k, scores in enumerate(path_scores):
        v = np.asarray(scores, dtype=np.float64)
        v = v[np.isfinite(v)]
        if v.size == 0:
            continue
        color = "tab:red" if k == chosen else "tab:blue"
        ax.plot([k + 1, k + 1], [v.min(), v.max()], color=color, linewidth=1.0, alpha=0.6)
        ax.plot(k + 1, v.mean(), "o", color=color, markersize=4)
    ax.set_xlabel("trial")
    ax.set_ylabel(f"validation {metric} (mean, range over paths)")
    ax.set_title("trials on validation (chosen: red)", fontsize="medium")
    ax = fig.add_subplot(1, 2, 2)
    if logits is not None and len(logits):
        finite = np.asarray(logits, dtype=np.float64)
        finite = finite[np.isfinite(finite)]
        ax.hist(finite, bins=30, color="tab:gray")
        ax.axvline(0.0, color="tab:red", linestyle="--", linewidth=0.8)
        ax.set_xlabel("logit of the chosen trial's out-of-sample rank")
        ax.set_title(f"CSCV: PBO = share left of 0 ({np.mean(finite <= 0):.2f})", fontsize="medium")
    else:
        ax.set_title("CSCV not computed", fontsize="medium")
    _save(fig, path)
