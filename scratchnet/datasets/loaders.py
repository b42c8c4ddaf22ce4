r"""``load_mnist``, ``load_fashion_mnist`` and ``load_cifar10``: find, download, verify, read.

Each loader returns ``(X, y)`` with X uint8 NCHW and y int64, for ``split`` "train", "test"
or "all" (train then test, concatenated).

Trust model
-----------
* A file this module **downloads** is verified against its publisher's md5 before it is given
  its final name (see ``_download``). The md5s below are the published values (MNIST and
  Fashion-MNIST as listed by their publishers and by torchvision's ``mnist.py``; CIFAR-10 from
  https://www.cs.toronto.edu/~kriz/cifar.html).
* A file **found on disk** is not hashed against those values, because legitimate copies
  differ: Debian's ``dataset-fashion-mnist`` recompressed the ``.gz`` files (same images, other
  md5), torchvision stores MNIST unzipped, and CIFAR-10 subsets hold fewer records. Instead its
  *structure* is validated on every read: IDX magic, header against file size, labels in range,
  equal image and label counts; CIFAR size a multiple of 3073 and labels in range.

The mirror lists and md5 tables are module-level so a user (or a test) can point them at another
mirror, e.g. ``scratchnet.datasets.loaders.MNIST_MIRRORS[:] = ["https://my.mirror/mnist/"]``.
"""
from pathlib import Path

import numpy as np

from ._download import download as _download_file
from ._download import safe_extract_tar
from ._paths import ENV_VAR, default_cache_dir, download_root, search_dirs
from .cifar import TEST_FILES, TRAIN_FILES, read_cifar_batches
from .idx import load_idx_pair

MNIST_MIRRORS = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",  # the mirror torchvision uses
    "http://yann.lecun.com/exdb/mnist/",               # the original, often unavailable
]
MNIST_MD5 = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
# Zalando's own bucket (an S3 *website* endpoint: plain http only; the md5 guards the bytes).
FASHION_MNIST_MIRRORS = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"]
FASHION_MNIST_MD5 = {
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
}
FASHION_MNIST_SYSTEM_DIRS = ["/usr/share/datasets/fashion-mnist"]  # Debian dataset-fashion-mnist
FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
CIFAR10_MIRRORS = ["https://www.cs.toronto.edu/~kriz/"]
CIFAR10_ARCHIVE = "cifar-10-binary.tar.gz"
CIFAR10_ARCHIVE_MD5 = "c32a1d4ab5d03f1284b67883e8d87530"

_IDX_NAMES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
              "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
_CIFAR_NAMES = {"train": TRAIN_FILES, "test": TEST_FILES}


def _parts(fn, split):
    if split == "all":
        return ("train", "test")
    if split in ("train", "test"):
        return (split,)
    raise ValueError(f"{fn}: expected split 'train', 'test' or 'all', got {split!r}")


def _resolve_idx(folder, base):
    """``folder/base`` or ``folder/base.gz``, whichever exists (plain first), else None."""
    for name in (base, base + ".gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def _resolve_plain(folder, name):
    return folder / name if (folder / name).is_file() else None


def _locate(dirs, names, resolve):
    """Paths of all ``names`` from the first directory that holds every one of them."""
    for d in dirs:
        paths = [resolve(d, n) for n in names]
        if all(p is not None for p in paths):
            return paths
    return None


def _where_msg(fn, what, files, dirs, put="them"):
    """The 'not found' message: which files, their URLs and md5s, where to put them."""
    lines = [f"{fn}: {what} not found. Needed files, their official URLs and md5s:"]
    lines += [f"  {name}: {' or '.join(urls)} (md5 {md5})" for name, urls, md5 in files]
    lines.append(f"Put {put} in one of these folders, searched in this order:")
    lines += [f"  {d}" for d in dirs]
    lines.append(f"(set {ENV_VAR} or pass data_dir= to choose another folder; default "
                 f"download folder: {default_cache_dir()}), or call {fn}(..., download=True).")
    return "\n".join(lines)


def _fail(exc, message):
    """Re-raise a download error with the full 'where to put the files' message."""
    try:
        new = type(exc)(f"{message}\nThe download failed:\n{exc}")
    except TypeError:
        new = OSError(f"{message}\nThe download failed:\n{exc}")
    raise new from exc


def _load_idx_dataset(fn, split, data_dir, download_ok, mirrors, md5s, subfolders,
                      download_sub, system_dirs=()):
    dirs = search_dirs(data_dir, subfolders, system_dirs, loose_files_ok=False)
    Xs, ys = [], []
    for part in _parts(fn, split):
        names = _IDX_NAMES[part]
        found = _locate(dirs, names, _resolve_idx)
        if found is None:
            files = [(n + ".gz", [m + n + ".gz" for m in mirrors], md5s[n + ".gz"])
                     for n in names]
            message = _where_msg(fn, f"{part!r} split", files, dirs)
            if not download_ok:
                raise FileNotFoundError(message)
            try:
                target = download_root(data_dir) / download_sub
                found = [_download_file(urls, target / name, md5) for name, urls, md5 in files]
            except (OSError, ValueError) as exc:
                _fail(exc, message)
        X, y = load_idx_pair(*found)
        Xs.append(X)
        ys.append(y)
    if len(Xs) == 1:
        return Xs[0], ys[0]
    return np.concatenate(Xs), np.concatenate(ys)


def load_mnist(split="train", data_dir=None, download=True):
    r"""MNIST handwritten digits [1]_: 60,000 train and 10,000 test images, 28x28 grayscale.

    Parameters
    ----------
    split : {"train", "test", "all"}
        "all" is train followed by test (70,000 images).
    data_dir : str or Path, optional
        Searched first, then ``$SCRATCHNET_DATA``, then ``~/.cache/scratchnet``. Each may hold
        the four IDX files (``.gz`` or unzipped) in ``mnist/``, ``MNIST/raw/`` or ``MNIST/``;
        ``data_dir`` may also hold them directly.
    download : bool
        Fetch missing files from ``MNIST_MIRRORS`` (md5-verified) into ``mnist/`` under the
        first writable of ``data_dir``, ``$SCRATCHNET_DATA``, the cache.

    Returns
    -------
    X : ndarray of uint8, shape (N, 1, 28, 28)
        Pixel intensities 0..255 (0 is background), NCHW. The size comes from the files'
        headers: IDX files of other digits in the same format (16×16, 8×8, ...) give
        (N, 1, H, W).
    y : ndarray of int64, shape (N,)
        Digit labels 0..9.

    Raises
    ------
    FileNotFoundError
        Files absent and ``download=False``; the message lists the files, URLs and folders.
    OSError, ValueError
        Download failure or checksum mismatch; corrupt or inconsistent files.

    References
    ----------
    .. [1] LeCun, Y., Bottou, L., Bengio, Y. & Haffner, P. "Gradient-based learning applied to
       document recognition", Proc. IEEE 86(11), 1998.

    Examples
    --------
    >>> X, y = load_mnist("test")                     # doctest: +SKIP
    >>> X.shape, X.dtype, y[:5]                       # doctest: +SKIP
    ((10000, 1, 28, 28), dtype('uint8'), array([7, 2, 1, 0, 4]))
    """
    return _load_idx_dataset("load_mnist", split, data_dir, download, MNIST_MIRRORS, MNIST_MD5,
                             ("mnist", "MNIST/raw", "MNIST"), "mnist")


def load_fashion_mnist(split="train", data_dir=None, download=True):
    r"""Fashion-MNIST [1]_: 60,000 train and 10,000 test 28x28 grayscale images of clothing.

    Same files, format, search and download rules as :func:`load_mnist`, with the sub-folders
    ``fashion-mnist/``, ``FashionMNIST/raw/``, ``FashionMNIST/`` and ``fashion_mnist/``, then
    the Debian package's folder ``/usr/share/datasets/fashion-mnist`` (searched last), and
    downloads from ``FASHION_MNIST_MIRRORS`` into ``fashion-mnist/``.

    Returns
    -------
    X : ndarray of uint8, shape (N, 1, 28, 28)
        (N, 1, H, W) for IDX files of another size, as for :func:`load_mnist`.
    y : ndarray of int64, shape (N,)
        Class index into ``FASHION_MNIST_CLASSES`` (0 "T-shirt/top" ... 9 "Ankle boot");
        every class has 6,000 train and 1,000 test images.

    References
    ----------
    .. [1] Xiao, H., Rasul, K. & Vollgraf, R. "Fashion-MNIST: a novel image dataset for
       benchmarking machine learning algorithms", arXiv:1708.07747, 2017.

    Examples
    --------
    >>> X, y = load_fashion_mnist("all")              # doctest: +SKIP
    >>> X.shape                                       # doctest: +SKIP
    (70000, 1, 28, 28)
    """
    return _load_idx_dataset("load_fashion_mnist", split, data_dir, download,
                             FASHION_MNIST_MIRRORS, FASHION_MNIST_MD5,
                             ("fashion-mnist", "FashionMNIST/raw", "FashionMNIST",
                              "fashion_mnist"), "fashion-mnist", FASHION_MNIST_SYSTEM_DIRS)


def load_cifar10(split="train", data_dir=None, download=True):
    r"""CIFAR-10 [1]_ from its binary version: 50,000 train and 10,000 test 32x32 RGB images.

    Parameters
    ----------
    split : {"train", "test", "all"}
        "train" is ``data_batch_1.bin`` ... ``data_batch_5.bin`` in order, "test" is
        ``test_batch.bin``, "all" is train followed by test.
    data_dir : str or Path, optional
        Searched first, then ``$SCRATCHNET_DATA``, then ``~/.cache/scratchnet``; each may hold
        the ``.bin`` files directly or in ``cifar-10-batches-bin/``.
    download : bool
        If the files are missing, fetch ``cifar-10-binary.tar.gz`` (md5-verified), extract it
        safely into the first writable of ``data_dir``, ``$SCRATCHNET_DATA``, the cache, and
        delete the archive.

    Returns
    -------
    X : ndarray of uint8, shape (N, 3, 32, 32)
        RGB, NCHW.
    y : ndarray of int64, shape (N,)
        Class index into ``CIFAR10_CLASSES`` (0 airplane ... 3 cat ... 9 truck).

    Notes
    -----
    The number of images is read from each file's size (3073 bytes per record), so subsets
    with fewer than 10,000 records per file load as they are.

    References
    ----------
    .. [1] Krizhevsky, A. "Learning Multiple Layers of Features from Tiny Images", 2009.

    Examples
    --------
    >>> X, y = load_cifar10("test")                   # doctest: +SKIP
    >>> X.shape, y[0]                                 # doctest: +SKIP
    ((10000, 3, 32, 32), 3)
    """
    fn = "load_cifar10"
    names = [n for part in _parts(fn, split) for n in _CIFAR_NAMES[part]]
    dirs = search_dirs(data_dir, ("cifar-10-batches-bin",))
    found = _locate(dirs, names, _resolve_plain)
    if found is None:
        files = [(CIFAR10_ARCHIVE, [m + CIFAR10_ARCHIVE for m in CIFAR10_MIRRORS],
                  CIFAR10_ARCHIVE_MD5)]
        message = _where_msg(fn, f"split {split!r} ({', '.join(names)})", files, dirs,
                             put="the .bin files (unpacked from the archive)")
        if not download:
            raise FileNotFoundError(message)
        try:
            root = download_root(data_dir)
            archive = _download_file(files[0][1], root / CIFAR10_ARCHIVE, CIFAR10_ARCHIVE_MD5)
            try:
                safe_extract_tar(archive, root)
            finally:
                Path(archive).unlink(missing_ok=True)
        except (OSError, ValueError) as exc:
            _fail(exc, message)
        found = _locate([root / "cifar-10-batches-bin"], names, _resolve_plain)
        if found is None:
            raise ValueError(f"{fn}: {CIFAR10_ARCHIVE} passed its checksum but did not contain "
                             f"cifar-10-batches-bin/ with {', '.join(names)}")
    return read_cifar_batches(found)
