"""Loader faults: one clear error when a dataset is missing, a data_dir is the
only place searched, downloaded files stay checked, and failed or killed downloads
leave nothing behind, while finished ones get the usual permissions.

Everything runs against a local HTTP server or dead local ports; nothing touches the internet.
"""
import os
import subprocess
import sys
import time
import traceback

import numpy as np
import pytest

from scratchnet.datasets import (ChecksumError, DatasetNotFoundError, load_cifar10,
                                 load_fashion_mnist, load_mnist)
from scratchnet.datasets import loaders
from tests.datasets._make import cifar_bytes, md5, random_cifar, tar_gz_bytes, write_idx_set

DEAD = "http://127.0.0.1:1/"  # nothing listens on port 1: "Connection refused", at once
IDX_GZ = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
          "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _files(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


@pytest.fixture
def mnist_server(http_server, monkeypatch):
    """Generated MNIST-style files served locally, the loaders' mirror and md5s pointing there."""
    base, root = http_server
    data = write_idx_set(root, np.random.default_rng(50))
    monkeypatch.setattr(loaders, "MNIST_MIRRORS", [base])
    monkeypatch.setattr(loaders, "MNIST_MD5", {n: md5((root / n).read_bytes()) for n in IDX_GZ})
    return base, root, data


@pytest.fixture
def offline(monkeypatch):
    """Every mirror dead, no Debian Fashion-MNIST: the state of a fresh machine offline."""
    for name in ("MNIST_MIRRORS", "FASHION_MNIST_MIRRORS", "CIFAR10_MIRRORS"):
        monkeypatch.setattr(loaders, name, [DEAD])
    monkeypatch.setattr(loaders, "FASHION_MNIST_SYSTEM_DIRS", [])


# --- offline with a dataset missing -> one exception that says what to do ---------------

@pytest.mark.parametrize("loader", [load_mnist, load_fashion_mnist, load_cifar10])
def test_offline_missing_dataset_is_one_clear_error(offline, loader, _isolated_home):
    with pytest.raises(DatasetNotFoundError) as err:
        loader("test")
    exc = err.value
    assert isinstance(exc, FileNotFoundError)  # what the command line already catches
    assert exc.__cause__ is None and exc.__suppress_context__  # no chained traceback
    shown = "".join(traceback.format_exception(exc))
    assert "During handling" not in shown and "direct cause" not in shown
    first, todo = str(exc).splitlines()[:2]
    assert first.startswith(f"{loader.__name__}: the 'test' split of ") and "not found" in first
    assert "the download failed" in first and "Connection refused" in first, first
    assert "--data-dir" in todo and "data_dir=" in todo, todo
    assert "download=True" not in str(exc)  # that is what just failed
    assert DEAD in str(exc)  # where to get the files
    assert str(_isolated_home / ".cache" / "scratchnet") in str(exc)  # where they were looked for


def test_download_false_still_suggests_download_true(tmp_path):
    with pytest.raises(DatasetNotFoundError, match=r"download=False, so no download was tried"
                                                   r"(.|\n)*download=True"):
        load_mnist("test", data_dir=tmp_path, download=False)


# --- a data_dir is the only place searched ----------------------------------------------

@pytest.fixture
def system_copy(tmp_path, monkeypatch):
    """A Fashion-MNIST 'system copy' (Debian's folder) that must never stand in for data_dir."""
    write_idx_set(tmp_path / "debian", np.random.default_rng(51), ["test"], [2])
    monkeypatch.setattr(loaders, "FASHION_MNIST_SYSTEM_DIRS", [str(tmp_path / "debian")])
    monkeypatch.setattr(loaders, "FASHION_MNIST_MIRRORS", [DEAD])
    return tmp_path / "debian"


def test_misspelled_data_dir_is_an_error_not_the_system_copy(system_copy, tmp_path):
    _, y = load_fashion_mnist("test", download=False)  # without data_dir the copy is found
    assert len(y) == 2
    typo = tmp_path / "fashon-mnist"
    with pytest.raises(DatasetNotFoundError) as err:
        load_fashion_mnist("test", data_dir=typo)
    first = str(err.value).splitlines()[0]
    assert f"data_dir {typo} does not exist" in first, first
    assert not typo.exists()  # no download was started into the misspelled folder


@pytest.mark.parametrize("download", [False, True])
def test_empty_data_dir_is_an_error_naming_it(system_copy, tmp_path, download):
    mine = tmp_path / "mine"
    mine.mkdir()
    with pytest.raises(DatasetNotFoundError) as err:
        load_fashion_mnist("test", data_dir=mine, download=download)
    msg = str(err.value)
    assert f"    {mine}\n" in msg and str(system_copy) not in msg
    assert _files(mine) == []


def test_data_dir_that_is_a_file_is_named(tmp_path):
    (tmp_path / "f").write_text("not a folder")
    with pytest.raises(DatasetNotFoundError, match=r"data_dir .*f is not a folder"):
        load_cifar10("test", data_dir=tmp_path / "f")


@pytest.mark.parametrize("kind", ["folder", "fifo"])
def test_an_entry_of_the_files_name_that_is_not_a_file_is_named(tmp_path, kind):
    """A folder or a named pipe under the dataset file's name is the user's mistake: named,
    never 'the download failed' (and no download is tried)."""
    entry = tmp_path / "t10k-labels-idx1-ubyte.gz"
    if kind == "folder":
        entry.mkdir()
    else:
        os.mkfifo(entry)
    write_idx_set(tmp_path, np.random.default_rng(0), parts=("test",), n=(5,), gz=False)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink(missing_ok=True)
    what = "a folder" if kind == "folder" else r"a named pipe \(FIFO\)"
    with pytest.raises(DatasetNotFoundError, match=f"t10k-labels-idx1-ubyte.gz is {what}, not "
                                                   f"a file: expected the dataset's file"):
        load_mnist("test", data_dir=tmp_path, download=True)


# --- downloaded files stay checked; the user's own files are not held to the md5 ---------

def test_users_subset_named_like_the_official_files_is_accepted(tmp_path, monkeypatch):
    # like shared/data/mnist-test-5k: fewer images, official names, other md5; real md5 table
    data = write_idx_set(tmp_path / "subset", np.random.default_rng(52), ["test"], [5])
    _, y = load_mnist("test", data_dir=tmp_path / "subset", download=False)
    np.testing.assert_array_equal(y, data["test"][1])
    monkeypatch.setenv("SCRATCHNET_DATA", str(tmp_path))
    (tmp_path / "subset").rename(tmp_path / "mnist")
    _, y = load_mnist("test", download=False)
    np.testing.assert_array_equal(y, data["test"][1])


@pytest.mark.realdata
def test_real_mnist_test_5k_subset_loads(mnist_test_5k_dir):
    X, _ = load_mnist("test", data_dir=mnist_test_5k_dir, download=False)
    assert X.shape == (5000, 1, 28, 28)


def test_cached_file_changed_after_download_is_refused(mnist_server, _isolated_home):
    load_mnist("test")
    cached = _isolated_home / ".cache" / "scratchnet" / "mnist"
    # replace the verified files by another well-formed set: only the md5 can tell
    write_idx_set(cached, np.random.default_rng(53), ["test"], [7])
    with pytest.raises(ChecksumError) as err:
        load_mnist("test", download=False)
    msg = str(err.value)
    assert str(cached / "t10k-images-idx3-ubyte.gz") in msg and "Delete it" in msg, msg
    assert "--data-dir" in msg and "data_dir=" in msg


def test_cache_without_record_is_held_to_the_published_md5(_isolated_home):
    # a cache filled by hand (or by an older scratchnet): the real md5 table applies there
    cached = _isolated_home / ".cache" / "scratchnet" / "mnist"
    write_idx_set(cached, np.random.default_rng(54), ["test"], [3])
    with pytest.raises(ChecksumError, match=loaders.MNIST_MD5["t10k-images-idx3-ubyte.gz"]):
        load_mnist("test", download=False)


def test_cached_files_are_hashed_once_per_process(mnist_server, monkeypatch):
    load_mnist("test")
    calls = []
    real = loaders.md5sum
    monkeypatch.setattr(loaders, "md5sum", lambda p: calls.append(p) or real(p))
    monkeypatch.setattr(loaders, "_VERIFIED", set())
    load_mnist("test")
    load_mnist("test")
    assert len(calls) == 2  # images and labels, the first time only


def test_cifar_batch_changed_after_download_is_refused(http_server, tmp_path, monkeypatch):
    base, root = http_server
    rng = np.random.default_rng(55)
    members = [(f"cifar-10-batches-bin/{n}", cifar_bytes(*random_cifar(rng, 2)))
               for n in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]]
    archive = tar_gz_bytes(members)
    (root / "cifar-10-binary.tar.gz").write_bytes(archive)
    monkeypatch.setattr(loaders, "CIFAR10_MIRRORS", [base])
    monkeypatch.setattr(loaders, "CIFAR10_ARCHIVE_MD5", md5(archive))
    (tmp_path / "d").mkdir()
    load_cifar10("test", data_dir=tmp_path / "d")
    batch = tmp_path / "d" / "cifar-10-batches-bin" / "test_batch.bin"
    batch.write_bytes(cifar_bytes(*random_cifar(rng, 3)))
    with pytest.raises(ChecksumError, match="test_batch.bin was downloaded and verified"):
        load_cifar10("test", data_dir=tmp_path / "d", download=False)


# --- nothing left behind by a failed or killed download; usual permissions -------------

@pytest.mark.parametrize("loader", [load_mnist, load_fashion_mnist, load_cifar10])
def test_failed_download_leaves_no_empty_cache_folders(offline, loader, _isolated_home):
    with pytest.raises(DatasetNotFoundError):
        loader("train")
    assert list(_isolated_home.iterdir()) == []  # not even ~/.cache


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_downloaded_files_get_the_usual_permissions(mnist_server, _isolated_home, umask):
    old = os.umask(umask)
    try:
        load_mnist("test")
    finally:
        os.umask(old)
    cached = _isolated_home / ".cache" / "scratchnet" / "mnist"
    for name in ["t10k-images-idx3-ubyte.gz", ".scratchnet-md5"]:
        assert (cached / name).stat().st_mode & 0o777 == 0o666 & ~umask, name


def _dead_pid():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_parts_of_gone_runs_are_removed_live_ones_kept(mnist_server, _isolated_home):
    cached = _isolated_home / ".cache" / "scratchnet" / "mnist"
    cached.mkdir(parents=True)
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        name = ".t10k-images-idx3-ubyte.gz"
        dead = cached / f"{name}.{_dead_pid()}-aaaa.part"
        alive = cached / f"{name}.{live.pid}-bbbb.part"  # another run, still downloading
        old_style = cached / f"{name}.k3j_x9.part"  # mkstemp's name: judged by its age
        fresh_old_style = cached / f"{name}.q7w_e2.part"
        for p in (dead, alive, old_style, fresh_old_style):
            p.write_bytes(b"half")
        os.utime(old_style, (time.time() - 7200, time.time() - 7200))
        load_mnist("test")
        assert not dead.exists() and not old_style.exists()
        assert alive.exists() and fresh_old_style.exists()
    finally:
        live.kill()
        live.wait()


def test_part_of_a_killed_download_is_cleaned_on_the_next_run(mnist_server, _isolated_home):
    base, _, data = mnist_server
    env = dict(os.environ, HOME=str(_isolated_home), PYTHONPATH=REPO)
    code = ("from scratchnet.datasets import loaders; "
            f"loaders.MNIST_MIRRORS[:] = [{base + 'slow/'!r}]; "
            "loaders.load_mnist('test')")
    proc = subprocess.Popen([sys.executable, "-c", code], env=env)
    cached = _isolated_home / ".cache" / "scratchnet" / "mnist"
    try:
        deadline = time.monotonic() + 20
        while not list(cached.glob(".*.part")) and time.monotonic() < deadline:
            time.sleep(0.05)
        parts = list(cached.glob(".*.part"))
        assert parts, "the killed run never started its download"
    finally:
        proc.kill()  # SIGKILL: no cleanup code runs
        proc.wait()
    assert all(p.exists() for p in parts)
    _, y = load_mnist("test")
    np.testing.assert_array_equal(y, data["test"][1])
    assert list(cached.glob(".*.part")) == []
