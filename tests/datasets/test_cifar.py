"""CIFAR-10 binary reader on generated records."""
import numpy as np
import pytest

from scratchnet.datasets import read_cifar_batch
from tests.datasets._make import cifar_bytes, random_cifar


def test_round_trip_and_channel_layout(tmp_path):
    rng = np.random.default_rng(10)
    X, y = random_cifar(rng, 3)
    (tmp_path / "b.bin").write_bytes(cifar_bytes(X, y))
    Xr, yr = read_cifar_batch(tmp_path / "b.bin")
    assert Xr.shape == (3, 3, 32, 32) and Xr.dtype == np.uint8 and yr.dtype == np.int64
    np.testing.assert_array_equal(Xr, X)
    np.testing.assert_array_equal(yr, y)


def test_record_layout_from_hand_written_bytes(tmp_path):
    # one record: label 7, red plane all 1, green all 2, blue pixel (row 0, col 1) = 9
    rec = bytearray([7]) + bytearray([1] * 1024) + bytearray([2] * 1024) + bytearray(1024)
    rec[1 + 2048 + 1] = 9
    (tmp_path / "b.bin").write_bytes(bytes(rec))
    X, y = read_cifar_batch(tmp_path / "b.bin")
    assert y.tolist() == [7]
    assert (X[0, 0] == 1).all() and (X[0, 1] == 2).all()
    assert X[0, 2, 0, 1] == 9 and X[0, 2].sum() == 9


@pytest.mark.parametrize("extra", [-1, 1, 3072 - 3073])
def test_size_not_multiple_of_3073_is_rejected(tmp_path, extra):
    rng = np.random.default_rng(11)
    X, y = random_cifar(rng, 2)
    data = cifar_bytes(X, y)
    data = data[:extra] if extra < 0 else data + b"\x00" * extra
    (tmp_path / "b.bin").write_bytes(data)
    with pytest.raises(ValueError, match=f"positive multiple of 3073 bytes.*got {len(data)} bytes"):
        read_cifar_batch(tmp_path / "b.bin")


def test_empty_file_is_rejected(tmp_path):
    (tmp_path / "b.bin").write_bytes(b"")
    with pytest.raises(ValueError, match="got 0 bytes"):
        read_cifar_batch(tmp_path / "b.bin")


def test_label_out_of_range_is_rejected(tmp_path):
    rng = np.random.default_rng(12)
    X, y = random_cifar(rng, 4)
    y[2] = 11
    (tmp_path / "b.bin").write_bytes(cifar_bytes(X, y))
    with pytest.raises(ValueError, match=r"expected labels in \[0, 10\), got 11 in record 2"):
        read_cifar_batch(tmp_path / "b.bin")
