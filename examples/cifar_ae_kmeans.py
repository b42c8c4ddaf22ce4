"""CIFAR-10: K-means on grey pixels, then on a convolutional autoencoder's codes (W0 + W4).

1. W4: flatten each image to 1024 grey values (ITU-R BT.601 luma) and run K-means (k = 10);
   score it with silhouette and Dunn's index (internal) and ACC / NMI / ARI / purity against
   the true classes (external).
2. W0: train the stride-2 convolutional autoencoder (Conv2D 8-16-32, Conv2DTranspose back;
   Adam, binary cross-entropy) on the colour images.
3. K-means on the 512-d codes (32×4×4), scored the same way.
4. With ``--pool``: W4's small pooling autoencoder (3 filters, code 3×8×8 = 192) as a third row.

It prints one table (pixels vs codes × metrics, with wall times), writes ``metrics.json`` and
the figures to ``--out``: reconstructions, training loss, decoded centroids, the Hungarian-
ordered confusion matrix, a contact sheet per cluster and a 2-D PCA scatter of the codes.

    python examples/cifar_ae_kmeans.py --data-dir ../shared/data/cifar10-subset
"""
import sys
from pathlib import Path

import numpy as np

from scratchnet import plot
from scratchnet.datasets import flatten, to_grayscale
from scratchnet.models import cifar_autoencoder, pool_autoencoder
from scratchnet.pipeline import (METRICS, aggregate, example_parser, format_table, kmeans_step,
                                 load_images, timer, write_json)

COLUMNS = METRICS + ("train_seconds", "kmeans_seconds")


def run(args, seed, out):
    X, y = load_images("cifar10", args.split, args.data_dir, limit=args.limit, random_state=seed)
    print(f"CIFAR-10 {args.split}: {X.shape[0]} images {X.shape[1:]}")
    k, sample = args.clusters, args.silhouette_sample
    results, figures = {}, {}

    # W4: K-means on grey pixels.
    gray = flatten(to_grayscale(X))
    _, results["pixels (gray 1024)"] = kmeans_step(gray, y, k, args.n_init, seed, sample)

    # W0: the convolutional autoencoder, trained on 90 % and validated on 10 %.
    models = [("codes (conv AE 512)", cifar_autoencoder(random_state=seed))]
    if args.pool:
        models.append(("codes (pool AE 192)", pool_autoencoder(random_state=seed)))
    order = np.random.default_rng(seed).permutation(len(X))
    n_val = max(1, len(X) // 10)
    for i, (name, ae) in enumerate(models):
        if i == 0:
            ae.summary()
        with timer() as t:
            ae.fit(X[order[n_val:]], epochs=args.epochs, validation_data=X[order[:n_val]],
                   random_state=seed, verbose=not args.quiet)
        codes = ae.features(X)
        km, scores = kmeans_step(codes, y, k, args.n_init, seed, sample)
        scores["train_seconds"] = t.seconds
        scores["final_loss"] = ae.history_["loss"][-1]
        results[name] = scores
        if i == 0 and out is not None:
            figures.update(_figures(ae, km, X, y, out))
    return results, figures


def _figures(ae, km, X, y, out):
    tag = Path(out)
    paths = {
        "reconstructions": tag / "reconstructions.png",
        "loss": tag / "loss_curves.png",
        "centroids": tag / "decoded_centroids.png",
        "confusion": tag / "confusion_matrix.png",
        "contact_sheet": tag / "clusters_contact_sheet.png",
        "scatter": tag / "codes_pca.png",
    }
    sample = X[:10]
    plot.reconstructions(sample, ae.reconstruct(sample), path=paths["reconstructions"])
    plot.loss_curves(ae.history_, path=paths["loss"], title="CIFAR-10 autoencoder")
    plot.decoded_centroids(ae.decode(km.cluster_centers_), path=paths["centroids"])
    plot.confusion_matrix(y, km.labels_, path=paths["confusion"], class_names=CLASSES)
    plot.cluster_contact_sheet(X, km.labels_, path=paths["contact_sheet"])
    n = min(len(X), 3000)
    plot.scatter_codes(ae.features(X[:n]), km.labels_[:n], centers=km.cluster_centers_,
                       path=paths["scatter"], title="Autoencoder codes (PCA), by cluster")
    return {k: str(v) for k, v in paths.items()}


CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
           "truck"]


def main(argv=None):
    p = example_parser(__doc__.splitlines()[0], datasets=("cifar10",), default_dataset="cifar10",
                       default_epochs=20)
    p.add_argument("--pool", action="store_true", help="also W4's pooling autoencoder")
    p.add_argument("--n-init", type=int, default=10, help="K-means restarts")
    p.add_argument("--silhouette-sample", type=int, default=10000,
                   help="silhouette on at most this many points (exact below it)")
    args = p.parse_args(argv)
    if args.quick:
        args.limit, args.epochs, args.n_init = args.limit or 400, min(args.epochs, 1), 2
    out = Path(args.out or "out/cifar_ae_kmeans")

    with timer() as total:
        runs, figures = [], {}
        for s in range(args.seed, args.seed + args.seeds):
            res, figs = run(args, s, out if s == args.seed else None)
            runs.append(res)
            figures = figures or figs
    rows = [dict(stage=k, **v) for k, v in (aggregate(runs) if args.seeds > 1
                                           else runs[0]).items()]
    print()
    print(format_table(rows, COLUMNS, title=f"K-means (k={args.clusters}) on CIFAR-10 "
                       f"{args.split}, {args.seeds} seed(s)"))
    print(f"\nwall time {total.seconds:.1f} s; figures and metrics.json in {out}/")
    write_json(out / "metrics.json", {"args": vars(args), "runs": runs,
                                      "wall_seconds": total.seconds, "figures": figures})
    return 0


if __name__ == "__main__":
    sys.exit(main())
