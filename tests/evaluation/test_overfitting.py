"""Overfitting statistics: the PSR and the DSR's SR0 against Monte-Carlo simulation, the PBO against a plain
re-implementation of CSCV, noise read as luck and overfitting, a planted edge read as skill, and every
figure flagged when its sample is too small."""

from __future__ import annotations

import doctest
import importlib
import json
import math
from itertools import combinations
from statistics import NormalDist

import numpy as np
import pytest

from neural_trader.errors import ConfigError, DataError, ShapeError
from neural_trader.evaluation.overfitting import (
    MAX_COMBINATIONS,
    deflated_sharpe_ratio,
    expected_max_sharpe,
    path_spread,
    probabilistic_sharpe_ratio,
    probability_of_backtest_overfitting,
    sharpe_ratio,
)


def sharpes_of(returns: np.ndarray) -> np.ndarray:
    """Per-column Sharpe ratios, written independently of the module."""
    return returns.mean(axis=0) / returns.std(axis=0, ddof=1)


# ---------------------------------------------------------------- PSR, SR0, DSR


@pytest.mark.parametrize(
    ("name", "skew", "kurtosis"),
    [("normal", 0.0, 3.0), ("right-skewed", 2.0, 9.0), ("left-skewed", -2.0, 9.0)],
)
def test_psr_matches_the_simulated_sampling_distribution_of_the_sharpe_ratio(name, skew, kurtosis):
    # Returns with true per-period SR 0.2 and known moments; PSR(SR, x) must be P(estimated SR > x).
    rng = np.random.default_rng(42)
    t, reps, true_sr = 1000, 10_000, 0.2
    estimates = []
    for _ in range(reps // 2000):
        if name == "normal":
            x = rng.normal(true_sr, 1.0, (2000, t))
        else:  # exponential(1) has skew 2 and kurtosis 9; its mirror image has skew -2
            x = np.sign(skew) * (rng.exponential(1.0, (2000, t)) - 1.0) + true_sr
        estimates.append(x.mean(axis=1) / x.std(axis=1, ddof=1))
    sr_hat = np.concatenate(estimates)

    def implied_sd(skew_, kurtosis_):
        # PSR(SR, SR - d) = Phi(d / sd): the standard error of the estimate that the formula assumes.
        d = 0.01
        return d / NormalDist().inv_cdf(probabilistic_sharpe_ratio(true_sr, true_sr - d, t, skew_, kurtosis_))

    assert implied_sd(skew, kurtosis) == pytest.approx(sr_hat.std(), rel=0.06)
    if name != "normal":
        # Ignoring the moments is visibly wrong here (by about 20%): the test can tell.
        assert abs(implied_sd(0.0, 3.0) / sr_hat.std() - 1) > 0.12
    se = implied_sd(skew, kurtosis)
    for c in (-1.0, 1.0):
        threshold = true_sr + c * se
        simulated = float(np.mean(sr_hat > threshold))
        assert probabilistic_sharpe_ratio(true_sr, threshold, t, skew, kurtosis) == pytest.approx(
            simulated, abs=0.025
        )


def test_psr_special_cases():
    assert probabilistic_sharpe_ratio(0.07, 0.07, 100) == pytest.approx(0.5)
    # Normal returns: the variance term is 1 + SR^2 / 2.
    z = (0.1 - 0.02) * math.sqrt(251) / math.sqrt(1 + 0.1**2 / 2)
    assert probabilistic_sharpe_ratio(0.1, 0.02, 252) == pytest.approx(0.5 * (1 + math.erf(z / math.sqrt(2))))
    assert probabilistic_sharpe_ratio(-0.1, 0.0, 252) < 0.5 < probabilistic_sharpe_ratio(0.1, 0.0, 252)


@pytest.mark.parametrize("n_trials", [10, 100, 1000])
def test_expected_max_sharpe_is_the_simulated_mean_of_the_largest_of_n_standard_normals(n_trials):
    rng = np.random.default_rng(n_trials)
    largest = np.concatenate([rng.standard_normal((500, n_trials)).max(axis=1) for _ in range(8)])
    # The paper's approximation overshoots the exact mean slightly (2.3% at N = 10, 0.4% at N = 1000);
    # swapping its two weights would undershoot by 1-3%.
    assert -0.005 < expected_max_sharpe(n_trials, 1.0) / largest.mean() - 1 < 0.03
    assert expected_max_sharpe(n_trials, 0.25) == pytest.approx(0.5 * expected_max_sharpe(n_trials, 1.0))
    assert expected_max_sharpe(1, 0.25) == 0.0


def test_sr0_is_the_best_sharpe_ratio_that_noise_strategies_reach():
    # 50 strategies of pure noise, 250 bars each, many times: their best Sharpe ratio averages SR0.
    rng = np.random.default_rng(5)
    best, sr0 = [], []
    for _ in range(300):
        sharpes = sharpes_of(rng.normal(0.0, 0.01, (250, 50)))
        best.append(sharpes.max())
        sr0.append(expected_max_sharpe(50, float(np.var(sharpes, ddof=1))))
    assert np.mean(sr0) == pytest.approx(np.mean(best), rel=0.05)


def test_dsr_deflates_the_best_of_many_noise_trials_to_luck():
    rng = np.random.default_rng(0)
    trials = rng.normal(0.0, 0.01, (1000, 50))
    sharpes = sharpes_of(trials)
    best = trials[:, int(np.argmax(sharpes))]
    # Undeflated, the winner looks significant; deflated by its 49 rivals, it does not.
    assert probabilistic_sharpe_ratio(float(sharpes.max()), 0.0, 1000) > 0.95
    d = deflated_sharpe_ratio(best, trial_sharpes=sharpes, periods_per_year=252)
    assert d.n_trials == 50 and d.reliable
    assert d.probability < 0.6 and d.assessment in ("luck", "inconclusive")
    assert d.expected_max_sharpe == pytest.approx(expected_max_sharpe(50, float(np.var(sharpes, ddof=1))))
    assert d.probability == pytest.approx(
        probabilistic_sharpe_ratio(d.sharpe, d.expected_max_sharpe, 1000, d.skew, d.kurtosis)
    )
    assert d.reading.startswith(f"DSR {d.probability:.2f}: after 50 trials")
    assert d.annual_sharpe == pytest.approx(d.sharpe * math.sqrt(252))


def test_dsr_recognises_a_planted_edge_as_skill():
    rng = np.random.default_rng(0)
    trials = rng.normal(0.0, 0.01, (1000, 50))
    trials[:, 17] += 0.002  # a real edge: per-bar SR 0.2
    sharpes = sharpes_of(trials)
    assert int(np.argmax(sharpes)) == 17
    d = deflated_sharpe_ratio(trials[:, 17], trial_sharpes=sharpes)
    assert d.assessment == "skill" and d.probability > 0.95
    assert "is unlikely to be luck" in d.reading


def test_dsr_with_one_trial_is_the_psr_against_zero_and_reports_the_moments():
    r = np.random.default_rng(3).normal(0.001, 0.01, 100_000)
    d = deflated_sharpe_ratio(r, n_trials=1)
    assert d.expected_max_sharpe == 0.0
    assert d.skew == pytest.approx(0.0, abs=0.05) and d.kurtosis == pytest.approx(3.0, abs=0.1)
    assert d.probability == pytest.approx(
        probabilistic_sharpe_ratio(d.sharpe, 0.0, len(r), d.skew, d.kurtosis)
    )
    assert d.sharpe == pytest.approx(sharpe_ratio(r))
    assert d.reading.startswith("DSR 1.00: as the only trial")


@pytest.mark.parametrize(
    ("returns", "kwargs", "problem"),
    [
        (np.random.default_rng(0).normal(0.01, 0.01, 20), {"n_trials": 1}, "only 20 returns"),
        (np.array([0.01]), {"n_trials": 1}, "only 1 return "),
        (np.full(100, 0.001), {"n_trials": 1}, "no variance"),
        (np.zeros(100), {"n_trials": 1}, "no variance"),
        (np.random.default_rng(0).normal(0, 0.01, 100), {"trial_sharpes": [0.1, 0.1, 0.1]}, "zero variance"),
        (np.random.default_rng(0).normal(0, 0.01, 100), {"n_trials": 20, "trial_sharpes": [0.1]}, "unknown"),
        (np.random.default_rng(0).normal(0, 0.01, 100), {"n_trials": 20, "var_sharpe": 0.0}, "zero variance"),
    ],
)
def test_dsr_on_too_little_evidence_is_flagged_never_a_confident_number(returns, kwargs, problem):
    d = deflated_sharpe_ratio(returns, **kwargs)
    assert not d.reliable and d.assessment == "unreliable"
    assert problem in d.problems[0]
    assert d.reading.startswith("DSR unreliable:") and "cannot support a claim of skill" in d.reading
    doc = d.to_dict()
    json.dumps(doc, allow_nan=False)
    assert doc["reliable"] is False


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        ((np.zeros((5, 2)),), {"n_trials": 1}, ShapeError, "1-D"),
        ((np.array([0.1, np.nan] * 20),), {"n_trials": 1}, DataError, r"returns\[1\] is nan"),
        ((np.ones(40),), {}, ConfigError, "give n_trials"),
        ((np.ones(40), 5), {}, ConfigError, "trial_sharpes or var_sharpe"),
        ((np.ones(40), 5), {"trial_sharpes": [1, 2], "var_sharpe": 1.0}, ConfigError, "not both"),
        ((np.ones(40),), {"trial_sharpes": [0.1, np.nan]}, DataError, r"trial_sharpes\[1\]"),
        ((np.ones(40), 0), {}, ConfigError, "n_trials"),
        ((np.ones(40), 3), {"var_sharpe": -1.0}, ConfigError, "var_sharpe"),
        ((np.ones(40), 1), {"periods_per_year": 0}, ConfigError, "periods_per_year"),
        ((np.ones(40), 1), {"confidence": 1.0}, ConfigError, "confidence"),
    ],
)
def test_dsr_bad_input_is_a_typed_error(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        deflated_sharpe_ratio(*args, **kwargs)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((math.nan, 0.0, 10), "sr must be a finite"),
        ((0.1, 0.0, 1), "n must be an integer >= 2"),
        ((0.1, 0.0, 10.0), "n must be an integer"),
        ((0.5, 0.0, 10, 4.0, 1.0), "no distribution has these moments"),
    ],
)
def test_psr_bad_input_is_a_config_error(args, match):
    with pytest.raises(ConfigError, match=match):
        probabilistic_sharpe_ratio(*args)


def test_sharpe_ratio_definition_and_undefined_cases():
    r = np.array([0.02, -0.01, 0.03, 0.0, 0.01])
    assert sharpe_ratio(r) == pytest.approx(r.mean() / r.std(ddof=1))
    assert sharpe_ratio(r, periods_per_year=52) == pytest.approx(r.mean() / r.std(ddof=1) * math.sqrt(52))
    assert math.isnan(sharpe_ratio(np.array([0.01]))) and math.isnan(sharpe_ratio(np.full(10, 0.01)))


# ---------------------------------------------------------------- PBO


def reference_pbo(performance: np.ndarray, n_blocks: int, score) -> tuple[float, list[float], list, list]:
    """CSCV by the paper, one combination at a time with plain loops: PBO, the logits, and the winner's
    in- and out-of-sample scores."""
    t, n = performance.shape
    blocks = np.array_split(np.arange(t), n_blocks)
    logits, winner_in, winner_out = [], [], []
    for chosen in combinations(range(n_blocks), n_blocks // 2):
        rows_in = np.concatenate([blocks[b] for b in chosen])
        rows_out = np.concatenate([blocks[b] for b in range(n_blocks) if b not in chosen])
        r_in, r_out = score(performance[rows_in]), score(performance[rows_out])
        best = max(range(n), key=lambda j: (r_in[j], -j))  # the first of tied winners
        rank = (
            1
            + sum(r_out[j] < r_out[best] for j in range(n))
            + 0.5 * sum(r_out[j] == r_out[best] for j in range(n) if j != best)
        )
        w = rank / (n + 1)
        logits.append(math.log(w / (1 - w)))
        winner_in.append(r_in[best])
        winner_out.append(r_out[best])
    return sum(v <= 0 for v in logits) / len(logits), logits, winner_in, winner_out


@pytest.mark.parametrize(
    ("metric", "score"),
    [
        ("sharpe", sharpes_of),
        ("mean", lambda m: m.mean(axis=0)),
        (lambda m: np.median(m, axis=0), lambda m: np.median(m, axis=0)),
    ],
)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pbo_matches_a_plain_implementation_of_cscv(metric, score, seed):
    rng = np.random.default_rng(seed)
    performance = rng.normal(0.0, 0.01, (63, 7)) + rng.normal(0, 0.002, 7)  # 63 rows: uneven blocks
    if seed == 2:
        performance = np.round(performance, 3)  # ties out of sample
    result = probability_of_backtest_overfitting(performance, n_blocks=6, metric=metric)
    pbo, logits, winner_in, winner_out = reference_pbo(performance, 6, score)
    assert result.n_combinations == result.n_combinations_total == 20 and not result.sampled
    np.testing.assert_allclose(result.logits, logits, rtol=0, atol=1e-12)
    np.testing.assert_allclose(result.in_sample, winner_in, rtol=1e-9)
    np.testing.assert_allclose(result.out_of_sample, winner_out, rtol=1e-9)
    slope, intercept = np.polyfit(winner_in, winner_out, 1)
    assert (result.degradation_slope, result.degradation_intercept) == (
        pytest.approx(slope),
        pytest.approx(intercept, abs=1e-12),
    )
    assert result.probability_of_loss == np.mean(np.array(winner_out) < 0)
    assert result.pbo == pytest.approx(pbo)


def test_pbo_on_noise_is_high_and_on_a_planted_edge_low():
    noise = [
        probability_of_backtest_overfitting(np.random.default_rng(s).normal(0, 0.01, (512, 30)))
        for s in range(12)
    ]
    # Pure noise: PBO is 0.5 in expectation; one data set scatters around it.
    assert 0.4 < np.mean([r.pbo for r in noise]) < 0.6
    assert noise[0].pbo > 0.3 and noise[0].assessment == "overfit"
    assert np.mean([r.probability_of_loss for r in noise]) > 0.3
    # Better in sample, worse out of sample: the winner's luck does not carry over.
    slopes = [r.degradation_slope for r in noise]
    assert np.mean(slopes) < -0.2 and sum(v < 0 for v in slopes) >= 10
    for seed in range(5):
        trials = np.random.default_rng(100 + seed).normal(0, 0.01, (512, 30))
        trials[:, 4] += 0.002  # one trial with a real edge (per-bar SR 0.2)
        planted = probability_of_backtest_overfitting(trials)
        assert planted.pbo < 0.2 and planted.assessment == "holds", seed
        assert planted.probability_of_loss < 0.15


def test_pbo_is_deterministic_and_json_ready():
    x = np.random.default_rng(9).normal(0, 0.01, (300, 12))
    a, b = probability_of_backtest_overfitting(x, 10), probability_of_backtest_overfitting(x.copy(), 10)
    assert a.to_dict() == b.to_dict()
    doc = json.loads(json.dumps(a.to_dict(), allow_nan=False))
    assert doc["n_combinations"] == 252 and len(doc["logits"]) == 252
    assert "logits" not in a.to_dict(arrays=False)
    assert a.reading.startswith(f"PBO {a.pbo:.2f}: over 252 splits of 10 blocks, the best of 12 trials")


def test_pbo_beyond_the_cap_draws_a_seeded_sample_of_choices():
    x = np.random.default_rng(4).normal(0, 0.01, (720, 8))
    a = probability_of_backtest_overfitting(x, n_blocks=18)
    assert a.n_combinations == MAX_COMBINATIONS and a.n_combinations_total == math.comb(18, 9) and a.sampled
    np.testing.assert_array_equal(a.logits, probability_of_backtest_overfitting(x, n_blocks=18).logits)
    other = probability_of_backtest_overfitting(x, n_blocks=18, seed=1)
    assert not np.array_equal(a.logits, other.logits)


def test_pbo_of_flat_trials_scores_them_zero():
    x = np.random.default_rng(2).normal(0, 0.01, (256, 5))
    x[:, 1] = 0.0  # a configuration that never trades
    x[:, 2] = 0.001  # a constant gain: infinitely good by Sharpe, and picked every time
    r = probability_of_backtest_overfitting(x, n_blocks=8)
    assert r.pbo == 0.0 and np.isinf(r.in_sample).all()
    assert json.dumps(r.to_dict(), allow_nan=False)


@pytest.mark.parametrize(
    ("shape", "n_blocks", "problem"),
    [((512, 1), 16, "one trial only"), ((64, 10), 16, "blocks of 4 rows are too short")],
)
def test_pbo_on_too_little_evidence_is_flagged(shape, n_blocks, problem):
    r = probability_of_backtest_overfitting(np.random.default_rng(0).normal(0, 0.01, shape), n_blocks)
    assert not r.reliable and r.assessment == "unreliable" and problem in r.problems[0]
    assert r.reading.startswith("PBO unreliable:")


@pytest.mark.parametrize(
    ("performance", "kwargs", "error", "match"),
    [
        (np.zeros(100), {}, ShapeError, r"\(T periods, N trials\)"),
        (np.zeros((100, 0)), {}, ShapeError, "N trials"),
        (np.where(np.eye(100, 3) == 1, np.inf, 0.0), {}, DataError, r"performance\[0, 0\] is inf"),
        (np.zeros((100, 3)), {"n_blocks": 7}, ConfigError, "even"),
        (np.zeros((100, 3)), {"n_blocks": 34}, ConfigError, "even"),
        (np.zeros((100, 3)), {"n_blocks": 0}, ConfigError, "even"),
        (np.zeros((100, 3)), {"n_blocks": 4.0}, ConfigError, "even"),
        (np.zeros((30, 3)), {"n_blocks": 16}, DataError, "30 rows are too few"),
        (np.zeros((100, 3)), {"metric": "sortino"}, ConfigError, "metric"),
        (np.zeros((100, 3)), {"n_blocks": 4, "metric": lambda m: m.mean()}, ShapeError, "metric returned"),
        (np.zeros((100, 3)), {"n_blocks": 4, "metric": lambda m: m.mean(0) / 0}, DataError, "NaN"),
    ],
)
def test_pbo_bad_input_is_a_typed_error(performance, kwargs, error, match):
    with np.errstate(all="ignore"), pytest.raises(error, match=match):
        probability_of_backtest_overfitting(performance, **kwargs)


# ---------------------------------------------------------------- path spread


def test_path_spread_summarises_the_paths():
    values = np.array([0.8, 1.1, 0.4, 0.9, 1.3, -0.2])
    s = path_spread(values, metric="Sharpe", threshold=0.5)
    assert (s.n_paths, s.mean, s.min, s.max) == (6, pytest.approx(values.mean()), -0.2, 1.3)
    assert s.std == pytest.approx(values.std(ddof=1))
    assert s.quantiles["q50"] == pytest.approx(0.85) and s.quantiles["q05"] == pytest.approx(-0.05)
    assert s.share_above == pytest.approx(4 / 6) and s.reliable
    assert (
        s.reading
        == "Sharpe across 6 backtest paths: mean 0.717, std 0.542, from -0.2 to 1.3; 67% of paths above 0.5"
    )
    json.dumps(s.to_dict(), allow_nan=False)


@pytest.mark.parametrize("n", [1, 4])
def test_path_spread_of_too_few_paths_is_flagged(n):
    s = path_spread(np.linspace(0.5, 1.0, n), metric="accuracy")
    assert not s.reliable and f"only {n} backtest path" in s.problems[0]
    assert s.reading.startswith("accuracy path spread unreliable:")
    doc = s.to_dict()
    json.dumps(doc, allow_nan=False)
    assert (doc["std"] is None) == (n == 1)


@pytest.mark.parametrize(
    ("values", "kwargs", "error", "match"),
    [
        ([], {}, DataError, "empty"),
        ([[1.0, 2.0]], {}, ShapeError, "1-D"),
        ([1.0, math.nan], {}, DataError, r"values\[1\] is nan"),
        ([1.0, 2.0], {"threshold": math.inf}, ConfigError, "threshold"),
        ([1.0, 2.0], {"quantiles": [0.5, 1.5]}, ConfigError, "quantiles"),
    ],
)
def test_path_spread_bad_input_is_a_typed_error(values, kwargs, error, match):
    with pytest.raises(error, match=match):
        path_spread(values, **kwargs)


@pytest.mark.parametrize("name", ["", ".deflated_sharpe", ".backtest_overfitting", ".path_spread"])
def test_docstring_examples(name):
    module = importlib.import_module(f"neural_trader.evaluation.overfitting{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
