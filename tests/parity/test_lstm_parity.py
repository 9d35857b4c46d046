"""The native stacked LSTM against ``torch.nn.LSTM`` with random weights over a grid of sizes.

Grid (from the foundation issue): layers 1-3, uni- and bidirectional, hidden 1-256, input width 1-86,
batch 1 and 64, sequence length 1 and 200. Tolerance: 1e-5 absolute on outputs, h_n and c_n.
"""

import itertools

import numpy as np
import pytest
import torch

from neural_trader import _core

TOL = 1e-5
HIDDEN = [1, 17, 64, 256]
INPUT = [1, 5, 86]
SHAPES = [(1, 1), (1, 200), (64, 1), (64, 200)]  # (batch, steps)


def grid():
    cases = []
    for k, (layers, bidir, (batch, steps)) in enumerate(itertools.product([1, 2, 3], [False, True], SHAPES)):
        hidden = HIDDEN[k % len(HIDDEN)]
        width = INPUT[(k // len(HIDDEN)) % len(INPUT)]
        # Keep the largest cases affordable on 2 cores: hidden 256 only with the shorter grid corners.
        if hidden == 256 and batch * steps > 200:
            hidden = 64
        cases.append((layers, bidir, hidden, width, batch, steps))
    cases.append((3, True, 256, 86, 64, 200))  # the far corner once
    return cases


def run_both(lstm: torch.nn.LSTM, x: torch.Tensor, state=None):
    weights = {k: v.detach().numpy() for k, v in lstm.state_dict().items()}
    with torch.inference_mode():
        out, (h, c) = lstm(x, state)
    h0 = c0 = None
    if state is not None:
        h0, c0 = (s.numpy() for s in state)
    got = _core.lstm_forward(weights, x.numpy(), lstm.num_layers, lstm.bidirectional, h0, c0)
    return (out.numpy(), h.numpy(), c.numpy()), got


@pytest.mark.parametrize(("layers", "bidir", "hidden", "width", "batch", "steps"), grid())
def test_lstm_matches_torch(layers, bidir, hidden, width, batch, steps):
    lstm = torch.nn.LSTM(width, hidden, layers, batch_first=True, bidirectional=bidir)
    x = torch.randn(batch, steps, width)
    want, got = run_both(lstm, x)
    for name, w, g in zip(("output", "h_n", "c_n"), want, got, strict=True):
        assert g.shape == w.shape, name
        np.testing.assert_allclose(g, w, rtol=0, atol=TOL, err_msg=name)


def test_initial_state_is_used():
    lstm = torch.nn.LSTM(4, 8, 2, batch_first=True, bidirectional=True)
    x = torch.randn(3, 11, 4)
    state = (torch.randn(4, 3, 8), torch.randn(4, 3, 8))
    want, got = run_both(lstm, x, state)
    for w, g in zip(want, got, strict=True):
        np.testing.assert_allclose(g, w, rtol=0, atol=TOL)
    # And it matters: zero state gives different outputs.
    zero_out = _core.lstm_forward(
        {k: v.detach().numpy() for k, v in lstm.state_dict().items()}, x.numpy(), 2, True
    )[0]
    assert np.abs(zero_out - want[0]).max() > 1e-3


def test_large_inputs_saturate_like_torch():
    lstm = torch.nn.LSTM(3, 5, 1, batch_first=True)
    x = torch.randn(2, 20, 3) * 1e4
    want, got = run_both(lstm, x)
    np.testing.assert_allclose(got[0], want[0], rtol=0, atol=TOL)
