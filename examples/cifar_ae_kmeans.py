"""CIFAR-10: K-means on grey pixels, then on a convolutional autoencoder's codes (W0 + W4).

1. W4: flatten each image to its grey values (ITU-R BT.601 luma; 1024 for 32×32) and run
   K-means (k = 10); score it with silhouette and Dunn's index (internal) and ACC / NMI / ARI /
   purity against the true classes (external).
2. W0: train the stride-2 convolutional autoencoder (Conv2D 8-16-32, Conv2DTranspose back;
   Adam, binary cross-entropy) on the colour images.
3. K-means on the codes (32×4×4 = 512 for 32×32 images), scored the same way.
4. With ``--pool``: W4's small pooling autoencoder (3 filters, code 3×8×8 = 192) as a third row.

The models are built for the images' own channels and size (``X.shape[1:]``; the stage names
give the sizes). ``--steps N`` trains each autoencoder for N optimizer steps instead of
``--epochs``.

It prints one table (pixels vs codes × metrics, with wall times), writes ``metrics.json`` and
then the figures to ``--out``: reconstructions, training loss, decoded centroids, the
Hungarian-ordered confusion matrix, a contact sheet per cluster and a 2-D PCA scatter of the
codes. A figure that fails is reported on stderr and in ``metrics.json`` (``figure_errors``).

    python examples/cifar_ae_kmeans.py --data-dir ../shared/data/cifar10-subset
"""
import sys
from functools import partial

import numpy as np

from scratchnet.datasets import CIFAR10_CLASSES, flatten, to_grayscale
from scratchnet.models import cifar_autoencoder, pool_autoencoder
from scratchnet.pipeline import (METRICS, autoencoder_figures, kmeans_example_parser,
                                 kmeans_step, load_images, run_seeds, train_and_cluster)

COLUMNS = METRICS + ("train_seconds", "kmeans_seconds")


def run(args, seed, out):
    """One seed: grey pixels → K-means, then each autoencoder's codes → K-means."""
    X, y = load_images("cifar10", args.split, args.data_dir, limit=args.limit, random_state=seed)
    print(f"CIFAR-10 {args.split}: {X.shape[0]} images {X.shape[1:]}")
    # Built first: an image size a model cannot take is refused before any work.
    shape = {"in_channels": X.shape[1], "image_size": X.shape[2:]}
    models = [("conv", cifar_autoencoder(random_state=seed, **shape))]
    if args.pool:
        models.append(("pool", pool_autoencoder(random_state=seed, **shape)))
    results, draw = {}, None

    # W4: K-means on grey pixels.
    gray = flatten(to_grayscale(X))
    _, results[f"pixels (gray {gray.shape[1]})"] = kmeans_step(
        gray, y, args.clusters, args.n_init, seed, args.silhouette_sample)

    # W0: the convolutional autoencoder (and W4's pooling one with --pool), then K-means.
    for i, (kind, ae) in enumerate(models):
        name = f"codes ({kind} AE {int(np.prod(ae.code_shape))})"
        km, results[name] = train_and_cluster(ae, X, y, args, seed,
                                              verbose_summary=(i == 0 and out is not None))
        if i == 0 and out is not None:
            draw = partial(autoencoder_figures, ae=ae, km=km, X=X, y=y, names=CIFAR10_CLASSES,
                           title="CIFAR-10 autoencoder (W0)")
    return results, draw, None


def main(argv=None):
    parse = kmeans_example_parser(__doc__.splitlines()[0], "cifar_ae_kmeans",
                                  datasets=("cifar10",), default_dataset="cifar10")
    args = parse(argv, extra=lambda p: p.add_argument(
        "--pool", action="store_true", help="also W4's pooling autoencoder"))
    run_seeds(run, args, COLUMNS, f"K-means (k={args.clusters}) on CIFAR-10 {args.split}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
