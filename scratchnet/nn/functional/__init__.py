r"""Convolution maths behind the layers, with two interchangeable backends.

``"reference"`` is the readable im2col + GEMM path (:mod:`.im2col`); ``"numba"`` (the default)
runs the direct-convolution kernels of :mod:`.kernels`. Both compute the same three maps of a
convolution described by its stride and padding ``pads = (top, bottom, left, right)``:

* :func:`conv2d` — ``y = conv(x, w) + b``;
* :func:`conv2d_grad_input` — ``dL/dx`` from ``dL/dy`` (also the transposed convolution);
* :func:`conv2d_grad_weight` — ``dL/dw`` from ``x`` and ``dL/dy``.

:func:`conv2d_backward` (both gradients) and :func:`conv2d_forward_grad_weight` (a transposed
convolution's backward) fuse two of them so that the Numba path lays the data out once.

The Numba path takes an optional ``work`` dict in which it keeps its work buffers between
calls (a layer passes its own). Switch with ``set_backend("reference")`` (tests hold the two
equal); :mod:`.naive` holds the textbook loops both are checked against.
"""
import numpy as np

from . import im2col as _ref
from . import kernels as _k
from .im2col import col2im, im2col, output_hw
from .padding import check_padding, conv_output_size, conv_transpose_output_size

_BACKENDS = ("reference", "numba")
_backend = "numba"


def set_backend(name):
    """Select the convolution backend: ``"reference"`` (im2col + GEMM) or ``"numba"``."""
    global _backend
    if name not in _BACKENDS:
        raise ValueError(f"set_backend: expected one of {_BACKENDS}, got {name!r}")
    _backend = name


def get_backend():
    """The current convolution backend's name."""
    return _backend


def _c(a):
    return np.ascontiguousarray(a)


def _buffers(work, N, C, F, Ho, Wo, kh, kw, s, dtype):
    """Work buffers (phase planes, output grid) for the Numba kernels, reused via ``work``.

    ``work`` is a dict owned by one layer (one per thread); ``None`` allocates fresh ones.
    """
    shapes = _k.buffer_shapes(N, C, F, Ho, Wo, kh, kw, s)
    if work is None:
        return [np.empty(sh, dtype=dtype) for sh in shapes]
    out = []
    for name, sh in zip(("P", "A"), shapes):
        buf = work.get(name)
        size = sh[0] * sh[1]
        if buf is None or buf.size < size or buf.dtype != dtype:
            buf = work[name] = np.empty(size, dtype=dtype)
        out.append(buf[:size].reshape(sh))
    return out


def conv2d(x, w, b, stride, pads, work=None):
    """y = conv(x, w) + b: x (N, C, H, W), w (F, C, kh, kw), b (F,) or None -> (N, F, Ho, Wo)."""
    if _backend == "reference":
        return _ref.conv2d_reference(x, w, b, stride, pads)
    F, _, kh, kw = w.shape
    Ho, Wo = output_hw(x.shape, kh, kw, stride, pads)
    y = np.empty((x.shape[0], F, Ho, Wo), dtype=x.dtype)
    if b is None:
        b = np.zeros(F, dtype=x.dtype)
    P, A = _buffers(work, x.shape[0], x.shape[1], F, Ho, Wo, kh, kw, stride, x.dtype)
    _k.conv2d_forward_kernel(_c(x), _c(w), _c(b), stride, pads[0], pads[2], y, P, A)
    return y


def conv2d_grad_input(g, w, x_shape, stride, pads, work=None, bias=None):
    """dL/dx (shape ``x_shape``) of y = conv(x, w) given g = dL/dy (N, F, Ho, Wo).

    With ``bias`` (C,), returns ``bias[c] + dL/dx``: a transposed convolution with its bias.
    """
    if _backend == "reference":
        dx = _ref.conv2d_grad_input_reference(g, w, x_shape, stride, pads)
        if bias is not None:
            dx += bias[:, None, None]
        return dx
    dx = np.empty(x_shape, dtype=g.dtype)
    F, C, kh, kw = w.shape
    if bias is None:
        bias = np.zeros(C, dtype=g.dtype)
    P, G = _buffers(work, g.shape[0], C, F, g.shape[2], g.shape[3], kh, kw, stride, g.dtype)
    _k.conv2d_grad_input_kernel(_c(g), _c(w), _c(bias), stride, pads[0], pads[2], dx, P, G)
    return dx


def conv2d_grad_weight(x, g, w_shape, stride, pads, work=None):
    """dL/dw (shape ``w_shape`` = (F, C, kh, kw)) of y = conv(x, w) given g = dL/dy."""
    if _backend == "reference":
        return _ref.conv2d_grad_weight_reference(x, g, w_shape, stride, pads)
    dw = np.zeros(w_shape, dtype=x.dtype)
    F, C, kh, kw = w_shape
    P, G = _buffers(work, x.shape[0], C, F, g.shape[2], g.shape[3], kh, kw, stride, x.dtype)
    _k.conv2d_grad_weight_kernel(_c(x), _c(g), stride, pads[0], pads[2], dw, P, G)
    return dw


def conv2d_backward(x, g, w, stride, pads, work=None):
    """(dL/dx, dL/dw) of y = conv(x, w) given g = dL/dy, in one pass on the Numba backend."""
    if _backend == "reference":
        return (_ref.conv2d_grad_input_reference(g, w, x.shape, stride, pads),
                _ref.conv2d_grad_weight_reference(x, g, w.shape, stride, pads))
    F, C, kh, kw = w.shape
    dx = np.empty(x.shape, dtype=x.dtype)
    dw = np.zeros(w.shape, dtype=x.dtype)
    P, G = _buffers(work, x.shape[0], C, F, g.shape[2], g.shape[3], kh, kw, stride, x.dtype)
    _k.conv2d_backward_kernel(_c(x), _c(g), _c(w), stride, pads[0], pads[2], dx, dw, P, G)
    return dx, dw


def conv2d_forward_grad_weight(x, g, w, stride, pads, work=None):
    """(conv(x, w) without bias, dL/dw given g = dL/dy): a transposed convolution's backward."""
    if _backend == "reference":
        return (_ref.conv2d_reference(x, w, None, stride, pads),
                _ref.conv2d_grad_weight_reference(x, g, w.shape, stride, pads))
    F, C, kh, kw = w.shape
    y = np.empty(g.shape, dtype=x.dtype)
    dw = np.zeros(w.shape, dtype=x.dtype)
    P, A = _buffers(work, x.shape[0], C, F, g.shape[2], g.shape[3], kh, kw, stride, x.dtype)
    _k.conv2d_forward_grad_weight_kernel(_c(x), _c(g), _c(w), stride, pads[0], pads[2], y, dw,
                                         P, A)
    return y, dw


__all__ = ["set_backend", "get_backend", "conv2d", "conv2d_grad_input", "conv2d_grad_weight",
           "conv2d_backward", "conv2d_forward_grad_weight", "im2col", "col2im", "output_hw",
           "check_padding", "conv_output_size", "conv_transpose_output_size"]
