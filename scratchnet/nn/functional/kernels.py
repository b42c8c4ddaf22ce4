r"""Numba twins of the im2col reference: direct convolution over phase-split planar buffers.

Same maths and index names as :mod:`scratchnet.nn.functional.im2col` (n sample, c input channel,
f output channel, ky/kx kernel tap, oy/ox output pixel); the tests hold them equal.

Why not im2col + GEMM here? The autoencoders' layers have few channels (3→8, 16→8, 8→3, 1→16,
2→2...), so the GEMMs are thin (K = C·kh·kw = 27..288, M = F = 2..32) and the column matrix is
9× the input: memory traffic, not arithmetic, is the cost. A direct convolution reads each input
plane once per tap straight from cache.

The trick that makes the inner loop long and contiguous: lay the zero-padded input planes out
flat with row stride ``Wq``, *all samples one after the other* (``P[c, n·S + a·Wq + b]`` with
``S = Hq·Wq``), and compute the output on the *same* grid (the last columns of each row and the
last rows of each sample being junk that is never copied out). Then tap (ky, kx) is one loop
``acc[j] += w * P[c, j + ky·Wq + kx]`` over ``L = (N-1)·S + (Ho-1)·Wq + Wo`` contiguous
elements, which LLVM turns into SIMD FMAs; it runs chunk by chunk (``_CHUNK`` elements) so the
accumulators and the input rows they read stay in L1 cache. Running over the whole batch at
once matters for the 4×4 and 8×8 layers, whose per-sample loops would be 20 to 80 long.

A stride ``s > 1`` would break that contiguity, so the padded input is first split into
``s²`` *phases* ``P[ry, rx][a, b] = x̃[s·a + ry, s·b + rx]``. With ``ky = s·qy + ry``,

.. math:: \tilde x_{s o_y + k_y} = P[r_y]_{o_y + q_y},

so a stride-s convolution is a stride-1 convolution over the phases with the sub-kernel taps
``(qy, qx)``. The layout moves live in :mod:`._layout`. The input gradient runs the same loops
as a scatter onto ``dP`` (its junk entries are fed zeros, so they add nothing) and un-splits the
phases; the weight gradient is one dot product of length ``L`` per (f, c, ky, kx).

The loops are bound by loads and stores, not arithmetic, so each is register-blocked (two
channels × three taps, or two × four channels) to give every load several FMAs. Each inner loop
runs over 1-D slices taken once per chunk (``p = P[row, off:off + m]``), not over
``P[row, off + i]``: Numba's negative-index wraparound on a computed index kept LLVM from
vectorizing (6× slower).

The composite kernels take their work buffers from the caller (``P``, ``G``, ``A``...; see
``buffer_shapes``), so that a layer can reuse them from one batch to the next: fresh multi-MB
temporaries cost page faults on every call.

All kernels are single-threaded and release the GIL (``nogil``): the parallel training step
runs two of them at once on two halves of the batch (see :mod:`scratchnet.nn._parallel`).
"""
import numpy as np
from numba import njit

from ._layout import (_from_grid, _phase_split, _to_grid, _unphase, buffer_shapes,  # noqa: F401
                      phase_grid, phase_split_reference)

_CHUNK = 1024  # elements of the flat grid processed per pass: ~4 KB per row in L1


@njit(cache=True, nogil=True, inline="always")
def _tap(P, s, Wq, c, ky, kx, j0, m):
    """The flat slice of phase planes that tap (ky, kx) of channel c reads for grid j0:j0+m."""
    qy = ky // s
    qx = kx // s
    off = j0 + qy * Wq + qx
    return P[(c * s + ky - qy * s) * s + kx - qx * s, off:off + m]


@njit(cache=True, nogil=True)
def _taps_forward_one(P, w, b, f, s, Wq, j0, m, A):
    """One output channel f of :func:`_taps_forward` over grid entries j0:j0+m."""
    C, kh, kw = w.shape[1], w.shape[2], w.shape[3]
    a = A[f, j0:j0 + m]
    a[:] = b[f]
    for c in range(C):
        for ky in range(kh):
            kx = 0
            while kx + 3 <= kw:  # three taps per pass
                p0 = _tap(P, s, Wq, c, ky, kx, j0, m)
                p1 = _tap(P, s, Wq, c, ky, kx + 1, j0, m)
                p2 = _tap(P, s, Wq, c, ky, kx + 2, j0, m)
                w0, w1, w2 = w[f, c, ky, kx], w[f, c, ky, kx + 1], w[f, c, ky, kx + 2]
                for i in range(m):
                    a[i] += w0 * p0[i] + w1 * p1[i] + w2 * p2[i]
                kx += 3
            for kx in range(kx, kw):
                p0 = _tap(P, s, Wq, c, ky, kx, j0, m)
                w0 = w[f, c, ky, kx]
                for i in range(m):
                    a[i] += w0 * p0[i]


@njit(cache=True, nogil=True)
def _taps_forward(P, w, b, s, Wq, L, A):  # P, w, b: IN   A: OUT (F, >= L)
    """A[f, j] = b[f] + sum_{c,ky,kx} w[f,c,ky,kx] P[c·s² + ry·s + rx, j + qy·Wq + qx].

    Register blocking: four (then two) output channels and the three taps of a kernel row per
    pass, so each loaded input value feeds 4 FMAs and each accumulator store follows 3 (the
    loop is bound by loads and stores, not arithmetic; four channels beat two by 10-30%).
    Leftover channels, and kernels whose width is not a multiple of 3, take the one-tap loop.
    """
    F, C, kh, kw = w.shape
    for j0 in range(0, L, _CHUNK):
        m = min(_CHUNK, L - j0)
        if kw % 3:
            for f in range(F):
                _taps_forward_one(P, w, b, f, s, Wq, j0, m, A)
            continue
        f0 = 0
        while f0 + 4 <= F:
            a0, a1 = A[f0, j0:j0 + m], A[f0 + 1, j0:j0 + m]
            a2, a3 = A[f0 + 2, j0:j0 + m], A[f0 + 3, j0:j0 + m]
            a0[:] = b[f0]
            a1[:] = b[f0 + 1]
            a2[:] = b[f0 + 2]
            a3[:] = b[f0 + 3]
            for c in range(C):
                for ky in range(kh):
                    for kx in range(0, kw, 3):
                        p0 = _tap(P, s, Wq, c, ky, kx, j0, m)
                        p1 = _tap(P, s, Wq, c, ky, kx + 1, j0, m)
                        p2 = _tap(P, s, Wq, c, ky, kx + 2, j0, m)
                        t00, t01, t02 = w[f0, c, ky, kx], w[f0, c, ky, kx + 1], w[f0, c, ky, kx + 2]
                        t10, t11 = w[f0 + 1, c, ky, kx], w[f0 + 1, c, ky, kx + 1]
                        t12 = w[f0 + 1, c, ky, kx + 2]
                        t20, t21 = w[f0 + 2, c, ky, kx], w[f0 + 2, c, ky, kx + 1]
                        t22 = w[f0 + 2, c, ky, kx + 2]
                        t30, t31 = w[f0 + 3, c, ky, kx], w[f0 + 3, c, ky, kx + 1]
                        t32 = w[f0 + 3, c, ky, kx + 2]
                        for i in range(m):
                            x0, x1, x2 = p0[i], p1[i], p2[i]
                            a0[i] += t00 * x0 + t01 * x1 + t02 * x2
                            a1[i] += t10 * x0 + t11 * x1 + t12 * x2
                            a2[i] += t20 * x0 + t21 * x1 + t22 * x2
                            a3[i] += t30 * x0 + t31 * x1 + t32 * x2
            f0 += 4
        if f0 + 2 <= F:
            a0, a1 = A[f0, j0:j0 + m], A[f0 + 1, j0:j0 + m]
            a0[:] = b[f0]
            a1[:] = b[f0 + 1]
            for c in range(C):
                for ky in range(kh):
                    for kx in range(0, kw, 3):
                        p0 = _tap(P, s, Wq, c, ky, kx, j0, m)
                        p1 = _tap(P, s, Wq, c, ky, kx + 1, j0, m)
                        p2 = _tap(P, s, Wq, c, ky, kx + 2, j0, m)
                        t00, t01, t02 = w[f0, c, ky, kx], w[f0, c, ky, kx + 1], w[f0, c, ky, kx + 2]
                        t10, t11 = w[f0 + 1, c, ky, kx], w[f0 + 1, c, ky, kx + 1]
                        t12 = w[f0 + 1, c, ky, kx + 2]
                        for i in range(m):
                            x0, x1, x2 = p0[i], p1[i], p2[i]
                            a0[i] += t00 * x0 + t01 * x1 + t02 * x2
                            a1[i] += t10 * x0 + t11 * x1 + t12 * x2
            f0 += 2
        if f0 < F:
            _taps_forward_one(P, w, b, f0, s, Wq, j0, m, A)


@njit(cache=True, nogil=True)
def _taps_backward_input_one(G, w, c, s, Wq, j0, m, dP):
    """Input channel c of :func:`_taps_backward_input` over grid entries j0:j0+m."""
    F, kh, kw = w.shape[0], w.shape[2], w.shape[3]
    for ky in range(kh):
        for kx in range(kw):
            d = _tap(dP, s, Wq, c, ky, kx, j0, m)
            f = 0
            while f + 4 <= F:
                g0, g1 = G[f, j0:j0 + m], G[f + 1, j0:j0 + m]
                g2, g3 = G[f + 2, j0:j0 + m], G[f + 3, j0:j0 + m]
                w0, w1 = w[f, c, ky, kx], w[f + 1, c, ky, kx]
                w2, w3 = w[f + 2, c, ky, kx], w[f + 3, c, ky, kx]
                for i in range(m):
                    d[i] += w0 * g0[i] + w1 * g1[i] + w2 * g2[i] + w3 * g3[i]
                f += 4
            while f < F:
                g0 = G[f, j0:j0 + m]
                w0 = w[f, c, ky, kx]
                for i in range(m):
                    d[i] += w0 * g0[i]
                f += 1


@njit(cache=True, nogil=True)
def _taps_backward_input(G, w, s, Wq, L, dP):  # G, w: IN   dP: OUT (zeroed here)
    """dP[c·s² + ry·s + rx, j + qy·Wq + qx] += sum_f w[f,c,ky,kx] G[f, j]  (the scatter).

    Register blocking: two input channels × four output channels per pass, so each loaded
    G value feeds 2 FMAs and each store follows 4. An odd last channel takes the one-channel
    loop.
    """
    F, C, kh, kw = w.shape
    dP[:] = 0
    for j0 in range(0, L, _CHUNK):
        m = min(_CHUNK, L - j0)
        for c in range(0, C - 1, 2):
            for ky in range(kh):
                for kx in range(kw):
                    d = _tap(dP, s, Wq, c, ky, kx, j0, m)
                    e = _tap(dP, s, Wq, c + 1, ky, kx, j0, m)
                    f = 0
                    while f + 4 <= F:
                        g0, g1 = G[f, j0:j0 + m], G[f + 1, j0:j0 + m]
                        g2, g3 = G[f + 2, j0:j0 + m], G[f + 3, j0:j0 + m]
                        w0, w1 = w[f, c, ky, kx], w[f + 1, c, ky, kx]
                        w2, w3 = w[f + 2, c, ky, kx], w[f + 3, c, ky, kx]
                        v0, v1 = w[f, c + 1, ky, kx], w[f + 1, c + 1, ky, kx]
                        v2, v3 = w[f + 2, c + 1, ky, kx], w[f + 3, c + 1, ky, kx]
                        for i in range(m):
                            x0, x1, x2, x3 = g0[i], g1[i], g2[i], g3[i]
                            d[i] += w0 * x0 + w1 * x1 + w2 * x2 + w3 * x3
                            e[i] += v0 * x0 + v1 * x1 + v2 * x2 + v3 * x3
                        f += 4
                    while f < F:
                        g0 = G[f, j0:j0 + m]
                        w0, v0 = w[f, c, ky, kx], w[f, c + 1, ky, kx]
                        for i in range(m):
                            d[i] += w0 * g0[i]
                            e[i] += v0 * g0[i]
                        f += 1
        if C % 2:
            _taps_backward_input_one(G, w, C - 1, s, Wq, j0, m, dP)


@njit(cache=True, nogil=True, fastmath=True)
def _taps_backward_weight_one(P, G, f, s, Wq, j0, m, dw):
    """One output channel f of :func:`_taps_backward_weight` over grid entries j0:j0+m."""
    C, kh, kw = dw.shape[1], dw.shape[2], dw.shape[3]
    zero = np.zeros(1, dtype=dw.dtype)[0]  # accumulate in the data's dtype, not float64
    gf = G[f, j0:j0 + m]
    for c in range(C):
        for ky in range(kh):
            kx = 0
            while kx + 3 <= kw:  # three taps share each load of G
                p0 = _tap(P, s, Wq, c, ky, kx, j0, m)
                p1 = _tap(P, s, Wq, c, ky, kx + 1, j0, m)
                p2 = _tap(P, s, Wq, c, ky, kx + 2, j0, m)
                a0 = a1 = a2 = zero
                for i in range(m):
                    u = gf[i]
                    a0 += u * p0[i]
                    a1 += u * p1[i]
                    a2 += u * p2[i]
                dw[f, c, ky, kx] += a0
                dw[f, c, ky, kx + 1] += a1
                dw[f, c, ky, kx + 2] += a2
                kx += 3
            for kx in range(kx, kw):
                p0 = _tap(P, s, Wq, c, ky, kx, j0, m)
                acc = zero
                for i in range(m):
                    acc += gf[i] * p0[i]
                dw[f, c, ky, kx] += acc


@njit(cache=True, nogil=True, fastmath=True)
def _taps_backward_weight(P, G, s, Wq, L, dw):  # P, G: IN   dw: IN/OUT (accumulated)
    """dw[f,c,ky,kx] += sum_j G[f, j] P[c·s² + ry·s + rx, j + qy·Wq + qx].

    Twelve dot products at once (four output channels × three taps of a kernel row) share
    their loads: 7 loads per 12 FMAs, 1.7× faster than two channels. Leftover channels go one
    at a time. ``fastmath`` lets LLVM split each sum over SIMD lanes (reassociation).
    """
    F, C, kh, kw = dw.shape
    zero = np.zeros(1, dtype=dw.dtype)[0]  # accumulate in the data's dtype, not float64
    for j0 in range(0, L, _CHUNK):
        m = min(_CHUNK, L - j0)
        f0 = 0
        while f0 + 4 <= F and kw % 3 == 0:
            g0, g1 = G[f0, j0:j0 + m], G[f0 + 1, j0:j0 + m]
            g2, g3 = G[f0 + 2, j0:j0 + m], G[f0 + 3, j0:j0 + m]
            for c in range(C):
                for ky in range(kh):
                    for kx in range(0, kw, 3):
                        p0 = _tap(P, s, Wq, c, ky, kx, j0, m)
                        p1 = _tap(P, s, Wq, c, ky, kx + 1, j0, m)
                        p2 = _tap(P, s, Wq, c, ky, kx + 2, j0, m)
                        a0 = a1 = a2 = b0 = b1 = b2 = zero
                        c0 = c1 = c2 = d0 = d1 = d2 = zero
                        for i in range(m):
                            x0, x1, x2 = p0[i], p1[i], p2[i]
                            u = g0[i]
                            a0 += u * x0
                            a1 += u * x1
                            a2 += u * x2
                            u = g1[i]
                            b0 += u * x0
                            b1 += u * x1
                            b2 += u * x2
                            u = g2[i]
                            c0 += u * x0
                            c1 += u * x1
                            c2 += u * x2
                            u = g3[i]
                            d0 += u * x0
                            d1 += u * x1
                            d2 += u * x2
                        dw[f0, c, ky, kx] += a0
                        dw[f0, c, ky, kx + 1] += a1
                        dw[f0, c, ky, kx + 2] += a2
                        dw[f0 + 1, c, ky, kx] += b0
                        dw[f0 + 1, c, ky, kx + 1] += b1
                        dw[f0 + 1, c, ky, kx + 2] += b2
                        dw[f0 + 2, c, ky, kx] += c0
                        dw[f0 + 2, c, ky, kx + 1] += c1
                        dw[f0 + 2, c, ky, kx + 2] += c2
                        dw[f0 + 3, c, ky, kx] += d0
                        dw[f0 + 3, c, ky, kx + 1] += d1
                        dw[f0 + 3, c, ky, kx + 2] += d2
            f0 += 4
        for f in range(f0, F):
            _taps_backward_weight_one(P, G, f, s, Wq, j0, m, dw)


@njit(cache=True, nogil=True)
def conv2d_forward_kernel(x, w, b, s, pt, pl, y, P, A):
    """y = conv(x, w) + b.  x (N,C,H,W), w (F,C,kh,kw), b (F,): IN;  y (N,F,Ho,Wo): OUT;
    P, A: work buffers of ``buffer_shapes``."""
    N, F, Ho, Wo = y.shape
    Hq, Wq, L = phase_grid(N, Ho, Wo, w.shape[2], w.shape[3], s)
    _phase_split(x, s, pt, pl, Hq, Wq, P)
    _taps_forward(P, w, b, s, Wq, L, A)
    _from_grid(A, Hq, Wq, y)


@njit(cache=True, nogil=True)
def conv2d_grad_input_kernel(g, w, bias, s, pt, pl, dx, P, G):
    """dx = bias + dL/dx of conv(x, w) given g = dL/dy (a transposed convolution, plus bias).

    g (N,F,Ho,Wo), w (F,C,kh,kw), bias (C,): IN;  dx (N,C,H,W): OUT;  P, G: work buffers.
    """
    N, F, Ho, Wo = g.shape
    Hq, Wq, L = phase_grid(N, Ho, Wo, w.shape[2], w.shape[3], s)
    _to_grid(g, Hq, Wq, G)
    _taps_backward_input(G, w, s, Wq, L, P)
    _unphase(P, s, pt, pl, Hq, Wq, bias, dx)


@njit(cache=True, nogil=True)
def conv2d_grad_weight_kernel(x, g, s, pt, pl, dw, P, G):
    """dw += dL/dw of conv(x, w) given g = dL/dy.

    x (N,C,H,W), g (N,F,Ho,Wo): IN;  dw (F,C,kh,kw): IN/OUT (accumulated);  P, G: work buffers.
    """
    N, F, Ho, Wo = g.shape
    Hq, Wq, L = phase_grid(N, Ho, Wo, dw.shape[2], dw.shape[3], s)
    _phase_split(x, s, pt, pl, Hq, Wq, P)
    _to_grid(g, Hq, Wq, G)
    _taps_backward_weight(P, G, s, Wq, L, dw)


@njit(cache=True, nogil=True)
def conv2d_backward_kernel(x, g, w, s, pt, pl, dx, dw, P, G):
    """Both gradients of a convolution at once: one grid of g serves dw and dx.

    x (N,C,H,W), g (N,F,Ho,Wo), w: IN;  dx: OUT;  dw: IN/OUT (accumulated);  P, G: work.
    """
    N, F, Ho, Wo = g.shape
    Hq, Wq, L = phase_grid(N, Ho, Wo, w.shape[2], w.shape[3], s)
    _phase_split(x, s, pt, pl, Hq, Wq, P)
    _to_grid(g, Hq, Wq, G)
    _taps_backward_weight(P, G, s, Wq, L, dw)
    _taps_backward_input(G, w, s, Wq, L, P)  # P now holds dL/dP
    _unphase(P, s, pt, pl, Hq, Wq, np.zeros(x.shape[1], dtype=dx.dtype), dx)


@njit(cache=True, nogil=True)
def conv2d_forward_grad_weight_kernel(x, g, w, s, pt, pl, y, dw, P, A):
    """y = conv(x, w) (no bias) and dw += dL/dw for upstream g, sharing one phase split of x.

    This is the backward pass of a transposed convolution, whose upstream gradient is the
    ``x`` here and whose input is the ``g`` here.
    x (N,C,H,W), g (N,F,Ho,Wo), w: IN;  y (N,F,Ho,Wo): OUT;  dw: IN/OUT;  P, A: work.
    """
    N, F, Ho, Wo = y.shape
    Hq, Wq, L = phase_grid(N, Ho, Wo, w.shape[2], w.shape[3], s)
    _phase_split(x, s, pt, pl, Hq, Wq, P)
    _taps_forward(P, w, np.zeros(F, dtype=w.dtype), s, Wq, L, A)
    _from_grid(A, Hq, Wq, y)
    _to_grid(g, Hq, Wq, A)  # A now holds the grid of g
    _taps_backward_weight(P, A, s, Wq, L, dw)
