"""``stack``: a stacking ensemble of the classical baselines whose meta-model never sees the future.

Stacking fits a meta-model on predictions the base models made for windows they were not fit on
(out-of-fold predictions). With shuffled k-fold, a base model fit on later windows predicts earlier ones:
on overlapping, autocorrelated market windows that leaks the future into the meta-model's training data.
Here the folds are expanding windows in time order (:func:`expanding_folds`): the training windows are
cut into ``n_folds + 1`` contiguous blocks; fold ``k`` fits every base model on the windows before block
``k`` (less a gap of ``gap`` windows, so no training label reaches into the block) and predicts block
``k``. Block 0 has no out-of-fold prediction. A logistic regression (the meta-model) is then fit on the
base models' out-of-fold probabilities of blocks ``1..n_folds``, and the base models are refit on every
training window for prediction.

Example:
    >>> x = np.random.default_rng(0).normal(size=(400, 6, 2)); y = (x[:, -1, 0] > 0).astype(int)
    >>> model = StackingBaseline(n_folds=3, gap=2).fit(x, y)
    >>> float((model.predict(x) == y).mean()) > 0.9
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from neural_trader.errors import ConfigError, DataError
from neural_trader.models.baselines import (
    Baseline,
    LogRegBaseline,
    MajorityBaseline,
    RandomForestBaseline,
    XGBoostBaseline,
    import_xgboost,
    register_baseline,
)
from neural_trader.validation import integer, positive_int, random_seed, real

#: Baselines the ensemble can stack (the classical, fitted ones).
STACKABLE: tuple[str, ...] = ("logreg", "rf", "xgb")


def expanding_folds(n: int, n_folds: int, gap: int) -> list[tuple[int, int, int]]:
    """``(train_stop, start, stop)`` of each fold: fit on windows ``[0, train_stop)``, predict
    ``[start, stop)``, with ``train_stop = start - gap``; the blocks are contiguous, in time order, and
    together cover ``[n // (n_folds + 1), n)``.

    Raises:
        DataError: too few windows for every fold to have a training window.

    Example:
        >>> expanding_folds(10, 4, gap=1)
        [(1, 2, 4), (3, 4, 6), (5, 6, 8), (7, 8, 10)]
    """
    bounds = [round(n * j / (n_folds + 1)) for j in range(n_folds + 2)]
    folds = [(bounds[k] - gap, bounds[k], bounds[k + 1]) for k in range(1, n_folds + 1)]
    if folds[0][0] < 1 or any(start >= stop for _, start, stop in folds):
        raise DataError(
            f"stack needs more training windows: {n} windows make {n_folds + 1} blocks that leave the first "
            f"fold no training window after a gap of {gap}; need at least {(n_folds + 1) * (gap + 1)}"
        )
    return folds


@register_baseline
class StackingBaseline(Baseline):
    """Stacking of classical baselines: time-ordered out-of-fold predictions, then a logistic meta-model.

    Args:
        base: names of the stacked baselines, from :data:`STACKABLE` (``xgb`` needs the ``xgboost``
            package).
        n_folds: out-of-fold blocks (the training windows are cut into ``n_folds + 1`` blocks).
        gap: windows left out between each fold's training windows and its block; at least the label
            horizon (``evaluate`` passes it), default the window length.
        C: inverse regularisation strength of the meta-model.
        seed: random state of the random forest and the boosted trees.

    Example:
        >>> StackingBaseline(base=("logreg", "rf")).base
        ('logreg', 'rf')
    """

    registry_name = "stack"

    def __init__(
        self,
        base: Sequence[str] = ("logreg", "rf"),
        n_folds: int = 4,
        gap: int | None = None,
        C: float = 1.0,
        seed: int = 0,
    ) -> None:
        if isinstance(base, str) or not base or any(b not in STACKABLE for b in base):
            raise ConfigError(f"base must name baselines among {', '.join(STACKABLE)}, got {base!r}")
        self.base = tuple(base)
        if "xgb" in self.base:
            import_xgboost()
        self.n_folds = positive_int("n_folds", n_folds)
        self.gap = None if gap is None else integer("gap", gap, low=0)
        self.C = real("C", C, low=0.0, low_open=True)
        self.seed = random_seed("seed", seed)

    def _make(self, name: str) -> Baseline:
        if name == "rf":
            return RandomForestBaseline(seed=self.seed, n_jobs=1)
        if name == "xgb":
            return XGBoostBaseline(seed=self.seed, n_jobs=1)
        return LogRegBaseline()

    def _fit_base(self, x: np.ndarray, y: np.ndarray) -> list[Baseline]:
        """Every base model fit on ``(x, y)``; the class prior where only one class is present (the
        logistic regression refuses a single class)."""
        if len(np.unique(y)) < 2:
            return [MajorityBaseline().fit(x, y) for _ in self.base]
        return [self._make(name).fit(x, y) for name in self.base]

    def _features(self, models: list[Baseline], x: np.ndarray) -> np.ndarray:
        """The meta-model's inputs: every base model's probabilities, less the redundant first class."""
        return np.concatenate([_padded(m.predict_proba(x), self.num_classes)[:, 1:] for m in models], axis=1)

    def out_of_fold(self, windows: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Out-of-fold base-model probabilities and the rows they belong to, in time order: each block is
        predicted by base models fit on earlier windows only (see the module docstring).

        Returns:
            ``(features (M, len(base) * (C - 1)), rows (M,))``.
        """
        x, y = np.asarray(windows, dtype=np.float64), np.asarray(labels).astype(np.int64)
        if not self.num_classes:
            self.num_classes = max(2, int(y.max()) + 1)
        gap = self.gap if self.gap is not None else x.shape[1]
        features, rows = [], []
        for train_stop, start, stop in expanding_folds(len(x), self.n_folds, gap):
            models = self._fit_base(x[:train_stop], y[:train_stop])
            features.append(self._features(models, x[start:stop]))
            rows.append(np.arange(start, stop))
        return np.concatenate(features), np.concatenate(rows)

    def _fit(self, x: np.ndarray, y: np.ndarray) -> None:
        from sklearn.linear_model import LogisticRegression

        features, rows = self.out_of_fold(x, y)
        target = y[rows]
        self.meta_classes_ = np.unique(target)
        self.meta_: Any = None
        if len(self.meta_classes_) > 1:
            self.meta_ = LogisticRegression(C=self.C, max_iter=2000).fit(features, target)
        self.models_ = self._fit_base(x, y)

    def _proba(self, x: np.ndarray) -> np.ndarray:
        out = np.zeros((len(x), self.num_classes))
        if self.meta_ is None:
            out[:, self.meta_classes_] = 1.0
        else:
            out[:, self.meta_.classes_] = self.meta_.predict_proba(self._features(self.models_, x))
        return out


def _padded(proba: np.ndarray, num_classes: int) -> np.ndarray:
    """Probabilities with ``num_classes`` columns (a base fit on a block without the top class has fewer)."""
    if proba.shape[1] >= num_classes:
        return proba[:, :num_classes]
    out = np.zeros((len(proba), num_classes))
    out[:, : proba.shape[1]] = proba
    return out
