"""How far each image can be moved without cutting its content: the blank margins around it.

:class:`scratchnet.augment.RandomAffine` keeps each random shift within them, so a shape that
fills its frame moves only as far as it has room. A pixel is *content* when it is above a
fraction of its image's largest value; :func:`blank_margins_reference` is the definition in
whole-array NumPy, :func:`blank_margins` the same scan written out in a Numba kernel.
"""
import numpy as np
from numba import njit

__all__ = ["blank_margins", "blank_margins_reference"]


def blank_margins_reference(images, threshold=0.1):
    """:func:`blank_margins` in whole-array NumPy: the definition the kernel is tested against."""
    a = np.abs(images).max(axis=1)                                   # (N, H, W)
    peak = a.reshape(len(a), -1).max(axis=1)
    content = a > threshold * peak[:, None, None]
    cols, rows = content.any(axis=1), content.any(axis=2)           # (N, W), (N, H)
    some = cols.any(axis=1)
    room = np.stack([cols.argmax(axis=1), cols[:, ::-1].argmax(axis=1),
                     rows.argmax(axis=1), rows[:, ::-1].argmax(axis=1)], axis=1)
    return np.where(some[:, None], room, 0).astype(np.float64)


def blank_margins(images, threshold=0.1):
    """How far each image can move its content without pushing any of it out of the frame.

    A pixel is *content* when it is above ``threshold`` times the image's largest value (all
    channels together); the margins are the blank columns left and right of the content and
    the blank rows above and below it.

    Parameters
    ----------
    images : ndarray (N, C, H, W)
    threshold : float

    Returns
    -------
    ndarray (N, 4) float64
        Blank pixels on the left, right, top and bottom of each image (all 0 for a blank image).

    Examples
    --------
    >>> img = np.zeros((1, 1, 5, 6)); img[0, 0, 1:3, 2] = 1
    >>> blank_margins(img)
    array([[2., 3., 1., 2.]])
    """
    if not isinstance(images, np.ndarray) or images.ndim != 4 or images.dtype.kind != "f":
        raise ValueError(f"blank_margins: expected float images (N, C, H, W), got "
                         f"{_describe(images)}")
    room = np.empty((len(images), 4))
    _blank_margins_kernel(np.ascontiguousarray(images), float(threshold), room)
    return room


@njit(cache=True, nogil=True)
def _blank_margins_kernel(images, threshold, room):
    """images (N, C, H, W) IN; room (N, 4) OUT: per image, the peak of |pixel| over all
    channels, then the first and last content column and row found by scanning the
    per-pixel maximum over channels (``a`` below) from each side."""
    n_images, n_channels, h, w = images.shape
    a = np.empty((h, w))
    for n in range(n_images):
        a[:] = 0.0
        for c in range(n_channels):
            for i in range(h):
                for j in range(w):
                    a[i, j] = max(a[i, j], abs(images[n, c, i, j]))
        limit = threshold * a.max()
        left, right, top, bottom = w, -1, h, -1
        for i in range(h):
            for j in range(w):
                if a[i, j] > limit:
                    left, right = min(left, j), max(right, j)
                    top, bottom = min(top, i), max(bottom, i)
        if right < 0:                      # no content: nowhere to move
            room[n, 0] = room[n, 1] = room[n, 2] = room[n, 3] = 0.0
        else:
            room[n, 0], room[n, 1] = left, w - 1 - right
            room[n, 2], room[n, 3] = top, h - 1 - bottom


def _describe(a):
    if isinstance(a, np.ndarray):
        return f"an array {a.shape} {a.dtype}"
    return type(a).__name__
