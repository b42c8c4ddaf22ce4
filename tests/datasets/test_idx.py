"""IDX reader: round trips of generated files and every corruption the issue lists."""
import gzip

import numpy as np
import pytest

from scratchnet.datasets import (load_fashion_mnist, load_idx_pair, load_mnist, read_idx,
                                 read_idx_images, read_idx_labels)
from tests.datasets._make import idx_bytes, random_mnist


@pytest.mark.parametrize("gz", [False, True])
def test_round_trip_images_and_labels(tmp_path, gz):
    rng = np.random.default_rng(0)
    X, y = random_mnist(rng, 5, 4, 3)
    pack = gzip.compress if gz else (lambda b: b)
    (tmp_path / "img").write_bytes(pack(idx_bytes(X)))
    (tmp_path / "lab").write_bytes(pack(idx_bytes(y)))
    Xr, yr = load_idx_pair(tmp_path / "img", tmp_path / "lab")
    assert Xr.shape == (5, 1, 4, 3) and Xr.dtype == np.uint8
    assert yr.dtype == np.int64
    np.testing.assert_array_equal(Xr[:, 0], X)
    np.testing.assert_array_equal(yr, y)
    Xr[0, 0, 0, 0] = 1  # the caller owns the memory


def test_row_major_layout_from_hand_written_bytes(tmp_path):
    # 2 images of 2x3, pixels 0..11 in file order: image 0 row 1 is (3, 4, 5).
    raw = bytes([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3]) + bytes(range(12))
    (tmp_path / "f").write_bytes(raw)
    X = read_idx_images(tmp_path / "f")
    np.testing.assert_array_equal(X[0, 0, 1], [3, 4, 5])
    np.testing.assert_array_equal(X[1, 0, 0], [6, 7, 8])


@pytest.mark.parametrize("code,dtype", [(0x0B, np.int16), (0x0C, np.int32), (0x0D, np.float32),
                                        (0x0E, np.float64), (0x09, np.int8)])
def test_other_element_types_big_endian(tmp_path, code, dtype):
    rng = np.random.default_rng(1)
    a = (rng.standard_normal((3, 4)) * 100).astype(dtype)
    (tmp_path / "f").write_bytes(idx_bytes(a, code))
    out = read_idx(tmp_path / "f")
    assert out.dtype == np.dtype(dtype) and out.dtype.isnative
    np.testing.assert_array_equal(out, a)


def test_wrong_magic_is_rejected(tmp_path):
    rng = np.random.default_rng(2)
    X, y = random_mnist(rng, 2)
    (tmp_path / "lab").write_bytes(idx_bytes(y))
    with pytest.raises(ValueError, match=r"expected magic 0x00000803, got 0x00000801"):
        read_idx_images(tmp_path / "lab")
    (tmp_path / "junk").write_bytes(b"\x12\x34\x08\x01" + bytes(8))
    with pytest.raises(ValueError, match="bad magic number 0x12340801"):
        read_idx(tmp_path / "junk")


def test_truncated_file_is_rejected(tmp_path):
    rng = np.random.default_rng(3)
    X, _ = random_mnist(rng, 4)
    data = idx_bytes(X)
    (tmp_path / "f").write_bytes(data[:-10])
    with pytest.raises(ValueError, match=r"truncated: header \(4, 28, 28\) needs 3136 data bytes, "
                                         r"found 3126"):
        read_idx_images(tmp_path / "f")
    (tmp_path / "h").write_bytes(data[:9])  # cut inside the dimension list
    with pytest.raises(ValueError, match="truncated header"):
        read_idx_images(tmp_path / "h")


def test_header_size_mismatch_is_rejected(tmp_path):
    rng = np.random.default_rng(4)
    X, _ = random_mnist(rng, 4)
    (tmp_path / "f").write_bytes(idx_bytes(X) + b"\x00" * 784)  # one image more than announced
    with pytest.raises(ValueError, match="longer than its header says"):
        read_idx_images(tmp_path / "f")


def test_truncated_gzip_is_rejected(tmp_path):
    rng = np.random.default_rng(5)
    X, _ = random_mnist(rng, 20)
    gz = gzip.compress(idx_bytes(X))
    (tmp_path / "f.gz").write_bytes(gz[: len(gz) // 2])
    with pytest.raises(ValueError, match="corrupt or truncated gzip"):
        read_idx_images(tmp_path / "f.gz")


def test_label_out_of_range_is_rejected(tmp_path):
    y = np.array([1, 2, 10, 3], dtype=np.uint8)
    (tmp_path / "lab").write_bytes(idx_bytes(y))
    with pytest.raises(ValueError, match=r"expected labels in \[0, 10\), got 10 at index 2"):
        read_idx_labels(tmp_path / "lab")
    np.testing.assert_array_equal(read_idx_labels(tmp_path / "lab", n_classes=11), y)


def test_image_and_label_counts_must_match(tmp_path):
    rng = np.random.default_rng(6)
    X, y = random_mnist(rng, 5)
    (tmp_path / "img").write_bytes(idx_bytes(X))
    (tmp_path / "lab").write_bytes(idx_bytes(y[:4]))
    with pytest.raises(ValueError, match="holds 5 images but .* holds 4 labels"):
        load_idx_pair(tmp_path / "img", tmp_path / "lab")


@pytest.mark.parametrize("loader", [load_mnist, load_fashion_mnist])
@pytest.mark.parametrize("size", [(16, 16), (8, 8), (10, 12)])
def test_loaders_take_the_image_size_from_the_header(tmp_path, loader, size):
    """Digits of another size in MNIST's format (a user's 16×16 set) load as they are."""
    rng = np.random.default_rng(3)
    X, y = random_mnist(rng, 6, *size)
    for name, arr in (("t10k-images-idx3-ubyte.gz", X), ("t10k-labels-idx1-ubyte.gz", y)):
        (tmp_path / name).write_bytes(gzip.compress(idx_bytes(arr)))
    Xr, yr = loader("test", data_dir=tmp_path, download=False)
    assert Xr.shape == (6, 1) + size
    np.testing.assert_array_equal(Xr[:, 0], X)
    np.testing.assert_array_equal(yr, y)
