"""The Sharpe ratio, the probabilistic Sharpe ratio (PSR) and the deflated Sharpe ratio (DSR).

**PSR** (Bailey & Lopez de Prado, "The Sharpe Ratio Efficient Frontier", 2012): the probability that the
true Sharpe ratio exceeds a benchmark ``SR*``, given the estimate ``SR`` from ``T`` returns of skewness
``g3`` and (Pearson) kurtosis ``g4``::

    PSR(SR*) = Phi( (SR - SR*) * sqrt(T - 1) / sqrt(1 - g3 * SR + (g4 - 1) / 4 * SR^2) )

All Sharpe ratios here are per period (per bar, not annualised), as in the paper: the standard error
depends on ``T`` bars of the same frequency. Fat tails (``g4 > 3``) and a negative skew with a positive SR
widen the error, so the same SR is less convincing.

**DSR** (Bailey & Lopez de Prado, "The Deflated Sharpe Ratio", 2014): after ``N`` trials, the best SR is
high by selection alone. The benchmark becomes the expected maximum of ``N`` estimates with no skill,
whose Sharpe ratios vary across trials with variance ``V``::

    SR0 = sqrt(V) * ((1 - gamma) * Phi^-1(1 - 1/N) + gamma * Phi^-1(1 - 1/(N e))),   DSR = PSR(SR0)

with ``gamma`` the Euler-Mascheroni constant. A DSR of 0.95 or more says the strategy's SR is unlikely
to be the luck of the draw; below 0.5, luck explains it better than skill.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from neural_trader.errors import ConfigError, DataError, ShapeError

EULER_GAMMA = 0.5772156649015329
# Below 30 returns the skew and kurtosis estimates, and the normal approximation of the PSR, are noise.
MIN_RETURNS = 30
_PHI = NormalDist()


def sharpe_ratio(returns: np.ndarray, periods_per_year: float | None = None) -> float:
    """Mean over standard deviation (``ddof=1``) of per-period returns, no risk-free rate.

    Args:
        returns: ``(T,)`` per-period returns (or excess returns).
        periods_per_year: when given, the ratio is annualised by ``sqrt(periods_per_year)``.

    Returns:
        The Sharpe ratio; NaN when undefined (fewer than 2 returns, or returns without variance).

    Raises:
        ShapeError: not 1-D. DataError: NaN or Inf. ConfigError: a bad ``periods_per_year``.

    Example:
        >>> round(sharpe_ratio(np.array([0.01, 0.03, -0.01, 0.02])), 4)
        0.7319
        >>> round(sharpe_ratio(np.array([0.01, 0.03, -0.01, 0.02]), periods_per_year=252), 2)
        11.62
    """
    r = _returns(returns)
    sr = _sharpe(r)
    if periods_per_year is None:
        return sr
    if not _positive_finite(periods_per_year):
        raise ConfigError(f"periods_per_year must be a finite number > 0, got {periods_per_year!r}")
    return sr * math.sqrt(periods_per_year)


def probabilistic_sharpe_ratio(
    sr: float, sr_benchmark: float, n: int, skew: float = 0.0, kurtosis: float = 3.0
) -> float:
    """PSR: the probability that the true per-period Sharpe ratio exceeds ``sr_benchmark``.

    Args:
        sr: the estimated per-period Sharpe ratio (not annualised).
        sr_benchmark: the per-period benchmark ``SR*`` (0 for "any skill"; ``SR0`` for the DSR).
        n: number of returns ``T`` the estimate used, ``>= 2``.
        skew: skewness of the returns (0 for normal).
        kurtosis: Pearson kurtosis of the returns (3 for normal, not the excess 0).

    Raises:
        ConfigError: a non-finite value, ``n < 2``, or moments no distribution has (the variance term
            ``1 - skew * sr + (kurtosis - 1) / 4 * sr^2`` is not positive).

    Example:
        >>> round(probabilistic_sharpe_ratio(0.1, 0.0, 250), 3)   # normal returns
        0.942
        >>> round(probabilistic_sharpe_ratio(0.1, 0.0, 250, skew=-1.0, kurtosis=8.0), 3)
        0.932
    """
    for name, value in (("sr", sr), ("sr_benchmark", sr_benchmark), ("skew", skew), ("kurtosis", kurtosis)):
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float, np.number))
            or not math.isfinite(value)
        ):
            raise ConfigError(f"{name} must be a finite number, got {value!r}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise ConfigError(f"n must be an integer >= 2 (the number of returns), got {n!r}")
    spread = 1.0 - skew * sr + (kurtosis - 1.0) / 4.0 * sr * sr
    if not spread > 0:
        raise ConfigError(
            f"skew {skew} and kurtosis {kurtosis} give a non-positive variance term {spread:.3g} at SR {sr}: "
            "no distribution has these moments (kurtosis must exceed skew^2 + 1)"
        )
    return _PHI.cdf((sr - sr_benchmark) * math.sqrt(n - 1) / math.sqrt(spread))


def expected_max_sharpe(n_trials: int, var_sharpe: float) -> float:
    """``SR0``: the expected largest of ``n_trials`` per-period Sharpe ratios that have no skill and vary
    across trials with variance ``var_sharpe`` (the False Strategy theorem's approximation).

    Args:
        n_trials: independent trials ``N >= 1`` (1 means no selection: ``SR0 = 0``).
        var_sharpe: variance of the trials' per-period Sharpe ratios, ``>= 0``.

    Raises:
        ConfigError: ``n_trials < 1`` or a negative or non-finite variance.

    Example:
        >>> round(expected_max_sharpe(100, 1.0), 3)    # about E[max of 100 standard normals] = 2.508
        2.531
        >>> expected_max_sharpe(1, 0.04)
        0.0
    """
    if isinstance(n_trials, bool) or not isinstance(n_trials, (int, np.integer)) or n_trials < 1:
        raise ConfigError(f"n_trials must be an integer >= 1, got {n_trials!r}")
    if isinstance(var_sharpe, bool) or not (_positive_finite(var_sharpe) or var_sharpe == 0):
        raise ConfigError(f"var_sharpe must be a finite number >= 0, got {var_sharpe!r}")
    if n_trials == 1:
        return 0.0
    z = (1.0 - EULER_GAMMA) * _PHI.inv_cdf(1.0 - 1.0 / n_trials) + EULER_GAMMA * _PHI.inv_cdf(
        1.0 - 1.0 / (n_trials * math.e)
    )
    return math.sqrt(var_sharpe) * z


@dataclass(frozen=True)
class DeflatedSharpe:
    """The deflated Sharpe ratio of a strategy chosen among trials, with what it rests on.

    Attributes:
        sharpe: per-period Sharpe ratio of the strategy's returns (NaN if undefined).
        expected_max_sharpe: ``SR0``, the best per-period SR that ``n_trials`` skill-less trials give.
        probability: the DSR, ``PSR(SR0)``: probability that the true SR exceeds ``SR0``.
        n_obs: number of returns ``T``.
        skew: skewness of the returns.
        kurtosis: Pearson kurtosis of the returns (3 for normal).
        n_trials: trials the strategy was selected from.
        var_sharpe: variance of the trials' per-period Sharpe ratios (NaN if unknown).
        annual_sharpe: ``sharpe * sqrt(periods_per_year)`` when that was given, else None.
        confidence: the DSR a strategy needs to count as skill.
        assessment: ``"skill"`` (DSR >= confidence), ``"inconclusive"`` (0.5 <= DSR < confidence),
            ``"luck"`` (DSR < 0.5) or ``"unreliable"`` (see ``problems``).
        problems: why the figure cannot be trusted (too few returns, degenerate variance...); empty
            when it can.
        reading: one line for the report.
    """

    sharpe: float
    expected_max_sharpe: float
    probability: float
    n_obs: int
    skew: float
    kurtosis: float
    n_trials: int
    var_sharpe: float
    annual_sharpe: float | None
    confidence: float
    assessment: str
    problems: tuple[str, ...]
    reading: str

    @property
    def reliable(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, object]:
        """JSON-ready fields (NaN as None)."""
        out = {k: _json_float(v) for k, v in self.__dict__.items()}
        out["problems"] = list(self.problems)
        out["reliable"] = self.reliable
        return out


def deflated_sharpe_ratio(
    returns: np.ndarray,
    n_trials: int | None = None,
    *,
    trial_sharpes: np.ndarray | None = None,
    var_sharpe: float | None = None,
    periods_per_year: float | None = None,
    confidence: float = 0.95,
) -> DeflatedSharpe:
    """The DSR of a strategy's returns, given how many trials it was selected from.

    Args:
        returns: ``(T,)`` per-period returns of the selected strategy (out of sample if you have them).
        n_trials: trials tried (every configuration of the search); default ``len(trial_sharpes)``.
        trial_sharpes: per-period Sharpe ratios of the trials, on bars of the same frequency; their
            variance (``ddof=1``) is ``V``. Give this or ``var_sharpe`` when ``n_trials > 1``.
        var_sharpe: ``V`` directly.
        periods_per_year: only to report ``annual_sharpe`` and annualised figures in the reading.
        confidence: DSR needed for ``assessment == "skill"``.

    Raises:
        ShapeError, DataError: returns not 1-D or not finite, NaN among ``trial_sharpes``.
        ConfigError: neither or both of ``trial_sharpes`` and ``var_sharpe`` with ``n_trials > 1``, or a
            bad count, variance, ``periods_per_year`` or ``confidence``.

    Example:
        >>> r = np.random.default_rng(0).normal(0.0005, 0.01, 500)
        >>> d = deflated_sharpe_ratio(r, 50, var_sharpe=0.045 ** 2)
        >>> d.assessment, round(d.expected_max_sharpe, 3)
        ('luck', 0.102)
    """
    r = _returns(returns)
    if not (isinstance(confidence, (int, float)) and 0.5 <= confidence < 1):
        raise ConfigError(f"confidence must be in [0.5, 1), got {confidence!r}")
    if periods_per_year is not None and not _positive_finite(periods_per_year):
        raise ConfigError(f"periods_per_year must be a finite number > 0, got {periods_per_year!r}")
    n_trials, var, problems = _trials(n_trials, trial_sharpes, var_sharpe)
    t = len(r)
    sr = _sharpe(r)
    skew, kurt = _moments(r) if math.isfinite(sr) else (math.nan, math.nan)
    if not math.isfinite(sr) and t >= 2:
        problems.insert(0, "the returns have no variance, so their Sharpe ratio is undefined")
    if t < MIN_RETURNS:
        problems.insert(0, f"only {t} return{'s' if t != 1 else ''} (the DSR needs at least {MIN_RETURNS})")
    sr0 = expected_max_sharpe(n_trials, var) if math.isfinite(var) else math.nan
    prob = math.nan
    if math.isfinite(sr) and math.isfinite(sr0):
        try:
            prob = probabilistic_sharpe_ratio(sr, sr0, t, skew, kurt)
        except ConfigError:
            # Two-valued returns can put the variance term at zero: no normal approximation exists.
            problems.append(f"the returns' skew {skew:.2f} and kurtosis {kurt:.2f} leave the SR no spread")
    if problems:
        assessment = "unreliable"
    else:
        assessment = "skill" if prob >= confidence else "inconclusive" if prob >= 0.5 else "luck"
    annual = None if periods_per_year is None else sr * math.sqrt(periods_per_year)
    return DeflatedSharpe(
        sharpe=sr,
        expected_max_sharpe=sr0,
        probability=prob,
        n_obs=t,
        skew=skew,
        kurtosis=kurt,
        n_trials=n_trials,
        var_sharpe=var,
        annual_sharpe=annual,
        confidence=float(confidence),
        assessment=assessment,
        problems=tuple(problems),
        reading=_reading(assessment, prob, sr, sr0, n_trials, periods_per_year, problems),
    )


def _trials(
    n_trials: int | None, trial_sharpes: np.ndarray | None, var_sharpe: float | None
) -> tuple[int, float, list[str]]:
    """``(N, V, problems)`` from the arguments of :func:`deflated_sharpe_ratio`."""
    if trial_sharpes is not None and var_sharpe is not None:
        raise ConfigError("give trial_sharpes or var_sharpe, not both")
    sharpes = None
    if trial_sharpes is not None:
        sharpes = np.asarray(trial_sharpes, dtype=np.float64)
        if sharpes.ndim != 1 or sharpes.size == 0:
            raise ShapeError(f"trial_sharpes must be a non-empty 1-D array, got shape {sharpes.shape}")
        if not np.isfinite(sharpes).all():
            i = int(np.argmax(~np.isfinite(sharpes)))
            raise DataError(
                f"trial_sharpes[{i}] is {sharpes[i]}; give 0.0 for a trial that never traded, or leave it out"
            )
    if n_trials is None:
        if sharpes is None:
            raise ConfigError("give n_trials, or trial_sharpes (one Sharpe ratio per trial)")
        n_trials = len(sharpes)
    if isinstance(n_trials, bool) or not isinstance(n_trials, (int, np.integer)) or n_trials < 1:
        raise ConfigError(f"n_trials must be an integer >= 1, got {n_trials!r}")
    n_trials = int(n_trials)
    problems: list[str] = []
    if n_trials == 1:
        return 1, 0.0, problems  # no selection: SR0 = 0 whatever V is
    if sharpes is None and var_sharpe is None:
        raise ConfigError(f"with {n_trials} trials, give trial_sharpes or var_sharpe (their variance)")
    if sharpes is not None:
        var = float(np.var(sharpes, ddof=1)) if len(sharpes) > 1 else math.nan
    else:
        if isinstance(var_sharpe, bool) or not isinstance(var_sharpe, (int, float, np.floating)):
            raise ConfigError(f"var_sharpe must be a number >= 0, got {var_sharpe!r}")
        var = float(var_sharpe)
        if not (math.isfinite(var) and var >= 0):
            raise ConfigError(f"var_sharpe must be a finite number >= 0, got {var_sharpe!r}")
    # Equal Sharpe ratios give a variance at rounding level, not exactly 0.
    rounding = 0.0 if sharpes is None else (1e-9 * float(np.abs(sharpes).max())) ** 2
    if not math.isfinite(var):
        problems.append("the variance of the trials' Sharpe ratios is unknown (one trial Sharpe ratio given)")
    elif var <= rounding:
        problems.append(f"the {n_trials} trials' Sharpe ratios have zero variance (degenerate trials)")
    return n_trials, var, problems


def _reading(
    assessment: str,
    prob: float,
    sr: float,
    sr0: float,
    n_trials: int,
    periods_per_year: float | None,
    problems: list[str],
) -> str:
    if problems:
        return f"DSR unreliable: {problems[0]}; it cannot support a claim of skill"
    scale, unit = (1.0, "per bar") if periods_per_year is None else (math.sqrt(periods_per_year), "a year")
    said = {
        "skill": "is unlikely to be luck",
        "inconclusive": "could be luck",
        "luck": "is likely luck",
    }[assessment]
    trials = "as the only trial" if n_trials == 1 else f"after {n_trials} trials"
    return (
        f"DSR {prob:.2f}: {trials}, a Sharpe ratio of {sr * scale:.2f} {unit} "
        f"(luck alone would reach {sr0 * scale:.2f}) {said}"
    )


def _returns(returns: np.ndarray) -> np.ndarray:
    try:
        r = np.asarray(returns, dtype=np.float64)
    except (ValueError, TypeError) as exc:
        raise DataError(f"returns must be numbers: {exc}") from None
    if r.ndim != 1:
        raise ShapeError(f"returns must be 1-D (one return per period), got shape {r.shape}")
    bad = ~np.isfinite(r)
    if bad.any():
        i = int(np.argmax(bad))
        raise DataError(f"returns[{i}] is {r[i]}: returns must be finite")
    return r


def _sharpe(r: np.ndarray) -> float:
    if len(r) < 2:
        return math.nan
    mean, sd = float(r.mean()), float(r.std(ddof=1))
    # A standard deviation at rounding level (constant returns) is no variance at all.
    if sd <= 1e-12 * max(abs(mean), float(np.abs(r).max())):
        return math.nan
    return mean / sd


def _moments(r: np.ndarray) -> tuple[float, float]:
    """Skewness and Pearson kurtosis from population moments, as in the papers (``r`` has variance)."""
    d = r - r.mean()
    m2 = float(np.mean(d * d))
    return float(np.mean(d**3)) / m2**1.5, float(np.mean(d**4)) / m2**2


def _positive_finite(x: object) -> bool:
    return not isinstance(x, bool) and isinstance(x, (int, float, np.number)) and math.isfinite(x) and x > 0


def _json_float(v: object) -> object:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v
