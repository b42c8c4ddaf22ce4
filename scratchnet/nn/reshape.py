r"""Shape-only layers: ``Flatten`` and ``Reshape`` (views, no copies)."""
import math

import numpy as np

from .base import Layer


def _check_array(layer, x):
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{layer.name}: expected a NumPy array, got {type(x).__name__}")
    if x.ndim < 1:
        raise ValueError(f"{layer.name}: expected an input with a batch axis (N, ...), "
                         f"got shape {x.shape}")


class Flatten(Layer):
    r"""Flatten each sample: (N, d_1, ..., d_k) -> (N, d_1 · ... · d_k).

    Notes
    -----
    Row-major (C) order, so an NCHW image flattens channel by channel; Keras flattens NHWC
    images pixel by pixel, which orders the features differently but gives the same model
    family. Backward reshapes :math:`G` back to the input's shape.
    """

    def __init__(self):
        self._shape = None

    def forward(self, x):
        _check_array(self, x)
        self._shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, grad):
        self._require_forward("_shape")
        return grad.reshape(self._shape)

    def output_shape(self, input_shape):
        return (math.prod(input_shape),)


class Reshape(Layer):
    r"""Reshape each sample to ``shape``: (N, ...) -> (N, *shape).

    Parameters
    ----------
    shape : tuple of int
        The per-sample target shape (without the batch axis), e.g. ``(32, 4, 4)``; one entry
        may be -1 and is then inferred, as in ``np.reshape``.

    Notes
    -----
    Row-major order; backward reshapes :math:`G` back to the input's shape.
    """

    def __init__(self, shape):
        shape = tuple(int(s) for s in np.atleast_1d(shape))
        if sum(s == -1 for s in shape) > 1 or any(s == 0 or s < -1 for s in shape):
            raise ValueError(f"Reshape: shape must hold positive ints and at most one -1, "
                             f"got {shape}")
        self.shape = shape
        self._shape = None

    def forward(self, x):
        _check_array(self, x)
        self.output_shape(x.shape[1:])  # validates the size with a readable message
        self._shape = x.shape
        return x.reshape((x.shape[0],) + self.shape)

    def backward(self, grad):
        self._require_forward("_shape")
        return grad.reshape(self._shape)

    def output_shape(self, input_shape):
        size = math.prod(input_shape)
        known = math.prod(s for s in self.shape if s != -1)
        if (-1 in self.shape and size % known) or (-1 not in self.shape and size != known):
            raise ValueError(f"Reshape: cannot reshape a per-sample input of shape "
                             f"{tuple(input_shape)} ({size} values) to {self.shape}")
        return tuple(size // known if s == -1 else s for s in self.shape)

    def get_config(self):
        return {"shape": list(self.shape)}
