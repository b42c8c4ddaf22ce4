"""Conv2D and Conv2DTranspose: gradients, naive loops, adjointness, Keras shapes and counts."""
import numpy as np
import pytest

from scratchnet.nn import Conv2D, Conv2DTranspose, MaxPool2D, UpSampling2D
from scratchnet.nn import functional as F
from scratchnet.nn.functional.naive import conv2d_naive, conv2d_transpose_naive
from scratchnet.testing import GradientCheckError, check_gradients

# (C_in, C_out, k, stride, padding, H, W)
GEOMS = [(2, 3, 3, 1, "same", 5, 6), (3, 2, 3, 2, "same", 7, 5), (2, 3, 3, 2, "valid", 7, 8),
         (2, 2, 2, 2, 1, 5, 5), (1, 3, 4, 3, "same", 7, 8)]


@pytest.fixture(params=["phase", "im2col"])
def backend(request):
    old = F.get_backend()
    F.set_backend(request.param)
    yield request.param
    F.set_backend(old)


@pytest.mark.parametrize("cin, cout, k, s, padding, H, W", GEOMS)
def test_conv2d_gradients(backend, cin, cout, k, s, padding, H, W):
    rng = np.random.default_rng(10)
    layer = Conv2D(cin, cout, k, stride=s, padding=padding, random_state=1).astype(np.float64)
    layer.b.value[:] = rng.standard_normal(cout)
    check_gradients(layer, rng.standard_normal((2, cin, H, W)), random_state=rng)


@pytest.mark.parametrize("cin, cout, k, s, padding, op, h, w", [
    (2, 3, 3, 1, "same", 0, 5, 6), (3, 2, 3, 2, "same", 0, 4, 3), (2, 3, 3, 2, "valid", 1, 3, 4),
    (2, 2, 4, 3, 1, 2, 3, 3)])
def test_conv2d_transpose_gradients(backend, cin, cout, k, s, padding, op, h, w):
    rng = np.random.default_rng(11)
    layer = Conv2DTranspose(cin, cout, k, stride=s, padding=padding, output_padding=op,
                            random_state=2).astype(np.float64)
    layer.b.value[:] = rng.standard_normal(cout)
    check_gradients(layer, rng.standard_normal((2, cin, h, w)), random_state=rng)


@pytest.mark.parametrize("cin, cout, k, s, padding, H, W", GEOMS)
def test_forward_matches_naive_loops(backend, cin, cout, k, s, padding, H, W):
    rng = np.random.default_rng(12)
    conv = Conv2D(cin, cout, k, stride=s, padding=padding, random_state=3).astype(np.float64)
    conv.b.value[:] = rng.standard_normal(cout)
    x = rng.standard_normal((2, cin, H, W))
    y = conv.forward(x)
    np.testing.assert_allclose(y, conv2d_naive(x, conv.W.value, conv.b.value, conv.stride,
                                               conv._pads), atol=1e-12)
    # the transpose of the mirrored geometry, against the scatter loops
    up = Conv2DTranspose(cout, cin, k, stride=s, padding=padding, random_state=4).astype(np.float64)
    up.b.value[:] = rng.standard_normal(cin)
    z = up.forward(y)
    np.testing.assert_allclose(z, conv2d_transpose_naive(y, up.W.value, up.b.value, s,
                                                         up._pads, z.shape[2:]), atol=1e-12)


@pytest.mark.parametrize("cin, cout, k, s, padding, H, W", GEOMS)
def test_transpose_is_adjoint_of_conv(backend, cin, cout, k, s, padding, H, W):
    # <conv(x), y> = <x, convT(y)> with the same weights and zero biases
    rng = np.random.default_rng(13)
    conv = Conv2D(cin, cout, k, stride=s, padding=padding, random_state=5).astype(np.float64)
    convT = Conv2DTranspose(cout, cin, k, stride=s, padding=padding).astype(np.float64)
    convT.W.value[...] = conv.W.value
    # the input size the transpose maps back to (7 -> 4 -> 8 with "same", stride 2)
    _, H, W = convT.output_shape(conv.output_shape((cin, H, W)))
    x = rng.standard_normal((2, cin, H, W))
    cx = conv.forward(x)
    y = rng.standard_normal(cx.shape)
    ty = convT.forward(y)
    assert ty.shape == x.shape
    assert np.isclose(np.vdot(cx, y), np.vdot(x, ty), rtol=1e-12)


@pytest.mark.parametrize("cin, cout, k, s, padding, H, W", GEOMS)
def test_functional_maps_are_adjoint_for_any_size(backend, cin, cout, k, s, padding, H, W):
    # odd sizes with "same" and stride 2 included: conv2d_grad_input is conv2d's adjoint
    rng = np.random.default_rng(16)
    conv = Conv2D(cin, cout, k, stride=s, padding=padding).astype(np.float64)
    x = rng.standard_normal((2, cin, H, W))
    cx = conv.forward(x) - conv.b.value[:, None, None]
    y = rng.standard_normal(cx.shape)
    ty = F.conv2d_grad_input(y, conv.W.value, x.shape, s, conv._pads)
    assert np.isclose(np.vdot(cx, y), np.vdot(x, ty), rtol=1e-12)


def test_float32_forward_and_dtype_kept():
    rng = np.random.default_rng(14)
    conv = Conv2D(3, 8, 3, stride=2, random_state=0)
    y = conv.forward(rng.standard_normal((4, 3, 32, 32)).astype(np.float32))
    assert y.dtype == np.float32 and y.shape == (4, 8, 16, 16)
    assert conv.backward(np.ones_like(y)).dtype == np.float32


def test_cifar_autoencoder_shapes_and_parameter_counts():
    layers = [Conv2D(3, 8, 3, 2), Conv2D(8, 16, 3, 2), Conv2D(16, 32, 3, 2),
              Conv2DTranspose(32, 32, 3, 2), Conv2DTranspose(32, 16, 3, 2),
              Conv2DTranspose(16, 8, 3, 2), Conv2DTranspose(8, 3, 3, 1)]
    shape, shapes = (3, 32, 32), []
    for layer in layers:
        shape = layer.output_shape(shape)
        shapes.append(shape)
    assert [s[1] for s in shapes] == [16, 8, 4, 8, 16, 32, 32]
    assert shapes[-1] == (3, 32, 32)
    assert [sum(p.size for p in l.parameters()) for l in layers] == [224, 1168, 4640, 9248,
                                                                      4624, 1160, 219]


def test_mnist_pooling_autoencoder_shapes_and_parameter_counts():
    layers = [Conv2D(1, 16, 3), MaxPool2D(2, "same"), Conv2D(16, 2, 3), MaxPool2D(2, "same"),
              Conv2D(2, 2, 3), UpSampling2D(2), Conv2D(2, 16, 3), UpSampling2D(2),
              Conv2D(16, 1, 3)]
    shape, sides = (1, 28, 28), []
    for layer in layers:
        shape = layer.output_shape(shape)
        sides.append(shape[1])
    assert sides == [28, 14, 14, 7, 7, 14, 14, 28, 28] and shape == (1, 28, 28)
    counts = [sum(p.size for p in l.parameters()) for l in layers if l.parameters()]
    assert counts == [160, 290, 38, 304, 145]


def test_init_is_glorot_uniform_with_zero_bias():
    conv = Conv2D(16, 32, 3, random_state=0)
    limit = np.sqrt(6 / (16 * 9 + 32 * 9))
    assert np.abs(conv.W.value).max() <= limit and np.abs(conv.W.value).max() > 0.9 * limit
    assert not conv.b.value.any()
    np.testing.assert_array_equal(conv.W.value, Conv2D(16, 32, 3, random_state=0).W.value)


def test_bad_input_messages():
    conv = Conv2D(3, 8, 3)
    with pytest.raises(ValueError, match=r"Conv2D: expected input \(N, 3, H, W\), "
                                         r"got \(8, 28, 28, 1\)"):
        conv.forward(np.zeros((8, 28, 28, 1), np.float32))
    with pytest.raises(ValueError, match=r"expected input \(N, 3, H, W\), got \(28, 28\)"):
        conv.forward(np.zeros((28, 28), np.float32))
    with pytest.raises(TypeError, match="floating-point"):
        conv.forward(np.zeros((1, 3, 5, 5), np.int64))
    with pytest.raises(RuntimeError, match="backward"):
        Conv2DTranspose(3, 2, 3).backward(np.zeros((1, 2, 4, 4), np.float32))
    with pytest.raises(ValueError, match="smaller than the kernel"):
        Conv2D(1, 1, 5, padding="valid").forward(np.zeros((1, 1, 3, 3), np.float32))
    with pytest.raises(ValueError, match="padding"):
        Conv2D(1, 1, 3, padding="full")
    with pytest.raises(ValueError, match="output_padding"):
        Conv2DTranspose(1, 1, 3, stride=2, output_padding=2)
    with pytest.raises(ValueError, match="kernel_size"):
        Conv2D(1, 1, 0)


def test_get_config_rebuilds_the_layer():
    for layer in [Conv2D(3, 8, (3, 5), stride=2, padding=1),
                  Conv2DTranspose(4, 2, 3, stride=2, padding="valid", output_padding=1)]:
        clone = type(layer)(**layer.get_config())
        assert clone.get_config() == layer.get_config()
        assert clone.W.shape == layer.W.shape


def test_broken_backward_fails_the_gradient_check():
    class TransposedKernelConv(Conv2D):
        # a classic bug: the weight gradient with the kernel taps flipped
        def backward(self, grad):
            gx = super().backward(grad)
            self.W.grad[...] = self.W.grad[:, :, ::-1, ::-1].copy()
            return gx

    rng = np.random.default_rng(15)
    layer = TransposedKernelConv(2, 3, 3, random_state=0).astype(np.float64)
    with pytest.raises(GradientCheckError, match="W"):
        check_gradients(layer, rng.standard_normal((2, 2, 5, 5)))


@pytest.mark.parametrize("padding, op", [("valid", 1), (1, 1), ("same", 0)])
def test_transpose_output_padding_rows_get_the_bias(backend, padding, op):
    rng = np.random.default_rng(17)
    up = Conv2DTranspose(3, 2, 3, stride=2, padding=padding, output_padding=op,
                         random_state=0).astype(np.float64)
    up.b.value[:] = [0.5, -2.0]
    y = rng.standard_normal((2, 3, 4, 5))
    z = up.forward(y)
    np.testing.assert_allclose(z, conv2d_transpose_naive(y, up.W.value, up.b.value, 2,
                                                         up._pads, z.shape[2:]), atol=1e-12)


@pytest.mark.parametrize("cin, cout, k, s, padding, H, W", [
    (3, 8, 3, 2, "same", 32, 32), (1, 4, 3, 1, "same", 28, 28), (2, 3, (3, 2), 2, "valid", 9, 8),
    (4, 2, 5, 3, 1, 11, 13)])
def test_the_im2col_pair_in_the_layer_equals_what_the_layer_runs(cin, cout, k, s, padding, H, W):
    """Conv2D._forward_im2col / _backward_im2col, the dozen lines a reader starts from, give
    the phase-grid kernels' output and gradients; backward_params the same dW and db alone."""
    rng = np.random.default_rng(7)
    conv = Conv2D(cin, cout, k, stride=s, padding=padding, random_state=1, dtype=np.float64)
    conv.b.value[:] = rng.standard_normal(cout)
    x = rng.standard_normal((3, cin, H, W))
    y = conv.forward(x)
    np.testing.assert_allclose(conv._forward_im2col(x), y, rtol=1e-10, atol=1e-10)
    g = rng.standard_normal(y.shape)
    conv.zero_grad()
    dx = conv.backward(g)
    dx_ref, dw_ref, db_ref = conv._backward_im2col(x, g)
    np.testing.assert_allclose(dx, dx_ref, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(conv.W.grad, dw_ref, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(conv.b.grad, db_ref, rtol=1e-10, atol=1e-10)
    conv.zero_grad()
    assert conv.backward_params(g) is None
    np.testing.assert_allclose(conv.W.grad, dw_ref, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(conv.b.grad, db_ref, rtol=1e-10, atol=1e-10)
