"""The probability of backtest overfitting (PBO) by combinatorially symmetric cross-validation (CSCV).

Bailey, Borwein, Lopez de Prado & Zhu, "The Probability of Backtest Overfitting" (2017). ``performance``
is a ``(T, N)`` matrix: ``T`` periods (rows, in time order) of returns or scores of ``N`` trials (the
configurations a search tried). The rows are cut into ``S`` contiguous blocks; each choice of ``S/2``
blocks is an in-sample set ``J`` and the other half its out-of-sample complement ``Jc``. For each:

1. evaluate every trial on ``J`` (Sharpe ratio or mean) and pick the best, ``n*``;
2. rank ``n*`` among all trials on ``Jc``: relative rank ``w = rank / (N + 1)`` in ``(0, 1)``;
3. take the logit ``lambda = ln(w / (1 - w))``: positive when ``n*`` is above the median out of sample.

``PBO`` is the share of choices with ``lambda <= 0``: how often the in-sample winner is at or below the
median out of sample. Pure noise gives about 0.5 whatever the winner looked like in sample; a real edge
gives PBO near 0. The regression of the winner's out-of-sample on its in-sample performance (the
"degradation" slope, negative for noise) and the share of choices where the winner loses out of sample
(the "probability of loss") complete the picture.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from neural_trader.errors import ConfigError, DataError, ShapeError

# C(16, 8): the paper's S = 16. Beyond it, as many choices are drawn at random (seeded), so the work
# stays bounded; MAX_BLOCKS keeps C(S, S/2) within int64 for the draw.
MAX_COMBINATIONS = 12_870
MAX_BLOCKS = 32
OVERFIT_AT = 0.5  # PBO at or above: the selection does no better than a random pick
HOLDS_BELOW = 0.2  # PBO below: the in-sample choice holds out of sample
_CHUNK_CELLS = 1 << 21  # (choices, trials) cells evaluated together: bounds memory for many trials

Metric = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True, eq=False)
class BacktestOverfitting:
    """The CSCV estimate of the probability of backtest overfitting.

    Attributes:
        pbo: share of in-sample/out-of-sample choices where the in-sample best trial is at or below the
            median out of sample.
        logits: ``(C,)`` logit of the winner's relative out-of-sample rank, one per choice.
        in_sample: ``(C,)`` the winner's in-sample performance.
        out_of_sample: ``(C,)`` the same trial's out-of-sample performance.
        degradation_slope, degradation_intercept: least-squares fit ``out_of_sample ~ in_sample``;
            a negative slope means a higher in-sample figure predicts a lower out-of-sample one.
        probability_of_loss: share of choices where the winner's out-of-sample performance is < 0.
        n_combinations: choices evaluated; ``n_combinations_total``: ``C(S, S/2)``; ``sampled``: True
            when the choices were a seeded random subset of the total.
        n_blocks, n_rows, n_trials: ``S``, ``T`` and ``N``.
        metric: the metric's name.
        assessment: ``"overfit"`` (PBO >= 0.5), ``"inconclusive"``, ``"holds"`` (PBO < 0.2) or
            ``"unreliable"`` (see ``problems``).
        problems: why the figure cannot be trusted; empty when it can.
        reading: one line for the report.
    """

    pbo: float
    logits: np.ndarray
    in_sample: np.ndarray
    out_of_sample: np.ndarray
    degradation_slope: float
    degradation_intercept: float
    probability_of_loss: float
    n_combinations: int
    n_combinations_total: int
    sampled: bool
    n_blocks: int
    n_rows: int
    n_trials: int
    metric: str
    assessment: str
    problems: tuple[str, ...]
    reading: str

    @property
    def reliable(self) -> bool:
        return not self.problems

    def to_dict(self, *, arrays: bool = True) -> dict[str, object]:
        """JSON-ready fields (NaN and infinities as None); ``arrays=False`` leaves out the per-choice
        arrays (``logits``, ``in_sample``, ``out_of_sample``)."""
        out: dict[str, object] = {}
        for key, value in self.__dict__.items():
            if isinstance(value, np.ndarray):
                if arrays:
                    out[key] = [_json_float(float(v)) for v in value]
            else:
                out[key] = _json_float(value)
        out["problems"] = list(self.problems)
        out["reliable"] = self.reliable
        return out


def probability_of_backtest_overfitting(
    performance: np.ndarray,
    n_blocks: int = 16,
    metric: str | Metric = "sharpe",
    *,
    seed: int = 0,
) -> BacktestOverfitting:
    """PBO of selecting the best of ``N`` trials, by CSCV (see the module docstring).

    Args:
        performance: ``(T, N)`` per-period returns or scores, rows in time order, one column per trial.
        n_blocks: ``S``, an even number of contiguous row blocks, ``2 <= S <= 32``; rows are shared as
            evenly as possible (block sizes differ by at most one row; no row is dropped).
        metric: ``"sharpe"`` (mean / std of the rows, a flat trial scores 0), ``"mean"``, or a function
            of a ``(rows, N)`` matrix returning ``(N,)`` finite scores (higher is better).
        seed: seed of the draw of choices when ``C(S, S/2)`` exceeds ``MAX_COMBINATIONS``.

    Raises:
        ShapeError: ``performance`` not 2-D, or a metric function returning another shape.
        DataError: NaN/Inf in ``performance`` or from the metric, or fewer than 2 rows per block.
        ConfigError: an odd, too small or too large ``n_blocks``, or an unknown metric.

    Example:
        >>> noise = np.random.default_rng(0).normal(0, 0.01, (800, 40))
        >>> r = probability_of_backtest_overfitting(noise, n_blocks=8)
        >>> r.n_combinations, r.assessment
        (70, 'overfit')
    """
    x = _performance(performance)
    n_rows, n_trials = x.shape
    if isinstance(n_blocks, bool) or not isinstance(n_blocks, (int, np.integer)):
        raise ConfigError(f"n_blocks must be an even integer in [2, {MAX_BLOCKS}], got {n_blocks!r}")
    if not (2 <= n_blocks <= MAX_BLOCKS and n_blocks % 2 == 0):
        raise ConfigError(f"n_blocks must be an even integer in [2, {MAX_BLOCKS}], got {n_blocks}")
    if n_rows < 2 * n_blocks:
        raise DataError(f"{n_rows} rows are too few for {n_blocks} blocks of at least 2 rows")
    bounds = [(int(b[0]), int(b[-1]) + 1) for b in np.array_split(np.arange(n_rows), n_blocks)]
    name, evaluate = _metric(metric, x, bounds)
    choices, total = _choices(int(n_blocks), seed)
    chosen_is, chosen_oos, logits = [], [], []
    chunk = max(1, _CHUNK_CELLS // n_trials)
    for lo in range(0, len(choices), chunk):
        member = np.zeros((len(choices[lo : lo + chunk]), n_blocks), dtype=bool)
        for row, choice in enumerate(choices[lo : lo + chunk]):
            member[row, list(choice)] = True
        ins, outs = evaluate(member)
        best = np.argmax(ins, axis=1)  # the first of tied winners
        rows = np.arange(len(member))
        win_is, win_oos = ins[rows, best], outs[rows, best]
        # Average rank (1..N) of the winner out of sample, ties sharing their ranks.
        below = (outs < win_oos[:, None]).sum(axis=1)
        tied = (outs == win_oos[:, None]).sum(axis=1)
        w = (below + (tied + 1) / 2) / (n_trials + 1)
        chosen_is.append(win_is)
        chosen_oos.append(win_oos)
        logits.append(np.log(w / (1 - w)))
    lam, ins_all, oos_all = (np.concatenate(a) for a in (logits, chosen_is, chosen_oos))
    pbo = float(np.mean(lam <= 0))
    slope, intercept = _fit(ins_all, oos_all)
    problems = []
    if n_trials < 2:
        problems.append("one trial only: nothing was selected, so nothing could be overfit")
    smallest = min(b - a for a, b in bounds)
    if smallest < n_blocks:
        problems.append(
            f"blocks of {smallest} rows are too short (at least {n_blocks} rows per block for "
            f"{n_blocks} blocks, {n_blocks * n_blocks} rows in all)"
        )
    if problems:
        assessment = "unreliable"
    else:
        assessment = "overfit" if pbo >= OVERFIT_AT else "holds" if pbo < HOLDS_BELOW else "inconclusive"
    return BacktestOverfitting(
        pbo=pbo,
        logits=lam,
        in_sample=ins_all,
        out_of_sample=oos_all,
        degradation_slope=slope,
        degradation_intercept=intercept,
        probability_of_loss=float(np.mean(oos_all < 0)),
        n_combinations=len(choices),
        n_combinations_total=total,
        sampled=len(choices) < total,
        n_blocks=int(n_blocks),
        n_rows=n_rows,
        n_trials=n_trials,
        metric=name,
        assessment=assessment,
        problems=tuple(problems),
        reading=_reading(assessment, pbo, len(choices), int(n_blocks), n_trials, problems),
    )


def _performance(performance: np.ndarray) -> np.ndarray:
    try:
        x = np.asarray(performance, dtype=np.float64)
    except (ValueError, TypeError) as exc:
        raise DataError(f"performance must be numbers: {exc}") from None
    if x.ndim != 2 or x.shape[1] < 1:
        raise ShapeError(f"performance must be (T periods, N trials), got shape {x.shape}")
    bad = ~np.isfinite(x)
    if bad.any():
        t, j = (int(v) for v in np.argwhere(bad)[0])
        raise DataError(f"performance[{t}, {j}] is {x[t, j]}: every return or score must be finite")
    return x


def _choices(n_blocks: int, seed: int) -> tuple[list[tuple[int, ...]], int]:
    """The in-sample block choices (lexicographic order), all or a seeded sample of them, and their total."""
    half = n_blocks // 2
    total = math.comb(n_blocks, half)
    if total <= MAX_COMBINATIONS:
        return list(combinations(range(n_blocks), half)), total
    ranks = np.sort(np.random.default_rng(seed).choice(total, MAX_COMBINATIONS, replace=False))
    return [_unrank(int(r), n_blocks, half) for r in ranks], total


def _unrank(rank: int, n: int, k: int) -> tuple[int, ...]:
    """The ``rank``-th ``k``-subset of ``range(n)`` in lexicographic order."""
    out, x = [], 0
    while k:
        c = math.comb(n - x - 1, k - 1)  # subsets that take x as their next element
        if rank < c:
            out.append(x)
            k -= 1
        else:
            rank -= c
        x += 1
    return tuple(out)


def _metric(metric: str | Metric, x: np.ndarray, bounds: list[tuple[int, int]]) -> tuple[str, Callable]:
    """``(name, evaluate)``; ``evaluate(member)`` gives the in- and out-of-sample ``(C, N)`` scores of
    the choices whose in-sample blocks are the True entries of the ``(C, S)`` matrix ``member``."""
    if callable(metric):
        return getattr(metric, "__name__", "custom"), lambda member: _by_function(metric, x, member, bounds)
    if metric not in ("sharpe", "mean"):
        raise ConfigError(f"metric must be 'sharpe', 'mean' or a function, got {metric!r}")
    # Sums per block of deviations from each trial's mean: the halves' moments come from two small
    # matrix products, and centring keeps the variance free of cancellation.
    centre = x.mean(axis=0)
    d = x - centre
    scale = np.abs(d).max(axis=0)
    starts = [a for a, _ in bounds]
    sums, squares = np.add.reduceat(d, starts, axis=0), np.add.reduceat(d * d, starts, axis=0)
    counts = np.array([b - a for a, b in bounds], dtype=np.float64)

    def evaluate(member: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ins = _half(member, sums, squares, counts, centre, scale, metric)
        return ins, _half(~member, sums, squares, counts, centre, scale, metric)

    return metric, evaluate


def _half(member, sums, squares, counts, centre, scale, metric) -> np.ndarray:
    m = member.astype(np.float64)
    n = (m @ counts)[:, None]
    mean_d = (m @ sums) / n
    mean = mean_d + centre
    if metric == "mean":
        return mean
    var = np.maximum((m @ squares) - n * mean_d * mean_d, 0.0) / (n - 1)
    sd = np.sqrt(var)
    flat = sd <= 1e-9 * np.maximum(scale, np.abs(centre))
    with np.errstate(divide="ignore", invalid="ignore"):
        # A trial without variance in a half: no risk, so +-inf for a gain or a loss, 0 when flat.
        return np.where(flat, np.sign(mean) * np.where(mean == 0, 0.0, np.inf), mean / sd)


def _by_function(metric: Metric, x: np.ndarray, member: np.ndarray, bounds) -> tuple[np.ndarray, np.ndarray]:
    out = []
    for side in (member, ~member):
        values = np.empty((len(side), x.shape[1]))
        for c, row in enumerate(side):
            rows = np.concatenate([np.arange(a, b) for (a, b), take in zip(bounds, row, strict=True) if take])
            v = np.asarray(metric(x[rows]), dtype=np.float64)
            if v.shape != (x.shape[1],):
                raise ShapeError(f"metric returned shape {v.shape}; expected ({x.shape[1]},), one per trial")
            if np.isnan(v).any():
                raise DataError(f"metric returned NaN for trial {int(np.argmax(np.isnan(v)))}")
            values[c] = v
        out.append(values)
    return out[0], out[1]


def _fit(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if len(x) < 2:
        return math.nan, math.nan
    dx = x - x.mean()
    var = float(dx @ dx)
    if var <= 1e-24 * max(1.0, float(np.abs(x).max()) ** 2) * len(x):
        return math.nan, math.nan  # one in-sample value for every choice: no slope to fit
    slope = float(dx @ (y - y.mean())) / var
    return slope, float(y.mean() - slope * x.mean())


def _reading(assessment: str, pbo: float, n: int, n_blocks: int, n_trials: int, problems: list[str]) -> str:
    if problems:
        return f"PBO unreliable: {problems[0]}; it cannot support a claim of skill"
    said = {
        "overfit": "the selection is likely overfit (no better than a random pick out of sample)",
        "inconclusive": "the selection often fails out of sample",
        "holds": "the in-sample choice holds up out of sample",
    }[assessment]
    return (
        f"PBO {pbo:.2f}: over {n} splits of {n_blocks} blocks, the best of {n_trials} trials in sample "
        f"fell to the bottom half out of sample {pbo:.0%} of the time; {said}"
    )


def _json_float(v: object) -> object:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v
