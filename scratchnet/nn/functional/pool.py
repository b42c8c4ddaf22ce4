r"""Max pooling and nearest-neighbour upsampling: NumPy references and their Numba twins.

Max pooling with a ``p × p`` window and stride ``p`` (Keras's default) over an input padded
with ``-inf`` (the padded cells never win):

.. math:: y_{n,c,o_y,o_x} = \max_{0 \le k_y, k_x < p} \tilde x_{n,c,\,p o_y + k_y - p_t,\,
          p o_x + k_x - p_l}

Backward sends each :math:`G_{n,c,o_y,o_x}` to the one input pixel that won; on ties the
*first* maximum in row-major window order (top-left first) wins, as ``np.argmax`` does.
Winners are stored as a flat index ``iy·W + ix`` into the sample's (H, W) plane.

Each reference shares its Numba twin's arguments and IN/OUT contract (outputs allocated by the
caller); :mod:`scratchnet.nn.functional` allocates them and picks one of the two.
"""
import numpy as np
from numba import njit, uint64

# Numba functions that are pieces of a larger kernel, and the NumPy reference the tests
# hold the whole to (tests/test_naming.py checks that every Numba function has one).
_KERNEL_PARTS = {"_maxpool2_kernel": "maxpool_reference"}


def maxpool_reference(x, p, pt, pl, y, winners):  # x: IN   y, winners: OUT (N, C, Ho, Wo)
    """y and winners (int32), plain NumPy: every window a row of p² values, then argmax."""
    N, C, H, W = x.shape
    Ho, Wo = y.shape[2], y.shape[3]
    xp = np.full((N, C, Ho * p, Wo * p), -np.inf, dtype=x.dtype)
    h, w = min(H, Ho * p - pt), min(W, Wo * p - pl)
    xp[:, :, pt:pt + h, pl:pl + w] = x[:, :, :h, :w]
    win = xp.reshape(N, C, Ho, p, Wo, p).transpose(0, 1, 2, 4, 3, 5).reshape(N, C, Ho, Wo, p * p)
    k = win.argmax(axis=-1)
    y[...] = np.take_along_axis(win, k[..., None], axis=-1)[..., 0]
    iy = p * np.arange(Ho)[:, None] + k // p - pt
    ix = p * np.arange(Wo)[None, :] + k % p - pl
    winners[...] = iy * W + ix


def maxpool_backward_reference(g, winners, dx):  # g, winners: IN   dx: OUT (overwritten)
    """dx: each g[n, c, oy, ox] added at its winner, plain NumPy."""
    N, C, H, W = dx.shape
    flat = np.zeros((N * C, H * W), dtype=g.dtype)
    rows = np.repeat(np.arange(N * C), winners[0, 0].size)
    np.add.at(flat, (rows, winners.reshape(-1)), g.reshape(-1))
    dx[...] = flat.reshape(dx.shape)


@njit(cache=True, nogil=True)
def _maxpool2_kernel(x, y, winners):  # x: IN   y, winners: OUT
    """2×2 windows, no top/left padding: full windows compare four values with selects (first
    maximum wins), a cut last row or column (odd H, W with "same") takes the general rule."""
    N, C, H, W = x.shape
    Ho, Wo = y.shape[2], y.shape[3]
    xf = x.reshape(-1)
    yf = y.reshape(-1)
    wf = winners.reshape(-1)
    for n in range(N):
        for c in range(C):
            for oy in range(Ho):
                o = uint64(((n * C + c) * Ho + oy) * Wo)
                r0 = uint64(((n * C + c) * H + 2 * oy) * W)
                k0 = uint64(2 * oy * W)
                if 2 * oy + 1 < H:
                    r1 = r0 + uint64(W)
                    for ox in range(uint64(W // 2)):
                        a, b = xf[r0 + 2 * ox], xf[r0 + 2 * ox + 1]
                        d, e = xf[r1 + 2 * ox], xf[r1 + 2 * ox + 1]
                        best, arg = a, 0
                        best, arg = (b, 1) if b > best else (best, arg)
                        best, arg = (d, W) if d > best else (best, arg)
                        best, arg = (e, W + 1) if e > best else (best, arg)
                        yf[o + ox] = best
                        wf[o + ox] = k0 + 2 * ox + arg
                    first_cut = W // 2
                else:
                    first_cut = 0
                for ox in range(first_cut, Wo):  # windows cut by the bottom/right edge
                    best, arg = x[n, c, 2 * oy, 2 * ox], 2 * oy * W + 2 * ox
                    for iy in range(2 * oy, min(2 * oy + 2, H)):
                        for ix in range(2 * ox, min(2 * ox + 2, W)):
                            if x[n, c, iy, ix] > best:
                                best, arg = x[n, c, iy, ix], iy * W + ix
                    y[n, c, oy, ox] = best
                    winners[n, c, oy, ox] = arg


@njit(cache=True, nogil=True)
def _maxpool_kernel(x, p, pt, pl, y, winners):  # x: IN   y, winners: OUT (N, C, Ho, Wo)
    """Numba twin of :func:`maxpool_reference` (strict ``>``: first maximum wins).

    Each window is clipped to the image first, so the -inf padding never enters the loop.
    """
    N, C, H, W = x.shape
    Ho, Wo = y.shape[2], y.shape[3]
    if p == 2 and pt == 0 and pl == 0:  # the common case: a branch-free, vectorizable loop
        _maxpool2_kernel(x, y, winners)
        return
    for n in range(N):
        for c in range(C):
            xp = x[n, c]
            for oy in range(Ho):
                iy0 = max(p * oy - pt, 0)
                iy1 = min(p * oy - pt + p, H)
                for ox in range(Wo):
                    ix0 = max(p * ox - pl, 0)
                    ix1 = min(p * ox - pl + p, W)
                    best = xp[iy0, ix0]
                    arg = iy0 * W + ix0
                    for iy in range(iy0, iy1):
                        for ix in range(ix0, ix1):
                            v = xp[iy, ix]
                            if v > best:
                                best = v
                                arg = iy * W + ix
                    y[n, c, oy, ox] = best
                    winners[n, c, oy, ox] = arg


@njit(cache=True, nogil=True)
def _maxpool_backward_kernel(g, winners, dx):  # g, winners: IN   dx: OUT (overwritten)
    """Numba twin of :func:`maxpool_backward_reference`."""
    N, C, H, W = dx.shape
    Ho, Wo = g.shape[2], g.shape[3]
    for n in range(N):
        for c in range(C):
            plane = dx[n, c].reshape(H * W)
            plane[:] = 0
            for oy in range(Ho):
                for ox in range(Wo):
                    plane[winners[n, c, oy, ox]] += g[n, c, oy, ox]


def upsample_reference(x, s, y):  # x: IN (N, C, H, W)   y: OUT (N, C, H·s, W·s)
    """Nearest neighbour: y[n, c, s·i + a, s·j + b] = x[n, c, i, j]."""
    N, C, H, W = x.shape
    y[...] = np.broadcast_to(x[:, :, :, None, :, None], (N, C, H, s, W, s)).reshape(y.shape)


def upsample_backward_reference(g, s, dx):  # g: IN (N, C, H·s, W·s)   dx: OUT (N, C, H, W)
    """dx[n, c, i, j] = sum of g over the s × s block x[n, c, i, j] was copied to."""
    N, C, Hs, Ws = g.shape
    dx[...] = g.reshape(N, C, Hs // s, s, Ws // s, s).sum(axis=(3, 5))


@njit(cache=True, nogil=True)
def _upsample_kernel(x, s, y):  # x: IN (N, C, H, W)   y: OUT (N, C, H·s, W·s)
    """Numba twin of :func:`upsample_reference`."""
    N, C, H, W = x.shape
    for n in range(N):
        for c in range(C):
            for i in range(H):
                row = y[n, c, s * i]
                xrow = x[n, c, i]
                for j in range(W):
                    v = xrow[j]
                    for b in range(s):
                        row[s * j + b] = v
                for a in range(1, s):
                    y[n, c, s * i + a] = row


@njit(cache=True, nogil=True)
def _upsample_backward_kernel(g, s, dx):  # g: IN (N, C, H·s, W·s)   dx: OUT (N, C, H, W)
    """Numba twin of :func:`upsample_backward_reference`."""
    N, C, H, W = dx.shape
    for n in range(N):
        for c in range(C):
            for i in range(H):
                out = dx[n, c, i]
                out[:] = 0
                for a in range(s):
                    grow = g[n, c, s * i + a]
                    for j in range(W):
                        acc = out[j]
                        for b in range(s):
                            acc += grow[s * j + b]
                        out[j] = acc
