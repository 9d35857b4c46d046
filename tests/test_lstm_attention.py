"""LSTMAttention unit tests: config validation in both twins, teacher forcing, scheduled sampling, errors,
and a short training run that must beat a persistence forecast."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import neural_trader as nt
from neural_trader import native
from neural_trader.errors import ConfigError, DataError, ShapeError
from neural_trader.models.teacher_forcing import ScheduledSampling

SMALL = dict(input_size=3, output_size=1, horizon=5, hidden_size=8, num_heads=2)


@pytest.fixture(autouse=True)
def _one_torch_thread():
    # These models are tiny: on a busy 2-core machine a second torch thread only adds contention.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def small_model(**overrides) -> nt.LSTMAttention:
    return nt.LSTMAttention(nt.LSTMAttentionConfig(**{**SMALL, **overrides})).eval()


# --- configuration ------------------------------------------------------------------------------------

# (bad fields, what the Rust twin raises for the same JSON). Values that the Rust config types cannot hold,
# or that JSON cannot carry (NaN), fail to parse there: a CheckpointError rather than a ConfigError.
INVALID = [
    (dict(hidden_size=10, num_heads=4), ConfigError),  # heads do not divide hidden
    (dict(horizon=0), ConfigError),
    (dict(num_heads=0), ConfigError),
    (dict(num_encoder_layers=0), ConfigError),
    (dict(dropout=1.0), ConfigError),
    (dict(teacher_forcing_ratio=1.5), ConfigError),
    (dict(output_size=4), ConfigError),  # more targets than columns, no explicit indices
    (dict(target_indices=[3]), ConfigError),  # out of range
    (dict(target_indices=[0, 1]), ConfigError),  # len != output_size
    (dict(output_size=2, target_indices=[1, 1]), ConfigError),  # repeated
    (dict(horizon=-1), nt.CheckpointError),
    (dict(input_size=True), nt.CheckpointError),
    (dict(bidirectional="yes"), nt.CheckpointError),
    (dict(teacher_forcing_ratio=float("nan")), nt.CheckpointError),
]


@pytest.mark.parametrize(("overrides", "rust_error"), INVALID)
def test_invalid_config_is_an_error_in_both_twins(overrides, rust_error):
    with pytest.raises(ConfigError):
        nt.LSTMAttentionConfig(**{**SMALL, **overrides})
    # The Rust twin checks the same rules on a checkpoint's config (bypassing the Python checks).
    ck = small_model().to_checkpoint()
    ck.config = {**dataclasses.asdict(nt.LSTMAttentionConfig(**SMALL)), **overrides}
    with pytest.raises(rust_error):
        native.from_bytes(ck.to_bytes())


def test_rust_rejects_unknown_and_mistyped_fields():
    ck = small_model().to_checkpoint()
    for patch, message in (
        ({"attention_heads": 2}, "attention_heads"),
        ({"bidirectional": "yes"}, "invalid type"),
    ):
        ck.config = {**dataclasses.asdict(nt.LSTMAttentionConfig(**SMALL)), **patch}
        with pytest.raises(nt.CheckpointError, match=message):
            native.from_bytes(ck.to_bytes())


@pytest.mark.parametrize(
    "overrides",
    [
        dict(hidden_size=2**40, num_heads=1),
        dict(hidden_size=2**62, num_heads=1),
        dict(num_encoder_layers=2**62),
        dict(num_decoder_layers=2**40),
    ],
)
def test_rust_refuses_configs_larger_than_the_file_without_allocating(overrides):
    ck = small_model().to_checkpoint()
    ck.config = {**dataclasses.asdict(nt.LSTMAttentionConfig(**SMALL)), **overrides}
    # Beyond the LSTM size limits it is a ConfigError, within them the file-size budget stops it.
    with pytest.raises((nt.CheckpointError, nt.ConfigError), match="far more than the file holds|must be in"):
        native.from_bytes(ck.to_bytes())


def test_target_indices_default_and_explicit():
    default = nt.LSTMAttentionConfig(input_size=4, output_size=2, horizon=3, num_heads=8)
    assert default.target_indices == [0, 1]
    explicit = nt.LSTMAttentionConfig(input_size=4, output_size=2, horizon=3, target_indices=(3, 0))
    assert explicit.target_indices == [3, 0]


def test_target_indices_pick_the_seed_columns():
    # Model A forecasts columns [3, 0]. Model B has the same weights with the encoder's input columns permuted
    # so that B's columns [0, 1] are A's [3, 0]: on the permuted input the two must agree exactly.
    a = small_model(input_size=4, output_size=2, target_indices=[3, 0])
    perm = [3, 0, 1, 2]
    state = a.state_dict()
    for name in [n for n in state if n.startswith("encoder.lstm.weight_ih_l0")]:
        state[name] = state[name][:, perm]
    b = small_model(input_size=4, output_size=2, target_indices=[0, 1])
    b.load_state_dict(state)
    x = torch.randn(2, 6, 4)
    torch.testing.assert_close(b.forecast(x[..., perm]), a.forecast(x))
    swapped = small_model(input_size=4, output_size=2, target_indices=[1, 0])
    swapped.load_state_dict(state)
    assert (swapped.forecast(x[..., perm]) - a.forecast(x)).abs().max() > 1e-4


def test_parameter_names_follow_the_design():
    names = set(small_model().state_dict())
    assert {"attention.in_proj_weight", "attention.in_proj_bias", "attention.out_proj.weight"} <= names
    assert {"encoder.lstm.weight_ih_l0_reverse", "bridge_h.weight", "encoder_proj.weight"} <= names
    assert {"output_norm.weight", "output_proj.bias", "decoder.weight_hh_l1"} <= names
    uni = set(small_model(bidirectional=False, layer_norm=False).state_dict())
    assert not any(n.startswith(("encoder_proj", "output_norm")) for n in uni)


# --- forward, teacher forcing ---------------------------------------------------------------------------


def test_shapes_and_shape_errors():
    model = small_model()
    x, y = torch.randn(4, 7, 3), torch.randn(4, 5, 1)
    pred, attn = model(x, y, teacher_forcing_ratio=1.0, return_attention=True)
    assert pred.shape == (4, 5, 1) and attn.shape == (4, 5, 7)
    torch.testing.assert_close(attn.sum(-1), torch.ones(4, 5))
    for bad_x in (torch.randn(4, 7, 2), torch.randn(7, 3), torch.randn(0, 7, 3), torch.randn(4, 0, 3)):
        with pytest.raises(ShapeError, match="input x"):
            model(bad_x)
    with pytest.raises(ShapeError, match="target y"):
        model(x, torch.randn(4, 4, 1))
    with pytest.raises(ConfigError):
        model(x, y, teacher_forcing_ratio=1.1)


def test_teacher_forcing_ratio_semantics():
    model = small_model()
    x, y = torch.randn(3, 6, 3), torch.randn(3, 5, 1)
    with torch.no_grad():
        forced = model(x, y, teacher_forcing_ratio=1.0)
        free = model(x, y, teacher_forcing_ratio=0.0)
        auto = model.forecast(x)
        # Eval mode without an explicit ratio is autoregressive even when y is given.
        torch.testing.assert_close(model(x, y), auto, atol=0, rtol=0)
    torch.testing.assert_close(free, auto, atol=0, rtol=0)
    torch.testing.assert_close(forced[:, 0], auto[:, 0])  # step 0 reads the same last observation
    assert (forced[:, 1:] - auto[:, 1:]).abs().max() > 1e-4

    # A mixed run equals the teacher-forced one up to the first step that read its own prediction.
    coins = (torch.rand(4, generator=torch.Generator().manual_seed(7)) < 0.5).tolist()
    with torch.no_grad():
        mixed = model(x, y, teacher_forcing_ratio=0.5, generator=7)
        again = model(x, y, teacher_forcing_ratio=0.5, generator=torch.Generator().manual_seed(7))
    torch.testing.assert_close(mixed, again, atol=0, rtol=0)
    first_free = coins.index(False) + 1 if False in coins else 5
    torch.testing.assert_close(mixed[:, :first_free], forced[:, :first_free])
    if first_free < 5:
        assert (mixed[:, first_free] - forced[:, first_free]).abs().max() > 1e-6


def test_training_mode_uses_config_ratio_and_forecast_restores_mode():
    model = small_model(teacher_forcing_ratio=1.0, dropout=0.0).train()
    x, y = torch.randn(2, 6, 3), torch.randn(2, 5, 1)
    torch.testing.assert_close(model(x, y), model(x, y, teacher_forcing_ratio=1.0))
    model.forecast(x)
    assert model.training
    pred = model(x, y)
    pred.square().mean().backward()
    assert all(p.grad is not None for p in model.parameters())


# --- scheduled sampling ---------------------------------------------------------------------------------


def test_schedules_have_their_documented_values():
    lin = ScheduledSampling("linear", start=1.0, end=0.2, decay_epochs=4)
    assert [round(lin.ratio(e), 6) for e in (0, 2, 4, 9)] == [1.0, 0.6, 0.2, 0.2]
    exp = ScheduledSampling("exponential", start=1.0, end=0.0, rate=0.5)
    assert [exp.ratio(e) for e in (0, 1, 3)] == [1.0, 0.5, 0.125]
    sig = ScheduledSampling("inverse_sigmoid", k=10.0)
    assert sig.ratio(0) == pytest.approx(10 / 11)
    assert sig.ratio(10_000) == 0.0
    assert ScheduledSampling("constant", start=0.3).ratio(50) == 0.3


@given(
    kind=st.sampled_from(["linear", "exponential", "inverse_sigmoid", "constant"]),
    start=st.floats(0.0, 1.0),
    end=st.floats(0.0, 1.0),
    epoch=st.integers(0, 10_000),
)
def test_schedules_stay_between_start_and_end_and_move_towards_end(kind, start, end, epoch):
    s = ScheduledSampling(kind, start=start, end=end, decay_epochs=7, rate=0.8, k=3.0)
    r, nxt = s.ratio(epoch), s.ratio(epoch + 1)
    lo, hi = min(start, end), max(start, end)
    assert lo - 1e-12 <= r <= hi + 1e-12
    if kind != "constant":
        assert abs(nxt - end) <= abs(r - end) + 1e-12


@pytest.mark.parametrize(
    "kwargs",
    [dict(kind="cosine"), dict(start=1.5), dict(end=-0.1), dict(decay_epochs=0), dict(rate=1.0), dict(k=0.5)],
)
def test_bad_schedules_are_config_errors(kwargs):
    with pytest.raises(ConfigError):
        ScheduledSampling(**kwargs)


# --- native engine errors -------------------------------------------------------------------------------


def test_native_errors_are_typed():
    engine = small_model().to_native()
    x, y = np.zeros((2, 6, 3), np.float32), np.zeros((2, 5, 1), np.float32)
    with pytest.raises(ShapeError, match="target y"):
        engine.teacher_forced(x, np.zeros((2, 4, 1), np.float32))
    with pytest.raises(ShapeError, match="input x"):
        engine.predict(np.zeros((2, 6, 4), np.float32), return_attention=True)
    x_nan = x.copy()
    x_nan[1, 2, 0] = np.nan
    with pytest.raises(DataError, match=r"\(1, 2, 0\)"):
        engine.teacher_forced(x_nan, y)
    with pytest.raises(DataError):
        engine.teacher_forced(x, np.full((2, 5, 1), np.inf, np.float32))
    empty, empty_attn = engine.predict(np.zeros((0, 6, 3), np.float32), return_attention=True)
    assert empty.shape == (0, 5, 1) and empty_attn.shape == (0, 5, 6)
    non_contiguous = np.zeros((2, 6, 6), np.float32)[:, :, ::2]
    assert engine.predict(non_contiguous).shape == (2, 5, 1)  # the wrapper makes it contiguous


def test_classifier_engine_refuses_attention_and_teacher_forcing():
    clf = nt.BiLSTMClassifier(nt.BiLSTMClassifierConfig(input_size=3, hidden_size=4, num_layers=1))
    engine = clf.to_native()
    assert engine.num_parameters() == clf.num_parameters()
    x = np.zeros((2, 6, 3), np.float32)
    with pytest.raises(ConfigError, match="bilstm_classifier"):
        engine.predict(x, return_attention=True)
    with pytest.raises(ConfigError, match="teacher_forced"):
        engine.teacher_forced(x, np.zeros((2, 5, 1), np.float32))
    assert engine.predict(x).shape == (2, 2)


# --- training -------------------------------------------------------------------------------------------


def seasonal_series(n: int, seed: int) -> torch.Tensor:
    """Two seasonalities and noise: learnable, but a persistence forecast is poor beyond a step or two."""
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(n, dtype=torch.float32)
    return (
        torch.sin(2 * math.pi * t / 12)
        + 0.5 * torch.sin(2 * math.pi * t / 31)
        + 0.1 * torch.randn(n, generator=g)
    )


def windows(series: torch.Tensor, window: int, horizon: int) -> tuple[torch.Tensor, torch.Tensor]:
    w = series.unfold(0, window + horizon, 1)
    return w[:, :window, None], w[:, window:, None]


def test_training_with_teacher_forcing_beats_persistence():
    torch.manual_seed(0)
    window, horizon = 36, 8
    series = seasonal_series(1400, seed=3)
    # Chronological split with an embargo of `horizon` rows between the parts.
    train_x, train_y = windows(series[:1000], window, horizon)
    val_x, val_y = windows(series[1000 + horizon :], window, horizon)
    cfg = nt.LSTMAttentionConfig(
        input_size=1, output_size=1, horizon=horizon, hidden_size=16, num_encoder_layers=1,
        num_decoder_layers=1, num_heads=2, dropout=0.0,
    )  # fmt: skip
    model = nt.LSTMAttention(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    schedule = ScheduledSampling("linear", start=1.0, end=0.3, decay_epochs=4)
    g = torch.Generator().manual_seed(0)
    for epoch in range(6):
        model.train()
        order = torch.randperm(len(train_x), generator=g)
        for idx in order[: 32 * 10].split(32):
            pred = model(train_x[idx], train_y[idx], teacher_forcing_ratio=schedule.ratio(epoch), generator=g)
            loss = torch.nn.functional.mse_loss(pred, train_y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    model_mse = torch.nn.functional.mse_loss(model.forecast(val_x), val_y).item()
    persistence = val_x[:, -1:, :].expand_as(val_y)
    persistence_mse = torch.nn.functional.mse_loss(persistence, val_y).item()
    assert model_mse < 0.5 * persistence_mse, (model_mse, persistence_mse)
    # The trained weights forecast the same in the native engine.
    native_pred = model.to_native().predict(val_x[:64].numpy())
    torch.testing.assert_close(torch.from_numpy(native_pred), model.forecast(val_x[:64]), atol=1e-4, rtol=0)
