"""The Numba backend equals the im2col one, and the pooling kernels their NumPy references
(float32 tolerance, and float64). The phase-grid twins are in test_phase.py."""
import numpy as np
import pytest

from scratchnet.nn import functional as F
from scratchnet.nn.functional import phase_layout as PL
from scratchnet.nn.functional import pool as P
from scratchnet.nn.functional.padding import conv_output_size

CASES = [(7, 6, 3, 1, "same"), (7, 9, 3, 2, "same"), (8, 8, 3, 2, "valid"), (9, 7, 4, 3, 1),
         (32, 32, 3, 2, "same"), (6, 5, 1, 1, "valid")]


@pytest.fixture
def backend():
    """Run a block under a chosen backend and always restore the default."""
    old = F.get_backend()
    yield F.set_backend
    F.set_backend(old)


def _all_three(x, w, b, g, s, pads):
    cb = np.linspace(-1, 1, x.shape[1]).astype(x.dtype)
    return (F.conv2d(x, w, b, s, pads), F.conv2d_grad_input(g, w, x.shape, s, pads, bias=cb),
            F.conv2d_grad_weight(x, g, w.shape, s, pads), *F.conv2d_backward(x, g, w, s, pads),
            *F.conv2d_forward_grad_weight(x, g, w, s, pads))


@pytest.mark.parametrize("dtype, tol", [(np.float32, 2e-5), (np.float64, 1e-12)])
@pytest.mark.parametrize("H, W, k, s, padding", CASES)
def test_conv_kernels_match_reference(backend, H, W, k, s, padding, dtype, tol):
    rng = np.random.default_rng(4)
    Ho, pt, pb = conv_output_size(H, k, s, padding)
    Wo, pl, pr = conv_output_size(W, k, s, padding)
    pads = (pt, pb, pl, pr)
    x = rng.standard_normal((3, 5, H, W)).astype(dtype)
    F_out = 7 if k % 2 else 4  # 7 = 4 + 2 + 1: the kernels block channels by 4, 2 and 1
    w = rng.standard_normal((F_out, 5, k, k)).astype(dtype)
    b = rng.standard_normal(F_out).astype(dtype)
    g = rng.standard_normal((3, F_out, Ho, Wo)).astype(dtype)
    backend("im2col")
    ref = _all_three(x, w, b, g, s, pads)
    backend("phase")
    fast = _all_three(x, w, b, g, s, pads)
    names = ("forward", "grad_input", "grad_weight", "fused dx", "fused dw", "fused y",
             "fused dw (transpose)")
    for name, r, f in zip(names, ref, fast):
        assert f.dtype == dtype, name
        scale = np.abs(r).max()
        np.testing.assert_allclose(f, r, rtol=0, atol=tol * scale, err_msg=name)


@pytest.mark.parametrize("s, pt, pl", [(1, 1, 1), (1, 0, 2), (2, 0, 0), (2, 1, 0), (2, 0, 1),
                                      (2, 1, 1), (3, 2, 1)])
def test_phase_split_matches_reference(s, pt, pl):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 2, 7, 9))
    Hq, Wq = 5, 6
    out = np.full((2 * s * s, 3 * Hq * Wq), np.nan)
    PL._phase_split_kernel(x, s, pt, pl, Hq, Wq, out)
    ref = np.full_like(out, np.nan)
    PL.phase_split_reference(x, s, pt, pl, Hq, Wq, ref)
    np.testing.assert_array_equal(out, ref)


def test_reused_work_buffers_give_the_same_result(backend):
    # a layer keeps its buffers between batches; a smaller batch then a bigger one must not
    # read stale values
    rng = np.random.default_rng(7)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    b = np.zeros(4, np.float32)
    pads = (0, 1, 0, 1)
    work = {}
    backend("phase")
    for n in (2, 5, 3):
        x = rng.standard_normal((n, 3, 9, 9)).astype(np.float32)
        g = rng.standard_normal((n, 4, 5, 5)).astype(np.float32)
        for fun, args in ((F.conv2d, (x, w, b, 2, pads)),
                          (F.conv2d_grad_input, (g, w, x.shape, 2, pads)),
                          (F.conv2d_grad_weight, (x, g, w.shape, 2, pads))):
            np.testing.assert_array_equal(fun(*args, work=work), fun(*args))


@pytest.mark.parametrize("H, W, p, padding", [(28, 28, 2, "same"), (7, 7, 2, "same"),
                                              (7, 5, 3, "valid"), (9, 8, 3, "same")])
def test_maxpool_kernels_match_reference(H, W, p, padding):
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 3, H, W)).astype(np.float32)
    x[0, 0, :2, :2] = 1.0  # a tie inside one window: both must pick the same winner
    Ho, pt, _ = conv_output_size(H, p, p, padding)
    Wo, pl, _ = conv_output_size(W, p, p, padding)
    y_ref = np.empty((2, 3, Ho, Wo), np.float32)
    win_ref = np.empty(y_ref.shape, np.int32)
    P.maxpool_reference(x, p, pt, pl, y_ref, win_ref)
    y = np.empty_like(y_ref)
    win = np.empty_like(win_ref)
    P._maxpool_kernel(x, p, pt, pl, y, win)
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(win, win_ref)
    g = rng.standard_normal(y.shape).astype(np.float32)
    dx = np.empty_like(x)
    P._maxpool_backward_kernel(g, win, dx)
    dx_ref = np.empty_like(x)
    P.maxpool_backward_reference(g, win_ref, dx_ref)
    np.testing.assert_allclose(dx, dx_ref, rtol=1e-6)


@pytest.mark.parametrize("s", [2, 3])
def test_upsample_kernels_match_reference(s):
    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 3, 5, 4)).astype(np.float32)
    y = np.empty((2, 3, 5 * s, 4 * s), np.float32)
    P._upsample_kernel(x, s, y)
    y_ref = np.empty_like(y)
    P.upsample_reference(x, s, y_ref)
    np.testing.assert_array_equal(y, y_ref)
    g = rng.standard_normal(y.shape).astype(np.float32)
    dx = np.empty_like(x)
    P._upsample_backward_kernel(g, s, dx)
    dx_ref = np.empty_like(x)
    P.upsample_backward_reference(g, s, dx_ref)
    np.testing.assert_allclose(dx, dx_ref, rtol=1e-6, atol=1e-6)
