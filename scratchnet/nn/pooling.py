r"""Max pooling and nearest-neighbour upsampling (NCHW).

The maths lives in :mod:`.functional.pool` (each NumPy reference above its Numba twin), and
:mod:`.functional` picks the backend; these layers validate, compute the padding and keep what
backward needs. They have no parameters, so they keep the input's dtype.
"""
from . import functional as F
from ._args import positive_int
from .base import Layer, check_input
from .functional.padding import conv_output_size


class MaxPool2D(Layer):
    r"""Max pooling over ``pool_size × pool_size`` windows with stride ``pool_size`` (Keras).

    Parameters
    ----------
    pool_size : int, default 2
    padding : {"valid", "same"}, default "valid"
        "same": output = ceil(input / pool_size); the missing cells (the odd one at the
        bottom/right) are -inf, so they never win.

    Notes
    -----
    .. math:: y_{n,c,o_y,o_x} = \max_{k_y,k_x} \tilde x_{n,c,\,p o_y+k_y,\,p o_x+k_x}, \qquad
              \frac{\partial L}{\partial x_{n,c,i,j}} = \sum_{(o_y,o_x):\ (i,j)\ \text{won}}
              G_{n,c,o_y,o_x}

    Each output's gradient goes to the one input that won its window; on ties the first
    maximum in row-major window order (top-left first) takes it all. Output size: "valid"
    :math:`\lfloor n/p \rfloor`, "same" :math:`\lceil n/p \rceil`.

    Examples
    --------
    >>> import numpy as np
    >>> MaxPool2D(2, padding="same").forward(np.zeros((1, 16, 7, 7), np.float32)).shape
    (1, 16, 4, 4)
    """

    def __init__(self, pool_size=2, padding="valid"):
        self.pool_size = positive_int(self.name, "pool_size", pool_size)
        if padding not in ("valid", "same"):
            raise ValueError(f'{self.name}: padding must be "valid" or "same", got {padding!r}')
        self.padding = padding
        self._x_shape = None

    def _geometry(self, H, W):
        p = self.pool_size
        Ho, pt, _ = conv_output_size(H, p, p, self.padding)
        Wo, pl, _ = conv_output_size(W, p, p, self.padding)
        if Ho < 1 or Wo < 1:
            raise ValueError(f"{self.name}: input {H}x{W} is smaller than the pool {p}x{p}")
        return Ho, Wo, pt, pl

    def output_shape(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(f"{self.name}: expected input shape (C, H, W), "
                             f"got {tuple(input_shape)}")
        Ho, Wo, _, _ = self._geometry(input_shape[1], input_shape[2])
        return (input_shape[0], Ho, Wo)

    def forward(self, x):
        check_input(self, x, 4, "(N, C, H, W)")
        Ho, Wo, pt, pl = self._geometry(x.shape[2], x.shape[3])
        y, self._winners = F.maxpool(x, self.pool_size, pt, pl, Ho, Wo)
        self._x_shape = x.shape
        return y

    def backward(self, grad):
        self._require_forward("_x_shape")
        return F.maxpool_backward(grad, self._winners, self._x_shape)

    def get_config(self):
        return {"pool_size": self.pool_size, "padding": self.padding}


class UpSampling2D(Layer):
    r"""Nearest-neighbour upsampling by an integer factor (Keras ``UpSampling2D``).

    Notes
    -----
    .. math:: y_{n,c,\,s i+a,\,s j+b} = x_{n,c,i,j}, \qquad
              \frac{\partial L}{\partial x_{n,c,i,j}} = \sum_{a,b<s} G_{n,c,\,s i+a,\,s j+b}

    Examples
    --------
    >>> import numpy as np
    >>> UpSampling2D(2).forward(np.zeros((1, 2, 7, 7), np.float32)).shape
    (1, 2, 14, 14)
    """

    def __init__(self, size=2):
        self.size = positive_int(self.name, "size", size)
        self._x_shape = None

    def output_shape(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(f"{self.name}: expected input shape (C, H, W), "
                             f"got {tuple(input_shape)}")
        C, H, W = input_shape
        return (C, H * self.size, W * self.size)

    def forward(self, x):
        check_input(self, x, 4, "(N, C, H, W)")
        self._x_shape = x.shape
        return F.upsample(x, self.size)

    def backward(self, grad):
        self._require_forward("_x_shape")
        return F.upsample_backward(grad, self.size, self._x_shape)

    def get_config(self):
        return {"size": self.size}
