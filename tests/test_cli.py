"""The ``scratchnet`` command line: every subcommand on tiny data, resuming an interrupted
``train``, repeatability with ``--seed``, and clear errors for bad input.

Most tests call ``main(argv)`` in this process (fast); two run ``python -m scratchnet`` as a
user would, to check the exit status and the message on stderr.
"""
import configparser
import csv
import importlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

import scratchnet.cli.train
import scratchnet.plot
from scratchnet.cli import main
from scratchnet.models import Autoencoder

from ._synthetic import write_idx_split

REPO = Path(__file__).resolve().parents[1]
N = 160  # Fashion-MNIST images used by the train/cluster tests

def _main_figures(metrics):
    """The figure keys of a run without its per-cluster strips and centroids (report.html)."""
    return {k for k in metrics["figures"] if not k.startswith(("strip_", "centroid_"))}



def _weights(path):
    return [p.value for p in Autoencoder.load(path).model.parameters()]


def _read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _train_argv(data_dir, out, epochs):
    return ["train", "--dataset", "fashion-mnist", "--data-dir", str(data_dir), "--limit",
            str(N), "--epochs", str(epochs), "--seed", "1", "--out", str(out), "--quiet"]


@pytest.fixture(scope="module")
def trained(fashion_mnist_dir, tmp_path_factory):
    """A 2-epoch run of the default model on 160 Fashion-MNIST images."""
    out = tmp_path_factory.mktemp("train") / "run"
    argv = _train_argv(fashion_mnist_dir, out, epochs=2)
    assert main(argv) == 0
    return out, argv


# ---- train --------------------------------------------------------------------------------

@pytest.mark.realdata
def test_train_writes_checkpoint_config_and_figures(trained):
    out, _ = trained
    config = json.loads((out / "train.json").read_text())
    assert config["model"] == "mnist-conv" and config["seed"] == 1 and config["limit"] == N
    ae = Autoencoder.load(out / "model.npz")
    assert ae.code_shape == (2, 7, 7) and len(ae.history_["loss"]) == 2
    assert len(ae.history_["val_loss"]) == 2
    assert ae.optimizer_ is not None and ae.optimizer_.t > 0   # optimizer state saved
    for name in ("loss_curves.png", "reconstructions.png", "metrics.json"):
        assert (out / name).is_file()


@pytest.mark.slow
@pytest.mark.realdata
def test_interrupted_train_resumes_from_the_right_epoch(fashion_mnist_dir, tmp_path, capsys):
    # "Interrupted" after 2 of 3 epochs, then resumed; against 3 epochs in one go.
    assert main(_train_argv(fashion_mnist_dir, tmp_path / "short", epochs=2)) == 0
    assert main(_train_argv(fashion_mnist_dir, tmp_path / "straight", epochs=3)) == 0
    capsys.readouterr()
    argv_resume = ["train", "--out", str(tmp_path / "short"), "--epochs", "3", "--resume",
                   "--quiet"]
    assert main(argv_resume) == 0
    assert "resuming mnist-conv at epoch 3 of 3" in capsys.readouterr().out
    resumed, straight = tmp_path / "short" / "model.npz", tmp_path / "straight" / "model.npz"
    assert Autoencoder.load(resumed).history_ == Autoencoder.load(straight).history_
    assert all(np.array_equal(a, b) for a, b in zip(_weights(resumed), _weights(straight)))
    # Resuming a finished run does nothing and says so.
    assert main(argv_resume) == 0
    assert "already has 3 epochs" in capsys.readouterr().out


@pytest.mark.realdata
def test_train_refuses_to_overwrite_and_to_resume_nothing(trained, tmp_path, capsys):
    out, argv = trained
    assert main(argv) == 2
    assert "exists; continue it with --resume" in capsys.readouterr().err
    assert main(["train", "--out", str(tmp_path / "none"), "--resume"]) == 2
    assert "no checkpoint in" in capsys.readouterr().err


@pytest.mark.realdata
def test_train_rejects_a_model_that_does_not_fit_the_images(fashion_mnist_dir, tmp_path,
                                                             capsys):
    argv = ["train", "--dataset", "fashion-mnist", "--data-dir", str(fashion_mnist_dir),
            "--limit", "20", "--model", "cifar-conv", "--out", str(tmp_path)]
    assert main(argv) == 2
    assert ("model 'cifar-conv' does not fit images (1, 28, 28): cifar_autoencoder: expected "
            "image height and width divisible by 8") in capsys.readouterr().err


# ---- cluster and evaluate -----------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.realdata
def test_cluster_writes_labels_codes_figures_and_repeats(trained, tmp_path):
    out, _ = trained
    argv = ["cluster", str(out), "--k", "4", "--n-init", "2", "--limit", str(N), "--quiet"]
    assert main(argv + ["--out", str(tmp_path / "a")]) == 0
    rows = _read_csv(tmp_path / "a" / "labels.csv")
    assert len(rows) == N and list(rows[0]) == ["index", "cluster", "label"]
    clusters = np.array([int(r["cluster"]) for r in rows])
    assert set(clusters) == {0, 1, 2, 3}
    assert np.load(tmp_path / "a" / "codes.npy").shape == (N, 98)
    metrics = json.loads((tmp_path / "a" / "metrics.json").read_text())
    assert metrics["k"] == 4 and -1 <= metrics["scores"]["silhouette"] <= 1
    assert sum(c["size"] for c in metrics["composition"]) == N
    for png in ("clusters_contact_sheet.png", "confusion_matrix.png", "decoded_centroids.png",
                "codes_scatter.png"):
        assert (tmp_path / "a" / png).stat().st_size > 0

    assert main(argv + ["--out", str(tmp_path / "b"), "--format", "npy"]) == 0
    assert np.array_equal(np.load(tmp_path / "b" / "labels.npy"), clusters)   # same seed
    truth = np.load(tmp_path / "b" / "true_labels.npy")
    assert np.array_equal(truth, [int(r["label"]) for r in rows])


def _dec_argv(trained_out, out, max_iter, *extra):
    return ["dec", str(trained_out), "--k", "4", "--limit", str(N), "--n-init", "2",
            "--max-iter", str(max_iter), "--update-interval", "4", "--tol", "0",
            "--batch-size", "32", "--quiet", "--out", str(out), *extra]


@pytest.mark.slow
@pytest.mark.realdata
def test_dec_writes_results_and_an_interrupted_run_resumes_to_the_same_labels(trained,
                                                                              tmp_path, capsys):
    out, _ = trained
    assert main(_dec_argv(out, tmp_path / "straight", 12)) == 0
    rows = _read_csv(tmp_path / "straight" / "labels.csv")
    assert len(rows) == N and list(rows[0]) == ["index", "cluster", "label"]
    metrics = json.loads((tmp_path / "straight" / "metrics.json").read_text())
    assert metrics["n_iter"] == 12 and metrics["settings"]["k"] == 4
    assert 0 <= metrics["scores"]["acc"] <= 1
    assert metrics["history"]["iteration"] == [0, 4, 8]
    for png in ("confusion_matrix.png", "dec_history.png", "clusters_contact_sheet.png",
                "decoded_centroids.png"):
        assert (tmp_path / "straight" / png).stat().st_size > 0
    # "interrupted" after 8 steps (last checkpoint at the refresh of step 4), then resumed
    assert main(_dec_argv(out, tmp_path / "cut", 8)) == 0
    capsys.readouterr()
    assert main(_dec_argv(out, tmp_path / "cut", 12, "--resume")) == 0
    assert "resuming DEC from" in capsys.readouterr().out
    assert _read_csv(tmp_path / "cut" / "labels.csv") == rows
    # a finished run is not overwritten by accident
    assert main(_dec_argv(out, tmp_path / "cut", 12)) == 2
    assert "exists; continue it with --resume" in capsys.readouterr().err
    # nor continued with other settings, or on other images of the same number
    assert main(_dec_argv(out, tmp_path / "cut", 16, "--resume", "--normalize", "4")) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "was written with other settings: encoder" in err[0], err
    assert main(_dec_argv(out, tmp_path / "cut", 16, "--resume", "--seed", "1")) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "was written for other data" in err[0], err


@pytest.mark.slow
@pytest.mark.realdata
@pytest.mark.parametrize("extra", [["--normalize", "3"], ["--idec", "1", "--optimizer", "adam"]])
def test_dec_normalised_codes_and_idec_with_the_convolutional_autoencoder(trained, tmp_path,
                                                                          extra):
    out, _ = trained
    assert main(_dec_argv(out, tmp_path, 8, *extra)) == 0
    labels = [int(r["cluster"]) for r in _read_csv(tmp_path / "labels.csv")]
    assert len(labels) == N and set(labels) <= {0, 1, 2, 3}
    assert (tmp_path / "decoded_centroids.png").stat().st_size > 0


@pytest.mark.slow
@pytest.mark.realdata
def test_dec_start_from_the_pixel_clusters(trained, tmp_path):
    """--start pixels gives DEC other first centroids than K-means on the codes."""
    out, _ = trained
    first = {}
    for start in ("codes", "pixels"):
        assert main(_dec_argv(out, tmp_path / start, 4, "--start", start)) == 0
        metrics = json.loads((tmp_path / start / "metrics.json").read_text())
        assert metrics["settings"]["start"] == start and metrics["n_iter"] == 4
        first[start] = (metrics["history"]["acc"][0], metrics["history"]["nmi"][0])
    assert first["codes"] != first["pixels"]


@pytest.mark.realdata
@pytest.mark.parametrize("extra, message", [
    (["--normalize", "2", "--idec", "1"], "--normalize and --idec do not go together"),
    (["--normalize", "-1"], "--normalize must be a finite positive length"),
    (["--resume"], "--resume: no checkpoint"),
    (["--k", "161"], "--k must be between 1 and 160 (the number of images in fashion-mnist"),
])
def test_dec_errors(trained, tmp_path, capsys, extra, message):
    out, _ = trained
    assert main(_dec_argv(out, tmp_path / "x", 4, *extra)) == 2
    assert message in capsys.readouterr().err


@pytest.mark.realdata
def test_evaluate_agrees_with_scikit_learn_and_with_cluster(trained, tmp_path, capsys):
    out, _ = trained
    main(["cluster", str(out), "--k", "5", "--n-init", "2", "--limit", str(N), "--quiet",
          "--out", str(tmp_path)])
    rows = _read_csv(tmp_path / "labels.csv")
    pred = np.array([int(r["cluster"]) for r in rows])
    truth = np.array([int(r["label"]) for r in rows])
    assert main(["evaluate", str(tmp_path / "labels.csv"), "--features",
                 str(tmp_path / "codes.npy"), "--out", str(tmp_path / "ev.json")]) == 0
    scores = json.loads((tmp_path / "ev.json").read_text())["scores"]
    assert scores["nmi"] == pytest.approx(normalized_mutual_info_score(truth, pred), abs=1e-10)
    assert scores["ari"] == pytest.approx(adjusted_rand_score(truth, pred), abs=1e-10)
    clustered = json.loads((tmp_path / "metrics.json").read_text())["scores"]
    for key in ("silhouette", "dunn", "acc", "nmi", "ari", "purity"):
        assert scores[key] == pytest.approx(clustered[key], rel=1e-12), key

    # .npy labels with a separate truth file; external scores only.
    np.save(tmp_path / "pred.npy", pred)
    np.save(tmp_path / "truth.npy", truth)
    capsys.readouterr()
    assert main(["evaluate", str(tmp_path / "pred.npy"), "--truth",
                 str(tmp_path / "truth.npy")]) == 0
    printed = capsys.readouterr().out
    assert f"acc {scores['acc']:.4f}" in printed and "silhouette" not in printed


@pytest.mark.parametrize("args, message", [
    (["--truth", "truth.npy"], "--truth has 4 rows, the labels 5"),
    ([], "nothing to score against"),
    (["--features", "missing.npy"], "no such file"),
])
def test_evaluate_errors(tmp_path, capsys, args, message):
    np.save(tmp_path / "pred.npy", np.array([0, 1, 0, 1, 1]))
    np.save(tmp_path / "truth.npy", np.array([0, 1, 0, 1]))
    args = [str(tmp_path / a) if a.endswith(".npy") else a for a in args]
    assert main(["evaluate", str(tmp_path / "pred.npy"), *args]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("where", ["header", "rows"])
def test_evaluate_names_a_csv_that_is_not_utf8(tmp_path, capsys, where):
    path = tmp_path / "labels.csv"
    text = "cluster,label\n0,1\n1,0\n"
    data = text.replace("label", "label\xe9" if where == "header" else "label").encode("latin-1")
    if where == "rows":
        data += "1,0 \xe9\n".encode("latin-1")
    path.write_bytes(data)
    assert main(["evaluate", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"{path}: expected a UTF-8 text CSV, got byte 0xe9" in err[0], err


def _npy_declaring(path, shape, dtype="<f8"):
    """A .npy file with a valid header for ``shape`` and only 16 bytes of data after it."""
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(f, {"descr": dtype, "fortran_order": False,
                                                 "shape": shape})
        f.write(b"\0" * 16)


@pytest.mark.parametrize("what", ["strings", "huge header", "labels of strings"])
def test_evaluate_refuses_arrays_it_cannot_use_in_one_line(tmp_path, capsys, what):
    """A .npy of strings as features or labels, and one whose header declares 75 GB of
    float64 that the file does not hold (refused before any allocation: the run stays small)."""
    import tracemalloc
    np.save(tmp_path / "pred.npy", np.array([0, 1, 0, 1, 1]))
    argv = ["evaluate", str(tmp_path / "pred.npy"), "--features", str(tmp_path / "f.npy")]
    if what == "strings":
        np.save(tmp_path / "f.npy", np.array(["a", "b", "c", "d", "e"]))
        says = "expected numbers (one row of features per image), got an array of <U1"
    elif what == "huge header":
        _npy_declaring(tmp_path / "f.npy", (5, 1875000000))
        says = "its header declares (5, 1875000000) float64 (75,000,000,000 bytes)"
    else:
        np.save(tmp_path / "s.npy", np.array(["a", "b", "c", "d", "e"]))
        argv = ["evaluate", str(tmp_path / "s.npy"), "--truth", str(tmp_path / "pred.npy")]
        says = "expected a 1-d integer array, got <U1"
    tracemalloc.start()
    try:
        assert main(argv) == 2
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and says in err[0], err
    assert peak < 50e6


# ---- cluster-images -----------------------------------------------------------------------

@pytest.fixture
def image_folder(tmp_path):
    """18 noisy 40×40 PNGs: 6 mostly red, 6 mostly green, 6 mostly blue; plus a text file."""
    rng = np.random.default_rng(0)
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(18):
        a = rng.integers(0, 60, size=(40, 40, 3)).astype(np.uint8)
        a[..., i % 3] += 180
        Image.fromarray(a).save(folder / f"img_{i:02d}.png")
    (folder / "notes.txt").write_text("not an image")
    return folder


def test_cluster_images_separates_the_colours_and_repeats(image_folder, tmp_path):
    argv = ["cluster-images", str(image_folder), "--k", "3", "--epochs", "3", "--n-init", "3",
            "--quiet"]
    assert main(argv + ["--out", str(tmp_path / "a")]) == 0
    rows = _read_csv(tmp_path / "a" / "clusters.csv")
    assert [Path(r["path"]).name for r in rows] == [f"img_{i:02d}.png" for i in range(18)]
    clusters = [int(r["cluster"]) for r in rows]
    assert adjusted_rand_score([i % 3 for i in range(18)], clusters) == 1.0
    assert sorted(p.name for p in (tmp_path / "a").glob("cluster_*.png")) == \
        ["cluster_00.png", "cluster_01.png", "cluster_02.png"]
    metrics = json.loads((tmp_path / "a" / "metrics.json").read_text())
    assert sorted(metrics["sizes"]) == [6, 6, 6] and metrics["n"] == 18
    assert main(argv + ["--out", str(tmp_path / "b")]) == 0
    assert _read_csv(tmp_path / "b" / "clusters.csv") == rows


@pytest.mark.parametrize("case, message", [
    ("missing", "is not a folder"),
    ("empty", "no readable .png/.jpg/.jpeg/.bmp/.gif/.webp/.tif/.tiff image"),
    ("too_many", "--k must be between 1 and 17 (one less than the 18 images in"),
])
def test_cluster_images_errors(image_folder, tmp_path, capsys, case, message):
    folder = {"missing": tmp_path / "nope", "empty": tmp_path / "empty",
              "too_many": image_folder}[case]
    (tmp_path / "empty").mkdir()
    k = "19" if case == "too_many" else "2"
    assert main(["cluster-images", str(folder), "--k", k, "--out", str(tmp_path / "o")]) == 2
    assert message in capsys.readouterr().err


# ---- any image size: train, cluster and dec on synthetic IDX files ----------------------

def _idx_dir(tmp_path, n, size):
    write_idx_split(tmp_path / "data", n, size, size, split="test", seed=size)
    return tmp_path / "data"


def _synthetic_train(data_dir, out, *extra):
    return ["train", "--dataset", "mnist", "--split", "test", "--data-dir", str(data_dir),
            "--seed", "0", "--quiet", "--out", str(out), *extra]


def _metrics(folder):
    return json.loads((folder / "metrics.json").read_text())


def _figures_exist(metrics):
    assert metrics["figure_errors"] == {} and metrics["figures"]
    return all(Path(p).stat().st_size > 0 for p in metrics["figures"].values())


@pytest.mark.parametrize("size, model, code", [(8, None, 8), (16, None, 32), (10, "dense", 10)])
def test_train_cluster_dec_on_other_image_sizes(tmp_path, size, model, code):
    """The 16×16 IDX digits that crashed a user's run after all its training: every command
    now works on them, on 8×8, and (dense model) on 10×10."""
    data = _idx_dir(tmp_path, 60, size)
    model_flag = ["--model", model] if model else []
    assert main(_synthetic_train(data, tmp_path / "run", "--epochs", "2", *model_flag)) == 0
    trained = _metrics(tmp_path / "run")
    assert trained["epochs"] == 2 and _figures_exist(trained)
    assert _main_figures(trained) == {"loss", "reconstructions"}

    assert main(["cluster", str(tmp_path / "run"), "--k", "4", "--n-init", "2", "--quiet",
                 "--out", str(tmp_path / "clusters")]) == 0
    clustered = _metrics(tmp_path / "clusters")
    assert clustered["n"] == 60 and 0 <= clustered["scores"]["acc"] <= 1
    assert np.load(tmp_path / "clusters" / "codes.npy").shape == (60, code)
    assert _figures_exist(clustered) and "centroids" in clustered["figures"]

    assert main(["dec", str(tmp_path / "run"), "--k", "4", "--n-init", "2", "--max-iter", "4",
                 "--update-interval", "2", "--tol", "0", "--batch-size", "16", "--quiet",
                 "--out", str(tmp_path / "dec")]) == 0
    refined = _metrics(tmp_path / "dec")
    assert refined["n_iter"] == 4 and _figures_exist(refined)
    assert _main_figures(refined) == {"confusion", "history", "clusters", "centroids"}


def test_train_refuses_a_size_the_model_cannot_take_before_training(tmp_path, capsys):
    data = _idx_dir(tmp_path, 20, 10)
    assert main(_synthetic_train(data, tmp_path / "run")) == 2
    err = capsys.readouterr().err
    assert ("model 'mnist-conv' does not fit images (1, 10, 10): mnist_conv_autoencoder: "
            "expected image height and width divisible by 4") in err
    assert "got 10x10" in err and "--model dense takes any size" in err
    assert not (tmp_path / "run" / "model.npz").exists()


@pytest.mark.parametrize("command", ["train", "cluster", "dec"])
def test_a_failing_figure_leaves_the_results_and_exit_status_0(tmp_path, monkeypatch, capsys,
                                                               command):
    data = _idx_dir(tmp_path, 40, 8)
    if command != "train":
        assert main(_synthetic_train(data, tmp_path / "run", "--epochs", "1")) == 0
    argv = {"train": _synthetic_train(data, tmp_path / "out", "--epochs", "1"),
            "cluster": ["cluster", str(tmp_path / "run"), "--k", "3", "--n-init", "1",
                        "--quiet", "--out", str(tmp_path / "out")],
            "dec": ["dec", str(tmp_path / "run"), "--k", "3", "--n-init", "1", "--max-iter",
                    "2", "--quiet", "--out", str(tmp_path / "out")]}[command]
    broken = "loss_curves" if command == "train" else "confusion_matrix"
    key = "loss" if command == "train" else "confusion"

    def fail(*args, **kwargs):
        raise ValueError("no figure today")

    monkeypatch.setattr(scratchnet.plot, broken, fail)
    capsys.readouterr()
    assert main(argv) == 0
    metrics = _metrics(tmp_path / "out")
    assert metrics["figure_errors"] == {key: "ValueError: no figure today"}
    assert key not in metrics["figures"] and metrics["figures"]
    assert "scores" in metrics or "history" in metrics
    assert f"warning: figure '{key}' (" in capsys.readouterr().err


# ---- train --steps ----------------------------------------------------------------------

def test_train_steps_resume_and_extend(tmp_path, capsys):
    """300 images of 8×8, 270 to train in batches of 128: 3 steps per epoch. --steps 7 runs
    2 epochs and 1 step; cut after epoch 1 and resumed it gives the same weights; a finished
    --steps 4 run (partial last epoch) extended to --steps 7 takes 7 optimizer steps in all."""
    data = _idx_dir(tmp_path, 300, 8)
    assert main(_synthetic_train(data, tmp_path / "straight", "--steps", "7")) == 0
    straight = Autoencoder.load(tmp_path / "straight" / "model.npz")
    assert straight.optimizer_.t == 7 and len(straight.history_["loss"]) == 3
    assert _metrics(tmp_path / "straight")["steps"] == 7

    assert main(_synthetic_train(data, tmp_path / "cut", "--epochs", "1")) == 0
    capsys.readouterr()
    assert main(["train", "--out", str(tmp_path / "cut"), "--steps", "7", "--resume",
                 "--quiet"]) == 0
    assert "resuming mnist-conv at epoch 2 of 3, step 4 of 7" in capsys.readouterr().out
    resumed = tmp_path / "cut" / "model.npz"
    assert Autoencoder.load(resumed).history_ == straight.history_
    assert all(np.array_equal(a, b) for a, b in
               zip(_weights(resumed), _weights(tmp_path / "straight" / "model.npz")))
    assert main(["train", "--out", str(tmp_path / "cut"), "--steps", "7", "--resume"]) == 0
    assert "already has 7 steps (--steps 7); nothing to do" in capsys.readouterr().out

    assert main(_synthetic_train(data, tmp_path / "short", "--steps", "4")) == 0
    assert main(["train", "--out", str(tmp_path / "short"), "--steps", "7", "--resume",
                 "--quiet"]) == 0
    extended = Autoencoder.load(tmp_path / "short" / "model.npz")
    # epochs of 3 steps, 1 step (where --steps 4 ended), then a new one of 3
    assert extended.optimizer_.t == 7 and len(extended.history_["loss"]) == 3


def _interrupt_after_epoch(monkeypatch, last):
    """Make ``train`` stop as Ctrl-C would, right after the checkpoint of epoch ``last``."""
    save = scratchnet.cli.train._CheckpointEachEpoch.on_epoch_end

    def on_epoch_end(self, epoch, logs):
        save(self, epoch, logs)
        if epoch == last:
            raise KeyboardInterrupt
    monkeypatch.setattr(scratchnet.cli.train._CheckpointEachEpoch, "on_epoch_end", on_epoch_end)


@pytest.mark.parametrize("length", [("--epochs", "4"), ("--steps", "8")])
def test_bare_resume_finishes_the_run_it_continues(tmp_path, capsys, monkeypatch, length):
    """A run of --epochs 4 (or --steps 8: 3 steps an epoch) cut after its second epoch and
    resumed with a bare --resume goes to the length it was started with, not the default."""
    data = _idx_dir(tmp_path, 300, 8)
    with monkeypatch.context() as m:
        _interrupt_after_epoch(m, last=1)
        with pytest.raises(KeyboardInterrupt):
            main(_synthetic_train(data, tmp_path / "cut", *length))
    assert len(Autoencoder.load(tmp_path / "cut" / "model.npz").history_["loss"]) == 2
    assert main(["train", "--out", str(tmp_path / "cut"), "--resume", "--quiet"]) == 0
    ae = Autoencoder.load(tmp_path / "cut" / "model.npz")
    if length[0] == "--epochs":
        assert len(ae.history_["loss"]) == 4
    else:
        assert ae.optimizer_.t == 8
    assert main(_synthetic_train(data, tmp_path / "straight", *length)) == 0
    assert ae.history_ == Autoencoder.load(tmp_path / "straight" / "model.npz").history_
    # asked for more, it goes on and says that the length changed
    capsys.readouterr()
    more = ("--epochs", "5") if length[0] == "--epochs" else ("--steps", "10")
    assert main(["train", "--out", str(tmp_path / "cut"), "--resume", "--quiet", *more]) == 0
    assert f"it now goes to {' '.join(more)}" in capsys.readouterr().out
    assert json.loads((tmp_path / "cut" / "train.json").read_text())[more[0][2:]] == \
        int(more[1])


@pytest.mark.parametrize("content, says", [
    ("[1, 2]", "expected a JSON object of the run's settings, got list"),
    ("{}", "dataset, model, split, seed missing"),
    ('{"dataset": "mnist", "model": "mnist-conv", "split": "test", "seed": "0"}',
     'expected seed to be an integer >= 0, got "0"'),
    ('{"dataset": "mnist", "model": "mnist-conv", "split": "test", "seed": 0, "limit": "9"}',
     'expected limit to be null or a positive integer, got "9"'),
    ('{"dataset": "mnist", "model": "mnist-conv", "split": "test", "seed": 0, "epochs": 0}',
     "expected epochs to be null or a positive integer, got 0"),
    ('{"dataset": "mnist", ', "got a syntax error"),
])
def test_a_damaged_train_json_is_one_line_naming_the_file(tmp_path, capsys, content, says):
    data = _idx_dir(tmp_path, 40, 8)
    out = tmp_path / "run"
    assert main(_synthetic_train(data, out, "--epochs", "1")) == 0
    (out / "train.json").write_text(content)
    capsys.readouterr()
    assert main(["train", "--out", str(out), "--resume", "--epochs", "2"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(out / "train.json") in err[0] and says in err[0], err
    assert main(["cluster", str(out), "--k", "3", "--quiet", "--out", str(tmp_path / "c")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and says in err[0], err


@pytest.mark.parametrize("steps", ["0", "-1", "2.5", "many"])
def test_train_refuses_bad_steps(tmp_path, capsys, steps):
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--dataset", "mnist", "--out", str(tmp_path), "--steps", steps])
    assert exit_.value.code == 2
    assert f"--steps: expected a positive int, got '{steps}'" in capsys.readouterr().err


def test_cluster_images_at_another_size_and_a_size_it_refuses(image_folder, tmp_path, capsys):
    argv = ["cluster-images", str(image_folder), "--k", "3", "--steps", "4", "--n-init", "2",
            "--quiet"]
    assert main(argv + ["--size", "16", "--out", str(tmp_path / "a")]) == 0
    assert Autoencoder.load(tmp_path / "a" / "model.npz").input_shape == (3, 16, 16)
    metrics = _metrics(tmp_path / "a")
    assert len(metrics["contact_sheets"]) == 3 and metrics["figure_errors"] == {}
    assert main(argv + ["--size", "12", "20", "--grayscale", "--out", str(tmp_path / "b")]) == 0
    assert Autoencoder.load(tmp_path / "b" / "model.npz").input_shape == (1, 12, 20)
    assert main(argv + ["--size", "30", "--out", str(tmp_path / "c")]) == 2
    assert "--size 30 30: pool_autoencoder: expected image height and width divisible by 4" \
        in capsys.readouterr().err

# ---- as a user runs it --------------------------------------------------------------------

def test_python_dash_m_reports_errors_on_stderr_with_status_2(tmp_path):
    run = subprocess.run([sys.executable, "-m", "scratchnet", "cluster-images",
                          str(tmp_path / "nope"), "--k", "3", "--out", str(tmp_path / "o")],
                         capture_output=True, text=True, cwd=REPO, timeout=120)
    assert run.returncode == 2
    assert run.stderr.strip() == f"scratchnet cluster-images: error: {tmp_path / 'nope'} " \
                                 "is not a folder"
    usage = subprocess.run([sys.executable, "-m", "scratchnet", "--help"], capture_output=True,
                           text=True, cwd=REPO, timeout=120)
    assert usage.returncode == 0
    for command in ("train", "cluster", "evaluate", "cluster-images"):
        assert command in usage.stdout


def test_console_script_points_at_main():
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "setup.cfg")
    (line,) = [s.strip() for s in cfg["options.entry_points"]["console_scripts"].splitlines()
               if s.strip()]
    name, target = (s.strip() for s in line.split("="))
    module, func = target.split(":")
    assert name == "scratchnet" and getattr(importlib.import_module(module), func) is main


def test_cluster_and_dec_use_the_training_runs_limit_and_subset(tmp_path):
    """R9: a model trained on a random 40 of 60 images is clustered on those same 40 (the run's
    --limit, drawn with the run's seed), not on all 60, unless --limit says otherwise."""
    data = _idx_dir(tmp_path, 60, 8)
    argv = _synthetic_train(data, tmp_path / "run", "--epochs", "1", "--limit", "40")
    argv[argv.index("--seed") + 1] = "3"
    assert main(argv) == 0
    from scratchnet.datasets import load_images
    X_run, y_run = load_images("mnist", "test", str(data), limit=40, random_state=3)
    assert main(["cluster", str(tmp_path / "run"), "--k", "3", "--n-init", "1", "--quiet",
                 "--seed", "0", "--out", str(tmp_path / "c")]) == 0
    clustered = _metrics(tmp_path / "c")
    assert clustered["n"] == 40
    labels = np.loadtxt(tmp_path / "c" / "labels.csv", delimiter=",", skiprows=1, dtype=int)
    np.testing.assert_array_equal(labels[:, 2], y_run)  # the same images, in the same order
    assert main(["cluster", str(tmp_path / "run"), "--k", "3", "--n-init", "1", "--quiet",
                 "--limit", "50", "--out", str(tmp_path / "c50")]) == 0
    assert _metrics(tmp_path / "c50")["n"] == 50


def test_cluster_images_trains_by_steps_shows_reconstructions_and_warns_when_untrained(
        image_folder, tmp_path, monkeypatch, capsys):
    """A first run that tells the truth: the default training is a number of steps, whatever
    the number of images; the reconstructions are drawn; and an autoencoder no better than
    the mean image is called out."""
    import scratchnet.cli.images as cli_images
    monkeypatch.setattr(cli_images, "IMAGE_FOLDER_STEPS", 7)
    sizes, fit = [], Autoencoder.fit

    def recording_fit(self, X, **kwargs):
        sizes.append({k: kwargs.get(k) for k in ("epochs", "steps")})
        return fit(self, X, **kwargs)
    monkeypatch.setattr(Autoencoder, "fit", recording_fit)
    assert main(["cluster-images", str(image_folder), "--k", "3", "--n-init", "1", "--quiet",
                 "--out", str(tmp_path / "a")]) == 0
    metrics = _metrics(tmp_path / "a")
    assert "reconstructions" in metrics["figures"]
    assert Path(metrics["figures"]["reconstructions"]).stat().st_size > 0
    assert sizes == [{"epochs": None, "steps": 7}]
    assert metrics["scores"]["reconstruction_loss"] > 0.9 * metrics["scores"]["mean_image_loss"]
    assert "no better than" in capsys.readouterr().err  # 7 steps: barely trained
