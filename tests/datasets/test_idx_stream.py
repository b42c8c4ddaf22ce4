"""IDX files read as a stream: a gzip bomb is refused without inflating it."""
import gzip
import tracemalloc
import zlib

import numpy as np
import pytest

from scratchnet.datasets import read_idx, read_idx_images
from tests.datasets._make import idx_bytes, random_mnist

BOMB_ZEROS = 200 * 2**20  # 200 MiB of zeros after the data: ~200 KiB once compressed


def _gzip_streamed(path, head, n_zeros, chunk=1 << 20):
    """Write gzip(head + n_zeros zero bytes) to ``path`` without ever holding the zeros: the
    test itself must not use the memory it checks the reader does not use."""
    comp = zlib.compressobj(1, zlib.DEFLATED, 16 + zlib.MAX_WBITS)  # 16+: gzip container
    zeros = bytes(chunk)
    with open(path, "wb") as f:
        f.write(comp.compress(head))
        for start in range(0, n_zeros, chunk):
            f.write(comp.compress(zeros[:min(chunk, n_zeros - start)]))
        f.write(comp.flush())
    return path


@pytest.fixture(scope="module")
def bomb(tmp_path_factory):
    """A header declaring 10 images of 28x28, their 7840 bytes, then 200 MiB of zeros."""
    rng = np.random.default_rng(40)
    X, _ = random_mnist(rng, 10)
    path = tmp_path_factory.mktemp("bomb") / "t10k-images-idx3-ubyte.gz"
    return _gzip_streamed(path, idx_bytes(X), BOMB_ZEROS), X


def test_gzip_bomb_is_refused_with_bounded_memory(bomb):
    path, _ = bomb
    assert path.stat().st_size < 2**20
    tracemalloc.start()  # numpy and zlib buffers are both traced
    try:
        with pytest.raises(ValueError) as err:
            read_idx_images(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    msg = str(err.value)
    assert str(path) in msg and "longer than its header says" in msg, msg
    assert "(10, 28, 28) needs 7840 data bytes" in msg, msg
    assert peak < 8 * 2**20, f"peak {peak / 2**20:.1f} MiB while refusing a gzip bomb"


def test_exact_file_from_the_streamed_writer_loads(tmp_path):
    # the same writer with no trailing zeros gives a valid file: the refusal above is the bomb's
    X, _ = random_mnist(np.random.default_rng(41), 10)
    path = _gzip_streamed(tmp_path / "f.gz", idx_bytes(X), 0)
    np.testing.assert_array_equal(read_idx_images(path)[:, 0], X)


def test_header_larger_than_gzip_can_hold_is_refused_before_allocating(tmp_path):
    # 2**32-1 images of 2**16 x 2**16 declared in a 40-byte file: refused from the sizes alone
    head = bytes([0, 0, 8, 3]) + np.array([2**32 - 1, 2**16, 2**16], ">u4").tobytes()
    (tmp_path / "f.gz").write_bytes(gzip.compress(head))
    with pytest.raises(ValueError, match=r"f\.gz: file truncated: .* more than a \d+-byte gzip "
                                         r"file can hold"):
        read_idx(tmp_path / "f.gz")


@pytest.mark.parametrize("gz", [True, False])
def test_data_shorter_than_header_names_file_and_counts(tmp_path, gz):
    X, _ = random_mnist(np.random.default_rng(42), 4)
    data = idx_bytes(X)[:-10]  # a complete gzip stream whose content is short
    (tmp_path / "f").write_bytes(gzip.compress(data) if gz else data)
    with pytest.raises(ValueError, match=r"f: file truncated: header \(4, 28, 28\) needs 3136 "
                                         r"data bytes, found 3126"):
        read_idx_images(tmp_path / "f")


def test_cut_gzip_stream_names_file(tmp_path):
    X, _ = random_mnist(np.random.default_rng(43), 50)
    gz = gzip.compress(idx_bytes(X))
    (tmp_path / "cut.gz").write_bytes(gz[: len(gz) - 100])
    with pytest.raises(ValueError, match=r"cut\.gz: corrupt or truncated gzip stream"):
        read_idx_images(tmp_path / "cut.gz")


def test_corrupted_crc_is_refused(tmp_path):
    X, _ = random_mnist(np.random.default_rng(44), 3)
    gz = bytearray(gzip.compress(idx_bytes(X)))
    gz[-8] ^= 0xFF  # the CRC32 of the trailer: only the probe past the data reaches it
    (tmp_path / "crc.gz").write_bytes(bytes(gz))
    with pytest.raises(ValueError, match=r"crc\.gz: corrupt or truncated gzip stream"):
        read_idx_images(tmp_path / "crc.gz")
