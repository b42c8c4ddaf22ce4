"""MNIST: K-means on a pooling convolutional autoencoder's 98-d codes, against raw pixels (W1).

1. K-means (k = 10) on the 784 raw pixels, scored with silhouette and Dunn's index (internal)
   and ACC / NMI / ARI / purity against the true classes (external).
2. W1: train the pooling autoencoder (Conv 1→16 + MaxPool, Conv 16→2 + MaxPool: code
   2×7×7 = 98; Conv + UpSampling back to 28×28; Adadelta, binary cross-entropy) on 90 % of the
   images, validating on the other 10 %.
3. K-means on the 98-d codes, scored the same way, and what each cluster is made of:
   ``cluster 6 (n = 612): 301 fours, 254 nines, 41 sevens, 16 others``.

It prints one table (pixels vs codes × metrics, with wall times), writes ``metrics.json`` and
the figures to ``--out``: reconstructions, training loss, decoded centroids, the Hungarian-
ordered confusion matrix, a contact sheet per cluster and a 2-D PCA scatter of the codes.

    python examples/mnist_conv_ae_kmeans.py                            # MNIST (downloads it)
    python examples/mnist_conv_ae_kmeans.py --dataset fashion-mnist    # the Debian package's
"""
import sys

from scratchnet.datasets import flatten
from scratchnet.metrics import cluster_composition
from scratchnet.models import mnist_conv_autoencoder
from scratchnet.pipeline import (METRICS, autoencoder_figures, class_names, format_composition,
                                 kmeans_example_parser, kmeans_step, load_images, run_seeds,
                                 train_and_cluster)

COLUMNS = METRICS + ("train_seconds", "kmeans_seconds")


def run(args, seed, out):
    """One seed: pixels → K-means, train the AE, codes → K-means; figures when ``out``."""
    X, y = load_images(args.dataset, args.split, args.data_dir, limit=args.limit,
                       random_state=seed)
    names = class_names(args.dataset)
    print(f"{args.dataset} {args.split}: {X.shape[0]} images {X.shape[1:]}")
    results = {}

    _, results["pixels (784)"] = kmeans_step(flatten(X), y, args.clusters, args.n_init, seed,
                                             args.silhouette_sample)

    ae = mnist_conv_autoencoder(random_state=seed)
    km, results["codes (conv AE 98)"] = train_and_cluster(ae, X, y, args, seed,
                                                          verbose_summary=out is not None)

    print(f"\nWhat each cluster of the codes holds (seed {seed}):")
    print(format_composition(y, km.labels_, names))
    composition = [{"cluster": c, "size": n, "labels": [[names[lab], cnt] for lab, cnt in counts]}
                   for c, n, counts in cluster_composition(y, km.labels_)]
    figures = autoencoder_figures(ae, km, X, y, out, names, title="Pooling conv autoencoder "
                                  "(W1)") if out is not None else {}
    return results, figures, {"composition": composition}


def main(argv=None):
    parse = kmeans_example_parser(__doc__.splitlines()[0], "mnist_conv_ae_kmeans",
                                  datasets=("mnist", "fashion-mnist"), default_dataset="mnist")
    args = parse(argv)
    run_seeds(run, args, COLUMNS, f"K-means (k={args.clusters}) on {args.dataset} {args.split}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
