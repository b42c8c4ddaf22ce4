r"""Convolution as written in a textbook: explicit loops over every index (tests only).

Slow on purpose and independent of im2col: the tests hold both the im2col reference and the
Numba kernels equal to these loops on small inputs.
"""
import numpy as np


def conv2d_naive(x, w, b, stride, pads):
    r"""y[n,f,oy,ox] = b[f] + sum_{c,ky,kx} w[f,c,ky,kx] x[n, c, s·oy+ky-pt, s·ox+kx-pl].

    Out-of-range input pixels count as zero (the padding).
    """
    N, C, H, W = x.shape
    F, _, kh, kw = w.shape
    pt, pb, pl, pr = pads
    Ho = (H + pt + pb - kh) // stride + 1
    Wo = (W + pl + pr - kw) // stride + 1
    y = np.zeros((N, F, Ho, Wo), dtype=x.dtype)
    for n in range(N):
        for f in range(F):
            for oy in range(Ho):
                for ox in range(Wo):
                    acc = 0.0 if b is None else b[f]
                    for c in range(C):
                        for ky in range(kh):
                            for kx in range(kw):
                                iy = stride * oy + ky - pt
                                ix = stride * ox + kx - pl
                                if 0 <= iy < H and 0 <= ix < W:
                                    acc += w[f, c, ky, kx] * x[n, c, iy, ix]
                    y[n, f, oy, ox] = acc
    return y


def conv2d_transpose_naive(y, w, b, stride, pads, out_hw):
    r"""Transposed convolution as a scatter: every input pixel stamps the kernel onto the output.

    ``y`` (N, C_in, h, w), ``w`` (C_in, C_out, kh, kw) -> (N, C_out, H, W) with ``out_hw =
    (H, W)``: out[n, f, s·iy+ky-pt, s·ix+kx-pl] += y[n, c, iy, ix] w[c, f, ky, kx].
    """
    N, C, h, wd = y.shape
    _, F, kh, kw = w.shape
    pt, _, pl, _ = pads
    H, W = out_hw
    out = np.zeros((N, F, H, W), dtype=y.dtype)
    for n in range(N):
        for c in range(C):
            for iy in range(h):
                for ix in range(wd):
                    for f in range(F):
                        for ky in range(kh):
                            for kx in range(kw):
                                oy = stride * iy + ky - pt
                                ox = stride * ix + kx - pl
                                if 0 <= oy < H and 0 <= ox < W:
                                    out[n, f, oy, ox] += y[n, c, iy, ix] * w[c, f, ky, kx]
    if b is not None:
        out += b[:, None, None]
    return out
