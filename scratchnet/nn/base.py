r"""The two objects every layer is made of: a ``Parameter`` and the ``Layer`` protocol.

A layer is a function with a memory. ``forward(x)`` computes the output and keeps what
``backward`` will need (in attributes whose names start with ``_``); ``backward(g)`` receives
:math:`G = \partial L / \partial Y`, *adds* :math:`\partial L / \partial \theta` into each
parameter's ``grad`` and returns :math:`\partial L / \partial X`.

Gradients accumulate (``+=``) rather than overwrite, as in micrograd: a parameter used twice
(or a batch split across two threads and summed) receives every contribution. The caller
clears them with ``zero_grad()`` before each step.

Optimizers update ``Parameter.value`` *in place* and never rebind it, so anything holding a
reference to the array (a model slice, a replica used by another thread) sees the update.

Loading a saved model builds its layers from their configs and then overwrites every weight with
the file's. Inside :func:`weights_deferred` the initialisers (:func:`glorot_uniform`,
:func:`zeros`) return read-only placeholders that take no memory, so the loader can compare the
shapes a config asks for with the arrays the file holds *before* anything is allocated: a
crafted config such as ``Dense(10**6, 10**5)`` over a tiny file must fail with a message, not
try to allocate 400 GB.
"""
import threading
from contextlib import contextmanager

import numpy as np


_deferred = threading.local()   # per thread: another thread training meanwhile is unaffected


@contextmanager
def weights_deferred():
    """Build layers whose parameters are zero-memory placeholders of the right shape and dtype.

    Inside the block, :func:`glorot_uniform` and :func:`zeros` return
    ``np.broadcast_to(0, shape)`` (one element, read-only) and a :class:`Parameter` built on one
    shares it as its ``grad``. The caller must give every such parameter a real ``value`` and
    ``grad`` before the layer is used (``load_checkpoint`` does, after checking the shapes).
    """
    before = getattr(_deferred, "on", False)
    _deferred.on = True
    try:
        yield
    finally:
        _deferred.on = before


def _placeholder(shape, dtype):
    return np.broadcast_to(np.zeros((), dtype=dtype), shape)


def zeros(shape, dtype=np.float32):
    """``np.zeros(shape, dtype)``, or a placeholder inside :func:`weights_deferred` (biases)."""
    if getattr(_deferred, "on", False):
        return _placeholder(shape, dtype)
    return np.zeros(shape, dtype=dtype)


class Parameter:
    r"""A trainable array and the gradient accumulated into it.

    Parameters
    ----------
    value : ndarray
        The initial value; the parameter keeps this very array (no copy).

    Attributes
    ----------
    value : ndarray
    grad : ndarray, same shape and dtype as ``value``, zero at creation.
    """

    __slots__ = ("value", "grad")

    def __init__(self, value):
        if not isinstance(value, np.ndarray):
            raise TypeError(f"Parameter: expected an ndarray, got {type(value).__name__}")
        self.value = value
        # a placeholder (see weights_deferred) gets no gradient memory either
        self.grad = value if getattr(_deferred, "on", False) else np.zeros_like(value)

    @property
    def shape(self):
        return self.value.shape

    @property
    def dtype(self):
        return self.value.dtype

    @property
    def size(self):
        return self.value.size

    def __repr__(self):
        return f"Parameter(shape={self.value.shape}, dtype={self.value.dtype})"


class Layer:
    r"""Base class of every layer.

    Subclasses implement ``forward``, ``backward``, ``output_shape`` and ``get_config``, and
    override ``parameters`` when they own weights. Shapes at the API are NCHW for images and
    (N, D) for vectors; ``output_shape`` works on the per-sample shape (without N).

    ``threads_inside`` says whether the layer's heavy work already runs on every core by
    itself (a BLAS matrix product does); a model made only of such layers gains nothing from
    splitting its batch across threads (``Sequential._split_across_cores``).
    """

    threads_inside = False

    def forward(self, x):
        raise NotImplementedError

    def backward(self, grad):
        raise NotImplementedError

    def backward_params(self, grad):
        """Accumulate the parameters' gradients only, for a layer whose input needs none (the
        first layer of a network: nothing upstream to train). Layers that can skip the input
        gradient override this; the default runs the full ``backward``. Returns ``None``."""
        self.backward(grad)

    def __call__(self, x):
        return self.forward(x)

    def parameters(self):
        """The layer's trainable parameters, in a fixed order (a flat list)."""
        return []

    def zero_grad(self):
        for p in self.parameters():
            p.grad.fill(0)

    def astype(self, dtype):
        """Cast every parameter (value and grad) to ``dtype`` in place; returns ``self``.

        Used to run gradient checks in float64 on layers built in float32.
        """
        for p in self.parameters():
            p.value = p.value.astype(dtype)
            p.grad = np.zeros_like(p.value)
        return self

    def output_shape(self, input_shape):
        """Per-sample output shape for a per-sample ``input_shape`` (no batch axis)."""
        raise NotImplementedError

    def get_config(self):
        """The constructor's keyword arguments as JSON-able values (used by ``save``)."""
        return {}

    @property
    def name(self):
        return type(self).__name__

    def _require_forward(self, attr="_x"):
        """Raise the misuse error when ``backward`` comes before ``forward``."""
        if getattr(self, attr, None) is None:
            raise RuntimeError(f"{self.name}: backward() called before forward()")

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{self.name}({args})"


def parameters_dtype(parameters, default=np.float32):
    """The dtype a model computes in: its first parameter's, or ``default`` without parameters.

    A model's parameters share one dtype (float32 as built, float64 after ``astype`` for a
    gradient check), so its inputs are cast to this one. ``parameters`` is a list of
    :class:`Parameter`, e.g. ``model.parameters()``.
    """
    return parameters[0].value.dtype if parameters else default


def backward_through(layers, grad, input_grad=True):
    """Backpropagate ``grad`` through ``layers`` (last to first), accumulating their parameter
    gradients; returns dL/d input, or ``None`` with ``input_grad=False``, in which case the
    first layer only accumulates its parameters' gradients (``Layer.backward_params``)."""
    for layer in reversed(layers[1:]):
        grad = layer.backward(grad)
    if not layers:
        return grad if input_grad else None
    if input_grad:
        return layers[0].backward(grad)
    layers[0].backward_params(grad)
    return None


def check_input(layer, x, ndim, what, channels=None, channel_axis=1):
    """Validate a layer's input once, with a message naming expected and actual shapes.

    ``what`` is the expected shape spelled for people, e.g. ``"(N, 3, H, W)"``.
    """
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{layer.name}: expected a NumPy array {what}, got {type(x).__name__}")
    if x.ndim != ndim or (channels is not None and x.shape[channel_axis] != channels):
        raise ValueError(f"{layer.name}: expected input {what}, got {x.shape}")
    if x.dtype.kind != "f":
        raise TypeError(f"{layer.name}: expected a floating-point input, got dtype {x.dtype}")


def glorot_uniform(shape, fan_in, fan_out, rng, dtype=np.float32):
    r"""Glorot/Xavier uniform initialisation, Keras's default for Dense and Conv kernels.

    .. math:: W \sim U(-l, l), \quad l = \sqrt{6 / (\text{fan\_in} + \text{fan\_out})}

    For a convolution, fan_in = C_in·kh·kw and fan_out = C_out·kh·kw (Glorot & Bengio 2010).
    """
    if getattr(_deferred, "on", False):
        return _placeholder(shape, dtype)   # the loader overwrites it: draw nothing
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape).astype(dtype)
