r"""Random affine warps of images: the data augmentation of DEC-DA, written from scratch.

Shift a digit by two pixels or turn it by eight degrees and it is still the same digit, but its
pixel vector has moved far: an autoencoder trained on the plain images learns codes in which
such copies lie apart, and K-means on those codes splits a class by where it sits in the frame.
Trained on randomly moved copies of every batch (the target being the moved copy itself), the
autoencoder must describe the shape wherever it is, so copies of one digit get nearby codes
(Guo, Zhu, Liu & Yin, "Deep Embedded Clustering with Data Augmentation", ACML 2018 [1]_).

The warp
--------
Coordinates are ``(x, y)`` = (column, row) with ``y`` pointing *down*, as an image is shown,
and :math:`c = ((W-1)/2, (H-1)/2)` is the image centre. An affine map moves the input point
:math:`p` to the output point

.. math:: q = A (p - c) + c + t, \qquad A = R(\theta)\, S_h(\varphi)\, s,

with a rotation by :math:`\theta` (counter-clockwise as the image is shown), a shear by
:math:`\varphi` and a zoom :math:`s`:

.. math:: R(\theta) = \begin{pmatrix} \cos\theta & \sin\theta \\ -\sin\theta & \cos\theta
          \end{pmatrix}, \qquad S_h(\varphi) = \begin{pmatrix} 1 & \tan\varphi \\ 0 & 1
          \end{pmatrix}.

(:math:`R` is the usual rotation with the sign of :math:`\sin` flipped, because ``y`` points
down.) Every *output* pixel :math:`q` is filled by looking back to where it came from,

.. math:: p = M q + b, \qquad M = A^{-1}, \qquad b = c - M (c + t),

and reading the input there by **bilinear interpolation**: with :math:`x_0 = \lfloor p_x
\rfloor`, :math:`y_0 = \lfloor p_y \rfloor`, :math:`f_x = p_x - x_0`, :math:`f_y = p_y - y_0`,

.. math:: I'(q) = (1-f_y)\big[(1-f_x) I_{y_0,x_0} + f_x I_{y_0,x_0+1}\big]
                + f_y\big[(1-f_x) I_{y_0+1,x_0} + f_x I_{y_0+1,x_0+1}\big],

a pixel outside the image counting as 0 (**zero padding**: what enters the frame is
background). Mapping back rather than forward leaves no holes. Whole-pixel shifts and
rotations by multiples of 90° about the centre land on pixel centres exactly, so they copy
pixels (the tests check both against ``np.roll`` and ``np.rot90``). All channels of an image
share its map.

The random part
---------------
:func:`random_affine_matrices` draws, per image, :math:`\theta \sim U(-\text{rotation},
\text{rotation})` degrees, :math:`t_x \sim U(-\text{shift}\,W, \text{shift}\,W)`, :math:`t_y
\sim U(-\text{shift}\,H, \text{shift}\,H)`, :math:`s \sim U(1-\text{scale}, 1+\text{scale})`
and :math:`\varphi \sim U(-\text{shear}, \text{shear})` degrees, from one ``(N, 5)`` block of
uniforms, so the same generator state gives the same warps whatever the settings. Shifts are a
*fraction* of the image, not pixels, so one setting means the same for 8×8, 16×16 and 28×28
images (DEC-DA used Keras's ``width_shift_range=0.1, height_shift_range=0.1,
rotation_range=10``, the defaults of :class:`RandomAffine`). :class:`RandomAffine` also keeps
each shift within the image's blank margins (:func:`blank_margins`), so that a shape that fills
its frame is moved only as far as it has room, never cut.

Where to read what: :func:`affine_matrices` turns angles, shifts, zooms and shears into
:math:`[M \,|\, b]`; :func:`warp_affine_reference` is the equations above in NumPy, over the
whole batch at once; :func:`warp_affine` is the same with the loops written out in
``_warp_affine_kernel`` (Numba), which the tests hold equal to it. :class:`RandomAffine` is what
training takes: ``Sequential.fit(..., augment=RandomAffine(...))``, ``Autoencoder.fit`` and
``DEC``'s ``augment``.

References
----------
.. [1] X. Guo, E. Zhu, X. Liu and J. Yin, "Deep Embedded Clustering with Data Augmentation",
   ACML 2018, PMLR 95:550-565.
.. [2] M. Jaderberg, K. Simonyan, A. Zisserman and K. Kavukcuoglu, "Spatial Transformer
   Networks", NeurIPS 2015 (the sampling grid and bilinear kernel, as ``grid_sample`` does).

Examples
--------
>>> import numpy as np
>>> from scratchnet.augment import RandomAffine, affine_matrices, warp_affine
>>> img = np.zeros((1, 1, 5, 5), np.float32); img[0, 0, 1, 3] = 1
>>> quarter_turn = affine_matrices(5, 5, rotation=90.0)
>>> bool((warp_affine(img, quarter_turn) == np.rot90(img, 1, axes=(2, 3))).all())
True
>>> aug = RandomAffine(shift=0.1, rotation=10, image_shape=(1, 5, 5))
>>> aug(img.reshape(1, 25), np.random.default_rng(0)).shape     # flat rows stay flat
(1, 25)
"""
import math

import numpy as np
from numba import njit

from ._margins import _describe, blank_margins, blank_margins_reference
from .nn._parallel import default_threads, side_by_side

MIN_PER_THREAD = 32   # images: below this a share of the batch is not worth a thread

__all__ = ["RandomAffine", "affine_matrices", "blank_margins", "blank_margins_reference",
           "random_affine_matrices", "warp_affine", "warp_affine_reference"]


def affine_matrices(height, width, rotation=0.0, shift=(0.0, 0.0), zoom=1.0, shear=0.0):
    r"""The inverse maps ``(M | b)`` of given affine warps of ``height × width`` images.

    Parameters
    ----------
    height, width : int
    rotation : float or array (N,)
        :math:`\theta` in degrees, counter-clockwise as the image is shown.
    shift : (2,) or array (N, 2)
        :math:`t = (t_x, t_y)` in pixels, right and down.
    zoom : float or array (N,)
        :math:`s` (2 doubles the size about the centre).
    shear : float or array (N,)
        :math:`\varphi` in degrees.

    Returns
    -------
    ndarray (N, 2, 3) float64
        Row ``k`` holds :math:`[M \,|\, b]`: output pixel :math:`q = (x, y)` reads the input at
        :math:`M q + b`, where :math:`M = A^{-1}` and :math:`b = c - M (c + t)` (the module's
        equations).

    Examples
    --------
    >>> affine_matrices(5, 5, rotation=90.0).round(12) + 0.0     # a quarter turn of 5×5
    array([[[ 0., -1.,  4.],
            [ 1.,  0.,  0.]]])
    """
    theta = np.deg2rad(np.atleast_1d(np.asarray(rotation, dtype=np.float64)))
    t = np.atleast_2d(np.asarray(shift, dtype=np.float64))
    zoom = np.atleast_1d(np.asarray(zoom, dtype=np.float64))
    shear_tan = np.tan(np.deg2rad(np.atleast_1d(np.asarray(shear, dtype=np.float64))))
    n = max(len(theta), len(t), len(zoom), len(shear_tan))
    theta, zoom, shear_tan = (np.broadcast_to(a, (n,)) for a in (theta, zoom, shear_tan))
    t = np.broadcast_to(t, (n, 2))
    cos, sin = np.cos(theta), np.sin(theta)
    # A = R(theta) @ [[1, tan(phi)], [0, 1]] * zoom, one 2x2 matrix per image
    A = np.empty((n, 2, 2))
    A[:, 0, 0], A[:, 0, 1] = cos, cos * shear_tan + sin
    A[:, 1, 0], A[:, 1, 1] = -sin, -sin * shear_tan + cos
    A *= zoom[:, None, None]
    M = np.linalg.inv(A)
    centre = np.array([(width - 1) / 2.0, (height - 1) / 2.0])
    b = centre - np.einsum("nij,nj->ni", M, centre + t)
    return np.concatenate([M, b[:, :, None]], axis=2)


def random_affine_matrices(n, height, width, rng, shift=0.1, rotation=10.0, scale=0.0,
                           shear=0.0, room=None):
    r"""The inverse maps ``(M | b)`` of ``n`` random affine warps of ``height × width`` images.

    Parameters
    ----------
    n, height, width : int
    rng : numpy.random.Generator
        Draws one ``(n, 5)`` block of uniforms in [-1, 1): angle, shift x, shift y, zoom, shear.
    shift : float
        Largest shift, as a fraction of the width (horizontally) and the height (vertically).
    rotation, shear : float
        Largest rotation and shear angle, in degrees.
    scale : float
        Zoom factors are drawn from ``[1 - scale, 1 + scale]``.
    room : ndarray (n, 4), optional
        Largest shift left, right, up and down of each image, in pixels (e.g.
        :func:`blank_margins`): each shift is then drawn uniformly from
        ``[-min(shift * width, left), min(shift * width, right)]`` (and likewise vertically),
        so no content leaves the frame. ``None``: ``±shift * width`` and ``±shift * height``.

    Returns
    -------
    ndarray (n, 2, 3) float64, as :func:`affine_matrices` returns.
    """
    u = rng.uniform(-1.0, 1.0, size=(n, 5))
    reach = np.array([shift * width, shift * width, shift * height, shift * height])
    reach = np.broadcast_to(reach, (n, 4)) if room is None else np.minimum(reach, room)
    low, high = -reach[:, 0::2], reach[:, 1::2]                     # (n, 2): x then y
    t = low + (u[:, 1:3] + 1.0) / 2.0 * (high - low)
    return affine_matrices(height, width, rotation=rotation * u[:, 0], shift=t,
                           zoom=1.0 + scale * u[:, 3], shear=shear * u[:, 4])


def warp_affine_reference(images, inverse):
    """Plain NumPy twin of :func:`warp_affine`: the module's equations, on the whole batch.

    Parameters
    ----------
    images : ndarray (N, C, H, W) float    IN
    inverse : ndarray (N, 2, 3)            IN  ``[M | b]`` per image

    Returns
    -------
    ndarray (N, C, H, W), the dtype of ``images``
    """
    n, _, h, w = images.shape
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)           # output pixel q = (x, y)
    m = inverse[:, :, :, None, None]                        # (N, 2, 3, 1, 1)
    px = m[:, 0, 0] * x + m[:, 0, 1] * y + m[:, 0, 2]       # p = M q + b, (N, H, W) each
    py = m[:, 1, 0] * x + m[:, 1, 1] * y + m[:, 1, 2]
    x0, y0 = np.floor(px), np.floor(py)
    fx, fy = px - x0, py - y0
    x0, y0 = x0.astype(np.int64), y0.astype(np.int64)
    sample = np.arange(n)[:, None, None]
    out = np.zeros(images.shape, dtype=np.float64)
    for dy, wy in ((0, 1 - fy), (1, fy)):                   # the four neighbours
        for dx, wx in ((0, 1 - fx), (1, fx)):
            yy, xx = y0 + dy, x0 + dx
            inside = (yy >= 0) & (yy < h) & (xx >= 0) & (xx < w)   # outside: zero padding
            value = images[sample, :, np.clip(yy, 0, h - 1), np.clip(xx, 0, w - 1)]
            # fancy indexing put the channel axis last: (N, H, W, C)
            out += np.moveaxis(value * (wy * wx * inside)[..., None], -1, 1)
    return out.astype(images.dtype)


def warp_affine(images, inverse, out=None):
    """Warp each image by its affine map, with bilinear sampling and zero padding.

    Parameters
    ----------
    images : ndarray (N, C, H, W) float32 or float64
    inverse : ndarray (N, 2, 3)
        ``[M | b]`` per image (e.g. from :func:`random_affine_matrices`): output pixel
        ``(x, y)`` reads the input at ``M (x, y) + b``.
    out : ndarray like ``images``, optional
        Written in place and returned (must not be ``images``).

    Returns
    -------
    ndarray (N, C, H, W), the dtype of ``images``

    Notes
    -----
    The Numba kernel walks the output pixels and does, per pixel, what
    :func:`warp_affine_reference` does per array: the map, the floor, the four weights, the
    zero padding (by a frame of zeros around the image; see ``_warp_affine_kernel``).
    """
    if not isinstance(images, np.ndarray) or images.ndim != 4 or images.dtype.kind != "f":
        raise ValueError(f"warp_affine: expected float images (N, C, H, W), got "
                         f"{_describe(images)}")
    inverse = np.ascontiguousarray(inverse, dtype=np.float64)
    if inverse.shape != (len(images), 2, 3):
        raise ValueError(f"warp_affine: expected inverse maps of shape ({len(images)}, 2, 3), "
                         f"got {inverse.shape}")
    images = np.ascontiguousarray(images)
    if out is None:
        out = np.empty_like(images)
    elif out.shape != images.shape or out.dtype != images.dtype or out is images:
        raise ValueError(f"warp_affine: expected out as a new array {images.shape} "
                         f"{images.dtype}, got {_describe(out)}")
    # the images are independent: a share of the batch per core (the training step's threads)
    k = max(1, min(default_threads(), len(images) // MIN_PER_THREAD))
    bounds = [len(images) * t // k for t in range(k + 1)]
    side_by_side(lambda t: _warp_affine_kernel(images[bounds[t]:bounds[t + 1]],
                                               inverse[bounds[t]:bounds[t + 1]],
                                               out[bounds[t]:bounds[t + 1]]), k)
    return out


@njit(cache=True, nogil=True)
def _warp_affine_kernel(images, inverse, out):
    """images (N, C, H, W) IN; inverse (N, 2, 3) float64 IN; out (N, C, H, W) OUT.

    One output pixel at a time: its source point p = M q + b, then the bilinear sum over the
    four pixels around p. The image is first copied into a frame of zeros one pixel wide
    (``pad``), where the input's pixel (y, x) sits at (y + 1, x + 1): every p with
    -1 < p_x < W and -1 < p_y < H then has its four neighbours inside the frame (the ones
    outside the image read the frame's zeros, which is the zero padding), and every other p
    gives 0. One test per pixel instead of one per neighbour, and no clamped indices.
    Serial: :func:`warp_affine` gives each of the training step's threads (plain Python
    threads, this kernel releases the GIL) its share of the batch. A ``prange`` version, twice
    as fast alone, had added 15 ms to a 26 ms step inside ``fit`` instead of 2.5 ms: Numba's
    OpenMP workers spun against OpenBLAS's threads (``benchmarks/bench_augment.py`` measures
    the warp inside ``fit``).
    """
    n_images, n_channels, h, w = images.shape
    pad = np.zeros((n_channels, h + 2, w + 2), dtype=images.dtype)
    for n in range(n_images):
        pad[:, 1:h + 1, 1:w + 1] = images[n]
        m00, m01, b0 = inverse[n, 0, 0], inverse[n, 0, 1], inverse[n, 0, 2]
        m10, m11, b1 = inverse[n, 1, 0], inverse[n, 1, 1], inverse[n, 1, 2]
        for i in range(h):
            for j in range(w):
                px = m00 * j + m01 * i + b0 + 1.0      # + 1: coordinates in the frame
                py = m10 * j + m11 * i + b1 + 1.0
                if 0.0 < px < w + 1.0 and 0.0 < py < h + 1.0:
                    x0, y0 = int(px), int(py)          # floor, as px, py > 0
                    fx, fy = px - x0, py - y0
                    w00, w01 = (1.0 - fy) * (1.0 - fx), (1.0 - fy) * fx
                    w10, w11 = fy * (1.0 - fx), fy * fx
                    for c in range(n_channels):
                        out[n, c, i, j] = (w00 * pad[c, y0, x0] + w01 * pad[c, y0, x0 + 1]
                                           + w10 * pad[c, y0 + 1, x0]
                                           + w11 * pad[c, y0 + 1, x0 + 1])
                else:
                    for c in range(n_channels):
                        out[n, c, i, j] = 0.0


class RandomAffine:
    r"""A fresh random affine warp of every image of a batch: the augmentation training takes.

    ``aug(batch, rng)`` returns the warped batch, in the batch's shape and dtype; flat rows
    ``(N, D)`` (what a dense autoencoder takes) are seen as images of ``image_shape``. The
    warps come from ``rng`` alone, so a seeded generator gives the same warps.

    Parameters
    ----------
    shift : float, default 0.1
        Largest shift as a fraction of the image's width and height (0.1: ±2.8 pixels on
        28×28, ±1.6 on 16×16).
    rotation : float, default 10
        Largest rotation, in degrees.
    scale : float, default 0
        Zoom factors drawn from ``[1 - scale, 1 + scale]``.
    shear : float, default 0
        Largest shear angle, in degrees.
    image_shape : tuple, optional
        ``(C, H, W)`` or ``(H, W)``: needed for flat batches, checked against image batches.
    keep_inside : bool, default True
        Shift each image no further than its blank margins (:func:`blank_margins`): a digit
        with four blank pixels around it moves by up to ``shift`` of the frame, one that fills
        the frame only as far as it has room. Cropping is not a variant of a shape: on the
        8×8 digits, which fill their frame, shifts that pushed a column out lowered N2D's
        accuracy from 0.90 to 0.81-0.84, while kept inside they raised K-means on the codes
        from 0.76 to 0.92.

    Notes
    -----
    Used as ``Sequential.fit(X, X, augment=aug, ...)`` the target of an autoencoder is the
    warped batch itself (it learns to rebuild the moved image, not to undo the move); as
    ``DEC(..., augment=aug)`` the codes of warped images are trained towards the target
    :math:`P` of the plain ones (DEC-DA). Inside ``fit`` it adds about 2.6 ms to a 29 ms step
    of the 784-500-500-2000-10 autoencoder on batches of 256 28×28 images (0.08), 1.0 ms to
    24 ms on 16×16 and 0.7 ms to 23 ms on 8×8; 3.5 ms to the 42 ms step of W0's small
    convolutional autoencoder on 32×32 colour images (0.08; 5.3 ms, 0.13, when the warp ran on
    one thread). Medians of three runs of ``python benchmarks/bench_augment.py``, 2026-12-07,
    Intel Xeon (AVX-512), 2 cores.
    """

    def __init__(self, shift=0.1, rotation=10.0, scale=0.0, shear=0.0, image_shape=None,
                 keep_inside=True):
        # a shift of the whole image, a zoom to nothing or a shear of 90 degrees erase it
        for name, value, ok, expected in (
                ("shift", shift, lambda v: 0 <= v < 1, "0 <= shift < 1"),
                ("rotation", rotation, lambda v: 0 <= v <= 180, "0 <= rotation <= 180"),
                ("scale", scale, lambda v: 0 <= v < 1, "0 <= scale < 1"),
                ("shear", shear, lambda v: 0 <= v < 90, "0 <= shear < 90")):
            if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) \
                    or not ok(value):
                raise ValueError(f"RandomAffine: expected {expected}, got {name}={value!r}")
        self.shift, self.rotation = float(shift), float(rotation)
        self.scale, self.shear = float(scale), float(shear)
        self.image_shape = None if image_shape is None else _as_image_shape(image_shape)
        self.keep_inside = bool(keep_inside)

    def __call__(self, batch, rng):
        shape = self._image_shape(batch)
        images = batch.reshape((len(batch),) + shape)
        room = blank_margins(images) if self.keep_inside else None
        inverse = random_affine_matrices(len(batch), shape[1], shape[2], rng, self.shift,
                                         self.rotation, self.scale, self.shear, room)
        return warp_affine(images, inverse).reshape(batch.shape)

    def _image_shape(self, batch):
        if not isinstance(batch, np.ndarray) or batch.dtype.kind != "f":
            raise ValueError(f"RandomAffine: expected a float batch, got {_describe(batch)}")
        if batch.ndim in (3, 4):            # (N, H, W) or (N, C, H, W)
            shape = _as_image_shape(batch.shape[1:])
            if self.image_shape is not None and shape != self.image_shape:
                raise ValueError(f"RandomAffine: expected images of shape {self.image_shape}, "
                                 f"got a batch {batch.shape}")
            return shape
        if batch.ndim == 2 and self.image_shape is not None \
                and batch.shape[1] == math.prod(self.image_shape):
            return self.image_shape
        raise ValueError(f"RandomAffine: expected images (N, C, H, W), or flat rows (N, "
                         f"C*H*W) with image_shape given (image_shape={self.image_shape}), "
                         f"got a batch {batch.shape}")

    def __repr__(self):
        return (f"RandomAffine(shift={self.shift:g}, rotation={self.rotation:g}, "
                f"scale={self.scale:g}, shear={self.shear:g}, image_shape={self.image_shape}, "
                f"keep_inside={self.keep_inside})")


def _as_image_shape(shape):
    shape = tuple(int(s) for s in shape)
    if len(shape) == 2:
        shape = (1,) + shape
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"RandomAffine: expected image_shape (C, H, W) or (H, W), got {shape}")
    return shape
