"""Purged k-fold and combinatorial purged cross-validation (CPCV) over samples with label spans.

Each sample is predicted at row ``t0`` and its label reads rows up to ``t1`` (its actual end: the
barrier hit for triple-barrier labels). Training samples whose label span overlaps a test span are purged,
those starting within ``embargo`` rows after a test block's last label end are embargoed, and CPCV's
splits tile complete backtest paths. References: Lopez de Prado, "Advances in Financial Machine
Learning" (2018), ch. 7 and 12.

Example:
    >>> import numpy as np
    >>> from neural_trader.data.cv import combinatorial_purged_cv
    >>> t0 = np.arange(300); t1 = t0 + 5
    >>> cv = combinatorial_purged_cv(t0, t1, n_groups=6, n_test_groups=2, embargo=5)
    >>> len(cv), cv.n_paths
    (15, 5)
    >>> train, test = next(iter(cv))
    >>> int(train.min()) - int(test.max())   # 5 rows purged, 5 embargoed after the test block
    11
"""

from neural_trader.data.cv.groups import MAX_SPLITS, backtest_paths, group_bounds, n_backtest_paths
from neural_trader.data.cv.purged_cv import PURGED_CV_FORMAT, PurgedCV, PurgedSplit
from neural_trader.data.cv.purging import combinatorial_purged_cv, purged_kfold, purged_train
from neural_trader.data.cv.spans import label_spans, spans_digest

__all__ = [
    "MAX_SPLITS",
    "PURGED_CV_FORMAT",
    "PurgedCV",
    "PurgedSplit",
    "backtest_paths",
    "combinatorial_purged_cv",
    "group_bounds",
    "label_spans",
    "n_backtest_paths",
    "purged_kfold",
    "purged_train",
    "spans_digest",
]
