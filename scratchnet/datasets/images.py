r"""Small image helpers: scale to [0, 1], convert to grayscale, flatten, read a folder of images.

All of them take and return NCHW arrays (``flatten`` returns (N, C*H*W)).
"""
import os
import warnings
from pathlib import Path

import numpy as np

# ITU-R BT.601 luma weights (R, G, B); they sum to 1, so white stays white.
BT601 = (0.299, 0.587, 0.114)
# What Pillow reads out of the box; a folder of photos holds more than PNG and JPEG.
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")


def _check_nchw(fn, X):
    if not isinstance(X, np.ndarray):
        raise TypeError(f"{fn}: expected an ndarray, got {type(X).__name__}")
    if X.ndim != 4:
        raise ValueError(f"{fn}: expected images (N, C, H, W), got shape {X.shape}")


def to_float32(X):
    r"""Scale uint8 images to float32 in [0, 1]: :math:`x / 255`.

    Parameters
    ----------
    X : ndarray of uint8, any shape (typically (N, C, H, W))

    Returns
    -------
    ndarray of float32, same shape, values in [0, 1].

    Raises
    ------
    TypeError
        If X is not a uint8 array (scaling float data again by 1/255 would silently shrink it).

    Examples
    --------
    >>> to_float32(np.array([0, 51, 255], dtype=np.uint8))
    array([0. , 0.2, 1. ], dtype=float32)
    """
    if not isinstance(X, np.ndarray) or X.dtype != np.uint8:
        got = X.dtype if isinstance(X, np.ndarray) else type(X).__name__
        raise TypeError(f"to_float32: expected a uint8 array, got {got}")
    out = X.astype(np.float32)
    out /= np.float32(255.0)
    return out


def to_grayscale(X):
    r"""ITU-R BT.601 luma of RGB images, keeping a channel axis of 1.

    .. math:: Y = 0.299\,R + 0.587\,G + 0.114\,B

    Parameters
    ----------
    X : ndarray, shape (N, 3, H, W) or (N, 1, H, W), dtype uint8 or floating

    Returns
    -------
    ndarray, shape (N, 1, H, W)
        * float input: the same float dtype (float32 in, float32 out), no rounding;
        * uint8 input: uint8, the luma rounded to the nearest integer (computed in float32),
          so the result is still an image that :func:`to_float32` accepts.

        An input that already has one channel is returned as a copy.

    Notes
    -----
    These are the weights Pillow's ``convert("L")`` and OpenCV's ``COLOR_RGB2GRAY`` use, so a
    folder read with ``load_image_folder(..., grayscale=True)`` matches this function to
    within one grey level (Pillow rounds in fixed point).

    Examples
    --------
    >>> X = np.zeros((1, 3, 1, 2), dtype=np.uint8); X[0, :, 0, 1] = (255, 255, 255)
    >>> to_grayscale(X)[0, 0]
    array([[  0, 255]], dtype=uint8)
    """
    _check_nchw("to_grayscale", X)
    if X.shape[1] == 1:
        return X.copy()
    if X.shape[1] != 3:
        raise ValueError(f"to_grayscale: expected (N, 3, H, W) RGB images, got shape {X.shape}")
    if np.issubdtype(X.dtype, np.floating):
        w = np.asarray(BT601, dtype=X.dtype)
        return np.einsum("nchw,c->nhw", X, w)[:, None]
    if X.dtype != np.uint8:
        raise TypeError(f"to_grayscale: expected uint8 or float images, got {X.dtype}")
    w = np.asarray(BT601, dtype=np.float32)
    luma = np.einsum("nchw,c->nhw", X.astype(np.float32), w)[:, None]
    return np.clip(np.rint(luma), 0, 255).astype(np.uint8)


def flatten(X):
    r"""Images (N, C, H, W) (or any (N, ...)) to rows (N, C*H*W), channel-major.

    A view when X is contiguous, a copy otherwise; the dtype is kept.
    """
    if not isinstance(X, np.ndarray):
        raise TypeError(f"flatten: expected an ndarray, got {type(X).__name__}")
    if X.ndim < 2:
        raise ValueError(f"flatten: expected (N, ...) with at least 2 dimensions, got shape "
                         f"{X.shape}")
    return X.reshape(X.shape[0], -1)


def find_image_files(path, extensions=IMAGE_EXTENSIONS, exclude=()):
    r"""The image files under a folder, sub-folders included; the other files; the folders
    left out, each with the reason.

    A folder of photos is rarely flat (``2023/``, ``holiday/``, a camera's ``DCIM/100CANON``),
    and a reader that silently ignored its sub-folders would cluster a fraction of the
    photos without a word. So the whole tree is walked, through symbolic links to folders
    too (a library of links is a common way to gather photos), and nothing is left out
    without a reason the caller can print:

    * hidden files and folders (names starting with ``"."``: ``.git``, ``.thumbnails``,
      macOS's ``._photo.jpg`` companions) are not part of anyone's photo collection, and are
      skipped silently;
    * a folder reached a second time (a link back to a parent, two links to one folder) is
      read once: a cycle of links would otherwise never end;
    * the folders in ``exclude`` (a run's ``--out`` inside the folder it clusters) and any
      folder holding a ``metrics.json`` (the output of an earlier run, its figures and
      contact sheets) are this library's own output, not the user's images.

    Parameters
    ----------
    path : str or Path
        A folder.
    extensions : tuple of str
        File-name endings that count as images (compared case-insensitively).
    exclude : iterable of str or Path
        Folders not to read.

    Returns
    -------
    files : list of Path
        Sorted by their path relative to ``path``, so the order does not depend on the file
        system.
    skipped : int
        Files (not hidden) whose names end in none of ``extensions``: the caller can say how
        many there were.
    left_out : list of (Path, str)
        Each folder not read, and why.
    """
    folder = Path(path)
    exts = tuple(e.lower() for e in extensions)
    excluded = {_identity(Path(e)) for e in exclude if Path(e).is_dir()}
    files, skipped, left_out, seen = [], 0, [], set()
    for top, dirs, names in os.walk(folder, followlinks=True):
        here = Path(top)
        ident = _identity(here)
        reason = None
        if ident in seen:
            reason = "a link to a folder already read"
        elif ident in excluded:
            reason = "the output folder of this run"
        elif here != folder and "metrics.json" in names:
            reason = "holds a run's metrics.json: an earlier run's output"
        if reason:
            left_out.append((here, reason))
            dirs[:] = []
            continue
        seen.add(ident)
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in names:
            f = here / name
            if name.startswith(".") or not f.is_file():
                continue
            if f.suffix.lower() in exts:
                files.append(f)
            else:
                skipped += 1
    return sorted(files), skipped, sorted(left_out)


def _identity(folder):
    """(device, inode) of a folder, through links: the same folder however it is reached."""
    st = folder.stat()
    return st.st_dev, st.st_ino


def _read_image(f, mode, height, width):
    r"""One file as a uint8 (H, W) or (H, W, 3) array, upright and resized.

    Three things a camera or a scanner does that a plain ``convert`` gets wrong:

    * EXIF orientation: phones store a portrait photo as landscape pixels plus a tag saying
      "rotate by 90°"; ``ImageOps.exif_transpose`` applies it, as every photo viewer does.
    * 16-bit grey (``I;16`` or ``I`` mode, from 16-bit PNGs and TIFFs): ``convert("L")``
      clips every value above 255 to white, so a whole image saturates. Scaling by the bit
      depth, :math:`v \cdot 255 / (2^{16} - 1)`, keeps its tones. An ``I`` image whose
      values exceed 16 bits is scaled by :math:`2^{32} - 1` instead.
    * 32-bit float grey (``F`` mode, scientific TIFFs): ``convert("L")`` truncates each
      value to an integer, so an image in [0, 1] comes out black. Values in [0, 1] are
      scaled by 255; any other range is stretched from its own minimum to its maximum, with
      a warning naming the file (NaN and infinities count as 0).
    * Palettes, alpha and CMYK are left to ``convert`` (alpha is dropped, palettes expanded).
    """
    from PIL import Image, ImageOps

    with Image.open(f) as im:
        im = ImageOps.exif_transpose(im)
        if im.mode == "F":
            a = np.nan_to_num(np.asarray(im, dtype=np.float64), nan=0.0, posinf=0.0,
                              neginf=0.0)
            lo, hi = float(a.min(initial=0.0)), float(a.max(initial=0.0))
            if lo < 0 or hi > 1:
                warnings.warn(f"{f}: a 32-bit float image with values in [{lo:g}, {hi:g}], "
                              f"not [0, 1]: stretched from its own range to 0-255",
                              UserWarning, stacklevel=3)
                a = (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)
            im = Image.fromarray(np.clip(np.rint(a * 255.0), 0, 255).astype(np.uint8))
        if im.mode.startswith("I;16") or im.mode == "I":
            a = np.asarray(im).astype(np.float64)
            depth = 16 if im.mode != "I" or a.max(initial=0) <= 65535 else 32
            grey = np.clip(np.rint(a * (255.0 / (2.0 ** depth - 1))), 0, 255).astype(np.uint8)
            im = Image.fromarray(grey)
        im = im.convert(mode).resize((width, height), Image.Resampling.BILINEAR)
        return np.asarray(im, dtype=np.uint8)


def load_image_folder(path, size=(32, 32), grayscale=False, extensions=IMAGE_EXTENSIONS,
                      exclude=()):
    r"""Read a folder of the user's own images (sub-folders included) into one NCHW uint8 array.

    Parameters
    ----------
    path : str or Path
        A folder; every file under it (sub-folders too, hidden ones excepted: see
        :func:`find_image_files`) whose name ends in one of ``extensions``
        (case-insensitive) is read, sorted by relative path. Other files are ignored.
    size : (int, int)
        Output (height, width). Each image is turned upright by its EXIF orientation, then
        resized to it with Pillow's bilinear filter (antialiased when shrinking); the aspect
        ratio is not kept.
    grayscale : bool
        Convert to one channel with Pillow's ``"L"`` mode (ITU-R BT.601 luma, as
        :func:`to_grayscale`); otherwise RGB (an alpha channel is dropped, palettes expanded).
        16-bit grey images are scaled by their bit depth first, never clipped.
    extensions : tuple of str
        Default: ``.png .jpg .jpeg .bmp .gif .webp .tif .tiff`` (a GIF gives its first frame;
        a ``.webp`` needs a Pillow built with WebP, as the wheels are, and is reported as
        unreadable otherwise).
    exclude : iterable of str or Path
        Folders not to read (see :func:`find_image_files`, which also says which folders it
        left out and why).

    Returns
    -------
    X : ndarray of uint8, shape (N, 3 or 1, height, width)
    paths : list of str
        ``paths[i]`` is the file ``X[i]`` came from.

    Warns
    -----
    UserWarning
        Naming every file that could not be decoded; those files are skipped. That includes
        a "decompression bomb" (a few bytes whose header claims, say, 100000 × 100000
        pixels): Pillow refuses it with ``DecompressionBombError`` before allocating, and one
        hostile file must not end a run over a thousand good ones.

    Raises
    ------
    FileNotFoundError
        If ``path`` is not a folder.
    ValueError
        If it holds no image file that could be read, or ``size`` is not two positive ints.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise FileNotFoundError(f"load_image_folder: {folder} is not a folder")
    if (len(size) != 2 or not all(isinstance(s, (int, np.integer)) and s > 0 for s in size)):
        raise ValueError(f"load_image_folder: expected size (height, width) of positive ints, "
                         f"got {size!r}")
    height, width = int(size[0]), int(size[1])
    exts = tuple(e.lower() for e in extensions)
    files, _, _ = find_image_files(folder, exts, exclude)
    mode = "L" if grayscale else "RGB"
    images, paths, bad = [], [], []
    for f in files:
        try:
            arr = _read_image(f, mode, height, width)
        except Exception as exc:  # noqa: BLE001
            # Pillow's decoders answer a damaged or hostile file with many exception types
            # (OSError, SyntaxError, struct.error, DecompressionBombError, ...); whichever it
            # is, the file is at fault, not the run: name it and go on.
            bad.append(f"{f.relative_to(folder)} ({type(exc).__name__}: {exc})")
            continue
        images.append(arr[None] if grayscale else arr.transpose(2, 0, 1))
        paths.append(str(f))
    if bad:
        warnings.warn(f"load_image_folder: skipped {len(bad)} unreadable file(s) in {folder}: "
                      + "; ".join(bad), UserWarning, stacklevel=2)
    if not images:
        raise ValueError(f"load_image_folder: no readable {'/'.join(exts)} image in {folder}"
                         + (f" ({len(bad)} unreadable)" if bad else ""))
    return np.stack(images), paths
