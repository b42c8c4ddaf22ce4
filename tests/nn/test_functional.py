"""The readable convolution paths (im2col + GEMM, the phase grid in NumPy) against textbook loops,
and the padding rules."""
import numpy as np
import pytest

from scratchnet.nn import functional as F
from scratchnet.nn.functional.im2col import (col2im, conv2d_grad_input_im2col,
                                             conv2d_grad_weight_im2col, conv2d_im2col, im2col)
from scratchnet.nn.functional.naive import conv2d_naive, conv2d_transpose_naive
from scratchnet.nn.functional.phase import (conv2d_grad_input_phase_reference,
                                            conv2d_phase_reference)
from scratchnet.nn.functional.phase_layout import buffer_shapes
from scratchnet.nn.functional.padding import conv_output_size, conv_transpose_output_size

# (H, W, k, stride, padding): odd sizes, strides 1-3, every padding kind
CASES = [(7, 6, 3, 1, "same"), (7, 9, 3, 2, "same"), (8, 8, 3, 2, "valid"), (9, 7, 4, 3, 1),
         (5, 5, 2, 2, "same"), (6, 5, 1, 1, "valid"), (6, 7, 5, 1, 2)]


def _pads(H, W, k, s, padding):
    Ho, pt, pb = conv_output_size(H, k, s, padding)
    Wo, pl, pr = conv_output_size(W, k, s, padding)
    return (Ho, Wo), (pt, pb, pl, pr)


@pytest.mark.parametrize("n, k, s, expected", [
    (32, 3, 2, (16, 0, 1)),   # Keras: odd pixel at the bottom/right
    (28, 3, 1, (28, 1, 1)),
    (7, 2, 2, (4, 0, 1)),
    (8, 3, 2, (4, 0, 1)),
    (5, 1, 2, (3, 0, 0)),
])
def test_same_padding_follows_keras(n, k, s, expected):
    assert conv_output_size(n, k, s, "same") == expected


def test_valid_and_int_padding_sizes():
    assert conv_output_size(7, 3, 2, "valid") == (3, 0, 0)
    assert conv_output_size(7, 3, 2, 1) == (4, 1, 1)


@pytest.mark.parametrize("m, k, s, padding, op, n", [
    (4, 3, 2, "same", 0, 8), (16, 3, 1, "same", 0, 16), (4, 3, 2, "valid", 0, 9),
    (4, 3, 2, "valid", 1, 10), (4, 3, 2, 1, 1, 8)])
def test_transpose_sizes_invert_the_convolution(m, k, s, padding, op, n):
    n_got, pt, pb = conv_transpose_output_size(m, k, s, padding, op)
    assert n_got == n
    assert (n + pt + pb - k) // s + 1 == m  # the mirrored conv maps n back to m


@pytest.mark.parametrize("H, W, k, s, padding", CASES)
def test_im2col_matches_naive_loops(H, W, k, s, padding):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, H, W))
    w = rng.standard_normal((4, 3, k, k))
    b = rng.standard_normal(4)
    (Ho, Wo), pads = _pads(H, W, k, s, padding)
    y = conv2d_im2col(x, w, b, s, pads)
    assert y.shape == (2, 4, Ho, Wo)
    np.testing.assert_allclose(y, conv2d_naive(x, w, b, s, pads), rtol=1e-12, atol=1e-12)
    g = rng.standard_normal(y.shape)
    np.testing.assert_allclose(conv2d_grad_input_im2col(g, w, x.shape, s, pads),
                               conv2d_transpose_naive(g, w, None, s, pads, (H, W)),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("H, W, k, s, padding", CASES)
def test_phase_grid_reference_matches_naive_loops(H, W, k, s, padding):
    # the phase decomposition in plain NumPy, against the textbook loops
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 3, H, W))
    w = rng.standard_normal((4, 3, k, k))
    b = rng.standard_normal(4)
    (Ho, Wo), (pt, pb, pl, pr) = _pads(H, W, k, s, padding)
    buffers = [np.empty(sh) for sh in buffer_shapes(2, 3, 4, Ho, Wo, k, k, s)]
    y = np.empty((2, 4, Ho, Wo))
    conv2d_phase_reference(x, w, b, s, pt, pl, y, *buffers)
    np.testing.assert_allclose(y, conv2d_naive(x, w, b, s, (pt, pb, pl, pr)), rtol=1e-12,
                               atol=1e-12)
    g = rng.standard_normal(y.shape)
    c = rng.standard_normal(3)
    dx = np.empty_like(x)
    conv2d_grad_input_phase_reference(g, w, c, s, pt, pl, dx, *buffers)
    np.testing.assert_allclose(dx, conv2d_transpose_naive(g, w, c, s, (pt, pb, pl, pr), (H, W)),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("H, W, k, s, padding", CASES)
def test_weight_gradient_is_correlation_of_input_and_upstream(H, W, k, s, padding):
    # dL/dw for L = <conv(x, w), g> is linear in w's coefficients: check via unit weights
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 2, H, W))
    (Ho, Wo), pads = _pads(H, W, k, s, padding)
    g = rng.standard_normal((2, 3, Ho, Wo))
    dw = conv2d_grad_weight_im2col(x, g, (3, 2, k, k), s, pads)
    for idx in [(0, 0, 0, 0), (2, 1, k - 1, k // 2), (1, 1, k // 2, k - 1)]:
        e = np.zeros((3, 2, k, k))
        e[idx] = 1.0
        assert np.isclose(dw[idx], np.vdot(conv2d_naive(x, e, None, s, pads), g))


@pytest.mark.parametrize("H, W, k, s, padding", CASES)
def test_col2im_is_adjoint_of_im2col(H, W, k, s, padding):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, H, W))
    _, pads = _pads(H, W, k, s, padding)
    cols = im2col(x, k, k, s, pads)
    c = rng.standard_normal(cols.shape)
    assert np.isclose(np.vdot(cols, c), np.vdot(x, col2im(c, x.shape, k, k, s, pads)))


def test_backend_switch_validates():
    with pytest.raises(ValueError, match="expected one of"):
        F.set_backend("cuda")
    assert F.get_backend() in ("im2col", "phase")
