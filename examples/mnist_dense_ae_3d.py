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
from scratchnet.cluster import KMeans
from scratchnet.datasets import class_names, flatten, load_images
from scratchnet.experiment import fit_length, kmeans_example_parser, run_seeds, timer
from scratchnet.metrics import METRICS, score_clustering
from scratchnet.models import decoded_images, dense_autoencoder, split_validation
from scratchnet.nn import Adam
from scratchnet.report import cluster_gallery

COLUMNS = METRICS + ("train_seconds", "kmeans_seconds")
HIDDEN = (64, 32, 3)    # after the input and a first layer as wide as it: W2's D-D-64-32-3


def run(args, seed, out):
    """One seed: pixels → K-means, train the AE, 3-d codes → K-means; figures when ``out``."""
    # 1. The images, flattened: one row of D pixel values in [0, 1] per image.
    X, y = load_images(args.dataset, args.split, args.data_dir, limit=args.limit,
                       random_state=seed)
    print(f"{args.dataset} {args.split}: {X.shape[0]} images {X.shape[1:]}")
    pixels = flatten(X)
    results = {}

    # 2. K-means on the pixels: the baseline (W2 reports purity 0.62).
    with timer() as t:
        km = KMeans(args.clusters, n_init=args.n_init, random_state=seed).fit(pixels)
    pixel_scores = results[f"pixels ({pixels.shape[1]})"] = dict(
        score_clustering(pixels, km.labels_, y, args.silhouette_sample, seed),
        kmeans_seconds=t.seconds)

    # 3. W2: the dense autoencoder D-D-64-32-3 (90 % train, 10 % validate), then K-means on
    #    its 3-d codes.
    d = pixels.shape[1]
    ae = dense_autoencoder(dims=(d, d) + HIDDEN, activation="sigmoid", random_state=seed)
    if out is not None:
        ae.summary()
    X_train, X_val = split_validation(pixels, seed)
    with timer() as fit_time:
        # Adam (lr 1e-3) on the mean squared error of the pixels
        ae.fit(X_train, loss="mse", optimizer=Adam(ae.model.parameters(), lr=1e-3),
               validation_data=X_val, random_state=seed, verbose=not args.quiet,
               **fit_length(args))
    codes = ae.features(pixels)
    with timer() as t:
        km = KMeans(args.clusters, n_init=args.n_init, random_state=seed).fit(codes)
    scores = results["codes (dense AE 3)"] = dict(
        score_clustering(codes, km.labels_, y, args.silhouette_sample, seed),
        kmeans_seconds=t.seconds, train_seconds=fit_time.seconds,
        train_steps=ae.optimizer_.t, final_loss=ae.history_["loss"][-1])
    print(f"purity (seed {seed}): pixels {pixel_scores['purity']:.3f}, "
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
    with figures.attempt("gallery"):     # one row per cluster in report.html
        figures.clusters = cluster_gallery(
            figures, X, km.labels_, codes=codes, y=y, class_names=names,
            decoded=decoded_images(ae.decode(km.cluster_centers_), X.shape[1:]))


def main(argv=None):
    parse = kmeans_example_parser(__doc__.splitlines()[0], "mnist_dense_ae_3d",
                                  datasets=("mnist", "fashion-mnist"), default_dataset="mnist")
    args = parse(argv)
    run_seeds(run, args, COLUMNS, f"K-means (k={args.clusters}) on {args.dataset} {args.split}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
