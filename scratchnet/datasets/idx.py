r"""Reader for the IDX format of MNIST and Fashion-MNIST (gzip-compressed or plain).

An IDX file is a header followed by the array's bytes::

    bytes 0-1   0x00 0x00
    byte  2     element type: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32,
                0x0E float64 (multi-byte types big-endian)
    byte  3     number of dimensions d
    4 ... 4+4d  d big-endian uint32 dimension sizes
    then        prod(dims) elements, row-major

So MNIST's image files start with the magic number 0x00000803 (uint8, 3 dimensions: N, 28, 28)
and its label files with 0x00000801 (uint8, 1 dimension: N) [1]_. The image size is read from
the header, never assumed: files of 16×16 or 8×8 digits in the same format load as they are.

Nothing here trusts the header blindly: the data length must equal what the header announces,
labels must lie in ``[0, n_classes)``, and images and labels must be equally many.

References
----------
.. [1] LeCun, Y., Cortes, C. & Burges, C. J. C. "The MNIST database of handwritten digits",
   http://yann.lecun.com/exdb/mnist/ (file format section).
"""
import gzip
import zlib
from pathlib import Path

import numpy as np

_DTYPES = {0x08: np.dtype("u1"), 0x09: np.dtype("i1"), 0x0B: np.dtype(">i2"),
           0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
IMAGES_MAGIC = 0x00000803
LABELS_MAGIC = 0x00000801


def _read_bytes(path):
    """The file's bytes, gunzipped when it starts with the gzip signature ``1f 8b``."""
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as exc:
        raise ValueError(f"read_idx: {path}: corrupt or truncated gzip stream ({exc})") from exc


def parse_idx(buf, name="<bytes>"):
    r"""Decode IDX bytes into an array (a read-only view on ``buf``; no copy).

    Parameters
    ----------
    buf : bytes
        The whole (decompressed) file.
    name : str
        Used in error messages.

    Returns
    -------
    ndarray of shape ``dims`` and the header's element type (native byte order for uint8).

    Raises
    ------
    ValueError
        Bad magic, unknown element type, short header, or data length different from the
        header's ``prod(dims) * itemsize``.
    """
    if len(buf) < 4:
        raise ValueError(f"read_idx: {name}: expected at least a 4-byte header, got {len(buf)} "
                         "bytes")
    if buf[0] != 0 or buf[1] != 0 or buf[2] not in _DTYPES:
        magic = int.from_bytes(buf[:4], "big")
        raise ValueError(f"read_idx: {name}: bad magic number 0x{magic:08x}: expected "
                         "0x0000TTDD with type TT in {08, 09, 0B, 0C, 0D, 0E}")
    dtype, ndim = _DTYPES[buf[2]], buf[3]
    header = 4 + 4 * ndim
    if len(buf) < header:
        raise ValueError(f"read_idx: {name}: truncated header: expected {header} bytes for "
                         f"{ndim} dimensions, got {len(buf)}")
    dims = tuple(int(d) for d in np.frombuffer(buf, dtype=">u4", count=ndim, offset=4))
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    actual = len(buf) - header
    if actual != expected:
        what = "truncated" if actual < expected else "longer than its header says"
        raise ValueError(f"read_idx: {name}: file {what}: header {dims} needs {expected} data "
                         f"bytes, found {actual}")
    return np.frombuffer(buf, dtype=dtype, offset=header).reshape(dims)


def read_idx(path, expected_magic=None):
    r"""Read an IDX file (``.gz`` or plain; detected from the content, not the name).

    Parameters
    ----------
    path : str or Path
    expected_magic : int, optional
        If given, the file's first four bytes must equal it (e.g. ``IMAGES_MAGIC``).

    Returns
    -------
    ndarray
        Shape and element type from the header, native byte order, writable (its own memory).
    """
    buf = _read_bytes(path)
    if expected_magic is not None and len(buf) >= 4:
        magic = int.from_bytes(buf[:4], "big")
        if magic != expected_magic:
            raise ValueError(f"read_idx: {path}: expected magic 0x{expected_magic:08x}, got "
                             f"0x{magic:08x}")
    arr = parse_idx(buf, str(path))
    return arr.astype(arr.dtype.newbyteorder("="), copy=True)


def read_idx_images(path):
    """Images of an IDX file with magic 0x00000803: uint8 array (N, 1, H, W) (NCHW).

    H and W are the header's: MNIST's 28×28, or any other size (16×16 digits, 8×8, ...).
    """
    x = read_idx(path, IMAGES_MAGIC)
    return x.reshape(x.shape[0], 1, x.shape[1], x.shape[2])


def read_idx_labels(path, n_classes=10):
    """Labels of an IDX file with magic 0x00000801: int64 array (N,), checked to lie in
    ``[0, n_classes)``."""
    y = read_idx(path, LABELS_MAGIC)
    if y.size and int(y.max()) >= n_classes:
        bad = int(np.argmax(y >= n_classes))
        raise ValueError(f"read_idx_labels: {path}: expected labels in [0, {n_classes}), got "
                         f"{int(y[bad])} at index {bad}")
    return y.astype(np.int64)


def load_idx_pair(images_path, labels_path, n_classes=10):
    r"""Read matching image and label IDX files.

    Returns
    -------
    X : ndarray of uint8, shape (N, 1, H, W), H and W from the file's header
    y : ndarray of int64, shape (N,)

    Raises
    ------
    ValueError
        From the readers, or if the two files hold different numbers of items.
    """
    X = read_idx_images(images_path)
    y = read_idx_labels(labels_path, n_classes)
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"load_idx_pair: {images_path} holds {X.shape[0]} images but "
                         f"{labels_path} holds {y.shape[0]} labels")
    return X, y
