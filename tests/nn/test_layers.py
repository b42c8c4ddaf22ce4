"""Dense, ReLU, Sigmoid, Flatten and Reshape: gradients, values, shapes and errors."""
import warnings

import numpy as np
import pytest

from scratchnet.nn import Dense, Flatten, ReLU, Reshape, Sigmoid
from scratchnet.testing import check_gradients


def _away_from_zero(rng, shape, margin=0.05):
    """Standard normal values with |x| >= margin, so no entry sits on the ReLU kink."""
    x = rng.standard_normal(shape)
    return np.where(np.abs(x) < margin, np.sign(x + 1e-12) * margin * 2, x)


@pytest.mark.parametrize("n, d_in, d_out", [(1, 1, 1), (5, 4, 3), (7, 3, 6)])
def test_dense_gradients(n, d_in, d_out):
    rng = np.random.default_rng(10)
    layer = Dense(d_in, d_out, random_state=rng).astype(np.float64)
    layer.b.value[:] = rng.standard_normal(d_out)  # a nonzero bias, so it takes part
    errors = check_gradients(layer, rng.standard_normal((n, d_in)))
    assert set(errors) == {"x", "W", "b"}


def test_dense_forward_matches_definition_and_keras_init():
    rng = np.random.default_rng(11)
    layer = Dense(30, 20, random_state=0)
    assert layer.W.value.shape == (30, 20) and layer.b.value.shape == (20,)
    assert layer.W.value.dtype == np.float32 and not layer.b.value.any()
    limit = np.sqrt(6 / 50)
    assert np.abs(layer.W.value).max() <= limit
    assert np.abs(layer.W.value).max() > 0.9 * limit  # uniform over the whole range
    x = rng.standard_normal((4, 30)).astype(np.float32)
    y = layer(x)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, x.astype(np.float64) @ layer.W.value + layer.b.value,
                               rtol=1e-5, atol=1e-5)
    same = Dense(30, 20, random_state=0)
    np.testing.assert_array_equal(same.W.value, layer.W.value)


def test_dense_input_errors_name_expected_and_actual():
    layer = Dense(4, 2, random_state=0)
    with pytest.raises(ValueError, match=r"Dense: expected input \(N, 4\), got \(3, 5\)"):
        layer(np.zeros((3, 5), dtype=np.float32))
    with pytest.raises(ValueError, match=r"got \(3, 4, 1\)"):
        layer(np.zeros((3, 4, 1), dtype=np.float32))
    with pytest.raises(TypeError, match="expected input dtype float32.*got float64"):
        layer(np.zeros((3, 4)))
    with pytest.raises(TypeError, match="floating-point"):
        layer(np.zeros((3, 4), dtype=np.int64))
    with pytest.raises(RuntimeError, match=r"backward\(\) called before forward\(\)"):
        Dense(4, 2).backward(np.zeros((3, 2), dtype=np.float32))
    with pytest.raises(ValueError, match="in_features must be a positive int"):
        Dense(0, 2)


def test_relu_gradient_value_and_dtype():
    rng = np.random.default_rng(12)
    check_gradients(ReLU(), _away_from_zero(rng, (4, 3, 5)))
    x = np.array([[-2.0, -0.0, 0.0, 3.0]], dtype=np.float32)
    relu = ReLU()
    y = relu(x)
    np.testing.assert_array_equal(y, [[0, 0, 0, 3]])
    g = relu.backward(np.full_like(x, 2.0))
    np.testing.assert_array_equal(g, [[0, 0, 0, 2]])
    assert y.dtype == np.float32 and g.dtype == np.float32
    with pytest.raises(RuntimeError, match="ReLU: backward"):
        ReLU().backward(x)


def test_sigmoid_gradient_and_stability():
    rng = np.random.default_rng(13)
    check_gradients(Sigmoid(), 3 * rng.standard_normal((4, 6)))
    x = np.array([-1e4, -100.0, -20.0, 0.0, 20.0, 100.0, 1e4], dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow warning would fail the test
        y = Sigmoid()(x)
    assert y.dtype == np.float32 and np.all(np.isfinite(y))
    assert y[-1] == 1 and y[3] == 0.5
    # below x = -87.7 (float32) the input is clipped: sigma is under 1e-38 there, and so is y
    assert 0 < y[0] < 1e-38 and 0 < y[1] < 1e-38
    # full relative precision where the output is tiny but a normal float32: sigma(-20) = 2e-9
    ref = 1 / (1 + np.exp(-x[2:-2].astype(np.float64)))
    np.testing.assert_allclose(y[2:-2], ref, rtol=1e-6, atol=0)
    # float64 agrees with the textbook formula to rounding, down to sigma(-700)
    z = np.concatenate([5 * rng.standard_normal(100), [-30.0, -300.0, -700.0, 40.0]])
    np.testing.assert_allclose(Sigmoid()(z), 1 / (1 + np.exp(-z)), rtol=1e-14, atol=0)


def test_forward_output_stays_valid_after_the_next_call():
    rng = np.random.default_rng(14)
    for layer in (ReLU(), Sigmoid(), Dense(3, 3, random_state=0)):
        x1 = rng.standard_normal((2, 3)).astype(np.float32)
        y1 = layer(x1)
        kept = y1.copy()
        layer(rng.standard_normal((2, 3)).astype(np.float32))
        np.testing.assert_array_equal(y1, kept)


def test_flatten_and_reshape():
    rng = np.random.default_rng(15)
    x = rng.standard_normal((2, 3, 4, 5))
    check_gradients(Flatten(), x)
    check_gradients(Reshape((5, 12)), x)
    check_gradients(Reshape((-1, 3)), x)
    assert Flatten()(x).shape == (2, 60)
    np.testing.assert_array_equal(Flatten()(x)[1], x[1].ravel())
    assert Reshape((4, -1))(x).shape == (2, 4, 15)
    assert Reshape((3, 4, 5))(Flatten()(x)).base is not None  # a view, no copy
    assert Flatten().output_shape((3, 4, 5)) == (60,)
    assert Reshape((-1, 2)).output_shape((3, 4)) == (6, 2)
    with pytest.raises(ValueError, match=r"cannot reshape a per-sample input of shape \(3, 4, 5\)"):
        Reshape((7, 8))(x)
    with pytest.raises(ValueError, match="at most one -1"):
        Reshape((-1, -1))
    with pytest.raises(RuntimeError, match="Flatten: backward"):
        Flatten().backward(x)
