"""How often the 95% moving-block bootstrap interval of a mean covers the truth, by effective blocks.

Samples are as dependent as overlapping windows: each shares ``block - 1`` shocks with its neighbour
(a moving sum of ``block`` standard normal shocks, true mean 0), and the bootstrap uses blocks of that
length, as ``evaluate`` does (window + horizon). The rule of the report (no interval below 5 blocks,
``neural_trader.evaluation.bootstrap.MIN_BLOCKS``) comes from this table: coverage collapses below about
5 blocks and levels off above.

    python scripts/bootstrap_coverage.py            # about a minute on one core
"""

from __future__ import annotations

import numpy as np

from neural_trader.evaluation.bootstrap import block_bootstrap

BLOCK = 37  # window 32 + horizon 5, the defaults of `train`
REPS = 300


def coverage(blocks: float, rng: np.random.Generator) -> tuple[float, float]:
    """Share of ``REPS`` samples of ``blocks * BLOCK`` values whose interval holds 0, and its mean width."""
    n = int(round(blocks * BLOCK))
    hits, widths = 0, []
    for r in range(REPS):
        shocks = rng.normal(size=n + BLOCK)
        x = np.convolve(shocks, np.ones(BLOCK) / np.sqrt(BLOCK), mode="valid")[:n]
        iv = block_bootstrap(np.mean, x, n_resamples=300, block_size=BLOCK, seed=r, min_blocks=0)
        hits += iv.low <= 0.0 <= iv.high
        widths.append(iv.high - iv.low)
    return hits / REPS, float(np.mean(widths))


def main() -> None:
    rng = np.random.default_rng(0)
    print(f"blocks of {BLOCK} samples, {REPS} samples per row, 95% percentile intervals")
    print(f"{'blocks':>7} {'samples':>8} {'coverage':>9} {'mean width':>11}")
    for blocks in (1.5, 2, 3, 4, 5, 6, 8, 12, 20):
        cov, width = coverage(blocks, rng)
        print(f"{blocks:7.1f} {int(round(blocks * BLOCK)):8d} {cov:9.2f} {width:11.3f}")


if __name__ == "__main__":
    main()
