"""The phase-grid convolution: each NumPy reference equals its Numba twin, step by step.

The layout moves must agree exactly (they only move data); the tap loops and the five composite
maps within float32 / float64 rounding (they sum in another order).
"""
import numpy as np
import pytest

from scratchnet.nn.functional import phase as PH
from scratchnet.nn.functional import phase_layout as PL
from scratchnet.nn.functional import taps as T
from scratchnet.nn.functional.padding import conv_output_size

# (H, W, k, stride, padding): odd sizes, strides 1-3, kernel widths 1, 3 (blocked by three
# taps) and 2, 4 (the one-tap loops), every padding kind
CASES = [(7, 6, 3, 1, "same"), (7, 9, 3, 2, "same"), (8, 8, 3, 2, "valid"), (9, 7, 4, 3, 1),
         (5, 5, 2, 2, "same"), (6, 5, 1, 1, "valid"), (32, 32, 3, 2, "same")]
TOL = {np.float32: 2e-5, np.float64: 1e-12}


def _problem(H, W, k, s, padding, dtype, N=3, C=5, F=7, seed=0):
    """x, w, b, g, bias and the geometry; F = 7 = 4 + 2 + 1 and C = 5 = 2 + 2 + 1 take every
    channel blocking of the kernels."""
    rng = np.random.default_rng(seed)
    Ho, pt, _ = conv_output_size(H, k, s, padding)
    Wo, pl, _ = conv_output_size(W, k, s, padding)
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    w = rng.standard_normal((F, C, k, k)).astype(dtype)
    b = rng.standard_normal(F).astype(dtype)
    g = rng.standard_normal((N, F, Ho, Wo)).astype(dtype)
    bias = rng.standard_normal(C).astype(dtype)
    return x, w, b, g, bias, (Ho, Wo, pt, pl)


def _buffers(x, w, Ho, Wo, s):
    N, C = x.shape[:2]
    F, _, kh, kw = w.shape
    return [np.full(sh, np.nan, dtype=x.dtype)
            for sh in PL.buffer_shapes(N, C, F, Ho, Wo, kh, kw, s)]


def _close(fast, ref, dtype, what):
    assert fast.dtype == ref.dtype == dtype, what
    np.testing.assert_allclose(fast, ref, rtol=0, atol=TOL[dtype] * np.abs(ref).max(),
                               err_msg=what)


def test_phases_and_their_taps_for_stride_2_and_a_3x3_kernel():
    # the example of taps.py's docstring: ky = 2 qy + ry
    phases = {(ry, rx): taps for ry, rx, taps in T._phase_taps(3, 3, 2)}
    assert [(ky, kx) for ky, kx, _, _ in phases[0, 0]] == [(0, 0), (0, 2), (2, 0), (2, 2)]
    assert [(ky, kx) for ky, kx, _, _ in phases[0, 1]] == [(0, 1), (2, 1)]
    assert [(ky, kx) for ky, kx, _, _ in phases[1, 0]] == [(1, 0), (1, 2)]
    assert phases[1, 1] == [(1, 1, 0, 0)]  # the centre tap alone, unshifted
    assert phases[0, 0][-1] == (2, 2, 1, 1)  # tap 2 reads row oy + 1 of phase 0


@pytest.mark.parametrize("H, W, k, s, padding", CASES)
def test_layout_moves_equal_their_numba_twins_exactly(H, W, k, s, padding):
    x, w, _, g, bias, (Ho, Wo, pt, pl) = _problem(H, W, k, s, padding, np.float64)
    N, F = g.shape[:2]
    Hq, Wq, _ = PL.phase_grid(N, Ho, Wo, k, k, s)
    P_ref, A_ref = _buffers(x, w, Ho, Wo, s)
    P, A = _buffers(x, w, Ho, Wo, s)
    PL.phase_split_reference(x, s, pt, pl, Hq, Wq, P_ref)
    PL._phase_split_kernel(x, s, pt, pl, Hq, Wq, P)
    np.testing.assert_array_equal(P, P_ref)
    PL.to_grid_reference(g, Hq, Wq, A_ref)
    PL._to_grid_kernel(g, Hq, Wq, A)
    np.testing.assert_array_equal(A, A_ref)
    y_ref, y = np.empty_like(g), np.empty_like(g)
    PL.from_grid_reference(A_ref, Hq, Wq, y_ref)
    PL._from_grid_kernel(A, Hq, Wq, y)
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(y, g)  # onto the grid and off it again: g unchanged
    dx_ref, dx = np.empty_like(x), np.empty_like(x)
    PL.unphase_reference(P_ref, s, pt, pl, Hq, Wq, bias, dx_ref)
    PL._unphase_kernel(P, s, pt, pl, Hq, Wq, bias, dx)
    np.testing.assert_array_equal(dx, dx_ref)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("H, W, k, s, padding", CASES)
def test_tap_loops_equal_their_numba_twins(H, W, k, s, padding, dtype):
    x, w, b, g, _, (Ho, Wo, pt, pl) = _problem(H, W, k, s, padding, dtype)
    N, F = g.shape[:2]
    Hq, Wq, L = PL.phase_grid(N, Ho, Wo, k, k, s)
    P, G = _buffers(x, w, Ho, Wo, s)
    PL.phase_split_reference(x, s, pt, pl, Hq, Wq, P)
    PL.to_grid_reference(g, Hq, Wq, G)
    A_ref, A = np.full_like(G, np.nan), np.full_like(G, np.nan)
    T.taps_forward_reference(P, w, b, s, Wq, L, A_ref)
    T._taps_forward_kernel(P, w, b, s, Wq, L, A)
    _close(A[:, :L], A_ref[:, :L], dtype, "forward")
    A_one = np.full_like(G, np.nan)  # the one-channel loop, channel by channel, chunk by chunk
    for j0 in range(0, L, T._CHUNK):
        for f in range(F):
            T._taps_forward_one_kernel(P, w, b, f, s, Wq, j0, min(T._CHUNK, L - j0), A_one)
    _close(A_one[:, :L], A_ref[:, :L], dtype, "forward, one channel at a time")
    dP_ref, dP = np.full_like(P, np.nan), np.full_like(P, np.nan)
    T.taps_backward_input_reference(G, w, s, Wq, L, dP_ref)
    T._taps_backward_input_kernel(G, w, s, Wq, L, dP)
    _close(dP, dP_ref, dtype, "input gradient")
    dw_ref, dw = np.ones_like(w), np.ones_like(w)  # accumulated into: start from ones
    T.taps_backward_weight_reference(P, G, s, Wq, L, dw_ref)
    T._taps_backward_weight_kernel(P, G, s, Wq, L, dw)
    _close(dw, dw_ref, dtype, "weight gradient")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("H, W, k, s, padding", CASES)
def test_composite_maps_equal_their_fast_twins(H, W, k, s, padding, dtype):
    x, w, b, g, bias, (Ho, Wo, pt, pl) = _problem(H, W, k, s, padding, dtype)
    runs = {}
    for name, fn in (("reference", lambda f: getattr(PH, f + "_reference")),
                     ("kernel", lambda f: getattr(PH, "_" + f))):
        y, y2, dx, dx2 = (np.empty_like(g), np.empty_like(g), np.empty_like(x),
                          np.empty_like(x))
        dw, dw2, dw3 = np.ones_like(w), np.ones_like(w), np.ones_like(w)
        fn("conv2d_phase")(x, w, b, s, pt, pl, y, *_buffers(x, w, Ho, Wo, s))
        fn("conv2d_grad_input_phase")(g, w, bias, s, pt, pl, dx, *_buffers(x, w, Ho, Wo, s))
        fn("conv2d_grad_weight_phase")(x, g, s, pt, pl, dw, *_buffers(x, w, Ho, Wo, s))
        fn("conv2d_backward_phase")(x, g, w, s, pt, pl, dx2, dw2, *_buffers(x, w, Ho, Wo, s))
        fn("conv2d_forward_grad_weight_phase")(x, g, w, s, pt, pl, y2, dw3,
                                               *_buffers(x, w, Ho, Wo, s))
        runs[name] = {"forward": y, "grad_input": dx, "grad_weight": dw, "fused dx": dx2,
                      "fused dw": dw2, "fused y": y2, "fused dw (transpose)": dw3}
    for what, ref in runs["reference"].items():
        _close(runs["kernel"][what], ref, dtype, what)


def test_public_phase_functions_reuse_work_buffers():
    # the reference composites with fresh buffers, against the public functions with a layer's
    # work dict reused from a smaller batch to a bigger one
    x, w, b, g, _, (Ho, Wo, pt, pl) = _problem(9, 9, 3, 2, 1, np.float64)
    work = {}
    PH.conv2d_phase(x[:1], w, b, 2, (pt, pt, pl, pl), work)
    y = np.empty_like(g)
    PH.conv2d_phase_reference(x, w, b, 2, pt, pl, y, *_buffers(x, w, Ho, Wo, 2))
    _close(PH.conv2d_phase(x, w, b, 2, (pt, pt, pl, pl), work), y, np.float64, "forward")
