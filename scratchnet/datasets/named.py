"""The three datasets by name, as the examples and the command line ask for them.

``load_images("fashion-mnist", "test")`` gives float32 images (N, C, H, W) in [0, 1] and int64
labels, whichever loader and file format sits behind the name; ``class_names`` gives the
names of the labels, for tables and figures.
"""
import numpy as np

from .cifar import CIFAR10_CLASSES
from .loaders import FASHION_MNIST_CLASSES, load_cifar10, load_fashion_mnist, load_mnist
from .images import to_float32

LOADERS = {"cifar10": load_cifar10, "mnist": load_mnist, "fashion-mnist": load_fashion_mnist}

def load_images(dataset, split="train", data_dir=None, limit=None, random_state=0):
    """Load a dataset as float32 NCHW images in [0, 1] with int64 labels.

    Parameters
    ----------
    dataset : {"cifar10", "mnist", "fashion-mnist"}
    limit : int or None
        Keep a random subset of this many images (stratification is not attempted).

    Returns
    -------
    X : ndarray (N, C, H, W) float32
    y : ndarray (N,) int64
    """
    if dataset not in LOADERS:
        raise ValueError(f"load_images: dataset must be one of {sorted(LOADERS)}, "
                         f"got {dataset!r}")
    X, y = LOADERS[dataset](split, data_dir=data_dir)
    if limit is not None and limit < len(X):
        keep = np.sort(np.random.default_rng(random_state).choice(len(X), limit, replace=False))
        X, y = X[keep], y[keep]
    return to_float32(X), y


DIGIT_NAMES = ("zeros", "ones", "twos", "threes", "fours", "fives", "sixes", "sevens",
               "eights", "nines")

def class_names(dataset):
    """Names of the classes of ``dataset``, indexed by label (plural digit names for MNIST)."""
    names = {"mnist": DIGIT_NAMES, "fashion-mnist": FASHION_MNIST_CLASSES,
             "cifar10": CIFAR10_CLASSES}
    if dataset not in names:
        raise ValueError(f"class_names: dataset must be one of {sorted(names)}, got {dataset!r}")
    return list(names[dataset])
