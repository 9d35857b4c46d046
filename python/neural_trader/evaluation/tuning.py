"""The overfitting statistics of a tuned result, and the verdict that weighs them with the test lead.

A search over many configurations finds one that looks good on validation by selection alone. Three
figures say how much of it is real (:mod:`neural_trader.evaluation.overfitting`):

* the **deflated Sharpe ratio** of the chosen configuration's *test* returns, given the number of trials
  and the variance of the trials' validation Sharpe ratios (and the returns' skew and kurtosis);
* the **probability of backtest overfitting** of the search, by CSCV over the trials' validation
  returns (``T`` development bars x ``N`` trials);
* the **spread** of the chosen configuration's validation metric across the backtest paths of CPCV.

**The rule** (:func:`tuned_verdict`): a tuned model shows skill only when (1) its test lead over the best
baseline is above zero with a reliable interval for both balanced accuracy and MCC (the verdict of
:func:`~neural_trader.evaluation.verdict`), (2) the DSR is reliable and at least 0.95, and (3) the PBO is
reliable and below 0.2. Anything else is "no skill" (or "worse", or "too few windows" when the test lead
has no interval). The path spread is reported with its reading but decides nothing: the paths share bars
and training data, so their spread is a lower bound on the uncertainty, not a test.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from neural_trader.evaluation.classification import LABELS, Verdict
from neural_trader.evaluation.intervals import TOO_FEW
from neural_trader.evaluation.overfitting import (
    BacktestOverfitting,
    DeflatedSharpe,
    PathSpread,
    deflated_sharpe_ratio,
    path_spread,
    probability_of_backtest_overfitting,
)

#: The DSR a tuned result needs to count as skill.
DSR_SKILL = 0.95
#: The PBO a search must stay below for its choice to count as skill.
PBO_HOLDS = 0.2
#: CSCV blocks: the paper's 16 when the rows allow blocks of at least as many rows as there are blocks.
MAX_PBO_BLOCKS = 16


@dataclass(frozen=True)
class Overfitting:
    """The three figures, each with ``problems``/``reliable`` and a one-line ``reading``.

    Attributes:
        dsr: deflated Sharpe ratio of the chosen configuration's test returns.
        pbo: probability of backtest overfitting of the search (None when the rows are too few to cut).
        spread: the chosen configuration's validation metric across backtest paths (None if undefined).
    """

    dsr: DeflatedSharpe
    pbo: BacktestOverfitting | None
    spread: PathSpread | None

    def readings(self) -> list[str]:
        """One line per figure, in the order DSR, PBO, path spread."""
        pbo = self.pbo.reading if self.pbo is not None else "PBO not computed: too few development bars"
        spread = self.spread.reading if self.spread is not None else "path spread undefined on every path"
        return [self.dsr.reading, pbo, spread]

    def to_dict(self) -> dict[str, Any]:
        return {
            "dsr": self.dsr.to_dict(),
            "pbo": None if self.pbo is None else self.pbo.to_dict(arrays=False),
            "path_spread": None if self.spread is None else self.spread.to_dict(),
        }


def pbo_blocks(n_rows: int) -> int:
    """CSCV blocks for ``n_rows`` rows: the largest even ``S <= 16`` with ``S * S <= n_rows`` (blocks of at
    least ``S`` rows), and at least 2.

    Example:
        >>> pbo_blocks(4000), pbo_blocks(150), pbo_blocks(10)
        (16, 12, 2)
    """
    s = min(MAX_PBO_BLOCKS, int(math.isqrt(max(n_rows, 0))))
    return max(2, s - s % 2)


def overfitting_statistics(
    test_returns: np.ndarray,
    trial_sharpes: np.ndarray,
    trial_returns: np.ndarray,
    path_scores: np.ndarray,
    *,
    metric: str,
    threshold: float,
    periods_per_year: float | None = None,
    seed: int = 0,
) -> Overfitting:
    """DSR, PBO and path spread of a search.

    Args:
        test_returns: ``(T,)`` per-bar test returns of the chosen configuration.
        trial_sharpes: ``(N,)`` per-bar validation Sharpe ratio of every trial.
        trial_returns: ``(T_dev, N)`` per-bar validation returns of every trial, rows in time order.
        path_scores: the chosen configuration's validation metric on each backtest path.
        metric, threshold: the metric's name and the level the spread counts paths above.
        periods_per_year: to annualise the DSR's reading.
        seed: of CSCV's draw when it samples its choices.
    """
    dsr = deflated_sharpe_ratio(
        test_returns,
        n_trials=len(trial_sharpes),
        trial_sharpes=trial_sharpes if len(trial_sharpes) > 1 else None,
        periods_per_year=periods_per_year,
        confidence=DSR_SKILL,
    )
    n_rows = trial_returns.shape[0]
    blocks = pbo_blocks(n_rows)
    pbo = None
    if n_rows >= 2 * blocks:
        pbo = probability_of_backtest_overfitting(trial_returns, n_blocks=blocks, metric="sharpe", seed=seed)
    values = np.asarray(path_scores, dtype=np.float64)
    values = values[np.isfinite(values)]
    spread = path_spread(values, metric=metric, threshold=threshold) if values.size else None
    return Overfitting(dsr, pbo, spread)


@dataclass(frozen=True)
class TunedVerdict:
    """The answer to "does the tuned model show skill, once the search is accounted for?".

    Attributes:
        outcome: ``"skill"``, ``"no skill"``, ``"worse"`` or ``"too few windows"``.
        sentence: the verdict in one sentence.
        reasons: why a test lead above zero was not enough (empty otherwise).
        readings: the one-line reading of each overfitting figure.
    """

    outcome: str
    sentence: str
    reasons: tuple[str, ...]
    readings: tuple[str, ...]


def tuned_verdict(base: Verdict, stats: Overfitting, *, model: str, n_trials: int) -> TunedVerdict:
    """Applies the rule of the module docstring to the test verdict and the overfitting figures.

    Example:
        >>> v = tuned_verdict(test_verdict, stats, model="tuned logreg", n_trials=20)   # doctest: +SKIP
        >>> v.outcome                                                                   # doctest: +SKIP
        'no skill'
    """
    readings = tuple(stats.readings())
    chosen = f"{model} (the best of {n_trials} trials on validation)"
    dsr = _num(stats.dsr.probability) if stats.dsr.reliable else "unreliable"
    pbo = _num(_pbo(stats)) if stats.pbo is not None and stats.pbo.reliable else "unreliable"
    search = f"{n_trials} trial{'s' if n_trials != 1 else ''}; DSR {dsr}, PBO {pbo}"
    if base.outcome == TOO_FEW:
        return TunedVerdict(TOO_FEW, f"{base.sentence} ({search}.)", (), readings)
    detail = " and ".join(
        f"{LABELS[m]} {iv.estimate:+.3f} [{iv.low:+.3f}, {iv.high:+.3f}] over {b}"
        for m, (b, iv) in base.leads.items()
    )
    if base.outcome != "skill":
        return TunedVerdict(base.outcome, f"{base.sentence} ({search}.)", (), readings)
    reasons = tuple(_reasons(stats, n_trials))
    if reasons:
        sentence = (
            f"{chosen} shows no skill once the search is accounted for: its test lead over the best "
            f"baseline is above zero with 95% confidence ({detail}), but {'; and '.join(reasons)}."
        )
        return TunedVerdict("no skill", sentence, reasons, readings)
    sentence = (
        f"{chosen} shows skill beyond the baselines: its test lead over the best baseline is above zero "
        f"with 95% confidence ({detail}), its deflated Sharpe ratio is {stats.dsr.probability:.2f} "
        f"(at least {DSR_SKILL}) and the probability of backtest overfitting of the search is "
        f"{_pbo(stats):.2f} (below {PBO_HOLDS})."
    )
    return TunedVerdict("skill", sentence, (), readings)


def _reasons(stats: Overfitting, n_trials: int) -> list[str]:
    out = []
    dsr = stats.dsr
    if not dsr.reliable:
        out.append(f"its deflated Sharpe ratio is unreliable ({dsr.problems[0]})")
    elif dsr.probability < DSR_SKILL:
        out.append(
            f"its deflated Sharpe ratio is {dsr.probability:.2f}, below {DSR_SKILL} (its test Sharpe ratio "
            f"could be the luck of {n_trials} trials)"
        )
    pbo = stats.pbo
    if pbo is None:
        out.append("the probability of backtest overfitting could not be computed (too few development bars)")
    elif not pbo.reliable:
        out.append(f"the probability of backtest overfitting is unreliable ({pbo.problems[0]})")
    elif pbo.pbo >= PBO_HOLDS:
        out.append(
            f"the probability of backtest overfitting of the search is {pbo.pbo:.2f}, not below {PBO_HOLDS} "
            "(the configuration chosen on validation often falls to the bottom half out of sample)"
        )
    return out


def _pbo(stats: Overfitting) -> float:
    return math.nan if stats.pbo is None else stats.pbo.pbo


def _num(x: float) -> str:
    return f"{x:.2f}" if math.isfinite(x) else "n/a"
