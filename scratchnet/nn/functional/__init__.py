r"""Convolution maths behind the layers, with two interchangeable backends.

``"reference"`` is the readable im2col + GEMM path (:mod:`.im2col`); ``"numba"`` (the default)
runs the direct-convolution kernels of :mod:`.kernels`. Both compute the same three maps of a
convolution described by its stride and padding ``pads = (top, bottom, left, right)``:

* :func:`conv2d` — ``y = conv(x, w) + b``;
* :func:`conv2d_grad_input` — ``dL/dx`` from ``dL/dy`` (also the transposed convolution);
* :func:`conv2d_grad_weight` — ``dL/dw`` from ``x`` and ``dL/dy``.

Switch with ``set_backend("reference")`` (tests hold the two equal); :mod:`.naive` holds the
textbook loops both are checked against.
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


def conv2d(x, w, b, stride, pads):
    """y = conv(x, w) + b: x (N, C, H, W), w (F, C, kh, kw), b (F,) or None -> (N, F, Ho, Wo)."""
    if _backend == "reference":
        return _ref.conv2d_reference(x, w, b, stride, pads)
    F, _, kh, kw = w.shape
    Ho, Wo = output_hw(x.shape, kh, kw, stride, pads)
    y = np.empty((x.shape[0], F, Ho, Wo), dtype=x.dtype)
    if b is None:
        b = np.zeros(F, dtype=x.dtype)
    _k.conv2d_forward_kernel(_c(x), _c(w), _c(b), stride, pads[0], pads[2], y)
    return y


def conv2d_grad_input(g, w, x_shape, stride, pads):
    """dL/dx (shape ``x_shape``) of y = conv(x, w) given g = dL/dy (N, F, Ho, Wo)."""
    if _backend == "reference":
        return _ref.conv2d_grad_input_reference(g, w, x_shape, stride, pads)
    dx = np.empty(x_shape, dtype=g.dtype)
    _k.conv2d_grad_input_kernel(_c(g), _c(w), stride, pads[0], pads[2], dx)
    return dx


def conv2d_grad_weight(x, g, w_shape, stride, pads):
    """dL/dw (shape ``w_shape`` = (F, C, kh, kw)) of y = conv(x, w) given g = dL/dy."""
    if _backend == "reference":
        return _ref.conv2d_grad_weight_reference(x, g, w_shape, stride, pads)
    dw = np.zeros(w_shape, dtype=x.dtype)
    _k.conv2d_grad_weight_kernel(_c(x), _c(g), stride, pads[0], pads[2], dw)
    return dw


__all__ = ["set_backend", "get_backend", "conv2d", "conv2d_grad_input", "conv2d_grad_weight",
           "im2col", "col2im", "output_hw", "check_padding", "conv_output_size",
           "conv_transpose_output_size"]
