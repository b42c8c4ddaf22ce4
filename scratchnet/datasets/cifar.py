r"""Reader for CIFAR-10's *binary* version (``cifar-10-batches-bin/*.bin``), never pickle.

Each file is a sequence of 3073-byte records [1]_::

    byte 0         label, 0..9
    bytes 1-1024   red   channel, 32x32, row-major
    bytes 1025-2048 green channel
    bytes 2049-3072 blue  channel

which is exactly one NCHW image after the label byte, so a whole file is read with one
``np.frombuffer`` and a reshape to (n, 3073). The record count comes from the file size; the
official files hold 10,000 records each, but subsets (like the project's test data) hold fewer,
so a size that is not a positive multiple of 3073 is the only thing rejected.

References
----------
.. [1] Krizhevsky, A. "Learning Multiple Layers of Features from Tiny Images", tech. report,
   University of Toronto, 2009; https://www.cs.toronto.edu/~kriz/cifar.html
"""
from pathlib import Path

import numpy as np

RECORD_BYTES = 1 + 3 * 32 * 32
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck")
TRAIN_FILES = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
TEST_FILES = ("test_batch.bin",)


def parse_cifar_records(buf, name="<bytes>", n_classes=10):
    r"""Decode CIFAR-10 binary records.

    Parameters
    ----------
    buf : bytes
        A whole batch file.
    name : str
        Used in error messages.
    n_classes : int
        Labels must lie in ``[0, n_classes)``.

    Returns
    -------
    X : ndarray of uint8, shape (n, 3, 32, 32), n = len(buf) / 3073
    y : ndarray of int64, shape (n,)

    Raises
    ------
    ValueError
        Size not a positive multiple of 3073, or a label out of range.
    """
    size = len(buf)
    if size == 0 or size % RECORD_BYTES:
        raise ValueError(f"read_cifar_batch: {name}: expected a size that is a positive multiple "
                         f"of {RECORD_BYTES} bytes (label + 3x32x32 pixels), got {size} bytes "
                         f"({size // RECORD_BYTES} records + {size % RECORD_BYTES} bytes)")
    records = np.frombuffer(buf, dtype=np.uint8).reshape(-1, RECORD_BYTES)
    y = records[:, 0].astype(np.int64)
    if int(y.max()) >= n_classes:
        bad = int(np.argmax(y >= n_classes))
        raise ValueError(f"read_cifar_batch: {name}: expected labels in [0, {n_classes}), got "
                         f"{int(y[bad])} in record {bad}")
    X = records[:, 1:].reshape(-1, 3, 32, 32).copy()  # own, writable memory
    return X, y


def read_cifar_batch(path):
    """Read one ``*.bin`` batch file; see :func:`parse_cifar_records`."""
    path = Path(path)
    return parse_cifar_records(path.read_bytes(), str(path))


def read_cifar_batches(paths):
    """Read several batch files and concatenate them in the given order."""
    parts = [read_cifar_batch(p) for p in paths]
    if len(parts) == 1:
        return parts[0]
    return (np.concatenate([x for x, _ in parts]), np.concatenate([y for _, y in parts]))
