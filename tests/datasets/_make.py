"""Small generated files for the dataset tests: IDX, CIFAR records, tar archives."""
import gzip
import hashlib
import io
import tarfile

import numpy as np


def idx_bytes(arr, type_code=0x08):
    """IDX encoding of ``arr`` (header: 0, 0, type code, ndim, big-endian dims)."""
    dtype = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    header = bytes([0, 0, type_code, arr.ndim]) + np.asarray(arr.shape, ">u4").tobytes()
    return header + np.ascontiguousarray(arr, dtype=dtype[type_code]).tobytes()


def random_mnist(rng, n, h=28, w=28):
    """n random uint8 images (n, h, w) and labels in 0..9."""
    return (rng.integers(0, 256, size=(n, h, w), dtype=np.uint8),
            rng.integers(0, 10, size=n).astype(np.uint8))


def write_idx_set(folder, rng, parts=("train", "test"), n=(7, 3), gz=True):
    """Write MNIST-style IDX files for ``parts`` into ``folder``; return {part: (X, y)}."""
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for part, count in zip(parts, n):
        prefix = "train" if part == "train" else "t10k"
        X, y = random_mnist(rng, count)
        for name, arr in ((f"{prefix}-images-idx3-ubyte", X), (f"{prefix}-labels-idx1-ubyte", y)):
            data = idx_bytes(arr)
            if gz:
                (folder / (name + ".gz")).write_bytes(gzip.compress(data))
            else:
                (folder / name).write_bytes(data)
        out[part] = (X, y)
    return out


def cifar_bytes(X, y):
    """CIFAR-10 binary records: label byte then the 3072 CHW pixel bytes."""
    X = np.asarray(X, np.uint8).reshape(len(y), -1)
    return np.concatenate([np.asarray(y, np.uint8)[:, None], X], axis=1).tobytes()


def random_cifar(rng, n):
    return (rng.integers(0, 256, size=(n, 3, 32, 32), dtype=np.uint8),
            rng.integers(0, 10, size=n))


def tar_gz_bytes(members):
    """A .tar.gz holding ``members``: a list of (name, bytes) or tarfile.TarInfo objects."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for m in members:
            if isinstance(m, tarfile.TarInfo):
                tar.addfile(m)
            else:
                name, data = m
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def md5(data):
    return hashlib.md5(data).hexdigest()
