r"""Data layout of the phase-grid convolution: phase planes and the flat output grid.

Plain data movement, no arithmetic. With stride ``s``, the zero-padded input ``x̃`` (N, C, H, W)
is cut into ``s²`` *phase planes* per channel, plane ``(ry, rx)`` holding every ``s``-th pixel
from ``(ry, rx)`` on, and all samples are laid one after the other on a flat grid of row stride
``Wq`` (``S = Hq·Wq`` entries per sample)::

    P[c·s² + ry·s + rx, n·S + a·Wq + b] = x̃[n, c, s·a + ry, s·b + rx]

An (N, F, Ho, Wo) output or upstream gradient sits on the *same* grid,
``G[f, n·S + a·Wq + b] = g[n, f, a, b]``, the entries with ``a >= Ho`` or ``b >= Wo`` being junk
(zero when written by :func:`to_grid_reference`). :mod:`.phase` explains why this layout.

Four moves, each a plain NumPy reference (reshape and transpose) with its Numba twin right
below it, same arguments, IN/OUT tags, output allocated by the caller:

* :func:`phase_split_reference` — ``x`` onto the phase planes;
* :func:`unphase_reference` — the phase planes back to an image (adding a bias): the adjoint
  of the split, used by the input gradient;
* :func:`to_grid_reference`, :func:`from_grid_reference` — an (N, F, Ho, Wo) array onto and
  off the grid.
"""
import numpy as np
from numba import njit, uint64

# Numba functions that are pieces of a larger kernel, and the NumPy reference the tests
# hold the whole to (tests/test_naming.py checks that every Numba function has one).
_KERNEL_PARTS = {"phase_grid": "phase_split_reference", "_phase_index": "phase_split_reference",
                 "_edges": "phase_split_reference"}


@njit(cache=True, nogil=True)
def phase_grid(N, Ho, Wo, kh, kw, s):
    """Phase-plane size (Hq, Wq) and flat loop length L for N outputs of (Ho, Wo).

    A tap ``ky = s·qy + ry`` reads plane row ``oy + qy`` with ``qy <= (kh - 1) // s``, so the
    planes need ``Ho + (kh - 1) // s`` rows; ``L`` runs from the first output entry of sample 0
    to the last of sample N - 1.
    """
    Hq = Ho + (kh - 1) // s
    Wq = Wo + (kw - 1) // s
    return Hq, Wq, (N - 1) * Hq * Wq + (Ho - 1) * Wq + Wo


def buffer_shapes(N, C, F, Ho, Wo, kh, kw, s):
    """Shapes of the work buffers: phase planes (C·s², N·S) and the output grid (F, N·S)."""
    Hq, Wq, _ = phase_grid(N, Ho, Wo, kh, kw, s)
    return (C * s * s, N * Hq * Wq), (F, N * Hq * Wq)


def phase_split_reference(x, s, pt, pl, Hq, Wq, P):  # x: IN (N, C, H, W)   P: OUT (C·s², N·S)
    """P[c·s² + ry·s + rx, n·S + a·Wq + b] = x̃[n, c, s·a + ry, s·b + rx], plain NumPy."""
    N, C, H, W = x.shape
    xp = np.zeros((N, C, s * Hq, s * Wq), dtype=x.dtype)  # the part of x̃ the planes cover
    h, w = min(H, s * Hq - pt), min(W, s * Wq - pl)
    xp[:, :, pt:pt + h, pl:pl + w] = x[:, :, :h, :w]
    planes = xp.reshape(N, C, Hq, s, Wq, s).transpose(1, 3, 5, 0, 2, 4)  # (c, ry, rx, n, a, b)
    P[...] = planes.reshape(C * s * s, N * Hq * Wq)


# The phase split and its inverse move rows with flat unsigned indices: Numba then emits no
# negative-index wraparound and LLVM vectorizes the (de)interleaving; a Numba slice per row
# (a reference-count round trip each) had cost more than the copy. Strides > 2 and the edge
# pixels of stride 2 go through small index tables (no division per pixel).
@njit(cache=True, nogil=True)
def _phase_index(n, before, s, nq):
    """For each input index i: its plane index q = (i + before) // s (-1 if >= nq), phase r."""
    q = np.empty(n, dtype=np.int64)
    r = np.empty(n, dtype=np.int64)
    for i in range(n):
        q[i] = (i + before) // s
        r[i] = i + before - q[i] * s
        if q[i] >= nq:
            q[i] = -1
    return q, r


def _fast_columns(W, pl, s, Wq):
    """Columns a phase row copies in its fast loop: stride 1 ``ix = u`` for u < n1, stride 2
    the pairs ``ix = 2h - pl, 2h + 1 - pl`` for ``h_lo <= h < h_hi``; the rest use the tables."""
    n1 = max(0, min(W, Wq - pl))
    h_lo = (pl + 1) // 2
    h_hi = max(h_lo, min(Wq, (W - 2 + pl) // 2 + 1))
    return n1, h_lo, h_hi


_fast_columns = njit(cache=True, nogil=True)(_fast_columns)


@njit(cache=True, nogil=True)
def _edges(lo, hi, W):
    """The columns 0..W-1 outside the fast loop's [lo, hi), as a small array."""
    out = np.empty(W - (hi - lo), dtype=np.int64)
    k = 0
    for ix in range(W):
        if ix < lo or ix >= hi:
            out[k] = ix
            k += 1
    return out


@njit(cache=True, nogil=True)
def _phase_split_kernel(x, s, pt, pl, Hq, Wq, P):  # x: IN (N, C, H, W)   P: OUT (C*s*s, N*S)
    """Numba twin of :func:`phase_split_reference`, writing into the caller's buffer."""
    N, C, H, W = x.shape
    S = Hq * Wq
    R = P.shape[1]
    aq, ry = _phase_index(H, pt, s, Hq)
    bq, rx = _phase_index(W, pl, s, Wq)
    n1, h_lo, h_hi = _fast_columns(W, pl, s, Wq)
    Pf = P.reshape(-1)
    xf = x.reshape(-1)
    if s == 1:  # plane row a holds x row a - pt between pl zeros and the right padding
        for c in range(C):
            for n in range(N):
                for a in range(Hq):
                    p0 = uint64(c * R + n * S + a * Wq)
                    iy = a - pt
                    if iy < 0 or iy >= H:
                        for b in range(uint64(Wq)):
                            Pf[p0 + b] = 0
                        continue
                    xb = uint64(((n * C + c) * H + iy) * W)
                    for b in range(uint64(pl)):
                        Pf[p0 + b] = 0
                    for u in range(uint64(n1)):
                        Pf[p0 + uint64(pl) + u] = xf[xb + u]
                    for b in range(uint64(pl + n1), uint64(Wq)):
                        Pf[p0 + b] = 0
        return
    # the columns the stride-2 fast copy below does not cover (all of them for other strides)
    if s == 2:
        edges = _edges(min(W, 2 * h_lo - pl), max(0, 2 * h_hi - pl), W)
    else:
        edges = _edges(0, 0, W)
    P[:] = 0
    for c in range(C):
        for n in range(N):
            for iy in range(H):
                if aq[iy] < 0:
                    continue
                row = (c * s + ry[iy]) * s
                p0 = uint64(row * R + n * S + aq[iy] * Wq)   # plane row of phase rx = 0
                xb = uint64(((n * C + c) * H + iy) * W)        # x[n, c, iy, 0]
                if s == 2:
                    for h in range(uint64(h_lo), uint64(h_hi)):
                        Pf[p0 + h] = xf[xb + uint64(2) * h - uint64(pl)]
                        Pf[p0 + uint64(R) + h] = xf[xb + uint64(2) * h + uint64(1) - uint64(pl)]
                for ix in edges:
                    if bq[ix] >= 0:
                        P[row + rx[ix], n * S + aq[iy] * Wq + bq[ix]] = x[n, c, iy, ix]


def unphase_reference(dP, s, pt, pl, Hq, Wq, bias, dx):  # dP, bias (C,): IN   dx: OUT
    """dx[n, c, s·a + ry - pt, s·b + rx - pl] = bias[c] + dP[c·s² + ry·s + rx, n·S + a·Wq + b],
    plain NumPy: the planes interleaved back into x̃, cropped of the padding. Pixels beyond the
    planes (never read by the convolution) get the bias alone."""
    N, C, H, W = dx.shape
    planes = dP.reshape(C, s, s, N, Hq, Wq).transpose(3, 0, 4, 1, 5, 2)  # (n, c, a, ry, b, rx)
    xp = np.zeros((N, C, max(s * Hq, pt + H), max(s * Wq, pl + W)), dtype=dP.dtype)
    xp[:, :, :s * Hq, :s * Wq] = planes.reshape(N, C, s * Hq, s * Wq)
    dx[...] = xp[:, :, pt:pt + H, pl:pl + W] + bias[:, None, None]


@njit(cache=True, nogil=True)
def _unphase_kernel(dP, s, pt, pl, Hq, Wq, bias, dx):  # dP, bias (C,): IN   dx: OUT (N, C, H, W)
    """Numba twin of :func:`unphase_reference`."""
    N, C, H, W = dx.shape
    S = Hq * Wq
    R = dP.shape[1]
    aq, ry = _phase_index(H, pt, s, Hq)
    bq, rx = _phase_index(W, pl, s, Wq)
    n1, h_lo, h_hi = _fast_columns(W, pl, s, Wq)
    if s == 1:
        edges = _edges(0, n1, W)
    elif s == 2:
        edges = _edges(min(W, 2 * h_lo - pl), max(0, 2 * h_hi - pl), W)
    else:
        edges = _edges(0, 0, W)
    dPf = dP.reshape(-1)
    dxf = dx.reshape(-1)
    for n in range(N):
        for c in range(C):
            bc = bias[c]
            for iy in range(H):
                xb = uint64(((n * C + c) * H + iy) * W)       # dx[n, c, iy, 0]
                if aq[iy] < 0:
                    for u in range(uint64(W)):
                        dxf[xb + u] = bc
                    continue
                row = (c * s + ry[iy]) * s
                p0 = uint64(row * R + n * S + aq[iy] * Wq)
                if s == 1:
                    for u in range(uint64(n1)):
                        dxf[xb + u] = dPf[p0 + uint64(pl) + u] + bc
                elif s == 2:
                    for h in range(uint64(h_lo), uint64(h_hi)):
                        even = dPf[p0 + h]
                        odd = dPf[p0 + uint64(R) + h]
                        dxf[xb + uint64(2) * h - uint64(pl)] = even + bc
                        dxf[xb + uint64(2) * h + uint64(1) - uint64(pl)] = odd + bc
                for ix in edges:
                    if bq[ix] >= 0:
                        dx[n, c, iy, ix] = dP[row + rx[ix], n * S + aq[iy] * Wq + bq[ix]] + bc
                    else:
                        dx[n, c, iy, ix] = bc


def to_grid_reference(g, Hq, Wq, G):  # g: IN (N, F, Ho, Wo)   G: OUT (F, N·S)
    """G[f, n·S + a·Wq + b] = g[n, f, a, b], the junk entries (a >= Ho or b >= Wo) zero."""
    N, F, Ho, Wo = g.shape
    grid = np.zeros((F, N, Hq, Wq), dtype=G.dtype)
    grid[:, :, :Ho, :Wo] = g.transpose(1, 0, 2, 3)
    G[...] = grid.reshape(F, N * Hq * Wq)


@njit(cache=True, nogil=True)
def _to_grid_kernel(g, Hq, Wq, G):  # g: IN (N, F, Ho, Wo)   G: OUT (F, N*S), junk entries zero
    """Numba twin of :func:`to_grid_reference`."""
    N, F, Ho, Wo = g.shape
    S = Hq * Wq
    R = G.shape[1]
    Gf = G.reshape(-1)
    gf = g.reshape(-1)
    for f in range(F):
        for n in range(N):
            for a in range(Hq):
                dst = uint64(f * R + n * S + a * Wq)
                if a >= Ho:
                    for b in range(uint64(Wq)):
                        Gf[dst + b] = 0
                    continue
                src = uint64(((n * F + f) * Ho + a) * Wo)
                for b in range(uint64(Wo)):
                    Gf[dst + b] = gf[src + b]
                for b in range(uint64(Wo), uint64(Wq)):
                    Gf[dst + b] = 0


def from_grid_reference(A, Hq, Wq, y):  # A: IN (F, N·S)   y: OUT (N, F, Ho, Wo)
    """y[n, f, a, b] = A[f, n·S + a·Wq + b] for a < Ho, b < Wo: the junk entries are dropped."""
    N, F, Ho, Wo = y.shape
    y[...] = A.reshape(F, N, Hq, Wq)[:, :, :Ho, :Wo].transpose(1, 0, 2, 3)


@njit(cache=True, nogil=True)
def _from_grid_kernel(A, Hq, Wq, y):  # A: IN (F, N*S)   y: OUT (N, F, Ho, Wo)
    """Numba twin of :func:`from_grid_reference`."""
    N, F, Ho, Wo = y.shape
    S = Hq * Wq
    R = A.shape[1]
    Af = A.reshape(-1)
    yf = y.reshape(-1)
    for n in range(N):
        for f in range(F):
            for oy in range(Ho):
                src = uint64(f * R + n * S + oy * Wq)
                dst = uint64(((n * F + f) * Ho + oy) * Wo)
                for ox in range(uint64(Wo)):
                    yf[dst + ox] = Af[src + ox]
