"""The trials of ``tune`` on the development windows: every configuration trained on every split of the
purged cross-validation and scored on that split's test groups (its validation windows), never on the
held-out test rows.

For each split the scaler is fit on the rows its training windows read (and nothing else), the windows
are standardised with it, and every configuration is fit on the training windows and predicts the test
groups. The predictions are assembled into the backtest paths of
:meth:`~neural_trader.data.cv.PurgedCV.path_values` (one path for purged k-fold), and each path is traded
with the rule of :mod:`neural_trader.evaluation.equity` (long when P(up) > 0.5 + band, short below
0.5 - band, costs per unit traded): a trial keeps its validation metric per split and per path, the
per-bar Sharpe ratio of each path, and its per-bar validation returns (averaged over the paths), the
column of the performance matrix of the probability of backtest overfitting.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from neural_trader.data import DataSpec, Scaler, Series, label_matrix, make_windows
from neural_trader.data.cv import PurgedSplit
from neural_trader.evaluation import net_returns, positions_from_proba, score
from neural_trader.evaluation.overfitting import sharpe_ratio
from neural_trader.workflows.cv_splits import HeldOutCV
from neural_trader.workflows.tune_space import Candidate

#: Validation metrics a search may select by (higher is better for each), with their names in words.
METRIC_LABELS: dict[str, str] = {
    "sharpe": "Sharpe ratio per bar",
    "balanced_accuracy": "balanced accuracy",
    "mcc": "MCC",
}
SELECTION_METRICS: tuple[str, ...] = tuple(METRIC_LABELS)


@dataclass
class Development:
    """The development windows of one series: what every trial trains and is validated on.

    Attributes:
        series, spec, held: the series, the windows' spec, the splits and held-out rows.
        t0, t1: the samples' label spans (window end rows, label end rows).
        y: ``(n, L)`` label rows of the samples. returns: ``(n,)`` the simple return of the bar after each
            sample's end (what a position taken at its close earns).
    """

    series: Series
    spec: DataSpec
    held: HeldOutCV
    t0: np.ndarray = field(init=False)
    t1: np.ndarray = field(init=False)
    y: np.ndarray = field(init=False)
    returns: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.t0, self.t1 = self.held.spans(self.series, self.spec)
        self.returns = self.series.next_returns()[self.t0]
        self.y = label_matrix(self.series, self.spec, None)[self.t0]

    def scaler_for(self, split: PurgedSplit | None) -> Scaler | None:
        """Scaler of the rows the training windows of ``split`` read (all development windows: None)."""
        if self.spec.inputs != "features":
            return None
        return self._row_scaler(split)

    def inputs(self, scaler: Scaler | None) -> np.ndarray:
        """``(n, window, F)`` inputs of every sample, standardised by ``scaler``."""
        return self._windows(scaler).x

    def _row_scaler(self, split: PurgedSplit | None) -> Scaler:
        w, rows = self.spec.window, np.zeros(self.series.n_rows, dtype=bool)
        runs = [(0, len(self.t0))] if split is None else split.train_runs.tolist()
        for a, b in runs:
            rows[int(self.t0[a]) - w + 1 : int(self.t0[b - 1]) + 1] = True
        values = self.series.features.to_numpy(dtype=np.float64)[rows]
        return Scaler.fit(values, columns=self.spec.input_columns)

    def _windows(self, scaler: Scaler | None) -> Any:
        windows = make_windows(self.series, self.spec, scaler, self.held.development)
        pos = np.searchsorted(windows.end_rows, self.t0)
        windows.x, windows.y = windows.x[pos], windows.y[pos]
        return windows


@dataclass
class TrialResult:
    """One configuration's validation record.

    Attributes:
        number: trial number, from 1. candidate: the configuration.
        metric: the selection metric's name.
        split_scores: the metric on each split's test groups (one per fold for purged k-fold).
        path_scores: the metric on each backtest path.
        path_sharpes: per-bar Sharpe ratio of each path's strategy returns (0 for a path that never
            varies).
        returns: ``(n,)`` per-bar validation returns, averaged over the paths.
    """

    number: int
    candidate: Candidate
    metric: str
    split_scores: list[float]
    path_scores: list[float]
    path_sharpes: list[float]
    returns: np.ndarray

    @property
    def score(self) -> float:
        """Mean validation metric over the paths (NaN paths left out; -inf if none is defined)."""
        finite = [v for v in self.path_scores if math.isfinite(v)]
        return float(np.mean(finite)) if finite else -math.inf

    @property
    def sharpe(self) -> float:
        """Per-bar validation Sharpe ratio, the mean over the paths."""
        return float(np.mean(self.path_sharpes))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready record (without the returns)."""
        clean = lambda v: v if math.isfinite(v) else None  # noqa: E731
        return {
            "trial": self.number,
            "model": self.candidate.model,
            "params": self.candidate.params,
            "score": clean(self.score),
            "split_scores": [clean(v) for v in self.split_scores],
            "path_scores": [clean(v) for v in self.path_scores],
            "sharpe": clean(self.sharpe),
            "path_sharpes": [clean(v) for v in self.path_sharpes],
        }


def cross_validate(
    candidates: list[Candidate],
    dev: Development,
    *,
    metric: str = "sharpe",
    cost_bps: float = 1.0,
    band: float = 0.0,
    seed: int = 0,
    device: str = "cpu",
    progress: bool = False,
) -> list[TrialResult]:
    """Every candidate on every split: fit on the split's training windows, predict its test groups.

    Splits are the outer loop, so each split's scaler and windows are made once for all candidates.
    """
    cv = dev.held.cv
    probas: list[list[np.ndarray]] = [[] for _ in candidates]
    bar = tqdm(total=len(cv) * len(candidates), desc="trials x splits", disable=not progress, leave=False)
    for split in cv.splits:
        scaler = dev.scaler_for(split)
        x = dev.inputs(scaler)
        train, test = split.train, split.test
        for j, candidate in enumerate(candidates):
            proba = candidate.fit_predict(
                dev.spec, scaler, (x[train], dev.y[train]), x[test], seed=seed, device=device
            )
            probas[j].append(np.asarray(proba, dtype=np.float64))
            bar.update(1)
    bar.close()
    return [
        _result(k, candidate, probas[k - 1], dev, metric, cost_bps, band)
        for k, candidate in enumerate(candidates, 1)
    ]


def _result(
    number: int,
    candidate: Candidate,
    per_split: list[np.ndarray],
    dev: Development,
    metric: str,
    cost_bps: float,
    band: float,
) -> TrialResult:
    cv, labels = dev.held.cv, dev.y[:, 0].astype(np.int64)
    split_scores = []
    for split, proba in zip(cv.splits, per_split, strict=True):
        test = split.test
        r = net_returns(positions_from_proba(proba[:, 1], band), dev.returns[test], cost_bps)
        split_scores.append(_score(metric, labels[test], proba, r))
    path_scores, path_sharpes, path_returns = [], [], []
    for proba in cv.path_values(per_split):
        r = net_returns(positions_from_proba(proba[:, 1], band), dev.returns, cost_bps)
        path_scores.append(_score(metric, labels, proba, r))
        path_sharpes.append(_sharpe(r))
        path_returns.append(r)
    returns = np.mean(path_returns, axis=0)
    return TrialResult(number, candidate, metric, split_scores, path_scores, path_sharpes, returns)


def _score(metric: str, y: np.ndarray, proba: np.ndarray, returns: np.ndarray) -> float:
    if metric == "sharpe":
        return _sharpe(returns)
    return float(score(y, proba)[metric])


def _sharpe(returns: np.ndarray) -> float:
    """Per-bar Sharpe ratio; 0 for returns without variance (a strategy that never trades)."""
    sr = sharpe_ratio(returns)
    return sr if math.isfinite(sr) else 0.0
