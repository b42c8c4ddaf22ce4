"""Tiny labelled image sets written in the official file formats, so that the examples and the
command line can be run end to end on image sizes the real data does not have (8×8, 16×16,
10×10, ...) in a few seconds.

The IDX bytes are written here from the format's definition (LeCun et al.'s MNIST page), not
with the package's own code: magic 0x00000803 for images and 0x00000801 for labels, then the
dimensions as big-endian 32-bit integers, then the uint8 data, gzip-compressed.
"""
import gzip
import struct

import numpy as np

IDX_NAMES = {"train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
             "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}


def blocky_images(n, shape, seed=0):
    """``n`` uint8 images of ``shape`` (C, H, W) in 10 classes: class ``c`` has a bright
    block at its own place (one of 2 × 5 cells), over dim noise. Labels int64 (n,), every
    class present once ``n >= 10``."""
    rng = np.random.default_rng(seed)
    c, h, w = shape
    y = rng.permutation(np.arange(n) % 10)
    X = rng.integers(0, 60, size=(n, c, h, w)).astype(np.uint8)
    bh, bw = max(1, h // 2), max(1, w // 5)
    for i, label in enumerate(y):
        top, left = (label // 5) * (h - bh), (label % 5) * ((w - bw) // 4)
        X[i, :, top:top + bh, left:left + bw] = rng.integers(180, 256)
    return X, y.astype(np.int64)


def write_idx_split(folder, n, height, width, split="test", seed=0):
    """Write MNIST-style gzipped IDX image and label files of ``split`` into ``folder``;
    returns ``(X, y)``, X (n, 1, height, width) as written."""
    X, y = blocky_images(n, (1, height, width), seed)
    folder.mkdir(parents=True, exist_ok=True)
    images, labels = IDX_NAMES[split]
    header = struct.pack(">IIII", 0x00000803, n, height, width)
    (folder / images).write_bytes(gzip.compress(header + X.tobytes()))
    (folder / labels).write_bytes(gzip.compress(struct.pack(">II", 0x00000801, n)
                                                + y.astype(np.uint8).tobytes()))
    return X, y


def write_cifar_test_batch(folder, n, seed=0):
    """Write ``test_batch.bin`` of ``n`` 3×32×32 records (label byte, then the 3072 CHW pixel
    bytes) into ``folder/cifar-10-batches-bin``; returns ``(X, y)``."""
    X, y = blocky_images(n, (3, 32, 32), seed)
    sub = folder / "cifar-10-batches-bin"
    sub.mkdir(parents=True, exist_ok=True)
    records = np.concatenate([y.astype(np.uint8)[:, None], X.reshape(n, -1)], axis=1)
    (sub / "test_batch.bin").write_bytes(records.tobytes())
    return X, y
