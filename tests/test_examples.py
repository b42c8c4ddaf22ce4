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
import pytest

import scratchnet.plot
from scratchnet.datasets import FASHION_MNIST_CLASSES

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
    # Its default recipe: denoising pretraining, K-means and DEC on L2-normalised codes, DEC
    # starting from the clusters of the centred pixels.
    "mnist_dec": ("fashion_mnist_dir", ["--dataset", "fashion-mnist"],
                  ["pixels + K-means", "pixels (centred, L2) + K-means", "AE + K-means",
                   "AE + L2 + K-means", "DEC (L2 codes)"],
                  ["confusion", "dec_history", "loss", "centroids"]),
}
K = 10
# Hungarian-matched accuracy of a random labelling of 400 images into 10 clusters is about
# 0.14; every stage must beat it clearly.
ABOVE_CHANCE = 0.18


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
def test_mnist_dec_start_codes_or_pixels(fashion_mnist_dir, tmp_path):
    """--dec-start picks DEC's first centroids: the two starts give two different first
    partitions, and only the pixel start runs K-means on the centred pixels."""
    example = _load_example("mnist_dec")
    argv = ["--quick", "--quiet", "--seed", "0", "--data-dir", str(fashion_mnist_dir),
            "--dataset", "fashion-mnist"]
    first = {}
    for start in ("codes", "pixels"):
        assert example.main(argv + ["--dec-start", start, "--out", str(tmp_path / start)]) == 0
        metrics = json.loads((tmp_path / start / "metrics.json").read_text())
        (run,) = metrics["runs"]
        assert ("pixels (centred, L2) + K-means" in run) == (start == "pixels")
        (history,) = metrics["dec_history"]
        first[start] = (history["acc"][0], history["nmi"][0])
    assert first["codes"] != first["pixels"]

