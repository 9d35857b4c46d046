"""Type stubs of the Rust extension module (crates/nt-py)."""

from typing import Literal, overload

import numpy as np
import numpy.typing as npt

__version__: str
#: Registry names of the models the native engine serves (the Rust table).
SERVED_MODELS: tuple[str, ...]

class NativeModel:
    @staticmethod
    def load(path: str, threads: int | None = None) -> NativeModel: ...
    @staticmethod
    def from_bytes(data: bytes, threads: int | None = None) -> NativeModel: ...
    @property
    def threads(self) -> int: ...
    @property
    def model(self) -> str: ...
    @property
    def config_json(self) -> str: ...
    @property
    def input_size(self) -> int: ...
    @property
    def num_parameters(self) -> int: ...
    @overload
    def predict(
        self, x: npt.NDArray[np.float32], return_attention: Literal[False] = False
    ) -> npt.NDArray[np.float32] | dict[str, npt.NDArray[np.float32]]: ...
    @overload
    def predict(
        self, x: npt.NDArray[np.float32], return_attention: Literal[True]
    ) -> tuple[npt.NDArray[np.float32] | dict[str, npt.NDArray[np.float32]], npt.NDArray[np.float32]]: ...
    @overload
    def predict(
        self, x: npt.NDArray[np.float32], return_attention: bool
    ) -> (
        npt.NDArray[np.float32]
        | dict[str, npt.NDArray[np.float32]]
        | tuple[npt.NDArray[np.float32] | dict[str, npt.NDArray[np.float32]], npt.NDArray[np.float32]]
    ): ...
    @overload
    def teacher_forced(
        self, x: npt.NDArray[np.float32], y: npt.NDArray[np.float32], return_attention: Literal[False] = False
    ) -> npt.NDArray[np.float32]: ...
    @overload
    def teacher_forced(
        self, x: npt.NDArray[np.float32], y: npt.NDArray[np.float32], return_attention: Literal[True]
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]: ...
    @overload
    def teacher_forced(
        self, x: npt.NDArray[np.float32], y: npt.NDArray[np.float32], return_attention: bool
    ) -> npt.NDArray[np.float32] | tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]: ...
    def embed(self, x: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]: ...
    def save(self, path: str) -> None: ...

def lstm_forward(
    weights: dict[str, npt.NDArray[np.float32]],
    x: npt.NDArray[np.float32],
    num_layers: int,
    bidirectional: bool,
    h0: npt.NDArray[np.float32] | None = None,
    c0: npt.NDArray[np.float32] | None = None,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.float32]]: ...
def mha_forward(
    weights: dict[str, npt.NDArray[np.float32]],
    query: npt.NDArray[np.float32],
    key: npt.NDArray[np.float32],
    value: npt.NDArray[np.float32],
    num_heads: int,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]: ...
def sliding_windows(
    series: npt.NDArray[np.float32] | npt.NDArray[np.float64],
    window: int,
    stride: int = 1,
    mean: npt.NDArray[np.float64] | None = None,
    std: npt.NDArray[np.float64] | None = None,
) -> npt.NDArray[np.float32]: ...
def zscore_stats(
    series: npt.NDArray[np.float32] | npt.NDArray[np.float64],
    start: int = 0,
    stop: int | None = None,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]: ...
def mask(
    n: int,
    length: int,
    ratio: float = 0.15,
    strategy: str = "random",
    patch_size: int = 7,
    seed: int = 0,
) -> npt.NDArray[np.bool_]: ...
def augment(
    windows: npt.NDArray[np.float32],
    time_warp_prob: float = 0.5,
    time_warp_max: float = 0.12,
    jitter_prob: float = 0.5,
    jitter_scale: float = 0.05,
    vol_scale_prob: float = 0.5,
    vol_scale_range: tuple[float, float] = (0.85, 1.15),
    seed: int = 0,
) -> npt.NDArray[np.float32]: ...
def augment_dataset(
    windows: npt.NDArray[np.float32],
    num_augmentations: int = 4,
    seed: int = 0,
    time_warp_prob: float = 0.5,
    time_warp_max: float = 0.12,
    jitter_prob: float = 0.5,
    jitter_scale: float = 0.05,
    vol_scale_prob: float = 0.5,
    vol_scale_range: tuple[float, float] = (0.85, 1.15),
) -> npt.NDArray[np.float32]: ...
def gather_windows(
    series: npt.NDArray[np.float32] | npt.NDArray[np.float64],
    starts: npt.NDArray[np.int64],
    window: int,
    mean: npt.NDArray[np.float64] | None = None,
    std: npt.NDArray[np.float64] | None = None,
    out: npt.NDArray[np.float32] | None = None,
) -> npt.NDArray[np.float32]: ...
def triple_barrier(
    close: npt.NDArray[np.float64],
    sigma: npt.NDArray[np.float64],
    horizon: int,
    upper: float | None = 1.0,
    lower: float | None = 1.0,
    vertical: str = "zero",
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64], npt.NDArray[np.float64]]: ...
