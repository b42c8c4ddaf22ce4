"""Shared test fixtures: where the real data lives, and what happens when it is missing.

Real-data tests ask for the ``cifar_subset_dir`` or ``fashion_mnist_dir`` fixture. On a machine
without the data they skip with a message that says what to install or where to point; in CI
(``SCRATCHNET_REQUIRE_DATA=1``, set by ``.ci/run``) the same situation is a failure, so CI can never
pass by skipping.

Environment:
    SCRATCHNET_SHARED_DATA   the ``shared/data`` folder (default: ``../shared/data`` beside the repo)
    SCRATCHNET_REQUIRE_DATA  "1" turns missing-data skips into failures
"""
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FASHION_MNIST_DEBIAN = Path("/usr/share/datasets/fashion-mnist")


def _missing(message):
    if os.environ.get("SCRATCHNET_REQUIRE_DATA") == "1":
        pytest.fail(f"real data required (SCRATCHNET_REQUIRE_DATA=1) but missing: {message}")
    pytest.skip(f"real data missing: {message}")


def shared_data_root():
    env = os.environ.get("SCRATCHNET_SHARED_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def cifar_subset_dir():
    """``shared/data/cifar10-subset`` (it holds ``cifar-10-batches-bin/``)."""
    path = shared_data_root() / "cifar10-subset"
    if not (path / "cifar-10-batches-bin" / "test_batch.bin").is_file():
        _missing(f"CIFAR-10 subset not found at {path}; set SCRATCHNET_SHARED_DATA to shared/data")
    return path


@pytest.fixture(scope="session")
def fashion_mnist_dir():
    """Debian's ``dataset-fashion-mnist`` files (``apt-get install -y dataset-fashion-mnist``)."""
    if not (FASHION_MNIST_DEBIAN / "t10k-labels-idx1-ubyte.gz").is_file():
        _missing(f"Fashion-MNIST not found at {FASHION_MNIST_DEBIAN}; "
                 "run `apt-get install -y dataset-fashion-mnist`")
    return FASHION_MNIST_DEBIAN


@pytest.fixture(scope="session")
def mnist_test_5k_dir():
    """``shared/data/mnist-test-5k``: the first 5,000 images of MNIST's test set (IDX gz)."""
    path = shared_data_root() / "mnist-test-5k"
    if not (path / "t10k-images-idx3-ubyte.gz").is_file():
        _missing(f"MNIST test 5k not found at {path}; set SCRATCHNET_SHARED_DATA to shared/data")
    return path
