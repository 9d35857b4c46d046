"""How often `tune`'s verdict, DSR and PBO get noise and a planted pattern right, over several series.

Each row is one generated series of 1,600 daily bars and one search (the settings of
``tests/evaluation/test_tune.py``): on random-walk bars, the 33 classical configurations (logreg, momentum,
majority) on purged 5-fold cross-validation; on bars whose volume tells the next bar's direction 85% of
the time, 10 configurations (two logreg settings that can read volume, seven momentum lookbacks,
majority) on CPCV with 6 groups, 2 tested, against the majority and momentum baselines.

    python scripts/tune_calibration.py [series per case, default 8]     # about 15 s per search, one core
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import torch

from neural_trader.data import DataSpec, series_from_bars
from neural_trader.workflows.tune import TuneOptions, tune

SPEC = DataSpec(window=16, horizon=1)


def bars(n: int, seed: int, accuracy: float | None = None) -> pd.DataFrame:
    """Random-walk bars; with ``accuracy``, volume is 3x before an up bar, right that share of the time."""
    rng = np.random.default_rng(seed)
    r = rng.normal(0, 0.01, n)
    volume = rng.uniform(1000, 1200, n)
    if accuracy is not None:
        up = r[1:] > 0
        told = np.where(rng.random(n - 1) < accuracy, up, ~up)
        volume[:-1] = np.where(told, 3000.0, 1000.0) * rng.uniform(0.9, 1.1, n - 1)
    close = 100 * np.exp(np.cumsum(r))
    open_ = np.r_[100.0, close[:-1]]
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.005, n))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.005, n))
    frame = {"open": open_, "high": high, "low": low, "close": close, "volume": volume}
    return pd.DataFrame(frame, index=pd.bdate_range("2000-01-03", periods=n))


CASES = {
    "noise": (
        None,
        dict(models=("logreg", "momentum", "majority"), trials=40, kind="purged-kfold", n_groups=5),
    ),
    "planted": (
        0.85,
        dict(
            models=("logreg", "momentum", "majority"),
            trials=40,
            params={"C": [0.1], "last_steps": [1, 5]},
            kind="cpcv",
            n_groups=6,
            n_test_groups=2,
            baselines=("majority", "momentum"),
        ),
    ),
}


def main(n_series: int) -> None:
    torch.set_num_threads(1)
    print(f"{'case':<8} {'series':>6} {'trials':>6} {'verdict':<16} {'test lead':<16} {'DSR':>6} {'PBO':>6}")
    for case, (accuracy, settings) in CASES.items():
        counts = {"skill": 0, "dsr": 0, "pbo": 0}
        for k in range(n_series):
            series = series_from_bars(case, bars(1600, 101 + k, accuracy), 1)
            options = TuneOptions(**settings, holdout=0.25, n_resamples=200, progress=False)
            result = tune(series, SPEC, options)
            dsr, pbo = result.stats.dsr.probability, result.stats.pbo.pbo
            counts["skill"] += result.verdict.outcome == "skill"
            counts["dsr"] += dsr >= 0.95
            counts["pbo"] += pbo < 0.2
            lead = result.classification.verdict.outcome
            print(
                f"{case:<8} {101 + k:>6} {len(result.trials):>6} {result.verdict.outcome:<16} {lead:<16} "
                f"{dsr:6.3f} {pbo:6.3f}",
                flush=True,
            )
        print(
            f"{case}: verdict skill {counts['skill']}/{n_series}, DSR >= 0.95 {counts['dsr']}/{n_series}, "
            f"PBO < 0.2 {counts['pbo']}/{n_series}"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 8)
