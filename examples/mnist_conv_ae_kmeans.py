"""MNIST: K-means on a pooling convolutional autoencoder's 98-d codes, against raw pixels (W1).

1. K-means (k = 10) on the raw pixels (784 for 28×28), scored with silhouette and Dunn's index
   (internal) and ACC / NMI / ARI / purity against the true classes (external).
2. W1: train the pooling autoencoder (Conv 1→16 + MaxPool, Conv 16→2 + MaxPool: code
   2×7×7 = 98; Conv + UpSampling back to 28×28; Adadelta, binary cross-entropy) on 90 % of the
   images, validating on the other 10 %.
3. K-means on the codes, scored the same way, and what each cluster is made of:
   ``cluster 6 (n = 612): 301 fours, 254 nines, 41 sevens, 16 others``.

Images of another size (IDX files of 16×16 or 8×8 digits, say) work as they are: the model is
built for ``X.shape[1:]`` (code 2×H/4×W/4) and the stage names give the sizes. The two
poolings need a height and width divisible by 4; another size is refused before any work with
a message saying so. ``--steps N`` trains for N optimizer steps instead of ``--epochs``.

It prints one table (pixels vs codes × metrics, with wall times), writes ``metrics.json`` and
then the figures to ``--out``: reconstructions, training loss, decoded centroids, the
Hungarian-ordered confusion matrix, a contact sheet per cluster and a 2-D PCA scatter of the
codes. A figure that fails is reported on stderr and in ``metrics.json`` (``figure_errors``).

    python examples/mnist_conv_ae_kmeans.py                            # MNIST (downloads it)
    python examples/mnist_conv_ae_kmeans.py --dataset fashion-mnist    # the Debian package's
"""
import sys
from functools import partial

from scratchnet.cluster import KMeans
from scratchnet.datasets import class_names, flatten, load_images
from scratchnet.experiment import (autoencoder_figures, fit_length, kmeans_example_parser,
                                   run_seeds, timer)
from scratchnet.metrics import METRICS, cluster_composition, format_composition, score_clustering
from scratchnet.models import mnist_conv_autoencoder, split_validation
from scratchnet.nn import Adadelta

COLUMNS = METRICS + ("train_seconds", "kmeans_seconds")


def run(args, seed, out):
    """One seed: pixels → K-means, train the AE, codes → K-means; figures when ``out``."""
    # 1. The images, float32 (N, 1, 28, 28) in [0, 1], and their classes (used only to score).
    X, y = load_images(args.dataset, args.split, args.data_dir, limit=args.limit,
                       random_state=seed)
    names = class_names(args.dataset)
    print(f"{args.dataset} {args.split}: {X.shape[0]} images {X.shape[1:]}")
    # Built first: an image size the poolings cannot take is refused before any work.
    ae = mnist_conv_autoencoder(in_channels=X.shape[1], image_size=X.shape[2:],
                                random_state=seed)
    results = {}

    # 2. K-means on the raw pixels, one row of 784 values per image.
    pixels = flatten(X)
    with timer() as t:
        km = KMeans(args.clusters, n_init=args.n_init, random_state=seed).fit(pixels)
    results[f"pixels ({pixels.shape[1]})"] = dict(
        score_clustering(pixels, km.labels_, y, args.silhouette_sample, seed),
        kmeans_seconds=t.seconds)

    # 3. W1: train the pooling autoencoder (90 % train, 10 % validate), K-means on its codes.
    if out is not None:
        ae.summary()
    X_train, X_val = split_validation(X, seed)
    with timer() as fit_time:
        # W1: Adadelta (lr 1.0, Keras's), binary cross-entropy
        ae.fit(X_train, loss="bce", optimizer=Adadelta(ae.model.parameters(), lr=1.0),
               validation_data=X_val, random_state=seed, verbose=not args.quiet,
               **fit_length(args))
    codes = ae.features(X)   # the 2×7×7 bottleneck, flattened: 98 values per image
    with timer() as t:
        km = KMeans(args.clusters, n_init=args.n_init, random_state=seed).fit(codes)
    results[f"codes (conv AE {codes.shape[1]})"] = dict(
        score_clustering(codes, km.labels_, y, args.silhouette_sample, seed),
        kmeans_seconds=t.seconds, train_seconds=fit_time.seconds,
        train_steps=ae.optimizer_.t, final_loss=ae.history_["loss"][-1])

    # 4. What each cluster of the codes holds, as W1 prints it.
    print(f"\nWhat each cluster of the codes holds (seed {seed}):")
    print(format_composition(y, km.labels_, names))
    composition = [{"cluster": c, "size": n, "labels": [[names[lab], cnt] for lab, cnt in counts]}
                   for c, n, counts in cluster_composition(y, km.labels_)]
    draw = partial(autoencoder_figures, ae=ae, km=km, X=X, y=y, names=names,
                   title="Pooling conv autoencoder (W1)") if out is not None else None
    return results, draw, {"composition": composition}


def main(argv=None):
    parse = kmeans_example_parser(__doc__.splitlines()[0], "mnist_conv_ae_kmeans",
                                  datasets=("mnist", "fashion-mnist"), default_dataset="mnist")
    args = parse(argv)
    run_seeds(run, args, COLUMNS, f"K-means (k={args.clusters}) on {args.dataset} {args.split}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
