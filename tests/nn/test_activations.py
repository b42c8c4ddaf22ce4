"""ReLU's Numba kernels against their NumPy twins: values, NaN and infinities, dtypes, and the
fallback to the reference outside the kernels' domain."""
import numpy as np
import pytest

from scratchnet.nn import ReLU
from scratchnet.nn.activations import (_relu_backward_kernel, _relu_kernel,
                                       relu_backward_reference, relu_reference)

SPECIAL = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-45, -1e-45, 3.5, -2.0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_kernels_equal_references_with_special_values(dtype):
    rng = np.random.default_rng(0)
    x = np.concatenate([SPECIAL, rng.standard_normal(1000)]).astype(dtype).reshape(-1, 1, 1)
    y = np.empty_like(x)
    _relu_kernel(x, y)
    np.testing.assert_array_equal(y, relu_reference(x))  # NaN in the same places
    assert np.isnan(y[0, 0, 0])
    g = rng.standard_normal(x.shape).astype(dtype)
    g[1] = np.nan  # a NaN gradient where the mask is 1 (x = inf) ...
    g[3] = np.nan  # ... and where it is 0 (x = 0): NumPy keeps NaN * 0 = NaN, so must we
    out = np.empty_like(g)
    _relu_backward_kernel(g, y, out)
    np.testing.assert_array_equal(out, relu_backward_reference(g, y))
    assert np.isnan(out[3, 0, 0])


def test_layer_uses_kernel_and_reference_alike():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 3, 5, 5)).astype(np.float32)
    g = rng.standard_normal(x.shape).astype(np.float32)
    layer = ReLU()
    y = layer.forward(x)
    assert y.dtype == np.float32 and y is not x
    np.testing.assert_array_equal(y, relu_reference(x))
    np.testing.assert_array_equal(layer.backward(g), relu_backward_reference(g, y))
    # outside the kernels' domain: a strided view, float16, a gradient of another dtype
    view = x[:, :, ::2]
    np.testing.assert_array_equal(layer.forward(view), np.maximum(view, 0))
    np.testing.assert_array_equal(layer.backward(g[:, :, ::2]), g[:, :, ::2] * (view > 0))
    half = x.astype(np.float16)
    assert layer.forward(half).dtype == np.float16
    layer.forward(x)
    assert layer.backward(g.astype(np.float64)).dtype == np.float64


def test_forward_leaves_its_input_alone():
    x = np.array([-1.0, 2.0, np.nan])
    before = x.copy()
    ReLU().forward(x)
    np.testing.assert_array_equal(x, before)
