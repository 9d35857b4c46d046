"""Purging and the embargo (Lopez de Prado, "Advances in Financial Machine Learning", 2018, ch. 7), and
the purged k-fold and combinatorial purged splits built on them (ch. 12).

**Purging.** A training sample whose label span ``[t0, t1]`` shares at least one row with the span of
any test sample is dropped: its label was computed from prices the test period also uses, so keeping it
would show the model part of the answer. Spans are closed intervals, so a training label that ends on the
very row a test sample is predicted at is purged too (the conservative reading; it costs one sample).

**Embargo.** Features are serially correlated, so a sample that starts right after a test block still
carries information about it. After every contiguous block of test samples, let ``E`` be the last row
any of its labels reads (the largest ``t1``, not a fixed horizon); every remaining training sample with
``E < t0 <= E + embargo`` is dropped as well. ``embargo`` counts rows, like the embargo of the
chronological splits: the first training sample after the block is predicted at ``E + embargo + 1`` or
later. Before a test block no embargo is needed: purging already removes every label that reaches it.
(With several test groups the rule is applied after each group; where groups are adjacent this is the
same as applying it after their union, because every sample with ``t0 <= E`` that follows a test
sample is purged anyway.)
"""

from __future__ import annotations

import numpy as np

from neural_trader.data.cv.groups import (
    backtest_paths,
    check_group_counts,
    group_bounds,
    integer_param,
    split_choices,
)
from neural_trader.data.cv.purged_cv import PurgedCV, PurgedSplit
from neural_trader.data.cv.spans import label_spans, spans_digest
from neural_trader.errors import DataError, ShapeError


def purged_kfold(t0: np.ndarray, t1: np.ndarray, n_splits: int = 5, *, embargo: int = 0) -> PurgedCV:
    """Purged k-fold: ``n_splits`` contiguous test blocks; each trains on every other sample that is
    neither purged nor embargoed (see the module docstring).

    Args:
        t0: ``(n,)`` row at which each sample is predicted, non-decreasing.
        t1: ``(n,)`` last row each sample's label reads (its actual end), ``>= t0``.
        n_splits: number of folds (groups), ``>= 2``.
        embargo: rows after each test block's last label end in which no training sample may start.

    Returns:
        A :class:`PurgedCV` with ``n_splits`` splits and one backtest path; iterate it for
        ``(train_idx, test_idx)`` pairs.

    Raises:
        ShapeError, DataError: bad spans (:func:`~neural_trader.data.cv.spans.label_spans`), fewer
            samples than folds, or a fold left with no training sample.
        ConfigError: ``n_splits < 2`` or a negative embargo.

    Example:
        >>> t0 = np.arange(20); t1 = t0 + 2
        >>> [(len(tr), te.tolist()[:2]) for tr, te in purged_kfold(t0, t1, 4, embargo=1)][:2]
        [(12, [0, 1]), (10, [5, 6])]
    """
    return combinatorial_purged_cv(t0, t1, n_groups=n_splits, n_test_groups=1, embargo=embargo)


def combinatorial_purged_cv(
    t0: np.ndarray,
    t1: np.ndarray,
    n_groups: int = 6,
    n_test_groups: int = 2,
    *,
    embargo: int = 0,
) -> PurgedCV:
    """Combinatorial purged cross-validation: ``N`` contiguous groups, every choice of ``k`` test groups
    is a split, and the ``phi = C(N - 1, k - 1)`` backtest paths they form.

    Args:
        t0: ``(n,)`` row at which each sample is predicted, non-decreasing.
        t1: ``(n,)`` last row each sample's label reads (its actual end), ``>= t0``.
        n_groups: ``N >= 2`` groups of near-equal size.
        n_test_groups: ``1 <= k < N`` test groups per split.
        embargo: rows after each test group's last label end in which no training sample may start.

    Returns:
        A :class:`PurgedCV`: ``C(N, k)`` splits in lexicographic order of their test groups, and
        ``paths[p, g]``, the split predicting group ``g`` on path ``p`` (AFML's assignment).

    Raises:
        ShapeError, DataError: bad spans, fewer samples than groups, or a split left with no training
            sample (label spans too long for groups this small).
        ConfigError: ``N < 2``, ``k`` outside ``[1, N)``, more than ``MAX_SPLITS`` splits, or a
            negative embargo.

    Example:
        >>> t0 = np.arange(60); t1 = t0 + np.array([1, 9] * 30)   # spans of 1 and 9 rows
        >>> cv = combinatorial_purged_cv(t0, t1, n_groups=6, n_test_groups=2, embargo=2)
        >>> len(cv), cv.n_paths, cv.paths[0].tolist()
        (15, 5, [0, 0, 1, 2, 3, 4])
        >>> s = cv.splits[0]; s.test_groups, s.n_test, s.n_purged, s.n_embargoed
        ((0, 1), 20, 9, 2)
    """
    t0, t1 = label_spans(t0, t1)
    n_groups, n_test_groups = check_group_counts(n_groups, n_test_groups)
    embargo = integer_param("embargo", embargo, minimum=0)
    n = len(t0)
    if n < n_groups:
        raise DataError(f"{n} samples are too few for {n_groups} groups (each group needs a sample)")
    groups = group_bounds(n, n_groups)
    splits = []
    for s, choice in enumerate(split_choices(n_groups, n_test_groups)):
        test = np.zeros(n, dtype=bool)
        for g in choice:
            test[groups[g, 0] : groups[g, 1]] = True
        train, n_purged, n_embargoed = _train_mask(t0, t1, test, embargo)
        if not train.any():
            raise DataError(
                f"split {s} (test groups {list(choice)}) keeps no training sample: {n_purged} purged and "
                f"{n_embargoed} embargoed; labels spanning up to {int((t1 - t0).max())} rows are too long "
                f"for {n_groups} groups of about {n // n_groups} samples"
            )
        splits.append(PurgedSplit(choice, _runs(train), _runs(test), n_purged, n_embargoed))
    return PurgedCV(
        n_samples=n,
        groups=groups,
        n_test_groups=n_test_groups,
        embargo=embargo,
        splits=tuple(splits),
        paths=backtest_paths(n_groups, n_test_groups),
        spans_sha256=spans_digest(t0, t1),
    )


def purged_train(
    t0: np.ndarray, t1: np.ndarray, train: np.ndarray, test: np.ndarray, *, embargo: int = 0
) -> np.ndarray:
    """The training indices of any split, purged against its test indices and embargoed after each
    contiguous block of them (e.g. to purge walk-forward folds by triple-barrier label ends).

    Args:
        t0, t1: the label spans of all samples (see :func:`combinatorial_purged_cv`).
        train: candidate training sample indices.
        test: test sample indices; runs of consecutive indices are the test blocks.
        embargo: rows after each test block's last label end in which no training sample may start.

    Returns:
        The indices of ``train`` that survive, ascending (int64).

    Raises:
        ShapeError, DataError: bad spans, or indices out of range; ConfigError: a negative embargo.

    Example:
        >>> t0 = np.arange(10); t1 = t0 + np.array([1, 1, 6, 1, 1, 1, 1, 1, 1, 1])
        >>> purged_train(t0, t1, np.r_[0:5, 8:10], np.arange(5, 8), embargo=1).tolist()
        [0, 1, 3]
    """
    t0, t1 = label_spans(t0, t1)
    embargo = integer_param("embargo", embargo, minimum=0)
    n = len(t0)
    masks = []
    for name, idx in (("train", train), ("test", test)):
        idx = np.asarray(idx)
        if idx.ndim != 1 or (idx.size and idx.dtype.kind not in "iu"):
            raise ShapeError(f"{name} must be a 1-D array of sample indices, got {idx.dtype} {idx.shape}")
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            raise DataError(f"{name} indices must lie in [0, {n}), got {idx.min()}..{idx.max()}")
        mask = np.zeros(n, dtype=bool)
        mask[idx.astype(np.int64)] = True
        masks.append(mask)
    candidate, test_mask = masks
    if not test_mask.any():
        return np.flatnonzero(candidate)
    keep, _, _ = _train_mask(t0, t1, test_mask, embargo)
    return np.flatnonzero(candidate & keep)


def _train_mask(
    t0: np.ndarray, t1: np.ndarray, test: np.ndarray, embargo: int
) -> tuple[np.ndarray, int, int]:
    """``(train, n_purged, n_embargoed)``: the non-test samples that survive purging and the embargo."""
    idx = np.flatnonzero(test)
    # The union of the test spans as disjoint closed intervals: t0 is sorted, so a new interval starts
    # where a span begins after every earlier span has ended.
    starts, ends = t0[idx], np.maximum.accumulate(t1[idx])
    first = np.r_[True, starts[1:] > ends[:-1]]
    union_start = starts[first]
    union_end = ends[np.r_[first[1:], True]]
    # A span [a, b] meets the union iff the first interval ending at or after a starts at or before b.
    k = np.searchsorted(union_end, t0, side="left")
    overlaps = (k < len(union_end)) & (union_start[np.minimum(k, len(union_end) - 1)] <= t1)
    # The embargo after each block of consecutive test samples, from its last label end E.
    block_first = np.flatnonzero(np.r_[True, np.diff(idx) != 1])
    last_end = np.maximum.reduceat(t1[idx], block_first)
    lo = np.searchsorted(t0, last_end, side="right")
    hi = np.searchsorted(t0, last_end + embargo, side="right")
    depth = np.zeros(len(t0) + 1, dtype=np.int64)
    np.add.at(depth, lo, 1)
    np.add.at(depth, hi, -1)
    embargoed = np.cumsum(depth[:-1]) > 0
    candidate = ~test
    purged = candidate & overlaps
    dropped = candidate & ~overlaps & embargoed
    return candidate & ~overlaps & ~embargoed, int(purged.sum()), int(dropped.sum())


def _runs(mask: np.ndarray) -> np.ndarray:
    """``(R, 2)`` ranges ``[start, stop)`` of the True runs of a boolean mask."""
    edges = np.diff(np.r_[0, mask.astype(np.int8), 0])
    return np.stack([np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)], axis=1).astype(np.int64)
