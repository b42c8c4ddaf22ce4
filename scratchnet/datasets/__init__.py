r"""Datasets: MNIST, Fashion-MNIST and CIFAR-10 from their official files, plus image helpers.

Loaders return ``(X, y)``: X uint8 NCHW ((N, 1, 28, 28) or (N, 3, 32, 32); IDX files of
another image size give theirs, from the header), y int64.
Files are searched in ``data_dir`` alone when it is given, else in ``$SCRATCHNET_DATA``,
``~/.cache/scratchnet`` (and, for Fashion-MNIST, Debian's ``/usr/share/datasets/fashion-mnist``);
missing files are downloaded once, md5-verified, and cached. Files that cannot be found or
fetched raise ``DatasetNotFoundError`` (a ``FileNotFoundError``) saying where they were looked
for and what to do. See ``loaders`` for the trust model and ``_paths`` for the search rules.
``load_images(name, split)`` (in ``named``) loads any of the three by name as float32 images.

>>> from scratchnet.datasets import load_fashion_mnist, to_float32, flatten  # doctest: +SKIP
>>> X, y = load_fashion_mnist("test")                                       # doctest: +SKIP
>>> flatten(to_float32(X)).shape                                            # doctest: +SKIP
(10000, 784)
"""
from ._download import ChecksumError, md5sum
from .cifar import CIFAR10_CLASSES, read_cifar_batch
from .idx import load_idx_pair, read_idx, read_idx_images, read_idx_labels
from .images import flatten, load_image_folder, to_float32, to_grayscale
from .loaders import (FASHION_MNIST_CLASSES, DatasetNotFoundError, load_cifar10,
                      load_fashion_mnist, load_mnist)
from .named import DIGIT_NAMES, LOADERS, class_names, load_images

__all__ = [
    "load_mnist", "load_fashion_mnist", "load_cifar10", "load_image_folder",
    "to_float32", "to_grayscale", "flatten",
    "read_idx", "read_idx_images", "read_idx_labels", "load_idx_pair", "read_cifar_batch",
    "md5sum", "ChecksumError", "DatasetNotFoundError", "CIFAR10_CLASSES", "FASHION_MNIST_CLASSES",
    "load_images", "class_names", "LOADERS", "DIGIT_NAMES",
]
