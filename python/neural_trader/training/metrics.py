"""Evaluation metrics in plain numpy: classification (from labels or probabilities) and regression.

Definitions follow scikit-learn's (tests compare them on random inputs), with one deliberate difference:
a metric that is undefined on the data (ROC-AUC with a single class present, a correlation of a constant)
returns NaN instead of raising or warning, so an evaluation loop reports it rather than dies.

Example:
    >>> y = np.array([0, 1, 1, 0]); p = np.array([0.2, 0.9, 0.4, 0.3])
    >>> classification_metrics(y, np.stack([1 - p, p], axis=1))["roc_auc"]
    1.0
"""

from __future__ import annotations

import numpy as np


def _labels(y: np.ndarray) -> np.ndarray:
    return np.asarray(y).astype(np.int64).ravel()


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int | None = None) -> np.ndarray:
    """``(C, C)`` counts, rows = true class, columns = predicted class.

    Example:
        >>> confusion_matrix(np.array([0, 1, 1]), np.array([0, 0, 1])).tolist()
        [[1, 0], [1, 1]]
    """
    t, p = _labels(y_true), _labels(y_pred)
    k = num_classes or int(max(t.max(initial=0), p.max(initial=0))) + 1
    return np.bincount(t * k + p, minlength=k * k).reshape(k, k)


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Fraction of exact matches.

    Example:
        >>> accuracy(np.array([0, 1, 1]), np.array([0, 0, 1]))
        0.6666666666666666
    """
    return float(np.mean(_labels(y_true) == _labels(y_pred)))


def per_class_recall(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int | None = None) -> np.ndarray:
    """Recall of each class ``(C,)``; NaN for a class absent from ``y_true``.

    Example:
        >>> per_class_recall(np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1])).tolist()
        [0.5, 1.0]
    """
    cm = confusion_matrix(y_true, y_pred, num_classes)
    support = cm.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(support > 0, np.diag(cm) / np.maximum(support, 1), np.nan)


def per_class_precision(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int | None = None) -> np.ndarray:
    """Precision of each class ``(C,)``: of the windows predicted as the class, the share that are; 0 for a
    class never predicted (scikit-learn's default ``zero_division``).

    Example:
        >>> per_class_precision(np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1])).tolist()
        [1.0, 0.6666666666666666]
    """
    cm = confusion_matrix(y_true, y_pred, num_classes)
    predicted = cm.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(predicted > 0, np.diag(cm) / np.maximum(predicted, 1), 0.0)


def per_class_f1(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int | None = None) -> np.ndarray:
    """F1 of each class ``(C,)``, the harmonic mean of its precision and recall:
    ``2 TP / (2 TP + FP + FN)``; 0 for a class neither present nor predicted (scikit-learn's default).

    Example:
        >>> per_class_f1(np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1])).round(3).tolist()
        [0.667, 0.8]
    """
    cm = confusion_matrix(y_true, y_pred, num_classes)
    tp = np.diag(cm).astype(np.float64)
    denominator = cm.sum(axis=0) + cm.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, 2.0 * tp / np.maximum(denominator, 1), 0.0)


def balanced_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean recall over the classes present in ``y_true``; 0.5 for any constant binary prediction.

    Example:
        >>> balanced_accuracy(np.array([0, 1, 1, 1]), np.array([1, 1, 1, 1]))
        0.5
    """
    return float(np.nanmean(per_class_recall(y_true, y_pred)))


def mcc(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Matthews correlation coefficient (multi-class form of Gorodkin); 0 when either side is constant.

    Example:
        >>> mcc(np.array([0, 1, 0, 1]), np.array([0, 1, 0, 1]))
        1.0
    """
    cm = confusion_matrix(y_true, y_pred).astype(np.float64)
    t, p = cm.sum(axis=1), cm.sum(axis=0)
    correct, s = np.trace(cm), cm.sum()
    cov_tp = correct * s - t @ p
    cov_pp, cov_tt = s * s - p @ p, s * s - t @ t
    if cov_pp * cov_tt == 0:
        return 0.0
    return float(cov_tp / np.sqrt(cov_tt * cov_pp))


def _binary_auc(y: np.ndarray, score: np.ndarray) -> float:
    positives = y == 1
    n_pos, n_neg = int(positives.sum()), int((~positives).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    # Mann-Whitney U with average ranks for ties: the probability a positive outranks a negative.
    order = np.argsort(score, kind="mergesort")
    sorted_scores = score[order]
    ranks = np.empty(len(score))
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    average = first + (counts - 1) / 2.0 + 1.0
    ranks[order] = np.repeat(average, counts)
    u = ranks[positives].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def roc_auc(y_true: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve; NaN when only one class is present.

    Args:
        y_true: class labels ``(N,)``.
        score: ``(N,)`` score of class 1 (binary), or ``(N, C)`` probabilities: the score of class 1 when
            ``C == 2``, else the unweighted mean of one-vs-rest AUCs over the classes present.

    Example:
        >>> roc_auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.6, 0.4, 0.9]))
        0.75
    """
    y, s = _labels(y_true), np.asarray(score, dtype=np.float64)
    if s.ndim == 2 and s.shape[1] == 2:
        s = s[:, 1]
    if s.ndim == 1:
        return _binary_auc(y, s)
    aucs = [_binary_auc((y == k).astype(np.int64), s[:, k]) for k in np.unique(y)]
    return float(np.mean(aucs)) if len(aucs) > 1 else float("nan")


def brier(y_true: np.ndarray, proba: np.ndarray) -> float:
    """Brier score: ``mean((p_up - y)^2)`` for two classes, ``mean(sum_k (p_k - [y = k])^2)`` for more.

    Args:
        y_true: class labels ``(N,)``.
        proba: ``(N,)`` probability of class 1, or ``(N, C)`` class probabilities.

    Example:
        >>> brier(np.array([0, 1]), np.array([0.0, 0.5]))
        0.125
    """
    y, p = _labels(y_true), np.asarray(proba, dtype=np.float64)
    if p.ndim == 1:
        p = np.stack([1.0 - p, p], axis=1)
    onehot = np.eye(p.shape[1])[y]
    total = np.sum((p - onehot) ** 2, axis=1)
    # Both classes carry the same error in the binary case; halving gives the usual one-sided definition.
    return float(np.mean(total) / (2.0 if p.shape[1] == 2 else 1.0))


def mse(pred: np.ndarray, target: np.ndarray) -> float:
    """Mean squared error.

    Example:
        >>> mse(np.array([1.0, 2.0]), np.array([1.0, 4.0]))
        2.0
    """
    return float(np.mean((np.asarray(pred, np.float64) - np.asarray(target, np.float64)) ** 2))


def rmse(pred: np.ndarray, target: np.ndarray) -> float:
    """Root mean squared error.

    Example:
        >>> rmse(np.array([0.0, 0.0]), np.array([3.0, 4.0]))  # sqrt((9 + 16) / 2)
        3.5355339059327378
    """
    return float(np.sqrt(mse(pred, target)))


def mae(pred: np.ndarray, target: np.ndarray) -> float:
    """Mean absolute error.

    Example:
        >>> mae(np.array([1.0, 2.0]), np.array([0.0, 4.0]))
        1.5
    """
    return float(np.mean(np.abs(np.asarray(pred, np.float64) - np.asarray(target, np.float64))))


def correlation(pred: np.ndarray, target: np.ndarray) -> float:
    """Pearson correlation; NaN when either side is constant.

    Example:
        >>> correlation(np.array([1.0, 2.0, 3.0]), np.array([2.0, 4.0, 7.0])) > 0.99
        True
    """
    a = np.asarray(pred, np.float64).ravel() - np.mean(pred)
    b = np.asarray(target, np.float64).ravel() - np.mean(target)
    denominator = np.sqrt((a @ a) * (b @ b))
    return float(a @ b / denominator) if denominator > 0 else float("nan")


def _average_ranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="mergesort")
    sorted_values = values[order]
    _, first, counts = np.unique(sorted_values, return_index=True, return_counts=True)
    ranks = np.empty(len(values))
    ranks[order] = np.repeat(first + (counts - 1) / 2.0, counts)
    return ranks


def rank_correlation(pred: np.ndarray, target: np.ndarray) -> float:
    """Spearman rank correlation (average ranks for ties), the *information coefficient* of a forecast;
    NaN when either side is constant.

    Example:
        >>> rank_correlation(np.array([1.0, 2.0, 3.0]), np.array([1.0, 10.0, 100.0]))
        1.0
    """
    a = np.asarray(pred, np.float64).ravel()
    b = np.asarray(target, np.float64).ravel()
    return correlation(_average_ranks(a), _average_ranks(b))


def direction_accuracy(pred: np.ndarray, target: np.ndarray) -> float:
    """Fraction of samples where prediction and target have the same sign (zero counts as its own sign).

    Example:
        >>> direction_accuracy(np.array([0.1, -0.2, 0.3]), np.array([0.5, 0.1, 0.2]))
        0.6666666666666666
    """
    return float(np.mean(np.sign(np.asarray(pred)) == np.sign(np.asarray(target))))


def classification_metrics(y_true: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    """Every classification metric from labels ``(N,)`` and class probabilities ``(N, C)``.

    Keys: ``accuracy``, ``balanced_accuracy``, ``mcc``, ``roc_auc``, ``brier``, and per class ``k``:
    ``recall_{k}``, ``precision_{k}``, ``f1_{k}``.

    Example:
        >>> m = classification_metrics(np.array([0, 1]), np.array([[0.8, 0.2], [0.3, 0.7]]))
        >>> m["accuracy"], m["recall_1"], m["precision_0"], m["f1_1"]
        (1.0, 1.0, 1.0, 1.0)
    """
    p = np.asarray(proba, dtype=np.float64)
    y = _labels(y_true)
    pred = p.argmax(axis=1)
    out = {
        "accuracy": accuracy(y, pred),
        "balanced_accuracy": balanced_accuracy(y, pred),
        "mcc": mcc(y, pred),
        "roc_auc": roc_auc(y, p),
        "brier": brier(y, p),
    }
    c = p.shape[1]
    for name, values in (
        ("recall", per_class_recall(y, pred, num_classes=c)),
        ("precision", per_class_precision(y, pred, num_classes=c)),
        ("f1", per_class_f1(y, pred, num_classes=c)),
    ):
        for k, v in enumerate(values):
            out[f"{name}_{k}"] = float(v)
    return out


def regression_metrics(pred: np.ndarray, target: np.ndarray) -> dict[str, float]:
    """Every regression metric: ``mse``, ``rmse``, ``mae``, ``correlation``, ``ic`` (the rank
    correlation), ``direction_accuracy``.

    Example:
        >>> regression_metrics(np.array([1.0, -1.0]), np.array([2.0, -2.0]))["direction_accuracy"]
        1.0
    """
    return {
        "mse": mse(pred, target),
        "rmse": rmse(pred, target),
        "mae": mae(pred, target),
        "correlation": correlation(pred, target),
        "ic": rank_correlation(pred, target),
        "direction_accuracy": direction_accuracy(pred, target),
    }
