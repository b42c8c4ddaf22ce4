r"""The write-ups' autoencoders, layer for layer, with Keras's "same" padding semantics.

Each builder returns an :class:`~scratchnet.models.Autoencoder` whose ``encoder`` and
``decoder`` are ``Sequential`` models, and whose training defaults (loss, optimizer, batch
size) follow the write-up the architecture comes from. ``summary()`` reproduces the parameter
counts of the write-ups' Keras summaries.

=========================  =====  ============================================================
builder                    from   architecture
=========================  =====  ============================================================
``cifar_autoencoder``      W0     Conv2D 3→8→16→32 (3×3, stride 2, ReLU): code 32×4×4 = 512;
                                  Conv2DTranspose 32→32→16→8 (stride 2, ReLU), then 8→3
                                  (stride 1, sigmoid). Parameters 224, 1168, 4640, 9248, 4624,
                                  1160, 219. Adam, binary cross-entropy.
``mnist_conv_autoencoder`` W1     Conv 1→16, MaxPool, Conv 16→2, MaxPool: code 2×7×7 = 98;
                                  Conv 2→2, UpSampling, Conv 2→16, UpSampling, Conv 16→1
                                  (sigmoid). Parameters 160, 290, 38, 304, 145. Adadelta, BCE.
``dense_autoencoder``      W2/W3  Dense stack ``dims`` with a linear code and a linear output;
                                  (784, 500, 500, 2000, 10) is DEC's, (784, 784, 64, 32, 3)
                                  with sigmoid activations is W2's 3-d code. Adam, MSE.
``pool_autoencoder``       W4     Conv (3 filters) + MaxPool twice, 32→16→8: code 3×8×8 = 192;
                                  Conv + UpSampling twice back to 32, Conv to the input
                                  channels (sigmoid). Adam, BCE.
=========================  =====  ============================================================

The convolutional builders take any image size and channel count (``in_channels``,
``image_size``); the defaults are the write-ups'. Each halving of the size on the way in is
undone by a doubling on the way out, so the height and width must be divisible by 2 per
halving (4 for W1 and W4, 8 for W0), or the reconstruction would not have the input's size: a
size that is not is refused at once with a ``ValueError`` naming it (pad or crop the images,
or use ``dense_autoencoder``, which takes any size).

References
----------
.. [1] Xie, Girshick & Farhadi, "Unsupervised Deep Embedding for Clustering Analysis",
   ICML 2016, arXiv:1511.06335 (the 784-500-500-2000-10 autoencoder).
.. [2] F. Chollet, "Building Autoencoders in Keras", The Keras Blog, 2016 (W1's
   convolutional autoencoder with max-pooling and up-sampling, trained with Adadelta).
"""
import numpy as np

from ..nn import (Conv2D, Conv2DTranspose, Dense, MaxPool2D, ReLU, Sequential, Sigmoid,
                  UpSampling2D)
from .._utils import as_rng
from .autoencoder import Autoencoder

_ACTIVATIONS = {"relu": ReLU, "sigmoid": Sigmoid}


def _image_size(fn, image_size, multiple, why):
    """``(H, W)`` from an int or a pair, each a positive multiple of ``multiple``."""
    size = (image_size, image_size) if isinstance(image_size, (int, np.integer)) \
        else tuple(image_size)
    if len(size) != 2 or not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool)
                                 and s > 0 for s in size):
        raise ValueError(f"{fn}: expected image_size as a positive int or (height, width), "
                         f"got {image_size!r}")
    h, w = int(size[0]), int(size[1])
    if h % multiple or w % multiple:
        raise ValueError(f"{fn}: expected image height and width divisible by {multiple} "
                         f"({why}), got {h}x{w}; pad or crop the images, or use a dense "
                         f"autoencoder")
    return h, w


def _check_channels(fn, in_channels):
    if isinstance(in_channels, bool) or not isinstance(in_channels, (int, np.integer)) \
            or in_channels < 1:
        raise ValueError(f"{fn}: expected in_channels a positive int, got {in_channels!r}")
    return int(in_channels)


def cifar_autoencoder(random_state=None, in_channels=3, image_size=32):
    """W0's convolutional autoencoder, for 3×32×32 images by default (code: 512 features).

    Three stride-2 convolutions take 32 → 16 → 8 → 4 and three stride-2 transposed ones
    4 → 8 → 16 → 32, so any height and width divisible by 8 works (code 32×H/8×W/8).

    >>> ae = cifar_autoencoder(random_state=0)
    >>> ae.encode(np.zeros((2, 3, 32, 32), np.float32)).shape   # doctest: +SKIP
    (2, 32, 4, 4)
    >>> cifar_autoencoder(in_channels=1, image_size=16).code_shape
    (32, 2, 2)
    """
    in_channels = _check_channels("cifar_autoencoder", in_channels)
    h, w = _image_size("cifar_autoencoder", image_size, 8, "three stride-2 convolutions")
    rng = as_rng(random_state)
    encoder = Sequential([
        Conv2D(in_channels, 8, 3, stride=2, random_state=rng), ReLU(),
        Conv2D(8, 16, 3, stride=2, random_state=rng), ReLU(),
        Conv2D(16, 32, 3, stride=2, random_state=rng), ReLU(),
    ])
    decoder = Sequential([
        Conv2DTranspose(32, 32, 3, stride=2, random_state=rng), ReLU(),
        Conv2DTranspose(32, 16, 3, stride=2, random_state=rng), ReLU(),
        Conv2DTranspose(16, 8, 3, stride=2, random_state=rng), ReLU(),
        Conv2DTranspose(8, in_channels, 3, stride=1, random_state=rng), Sigmoid(),
    ])
    return Autoencoder(encoder, decoder, input_shape=(in_channels, h, w), loss="bce",
                       optimizer="adam", optimizer_kwargs={"lr": 1e-3}, batch_size=64)


def mnist_conv_autoencoder(in_channels=1, random_state=None, image_size=28):
    """W1's pooling autoencoder, for 1×28×28 images by default (code: 2×7×7 = 98 features).

    The "same" max-pooling takes 28 → 14 → 7; up-sampling takes 7 → 14 → 28. Any height and
    width divisible by 4 works (code 2×H/4×W/4: 2×4×4 for 16×16 digits, 2×2×2 for 8×8).
    """
    in_channels = _check_channels("mnist_conv_autoencoder", in_channels)
    h, w = _image_size("mnist_conv_autoencoder", image_size, 4,
                       "two 2x2 poolings, undone by two 2x up-samplings")
    rng = as_rng(random_state)
    encoder = Sequential([
        Conv2D(in_channels, 16, 3, random_state=rng), ReLU(), MaxPool2D(2, padding="same"),
        Conv2D(16, 2, 3, random_state=rng), ReLU(), MaxPool2D(2, padding="same"),
    ])
    decoder = Sequential([
        Conv2D(2, 2, 3, random_state=rng), ReLU(), UpSampling2D(2),
        Conv2D(2, 16, 3, random_state=rng), ReLU(), UpSampling2D(2),
        Conv2D(16, in_channels, 3, random_state=rng), Sigmoid(),
    ])
    return Autoencoder(encoder, decoder, input_shape=(in_channels, h, w), loss="bce",
                       optimizer="adadelta", optimizer_kwargs={"lr": 1.0}, batch_size=128)


def dense_autoencoder(dims=(784, 500, 500, 2000, 10), activation="relu", random_state=None):
    """A symmetric dense autoencoder ``dims[0] → … → dims[-1] → … → dims[0]``.

    Hidden layers use ``activation``; the code layer and the output layer are linear, as in
    DEC [1]_. Inputs are flat vectors (N, dims[0]).

    Parameters
    ----------
    dims : sequence of int, at least two
        Layer widths from the input to the code.
    activation : {"relu", "sigmoid"}
    """
    dims = tuple(int(d) for d in dims)
    if len(dims) < 2 or min(dims) < 1:
        raise ValueError(f"dense_autoencoder: expected at least two positive widths, got {dims}")
    if activation not in _ACTIVATIONS:
        raise ValueError(f"dense_autoencoder: activation must be one of "
                         f"{sorted(_ACTIVATIONS)}, got {activation!r}")
    rng = as_rng(random_state)

    def stack(widths):
        layers = []
        for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
            layers.append(Dense(a, b, random_state=rng))
            if i < len(widths) - 2:          # the last layer of each half stays linear
                layers.append(_ACTIVATIONS[activation]())
        return Sequential(layers)

    return Autoencoder(stack(dims), stack(dims[::-1]), input_shape=(dims[0],), loss="mse",
                       optimizer="adam", optimizer_kwargs={"lr": 1e-3}, batch_size=256)


def pool_autoencoder(in_channels=3, filters=3, random_state=None, image_size=32):
    """W4's small pooling autoencoder, for 32×32 images by default (code: ``filters``×8×8).

    Any height and width divisible by 4 works (code ``filters``×H/4×W/4).
    """
    in_channels = _check_channels("pool_autoencoder", in_channels)
    h, w = _image_size("pool_autoencoder", image_size, 4,
                       "two 2x2 poolings, undone by two 2x up-samplings")
    rng = as_rng(random_state)
    encoder = Sequential([
        Conv2D(in_channels, filters, 3, random_state=rng), ReLU(), MaxPool2D(2),
        Conv2D(filters, filters, 3, random_state=rng), ReLU(), MaxPool2D(2),
    ])
    decoder = Sequential([
        Conv2D(filters, filters, 3, random_state=rng), ReLU(), UpSampling2D(2),
        Conv2D(filters, filters, 3, random_state=rng), ReLU(), UpSampling2D(2),
        Conv2D(filters, in_channels, 3, random_state=rng), Sigmoid(),
    ])
    return Autoencoder(encoder, decoder, input_shape=(in_channels, h, w), loss="bce",
                       optimizer="adam", optimizer_kwargs={"lr": 1e-3}, batch_size=64)
