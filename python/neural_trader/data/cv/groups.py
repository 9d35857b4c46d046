"""The combinatorial layout of CPCV: contiguous sample groups, the C(N, k) test choices, and the backtest
paths they form (Lopez de Prado, "Advances in Financial Machine Learning", 2018, ch. 12).

With ``N`` groups and ``k`` test groups per split, every group is tested by ``C(N - 1, k - 1)`` of the
``C(N, k)`` splits, so the out-of-sample predictions tile ``phi = k / N * C(N, k) = C(N - 1, k - 1)``
complete backtests ("paths"). The assignment is AFML's: splits are enumerated in lexicographic order of
their test groups, and path ``p`` takes group ``g`` from the ``p``-th split (in that order) that tests
``g``. Every (split, test group) prediction is used by exactly one path; one path may take two groups
from one split (in AFML's figure 12.1, path 1 takes groups 1 and 2 from split 1), since a split's model
never saw either of them.
"""

from __future__ import annotations

from itertools import combinations
from math import comb

import numpy as np

from neural_trader.errors import ConfigError

# Every split is a model to train; beyond this many the request is almost surely a mistake (N = 12,
# k = 6 gives 924), and the splits' work and memory grow with it.
MAX_SPLITS = 1000


def group_bounds(n_samples: int, n_groups: int) -> np.ndarray:
    """``(n_groups, 2)`` sample ranges ``[start, stop)`` of contiguous groups of near-equal size.

    The first ``n_samples % n_groups`` groups hold one sample more (numpy's ``array_split`` sizes).

    Example:
        >>> group_bounds(10, 3).tolist()
        [[0, 4], [4, 7], [7, 10]]
    """
    if n_groups < 1 or n_samples < n_groups:
        raise ConfigError(f"cannot cut {n_samples} samples into {n_groups} non-empty groups")
    sizes = np.full(n_groups, n_samples // n_groups, dtype=np.int64)
    sizes[: n_samples % n_groups] += 1
    stops = np.cumsum(sizes)
    return np.stack([stops - sizes, stops], axis=1)


def split_choices(n_groups: int, n_test_groups: int) -> list[tuple[int, ...]]:
    """Every choice of ``n_test_groups`` test groups among ``n_groups``, in lexicographic order.

    Example:
        >>> split_choices(4, 2)
        [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]
    """
    return list(combinations(range(n_groups), n_test_groups))


def n_backtest_paths(n_groups: int, n_test_groups: int) -> int:
    """``phi = k / N * C(N, k) = C(N - 1, k - 1)``, the number of complete backtest paths.

    Example:
        >>> n_backtest_paths(6, 2), n_backtest_paths(5, 1)
        (5, 1)
    """
    return comb(n_groups - 1, n_test_groups - 1)


def backtest_paths(n_groups: int, n_test_groups: int) -> np.ndarray:
    """``(phi, n_groups)`` matrix: entry ``[p, g]`` is the split whose prediction of group ``g`` path
    ``p`` uses (AFML's assignment, see the module docstring).

    Args:
        n_groups: ``N >= 2`` contiguous groups.
        n_test_groups: ``1 <= k < N`` test groups per split.

    Raises:
        ConfigError: ``N < 2``, ``k`` outside ``[1, N)``, or more than ``MAX_SPLITS`` splits.

    Example:
        >>> backtest_paths(4, 2).tolist()   # splits (0,1) (0,2) (0,3) (1,2) (1,3) (2,3)
        [[0, 0, 1, 2], [1, 3, 3, 4], [2, 4, 5, 5]]
    """
    check_group_counts(n_groups, n_test_groups)
    paths = np.empty((n_backtest_paths(n_groups, n_test_groups), n_groups), dtype=np.int64)
    used = [0] * n_groups  # how many splits testing group g were assigned so far
    for split, groups in enumerate(split_choices(n_groups, n_test_groups)):
        for g in groups:
            paths[used[g], g] = split
            used[g] += 1
    return paths


def check_group_counts(n_groups: object, n_test_groups: object) -> tuple[int, int]:
    """``(N, k)`` as ints after checking ``N >= 2``, ``1 <= k < N`` and ``C(N, k) <= MAX_SPLITS``.

    Raises:
        ConfigError: a non-integer or an out-of-range count, or too many splits.
    """
    n = integer_param("n_groups", n_groups, minimum=2)
    k = integer_param("n_test_groups", n_test_groups, minimum=1)
    if k >= n:
        raise ConfigError(
            f"n_test_groups must be below n_groups ({n}) so that every split keeps training groups, got {k}"
        )
    if comb(n, k) > MAX_SPLITS:
        raise ConfigError(
            f"{n} groups with {k} tested make {comb(n, k)} splits, more than {MAX_SPLITS}; "
            "use fewer groups or fewer test groups"
        )
    return n, k


def integer_param(name: str, value: object, *, minimum: int) -> int:
    """``value`` as an int, refusing bools, floats and values below ``minimum`` (``ConfigError``)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)
