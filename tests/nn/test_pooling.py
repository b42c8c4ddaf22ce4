"""MaxPool2D and UpSampling2D: shapes, routing of the gradient, ties, gradient checks."""
import numpy as np
import pytest

from scratchnet.nn import MaxPool2D, UpSampling2D
from scratchnet.nn import functional as F
from scratchnet.testing import check_gradients


@pytest.fixture(params=["phase", "im2col"])
def backend(request):
    old = F.get_backend()
    F.set_backend(request.param)
    yield request.param
    F.set_backend(old)


def _distinct(rng, shape):
    """Values with no ties and gaps >> eps, so max-pool is differentiable there."""
    return rng.permutation(int(np.prod(shape))).reshape(shape).astype(np.float64) * 0.1


@pytest.mark.parametrize("shape, p, padding", [
    ((2, 3, 7, 5), 2, "same"), ((2, 2, 6, 6), 2, "valid"), ((1, 2, 7, 8), 3, "same"),
    ((1, 2, 7, 8), 3, "valid")])
def test_maxpool_gradients(backend, shape, p, padding):
    rng = np.random.default_rng(20)
    check_gradients(MaxPool2D(p, padding), _distinct(rng, shape), random_state=rng)


def test_maxpool_same_pools_28_14_7_4(backend):
    pool = MaxPool2D(2, "same")
    x = np.zeros((1, 1, 28, 28), np.float32)
    assert pool.forward(x).shape == (1, 1, 14, 14)
    assert pool.forward(np.zeros((1, 1, 14, 14), np.float32)).shape == (1, 1, 7, 7)
    assert pool.forward(np.zeros((1, 1, 7, 7), np.float32)).shape == (1, 1, 4, 4)
    assert MaxPool2D(2).forward(np.zeros((1, 1, 7, 7), np.float32)).shape == (1, 1, 3, 3)


def test_maxpool_padded_cells_never_win(backend):
    x = -np.arange(1, 10, dtype=np.float32).reshape(1, 1, 3, 3)  # all negative
    y = MaxPool2D(2, "same").forward(x)
    np.testing.assert_array_equal(y[0, 0], [[-1, -3], [-7, -9]])


def test_maxpool_backward_routes_to_argmax_and_first_on_ties(backend):
    x = np.array([[[[1., 5., 2., 2.],
                    [3., 4., 2., 2.],
                    [0., 0., 9., 1.],
                    [7., 0., 1., 1.]]]], np.float32)
    pool = MaxPool2D(2)
    np.testing.assert_array_equal(pool.forward(x)[0, 0], [[5, 2], [7, 9]])
    dx = pool.backward(np.array([[[[10., 20.], [30., 40.]]]], np.float32))
    # ties (the 2x2 block of 2s, the 0s) go to the first in row-major order
    expected = np.array([[0, 10, 20, 0], [0, 0, 0, 0], [0, 0, 40, 0], [30, 0, 0, 0]])
    np.testing.assert_array_equal(dx[0, 0], expected)


def test_upsampling_forward_backward(backend):
    rng = np.random.default_rng(21)
    up = UpSampling2D(2)
    x = rng.standard_normal((2, 3, 3, 4))
    y = up.forward(x)
    assert y.shape == (2, 3, 6, 8)
    np.testing.assert_array_equal(y[:, :, 1::2, ::2], x)
    check_gradients(up, x, random_state=rng)
    g = np.arange(16.0).reshape(1, 1, 4, 4)
    up.forward(np.zeros((1, 1, 2, 2)))
    np.testing.assert_array_equal(up.backward(g)[0, 0], [[10, 18], [42, 50]])


def test_pooling_errors_and_config():
    with pytest.raises(ValueError, match="MaxPool2D: expected input"):
        MaxPool2D().forward(np.zeros((4, 4), np.float32))
    with pytest.raises(RuntimeError, match="backward"):
        MaxPool2D().backward(np.zeros((1, 1, 2, 2), np.float32))
    with pytest.raises(RuntimeError, match="backward"):
        UpSampling2D().backward(np.zeros((1, 1, 2, 2), np.float32))
    with pytest.raises(ValueError, match="padding"):
        MaxPool2D(2, "full")
    with pytest.raises(ValueError, match="size"):
        UpSampling2D(0)
    assert MaxPool2D(**MaxPool2D(3, "same").get_config()).get_config() == {"pool_size": 3,
                                                                         "padding": "same"}
    assert UpSampling2D(**UpSampling2D(3).get_config()).size == 3
