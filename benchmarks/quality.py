"""Clustering quality of the recommended recipe on every dataset this project has, over seeds.

The recipe is ``examples/mnist_dec.py`` with its default settings (pixels → autoencoder →
UMAP → Gaussian mixture, N2D), run unchanged on each dataset:

* Fashion-MNIST, all 70,000 images (Debian's ``dataset-fashion-mnist``);
* ``../shared/data/mnist-test-5k``: the first 5,000 images of MNIST's test set;
* scikit-learn's 8×8 digits (1,797 images; loaded through scikit-learn, here only);
* the CIFAR-10 subset in ``../shared/data/cifar10-subset`` (train split, 4,660 colour images).

For each dataset and stage it prints ACC and NMI as mean ± std over ``--seeds``, the worst
seed's ACC and the mean wall time of the stage; ``end to end`` is the whole recipe per seed
(loading excluded). With ``--reference`` it adds UMAP on the raw pixels (ours and, with ``--umap-learn`` when it
is installed, umap-learn's), followed by K-means, as a user could run without an autoencoder.
The labels only ever score; the recipe's answer (``*``) is fixed in advance.

    python benchmarks/quality.py --seeds 3
    python benchmarks/quality.py --datasets mnist-test-5k digits-8x8 --seeds 3 --reference --umap-learn
    python benchmarks/quality.py --quick            # smoke test (CI): 300 images, 1 epoch

Last measured table: see the end of this docstring (updated by hand from a full run).
"""
import argparse
import importlib.util
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SCRATCHNET_SHARED_DATA", ROOT.parent / "shared" / "data"))
DATASETS = {
    # name: (--dataset, --split, --data-dir) for the example's loader, or None (scikit-learn)
    "fashion-mnist": ("fashion-mnist", "all", None),
    "mnist-test-5k": ("mnist", "test", SHARED / "mnist-test-5k"),
    "digits-8x8": None,
    "cifar10-subset": ("cifar10", "train", SHARED / "cifar10-subset"),
}


def _example():
    path = ROOT / "examples" / "mnist_dec.py"
    spec = importlib.util.spec_from_file_location("mnist_dec_example", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load(name, quick, seed):
    """(images (N, C, H, W) float32 in [0, 1], labels) of one dataset."""
    from scratchnet.pipeline import load_images
    limit = 300 if quick else None
    if DATASETS[name] is None:
        from sklearn.datasets import load_digits
        digits = load_digits()
        images = (digits.images / 16.0).astype(np.float32)[:, None]
        y = digits.target.astype(np.int64)
        if limit:
            keep = np.sort(np.random.default_rng(seed).choice(len(y), limit, replace=False))
            images, y = images[keep], y[keep]
        return images, y
    dataset, split, data_dir = DATASETS[name]
    return load_images(dataset, split, data_dir, limit=limit, random_state=seed)


def references(images, y, seed, k=10, umap_learn=False):
    """UMAP (10-d, min_dist 0, 10 neighbours) on the raw pixels, then K-means: ours, and
    with ``umap_learn`` umap-learn's, when it is installed."""
    from scratchnet.cluster import KMeans
    from scratchnet.datasets import flatten
    from scratchnet.manifold import UMAP
    from scratchnet.pipeline import external_scores
    X = flatten(images)
    out = {}
    makers = {"pixels + UMAP + K-means": lambda: UMAP(n_components=k, n_neighbors=10,
                                                      min_dist=0.0, random_state=seed)}
    if umap_learn:
        try:
            import umap  # optional reference, never a requirement
            makers["pixels + umap-learn + K-means"] = lambda: umap.UMAP(
                n_components=k, n_neighbors=10, min_dist=0.0, random_state=seed)
        except ImportError:
            print("umap-learn is not installed: its reference row is skipped")
    for stage, make in makers.items():
        start = time.perf_counter()
        layout = make().fit_transform(X)
        labels = KMeans(k, n_init=10, random_state=seed).fit(layout).labels_
        out[stage] = dict(external_scores(y, labels), seconds=time.perf_counter() - start)
    return out


def summarize(name, runs, final_stage):
    """Print one dataset's table: stage, ACC mean ± std (worst), NMI mean ± std, seconds."""
    print(f"\n{name} ({len(runs)} seed(s))")
    print(f"{'stage':<32}{'ACC':>17}{'worst':>8}{'NMI':>17}{'seconds':>9}")
    rows = {}
    for stage in runs[0]:
        if stage == "final":
            continue
        acc = np.array([r[stage]["acc"] for r in runs])
        nmi = np.array([r[stage]["nmi"] for r in runs])
        sec = np.mean([r[stage]["seconds"] for r in runs])
        mark = " *" if stage == final_stage else ""
        print(f"{stage + mark:<32}{acc.mean():>9.4f} ± {acc.std():.4f}{acc.min():>8.4f}"
              f"{nmi.mean():>9.4f} ± {nmi.std():.4f}{sec:>9.1f}")
        rows[stage] = {"acc_mean": acc.mean(), "acc_std": acc.std(), "acc_worst": acc.min(),
                       "nmi_mean": nmi.mean(), "nmi_std": nmi.std(), "seconds": sec}
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--datasets", nargs="+", choices=sorted(DATASETS), default=list(DATASETS))
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--seed", type=int, default=0, help="first seed")
    p.add_argument("--reference", action="store_true",
                   help="also UMAP on the pixels, then K-means")
    p.add_argument("--umap-learn", action="store_true",
                   help="with --reference, umap-learn's UMAP too (when installed)")
    p.add_argument("--quick", action="store_true", help="smoke test: 300 images, 1 epoch")
    p.add_argument("--out", default="out/quality", help="folder of quality.json")
    args = p.parse_args(argv)
    example = _example()
    summary = {}
    for name in args.datasets:
        runs = []
        for seed in range(args.seed, args.seed + args.seeds):
            argv_example = ["--quiet", "--seed", str(seed)] + (["--quick"] if args.quick else [])
            recipe_args = example.parse(argv_example)   # the example's defaults, unchanged
            images, y = load(name, args.quick, seed)
            print(f"{name}: {len(images)} images of {images.shape[1:]}, seed {seed}", flush=True)
            start = time.perf_counter()
            results, _ = example.recipe(images, y, recipe_args, seed)
            results["end to end"] = dict(results["final"], seconds=time.perf_counter() - start)
            if args.reference:
                results.update(references(images, y, seed, umap_learn=args.umap_learn))
            runs.append(results)
        summary[name] = summarize(name, runs, runs[0]["final"]["stage"])
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "quality.json").write_text(json.dumps(summary, indent=2, default=float))
    print(f"\nquality.json in {out}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
