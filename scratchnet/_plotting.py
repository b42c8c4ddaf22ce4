"""The scaffolding under :mod:`scratchnet.plot`'s figures: saving a figure atomically, checking
images and labels at a figure's entry, drawing one image in a cell. Kept apart so that
``plot.py`` reads as the figures themselves."""
import os

import numpy as np

from ._io import atomic_write


def _save(fig, path):
    """Save ``fig`` to ``path`` atomically (:func:`scratchnet._io.atomic_write`: a temporary
    file beside it, then a rename, so a reader never sees half a PNG); return ``fig``."""
    if path is None:
        return fig
    path = os.fspath(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fmt = os.path.splitext(path)[1][1:].lower() or "png"
    atomic_write(path, lambda fh: fig.savefig(fh, format=fmt), fsync=False)
    return fig


def _check_images(images, func, name="images"):
    """Validate NCHW images (C in {1, 3}, integer or float) with errors naming ``func``.

    Conversion happens per image in ``_show``: a contact sheet of 50,000 CIFAR images must not
    make a float64 copy of all of them.
    """
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"{func}: expected {name} (N, C, H, W) with C in {{1, 3}}, "
                         f"got {images.shape}")
    if images.dtype.kind not in "iuf":
        raise TypeError(f"{func}: expected integer (0..255) or float (0..1) {name}, "
                        f"got dtype {images.dtype}")
    return images


def _show(ax, image):
    """Draw one CHW image (integer 0..255 or float 0..1) as HWC, without ticks or spines."""
    image = image / 255.0 if image.dtype.kind in "iu" else np.clip(image, 0.0, 1.0)
    image = image.transpose(1, 2, 0)
    if image.shape[2] == 1:
        ax.imshow(image[:, :, 0], cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
    else:
        ax.imshow(image, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])  # rather than axis("off"), so that a ylabel can still label a row
    for spine in ax.spines.values():
        spine.set_visible(False)


def _labels_1d(labels, n, func, name="labels"):
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.shape[0] != n:
        raise ValueError(f"{func}: expected {name} of shape ({n},), got {labels.shape}")
    return labels
