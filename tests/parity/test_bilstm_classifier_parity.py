"""BiLSTMClassifier: torch twin vs native engine on the same file, and file round trips."""

import numpy as np
import pytest
import torch

import neural_trader as nt

TOL = 1e-5


def make(**kw) -> nt.BiLSTMClassifier:
    cfg = nt.BiLSTMClassifierConfig(**{"input_size": 4, "hidden_size": 16, **kw})
    return nt.BiLSTMClassifier(cfg).eval()


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("num_layers", [1, 2, 3])
@pytest.mark.parametrize("batch", [1, 33])
def test_native_matches_torch_through_a_file(tmp_path, bidirectional, num_layers, batch):
    model = make(bidirectional=bidirectional, num_layers=num_layers, num_classes=3)
    path = tmp_path / "clf.safetensors"
    model.save(path)
    engine = nt.native.load(path)
    x = torch.randn(batch, 30, 4)
    with torch.inference_mode():
        want = model(x).numpy()
    got = engine.predict(x.numpy())
    assert got.dtype == np.float32 and got.shape == (batch, 3)
    np.testing.assert_allclose(got, want, rtol=0, atol=TOL)


def test_readout_uses_h_n_not_last_output_step():
    model = make(num_layers=1)
    x = torch.randn(2, 9, 4)
    with torch.inference_mode():
        out, (h_n, _) = model.encoder(x)
        from_h_n = model.head(torch.cat([h_n[0], h_n[1]], dim=-1))
        from_last_step = model.head(out[:, -1])
        logits = model(x)
    torch.testing.assert_close(logits, from_h_n)
    assert (logits - from_last_step).abs().max() > 1e-4


def test_to_native_equals_file_route(tmp_path):
    model = make()
    model.save(tmp_path / "m.safetensors")
    x = np.random.default_rng(0).normal(size=(5, 12, 4)).astype(np.float32)
    a = model.to_native().predict(x)
    b = nt.native.load(tmp_path / "m.safetensors").predict(x)
    np.testing.assert_array_equal(a, b)


def test_torch_round_trip_and_registry_load(tmp_path):
    model = make(num_classes=4, dropout=0.0)
    path = tmp_path / "m.safetensors"
    model.save(path, extra={"note": "kept"})
    same = nt.BiLSTMClassifier.load(path)
    any_model = nt.load(path)
    assert type(any_model) is nt.BiLSTMClassifier
    assert same.config == model.config
    for k, v in model.state_dict().items():
        torch.testing.assert_close(same.state_dict()[k], v, rtol=0, atol=0)
    assert nt.Checkpoint.read(path).extra == {"note": "kept"}
    engine = nt.native.load(path)
    assert engine.model == "bilstm_classifier"
    assert engine.config == {
        "input_size": 4,
        "hidden_size": 16,
        "num_layers": 2,
        "dropout": 0.0,
        "bidirectional": True,
        "num_classes": 4,
    }


def test_empty_batch_gives_empty_logits():
    engine = make().to_native()
    out = engine.predict(np.zeros((0, 7, 4), np.float32))
    assert out.shape == (0, 2)


def test_dtypes_and_layouts_are_converted_not_rejected():
    model = make()
    engine = model.to_native()
    x = np.random.default_rng(1).normal(size=(3, 8, 4))
    want = engine.predict(x.astype(np.float32))
    np.testing.assert_allclose(engine.predict(x), want, atol=1e-6)  # float64
    np.testing.assert_allclose(engine.predict(np.asfortranarray(x)), want, atol=1e-6)
    np.testing.assert_allclose(engine.predict(x[:, ::-1][:, ::-1]), want, atol=1e-6)  # negative strides
    ints = np.arange(3 * 8 * 4).reshape(3, 8, 4) % 5
    np.testing.assert_allclose(engine.predict(ints), engine.predict(ints.astype(np.float32)))
