"""The measurement scripts in ``benchmarks/`` run (smoke tests on real data, tiny sizes)."""
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from scratchnet.datasets import flatten, load_fashion_mnist, to_float32
from scratchnet.models import dense_autoencoder

BENCHMARKS_DIR = Path(__file__).resolve().parents[1] / "benchmarks"


def _load(name):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCHMARKS_DIR / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.realdata
def test_dec_start_measures_every_row(fashion_mnist_dir, tmp_path, capsys):
    ae = dense_autoencoder((784, 32, 10), random_state=0)
    path = tmp_path / "ae.npz"
    ae.save(path)
    bench = _load("dec_start")
    X, y = load_fashion_mnist("test", data_dir=fashion_mnist_dir, download=False)
    keep = np.random.default_rng(0).choice(len(X), 600, replace=False)
    rows = bench.measure(path, flatten(to_float32(X[keep])), y[keep], dec_iters=5)
    assert list(rows) == ["K-means (20 restarts)", "DEC from K-means", "nearest class mean *",
                          "Lloyd from class means *", "DEC from class means *"]
    for name, (acc, nmi, seconds) in rows.items():
        assert 0.1 <= acc <= 1.0 and 0.0 <= nmi <= 1.0 and seconds >= 0.0, (name, acc, nmi)
    # the script's command line, as the docstring gives it
    assert bench.main(["--quick", "--dec-iters", "5", "--data-dir", str(fashion_mnist_dir),
                       str(path)]) == 0
    assert "DEC from class means *" in capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.realdata
def test_quality_runs_the_recipe_on_every_dataset(fashion_mnist_dir, mnist_test_5k_dir,
                                                  cifar_subset_dir, tmp_path, capsys):
    """``benchmarks/quality.py --quick``: every dataset, every stage, the recipe's answer
    marked, and quality.json with a row per stage."""
    import json
    bench = _load("quality")
    assert bench.main(["--quick", "--seeds", "2", "--reference", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    summary = json.loads((tmp_path / "quality.json").read_text())
    assert sorted(summary) == sorted(bench.DATASETS)
    for name, rows in summary.items():
        assert {"pixels + K-means", "AE + UMAP + GMM", "end to end",
                "pixels + UMAP + K-means"} <= set(rows), name
        for stage, row in rows.items():
            assert 0 <= row["acc_worst"] <= row["acc_mean"] <= 1, (name, stage, row)
            assert row["seconds"] >= 0
    final = bench._example().parse(["--out", str(tmp_path / "p")]).final   # the answer, marked
    assert printed.count(f"{final} *") == len(bench.DATASETS)
    runs = json.loads((tmp_path / "runs.json").read_text())     # every seed of every dataset
    assert {name: len(r) for name, r in runs.items()} == {name: 2 for name in bench.DATASETS}
    assert all(r["final"]["stage"] == final for rs in runs.values() for r in rs)


@pytest.mark.realdata
@pytest.mark.parametrize("idec", [[], ["--idec"], ["--model", "conv"],
                                  ["--model", "conv", "--idec"]])
def test_bench_dec_times_both_steps(fashion_mnist_dir, capsys, idec):
    assert _load("bench_dec").main(["--quick", "--data-dir", str(fashion_mnist_dir)]
                                   + idec) == 0
    out = capsys.readouterr().out
    assert "autoencoder fit step" in out and "the autoencoder's step" in out
    assert "DEC.fit end to end: 20 steps" in out


@pytest.mark.realdata
def test_bench_cluster_quick(fashion_mnist_dir, capsys):
    """The speed table runs; the optional peers (oneDAL, faiss) are timed or skipped with a
    line saying how to get them."""
    _load("bench_cluster").main(["--quick", "--repeats", "1", "--only", "kmeans", "lsa"])
    out = capsys.readouterr().out
    assert "K-means 10000x784 f32, k=10, per iteration" in out and "assignment 1000x1000" in out
    for peer, package in (("oneDAL", "scikit-learn-intelex"), ("faiss", "faiss-cpu")):
        assert f"({peer}" in out or f"pip install {package}" in out


@pytest.mark.realdata
def test_bench_cluster_gmm_quick(fashion_mnist_dir, capsys):
    """The Gaussian mixture row: both sides fitted from the same start, labels compared."""
    _load("bench_cluster").main(["--quick", "--repeats", "1", "--only", "gmm"])
    out = capsys.readouterr().out
    assert "GMM full 10000x10 f32, k=10, fit" in out and "labels agree on" in out


def test_bench_layers_quick(capsys):
    """Every layer of the CIFAR conv autoencoder gets a row, then the totals; PyTorch's
    columns hold numbers when it is installed."""
    import importlib.util
    assert _load("bench_layers").main(["--quick"]) == 0
    out = capsys.readouterr().out.splitlines()
    rows = [line for line in out if line[:2].strip().isdigit()]
    assert len(rows) == 14 and rows[0].startswith("0 Conv2D") and "Conv2DTranspose" in rows[6]
    total = next(line for line in out if line.startswith("total")).split()[1:]
    assert float(total[4]) > 0
    has_torch = importlib.util.find_spec("torch") is not None
    assert (total[5] != "nan") == has_torch


def test_bench_augment_quick(capsys):
    """The warp's cost per batch, alone and inside fit, beside the training step, for every
    image size; PyTorch's column when it is installed, a line saying how to get it when not."""
    assert _load("bench_augment").main(["--quick"]) == 0
    out = capsys.readouterr().out
    for label in ("28x28 grey", "16x16 grey", "8x8 grey", "32x32 colour"):
        line = next(row for row in out.splitlines() if row.startswith(label))
        warp_ms, step_ms, added_ms, ratio = map(float, line.split()[2:6])
        assert warp_ms > 0 and step_ms > 0
        assert ratio == pytest.approx(added_ms / step_ms, rel=0.05, abs=2e-3)
    assert "ours/torch" in out and ("PyTorch is not installed" in out or "torch ms" in out)


def _peers_or_skip():
    """The stack's side of bench_recipe needs PyTorch and umap-learn: CI installs them (and sets
    SCRATCHNET_REQUIRE_PEERS=1, so this fails there instead of skipping)."""
    import importlib.util
    import os
    missing = [m for m in ("torch", "umap") if importlib.util.find_spec(m) is None]
    if missing:
        message = f"{', '.join(missing)} not installed: pip install torch umap-learn"
        if os.environ.get("SCRATCHNET_REQUIRE_PEERS") == "1":
            pytest.fail(message)
        pytest.skip(message)


@pytest.mark.slow
@pytest.mark.realdata
def test_bench_recipe_quick_with_the_stack(mnist_test_5k_dir, tmp_path, capsys):
    """``bench_recipe.py --quick``: every step timed on both sides, both sides' ACC, and the
    closing total line."""
    import json
    _peers_or_skip()
    bench = _load("bench_recipe")
    assert bench.main(["--quick", "--datasets", "mnist-test-5k", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    last = printed.strip().splitlines()[-1]
    assert last.startswith("total: ") and "x the stack's time (ours " in last, last
    run = json.loads((tmp_path / "recipe.json").read_text())["mnist-test-5k"][0]
    for side in ("ours", "stack"):
        assert set(run[side]["seconds"]) == set(bench.STEPS), side
        assert all(s >= 0 for s in run[side]["seconds"].values())
        assert set(run[side]["acc"]) == set(bench.SCORED)
        assert all(0.1 <= a <= 1.0 for a in run[side]["acc"].values()), run[side]["acc"]


@pytest.mark.realdata
def test_bench_recipe_quick_without_the_stack(mnist_test_5k_dir, tmp_path, capsys, monkeypatch):
    """Without PyTorch the stack's side is skipped with a pip hint; ours is still timed."""
    import sys
    monkeypatch.setitem(sys.modules, "torch", None)      # import torch now raises ImportError
    bench = _load("bench_recipe")
    assert bench.main(["--quick", "--datasets", "mnist-test-5k", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "pip install torch umap-learn scikit-learn" in printed
    assert printed.strip().splitlines()[-1].startswith("total: ours ")


@pytest.mark.slow
@pytest.mark.realdata
def test_bench_umap_quick(mnist_test_5k_dir, capsys):
    """``bench_umap.py`` on 300 images: scratchnet's row always, umap-learn's and the time
    ratio when it is installed."""
    import importlib.util
    assert _load("bench_umap").main(["--limit", "300", "--repeats", "1",
                                     "--data-dir", str(mnist_test_5k_dir)]) == 0
    printed = capsys.readouterr().out
    assert "300 images" in printed and "\nscratchnet " in printed
    if importlib.util.find_spec("umap") is not None:
        assert "time ratio scratchnet / umap-learn" in printed
