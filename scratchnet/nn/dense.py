r"""The fully connected layer, :math:`Y = X W + b`."""
import numpy as np

from .._utils import as_rng
from ._args import check_dtype, positive_int
from .base import Layer, Parameter, check_input, glorot_uniform, zeros


class Dense(Layer):
    r"""Fully connected layer, :math:`Y = X W + b`.

    Parameters
    ----------
    in_features : int
        :math:`D_{in}`, the size of each input sample.
    out_features : int
        :math:`D_{out}`, the size of each output sample.
    random_state : None, int or Generator
        Seeds the Glorot-uniform kernel (Keras's default); the bias starts at zero.
    dtype : dtype, default float32
        Dtype of the parameters; the input must have the same dtype, or ``forward`` raises a
        ``TypeError`` (nothing is cast silently: the policy of every layer with parameters,
        see :mod:`scratchnet.nn._args`).

    Attributes
    ----------
    W : Parameter, shape (in_features, out_features)
    b : Parameter, shape (out_features,)

    Notes
    -----
    Shapes: :math:`X` (N, D_in) -> :math:`Y` (N, D_out). Backward, with :math:`G = \partial L /
    \partial Y`:

    .. math:: \frac{\partial L}{\partial W} = X^\top G, \quad
              \frac{\partial L}{\partial b} = \sum_n G_{n}, \quad
              \frac{\partial L}{\partial X} = G W^\top

    The kernel is stored (in, out), as in Keras, so ``Dense(784, 500)`` has
    784·500 + 500 = 392,500 parameters. Glorot & Bengio (2010) initialisation:
    :math:`W \sim U(-l, l)`, :math:`l = \sqrt{6 / (D_{in} + D_{out})}`.

    Examples
    --------
    >>> import numpy as np
    >>> layer = Dense(3, 2, random_state=0)
    >>> layer(np.ones((4, 3), dtype=np.float32)).shape
    (4, 2)
    """

    # Forward and backward are one BLAS matrix product each, which BLAS spreads over the cores.
    threads_inside = True

    def __init__(self, in_features, out_features, *, random_state=None, dtype=np.float32):
        self.in_features = positive_int("Dense", "in_features", in_features)
        self.out_features = positive_int("Dense", "out_features", out_features)
        rng = as_rng(random_state)
        self.W = Parameter(glorot_uniform((self.in_features, self.out_features),
                                          self.in_features, self.out_features, rng, dtype))
        self.b = Parameter(zeros(self.out_features, dtype=dtype))
        self._x = None

    def forward(self, x):
        check_input(self, x, 2, f"(N, {self.in_features})", channels=self.in_features)
        check_dtype(self, x, self.W.value.dtype)
        self._x = x  # the one thing backward needs
        y = x @ self.W.value
        y += self.b.value  # in place: no second (N, D_out) temporary
        return y

    def backward(self, grad):
        self._require_forward()
        self.W.grad += self._x.T @ grad  # accumulate: shared weights get every contribution
        self.b.grad += grad.sum(axis=0)
        return grad @ self.W.value.T

    def backward_params(self, grad):
        """``backward`` without :math:`G W^T`: a third of the layer's backward work, and the
        largest single product of a DEC step (784 inputs), when nothing needs dL/dx."""
        self._require_forward()
        self.W.grad += self._x.T @ grad
        self.b.grad += grad.sum(axis=0)

    def parameters(self):
        return [self.W, self.b]

    def output_shape(self, input_shape):
        if tuple(input_shape) != (self.in_features,):
            raise ValueError(f"Dense: expected per-sample input shape ({self.in_features},), "
                             f"got {tuple(input_shape)}")
        return (self.out_features,)

    def get_config(self):
        return {"in_features": self.in_features, "out_features": self.out_features,
                "dtype": np.dtype(self.W.value.dtype).name}
