"""Every example runs in ``--quick`` mode on the real data, writes ``metrics.json`` and its
figures, reports sane numbers, and repeats them exactly with the same seed.

The examples are imported by path and called through ``main(argv)``, as ``python
examples/<name>.py argv`` would call them (one process: the Numba caches load once).
"""
import importlib.util
import json
import math
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pytest

import scratchnet.plot
from scratchnet.datasets import FASHION_MNIST_CLASSES

from ._synthetic import write_cifar_test_batch, write_idx_split

EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "examples"

# name -> data fixture, extra arguments, stages that must be in the table, figures it names
EXAMPLES = {
    "cifar_ae_kmeans": ("cifar_subset_dir", [], ["pixels (gray 1024)", "codes (conv AE 512)"],
                        ["reconstructions", "loss", "centroids", "confusion", "contact_sheet",
                         "scatter"]),
    "mnist_conv_ae_kmeans": ("fashion_mnist_dir", ["--dataset", "fashion-mnist"],
                             ["pixels (784)", "codes (conv AE 98)"],
                             ["reconstructions", "loss", "centroids", "confusion",
                              "contact_sheet", "scatter"]),
    "mnist_dense_ae_3d": ("fashion_mnist_dir", ["--dataset", "fashion-mnist"],
                          ["pixels (784)", "codes (dense AE 3)"],
                          ["scatter_clusters", "scatter_classes", "centroids",
                           "reconstructions", "loss", "confusion"]),
    # Its default recipe: pixels, the augmented autoencoder's codes, N2D (UMAP of the codes,
    # K-means and a Gaussian mixture on the layout, one of them picked), then DEC-DA from it;
    # DEC's other variants only with --dec.
    "mnist_dec": ("fashion_mnist_dir", ["--dataset", "fashion-mnist"],
                  ["pixels + K-means", "AE + K-means", "AE + UMAP + K-means", "AE + UMAP + GMM",
                   "N2D", "DEC-DA from N2D"],
                  ["confusion", "loss", "centroids", "umap"]),
}
K = 10
# Hungarian-matched accuracy of a random labelling of 400 images into 10 clusters is about
# 0.14; every stage must beat it clearly.
ABOVE_CHANCE = 0.18

def _main_figures(metrics):
    """The figure keys of a run without its per-cluster strips and centroids (report.html)."""
    return {k for k in metrics["figures"] if not k.startswith(("strip_", "centroid_"))}



def _load_example(name):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES_DIR / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _without_timings(runs):
    return [{stage: {k: v for k, v in scores.items() if "seconds" not in k}
             for stage, scores in run.items()} for run in runs]


def test_every_example_has_a_smoke_test():
    found = sorted(p.stem for p in EXAMPLES_DIR.glob("*.py"))
    assert found == sorted(EXAMPLES), "add the new example to EXAMPLES in this file"


@pytest.mark.slow
@pytest.mark.realdata
@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_example_quick_run_on_real_data(name, request, tmp_path, monkeypatch, capsys):
    fixture, extra, stages, figure_keys = EXAMPLES[name]
    data_dir = request.getfixturevalue(fixture)
    example = _load_example(name)
    argv = ["--quick", "--quiet", "--seed", "0", "--data-dir", str(data_dir)] + extra

    assert example.main(argv + ["--out", str(tmp_path / "a")]) == 0
    metrics = json.loads((tmp_path / "a" / "metrics.json").read_text())
    assert metrics["args"]["quick"] and metrics["args"]["epochs"] == 1
    (run,) = metrics["runs"]
    assert set(stages) <= set(run)

    for stage, scores in run.items():
        if "acc" in scores:
            assert ABOVE_CHANCE <= scores["acc"] <= scores["purity"] <= 1, (stage, scores)
            assert 0 <= scores["nmi"] <= 1 and -0.5 <= scores["ari"] <= 1, (stage, scores)
        if "silhouette" in scores:
            assert -1 <= scores["silhouette"] <= 1 and scores["dunn"] >= 0, (stage, scores)
        assert all(math.isfinite(v) for v in scores.values() if isinstance(v, float)), scores
    if "pixels (784)" in run:  # K-means on Fashion-MNIST pixels matches about half the images
        assert run["pixels (784)"]["acc"] >= 0.4, run["pixels (784)"]

    if "composition" in metrics:
        _check_composition(metrics["composition"][0], capsys.readouterr().out, n=400)

    figures = metrics.get("figures", {})
    assert set(figure_keys) <= set(figures)
    pngs = sorted((tmp_path / "a").glob("*.png"))
    assert pngs, "the example wrote no figure"
    assert {Path(figures[k]).name for k in figure_keys} <= {p.name for p in pngs}
    for png in pngs:
        assert mpimg.imread(png).shape[0] > 50, png

    # Same seed again: the same numbers (figures skipped — they do not feed the numbers).
    for fn in ("reconstructions", "loss_curves", "decoded_centroids", "confusion_matrix",
               "cluster_contact_sheet", "scatter_codes", "image_grid"):
        monkeypatch.setattr(scratchnet.plot, fn, lambda *a, **k: None)
    assert example.main(argv + ["--out", str(tmp_path / "b")]) == 0
    again = json.loads((tmp_path / "b" / "metrics.json").read_text())
    assert _without_timings(again["runs"]) == _without_timings(metrics["runs"])
    if "composition" in metrics:
        assert again["composition"] == metrics["composition"]



def _check_composition(composition, printed, n):
    """Cluster sizes add up, label counts add up to each size, and each line was printed."""
    assert sum(c["size"] for c in composition) == n
    for c in composition:
        assert sum(count for _, count in c["labels"]) == c["size"]
        assert {label for label, _ in c["labels"]} <= set(FASHION_MNIST_CLASSES)
        top_label, top_count = c["labels"][0]
        assert f"cluster {c['cluster']} (n = {c['size']}): {top_count} {top_label}" in printed


@pytest.mark.slow
@pytest.mark.realdata
def test_mnist_dec_names_its_answer_and_reports_every_dec_variant(fashion_mnist_dir, tmp_path):
    """"final" is the stage --final names (DEC-DA from N2D by default), with that stage's
    scores; --dec adds a row per DEC variant, and the paper's start (K-means on the codes) and
    the N2D start give different first partitions; N2D is one of its two candidates."""
    example = _load_example("mnist_dec")
    argv = ["--quick", "--quiet", "--seed", "0", "--data-dir", str(fashion_mnist_dir),
            "--dataset", "fashion-mnist", "--dec"]
    assert example.main(argv + ["--out", str(tmp_path / "all")]) == 0
    metrics = json.loads((tmp_path / "all" / "metrics.json").read_text())
    (run,) = metrics["runs"]
    assert list(run) == list(example.STAGES) + ["final"]
    default = example.parse(["--out", str(tmp_path / "defaults")]).final
    assert default == example.ANSWER == "DEC-DA from N2D"
    assert run["final"] == dict(stage=default, **run[default])
    assert metrics["final"]["stage"] == default
    assert metrics["final"]["acc"] == metrics["final"]["worst_acc"] == run["final"]["acc"]
    assert run["N2D"]["picked"] in ("AE + UMAP + K-means", "AE + UMAP + GMM")
    picked = run[run["N2D"]["picked"]]
    assert (run["N2D"]["acc"], run["N2D"]["nmi"]) == (picked["acc"], picked["nmi"])
    def start(stage):
        return run[stage]["start_acc"], run[stage]["start_nmi"]
    assert start("DEC from codes") != start("DEC from N2D")
    assert start("DEC from codes") == start("DEC-DA from codes") == start("IDEC-DA from codes")
    assert start("DEC from N2D") == start("DEC-DA from N2D") == start("IDEC-DA from N2D")

    # UMAP learns from 200 of the 400 codes and places the rest: another layout, same stages
    out = tmp_path / "gmm"
    assert example.main(argv + ["--final", "AE + UMAP + GMM", "--umap-sample", "200",
                                "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["final"]["stage"] == "AE + UMAP + GMM"
    (sampled,) = metrics["runs"]
    assert sampled["final"]["acc"] == sampled["AE + UMAP + GMM"]["acc"] >= ABOVE_CHANCE
    assert _without_timings([sampled])[0]["AE + K-means"] == \
        _without_timings([run])[0]["AE + K-means"]
    assert sampled["AE + UMAP + GMM"]["nmi"] != run["AE + UMAP + GMM"]["nmi"]


@pytest.mark.parametrize("flags, message", [
    (["--tol", "2"], "expected 0 <= --tol < 1, got 2"),
    (["--limit", "5"], "expected --limit >= 11 (the clusters and UMAP's neighbours), got 5"),
    (["--umap-neighbors", "1"], "expected --umap-neighbors >= 2"),
    (["--noise", "1"], "expected 0 <= --noise < 1, got 1"),
    (["--shift", "1.5"], "expected 0 <= --shift < 1 and 0 <= --rotation <= 180"),
    (["--final", "DEC from codes"], "--final 'DEC from codes' needs --dec"),
])
def test_mnist_dec_refuses_a_bad_setting_before_any_work(tmp_path, capsys, flags, message):
    """Each of these used to raise only after the autoencoder, UMAP and the mixture had run."""
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exit_:
        _load_example("mnist_dec").main(["--data-dir", str(tmp_path / "nowhere"),
                                         "--out", str(out)] + flags)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1, err
    assert not (out / "metrics.json").exists()


def test_mnist_dec_refuses_an_ae_cache_that_is_a_file(tmp_path, capsys):
    (tmp_path / "cache").write_text("not a folder")
    with pytest.raises(SystemExit):
        _load_example("mnist_dec").main(["--ae-cache", str(tmp_path / "cache"),
                                         "--out", str(tmp_path / "out")])
    assert "--ae-cache" in capsys.readouterr().err


def test_pick_partition_prefers_the_one_that_cuts_no_group():
    """Two tight groups of 4 points and one of 2, as a neighbour graph with one weak link
    between the first and the last group. Of two partitions into 3 clusters, the one that
    merges the small group into the first and so must split the second cuts 8 strong links;
    the right one cuts only the weak link, and is picked whatever the clusters are called."""
    from scratchnet.manifold._graph import CSRGraph
    groups = [range(0, 4), range(4, 8), range(8, 10)]
    rows = [i for g in groups for i in g for j in g if i != j] + [3, 8]
    cols = [j for g in groups for i in g for j in g if i != j] + [8, 3]
    vals = np.r_[np.ones(len(rows) - 2), 0.2, 0.2]
    graph = CSRGraph.from_coo(np.array(rows), np.array(cols), vals, (10, 10))
    right = np.array([0, 0, 0, 0, 1, 1, 1, 1, 2, 2])
    wrong = np.array([0, 0, 0, 0, 1, 1, 2, 2, 0, 0])
    pick = _load_example("mnist_dec").pick_partition
    assert pick(graph, {"a": right, "b": wrong}) == "a"
    assert pick(graph, {"a": wrong, "b": (right + 1) % 3}) == "b"


def test_mnist_dec_keeps_the_stages_it_finished_when_a_later_one_fails(idx_dirs, tmp_path,
                                                                       monkeypatch, capsys):
    """DEC interrupted (Ctrl-C, or a divergence) after an hour of pretraining and UMAP: the
    scores of the stages before it are in metrics.json, with the error, and the error goes on."""
    example = _load_example("mnist_dec")

    def interrupted(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(example.DEC, "fit", interrupted)
    with pytest.raises(KeyboardInterrupt):
        example.main(_quick_argv(idx_dirs[(8, 8)], tmp_path))
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    (run,) = metrics["runs"]
    assert list(run) == ["pixels + K-means", "AE + K-means", "AE + UMAP + K-means",
                         "AE + UMAP + GMM", "N2D"]
    assert metrics["stopped"] == [{"seed": 0, "error": "KeyboardInterrupt: ",
                                   "finished": list(run)}]
    assert "final" not in metrics
    assert "seed 0 stopped (KeyboardInterrupt) after pixels + K-means" in capsys.readouterr().err


@pytest.mark.parametrize("size", [(8, 8), (16, 16)])
def test_mnist_dec_on_other_image_sizes(idx_dirs, tmp_path, size):
    """The 16×16 digits once crashed in the figures after all the training: now any size runs,
    metrics.json first, every figure drawn."""
    argv = _quick_argv(idx_dirs[size], tmp_path)
    assert _load_example("mnist_dec").main(argv) == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    (run,) = metrics["runs"]
    assert list(run) == ["pixels + K-means", "AE + K-means", "AE + UMAP + K-means",
                         "AE + UMAP + GMM", "N2D", "DEC-DA from N2D", "final"]
    assert metrics["figure_errors"] == {}
    assert _main_figures(metrics) == {"confusion", "centroids", "loss", "dec_history", "umap"}
    for path in metrics["figures"].values():
        assert Path(path).stat().st_size > 0, path


# ---- any image size, on tiny synthetic files in the official formats ----------------------

N_SYNTHETIC = 60


@pytest.fixture(scope="module")
def idx_dirs(tmp_path_factory):
    """``{(h, w): folder}`` holding MNIST-style test-split IDX files of that size."""
    root = tmp_path_factory.mktemp("idx")
    dirs = {}
    for h, w in ((8, 8), (16, 16), (10, 10)):
        write_idx_split(root / f"{h}x{w}", N_SYNTHETIC, h, w, seed=h)
        dirs[h, w] = root / f"{h}x{w}"
    return dirs


def _quick_argv(data_dir, out, dataset="mnist"):
    return ["--quick", "--quiet", "--seed", "0", "--dataset", dataset, "--split", "test",
            "--data-dir", str(data_dir), "--n-init", "2", "--out", str(out)]


def _check_written(out, stages):
    """metrics.json holds every stage with finite scores; every figure it names exists and no
    figure failed."""
    metrics = json.loads((out / "metrics.json").read_text())
    (run,) = metrics["runs"]
    assert list(run) == stages
    for scores in run.values():
        assert 0 <= scores["acc"] <= 1 and math.isfinite(scores["silhouette"]), scores
    assert metrics["figure_errors"] == {}
    assert metrics["figures"]
    for path in metrics["figures"].values():
        assert Path(path).stat().st_size > 0, path
    return metrics


@pytest.mark.parametrize("size", [(8, 8), (16, 16)])
def test_mnist_conv_example_on_other_image_sizes(idx_dirs, tmp_path, size):
    h, w = size
    assert _load_example("mnist_conv_ae_kmeans").main(_quick_argv(idx_dirs[size], tmp_path)) == 0
    code = 2 * (h // 4) * (w // 4)        # two poolings: 16×16 → 2×4×4, 8×8 → 2×2×2
    metrics = _check_written(tmp_path, [f"pixels ({h * w})", f"codes (conv AE {code})"])
    assert _main_figures(metrics) == {"reconstructions", "loss", "centroids", "confusion",
                                       "contact_sheet", "scatter"}
    assert sum(c["size"] for c in metrics["composition"][0]) == N_SYNTHETIC


@pytest.mark.parametrize("size", [(8, 8), (16, 16), (10, 10)])
def test_mnist_dense_example_on_other_image_sizes(idx_dirs, tmp_path, size):
    h, w = size
    assert _load_example("mnist_dense_ae_3d").main(_quick_argv(idx_dirs[size], tmp_path)) == 0
    metrics = _check_written(tmp_path, [f"pixels ({h * w})", "codes (dense AE 3)"])
    assert _main_figures(metrics) == {"scatter_clusters", "scatter_classes", "centroids",
                                       "reconstructions", "loss", "confusion"}


def test_mnist_conv_example_refuses_a_size_the_poolings_cannot_take(idx_dirs, tmp_path):
    """10×10 cannot go 10 → 5 → 3 and back to 10: a clear error before any work."""
    with pytest.raises(ValueError, match=r"divisible by 4 .* got 10x10; pad or crop"):
        _load_example("mnist_conv_ae_kmeans").main(_quick_argv(idx_dirs[10, 10], tmp_path))
    assert not (tmp_path / "metrics.json").exists()


def test_cifar_example_on_synthetic_colour_images_with_the_pool_model(tmp_path):
    write_cifar_test_batch(tmp_path / "data", N_SYNTHETIC)
    argv = _quick_argv(tmp_path / "data", tmp_path / "out", dataset="cifar10") + ["--pool"]
    assert _load_example("cifar_ae_kmeans").main(argv) == 0
    _check_written(tmp_path / "out", ["pixels (gray 1024)", "codes (conv AE 512)",
                                      "codes (pool AE 192)"])


# ---- the results never depend on a figure -------------------------------------------------

@pytest.mark.parametrize("name", ["mnist_conv_ae_kmeans", "mnist_dense_ae_3d"])
def test_a_failing_figure_costs_only_itself(idx_dirs, tmp_path, monkeypatch, capsys, name):
    """metrics.json is on disk before the first figure; a figure that raises is one warning
    line on stderr and an entry of figure_errors; the others are drawn; exit status 0."""
    out = tmp_path / "out"
    on_disk_before_figures = []
    reconstructions = scratchnet.plot.reconstructions

    def first_figure(*args, **kwargs):
        on_disk_before_figures.append(json.loads((out / "metrics.json").read_text()))
        return reconstructions(*args, **kwargs)

    def broken(*args, **kwargs):
        raise RuntimeError("the plot broke\non two lines")

    monkeypatch.setattr(scratchnet.plot, "reconstructions", first_figure)
    monkeypatch.setattr(scratchnet.plot, "decoded_centroids", broken)
    assert _load_example(name).main(_quick_argv(idx_dirs[16, 16], out)) == 0

    (early,) = on_disk_before_figures
    assert len(early["runs"]) == 1 and early["figures"] == {}
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["runs"] == early["runs"]
    assert metrics["figure_errors"] == {"centroids": "RuntimeError: the plot broke on two lines"}
    assert "centroids" not in metrics["figures"] and "reconstructions" in metrics["figures"]
    assert not (out / "decoded_centroids.png").exists()
    warnings = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert warnings == [f"warning: figure 'centroids' ({out / 'decoded_centroids.png'}) not "
                        "drawn: RuntimeError: the plot broke on two lines"]


# ---- training sized by optimizer steps ----------------------------------------------------

def test_examples_train_for_the_steps_given(idx_dirs, tmp_path):
    """--steps replaces --epochs: 54 training images in one batch of 128 per epoch, so 3
    steps are 3 epochs of one step each."""
    argv = _quick_argv(idx_dirs[8, 8], tmp_path) + ["--steps", "3"]
    assert _load_example("mnist_conv_ae_kmeans").main(argv) == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["args"]["steps"] == 3
    assert metrics["runs"][0]["codes (conv AE 8)"]["train_steps"] == 3
    default = _load_example("mnist_conv_ae_kmeans")
    assert default.main(_quick_argv(idx_dirs[8, 8], tmp_path / "epochs")) == 0
    metrics = json.loads((tmp_path / "epochs" / "metrics.json").read_text())
    assert metrics["args"]["steps"] is None
    assert metrics["runs"][0]["codes (conv AE 8)"]["train_steps"] == 1   # --quick: one epoch


@pytest.mark.parametrize("steps", ["0", "-2", "1.5"])
def test_examples_refuse_bad_steps(idx_dirs, tmp_path, capsys, steps):
    with pytest.raises(SystemExit) as exit_:
        _load_example("mnist_dense_ae_3d").main(_quick_argv(idx_dirs[8, 8], tmp_path)
                                                + ["--steps", steps])
    assert exit_.value.code == 2
    assert f"--steps: expected a positive int, got '{steps}'" in capsys.readouterr().err


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_examples_check_out_and_flags_before_any_work(name, tmp_path, capsys, monkeypatch):
    """An --out that cannot be written, or a negative --limit / --seed, is a usage error
    naming the flag (exit 2) before any data is read."""
    from scratchnet.datasets import named
    for dataset in named.LOADERS:
        monkeypatch.setitem(named.LOADERS, dataset,
                            lambda *a, **k: pytest.fail("data was read"))
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    example = _load_example(name)
    for argv, message in (([f"--out={blocker}/x"], f"--out {blocker}/x: cannot write there"),
                          (["--limit", "-5"], "argument --limit: expected a positive int"),
                          (["--seed", "-1"], "argument --seed: expected an int >= 0")):
        with pytest.raises(SystemExit) as exit_:
            example.main(argv + ["--quick", "--data-dir", str(tmp_path)])
        assert exit_.value.code == 2
        assert message in capsys.readouterr().err


def test_a_quick_run_has_its_own_output_folder(tmp_path, monkeypatch):
    """--quick must not overwrite the headline results in out/<example>/."""
    monkeypatch.chdir(tmp_path)
    for name in EXAMPLES:
        module = _load_example(name)
        parse = getattr(module, "parse", None)
        if parse is None:  # the AE + K-means examples build theirs in main
            continue
        assert parse(["--quick"]).out == Path(f"out/{name}-quick")
        assert parse([]).out == Path(f"out/{name}")
    from scratchnet.experiment import kmeans_example_parser
    parse = kmeans_example_parser("x", "some_example")
    assert parse(["--quick"]).out == Path("out/some_example-quick")
    assert parse([]).out == Path("out/some_example")
