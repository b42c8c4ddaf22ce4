"""L2Normalize: unit-length rows, gradient-checked, saved and loaded like any layer."""
import numpy as np
import pytest

from scratchnet.nn import Dense, L2Normalize, Sequential
from scratchnet.nn.checkpoint import load_model
from scratchnet.testing import check_gradients


def test_rows_have_the_requested_length_and_direction():
    x = np.random.default_rng(0).standard_normal((50, 7)).astype(np.float32)
    y = L2Normalize(scale=3.0).forward(x)
    assert y.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(y, axis=1), 3.0, rtol=1e-6)
    cos = np.einsum("nd,nd->n", x, y) / (np.linalg.norm(x, axis=1) * 3.0)
    np.testing.assert_allclose(cos, 1.0, rtol=1e-6)


@pytest.mark.parametrize("scale", [1.0, 4.0])
def test_gradient_matches_finite_differences(scale):
    x = np.random.default_rng(1).standard_normal((6, 5))
    errors = check_gradients(L2Normalize(scale), x)
    assert errors["x"] < 1e-8


def test_gradient_is_orthogonal_to_the_input():
    """Scaling x along itself leaves y unchanged, so dL/dx has no radial component."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((8, 4))
    layer = L2Normalize(2.0)
    layer.forward(x)
    gx = layer.backward(rng.standard_normal((8, 4)))
    np.testing.assert_allclose(np.einsum("nd,nd->n", gx, x), 0.0, atol=1e-12)


def test_zero_row_stays_finite():
    layer = L2Normalize()
    y = layer.forward(np.array([[0.0, 0.0], [3.0, 4.0]]))
    gx = layer.backward(np.ones((2, 2)))
    assert np.isfinite(y).all() and np.isfinite(gx).all()
    np.testing.assert_array_equal(y[0], 0.0)


def test_in_a_model_gradient_and_save_load(tmp_path):
    rng = np.random.default_rng(3)
    model = Sequential([Dense(5, 3, random_state=0), L2Normalize(scale=2.5)]).astype(np.float64)
    x = rng.standard_normal((4, 5))
    assert max(check_gradients(model, x).values()) < 1e-7
    model.save(tmp_path / "m.npz")
    again = load_model(tmp_path / "m.npz")
    assert again[1].scale == 2.5
    np.testing.assert_allclose(again.forward(x), model.forward(x))


@pytest.mark.parametrize("bad", [np.ones(3), np.ones((2, 3, 4)), np.ones((2, 3), dtype=int)])
def test_bad_input_names_what_was_expected(bad):
    with pytest.raises((ValueError, TypeError), match="L2Normalize"):
        L2Normalize().forward(bad)


@pytest.mark.parametrize("kw", [{"scale": 0}, {"scale": -1.0}, {"epsilon": 0}])
def test_bad_settings(kw):
    with pytest.raises(ValueError, match="L2Normalize"):
        L2Normalize(**kw)
