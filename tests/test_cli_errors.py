"""The command line: every expected failure is one line and exit status 2, checked
before the work starts; a killed run's resume finishes it; the progress bar counts the run.

The one-line contract is checked as a user meets it, through the ``scratchnet`` console script
(``python -m scratchnet`` when the script is not on the PATH): status 2, exactly one line on
stderr, no traceback. Failures that need a patched library (a full disk, a dataset not on
disk) run ``main([...])`` in this process instead.
"""
import errno
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import scratchnet.cli
import scratchnet.cli._common
import scratchnet.cli.cluster
import scratchnet.cli.train
import scratchnet.datasets
import scratchnet.models
from scratchnet import plot
from scratchnet.cli import main
from scratchnet.models import Autoencoder

from ._synthetic import write_idx_split

REPO = Path(__file__).resolve().parents[1]
# the console script of the Python running the tests (a venv's, in CI), not another on PATH
SCRIPT = Path(sys.executable).with_name("scratchnet")
COMMAND = [str(SCRIPT)] if SCRIPT.is_file() else [sys.executable, "-m", "scratchnet"]

def _main_figures(metrics):
    """The figure keys of a run without its per-cluster strips and centroids (report.html)."""
    return {k for k in metrics["figures"] if not k.startswith(("strip_", "centroid_"))}



def _run(*argv):
    """``scratchnet argv``; returns (status, stderr lines)."""
    run = subprocess.run(COMMAND + [str(a) for a in argv], capture_output=True, text=True,
                         cwd=REPO, timeout=120)
    return run.returncode, run.stderr.splitlines()


def _one_line_error(argv, command, *expected):
    status, err = _run(*argv)
    assert status == 2, err
    assert len(err) == 1 and "Traceback" not in err[0], err
    assert err[0].startswith(f"scratchnet {command}: error: "), err
    for text in expected:
        assert text in err[0], err


@pytest.fixture
def photos(tmp_path):
    """Three small PNGs: enough for the flag checks, none of which gets to training."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(3):
        Image.fromarray(np.full((8, 8, 3), 60 * i, np.uint8)).save(folder / f"p{i}.png")
    return folder


@pytest.fixture
def arrays(tmp_path):
    labels = tmp_path / "labels.npy"
    np.save(labels, np.array([0, 1, 0, 1]))
    np.save(tmp_path / "zero_d.npy", np.array(3.0))
    np.savez(tmp_path / "model.npz", W=np.ones(3))
    return tmp_path


# ---- one line, exit 2, the flag named, before any work ---------------------------------

@pytest.mark.parametrize("case", [
    "train --out /dev/null/x", "cluster-images --out /dev/null/x", "evaluate --out /dev/null/x",
    "cluster-images --epochs 0", "cluster-images --per-sheet -1", "cluster-images --k = n",
    "train --limit -5", "train --seed -1", "evaluate --features model.npz",
    "evaluate --features 0-d", "dec --idec inf", "dec --normalize nan"])
def test_each_expected_failure_is_one_line_with_status_2(case, photos, arrays, tmp_path):
    out = tmp_path / "out"
    labels = arrays / "labels.npy"
    argv, command, expected = {
        "train --out /dev/null/x": (
            ["train", "--dataset", "mnist", "--data-dir", tmp_path, "--out", "/dev/null/x"],
            "train", ["--out /dev/null/x: cannot write there (Not a directory)"]),
        "cluster-images --out /dev/null/x": (
            ["cluster-images", photos, "--k", "2", "--out", "/dev/null/x"], "cluster-images",
            ["--out /dev/null/x: cannot write there"]),
        "evaluate --out /dev/null/x": (
            ["evaluate", labels, "--truth", labels, "--out", "/dev/null/x/scores.json"],
            "evaluate", ["--out /dev/null/x: cannot write there"]),
        "cluster-images --epochs 0": (
            ["cluster-images", photos, "--epochs", "0", "--out", out], "cluster-images",
            ["argument --epochs: expected a positive int, got '0'"]),
        "cluster-images --per-sheet -1": (
            ["cluster-images", photos, "--per-sheet", "-1", "--out", out], "cluster-images",
            ["argument --per-sheet: expected a positive int, got '-1'"]),
        "cluster-images --k = n": (
            ["cluster-images", photos, "--k", "3", "--out", out], "cluster-images",
            ["--k must be between 1 and 2 (one less than the 3 images in", "got 3"]),
        "train --limit -5": (
            ["train", "--dataset", "mnist", "--limit", "-5", "--out", out], "train",
            ["argument --limit: expected a positive int, got '-5'"]),
        "train --seed -1": (
            ["train", "--dataset", "mnist", "--seed", "-1", "--out", out], "train",
            ["argument --seed: expected an int >= 0, got '-1'"]),
        "evaluate --features model.npz": (
            ["evaluate", labels, "--features", arrays / "model.npz"], "evaluate",
            [f"--features {arrays / 'model.npz'}: expected a .npy array", ".npz archive"]),
        "evaluate --features 0-d": (
            ["evaluate", labels, "--features", arrays / "zero_d.npy"], "evaluate",
            ["--features", "zero_d.npy: expected an array with one row per image",
             "0-d array"]),
        "dec --idec inf": (
            ["dec", arrays / "model.npz", "--k", "2", "--idec", "inf", "--out", out], "dec",
            ["--idec: expected a finite weight >= 0 (0: DEC, 0.1-1: IDEC), got inf"]),
        "dec --normalize nan": (
            ["dec", arrays / "model.npz", "--k", "2", "--normalize", "nan", "--out", out],
            "dec", ["--normalize must be a finite positive length, got nan"]),
    }[case]
    _one_line_error(argv, command, *expected)
    assert not (out / "clusters.csv").exists()


def test_out_is_checked_before_the_training(photos, monkeypatch, capsys):
    """cluster-images used to train, then fail on --out; now it never starts."""
    def no_training(*args, **kwargs):
        raise AssertionError("trained before checking --out")

    monkeypatch.setattr(Autoencoder, "fit", no_training)
    assert main(["cluster-images", str(photos), "--k", "2", "--out", "/dev/null/x"]) == 2
    assert "--out /dev/null/x: cannot write there" in capsys.readouterr().err


def _raise(exc):
    def fail(*args, **kwargs):
        raise exc
    return fail


@pytest.mark.parametrize("exc, expected", [
    (OSError(errno.ENOSPC, "No space left on device"),
     "{out}: No space left on device; free some space, or give --out a folder on another "
     "disk"),
    (PermissionError(errno.EACCES, "Permission denied", "/some/where/scores.json"),
     "/some/where/scores.json: Permission denied; check its permissions"),
])
def test_a_full_disk_or_a_refused_permission_is_one_line_naming_the_path(arrays, monkeypatch,
                                                                         capsys, exc,
                                                                         expected):
    out = arrays / "scores.json"
    monkeypatch.setattr(scratchnet.cli.cluster, "write_json", _raise(exc))
    labels = str(arrays / "labels.npy")
    assert main(["evaluate", labels, "--truth", labels, "--out", str(out)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[-1] == "scratchnet evaluate: error: " + expected.format(out=out)


def test_a_dataset_not_on_disk_is_one_line_pointing_at_data_dir(tmp_path, monkeypatch,
                                                                capsys):
    cls = getattr(scratchnet.datasets, "DatasetNotFoundError", FileNotFoundError)
    message = ("load_mnist: 'train' split not found. Needed files, their official URLs and "
               "md5s:\n  train-images-idx3-ubyte.gz: https://example.org/a.gz (md5 0)\n"
               "Put them in one of these folders, searched in this order:\n  /a\n  /b")
    monkeypatch.setattr(scratchnet.cli._common, "load_images", _raise(cls(message)))
    assert main(["train", "--dataset", "mnist", "--out", str(tmp_path / "o")]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("scratchnet train: error: load_mnist: 'train' split not found.")
    assert "https://example.org/a.gz" in line and "/a; /b" in line
    assert line.endswith("; give --data-dir the folder that holds the mnist files")


@pytest.mark.parametrize("exc", [TypeError("a bug"), KeyboardInterrupt()])
def test_bugs_and_ctrl_c_are_not_swallowed(arrays, monkeypatch, exc):
    monkeypatch.setattr(scratchnet.cli.cluster, "external_scores", _raise(exc))
    labels = str(arrays / "labels.npy")
    with pytest.raises(type(exc)):
        main(["evaluate", labels, "--truth", labels])


def test_a_csv_with_a_byte_order_mark_is_read(tmp_path, capsys):
    path = tmp_path / "labels.csv"
    # the mark sticks to the first header, here the one the labels are read from
    path.write_text("cluster,label\n0,1\n0,1\n1,0\n1,0\n", encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")   # as Excel's "CSV UTF-8" writes it
    assert main(["evaluate", str(path)]) == 0
    assert "acc 1.0000" in capsys.readouterr().out


# ---- train ----------------------------------------------------------------------------------

def _data(tmp_path, n=40):
    write_idx_split(tmp_path / "data", n, 8, 8, split="test", seed=8)
    return tmp_path / "data"


def _train(data, out, *extra):
    return ["train", "--dataset", "mnist", "--split", "test", "--data-dir", str(data),
            "--seed", "0", "--out", str(out), *extra]


def test_resume_finishes_a_run_killed_before_its_metrics_and_figures(tmp_path, monkeypatch,
                                                                     capsys):
    data, out = _data(tmp_path), tmp_path / "run"
    with monkeypatch.context() as m:   # killed between the last checkpoint and the figures
        m.setattr(scratchnet.cli.train, "write_metrics_and_figures", _raise(KeyboardInterrupt()))
        with pytest.raises(KeyboardInterrupt):
            main(_train(data, out, "--epochs", "2", "--quiet"))
    assert (out / "model.npz").is_file() and not (out / "metrics.json").exists()
    capsys.readouterr()
    assert main(["train", "--out", str(out), "--epochs", "2", "--resume", "--quiet"]) == 0
    assert "writing the metrics.json and figures the run did not finish" in \
        capsys.readouterr().out
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["epochs"] == 2 and metrics["figure_errors"] == {}
    assert _main_figures(metrics) == {"loss", "reconstructions"}
    assert all(Path(p).is_file() for p in metrics["figures"].values())
    # now the run is complete: a second resume has nothing to do
    assert main(["train", "--out", str(out), "--epochs", "2", "--resume", "--quiet"]) == 0
    assert "already has 2 epochs (--epochs 2); nothing to do" in capsys.readouterr().out
    # a figure deleted since is drawn again
    Path(metrics["figures"]["loss"]).unlink()
    assert main(["train", "--out", str(out), "--epochs", "2", "--resume", "--quiet"]) == 0
    assert Path(metrics["figures"]["loss"]).is_file()


@pytest.mark.parametrize("length, bars, epochs", [
    (["--epochs", "2"], ["Epoch 1/2", "Epoch 2/2"], 2),
    # 36 training images, one batch of 128: one step an epoch
    (["--steps", "3"], ["Epoch 1/3, steps 1-1/3", "Epoch 3/3, steps 3-3/3"], 3),
])
def test_the_progress_bar_counts_the_whole_run_and_each_epoch_is_saved(tmp_path, monkeypatch,
                                                                       capsys, length, bars,
                                                                       epochs):
    saved = []
    real_save = Autoencoder.save

    def save(ae, path):
        saved.append(len(ae.history_["loss"]))
        real_save(ae, path)

    monkeypatch.setattr(Autoencoder, "save", save)
    assert main(_train(_data(tmp_path), tmp_path / "run", *length)) == 0
    err = capsys.readouterr().err
    assert all(bar in err for bar in bars), err
    assert "Epoch 1/1" not in err
    # a checkpoint after each epoch, with the history so far
    assert saved == list(range(1, epochs + 1))
    assert len(Autoencoder.load(tmp_path / "run" / "model.npz").history_["loss"]) == epochs


# ---- a first run that tells the truth ----------------------------------------------------

def test_help_shows_each_default_once(capsys):
    for command in ("train", "cluster", "dec", "evaluate", "cluster-images"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        text = " ".join(capsys.readouterr().out.split())
        assert "(default: None)" not in text and "(default: False)" not in text
        assert "default: default" not in text
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "total number of epochs (default: 20; with --resume, the run's own)" in text
    assert "same seed, same result (default: 0)" in text


def test_cluster_images_reads_sub_folders_and_says_what_it_left_out(tmp_path, capsys):
    folder = tmp_path / "photos"
    (folder / "2023").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(6):
        a = rng.integers(0, 60, size=(16, 16, 3)).astype(np.uint8)
        a[..., i % 2] += 180
        Image.fromarray(a).save(folder / ("2023" if i % 2 else ".") / f"img_{i}.png")
    Image.fromarray(a).save(folder / "img_bmp.bmp")
    (folder / "notes.txt").write_text("not an image")
    assert main(["cluster-images", str(folder), "--k", "2", "--steps", "1", "--n-init", "1",
                 "--size", "8", "--quiet", "--out", str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out
    assert f"{folder}: 7 images" in printed and "1 other file(s) left out" in printed
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert metrics["n"] == 7


def test_dec_prints_no_nan_at_step_0_and_its_history_axes_say_what_they_are(tmp_path,
                                                                            monkeypatch,
                                                                            capsys):
    data = _data(tmp_path)
    assert main(_train(data, tmp_path / "run", "--epochs", "1", "--quiet")) == 0
    axes = {}
    real = plot.loss_curves

    def spy(history, path=None, **kwargs):
        fig = real(history, path=path, **kwargs)
        axes[Path(path).name] = (fig.axes[0].get_xlabel(), fig.axes[0].get_ylabel())
        return fig

    monkeypatch.setattr(plot, "loss_curves", spy)
    capsys.readouterr()
    assert main(["dec", str(tmp_path / "run"), "--k", "3", "--n-init", "1", "--max-iter", "4",
                 "--update-interval", "2", "--tol", "0", "--out", str(tmp_path / "dec")]) == 0
    out = capsys.readouterr().out
    step0 = [line for line in out.splitlines() if "step      0:" in line]
    assert step0 and "nan" not in step0[0] and "KL -" in step0[0]
    assert axes["dec_history.png"] == ("target refresh (every 2 steps)",
                                       "KL loss, fraction of labels changed, accuracy")


def test_loss_curves_label_their_axes():
    ax = plot.loss_curves({"loss": [0.7, 0.6], "val_loss": [0.8, 0.7]}).axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("epoch", "loss")
    ax = plot.loss_curves({"loss": [0.7]}, ylabel="binary cross-entropy").axes[0]
    assert ax.get_ylabel() == "binary cross-entropy"
    ax = plot.loss_curves({"loss": [1.0], "acc": [0.5]}, xlabel="target refresh").axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("target refresh", "loss, acc")


# ---- cluster-images: memory, its own output, links; one writer per folder ---------------------

def _run_limited(argv, limit_bytes):
    """``scratchnet argv`` in a child whose address space is capped: a run that tried to
    allocate what it refuses would die instead of exiting 2."""
    import resource

    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))
    run = subprocess.run(COMMAND + [str(a) for a in argv], capture_output=True, text=True,
                         cwd=REPO, timeout=120, preexec_fn=cap)
    return run.returncode, run.stderr.splitlines()


@pytest.mark.parametrize("size", ["4096", "1000000"])
def test_cluster_images_refuses_a_size_beyond_what_the_model_can_use(photos, tmp_path, size):
    status, err = _run_limited(["cluster-images", photos, "--k", "2", "--size", size,
                                "--out", tmp_path / "out"], 3 * 2**30)
    assert status == 2 and len(err) == 1 and "Traceback" not in err[0], err
    assert "--size: expected sides of at most 512 pixels" in err[0]
    assert f"got {size} x {size}" in err[0]


def test_cluster_images_refuses_a_run_that_cannot_fit_in_memory(photos, tmp_path, capsys,
                                                               monkeypatch):
    """The estimate is made before any image is read, against the memory available."""
    import tracemalloc
    import scratchnet.cli.images as images
    monkeypatch.setattr(images, "available_memory", lambda: 2**30)      # a 1 GiB machine
    tracemalloc.start()
    try:
        status = main(["cluster-images", str(photos), "--k", "2", "--size", "512",
                       "--out", str(tmp_path / "out")])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(err) == 1, err
    assert "3 images of 3 x 512 x 512 need about" in err[0]
    assert "this machine has 1.0 GiB available; expected a smaller --size" in err[0]
    assert peak < 100e6
    # the estimate is of the right size: 24 images of 3 x 256 x 256 took 2.3 GB measured
    ae = scratchnet.models.pool_autoencoder(in_channels=3, image_size=256)
    assert 2.0e9 < images.memory_needed(ae, 24) < 4.0e9


def test_cluster_images_leaves_out_its_own_output_and_earlier_runs(photos, tmp_path, capsys):
    argv = ["cluster-images", str(photos), "--k", "2", "--steps", "1", "--n-init", "1",
            "--size", "8", "--quiet"]
    assert main(argv + ["--out", str(photos / "out")]) == 0
    assert main(argv + ["--out", str(photos / "out")]) == 0
    printed = capsys.readouterr().out
    assert f"left out {photos / 'out'}: the output folder of this run" in printed
    assert json.loads((photos / "out" / "metrics.json").read_text())["n"] == 3
    # an earlier run's folder (it holds a metrics.json) is not read as photos either
    assert main(argv + ["--out", str(tmp_path / "elsewhere")]) == 0
    printed = capsys.readouterr().out
    assert f"left out {photos / 'out'}: holds a run's metrics.json" in printed
    assert json.loads((tmp_path / "elsewhere" / "metrics.json").read_text())["n"] == 3


def test_cluster_images_follows_linked_folders_once(photos, tmp_path, capsys):
    """A linked sub-folder is read; a link back to a parent is reported, not looped."""
    more = tmp_path / "more"
    more.mkdir()
    for i in range(3):
        Image.fromarray(np.full((8, 8, 3), 30 + 60 * i, np.uint8)).save(more / f"m{i}.png")
    (photos / "linked").symlink_to(more, target_is_directory=True)
    (more / "loop").symlink_to(photos, target_is_directory=True)
    assert main(["cluster-images", str(photos), "--k", "2", "--steps", "1", "--n-init", "1",
                 "--size", "8", "--quiet", "--out", str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out
    assert f"{photos}: 6 images" in printed
    assert f"left out {photos / 'linked' / 'loop'}: a link to a folder already read" in printed


def test_a_second_run_on_a_folder_in_use_is_refused_and_a_stale_lock_reclaimed(tmp_path):
    data = _data(tmp_path)
    out = tmp_path / "run"
    out.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (out / ".scratchnet.lock").write_text(json.dumps(
            {"pid": holder.pid, "host": __import__("os").uname().nodename, "started": 0}))
        _one_line_error(_train(data, out, "--epochs", "1", "--quiet"), "train",
                        f"--out {out} is in use by another run (pid {holder.pid} on",
                        "choose another folder")
        assert not (out / "model.npz").exists()
    finally:
        holder.kill()
        holder.wait()
    # its process is gone: the lock is stale, the next run takes it and removes it at the end
    status, err = _run(*_train(data, out, "--epochs", "1", "--quiet"))
    assert status == 0, err
    assert (out / "model.npz").is_file() and not (out / ".scratchnet.lock").exists()


def test_two_runs_started_together_on_one_folder_one_wins(tmp_path):
    data = _data(tmp_path)
    out = tmp_path / "run"
    runs = [subprocess.Popen(COMMAND + [str(a) for a in _train(data, out, "--epochs", "2",
                                                                "--quiet")],
                             cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             text=True) for _ in range(2)]
    results = [(r.wait(timeout=300), r.stderr.read()) for r in runs]
    assert sorted(status for status, _ in results) == [0, 2], results
    loser = next(err for status, err in results if status == 2)
    assert "is in use by another run" in loser or "exists; continue it with --resume" in loser
    assert (out / "model.npz").is_file() and not (out / ".scratchnet.lock").exists()
