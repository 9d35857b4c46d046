"""Hostile series for the window gather of constant-memory training (``kernels.gather_windows`` and the
raw ``_core.gather_windows``): every family of ``rel_cases_arrays`` (NaN/Inf, converted and refused
dtypes, layouts, ranks, zero sizes, huge views), applied to the series argument. The gathered windows
must equal those of the documented conversion of the same series, or the error must be typed.
"""

from __future__ import annotations

import numpy as np
from rel_cases_arrays import ArrayFn, _kernel_target, register_family
from rel_fixtures import windows

from neural_trader import _core, kernels
from neural_trader.errors import ShapeError

STARTS = np.array([0, 6, 2, 6], dtype=np.int64)  # any order, a repeat, the last possible start

FUNCTIONS = [
    ArrayFn(
        "kernels.gather_windows",
        lambda x: kernels.gather_windows(x, STARTS, 3),
        lambda: windows(1, 9, 3, seed=12)[0],
        _kernel_target,
        {0: (ShapeError,), 1: (ShapeError,)},
    ),
    ArrayFn(
        "kernels.gather_windows.zscored_into_buffer",
        lambda x: kernels.gather_windows(
            x, STARTS, 3, mean=np.zeros(3), std=np.full(3, 2.0), out=np.empty((4, 3, 3), np.float32)
        ),
        lambda: windows(1, 9, 3, seed=13)[0],
        _kernel_target,
        {0: (ShapeError,), 1: (ShapeError,)},
        slow_only=True,
    ),
    ArrayFn(
        "_core.gather_windows",
        lambda x: _core.gather_windows(x, STARTS, 3),
        lambda: windows(1, 9, 3, seed=14)[0],
        None,
        {0: (ShapeError,), 1: (ShapeError,)},
        raw_dtypes=("float32", "float64"),
    ),
]

for _fn in FUNCTIONS:
    register_family(_fn)
