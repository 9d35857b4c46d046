"""Every twin's ``forward`` checks its input the way the native engine does: one check (rank, width, time
steps, finiteness) with the engine's wording, a ``ShapeError`` or ``DataError`` instead of torch's own
``RuntimeError`` or a silent NaN."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import neural_trader as nt
from neural_trader.errors import DataError, ShapeError
from neural_trader.models import MODELS

F = 4


def _tiny(name: str) -> nt.TwinModel:
    """A tiny instance of every registered model (its config's required fields and small sizes)."""
    cls = MODELS[name]
    sizes = {"input_size": F, "hidden_size": 4, "num_heads": 2}
    extra = {
        "lstm_attention": {"output_size": 1, "horizon": 2, "num_encoder_layers": 1, "num_decoder_layers": 1},
        "trend_attention": {"horizons": [2], "head_hidden": [4]},
    }.get(name, {})
    fields = {f for f in cls.config_class.__dataclass_fields__}
    config = cls.config_class(**{k: v for k, v in {**sizes, **extra}.items() if k in fields})
    return cls(config).eval()


def _call(model: nt.TwinModel, x: torch.Tensor):
    if model.registry_name == "masked_bilstm_autoencoder":
        mask = torch.zeros(tuple(x.shape[:2]), dtype=torch.bool)
        return model(x, mask)
    return model(x)


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize(
    "shape",
    [(2, 5, F - 1), (2, 5, F + 1), (5, F), (2, 5, F, 1), (2, 0, F)],
    ids=["narrow", "wide", "2d", "4d", "no-steps"],
)
def test_a_bad_shape_is_a_shape_error_naming_the_expected_shape(name: str, shape: tuple[int, ...]) -> None:
    model = _tiny(name)
    with pytest.raises(ShapeError, match=rf"^input x: expected shape \(batch, time >= 1, {F}\), got "):
        _call(model, torch.zeros(shape))


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize(
    ("value", "word"), [(float("nan"), "NaN"), (float("inf"), "inf"), (-float("inf"), "inf")]
)
def test_a_non_finite_value_is_a_data_error_naming_its_index(name: str, value: float, word: str) -> None:
    model = _tiny(name)
    x = torch.zeros(2, 5, F)
    x[1, 3, 2] = value
    with pytest.raises(DataError, match=rf"^input x contains {word} at index \(1, 3, 2\)$"):
        _call(model, x)
    model.train()  # in training too: a NaN batch never reaches the loss
    with pytest.raises(DataError):
        _call(model, x)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_good_input_still_runs_and_other_real_dtypes_are_read_as_the_model_dtype(name: str) -> None:
    model = _tiny(name)
    x = torch.randn(3, 5, F)
    out = _call(model, x)
    again = _call(model, x.double())
    torch.testing.assert_close(flat(out), flat(again))
    assert torch.isfinite(flat(out)).all()


def flat(out) -> torch.Tensor:
    return torch.cat([v.flatten() for v in out.values()]) if isinstance(out, dict) else out.flatten()


@pytest.mark.parametrize("name", sorted(MODELS))
def test_an_empty_batch_is_a_shape_error(name: str) -> None:
    with pytest.raises(ShapeError, match=r"^input x: expected at least one window, got shape \(0, 5, 4\)"):
        _call(_tiny(name), torch.zeros(0, 5, F))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_a_non_tensor_is_a_shape_error(name: str) -> None:
    with pytest.raises(ShapeError, match="expected a tensor"):
        _call(_tiny(name), np.zeros((2, 5, F), dtype=np.float32))


def test_both_twins_refuse_the_same_inputs_with_the_same_words() -> None:
    """The served models: the engine's message and the PyTorch twin's are the same text."""
    for name in ("bilstm_classifier", "lstm_attention"):
        model = _tiny(name)
        engine = model.to_native()
        bad_width = np.zeros((2, 5, F - 1), dtype=np.float32)
        with pytest.raises(ShapeError) as torch_error:
            model(torch.from_numpy(bad_width))
        with pytest.raises(ShapeError) as engine_error:
            engine.predict(bad_width)
        assert str(torch_error.value) == str(engine_error.value)
        nan = np.zeros((2, 5, F), dtype=np.float32)
        nan[0, 1, 2] = np.nan
        with pytest.raises(DataError) as torch_error:
            model(torch.from_numpy(nan))
        with pytest.raises(DataError) as engine_error:
            engine.predict(nan)
        assert str(torch_error.value) in str(engine_error.value)  # the engine prefixes "invalid data: "
