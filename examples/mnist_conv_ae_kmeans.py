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

import numpy as np

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
    # Built first: an image size the poolings cannot take is refused before any work.
    ae = mnist_conv_autoencoder(in_channels=X.shape[1], image_size=X.shape[2:],
                                random_state=seed)
    results = {}

    pixels = flatten(X)
    _, results[f"pixels ({pixels.shape[1]})"] = kmeans_step(pixels, y, args.clusters,
                                                            args.n_init, seed,
                                                            args.silhouette_sample)

    km, results[f"codes (conv AE {int(np.prod(ae.code_shape))})"] = train_and_cluster(
        ae, X, y, args, seed, verbose_summary=out is not None)

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
