"""MNIST: a dense autoencoder with a 3-d code, K-means in that 3-d space, against pixels (W2).

1. K-means (k = 10) on the 784 raw pixels; its purity is the baseline (W2 reports 0.62).
2. W2: train ``dense_autoencoder(dims=(784, 784, 64, 32, 3), activation="sigmoid")`` (linear
   code and output; Adam, mean squared error) on 90 % of the flattened images.
3. K-means on the 3-d codes (W2 reports purity 0.699): a code small enough to *see*, so the
   example draws the codes in 3-D with the centroids, and decodes each centroid back to an
   image — the "typical" member of its cluster.

It prints one table (pixels vs codes × metrics, with wall times) and the purity of both,
writes ``metrics.json`` and the figures to ``--out``: 3-D scatter of the codes coloured by
cluster (with the centroids) and by true class, decoded centroids, reconstructions, training
loss and the Hungarian-ordered confusion matrix.

    python examples/mnist_dense_ae_3d.py                            # MNIST (downloads it)
    python examples/mnist_dense_ae_3d.py --dataset fashion-mnist    # the Debian package's
"""
import sys
from pathlib import Path

import numpy as np

from scratchnet import plot
from scratchnet.datasets import flatten
from scratchnet.models import dense_autoencoder
from scratchnet.pipeline import (METRICS, class_names, kmeans_example_parser, kmeans_step,
                                 load_images, run_seeds, train_and_cluster)

COLUMNS = METRICS + ("train_seconds", "kmeans_seconds")
DIMS = (784, 784, 64, 32, 3)


def run(args, seed, out):
    """One seed: pixels → K-means, train the AE, 3-d codes → K-means; figures when ``out``."""
    X, y = load_images(args.dataset, args.split, args.data_dir, limit=args.limit,
                       random_state=seed)
    print(f"{args.dataset} {args.split}: {X.shape[0]} images {X.shape[1:]}")
    pixels = flatten(X)
    k, sample = args.clusters, args.silhouette_sample
    results = {}

    _, results["pixels (784)"] = kmeans_step(pixels, y, k, args.n_init, seed, sample)

    ae = dense_autoencoder(dims=DIMS, activation="sigmoid", random_state=seed)
    km, scores = train_and_cluster(ae, pixels, y, args, seed,
                                   verbose_summary=out is not None)
    codes = ae.features(pixels)
    results["codes (dense AE 3)"] = scores
    print(f"purity (seed {seed}): pixels {results['pixels (784)']['purity']:.3f}, "
          f"3-d codes {scores['purity']:.3f}   (W2 on MNIST: 0.62 vs 0.699)")

    figures = _figures(ae, km, X, y, codes, class_names(args.dataset), out) if out else {}
    return results, figures, None


def _figures(ae, km, X, y, codes, names, out):
    out = Path(out)
    paths = {
        "scatter_clusters": out / "codes_3d_clusters.png",
        "scatter_classes": out / "codes_3d_classes.png",
        "centroids": out / "decoded_centroids.png",
        "reconstructions": out / "reconstructions.png",
        "loss": out / "loss_curves.png",
        "confusion": out / "confusion_matrix.png",
    }
    n = min(len(X), 3000)
    plot.scatter_codes(codes[:n], km.labels_[:n], centers=km.cluster_centers_,
                       path=paths["scatter_clusters"], title="3-d codes by cluster, centroids ×")
    plot.scatter_codes(codes[:n], y[:n], path=paths["scatter_classes"],
                       title="3-d codes by true class")
    # The output layer is linear: clip to the pixel range before drawing.
    as_images = lambda flat: np.clip(flat, 0, 1).reshape((-1,) + X.shape[1:])  # noqa: E731
    plot.decoded_centroids(as_images(ae.decode(km.cluster_centers_)), path=paths["centroids"])
    sample = X[:10]
    plot.reconstructions(sample, as_images(ae.reconstruct(flatten(sample))),
                         path=paths["reconstructions"])
    plot.loss_curves(ae.history_, path=paths["loss"], title="Dense autoencoder, 3-d code (W2)")
    plot.confusion_matrix(y, km.labels_, path=paths["confusion"], class_names=names)
    return {k: str(v) for k, v in paths.items()}


def main(argv=None):
    parse = kmeans_example_parser(__doc__.splitlines()[0], "mnist_dense_ae_3d",
                                  datasets=("mnist", "fashion-mnist"), default_dataset="mnist")
    args = parse(argv)
    run_seeds(run, args, COLUMNS, f"K-means (k={args.clusters}) on {args.dataset} {args.split}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
