"""Fast data kernels backed by Rust (``crates/nt-core/src/kernels``): sliding windows, the window gather of
constant-memory training, z-score statistics, masks for masked pre-training, OHLCV augmentation, and
triple-barrier labels (:func:`triple_barrier`, from :mod:`neural_trader.barriers`).

Every function takes numpy arrays (or anything ``np.asarray`` accepts) and returns new numpy arrays
(:func:`gather_windows` can instead fill a buffer you pass). The work runs in Rust with the GIL released,
in parallel over windows or rows on rayon's thread pool, whose size is ``RAYON_NUM_THREADS`` when set
before the first call and the number of cores otherwise. Random kernels seed one generator per row from
``(seed, row)``, so results depend on the seed only, never on the thread count.

Input conversion, done here before calling the extension:

* float32 and float64 are used as they are; float16 becomes float32, other real dtypes (integers,
  long double) become float64. Object, complex, bool, string and datetime arrays raise ``DataError``.
* Non-contiguous, Fortran-ordered, unaligned or non-native-endian arrays are copied once into a
  C-contiguous native array (``np.require``). C-contiguous float32/float64 input is never copied.
* A wrong number of dimensions raises ``ShapeError``; bad parameters raise ``ConfigError``; NaN or Inf
  in the data raises ``DataError`` naming the first bad row and column.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from neural_trader import _core
from neural_trader._kernel_args import as_rows as _as_rows
from neural_trader._kernel_args import count as _count
from neural_trader._kernel_args import real as _real
from neural_trader._kernel_args import seed as _seed
from neural_trader.arrays import as_real_array as _as_array
from neural_trader.barriers import triple_barrier
from neural_trader.errors import ConfigError
from neural_trader.recipe import JITTER_PROB, PATCH_SIZE, TIME_WARP_PROB, VOL_SCALE_PROB


def sliding_windows(
    series: npt.ArrayLike,
    window: int,
    stride: int = 1,
    mean: npt.ArrayLike | None = None,
    std: npt.ArrayLike | None = None,
) -> npt.NDArray[np.float32]:
    """Cuts a ``(T, F)`` series into overlapping windows, optionally z-scored on the fly.

    Window ``i`` covers rows ``[i * stride, i * stride + window)``; there are
    ``N = (T - window) // stride + 1`` of them, and trailing rows that no window reaches are ignored
    (not even checked for NaN). With ``mean`` and ``std`` each value is written as
    ``(x - mean[f]) * (1 / std[f])``, computed in float64 and rounded once to float32; each input value
    is normalised once, not once per window that contains it (overlapping windows are copied from a
    float32 normalised copy of the rows, made once). The result is a fresh C-contiguous array built in
    Rust and handed to numpy without another copy.

    Args:
        series: ``(T, F)`` values, float32 or float64 (others are converted, see the module doc).
        window: rows per window, ``1 <= window <= T``.
        stride: rows between the starts of consecutive windows, ``>= 1``.
        mean: ``(F,)`` per-feature means (float64), e.g. from :func:`zscore_stats`. Pass both or neither.
        std: ``(F,)`` per-feature standard deviations, all finite and ``> 0``.

    Returns:
        ``(N, window, F)`` float32 array.

    Raises:
        ShapeError: ``series`` not 2-D, ``window > T``, ``mean``/``std`` not of shape ``(F,)``.
        ConfigError: ``window`` or ``stride`` below 1, only one of ``mean``/``std``, a std ``<= 0`` or a
            non-finite mean/std, an output too large to address.
        DataError: NaN/Inf in the rows covered by windows (names the row and column), unsupported dtype.

    Example:
        >>> x = np.arange(12, dtype=np.float32).reshape(6, 2)
        >>> sliding_windows(x, window=3, stride=2).shape
        (2, 3, 2)
        >>> sliding_windows(x, 3, 2)[1, 0]
        array([4., 5.], dtype=float32)
    """
    arr = _as_array(series, "series", 2, "(T, F)")
    window = _count(window, "window")
    stride = _count(stride, "stride")
    if (mean is None) != (std is None):
        raise ConfigError("pass both mean and std, or neither")
    if mean is None or std is None:
        return _core.sliding_windows(arr, window, stride)
    mean_arr = _as_array(mean, "mean", 1, "(F,)")
    std_arr = _as_array(std, "std", 1, "(F,)")
    return _core.sliding_windows(
        arr, window, stride, mean_arr.astype(np.float64, copy=False), std_arr.astype(np.float64, copy=False)
    )


def zscore_stats(
    series: npt.ArrayLike, start: int = 0, stop: int | None = None
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Per-feature mean and population standard deviation over rows ``[start, stop)`` only.

    Fit these on training rows and normalise every split with them, so no statistic leaks from the
    future. Sums are float64 and two-pass, combined in a fixed order: the same bits whatever the
    thread count. A column that is constant over the rows gets its value as mean and ``std = 1.0``
    (not 0), so normalising with the result is always safe and maps that column to exactly 0.

    Args:
        series: ``(T, F)`` values, float32 or float64.
        start: first row, ``0 <= start < stop``. Negative indices are not supported.
        stop: end row (exclusive), ``<= T``; ``None`` means ``T``.

    Returns:
        ``(mean, std)``, two float64 arrays of shape ``(F,)``; every std is finite and ``> 0``.

    Raises:
        ShapeError: ``series`` not 2-D. ConfigError: an empty range or one past the end.
        DataError: NaN/Inf within the rows, unsupported dtype.

    Example:
        >>> x = np.array([[1.0, 5.0], [3.0, 5.0], [100.0, 6.0]])
        >>> zscore_stats(x, 0, 2)
        (array([2., 5.]), array([1., 1.]))
    """
    arr = _as_array(series, "series", 2, "(T, F)")
    start = _count(start, "start")
    stop = None if stop is None else _count(stop, "stop")
    return _core.zscore_stats(arr, start, stop)


def zscore(series: npt.ArrayLike, mean: npt.ArrayLike, std: npt.ArrayLike) -> npt.NDArray[np.float32]:
    """Normalises a whole ``(T, F)`` series as ``(x - mean) / std`` per feature, to float32.

    The same arithmetic as :func:`sliding_windows` with ``mean``/``std`` (it is one window of ``T`` rows).

    Args:
        series: ``(T, F)`` values. mean: ``(F,)`` means. std: ``(F,)`` standard deviations ``> 0``.

    Returns:
        ``(T, F)`` float32 array.

    Raises:
        The errors of :func:`sliding_windows`.

    Example:
        >>> x = np.array([[1.0, 10.0], [3.0, 30.0]])
        >>> zscore(x, *zscore_stats(x))
        array([[-1., -1.],
               [ 1.,  1.]], dtype=float32)
    """
    arr = _as_array(series, "series", 2, "(T, F)")
    out = sliding_windows(arr, max(arr.shape[0], 1), 1, mean, std)
    return out.reshape(arr.shape)


def mask(
    n: int,
    length: int,
    ratio: float = 0.15,
    strategy: str = "random",
    patch_size: int = PATCH_SIZE,
    seed: int = 0,
) -> npt.NDArray[np.bool_]:
    """Boolean masks (``True`` = masked) for masked-reconstruction pre-training.

    Strategies (``round(x)`` is ``floor(x + 0.5)``):

    * ``"random"``: exactly ``round(ratio * length)`` steps per row, a uniformly random subset.
    * ``"block"``: exactly ``round(ratio * length)`` steps per row in contiguous runs; ``patch_size`` is
      the mean run length: ``m = round(k / patch_size)`` runs (at least 1, at most what fits with a
      visible step between runs), of random lengths, at random non-touching positions.
    * ``"patch"``: whole patches ``[j * patch_size, (j + 1) * patch_size)`` of the patch grid;
      ``round(ratio * P)`` of the ``P = length // patch_size`` complete patches, at least one (also at
      ratio 0). A trailing partial patch is never masked.

    Row ``r`` depends only on ``(seed, r)``: the same seed gives the same masks on any number of threads,
    and the first rows of a larger batch equal a smaller batch.

    Args:
        n: number of rows (samples), ``>= 0``.
        length: steps per row, ``>= 1``.
        ratio: fraction to mask, in ``[0, 1)``.
        strategy: ``"random"``, ``"block"`` or ``"patch"``.
        patch_size: patch length for ``"patch"`` (``1..=length``), mean run length for ``"block"`` (``>= 1``);
            ignored by ``"random"``. Default: the recipe's 7 (:data:`neural_trader.recipe.PATCH_SIZE`).
        seed: integer in ``[0, 2**64)``.

    Returns:
        ``(n, length)`` bool array.

    Raises:
        ConfigError: any parameter out of range, an unknown strategy, ``n * length`` too large.

    Example:
        >>> m = mask(4, 20, ratio=0.25, strategy="patch", patch_size=5, seed=1)
        >>> m.shape, m.sum(axis=1).tolist()
        ((4, 20), [5, 5, 5, 5])
    """
    if not isinstance(strategy, str):
        raise ConfigError(f"strategy must be a string, got {strategy!r}")
    return _core.mask(
        _count(n, "n"),
        _count(length, "length"),
        _real(ratio, "ratio"),
        strategy,
        _count(patch_size, "patch_size"),
        _seed(seed),
    )


def _augment_options(
    time_warp_prob: float,
    time_warp_max: float,
    jitter_prob: float,
    jitter_scale: float,
    vol_scale_prob: float,
    vol_scale_range: tuple[float, float],
) -> dict[str, Any]:
    try:
        lo, hi = vol_scale_range
    except (TypeError, ValueError):
        raise ConfigError(f"vol_scale_range must be a pair (lo, hi), got {vol_scale_range!r}") from None
    return {
        "time_warp_prob": _real(time_warp_prob, "time_warp_prob"),
        "time_warp_max": _real(time_warp_max, "time_warp_max"),
        "jitter_prob": _real(jitter_prob, "jitter_prob"),
        "jitter_scale": _real(jitter_scale, "jitter_scale"),
        "vol_scale_prob": _real(vol_scale_prob, "vol_scale_prob"),
        "vol_scale_range": (_real(lo, "vol_scale_range[0]"), _real(hi, "vol_scale_range[1]")),
    }


def augment(
    windows: npt.ArrayLike,
    time_warp_prob: float = TIME_WARP_PROB,
    time_warp_max: float = 0.12,
    jitter_prob: float = JITTER_PROB,
    jitter_scale: float = 0.05,
    vol_scale_prob: float = VOL_SCALE_PROB,
    vol_scale_range: tuple[float, float] = (0.85, 1.15),
    seed: int = 0,
) -> npt.NDArray[np.float32]:
    """Augments OHLC(V) windows; every output candle is valid.

    Columns are open, high, low, close and optionally volume. Each window gets, each with its own
    probability and in this order:

    * **time warp**: a smooth monotone warp of the time axis with both ends fixed (local speed of time
      drawn in ``[1 - time_warp_max, 1 + time_warp_max]`` at 5 knots, linear in between), values
      linearly interpolated at the warped times;
    * **jitter**: Gaussian noise with std ``jitter_scale`` times each feature's std within the window;
    * **volatility scaling**: both wicks scaled around the candle body by one factor drawn from
      ``vol_scale_range`` (open and close unchanged).

    Candles are repaired before and after each step (``high = max(high, open, close)``,
    ``low = min(low, open, close)``, ``volume = max(volume, 0)``), so every output row has
    ``high >= max(open, close)``, ``low <= min(open, close)`` and ``volume >= 0``, even rows that were
    invalid on input. Window ``i`` depends only on ``(seed, i)``.

    Args:
        windows: ``(N, W, 4)`` or ``(N, W, 5)``; computed in float32 (float64 input is converted).
        time_warp_prob: probability of the time warp, in ``[0, 1]``.
        time_warp_max: largest relative change of the speed of time, in ``[0, 1)``.
        jitter_prob: probability of jitter, in ``[0, 1]``.
        jitter_scale: noise std as a fraction of each feature's std in the window, ``>= 0``.
        vol_scale_prob: probability of volatility scaling, in ``[0, 1]``. The three probabilities default
            to the recipe's 0.5 / 0.5 / 0.3 (:mod:`neural_trader.recipe`).
        vol_scale_range: ``(lo, hi)`` with ``0 < lo <= hi``.
        seed: integer in ``[0, 2**64)``.

    Returns:
        float32 array of the same shape.

    Raises:
        ShapeError: not 3-D, or not 4/5 columns. ConfigError: a parameter out of range.
        DataError: NaN/Inf (names window, step and column), unsupported dtype.

    Example:
        >>> row = [100.0, 101.0, 99.0, 100.5, 1e6]
        >>> x = np.array([[row] * 8] * 2, dtype=np.float32)
        >>> y = augment(x, seed=3)
        >>> y.shape, bool((y[..., 1] >= np.maximum(y[..., 0], y[..., 3])).all())
        ((2, 8, 5), True)
    """
    arr = _as_array(windows, "windows", 3, "(N, W, 4) or (N, W, 5)", dtype=np.float32)
    options = _augment_options(
        time_warp_prob, time_warp_max, jitter_prob, jitter_scale, vol_scale_prob, vol_scale_range
    )
    return _core.augment(arr, seed=_seed(seed), **options)


def augment_dataset(
    windows: npt.ArrayLike,
    num_augmentations: int = 4,
    seed: int = 0,
    *,
    time_warp_prob: float = TIME_WARP_PROB,
    time_warp_max: float = 0.12,
    jitter_prob: float = JITTER_PROB,
    jitter_scale: float = 0.05,
    vol_scale_prob: float = VOL_SCALE_PROB,
    vol_scale_range: tuple[float, float] = (0.85, 1.15),
) -> npt.NDArray[np.float32]:
    """The original windows followed by ``num_augmentations`` augmented copies of them.

    Output window ``N * (j + 1) + i`` is window ``i`` augmented (see :func:`augment`) with the random
    stream ``N * j + i``; so the first copy equals ``augment(windows, seed=seed)`` and all copies are
    independent. The originals are copied verbatim (not repaired).

    Args:
        windows: ``(N, W, 4)`` or ``(N, W, 5)`` OHLC(V) windows.
        num_augmentations: augmented copies ``k >= 0``.
        seed: integer in ``[0, 2**64)``.
        time_warp_prob, time_warp_max, jitter_prob, jitter_scale, vol_scale_prob, vol_scale_range:
            as in :func:`augment`.

    Returns:
        ``((1 + k) * N, W, F)`` float32 array.

    Raises:
        The errors of :func:`augment`; ``ConfigError`` for a negative ``num_augmentations``.

    Example:
        >>> x = np.array([[[1.0, 2.0, 0.5, 1.5]] * 6] * 3, dtype=np.float32)
        >>> augment_dataset(x, num_augmentations=2, seed=0).shape
        (9, 6, 4)
    """
    arr = _as_array(windows, "windows", 3, "(N, W, 4) or (N, W, 5)", dtype=np.float32)
    options = _augment_options(
        time_warp_prob, time_warp_max, jitter_prob, jitter_scale, vol_scale_prob, vol_scale_range
    )
    return _core.augment_dataset(arr, _count(num_augmentations, "num_augmentations"), _seed(seed), **options)


def gather_windows(
    series: npt.ArrayLike,
    starts: npt.ArrayLike,
    window: int,
    *,
    mean: npt.ArrayLike | None = None,
    std: npt.ArrayLike | None = None,
    out: npt.NDArray[np.float32] | None = None,
) -> npt.NDArray[np.float32]:
    """Copies one batch of windows out of a ``(T, F)`` series into a buffer you reuse every batch.

    Window ``b`` covers rows ``[starts[b], starts[b] + window)``; starts come in any order and may repeat.
    This is how to train on data whose windows would not fit in memory: keep the ``(T, F)`` feature matrix,
    draw each batch's starts, and gather. Values are written as :func:`sliding_windows` writes them (the
    same float64 z-score arithmetic, rounded once), so ``gather_windows(x, s, w)`` equals
    ``sliding_windows(x, w)[s]`` bit for bit. The series is borrowed, never copied, when it is a
    C-contiguous float32/float64 array (others are converted once per call, see the module doc), and the
    copy runs in Rust without the GIL, in parallel over windows for large batches.

    Args:
        series: ``(T, F)`` values, float32 or float64.
        starts: ``(B,)`` integer rows, each in ``[0, T - window]``.
        window: rows per window, ``1 <= window <= T``.
        mean: ``(F,)`` per-feature means (float64); pass both ``mean`` and ``std`` or neither.
        std: ``(F,)`` per-feature standard deviations, finite and ``> 0``.
        out: a writeable C-contiguous float32 array of shape ``(B, window, F)`` sharing no memory with
            ``series``, overwritten and returned (e.g. ``pinned_tensor.numpy()``); ``None`` allocates one.

    Returns:
        ``out`` itself, or a new ``(B, window, F)`` float32 array.

    Raises:
        ShapeError: ``series`` not 2-D, ``window > T``, ``starts`` not 1-D, ``mean``/``std`` not ``(F,)``,
            ``out`` of another shape or not C-contiguous.
        ConfigError: ``window < 1``, only one of ``mean``/``std``, a bad mean/std value.
        DataError: a start outside ``[0, T - window]`` (named with its position), non-integer starts,
            ``out`` not float32 or not writeable, NaN/Inf in a gathered row or a value beyond float32
            once normalised (named by series row and column). After this last error ``out`` is partly
            overwritten.

    Example:
        >>> x = np.arange(20, dtype=np.float32).reshape(10, 2)
        >>> buf = np.empty((2, 3, 2), dtype=np.float32)
        >>> y = gather_windows(x, [7, 0], 3, out=buf)
        >>> y is buf, y[0, 0].tolist(), y[1, 2].tolist()
        (True, [14.0, 15.0], [4.0, 5.0])
    """
    arr = _as_array(series, "series", 2, "(T, F)")
    rows = _as_rows(starts, "starts")
    window = _count(window, "window")
    if (mean is None) != (std is None):
        raise ConfigError("pass both mean and std, or neither")
    if mean is None or std is None:
        return _core.gather_windows(arr, rows, window, out=out)
    mean_arr = _as_array(mean, "mean", 1, "(F,)", dtype=np.float64)
    std_arr = _as_array(std, "std", 1, "(F,)", dtype=np.float64)
    return _core.gather_windows(arr, rows, window, mean_arr, std_arr, out=out)


__all__ = [
    "augment",
    "augment_dataset",
    "gather_windows",
    "mask",
    "sliding_windows",
    "triple_barrier",
    "zscore",
    "zscore_stats",
]
