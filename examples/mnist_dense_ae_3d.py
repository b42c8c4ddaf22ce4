"""MNIST: a dense autoencoder with a 3-d code, K-means in that 3-d space, against pixels (W2).

1. K-means (k = 10) on the raw pixels (784 for 28×28); its purity is the baseline (W2 reports
   0.62).
2. W2: train ``dense_autoencoder(dims=(D, D, 64, 32, 3), activation="sigmoid")`` with D the
   number of pixels, (784, 784, 64, 32, 3) for 28×28 (linear code and output; Adam, mean
   squared error) on 90 % of the flattened images. Any image size works: D comes from the
   data, and the stage names give it. ``--steps N`` trains for N optimizer steps instead of
   ``--epochs``.
3. K-means on the 3-d codes (W2 reports purity 0.699): a code small enough to *see*, so the
   example draws the codes in 3-D with the centroids, and decodes each centroid back to an
   image — the "typical" member of its cluster.

It prints one table (pixels vs codes × metrics, with wall times) and the purity of both,
writes ``metrics.json`` and then the figures to ``--out``: 3-D scatter of the codes coloured
by cluster (with the centroids) and by true class, decoded centroids, reconstructions,
training loss and the Hungarian-ordered confusion matrix. A figure that fails is reported on
stderr and in ``metrics.json`` (``figure_errors``).

    python examples/mnist_dense_ae_3d.py                            # MNIST (downloads it)
    python examples/mnist_dense_ae_3d.py --dataset fashion-mnist    # the Debian package's
"""
import sys
from functools import partial

from scratchnet import plot
from scratchnet.datasets import flatten
from scratchnet.models import dense_autoencoder
from scratchnet.pipeline import (METRICS, class_names, decoded_images, kmeans_example_parser,
                                 kmeans_step, load_images, run_seeds, train_and_cluster)

COLUMNS = METRICS + ("train_seconds", "kmeans_seconds")
HIDDEN = (64, 32, 3)    # after the input and a first layer as wide as it: W2's D-D-64-32-3


def run(args, seed, out):
    """One seed: pixels → K-means, train the AE, 3-d codes → K-means; figures when ``out``."""
    X, y = load_images(args.dataset, args.split, args.data_dir, limit=args.limit,
                       random_state=seed)
    print(f"{args.dataset} {args.split}: {X.shape[0]} images {X.shape[1:]}")
    pixels = flatten(X)
    k, sample = args.clusters, args.silhouette_sample
    pixel_stage = f"pixels ({pixels.shape[1]})"
    results = {}

    _, results[pixel_stage] = kmeans_step(pixels, y, k, args.n_init, seed, sample)

    d = pixels.shape[1]
    ae = dense_autoencoder(dims=(d, d) + HIDDEN, activation="sigmoid", random_state=seed)
    km, scores = train_and_cluster(ae, pixels, y, args, seed,
                                   verbose_summary=out is not None)
    codes = ae.features(pixels)
    results["codes (dense AE 3)"] = scores
    print(f"purity (seed {seed}): pixels {results[pixel_stage]['purity']:.3f}, "
          f"3-d codes {scores['purity']:.3f}   (W2 on MNIST: 0.62 vs 0.699)")

    draw = partial(_figures, ae=ae, km=km, X=X, y=y, codes=codes,
                   names=class_names(args.dataset)) if out is not None else None
    return results, draw, None


def _figures(figures, ae, km, X, y, codes, names):
    n = min(len(X), 3000)
    with figures.draw("scatter_clusters", "codes_3d_clusters.png") as path:
        plot.scatter_codes(codes[:n], km.labels_[:n], centers=km.cluster_centers_, path=path,
                           title="3-d codes by cluster, centroids ×")
    with figures.draw("scatter_classes", "codes_3d_classes.png") as path:
        plot.scatter_codes(codes[:n], y[:n], path=path, title="3-d codes by true class")
    # The output layer is linear and flat: clipped to the pixel range, shaped like X.
    with figures.draw("centroids", "decoded_centroids.png") as path:
        plot.decoded_centroids(decoded_images(ae.decode(km.cluster_centers_), X.shape[1:]),
                               path=path)
    with figures.draw("reconstructions", "reconstructions.png") as path:
        sample = X[:10]
        plot.reconstructions(sample, decoded_images(ae.reconstruct(flatten(sample)),
                                                    X.shape[1:]), path=path)
    with figures.draw("loss", "loss_curves.png") as path:
        plot.loss_curves(ae.history_, path=path, title="Dense autoencoder, 3-d code (W2)")
    with figures.draw("confusion", "confusion_matrix.png") as path:
        plot.confusion_matrix(y, km.labels_, path=path, class_names=names)


def main(argv=None):
    parse = kmeans_example_parser(__doc__.splitlines()[0], "mnist_dense_ae_3d",
                                  datasets=("mnist", "fashion-mnist"), default_dataset="mnist")
    args = parse(argv)
    run_seeds(run, args, COLUMNS, f"K-means (k={args.clusters}) on {args.dataset} {args.split}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
