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

from scratchnet.cluster import KMeans
from scratchnet.datasets import CIFAR10_CLASSES, flatten, load_images, to_grayscale
from scratchnet.experiment import (autoencoder_figures, fit_length, kmeans_example_parser,
                                   run_seeds, timer)
from scratchnet.metrics import METRICS, score_clustering
from scratchnet.models import cifar_autoencoder, pool_autoencoder, split_validation
from scratchnet.nn import Adam

COLUMNS = METRICS + ("train_seconds", "kmeans_seconds")


def run(args, seed, out):
    """One seed: grey pixels → K-means, then each autoencoder's codes → K-means.

    Returns the scores of each stage, and (for the seed that draws, ``out`` given) a function
    that draws the figures."""
    # 1. The images, float32 (N, 3, 32, 32) in [0, 1], and their classes (used only to score).
    X, y = load_images("cifar10", args.split, args.data_dir, limit=args.limit, random_state=seed)
    print(f"CIFAR-10 {args.split}: {X.shape[0]} images {X.shape[1:]}")
    # The models are built first: an image size they cannot take is refused before any work.
    shape = {"in_channels": X.shape[1], "image_size": X.shape[2:]}
    autoencoders = [("conv", cifar_autoencoder(random_state=seed, **shape))]
    if args.pool:
        autoencoders.append(("pool", pool_autoencoder(random_state=seed, **shape)))
    results, draw = {}, None

    # 2. W4: K-means on the grey pixels, one row of 1024 values per image.
    gray = flatten(to_grayscale(X))
    with timer() as t:
        km = KMeans(args.clusters, n_init=args.n_init, random_state=seed).fit(gray)
    results[f"pixels (gray {gray.shape[1]})"] = dict(
        score_clustering(gray, km.labels_, y, args.silhouette_sample, seed),
        kmeans_seconds=t.seconds)

    # 3. W0: train each autoencoder to rebuild the colour images (90 % train, 10 % validate),
    #    then K-means on its codes: the encoder's bottleneck, one flat row per image.
    X_train, X_val = split_validation(X, seed)
    for kind, ae in autoencoders:
        if out is not None and kind == "conv":
            ae.summary()
        with timer() as fit_time:
            # Adam (lr 1e-3) on the binary cross-entropy: W0's choice, and W4's
            ae.fit(X_train, loss="bce", optimizer=Adam(ae.model.parameters(), lr=1e-3),
                   validation_data=X_val, random_state=seed, verbose=not args.quiet,
                   **fit_length(args))
        codes = ae.features(X)
        with timer() as t:
            km = KMeans(args.clusters, n_init=args.n_init, random_state=seed).fit(codes)
        results[f"codes ({kind} AE {codes.shape[1]})"] = dict(
            score_clustering(codes, km.labels_, y, args.silhouette_sample, seed),
            kmeans_seconds=t.seconds, train_seconds=fit_time.seconds,
            train_steps=ae.optimizer_.t, final_loss=ae.history_["loss"][-1])
        if out is not None and kind == "conv":
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
