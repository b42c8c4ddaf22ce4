r"""``load_mnist``, ``load_fashion_mnist`` and ``load_cifar10``: find, download, verify, read.

Each loader returns ``(X, y)`` with X uint8 NCHW and y int64, for ``split`` "train", "test"
or "all" (train then test, concatenated).

Trust model
-----------
* A file this module **downloads** is verified against its publisher's md5 before it is given
  its final name (see ``_download``), and its md5 is recorded beside it in ``.scratchnet-md5``.
  The md5s below are the published values (MNIST and Fashion-MNIST as listed by their
  publishers and by torchvision's ``mnist.py``; CIFAR-10 from
  https://www.cs.toronto.edu/~kriz/cifar.html).
* Such a file, **found again later**, is hashed once per process (and again only if its size or
  time stamp change) against that record, and a file in the download cache
  ``~/.cache/scratchnet`` without a record against the published md5: a cached copy that was
  corrupted, truncated, or replaced since it was verified is refused (``ChecksumError``), with
  the advice to delete it so that it is downloaded again.
* A file **the user put there** (no record, outside the cache: a ``data_dir``,
  ``$SCRATCHNET_DATA``, Debian's folder) is *not* held to the published md5, because legitimate
  copies differ: Debian's ``dataset-fashion-mnist`` recompressed the ``.gz`` files (same images,
  other md5), torchvision stores MNIST unzipped, and subsets such as ``mnist-test-5k`` keep the
  official names for fewer images. Its *structure* is validated on every read instead: IDX
  magic, header against data length, labels in range, equal image and label counts; CIFAR size
  a multiple of 3073 and labels in range.

When the files are nowhere and cannot be downloaded, the loaders raise one
``DatasetNotFoundError`` (a ``FileNotFoundError``) whose message says which files were looked
for where, why the download failed, and what to do, without a chained traceback.

The mirror lists and md5 tables are module-level so a user (or a test) can point them at another
mirror, e.g. ``scratchnet.datasets.loaders.MNIST_MIRRORS[:] = ["https://my.mirror/mnist/"]``.
"""
import stat
from pathlib import Path

import numpy as np

from ._download import ChecksumError, md5sum, missing_dirs, read_md5_record, record_md5
from ._download import download as _download_file
from ._download import remove_empty_dirs, safe_extract_tar
from ._messages import DatasetNotFoundError, _check_data_dir, _download_failed, _not_found
from ._paths import default_cache_dir, download_root, search_dirs
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
        if _file_or_none(folder / name) is not None:
            return folder / name
    return None


def _resolve_plain(folder, name):
    return _file_or_none(folder / name)


def _file_or_none(path):
    """``path`` if it is a file (or a link to one), None if nothing is there; an entry of the
    dataset's name that is something else (a folder, a named pipe, a socket, a device) is an
    error naming it: looking past it, or downloading, would only hide the user's mistake."""
    try:
        mode = path.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        return None
    if stat.S_ISREG(mode):
        return path
    kind = ("a folder" if stat.S_ISDIR(mode) else "a named pipe (FIFO)" if stat.S_ISFIFO(mode)
            else "a socket" if stat.S_ISSOCK(mode) else "a device")
    raise DatasetNotFoundError(f"{path} is {kind}, not a file: expected the dataset's file "
                               f"itself under that name (move it aside, or pass another "
                               f"data folder: --data-dir DIR, data_dir=DIR)")


def _locate(dirs, names, resolve):
    """Paths of all ``names`` from the first directory that holds every one of them."""
    for d in dirs:
        paths = [resolve(d, n) for n in names]
        if all(p is not None for p in paths):
            return paths
    return None


_VERIFIED = set()  # (path, size, mtime_ns, md5) already hashed in this process


def _in_cache(path):
    cache = default_cache_dir().resolve()
    return cache in Path(path).resolve().parents


def _check_downloaded(fn, path, published=None):
    r"""Refuse a file scratchnet downloaded and verified that no longer has its md5.

    The expected md5 is the one recorded in ``.scratchnet-md5`` when the file was downloaded,
    or, for a file in the cache ``~/.cache/scratchnet`` (scratchnet's own folder) without a
    record, the ``published`` one. Any other file is the user's and is left to the structural
    checks (see the module's trust model). Each file is hashed once per process, and again
    only if its size or modification time change.
    """
    expected = read_md5_record(path.parent).get(path.name)
    if expected is None and published is not None and _in_cache(path):
        expected = published
    if expected is None:
        return
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns, expected)
    if key in _VERIFIED:
        return
    got = md5sum(path)
    if got != expected:
        raise ChecksumError(
            f"{fn}: {path} was downloaded and verified by scratchnet (md5 {expected}) but its "
            f"md5 is now {got}: it was changed or damaged since. Delete it and it will be "
            "downloaded again; if it is a copy of your own, keep it in a folder of your own and "
            "pass that folder (--data-dir on the command line, data_dir= in Python)")
    _VERIFIED.add(key)


def _load_idx_dataset(fn, title, split, data_dir, download_ok, mirrors, md5s, subfolders,
                      download_sub, system_dirs=()):
    dirs = search_dirs(data_dir, subfolders, system_dirs, loose_files_ok=False)
    Xs, ys = [], []
    for part in _parts(fn, split):
        names = _IDX_NAMES[part]
        files = [(n + ".gz", [m + n + ".gz" for m in mirrors], md5s[n + ".gz"]) for n in names]
        what = f"the {part!r} split of {title}"
        looked_for = [f"{n} or {n}.gz" for n in names]
        _check_data_dir(fn, what, data_dir, looked_for, files)
        found = _locate(dirs, names, _resolve_idx)
        if found is None:
            if not download_ok:
                raise DatasetNotFoundError(_not_found(
                    fn, what, looked_for, dirs, files, "download=False, so no download was tried",
                    also=f", or call {fn}(..., download=True) to fetch them"))
            try:
                target = download_root(data_dir) / download_sub
                found = [_download_file(urls, target / name, md5) for name, urls, md5 in files]
            except (OSError, ChecksumError) as exc:
                _download_failed(fn, exc, what, looked_for, dirs, files)
        for path in found:
            _check_downloaded(fn, path, md5s.get(path.name))
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
        The folder holding the IDX files (``.gz`` or unzipped), directly or in ``mnist/``,
        ``MNIST/raw/`` or ``MNIST/``. When given, it is the *only* place searched, and it must
        exist: a misspelled folder is an error naming it, never a reason to use another copy.
        Without it, ``$SCRATCHNET_DATA`` then ``~/.cache/scratchnet`` are searched, in those
        same sub-folders.
    download : bool
        Fetch missing files from ``MNIST_MIRRORS`` (md5-verified) into ``mnist/`` under
        ``data_dir`` if given, else under the first writable of ``$SCRATCHNET_DATA`` and the
        cache.

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
    DatasetNotFoundError
        A ``FileNotFoundError``: the files are not there (or ``data_dir`` does not exist) and
        were not downloaded (``download=False``, or the download failed). One line says what
        and why, the next what to do; then the files, folders searched and official URLs.
    ChecksumError
        A ``ValueError``: every mirror served other bytes than the published ones, or a file
        scratchnet downloaded has changed since (see the module's trust model).
    ValueError
        Corrupt or inconsistent files (bad header, truncated, labels out of range, ...).

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
    return _load_idx_dataset("load_mnist", "MNIST", split, data_dir, download, MNIST_MIRRORS,
                             MNIST_MD5, ("mnist", "MNIST/raw", "MNIST"), "mnist")


def load_fashion_mnist(split="train", data_dir=None, download=True):
    r"""Fashion-MNIST [1]_: 60,000 train and 10,000 test 28x28 grayscale images of clothing.

    Same files, format, search, download rules and errors as :func:`load_mnist`, with the
    sub-folders ``fashion-mnist/``, ``FashionMNIST/raw/``, ``FashionMNIST/`` and
    ``fashion_mnist/``, and downloads from ``FASHION_MNIST_MIRRORS`` into ``fashion-mnist/``.
    Without ``data_dir``, the Debian package's folder ``/usr/share/datasets/fashion-mnist`` is
    searched last; with a ``data_dir``, never (a misspelled ``--data-dir`` used to load it
    without a word).

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
    return _load_idx_dataset("load_fashion_mnist", "Fashion-MNIST", split, data_dir, download,
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
        The folder holding the ``.bin`` files, directly or in ``cifar-10-batches-bin/``. When
        given, it is the only place searched and it must exist (as for :func:`load_mnist`);
        without it, ``$SCRATCHNET_DATA`` then ``~/.cache/scratchnet`` are searched.
    download : bool
        If the files are missing, fetch ``cifar-10-binary.tar.gz`` (md5-verified), extract it
        safely into ``data_dir`` (else the first writable of ``$SCRATCHNET_DATA`` and the
        cache), record the md5 of each batch file it held, and delete the archive.

    Returns
    -------
    X : ndarray of uint8, shape (N, 3, 32, 32)
        RGB, NCHW.
    y : ndarray of int64, shape (N,)
        Class index into ``CIFAR10_CLASSES`` (0 airplane ... 3 cat ... 9 truck).

    Raises
    ------
    DatasetNotFoundError, ChecksumError, ValueError
        As for :func:`load_mnist`; also ``ValueError`` for an archive with an unsafe member.

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
    files = [(CIFAR10_ARCHIVE, [m + CIFAR10_ARCHIVE for m in CIFAR10_MIRRORS],
              CIFAR10_ARCHIVE_MD5)]
    what = f"the {split!r} split of CIFAR-10 (binary version)"
    _check_data_dir(fn, what, data_dir, names, files)
    found = _locate(dirs, names, _resolve_plain)
    if found is None:
        if not download:
            raise DatasetNotFoundError(_not_found(
                fn, what, names, dirs, files, "download=False, so no download was tried",
                also=f", or call {fn}(..., download=True) to fetch them"))
        found = _download_cifar(fn, data_dir, names, what, dirs, files)
    for path in found:
        _check_downloaded(fn, path)
    return read_cifar_batches(found)


def _download_cifar(fn, data_dir, names, what, dirs, files):
    """Fetch and unpack the archive; record the md5 of each batch file it held, so that a
    later load can tell the verified files from a copy put there by hand."""
    try:
        root = download_root(data_dir)
    except OSError as exc:
        _download_failed(fn, exc, what, names, dirs, files)
    created = missing_dirs(root)
    try:
        archive = _download_file(files[0][1], root / CIFAR10_ARCHIVE, CIFAR10_ARCHIVE_MD5,
                                 record=False)
        try:
            safe_extract_tar(archive, root)
        finally:
            Path(archive).unlink(missing_ok=True)
    except (OSError, ChecksumError) as exc:
        remove_empty_dirs(created)
        _download_failed(fn, exc, what, names, dirs, files)
    except ValueError as exc:  # an unsafe or unreadable archive: it passed its md5, say so
        remove_empty_dirs(created)
        raise ValueError(f"{fn}: {exc}") from None
    folder = root / "cifar-10-batches-bin"
    found = _locate([folder], names, _resolve_plain)
    if found is None:
        raise ValueError(f"{fn}: {CIFAR10_ARCHIVE} passed its checksum but did not contain "
                         f"cifar-10-batches-bin/ with {', '.join(names)}")
    record_md5(folder, {n: md5sum(folder / n) for n in TRAIN_FILES + TEST_FILES
                        if (folder / n).is_file()})
    return found
