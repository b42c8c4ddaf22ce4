r"""Checks the layers share: constructor arguments and the input's dtype.

The dtype policy, the same for every layer with parameters (``Dense``, ``Conv2D``,
``Conv2DTranspose``): the input must have the parameters' dtype, or the layer raises a
``TypeError`` saying so. Nothing is cast silently, neither up (a float32 batch into a float64
layer would double its memory and time) nor down (a float64 gradient check run through float32
weights would lose eight digits unnoticed). Cast the input, or the layer with
``layer.astype(dtype)``; ``Sequential`` casts each batch to its parameters' dtype for you.
Layers without parameters (pooling, upsampling, activations) keep the input's dtype.
"""
import numpy as np


def positive_int(name, what, v):
    """``v`` as an int if it is a positive integer (not a bool), else a ValueError naming it."""
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
        raise ValueError(f"{name}: {what} must be a positive int, got {v!r}")
    return int(v)


def positive_pair(name, what, v):
    """``(v, v)`` for a positive int ``v``, or a pair of positive ints, as a tuple of ints."""
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        v = (int(v), int(v))
    if (not isinstance(v, (tuple, list)) or len(v) != 2
            or not all(isinstance(u, (int, np.integer)) and not isinstance(u, bool) and u >= 1
                       for u in v)):
        raise ValueError(f"{name}: {what} must be a positive int or a pair of them, got {v!r}")
    return int(v[0]), int(v[1])


def check_dtype(layer, x, dtype):
    """Refuse an input whose dtype is not the layer's ``dtype`` (the policy above)."""
    if x.dtype != dtype:
        raise TypeError(f"{layer.name}: expected input dtype {dtype} (the layer's), got "
                        f"{x.dtype}; cast the input or call layer.astype()")
