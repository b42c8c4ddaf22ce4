"""The real files: Fashion-MNIST (Debian package) and the CIFAR-10 subset in shared/data.

They skip with a message when the data is absent, and fail instead in CI
(SCRATCHNET_REQUIRE_DATA=1); see tests/conftest.py.
"""
import numpy as np
import pytest

from scratchnet.datasets import (CIFAR10_CLASSES, FASHION_MNIST_CLASSES, load_cifar10,
                                 load_fashion_mnist, read_cifar_batch, to_grayscale)

pytestmark = pytest.mark.realdata


def test_fashion_mnist_all_70000_with_7000_per_class(fashion_mnist_dir):
    X, y = load_fashion_mnist("all", data_dir=fashion_mnist_dir, download=False)
    assert X.shape == (70000, 1, 28, 28) and X.dtype == np.uint8
    assert y.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(y, minlength=10), [7000] * 10)
    # the first training labels of the official files (the first image is an ankle boot)
    assert y[:10].tolist() == [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]
    assert FASHION_MNIST_CLASSES[y[0]] == "Ankle boot"
    assert X.min() == 0 and X.max() == 255


def test_fashion_mnist_splits_and_default_search(fashion_mnist_dir, monkeypatch):
    # data_dir=None: found in the Debian folder after data_dir / env / (empty, isolated) cache
    from scratchnet.datasets import loaders
    monkeypatch.setattr(loaders, "FASHION_MNIST_SYSTEM_DIRS", [str(fashion_mnist_dir)])
    Xtr, ytr = load_fashion_mnist("train", download=False)
    Xte, yte = load_fashion_mnist("test", download=False)
    assert Xtr.shape == (60000, 1, 28, 28) and Xte.shape == (10000, 1, 28, 28)
    np.testing.assert_array_equal(np.bincount(ytr), [6000] * 10)
    np.testing.assert_array_equal(np.bincount(yte), [1000] * 10)
    assert yte[:10].tolist() == [9, 2, 1, 1, 6, 1, 4, 6, 5, 7]


def test_cifar_subset_counts_and_first_test_image_is_a_cat(cifar_subset_dir):
    X, y = load_cifar10("all", data_dir=cifar_subset_dir, download=False)
    assert X.shape == (5506, 3, 32, 32) and X.dtype == np.uint8 and y.dtype == np.int64
    Xtr, ytr = load_cifar10("train", data_dir=cifar_subset_dir, download=False)
    Xte, yte = load_cifar10("test", data_dir=cifar_subset_dir, download=False)
    assert Xtr.shape[0] == 4660 and Xte.shape[0] == 846
    np.testing.assert_array_equal(X, np.concatenate([Xtr, Xte]))  # train first
    assert CIFAR10_CLASSES[yte[0]] == "cat"
    assert ytr[:5].tolist() == [6, 9, 9, 4, 1]  # frog, truck, truck, deer, automobile


def test_cifar_subset_per_file_structure(cifar_subset_dir):
    folder = cifar_subset_dir / "cifar-10-batches-bin"
    for i in range(1, 6):
        X, y = read_cifar_batch(folder / f"data_batch_{i}.bin")
        assert X.shape[0] == 932
        counts = np.bincount(y, minlength=10)
        assert counts.min() >= 71 and counts.max() <= 113, counts
    names = (folder / "batches.meta.txt").read_text().split()
    assert tuple(names) == CIFAR10_CLASSES


def test_cifar_loose_files_in_env_folder(cifar_subset_dir, monkeypatch):
    monkeypatch.setenv("SCRATCHNET_DATA", str(cifar_subset_dir / "cifar-10-batches-bin"))
    X, y = load_cifar10("test", download=False)
    assert X.shape == (846, 3, 32, 32) and y[0] == 3
    G = to_grayscale(X)
    assert G.shape == (846, 1, 32, 32) and G.dtype == np.uint8
