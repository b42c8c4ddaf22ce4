r"""Numba twins of the im2col reference: direct convolution over phase-split planar buffers.

Same maths and index names as :mod:`scratchnet.nn.functional.im2col` (n sample, c input channel,
f output channel, ky/kx kernel tap, oy/ox output pixel); the tests hold them equal.

Why not im2col + GEMM here? The autoencoders' layers have few channels (3→8, 16→8, 8→3, 1→16,
2→2...), so the GEMMs are thin (K = C·kh·kw = 27..288, M = F = 2..32) and the column matrix is
9× the input: memory traffic, not arithmetic, is the cost. A direct convolution reads each input
plane once per tap straight from cache.

The trick that makes the inner loop long and contiguous: lay one zero-padded input plane out
flat with row stride ``Wq`` and compute the output on the *same* grid (``Ho`` rows of ``Wq``,
the last ``Wq - Wo`` columns of each row being junk that is never copied out). Then tap
(ky, kx) is one loop ``acc[i] += w * plane[i + ky·Wq + kx]`` over ``L = (Ho-1)·Wq + Wo``
contiguous elements, which LLVM turns into SIMD FMAs.

A stride ``s > 1`` would break that contiguity, so the padded input is first split into
``s²`` *phases* ``P[ry, rx][a, b] = x̃[s·a + ry, s·b + rx]``. With ``ky = s·qy + ry``,

.. math:: \tilde x_{s o_y + k_y} = P[r_y]_{o_y + q_y},

so a stride-s convolution is a stride-1 convolution over the phases with the sub-kernel
taps ``(qy, qx)``. The input gradient runs the same loop as a scatter onto ``dP`` (its junk
columns are fed zeros, so they add nothing) and un-splits the phases; the weight gradient is
one dot product of length ``L`` per (f, c, ky, kx).

All kernels are single-threaded and release the GIL (``nogil``): the parallel training step
runs two of them at once on two halves of the batch (see :mod:`scratchnet.nn._parallel`).
"""
import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def phase_grid(Ho, Wo, kh, kw, s):
    """Phase-plane size (Hq, Wq) and inner-loop length L for output (Ho, Wo)."""
    Hq = Ho + (kh - 1) // s
    Wq = Wo + (kw - 1) // s
    return Hq, Wq, (Ho - 1) * Wq + Wo


def phase_split_reference(xn, s, pt, pl, Hq, Wq):
    """P[c·s² + ry·s + rx, a·Wq + b] = x̃[c, s·a + ry, s·b + rx] (zero outside x), plain NumPy."""
    C, H, W = xn.shape
    xp = np.zeros((C, s * Hq, s * Wq), dtype=xn.dtype)
    h, w = min(H, s * Hq - pt), min(W, s * Wq - pl)
    xp[:, pt:pt + h, pl:pl + w] = xn[:, :h, :w]
    P = xp.reshape(C, Hq, s, Wq, s).transpose(0, 2, 4, 1, 3)  # (c, ry, rx, a, b)
    return P.reshape(C * s * s, Hq * Wq)


@njit(cache=True, nogil=True)
def _phase_split(xn, s, pt, pl, Hq, Wq, P):  # xn: IN (C, H, W)   P: OUT (C*s*s, Hq*Wq)
    """Numba twin of :func:`phase_split_reference`, writing into the caller's buffer."""
    C, H, W = xn.shape
    for c in range(C):
        for ry in range(s):
            for rx in range(s):
                row = P[(c * s + ry) * s + rx]
                for a in range(Hq):
                    iy = s * a + ry - pt
                    for b in range(Wq):
                        ix = s * b + rx - pl
                        if 0 <= iy < H and 0 <= ix < W:
                            row[a * Wq + b] = xn[c, iy, ix]
                        else:
                            row[a * Wq + b] = 0


@njit(cache=True, nogil=True)
def _to_grid(gn, Wq, G):  # gn: IN (F, Ho, Wo)   G: OUT (F, Ho*Wq), junk columns zero
    F, Ho, Wo = gn.shape
    for f in range(F):
        for oy in range(Ho):
            for ox in range(Wq):
                G[f, oy * Wq + ox] = gn[f, oy, ox] if ox < Wo else 0


@njit(cache=True, nogil=True)
def conv2d_forward_kernel(x, w, b, s, pt, pl, y):
    """y = conv(x, w) + b.  x (N,C,H,W), w (F,C,kh,kw), b (F,): IN;  y (N,F,Ho,Wo): OUT."""
    N, C, H, W = x.shape
    F, _, kh, kw = w.shape
    Ho, Wo = y.shape[2], y.shape[3]
    Hq, Wq, L = phase_grid(Ho, Wo, kh, kw, s)
    P = np.empty((C * s * s, Hq * Wq), dtype=x.dtype)
    acc = np.empty((F, Ho * Wq), dtype=x.dtype)
    for n in range(N):
        _phase_split(x[n], s, pt, pl, Hq, Wq, P)
        for f in range(F):
            a = acc[f]
            a[:] = b[f]
            for c in range(C):
                for ky in range(kh):
                    qy = ky // s
                    ry = ky - qy * s
                    for kx in range(kw):
                        qx = kx // s
                        p = P[(c * s + ry) * s + kx - qx * s]
                        off = qy * Wq + qx
                        wv = w[f, c, ky, kx]
                        for i in range(L):
                            a[i] += wv * p[off + i]
            for oy in range(Ho):
                for ox in range(Wo):
                    y[n, f, oy, ox] = a[oy * Wq + ox]


@njit(cache=True, nogil=True)
def conv2d_grad_input_kernel(g, w, s, pt, pl, dx):
    """dx = dL/dx of conv(x, w) given g = dL/dy (a transposed convolution).

    g (N,F,Ho,Wo), w (F,C,kh,kw): IN;  dx (N,C,H,W): OUT (overwritten).
    """
    N, F, Ho, Wo = g.shape
    _, C, kh, kw = w.shape
    H, W = dx.shape[2], dx.shape[3]
    Hq, Wq, L = phase_grid(Ho, Wo, kh, kw, s)
    G = np.empty((F, Ho * Wq), dtype=g.dtype)
    dP = np.empty((C * s * s, Hq * Wq), dtype=g.dtype)
    for n in range(N):
        _to_grid(g[n], Wq, G)
        dP[:] = 0
        for c in range(C):
            for ky in range(kh):
                qy = ky // s
                ry = ky - qy * s
                for kx in range(kw):
                    qx = kx // s
                    d = dP[(c * s + ry) * s + kx - qx * s]
                    off = qy * Wq + qx
                    for f in range(F):
                        wv = w[f, c, ky, kx]
                        gf = G[f]
                        for i in range(L):
                            d[off + i] += wv * gf[i]
        for c in range(C):
            for iy in range(H):
                a = (iy + pt) // s
                ry = iy + pt - a * s
                for ix in range(W):
                    bq = (ix + pl) // s
                    rx = ix + pl - bq * s
                    if a < Hq and bq < Wq:
                        dx[n, c, iy, ix] = dP[(c * s + ry) * s + rx, a * Wq + bq]
                    else:
                        dx[n, c, iy, ix] = 0


@njit(cache=True, nogil=True, fastmath=True)
def conv2d_grad_weight_kernel(x, g, s, pt, pl, dw):
    """dw += dL/dw of conv(x, w) given g = dL/dy.

    x (N,C,H,W), g (N,F,Ho,Wo): IN;  dw (F,C,kh,kw): IN/OUT (accumulated).
    ``fastmath`` lets LLVM reorder the dot-product sums into SIMD lanes.
    """
    N, C, H, W = x.shape
    F, Ho, Wo = g.shape[1], g.shape[2], g.shape[3]
    kh, kw = dw.shape[2], dw.shape[3]
    Hq, Wq, L = phase_grid(Ho, Wo, kh, kw, s)
    P = np.empty((C * s * s, Hq * Wq), dtype=x.dtype)
    G = np.empty((F, Ho * Wq), dtype=x.dtype)
    for n in range(N):
        _phase_split(x[n], s, pt, pl, Hq, Wq, P)
        _to_grid(g[n], Wq, G)
        for f in range(F):
            gf = G[f]
            for c in range(C):
                for ky in range(kh):
                    qy = ky // s
                    ry = ky - qy * s
                    for kx in range(kw):
                        qx = kx // s
                        p = P[(c * s + ry) * s + kx - qx * s]
                        off = qy * Wq + qx
                        acc = 0.0
                        for i in range(L):
                            acc += gf[i] * p[off + i]
                        dw[f, c, ky, kx] += acc
