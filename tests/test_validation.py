"""One validation vocabulary (configs and the command line read the same), and one numpy-input conversion
(the kernels and the native engine read the same)."""

from __future__ import annotations

import argparse

import numpy as np
import pytest

from neural_trader import arrays, kernels, native
from neural_trader.cli.options import number
from neural_trader.data import DataSpec
from neural_trader.errors import ConfigError, DataError, ShapeError
from neural_trader.models import BiLSTMClassifierConfig, LSTMAttentionConfig
from neural_trader.training import PretrainConfig, TrainerConfig
from neural_trader.validation import choice, dropout_rate, flag, fraction, int_list, integer, real


def test_integers_refuse_bools_floats_and_out_of_range_by_name() -> None:
    assert integer("n", np.int64(3), low=1) == 3 and type(integer("n", np.int64(3))) is int
    for bad in (True, 2.0, "2", None):
        with pytest.raises(ConfigError, match=r"^n must be an integer >= 1, got"):
            integer("n", bad, low=1)
    with pytest.raises(ConfigError, match=r"^n must be an integer in 1\.\.=4, got 5$"):
        integer("n", 5, low=1, high=4)


def test_reals_are_finite_and_bounded_with_open_or_closed_ends() -> None:
    assert real("lr", 1, low=0.0, low_open=True) == 1.0
    for bad in (0.0, float("nan"), float("inf"), True, "x", "0.5"):
        with pytest.raises(ConfigError, match=r"^lr must be a finite number > 0, got"):
            real("lr", bad, low=0.0, low_open=True)
    assert dropout_rate("d", 0.0) == 0.0
    with pytest.raises(ConfigError, match=r"in \[0, 1\)"):
        dropout_rate("d", 1.0)
    with pytest.raises(ConfigError, match=r"in \(0, 1\)"):
        fraction("f", 0.0)
    assert flag("b", False) is False
    with pytest.raises(ConfigError, match="must be a bool"):
        flag("b", 1)
    with pytest.raises(ConfigError, match="one of a, b"):
        choice("c", "z", ("a", "b"))
    with pytest.raises(ConfigError, match="repeats"):
        int_list("h", [7, 7], distinct=True)


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: BiLSTMClassifierConfig(input_size=0), "input_size"),
        (lambda: LSTMAttentionConfig(input_size=2, output_size=1, horizon=3, dropout=1.0), "dropout"),
        (lambda: TrainerConfig(lr=float("inf")), "lr"),
        (lambda: TrainerConfig(epochs=True), "epochs"),
        (lambda: PretrainConfig(patch_size=0), "patch_size"),
        (lambda: DataSpec(window=0), "window"),
        (lambda: DataSpec(task="regress"), "task"),
    ],
)
def test_every_config_speaks_the_vocabulary(make, field) -> None:
    with pytest.raises(ConfigError, match=rf"^{field} must be "):
        make()


def test_the_command_line_number_type_uses_the_same_checks() -> None:
    positive = number(int, low=1)
    assert positive("7") == 7
    refused = (("0", "expected an integer >= 1, got 0"), ("abc", "got 'abc'"), ("1.5", "got '1.5'"))
    for text, message in refused:
        with pytest.raises(argparse.ArgumentTypeError, match=message):
            positive(text)
    share = number(float, low=0.0, high=1.0, low_open=True, high_open=True)
    assert share("0.25") == 0.25
    for text in ("0", "1", "nan", "inf", "1e400"):
        with pytest.raises(argparse.ArgumentTypeError, match=r"expected a finite number in \(0, 1\)"):
            share(text)
    bounded = number(int, low=1, high=1024)
    with pytest.raises(argparse.ArgumentTypeError, match=r"in 1\.\.=1024, got 2048"):
        bounded("2048")


def test_kernels_and_the_engine_share_one_input_conversion() -> None:
    # One function does the work; the engine's form is its float32 case.
    assert kernels._as_array is arrays.as_real_array and native.as_float32 is arrays.as_float32
    assert arrays.as_real_array(np.arange(6, dtype=np.int32).reshape(2, 3)).dtype == np.float64
    assert arrays.as_real_array(np.zeros(3, np.float16)).dtype == np.float32
    assert arrays.as_float32(np.zeros(3, np.float64)).dtype == np.float32
    strided = np.zeros((4, 6), np.float32)[:, ::2]
    assert arrays.as_real_array(strided).flags.c_contiguous
    c_contiguous = np.zeros((2, 3), np.float32)
    assert arrays.as_real_array(c_contiguous) is c_contiguous  # never copied
    for bad in (np.zeros(2, bool), np.zeros(2, complex), np.array(["a"]), np.zeros(2, "datetime64[s]")):
        with pytest.raises(DataError, match="dtype"):
            arrays.as_real_array(bad)
    with pytest.raises(ShapeError, match=r"series: expected shape \(T, F\)"):
        arrays.as_real_array(np.zeros(3), "series", 2, "(T, F)")
    with pytest.raises(ShapeError, match="rectangular"):
        arrays.as_real_array([[1.0], [1.0, 2.0]])
