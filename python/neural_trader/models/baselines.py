"""Classical baselines for direction classification, on the same windows the networks see.

A model is only interesting if it beats these. They share one small interface, :class:`Baseline`:
``fit(windows, labels)`` on ``(N, T, F)`` windows and integer labels, then ``predict_proba(windows)``
``(N, num_classes)`` and ``predict(windows)``. Registry: :data:`BASELINES` (name -> class), filled by
:func:`register_baseline`, kept apart from :data:`neural_trader.models.MODELS` on purpose: ``MODELS`` holds
torch twins that round-trip through a safetensors checkpoint (``neural_trader.load``), and a fitted
random forest is not a set of tensors. The CLI can list both registries.

* ``majority``: the training class frequencies, for every window. Balanced accuracy 0.5, MCC 0, AUC 0.5:
  the floor that plain accuracy hides on trending markets.
* ``momentum``: "the trend continues": ``P(up) = 0.5 + 0.5 tanh(m / s)`` from a momentum signal ``m`` of one
  feature column (``s``: its spread on the training windows). Nothing but ``s`` is fit. Binary, unless
  told that ``k > 2`` classes are ordered from "down" to "up" (``down, flat, up``; ``ordered=True``): the
  sign of the move then maps to the first and the last class: ``P(last) = P(up)``,
  ``P(first) = 1 - P(up)``, 0 for the classes between.
* ``logreg``: standardised logistic regression on :func:`window_summary` features.
* ``rf``: a random forest on :func:`window_summary` features.
* ``xgb``: gradient-boosted trees (the ``xgboost`` package, ``pip install 'neural_trader[xgb]'``) on
  :func:`window_summary` features.
* ``stack``: a stacking ensemble of the classical baselines, out-of-fold predictions made in time order
  (:mod:`neural_trader.models.stacking`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar, Literal, TypeVar

import numpy as np

from neural_trader.errors import ConfigError, DataError, ShapeError
from neural_trader.validation import positive_int

BASELINES: dict[str, type[Baseline]] = {}
B = TypeVar("B", bound="Baseline")


def register_baseline(cls: type[B]) -> type[B]:
    """Class decorator adding a baseline to :data:`BASELINES` under its ``registry_name``."""
    BASELINES[cls.registry_name] = cls
    return cls


def window_summary(windows: np.ndarray, last_steps: int = 5) -> np.ndarray:
    """Flat tabular features of windows: the last ``last_steps`` steps, plus each feature's mean and std.

    A tabular model cannot use ``T * F`` raw inputs well with a few thousand samples; the most recent
    steps and the window's level and spread carry most of what it can use.

    Example:
        >>> window_summary(np.zeros((4, 10, 3)), last_steps=2).shape
        (4, 12)
    """
    x = _check_windows(windows)
    k = min(int(last_steps), x.shape[1])
    return np.concatenate([x[:, -k:, :].reshape(len(x), -1), x.mean(axis=1), x.std(axis=1)], axis=1)


def _check_windows(windows: Any) -> np.ndarray:
    x = np.asarray(windows, dtype=np.float64)
    if x.ndim != 3 or x.shape[0] < 1 or x.shape[1] < 1:
        raise ShapeError(f"windows must be (N >= 1, T >= 1, F), got shape {x.shape}")
    if not np.isfinite(x).all():
        raise DataError("windows contain NaN or Inf")
    return x


def _check_labels(labels: Any, n: int) -> np.ndarray:
    y = np.asarray(labels)
    if y.shape != (n,):
        raise ShapeError(f"labels must be ({n},), got shape {y.shape}")
    if not np.isfinite(y.astype(np.float64)).all() or (y != np.round(y)).any() or (y < 0).any():
        raise DataError("labels must be integers >= 0 (class indices)")
    return y.astype(np.int64)


class Baseline(ABC):
    """Common interface of the baselines; subclasses implement ``_fit`` and ``_proba``.

    Attributes:
        num_classes: ``max(label) + 1`` (at least 2), set by :meth:`fit`.
    """

    registry_name: ClassVar[str]
    num_classes: int = 0

    def fit(self: B, windows: np.ndarray, labels: np.ndarray) -> B:
        """Fits on training windows ``(N, T, F)`` and class labels ``(N,)``; returns ``self``.

        Raises:
            ShapeError: bad shapes. DataError: NaN/Inf windows, labels that are not class indices.
        """
        x = _check_windows(windows)
        y = _check_labels(labels, len(x))
        self.num_classes = max(2, int(y.max()) + 1)
        self._fit(x, y)
        return self

    def predict_proba(self, windows: np.ndarray) -> np.ndarray:
        """Class probabilities ``(N, num_classes)``, rows summing to 1.

        Raises:
            ConfigError: called before :meth:`fit`.
        """
        if not self.num_classes:
            raise ConfigError(f"{type(self).__name__} must be fit before predicting")
        return self._proba(_check_windows(windows))

    def predict(self, windows: np.ndarray) -> np.ndarray:
        """Most probable class per window ``(N,)``."""
        return self.predict_proba(windows).argmax(axis=1)

    @abstractmethod
    def _fit(self, x: np.ndarray, y: np.ndarray) -> None: ...

    @abstractmethod
    def _proba(self, x: np.ndarray) -> np.ndarray: ...


@register_baseline
class MajorityBaseline(Baseline):
    """Predicts the training class frequencies for every window.

    Example:
        >>> m = MajorityBaseline().fit(np.zeros((4, 3, 1)), np.array([1, 1, 1, 0]))
        >>> m.predict_proba(np.zeros((1, 3, 1))).tolist(), m.predict(np.zeros((2, 3, 1))).tolist()
        ([[0.25, 0.75]], [1, 1])
    """

    registry_name = "majority"

    def _fit(self, x: np.ndarray, y: np.ndarray) -> None:
        self.prior_ = np.bincount(y, minlength=self.num_classes) / len(y)

    def _proba(self, x: np.ndarray) -> np.ndarray:
        return np.tile(self.prior_, (len(x), 1))


@register_baseline
class MomentumBaseline(Baseline):
    """Trend following on one feature column: up if the recent move of that column is up.

    Args:
        column: feature index of the signal.
        lookback: steps of the move (``kind`` ``"sum"`` and ``"change"``).
        kind: ``"last"``: the column already is a momentum (e.g. ``log_return_20``): ``m = x[-1]``;
            ``"sum"``: the column is a one-bar return: ``m = sum of the last lookback values``;
            ``"change"``: the column is a price level: ``m = x[-1] - x[-1 - lookback]``.
        zero: value of the column that means "no move", subtracted per step before the signal is formed
            (for a z-scored return column that is ``-mean / std`` of the scaler, not 0).
        ordered: the classes are ordered from "down" (the first) to "up" (the last), so any number of
            them can be fit; without it only two classes are.

    Example:
        >>> x = np.cumsum(np.ones((2, 10, 1)), axis=1) * np.array([1, -1])[:, None, None]
        >>> MomentumBaseline(kind="change", lookback=5).fit(x, np.array([1, 0])).predict(x).tolist()
        [1, 0]
    """

    registry_name = "momentum"

    def __init__(
        self,
        column: int = 0,
        lookback: int = 20,
        kind: Literal["last", "sum", "change"] = "sum",
        zero: float = 0.0,
        ordered: bool = False,
    ) -> None:
        if kind not in ("last", "sum", "change"):
            raise ConfigError(f"kind must be 'last', 'sum' or 'change', got {kind!r}")
        lookback = positive_int("lookback", lookback)
        self.column, self.lookback, self.kind, self.zero = column, lookback, kind, float(zero)
        self.ordered = bool(ordered)

    def signal(self, windows: np.ndarray) -> np.ndarray:
        """The momentum ``m`` of each window ``(N,)``."""
        x = _check_windows(windows)
        if not 0 <= self.column < x.shape[2]:
            raise ConfigError(f"column {self.column} is out of range for {x.shape[2]} features")
        col = x[:, :, self.column] - self.zero
        if self.kind == "last":
            return col[:, -1]
        if self.kind == "sum":
            return col[:, -self.lookback :].sum(axis=1)
        back = min(self.lookback, col.shape[1] - 1)
        return col[:, -1] - col[:, -1 - back]

    def _fit(self, x: np.ndarray, y: np.ndarray) -> None:
        if self.num_classes != 2 and not self.ordered:
            raise ConfigError(
                f"momentum is a binary (down/up) baseline, got {self.num_classes} classes; with classes "
                "ordered from down to up, pass ordered=True"
            )
        spread = float(np.std(self.signal(x)))
        self.scale_ = spread if spread > 0 else 1.0

    def _proba(self, x: np.ndarray) -> np.ndarray:
        up = 0.5 + 0.5 * np.tanh(self.signal(x) / self.scale_)
        out = np.zeros((len(up), self.num_classes))
        out[:, 0], out[:, -1] = 1.0 - up, up
        return out


class _SklearnBaseline(Baseline):
    """A scikit-learn classifier on :func:`window_summary` features; probabilities for every class."""

    last_steps: int

    def _estimator(self) -> Any:
        raise NotImplementedError

    def _fit(self, x: np.ndarray, y: np.ndarray) -> None:
        self.estimator_ = self._estimator().fit(window_summary(x, self.last_steps), y)

    def _proba(self, x: np.ndarray) -> np.ndarray:
        proba = self.estimator_.predict_proba(window_summary(x, self.last_steps))
        # A class absent from the training labels gets probability 0 in its own column.
        out = np.zeros((len(x), self.num_classes))
        out[:, self.estimator_.classes_] = proba
        return out


@register_baseline
class LogRegBaseline(_SklearnBaseline):
    """Standardised L2 logistic regression on :func:`window_summary` features.

    Args:
        last_steps: recent steps kept per window.
        C: inverse regularisation strength; small, because daily returns are mostly noise.
        class_weight: ``"balanced"`` re-weights classes by inverse frequency; ``None`` does not.

    Example:
        >>> x = np.random.default_rng(0).normal(size=(200, 6, 2)); y = (x[:, -1, 0] > 0).astype(int)
        >>> float((LogRegBaseline().fit(x, y).predict(x) == y).mean()) > 0.9
        True
    """

    registry_name = "logreg"

    def __init__(self, last_steps: int = 5, C: float = 0.1, class_weight: str | None = "balanced") -> None:
        self.last_steps, self.C, self.class_weight = last_steps, C, class_weight

    def _estimator(self) -> Any:
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        model = LogisticRegression(C=self.C, class_weight=self.class_weight, max_iter=2000)
        return make_pipeline(StandardScaler(), model)


@register_baseline
class RandomForestBaseline(_SklearnBaseline):
    """Random forest on :func:`window_summary` features; shallow, large leaves (noisy targets).

    Args:
        last_steps: recent steps kept per window.
        n_estimators, max_depth, min_samples_leaf: forest size; defaults favour bias over variance.
        class_weight: passed to scikit-learn (``"balanced_subsample"`` re-weights per tree).
        seed: random state, for reproducible forests.
        n_jobs: worker processes of scikit-learn.

    Example:
        >>> x = np.random.default_rng(0).normal(size=(300, 6, 2)); y = (x[:, -1, 0] > 0).astype(int)
        >>> float((RandomForestBaseline(n_estimators=20).fit(x, y).predict(x) == y).mean()) > 0.9
        True
    """

    registry_name = "rf"

    def __init__(
        self,
        last_steps: int = 5,
        n_estimators: int = 200,
        max_depth: int | None = 6,
        min_samples_leaf: int = 20,
        class_weight: str | None = "balanced_subsample",
        seed: int = 0,
        n_jobs: int | None = None,
    ) -> None:
        self.last_steps, self.n_estimators, self.max_depth = last_steps, n_estimators, max_depth
        self.min_samples_leaf, self.class_weight, self.seed, self.n_jobs = (
            min_samples_leaf,
            class_weight,
            seed,
            n_jobs,
        )

    def _estimator(self) -> Any:
        from sklearn.ensemble import RandomForestClassifier

        return RandomForestClassifier(
            n_estimators=self.n_estimators,
            max_depth=self.max_depth,
            min_samples_leaf=self.min_samples_leaf,
            class_weight=self.class_weight,
            random_state=self.seed % 2**32,  # scikit-learn and xgboost take 32-bit seeds
            n_jobs=self.n_jobs,
        )


#: The install command that brings the ``xgboost`` package.
XGB_EXTRA = "pip install 'neural_trader[xgb]'"


def import_xgboost() -> Any:
    """The ``xgboost`` module.

    Raises:
        ConfigError: it is not installed, naming the extra that installs it.
    """
    try:
        import xgboost
    except ImportError:
        raise ConfigError(
            f"the xgb baseline needs the xgboost package, which is not installed: {XGB_EXTRA}"
        ) from None
    return xgboost


@register_baseline
class XGBoostBaseline(_SklearnBaseline):
    """Gradient-boosted trees (xgboost) on :func:`window_summary` features; shallow trees, shrinkage.

    Args:
        last_steps: recent steps kept per window.
        n_estimators, max_depth, learning_rate: boosting rounds, tree depth, shrinkage; defaults favour
            bias over variance (noisy targets).
        subsample, colsample_bytree: row and column subsampling per tree.
        min_child_weight: smallest summed hessian of a leaf (large leaves, as for ``rf``).
        balanced: weight samples by inverse class frequency (like the other baselines' class weights).
        seed: random state. n_jobs: threads of xgboost.

    Raises:
        ConfigError: the ``xgboost`` package is not installed (``pip install 'neural_trader[xgb]'``).

    Example:
        >>> x = np.random.default_rng(0).normal(size=(300, 6, 2)); y = (x[:, -1, 0] > 0).astype(int)
        >>> float((XGBoostBaseline(n_estimators=50).fit(x, y).predict(x) == y).mean()) > 0.9
        True
    """

    registry_name = "xgb"

    def __init__(
        self,
        last_steps: int = 5,
        n_estimators: int = 200,
        max_depth: int = 3,
        learning_rate: float = 0.05,
        subsample: float = 0.8,
        colsample_bytree: float = 0.8,
        min_child_weight: float = 5.0,
        balanced: bool = True,
        seed: int = 0,
        n_jobs: int | None = None,
    ) -> None:
        import_xgboost()
        self.last_steps, self.n_estimators, self.max_depth = last_steps, n_estimators, max_depth
        self.learning_rate, self.subsample = learning_rate, subsample
        self.colsample_bytree, self.min_child_weight = colsample_bytree, min_child_weight
        self.balanced, self.seed, self.n_jobs = balanced, seed, n_jobs

    def _estimator(self) -> Any:
        return import_xgboost().XGBClassifier(
            n_estimators=self.n_estimators,
            max_depth=self.max_depth,
            learning_rate=self.learning_rate,
            subsample=self.subsample,
            colsample_bytree=self.colsample_bytree,
            min_child_weight=self.min_child_weight,
            tree_method="hist",
            random_state=self.seed % 2**32,  # scikit-learn and xgboost take 32-bit seeds
            n_jobs=self.n_jobs,
        )

    def _fit(self, x: np.ndarray, y: np.ndarray) -> None:
        self.present_ = np.unique(y)
        self.estimator_ = None
        if len(self.present_) < 2:
            return  # xgboost refuses one class; like the forest, predict it with certainty
        # xgboost wants labels 0..K-1 with none missing: fit on the ranks of the classes present.
        ranks = np.searchsorted(self.present_, y)
        weight = None
        if self.balanced:
            counts = np.bincount(ranks)
            weight = (len(ranks) / (len(counts) * counts))[ranks]
        self.estimator_ = self._estimator()
        self.estimator_.fit(window_summary(x, self.last_steps), ranks, sample_weight=weight)

    def _proba(self, x: np.ndarray) -> np.ndarray:
        out = np.zeros((len(x), self.num_classes))
        if self.estimator_ is None:
            out[:, self.present_] = 1.0
        else:
            out[:, self.present_] = self.estimator_.predict_proba(window_summary(x, self.last_steps))
        return out
