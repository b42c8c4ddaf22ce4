r"""The readable convolution: im2col + one matrix product (the ``"im2col"`` backend).

A convolution of ``x`` (N, C, H, W) with weights ``w`` (F, C, kh, kw), stride ``s`` and zero
padding ``pads = (top, bottom, left, right)`` is

.. math:: y_{n,f,o_y,o_x} = b_f + \sum_{c,k_y,k_x} w_{f,c,k_y,k_x}\,
          \tilde x_{n,c,\,s o_y + k_y,\,s o_x + k_x}

where :math:`\tilde x` is ``x`` with the zeros added. ``im2col`` copies, for every output pixel,
the :math:`C k_h k_w` input values it sees into one column, so the whole convolution is one
matrix product :math:`Y_n = W_{mat} X^{col}_n` with :math:`W_{mat}` of shape (F, C·kh·kw).

The two gradients (with :math:`G = \partial L/\partial y`) are matrix products too:

.. math:: \frac{\partial L}{\partial W_{mat}} = \sum_n G_n (X^{col}_n)^T, \qquad
          \frac{\partial L}{\partial X^{col}_n} = W_{mat}^T G_n

and ``col2im`` adds every column back onto the pixels it was copied from (the adjoint of
``im2col``), which gives :math:`\partial L / \partial x`. That last map, ``x <- col2im(W^T G)``,
is exactly the transposed convolution (Dumoulin & Visin 2016, arXiv:1603.07285).

The five ``*_im2col`` functions at the bottom are the ``"im2col"`` backend of
:mod:`scratchnet.nn.functional`: the same maps as the Numba backend's phase-grid convolution
(:mod:`.phase`), by another algorithm, which is what makes them a useful check of it.
"""
import numpy as np


def output_hw(x_shape, kh, kw, stride, pads):
    """(Ho, Wo) of a convolution of an (N, C, H, W) input."""
    H, W = x_shape[2], x_shape[3]
    pt, pb, pl, pr = pads
    return (H + pt + pb - kh) // stride + 1, (W + pl + pr - kw) // stride + 1


def im2col(x, kh, kw, stride, pads):
    r"""Unfold ``x`` (N, C, H, W) into columns (N, C·kh·kw, Ho·Wo).

    Row ``(c, k_y, k_x)`` of column ``(o_y, o_x)`` holds :math:`\tilde x_{c, s o_y + k_y,
    s o_x + k_x}`; the rows are ordered like ``w.reshape(F, -1)``'s columns.
    """
    N, C = x.shape[:2]
    Ho, Wo = output_hw(x.shape, kh, kw, stride, pads)
    pt, pb, pl, pr = pads
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    cols = np.empty((N, C, kh, kw, Ho, Wo), dtype=x.dtype)
    for ky in range(kh):
        for kx in range(kw):
            cols[:, :, ky, kx] = xp[:, :, ky:ky + stride * (Ho - 1) + 1:stride,
                                    kx:kx + stride * (Wo - 1) + 1:stride]
    return cols.reshape(N, C * kh * kw, Ho * Wo)


def col2im(cols, x_shape, kh, kw, stride, pads):
    r"""Adjoint of :func:`im2col`: add every column entry back onto its pixel.

    ``cols`` (N, C·kh·kw, Ho·Wo) -> (N, C, H, W). Pixels seen by several windows receive the
    sum; padding zeros are dropped, and so are rows/columns no window reaches.
    """
    N, C, H, W = x_shape
    Ho, Wo = output_hw(x_shape, kh, kw, stride, pads)
    pt, pb, pl, pr = pads
    cols = cols.reshape(N, C, kh, kw, Ho, Wo)
    xp = np.zeros((N, C, max(H + pt + pb, stride * (Ho - 1) + kh),
                   max(W + pl + pr, stride * (Wo - 1) + kw)), dtype=cols.dtype)
    for ky in range(kh):
        for kx in range(kw):
            xp[:, :, ky:ky + stride * (Ho - 1) + 1:stride,
               kx:kx + stride * (Wo - 1) + 1:stride] += cols[:, :, ky, kx]
    return xp[:, :, pt:pt + H, pl:pl + W].copy()


def conv2d_im2col(x, w, b, stride, pads):
    """y = conv(x, w) + b through im2col and one GEMM. x (N, C, H, W) -> y (N, F, Ho, Wo)."""
    F, C, kh, kw = w.shape
    Ho, Wo = output_hw(x.shape, kh, kw, stride, pads)
    y = w.reshape(F, -1) @ im2col(x, kh, kw, stride, pads)      # (N, F, Ho*Wo)
    if b is not None:
        y += b[:, None]
    return y.reshape(x.shape[0], F, Ho, Wo)


def conv2d_grad_input_im2col(g, w, x_shape, stride, pads, bias=None):
    r"""dL/dx = col2im(W_mat^T G): also the forward pass of a transposed convolution.

    With ``bias`` (C,), returns ``bias[c] + dL/dx``: a transposed convolution with its bias.
    """
    F, C, kh, kw = w.shape
    N = g.shape[0]
    dcols = w.reshape(F, -1).T @ g.reshape(N, F, -1)            # (N, C*kh*kw, Ho*Wo)
    dx = col2im(dcols, x_shape, kh, kw, stride, pads)
    if bias is not None:
        dx += bias[:, None, None]
    return dx


def conv2d_grad_weight_im2col(x, g, w_shape, stride, pads):
    r"""dL/dW = sum_n G_n (X^col_n)^T, reshaped to (F, C, kh, kw)."""
    F, C, kh, kw = w_shape
    N = x.shape[0]
    cols = im2col(x, kh, kw, stride, pads)
    dw = np.tensordot(g.reshape(N, F, -1), cols, axes=([0, 2], [0, 2]))
    return dw.reshape(w_shape)


def conv2d_backward_im2col(x, g, w, stride, pads):
    """(dL/dx, dL/dw) of y = conv(x, w) given g = dL/dy."""
    return (conv2d_grad_input_im2col(g, w, x.shape, stride, pads),
            conv2d_grad_weight_im2col(x, g, w.shape, stride, pads))


def conv2d_forward_grad_weight_im2col(x, g, w, stride, pads):
    """(conv(x, w) without bias, dL/dw given g = dL/dy): a transposed convolution's backward."""
    return (conv2d_im2col(x, w, None, stride, pads),
            conv2d_grad_weight_im2col(x, g, w.shape, stride, pads))
