"""scratchnet's UMAP against umap-learn, side by side in one process: time, trustworthiness and
the accuracy of K-means on the embedding.

Both run with the same settings (N2D's: 10-d, ``min_dist=0``, 10 neighbours, a fixed seed:
umap-learn then lays out on one thread, scratchnet on all, with the same answer on any number),
on the same images, alternately, after one warm-up run each (Numba
compiles both on their first call). Each row gives the median over ``--repeats`` runs of the
wall time, and the mean over them of trustworthiness (scikit-learn's, 10 neighbours) and of
Hungarian-matched ACC of K-means (10 restarts) on the embedding. umap-learn is an optional
reference: without it only scratchnet's row is printed.

    python benchmarks/bench_umap.py                      # mnist-test-5k pixels, 3 repeats
    python benchmarks/bench_umap.py --limit 2000 --repeats 5
    python benchmarks/bench_umap.py --dataset fashion-mnist --repeats 1   # 70,000 images

Trustworthiness compares every pair of points: above ``--trust-sample`` points (5,000) it is
computed on that many drawn at random (the same draw for both sides).

Measured 2026-12-07, Intel Xeon (AVX-512), 2 cores: ``python benchmarks/bench_umap.py``
(5,000 images, 3 repeats): scratchnet 3.11 s, umap-learn 6.32 s, 0.50x (0.48x in another run);
trustworthiness 0.9789 / 0.9786, K-means ACC 0.7563 / 0.7571. ``--dataset fashion-mnist
--repeats 1`` (70,000 images): 61.3 s / 53.3 s, 1.15x; trustworthiness 0.9857 / 0.9856, ACC
0.5605 / 0.5575. At 70,000 points the exact neighbours (a 70,000² GEMM over 784 features,
about 37 s at 200 GFLOP/s) cost almost as much as umap-learn's whole fit; in a separate run of
the same fit, the neighbours took 37.2 s, the spectral start 6.2 s and the layout (200 epochs,
on both cores) 20.1 s, where umap-learn's layout took 42 s on one core and its NN-descent 12 s.

Name the CPU (``lscpu``) beside any figure quoted from it.
"""
import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))  # for _machine
import _machine  # noqa: E402  (benchmarks/_machine.py)

SHARED = Path(os.environ.get("SCRATCHNET_SHARED_DATA", ROOT.parent / "shared" / "data"))


def main(argv=None):
    from sklearn.manifold import trustworthiness

    from scratchnet.cluster import KMeans
    from scratchnet.datasets import flatten, load_fashion_mnist, load_mnist, to_float32
    from scratchnet.manifold import UMAP
    from scratchnet.metrics import clustering_accuracy

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", choices=["mnist-test-5k", "fashion-mnist"],
                   default="mnist-test-5k", help="fashion-mnist: all 70,000 images (Debian's "
                   "dataset-fashion-mnist, or --data-dir)")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--trust-sample", type=int, default=5000)
    p.add_argument("--limit", type=int, default=None, help="first N images only")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--neighbors", type=int, default=10)
    p.add_argument("--dims", type=int, default=10)
    args = p.parse_args(argv)
    print(_machine.describe())

    if args.dataset == "fashion-mnist":
        X, y = load_fashion_mnist("all", data_dir=args.data_dir, download=False)
    else:
        X, y = load_mnist("test", data_dir=args.data_dir or SHARED / "mnist-test-5k",
                          download=False)
    X, y = flatten(to_float32(X))[: args.limit], y[: args.limit]
    settings = dict(n_components=args.dims, n_neighbors=args.neighbors, min_dist=0.0)
    makers = {"scratchnet": lambda seed: UMAP(random_state=seed, **settings)}
    try:
        import umap
        warnings.filterwarnings("ignore", message=".*n_jobs value.*")
        makers["umap-learn"] = lambda seed: umap.UMAP(random_state=seed, **settings)
    except ImportError:
        print("umap-learn is not installed: scratchnet's row only")
    for make in makers.values():        # warm-up: JIT compilation on both sides, on more
        make(0).fit_transform(X[:4500])  # than 4,096 points: umap-learn's NN-descent path
    rows = {name: {"seconds": [], "trust": [], "acc": []} for name in makers}
    sample = (np.sort(np.random.default_rng(0).choice(len(X), args.trust_sample, replace=False))
              if len(X) > args.trust_sample else np.arange(len(X)))
    for seed in range(args.repeats):
        for name, make in makers.items():
            start = time.perf_counter()
            Y = make(seed).fit_transform(X)
            rows[name]["seconds"].append(time.perf_counter() - start)
            rows[name]["trust"].append(trustworthiness(X[sample], Y[sample], n_neighbors=10))
            labels = KMeans(10, n_init=10, random_state=seed).fit(Y).labels_
            rows[name]["acc"].append(clustering_accuracy(y, labels))
    print(f"{len(X)} images, {settings}, {args.repeats} repeats")
    print(f"{'':<12}{'median s':>10}{'trustworthiness':>17}{'K-means ACC':>13}{'worst':>8}")
    for name, r in rows.items():
        print(f"{name:<12}{np.median(r['seconds']):>10.2f}{np.mean(r['trust']):>17.4f}"
              f"{np.mean(r['acc']):>13.4f}{np.min(r['acc']):>8.4f}")
    if len(rows) == 2:
        ratio = np.median(np.array(rows["scratchnet"]["seconds"])
                          / np.array(rows["umap-learn"]["seconds"]))
        print(f"time ratio scratchnet / umap-learn (median of pairs): {ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
