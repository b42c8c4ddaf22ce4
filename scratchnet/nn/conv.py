r"""2-D convolution and its adjoint, the transposed convolution (NCHW).

Both layers are thin: they validate, work out the padding (:mod:`.functional.padding`), and call
the three maps of :mod:`.functional` (forward, input gradient, weight gradient), whose backend is
the readable im2col + GEMM path (:mod:`.functional.im2col`) or the phase-grid convolution in
Numba (:mod:`.functional.phase`, its plain NumPy twin beside it). :mod:`.functional` lists the
files to read next, in order.

References
----------
.. [1] V. Dumoulin and F. Visin, "A guide to convolution arithmetic for deep learning",
   arXiv:1603.07285, 2016.
.. [2] X. Glorot and Y. Bengio, "Understanding the difficulty of training deep feedforward
   neural networks", AISTATS 2010 (the ``glorot_uniform`` initialisation, Keras's default).
"""
import numpy as np

from . import functional as F
from .._utils import as_rng
from ._args import check_dtype, positive_int, positive_pair
from .base import Layer, Parameter, check_input, glorot_uniform, zeros
from .functional.padding import check_padding, conv_output_size, conv_transpose_output_size


class _ConvBase(Layer):
    """Shared construction: weights (C_a, C_b, kh, kw) with Glorot-uniform init, zero bias."""

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, w_shape,
                 n_bias, random_state, dtype):
        name = type(self).__name__
        self.in_channels = positive_int(name, "in_channels", in_channels)
        self.out_channels = positive_int(name, "out_channels", out_channels)
        self.kernel_size = positive_pair(name, "kernel_size", kernel_size)
        self.stride = positive_int(name, "stride", stride)
        self.padding = check_padding(name, padding)
        self.dtype = np.dtype(dtype)
        kh, kw = self.kernel_size
        rng = as_rng(random_state)
        self.W = Parameter(glorot_uniform(w_shape(kh, kw), self.in_channels * kh * kw,
                                          self.out_channels * kh * kw, rng, self.dtype))
        self.b = Parameter(zeros(n_bias, dtype=self.dtype))
        self._x = None
        self._work = {}  # the Numba kernels' work buffers, reused from batch to batch

    def parameters(self):
        return [self.W, self.b]

    def _check(self, x):
        check_input(self, x, 4, f"(N, {self.in_channels}, H, W)", channels=self.in_channels)
        check_dtype(self, x, self.W.value.dtype)
        return x

    def _base_config(self):
        kh, kw = self.kernel_size
        return {"in_channels": self.in_channels, "out_channels": self.out_channels,
                "kernel_size": kh if kh == kw else [kh, kw], "stride": self.stride,
                "padding": self.padding}


class Conv2D(_ConvBase):
    r"""2-D convolution (cross-correlation, as in every deep-learning library), NCHW.

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size : int or (int, int)
    stride : int, default 1
    padding : {"same", "valid"} or int, default "same"
        "same" as in Keras: output = ceil(input / stride), odd padding pixel at the bottom/right.
    random_state : None, int or np.random.Generator
    dtype : default np.float32
        Dtype of the parameters; the input must have the same dtype, or ``forward`` raises a
        ``TypeError`` (nothing is cast silently; see :mod:`scratchnet.nn._args`).

    Attributes
    ----------
    W : Parameter (C_out, C_in, kh, kw), Glorot-uniform.
    b : Parameter (C_out,), zeros.

    Notes
    -----
    Forward, with :math:`\tilde x` the zero-padded input and stride :math:`s`:

    .. math:: y_{n,f,o_y,o_x} = b_f + \sum_{c,k_y,k_x} W_{f,c,k_y,k_x}\,
              \tilde x_{n,c,\,s o_y+k_y,\,s o_x+k_x}

    Output size per axis: :math:`\lfloor (n + p_{before} + p_{after} - k)/s \rfloor + 1`.
    Backward, with :math:`G = \partial L/\partial y`:

    .. math:: \frac{\partial L}{\partial W_{f,c,k_y,k_x}} = \sum_{n,o_y,o_x} G_{n,f,o_y,o_x}
              \tilde x_{n,c,\,s o_y+k_y,\,s o_x+k_x}, \qquad
              \frac{\partial L}{\partial b_f} = \sum_{n,o_y,o_x} G_{n,f,o_y,o_x},

    and :math:`\partial L/\partial x` is the transposed convolution of :math:`G` with the same
    :math:`W` (``Conv2DTranspose``), cropped of the padding [1]_.

    Examples
    --------
    >>> import numpy as np
    >>> conv = Conv2D(3, 8, 3, stride=2, random_state=0)
    >>> conv.forward(np.zeros((4, 3, 32, 32), np.float32)).shape
    (4, 8, 16, 16)
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding="same",
                 random_state=None, dtype=np.float32):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding,
                         lambda kh, kw: (out_channels, in_channels, kh, kw), out_channels,
                         random_state, dtype)

    def _geometry(self, H, W):
        kh, kw = self.kernel_size
        Ho, pt, pb = conv_output_size(H, kh, self.stride, self.padding)
        Wo, pl, pr = conv_output_size(W, kw, self.stride, self.padding)
        if Ho < 1 or Wo < 1:
            raise ValueError(f"{self.name}: input {H}x{W} is smaller than the kernel "
                             f"{kh}x{kw} with padding {self.padding!r}")
        return (Ho, Wo), (pt, pb, pl, pr)

    def output_shape(self, input_shape):
        if len(input_shape) != 3 or input_shape[0] != self.in_channels:
            raise ValueError(f"{self.name}: expected input shape ({self.in_channels}, H, W), "
                             f"got {tuple(input_shape)}")
        (Ho, Wo), _ = self._geometry(input_shape[1], input_shape[2])
        return (self.out_channels, Ho, Wo)

    def forward(self, x):
        x = self._check(x)
        _, self._pads = self._geometry(x.shape[2], x.shape[3])
        self._x = x
        return F.conv2d(x, self.W.value, self.b.value, self.stride, self._pads, self._work)

    def backward(self, grad):
        self._require_forward()
        dx, dw = F.conv2d_backward(self._x, grad, self.W.value, self.stride, self._pads,
                                   self._work)
        self.W.grad += dw
        self.b.grad += np.einsum("nchw->c", grad)  # 5x faster than sum(axis=(0, 2, 3))
        return dx

    def backward_params(self, grad):
        r"""``backward`` without :math:`\partial L/\partial x`: the weight and bias gradients
        only, for the first layer of a network (nothing upstream needs the input's gradient,
        which costs as much as the weights')."""
        self._require_forward()
        self.W.grad += F.conv2d_grad_weight(self._x, grad, self.W.value.shape, self.stride,
                                            self._pads, self._work)
        self.b.grad += np.einsum("nchw->c", grad)

    # -- the same layer in a dozen lines: im2col and one matrix product -----------------------
    # What ``forward`` and ``backward`` compute, written out with the unfolded patches of
    # :func:`~scratchnet.nn.functional.im2col.im2col` (row (c, k_y, k_x) of column (o_y, o_x)
    # is the padded input x~[c, s o_y + k_y, s o_x + k_x]). The layer runs the phase-grid
    # kernels instead (:mod:`.functional.phase`); the tests hold the two equal.

    def _forward_im2col(self, x):
        """:math:`y = W_{mat} X^{col} + b`: every output pixel a dot product of W's rows
        with one column of patches."""
        (Ho, Wo), pads = self._geometry(x.shape[2], x.shape[3])
        kh, kw = self.kernel_size
        cols = F.im2col(x, kh, kw, self.stride, pads)               # (N, C kh kw, Ho Wo)
        y = self.W.value.reshape(self.out_channels, -1) @ cols      # (N, F, Ho Wo)
        y += self.b.value[:, None]
        return y.reshape(len(x), self.out_channels, Ho, Wo)

    def _backward_im2col(self, x, grad):
        r"""(dL/dx, dL/dW, dL/db) for ``grad`` = dL/dy: :math:`dW = \sum_n G_n (X^{col}_n)^T`,
        :math:`db = \sum G`, and dL/dx folds :math:`W_{mat}^T G` back onto the pixels
        (:func:`~scratchnet.nn.functional.im2col.col2im`, the adjoint of im2col)."""
        _, pads = self._geometry(x.shape[2], x.shape[3])
        kh, kw = self.kernel_size
        N, f = len(x), self.out_channels
        g = grad.reshape(N, f, -1)                                  # (N, F, Ho Wo)
        cols = F.im2col(x, kh, kw, self.stride, pads)
        dw = np.einsum("nfp,nkp->fk", g, cols).reshape(self.W.value.shape)
        db = g.sum(axis=(0, 2))
        dcols = self.W.value.reshape(f, -1).T @ g                   # (N, C kh kw, Ho Wo)
        dx = F.col2im(dcols, x.shape, kh, kw, self.stride, pads)
        return dx, dw, db

    def get_config(self):
        return self._base_config()


class Conv2DTranspose(_ConvBase):
    r"""Transposed convolution: the exact adjoint of a ``Conv2D`` (plus a bias), NCHW.

    ``Conv2DTranspose(a, b, k, s, padding)`` maps (N, a, h, w) to (N, b, H, W) and is the
    adjoint of ``Conv2D(b, a, k, s, padding)`` applied to an (N, b, H, W) input; it holds that
    convolution's weight, shape (a, b, kh, kw) = (in_channels, out_channels, kh, kw), as
    PyTorch's ``ConvTranspose2d`` does.

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size : int or (int, int)
    stride : int, default 1
    padding : {"same", "valid"} or int, default "same"
        "same" gives output = input × stride (Keras).
    output_padding : int, default 0
        Extra bottom/right rows and columns (< stride; not with "same").
    random_state : None, int or np.random.Generator
    dtype : default np.float32
        Dtype of the parameters; the input must have the same dtype, or ``forward`` raises a
        ``TypeError`` (nothing is cast silently; see :mod:`scratchnet.nn._args`).

    Notes
    -----
    With :math:`A_W` the convolution of the mirrored ``Conv2D`` (no bias), the forward pass is
    :math:`z = A_W^T y + b`, i.e. every input pixel stamps the kernel onto the output [1]_:

    .. math:: z_{n,f,\,s i_y + k_y - p_t,\,s i_x + k_x - p_l} \mathrel{+}=
              \sum_c y_{n,c,i_y,i_x} W_{c,f,k_y,k_x}

    Output size per axis: "valid" :math:`(m-1)s + k + \text{output\_padding}`, int ``p``
    :math:`(m-1)s + k - 2p + \text{output\_padding}`, "same" :math:`m s`.
    Backward, with :math:`G = \partial L/\partial z`:

    .. math:: \frac{\partial L}{\partial y} = A_W G, \qquad
              \frac{\partial L}{\partial W} = \nabla_W \langle A_W G, y \rangle, \qquad
              \frac{\partial L}{\partial b_f} = \sum_{n,i,j} G_{n,f,i,j}.

    Examples
    --------
    >>> import numpy as np
    >>> up = Conv2DTranspose(32, 16, 3, stride=2, random_state=0)
    >>> up.forward(np.zeros((4, 32, 8, 8), np.float32)).shape
    (4, 16, 16, 16)
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding="same",
                 output_padding=0, random_state=None, dtype=np.float32):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding,
                         lambda kh, kw: (in_channels, out_channels, kh, kw), out_channels,
                         random_state, dtype)
        if (isinstance(output_padding, bool) or not isinstance(output_padding, (int, np.integer))
                or not 0 <= output_padding < self.stride):
            raise ValueError(f"{self.name}: output_padding must be an int in [0, stride="
                             f"{self.stride}), got {output_padding!r}")
        if output_padding and self.padding == "same":
            raise ValueError(f'{self.name}: output_padding must be 0 with padding="same", '
                             f"got {output_padding}")
        self.output_padding = int(output_padding)

    def _geometry(self, h, w):
        kh, kw = self.kernel_size
        s, op = self.stride, self.output_padding
        H, pt, pb = conv_transpose_output_size(h, kh, s, self.padding, op)
        W, pl, pr = conv_transpose_output_size(w, kw, s, self.padding, op)
        if H < 1 or W < 1:
            raise ValueError(f"{self.name}: input {h}x{w} gives an empty output with kernel "
                             f"{kh}x{kw} and padding {self.padding!r}")
        return (H, W), (pt, pb, pl, pr)

    def output_shape(self, input_shape):
        if len(input_shape) != 3 or input_shape[0] != self.in_channels:
            raise ValueError(f"{self.name}: expected input shape ({self.in_channels}, H, W), "
                             f"got {tuple(input_shape)}")
        (H, W), _ = self._geometry(input_shape[1], input_shape[2])
        return (self.out_channels, H, W)

    def forward(self, x):
        x = self._check(x)
        (H, W), self._pads = self._geometry(x.shape[2], x.shape[3])
        self._x = x
        z = F.conv2d_grad_input(x, self.W.value, (x.shape[0], self.out_channels, H, W),
                                self.stride, self._pads, self._work, bias=self.b.value)
        return z

    def backward(self, grad):
        self._require_forward()
        # dL/dx = A_W G (a convolution of G) and dL/dW from the pair (G, x), in one pass
        dx, dw = F.conv2d_forward_grad_weight(grad, self._x, self.W.value, self.stride,
                                              self._pads, self._work)
        self.W.grad += dw
        self.b.grad += np.einsum("nchw->c", grad)  # 5x faster than sum(axis=(0, 2, 3))
        return dx

    def get_config(self):
        return {**self._base_config(), "output_padding": self.output_padding}
