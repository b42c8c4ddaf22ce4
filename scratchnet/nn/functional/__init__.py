r"""Convolution and pooling maths behind the layers, with two interchangeable backends.

A convolution described by its stride and padding ``pads = (top, bottom, left, right)`` has
three maps, and the layers call them (and two fused pairs) through this module:

* :func:`conv2d` — ``y = conv(x, w) + b``;
* :func:`conv2d_grad_input` — ``dL/dx`` from ``dL/dy`` (also the transposed convolution);
* :func:`conv2d_grad_weight` — ``dL/dw`` from ``x`` and ``dL/dy``;
* :func:`conv2d_backward` (both gradients) and :func:`conv2d_forward_grad_weight` (a transposed
  convolution's backward) fuse two of them, so that the Numba path lays the data out once;
* :func:`maxpool`, :func:`maxpool_backward`, :func:`upsample`, :func:`upsample_backward` for
  the pooling layers.

Two backends compute them, chosen once with :func:`set_backend` (the tests hold them equal):

* ``"phase"`` (the default): the phase-grid direct convolution of :mod:`.phase` (Numba) and
  the pooling kernels of :mod:`.pool`. It takes an optional ``work`` dict in which it keeps
  its work buffers between calls (a layer passes its own).
* ``"im2col"``: the readable im2col + GEMM convolution of :mod:`.im2col` and the NumPy
  pooling of :mod:`.pool`.

(The backends are named for their algorithms, so that "reference" keeps one meaning: the
``name_reference`` NumPy twin of a kernel, below.)

How Conv2D works, in reading order: :mod:`scratchnet.nn.conv` (the layer and its equations),
:mod:`.padding` (the output size), :mod:`.im2col` (the convolution as one matrix product),
then the phase-grid convolution the layers actually run: :mod:`.phase` (the three steps, and
why), :mod:`.taps` (the arithmetic: a stride-s convolution as s² stride-1 ones) and
:mod:`.phase_layout` (the data moves). :mod:`.naive` holds the textbook loops every version
is tested against.

Names, in every file of this package:

* ``_name_kernel`` — a Numba-compiled function, private; its arguments are tagged IN / OUT and
  every output and work buffer is allocated by its caller.
* ``name_reference`` — its readable NumPy twin, public, right above it in the same file, with
  the same arguments and IN/OUT contract; the tests hold the two equal. (``_name_one_kernel``
  in :mod:`.taps` is the one-channel Numba loop, the readable twin of a register-blocked one.)
* ``name`` — a public function that allocates the outputs, calls the backend's function and
  returns the results: the nine below, and ``conv2d_phase``... in :mod:`.phase`.
* The im2col convolution is another algorithm, not a twin: its functions say so,
  ``conv2d_im2col``, ``conv2d_grad_input_im2col``...
"""
from typing import Callable, NamedTuple

import numpy as np

from . import im2col as _im2col
from . import phase as _phase
from . import pool as _pool
from .im2col import col2im, im2col, output_hw
from .padding import check_padding, conv_output_size, conv_transpose_output_size


class _Backend(NamedTuple):
    """The functions one backend provides. The conv ones take the public functions' arguments;
    the pooling ones a kernel's (outputs allocated by the public functions below)."""
    conv2d: Callable
    conv2d_grad_input: Callable
    conv2d_grad_weight: Callable
    conv2d_backward: Callable
    conv2d_forward_grad_weight: Callable
    maxpool: Callable
    maxpool_backward: Callable
    upsample: Callable
    upsample_backward: Callable


def _no_work(fun):
    """``fun`` with a ``work`` keyword accepted and ignored: im2col keeps no buffers."""
    def call(*args, work=None, **kwargs):
        return fun(*args, **kwargs)
    return call


_BACKENDS = {
    "im2col": _Backend(_no_work(_im2col.conv2d_im2col),
                          _no_work(_im2col.conv2d_grad_input_im2col),
                          _no_work(_im2col.conv2d_grad_weight_im2col),
                          _no_work(_im2col.conv2d_backward_im2col),
                          _no_work(_im2col.conv2d_forward_grad_weight_im2col),
                          _pool.maxpool_reference, _pool.maxpool_backward_reference,
                          _pool.upsample_reference, _pool.upsample_backward_reference),
    "phase": _Backend(_phase.conv2d_phase, _phase.conv2d_grad_input_phase,
                      _phase.conv2d_grad_weight_phase, _phase.conv2d_backward_phase,
                      _phase.conv2d_forward_grad_weight_phase,
                      _pool._maxpool_kernel, _pool._maxpool_backward_kernel,
                      _pool._upsample_kernel, _pool._upsample_backward_kernel),
}
_backend = "phase"
_ops = _BACKENDS[_backend]


def set_backend(name):
    """Select the backend: ``"phase"`` (Numba, the default) or ``"im2col"`` (im2col + GEMM,
    NumPy pooling)."""
    global _backend, _ops
    if name not in _BACKENDS:
        raise ValueError(f"set_backend: expected one of {tuple(_BACKENDS)}, got {name!r}")
    _backend, _ops = name, _BACKENDS[name]


def get_backend():
    """The current backend's name."""
    return _backend


def conv2d(x, w, b, stride, pads, work=None):
    """y = conv(x, w) + b: x (N, C, H, W), w (F, C, kh, kw), b (F,) or None -> (N, F, Ho, Wo)."""
    return _ops.conv2d(x, w, b, stride, pads, work=work)


def conv2d_grad_input(g, w, x_shape, stride, pads, work=None, bias=None):
    """dL/dx (shape ``x_shape``) of y = conv(x, w) given g = dL/dy (N, F, Ho, Wo).

    With ``bias`` (C,), returns ``bias[c] + dL/dx``: a transposed convolution with its bias.
    """
    return _ops.conv2d_grad_input(g, w, x_shape, stride, pads, work=work, bias=bias)


def conv2d_grad_weight(x, g, w_shape, stride, pads, work=None):
    """dL/dw (shape ``w_shape`` = (F, C, kh, kw)) of y = conv(x, w) given g = dL/dy."""
    return _ops.conv2d_grad_weight(x, g, w_shape, stride, pads, work=work)


def conv2d_backward(x, g, w, stride, pads, work=None):
    """(dL/dx, dL/dw) of y = conv(x, w) given g = dL/dy, in one pass on the Numba backend."""
    return _ops.conv2d_backward(x, g, w, stride, pads, work=work)


def conv2d_forward_grad_weight(x, g, w, stride, pads, work=None):
    """(conv(x, w) without bias, dL/dw given g = dL/dy): a transposed convolution's backward."""
    return _ops.conv2d_forward_grad_weight(x, g, w, stride, pads, work=work)


def maxpool(x, p, pt, pl, Ho, Wo):
    """Max pooling of x (N, C, H, W): y (N, C, Ho, Wo) and the winners' flat indices (int32)."""
    y = np.empty(x.shape[:2] + (Ho, Wo), dtype=x.dtype)
    winners = np.empty(y.shape, dtype=np.int32)
    _ops.maxpool(np.ascontiguousarray(x), p, pt, pl, y, winners)
    return y, winners


def maxpool_backward(g, winners, x_shape):
    """dL/dx (shape ``x_shape``): each g[n, c, oy, ox] added at its window's winner."""
    dx = np.empty(x_shape, dtype=g.dtype)
    _ops.maxpool_backward(np.ascontiguousarray(g), winners, dx)
    return dx


def upsample(x, s):
    """Nearest-neighbour upsampling of x (N, C, H, W) by s -> (N, C, H·s, W·s)."""
    N, C, H, W = x.shape
    y = np.empty((N, C, H * s, W * s), dtype=x.dtype)
    _ops.upsample(np.ascontiguousarray(x), s, y)
    return y


def upsample_backward(g, s, x_shape):
    """dL/dx (shape ``x_shape``): g summed over each s × s block."""
    dx = np.empty(x_shape, dtype=g.dtype)
    _ops.upsample_backward(np.ascontiguousarray(g), s, dx)
    return dx


__all__ = ["set_backend", "get_backend", "conv2d", "conv2d_grad_input", "conv2d_grad_weight",
           "conv2d_backward", "conv2d_forward_grad_weight", "maxpool", "maxpool_backward",
           "upsample", "upsample_backward", "im2col", "col2im", "output_hw", "check_padding",
           "conv_output_size", "conv_transpose_output_size"]
