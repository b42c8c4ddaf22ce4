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
labels must lie in ``[0, n_classes)``, and images and labels must be equally many. Nor the
file: it is streamed, header first, and never inflated past one byte beyond the data the
header declares, so a small ``.gz`` that would inflate to gigabytes costs no more memory than
its header's array (see :func:`read_idx`).

References
----------
.. [1] LeCun, Y., Cortes, C. & Burges, C. J. C. "The MNIST database of handwritten digits",
   http://yann.lecun.com/exdb/mnist/ (file format section).
"""
import gzip
import math
import zlib
from pathlib import Path

import numpy as np

_DTYPES = {0x08: np.dtype("u1"), 0x09: np.dtype("i1"), 0x0B: np.dtype(">i2"),
           0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
IMAGES_MAGIC = 0x00000803
LABELS_MAGIC = 0x00000801
# Deflate never compresses better than 1032:1 (a 258-byte match costs at least 2 bits), so a
# gzip file of s bytes cannot inflate to more than 1032 * s; a header announcing more is a lie
# we can refuse before allocating anything. See https://zlib.net/zlib_tech.html.
_DEFLATE_MAX_RATIO = 1032
_CHUNK = 1 << 20  # inflate at most this much at a time, so the peak is the array plus 1 MiB


def _check_magic(head, name, expected_magic=None):
    """The element type and number of dimensions of a 4-byte IDX magic, checked."""
    if len(head) < 4:
        raise ValueError(f"read_idx: {name}: expected at least a 4-byte header, got {len(head)} "
                         "bytes")
    magic = int.from_bytes(head[:4], "big")
    if expected_magic is not None and magic != expected_magic:
        raise ValueError(f"read_idx: {name}: expected magic 0x{expected_magic:08x}, got "
                         f"0x{magic:08x}")
    if head[0] != 0 or head[1] != 0 or head[2] not in _DTYPES:
        raise ValueError(f"read_idx: {name}: bad magic number 0x{magic:08x}: expected "
                         "0x0000TTDD with type TT in {08, 09, 0B, 0C, 0D, 0E}")
    return _DTYPES[head[2]], head[3]


def _dims(buf, ndim, name):
    """The ``ndim`` big-endian uint32 sizes that follow the magic (``buf`` holds just them)."""
    if len(buf) < 4 * ndim:
        raise ValueError(f"read_idx: {name}: truncated header: expected {4 + 4 * ndim} bytes for "
                         f"{ndim} dimensions, got {4 + len(buf)}")
    return tuple(int(d) for d in np.frombuffer(buf, dtype=">u4", count=ndim))


def _size_error(name, dims, expected, found):
    what = "truncated" if found < expected else "longer than its header says"
    return ValueError(f"read_idx: {name}: file {what}: header {dims} needs {expected} data "
                      f"bytes, found {found}")


def parse_idx(buf, name="<bytes>"):
    r"""Decode IDX bytes already in memory into an array (a read-only view on ``buf``).

    :func:`read_idx` does not use this: it streams the file so that it never holds more than
    the header announces (see its Notes). This is for bytes that are already in memory.

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
    dtype, ndim = _check_magic(buf[:4], name)
    dims = _dims(buf[4:4 + 4 * ndim], ndim, name)
    header = 4 + 4 * ndim
    expected = math.prod(dims) * dtype.itemsize  # Python ints: no overflow
    if len(buf) - header != expected:
        raise _size_error(name, dims, expected, len(buf) - header)
    return np.frombuffer(buf, dtype=dtype, offset=header).reshape(dims)


def _read_into(f, out):
    """Fill the uint8 array ``out`` from ``f`` in ``_CHUNK`` pieces; return the bytes read.

    One ``f.read(len(out))`` on a gzip stream would build the whole result as a bytes object
    and then copy it: twice the memory. Chunks keep the extra to one ``_CHUNK``.
    """
    view, got = memoryview(out), 0
    while got < len(out):
        block = f.read(min(_CHUNK, len(out) - got))
        if not block:
            break
        view[got:got + len(block)] = block
        got += len(block)
    return got


def _read_stream(f, name, size_on_disk, gz, expected_magic):
    """Header, then exactly the data it declares, then one probe byte for trailing data."""
    dtype, ndim = _check_magic(f.read(4), name, expected_magic)
    dims = _dims(f.read(4 * ndim), ndim, name)
    expected = math.prod(dims) * dtype.itemsize  # Python ints: no overflow
    if gz and expected > _DEFLATE_MAX_RATIO * size_on_disk:
        raise ValueError(f"read_idx: {name}: file truncated: header {dims} needs {expected} data "
                         f"bytes, more than a {size_on_disk}-byte gzip file can hold (deflate "
                         f"inflates at most {_DEFLATE_MAX_RATIO}:1)")
    if not gz and expected != size_on_disk - 4 - 4 * ndim:
        raise _size_error(name, dims, expected, size_on_disk - 4 - 4 * ndim)
    out = np.empty(expected, dtype=np.uint8)
    got = _read_into(f, out)
    if got < expected:
        raise _size_error(name, dims, expected, got)
    if f.read(1):  # one byte is enough to know there is more; never inflate the rest
        raise ValueError(f"read_idx: {name}: file longer than its header says: header {dims} "
                         f"needs {expected} data bytes, and more follow")
    arr = out.view(dtype).reshape(dims)
    return arr if arr.dtype.isnative else arr.astype(arr.dtype.newbyteorder("="))


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

    Raises
    ------
    ValueError
        Bad magic, short header, data shorter or longer than the header declares, or a
        corrupt or truncated gzip stream; the message names the file.

    Notes
    -----
    The file is read as a stream, in the order a careful reader would: the header first, then
    exactly the ``prod(dims) * itemsize`` bytes it declares into an array allocated once, then
    a single byte more to detect trailing data. A ``.gz`` holding a valid header and a gigabyte
    of zeros is refused after inflating one byte past the declared data, not after inflating the
    gigabyte (a "zip bomb"); peak memory is the declared array plus a 1 MiB chunk. A header that
    declares more than the file can possibly hold (its size on disk, or 1032 times it for gzip,
    deflate's best ratio) is refused before anything is allocated. The gzip CRC is checked when
    the stream ends, which the final probe reaches.
    """
    path = Path(path)
    name = str(path)
    size_on_disk = path.stat().st_size
    with open(path, "rb") as raw:
        gz = raw.read(2) == b"\x1f\x8b"
        raw.seek(0)
        if not gz:
            return _read_stream(raw, name, size_on_disk, False, expected_magic)
        try:
            with gzip.GzipFile(fileobj=raw, mode="rb") as f:
                return _read_stream(f, name, size_on_disk, True, expected_magic)
        except (EOFError, OSError, zlib.error) as exc:
            raise ValueError(f"read_idx: {path}: corrupt or truncated gzip stream ({exc})") \
                from None


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
