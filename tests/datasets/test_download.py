"""Download, checksum, cache and search order, against a local HTTP server (no internet)."""
import tarfile

import numpy as np
import pytest

from scratchnet.datasets import (ChecksumError, DatasetNotFoundError, load_cifar10,
                                 load_fashion_mnist, load_mnist)
from scratchnet.datasets import loaders
from scratchnet.datasets._download import download, md5sum, record_md5, safe_extract_tar
from tests.datasets._make import cifar_bytes, md5, random_cifar, tar_gz_bytes, write_idx_set

IDX_GZ = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
          "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]


def _files(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def _as_downloaded(folder):
    """Record the md5 of every file in ``folder`` as the downloader does after verifying them:
    generated stand-ins placed in the cache must not be held to the real MNIST md5s."""
    record_md5(folder, {p.name: md5sum(p) for p in folder.iterdir() if p.is_file()})


@pytest.fixture
def mnist_server(http_server, monkeypatch):
    """Generated MNIST-style files served locally; the loaders' mirror and md5 table point
    there. Returns (base_url, served folder, {part: (X, y)})."""
    base, root = http_server
    data = write_idx_set(root, np.random.default_rng(30))
    monkeypatch.setattr(loaders, "MNIST_MIRRORS", [base])
    monkeypatch.setattr(loaders, "MNIST_MD5", {n: md5((root / n).read_bytes()) for n in IDX_GZ})
    return base, root, data


def test_download_verifies_caches_and_loads(mnist_server, tmp_path, monkeypatch):
    _, root, data = mnist_server
    (tmp_path / "d").mkdir()
    X, y = load_mnist("all", data_dir=tmp_path / "d")
    np.testing.assert_array_equal(X[:7, 0], data["train"][0])
    np.testing.assert_array_equal(X[7:, 0], data["test"][0])
    np.testing.assert_array_equal(y, np.concatenate([data["train"][1], data["test"][1]]))
    assert _files(tmp_path / "d") == sorted([f"mnist/{n}" for n in IDX_GZ]  # no .part left
                                            + ["mnist/.scratchnet-md5"])
    for n in IDX_GZ:
        assert (tmp_path / "d" / "mnist" / n).read_bytes() == (root / n).read_bytes()
    # cached: no network needed any more
    monkeypatch.setattr(loaders, "MNIST_MIRRORS", ["http://127.0.0.1:1/"])
    X2, _ = load_mnist("test", data_dir=tmp_path / "d", download=False)
    np.testing.assert_array_equal(X2[:, 0], data["test"][0])


def test_default_download_goes_to_home_cache(mnist_server, _isolated_home):
    load_mnist("test")
    cache = _isolated_home / ".cache" / "scratchnet"
    assert _files(cache) == ["mnist/.scratchnet-md5", "mnist/t10k-images-idx3-ubyte.gz",
                             "mnist/t10k-labels-idx1-ubyte.gz"]


def test_dead_mirror_falls_back_to_next(mnist_server, tmp_path, monkeypatch):
    base, _, data = mnist_server
    monkeypatch.setattr(loaders, "MNIST_MIRRORS", ["http://127.0.0.1:1/", base])
    _, y = load_mnist("test", data_dir=tmp_path)
    np.testing.assert_array_equal(y, data["test"][1])


def test_file_urls_work(mnist_server, tmp_path, monkeypatch):
    _, root, data = mnist_server
    monkeypatch.setattr(loaders, "MNIST_MIRRORS", [root.as_uri() + "/"])
    _, y = load_mnist("train", data_dir=tmp_path)
    np.testing.assert_array_equal(y, data["train"][1])


def test_checksum_mismatch_is_rejected_and_nothing_is_cached(mnist_server, _isolated_home,
                                                             monkeypatch):
    monkeypatch.setitem(loaders.MNIST_MD5, "t10k-images-idx3-ubyte.gz", "0" * 32)
    with pytest.raises(ChecksumError, match=r"md5 mismatch .*expected 0{32}, got [0-9a-f]{32}"):
        load_mnist("test")
    cache = _isolated_home / ".cache" / "scratchnet"
    assert _files(cache) == []


def test_interrupted_transfer_leaves_no_partial_file(mnist_server, _isolated_home, monkeypatch):
    base, root, _ = mnist_server
    monkeypatch.setattr(loaders, "MNIST_MIRRORS", [base + "cut/"])
    size = (root / "t10k-images-idx3-ubyte.gz").stat().st_size
    with pytest.raises(OSError, match=f"interrupted transfer: received {size // 2} of {size}"):
        load_mnist("test")
    assert _files(_isolated_home / ".cache" / "scratchnet") == []


def test_download_helper_cleans_up_on_mismatch(http_server, tmp_path):
    base, root = http_server
    (root / "f.bin").write_bytes(b"hello")
    with pytest.raises(ChecksumError):
        download([base + "f.bin"], tmp_path / "out" / "f.bin", md5(b"other"), progress=False)
    assert _files(tmp_path / "out") == []
    assert not (tmp_path / "out").exists()  # the folder it created is removed again
    download([base + "f.bin"], tmp_path / "out" / "f.bin", md5(b"hello"), progress=False)
    assert _files(tmp_path / "out") == [".scratchnet-md5", "f.bin"]
    assert (tmp_path / "out" / ".scratchnet-md5").read_text() == f"{md5(b'hello')}  f.bin\n"


def test_offline_message_lists_files_urls_and_folders(tmp_path, monkeypatch):
    monkeypatch.setattr(loaders, "MNIST_MIRRORS", ["https://a.example/mnist/", "http://b.example/"])
    with pytest.raises(FileNotFoundError) as err:
        load_mnist("train", data_dir=tmp_path, download=False)
    msg = str(err.value)
    for text in ["load_mnist", "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                 "https://a.example/mnist/train-labels-idx1-ubyte.gz",
                 "http://b.example/train-images-idx3-ubyte.gz",
                 "f68b3c2dcbeaaa9fbdd348bbdeb94873", str(tmp_path / "mnist"),
                 str(tmp_path / "MNIST" / "raw"), "SCRATCHNET_DATA", "download=True"]:
        assert text in msg, text


def test_failed_download_message_says_where_to_put_files(tmp_path, monkeypatch):
    monkeypatch.setattr(loaders, "FASHION_MNIST_SYSTEM_DIRS", [])
    monkeypatch.setattr(loaders, "FASHION_MNIST_MIRRORS", ["http://127.0.0.1:1/"])
    (tmp_path / "d").mkdir()
    with pytest.raises(DatasetNotFoundError) as err:
        load_fashion_mnist("test", data_dir=tmp_path / "d")
    msg = str(err.value)
    assert "http://127.0.0.1:1/t10k-images-idx3-ubyte.gz" in msg
    assert str(tmp_path / "d" / "fashion-mnist") in msg and "the download failed" in msg
    assert list((tmp_path / "d").iterdir()) == []  # neither a file nor a fashion-mnist/ folder


def test_bad_split_is_rejected():
    with pytest.raises(ValueError, match="expected split 'train', 'test' or 'all', got 'valid'"):
        load_mnist("valid", download=False)


def test_search_order_data_dir_then_env_then_cache(tmp_path, monkeypatch, _isolated_home):
    rng = np.random.default_rng(31)
    cache = write_idx_set(_isolated_home / ".cache" / "scratchnet" / "mnist", rng, ["test"], [2])
    _as_downloaded(_isolated_home / ".cache" / "scratchnet" / "mnist")
    env = write_idx_set(tmp_path / "env" / "MNIST" / "raw", rng, ["test"], [3], gz=False)
    mine = write_idx_set(tmp_path / "mine", rng, ["test"], [4])  # loose files in data_dir: ok
    _, y = load_mnist("test", download=False)
    np.testing.assert_array_equal(y, cache["test"][1])
    monkeypatch.setenv("SCRATCHNET_DATA", str(tmp_path / "env"))
    _, y = load_mnist("test", download=False)
    np.testing.assert_array_equal(y, env["test"][1])
    _, y = load_mnist("test", data_dir=tmp_path / "mine", download=False)
    np.testing.assert_array_equal(y, mine["test"][1])


def test_loose_idx_files_in_shared_root_are_not_taken(tmp_path, monkeypatch):
    # MNIST and Fashion-MNIST share file names: loose files in SCRATCHNET_DATA are ambiguous.
    write_idx_set(tmp_path / "env", np.random.default_rng(32), ["test"], [2])
    monkeypatch.setenv("SCRATCHNET_DATA", str(tmp_path / "env"))
    monkeypatch.setattr(loaders, "FASHION_MNIST_SYSTEM_DIRS", [])
    with pytest.raises(FileNotFoundError):
        load_fashion_mnist("test", download=False)


def test_fashion_system_dir_is_searched_last(tmp_path, monkeypatch, _isolated_home):
    rng = np.random.default_rng(33)
    system = write_idx_set(tmp_path / "debian", rng, ["test"], [2])
    cache = write_idx_set(_isolated_home / ".cache" / "scratchnet" / "fashion-mnist", rng,
                          ["test"], [3])
    _as_downloaded(_isolated_home / ".cache" / "scratchnet" / "fashion-mnist")
    monkeypatch.setattr(loaders, "FASHION_MNIST_SYSTEM_DIRS", [str(tmp_path / "debian")])
    _, y = load_fashion_mnist("test", download=False)
    np.testing.assert_array_equal(y, cache["test"][1])
    (_isolated_home / ".cache" / "scratchnet" / "fashion-mnist" / "t10k-images-idx3-ubyte.gz"
     ).unlink()
    _, y = load_fashion_mnist("test", download=False)
    np.testing.assert_array_equal(y, system["test"][1])


def test_download_goes_to_first_writable_folder(mnist_server, tmp_path, monkeypatch,
                                                _isolated_home):
    blocker = tmp_path / "a_file"
    blocker.write_text("a file where a folder should be")
    monkeypatch.setenv("SCRATCHNET_DATA", str(blocker / "sub"))
    load_mnist("test")
    assert _files(_isolated_home / ".cache" / "scratchnet") == [
        "mnist/.scratchnet-md5", "mnist/t10k-images-idx3-ubyte.gz",
        "mnist/t10k-labels-idx1-ubyte.gz"]


def _cifar_archive(rng, n=2, extra=()):
    members, data = [], []
    for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
        X, y = random_cifar(rng, n)
        data.append((X, y))
        members.append((f"cifar-10-batches-bin/{name}", cifar_bytes(X, y)))
    return tar_gz_bytes(members + list(extra)), data


def test_cifar_download_extracts_and_loads(http_server, tmp_path, monkeypatch):
    base, root = http_server
    archive, data = _cifar_archive(np.random.default_rng(34))
    (root / "cifar-10-binary.tar.gz").write_bytes(archive)
    monkeypatch.setattr(loaders, "CIFAR10_MIRRORS", [base])
    monkeypatch.setattr(loaders, "CIFAR10_ARCHIVE_MD5", md5(archive))
    (tmp_path / "d").mkdir()
    X, y = load_cifar10("all", data_dir=tmp_path / "d")
    assert X.shape == (12, 3, 32, 32)
    np.testing.assert_array_equal(X, np.concatenate([x for x, _ in data]))
    np.testing.assert_array_equal(y, np.concatenate([t for _, t in data]))
    assert _files(tmp_path / "d") == sorted(
        [f"cifar-10-batches-bin/data_batch_{i}.bin" for i in range(1, 6)]
        + ["cifar-10-batches-bin/test_batch.bin", "cifar-10-batches-bin/.scratchnet-md5"]
    )  # archive deleted, no staging left
    Xt, _ = load_cifar10("test", data_dir=tmp_path / "d", download=False)
    np.testing.assert_array_equal(Xt, data[5][0])


def test_cifar_archive_with_dotdot_member_is_rejected(http_server, tmp_path, monkeypatch):
    base, root = http_server
    archive, _ = _cifar_archive(np.random.default_rng(35), extra=[("../evil.txt", b"owned")])
    (root / "cifar-10-binary.tar.gz").write_bytes(archive)
    monkeypatch.setattr(loaders, "CIFAR10_MIRRORS", [base])
    monkeypatch.setattr(loaders, "CIFAR10_ARCHIVE_MD5", md5(archive))
    (tmp_path / "d").mkdir()
    with pytest.raises(ValueError, match=r"unsafe archive member '\.\./evil\.txt'"):
        load_cifar10("test", data_dir=tmp_path / "d")
    assert not (tmp_path / "evil.txt").exists()
    assert _files(tmp_path / "d") == []  # nothing extracted, archive removed


def _info(name, kind=tarfile.REGTYPE, linkname=""):
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, linkname
    return info


@pytest.mark.parametrize("member,reason", [
    (("/tmp/abs.txt", b"x"), "absolute path"),
    (("ok/../../up.txt", b"x"), r"'\.\.' would escape"),
    (_info("link", tarfile.SYMTYPE, "/etc/passwd"), "links and devices are refused"),
    (_info("hard", tarfile.LNKTYPE, "../outside"), "links and devices are refused"),
    (_info("dev", tarfile.CHRTYPE), "links and devices are refused"),
])
def test_safe_extract_refuses_unsafe_members(tmp_path, member, reason):
    archive = tmp_path / "a.tar.gz"
    archive.write_bytes(tar_gz_bytes([("good.txt", b"fine"), member]))
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "keep.txt").write_text("mine")
    with pytest.raises(ValueError, match=reason):
        safe_extract_tar(archive, dest)
    assert _files(dest) == ["keep.txt"]


def test_safe_extract_merges_into_existing_folder(tmp_path):
    archive = tmp_path / "a.tar.gz"
    archive.write_bytes(tar_gz_bytes([("sub/new.txt", b"new"), ("sub/same.txt", b"v2")]))
    dest = tmp_path / "dest"
    (dest / "sub").mkdir(parents=True)
    (dest / "sub" / "same.txt").write_text("v1")
    (dest / "sub" / "other.txt").write_text("kept")
    safe_extract_tar(archive, dest)
    assert _files(dest) == ["sub/new.txt", "sub/other.txt", "sub/same.txt"]
    assert (dest / "sub" / "same.txt").read_text() == "v2"


def test_safe_extract_rejects_non_tar(tmp_path):
    (tmp_path / "a.tar.gz").write_bytes(b"definitely not a tar")
    with pytest.raises(ValueError, match="not a readable tar archive"):
        safe_extract_tar(tmp_path / "a.tar.gz", tmp_path / "dest")


def test_cifar_offline_message(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        load_cifar10("train", data_dir=tmp_path, download=False)
    msg = str(err.value)
    for text in ["data_batch_1.bin", "data_batch_5.bin",
                 "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",
                 "c32a1d4ab5d03f1284b67883e8d87530", str(tmp_path / "cifar-10-batches-bin")]:
        assert text in msg, text
    assert _files(tmp_path) == []
