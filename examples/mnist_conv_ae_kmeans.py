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
from pathlib import Path

from scratchnet import plot
from scratchnet.datasets import flatten
from scratchnet.metrics import cluster_composition
from scratchnet.models import mnist_conv_autoencoder
from scratchnet.pipeline import (METRICS, class_names, example_parser, format_composition,
                                 kmeans_step, load_images, results_table, split_validation,
                                 timer, write_json)

COLUMNS = METRICS + ("train_seconds", "kmeans_seconds")


def run(args, seed, out):
    """One seed: pixels → K-means, train the AE, codes → K-means; figures when ``out``."""
    X, y = load_images(args.dataset, args.split, args.data_dir, limit=args.limit,
                       random_state=seed)
    names = class_names(args.dataset)
    print(f"{args.dataset} {args.split}: {X.shape[0]} images {X.shape[1:]}")
    k, sample = args.clusters, args.silhouette_sample
    results = {}

    _, results["pixels (784)"] = kmeans_step(flatten(X), y, k, args.n_init, seed, sample)

    ae = mnist_conv_autoencoder(random_state=seed)
    if out is not None:
        ae.summary()
    X_train, X_val = split_validation(X, seed)
    with timer() as t:
        ae.fit(X_train, epochs=args.epochs, validation_data=X_val, random_state=seed,
               verbose=not args.quiet)
    km, scores = kmeans_step(ae.features(X), y, k, args.n_init, seed, sample)
    scores["train_seconds"] = t.seconds
    scores["final_loss"] = ae.history_["loss"][-1]
    results["codes (conv AE 98)"] = scores

    print(f"\nWhat each cluster of the codes holds (seed {seed}):")
    print(format_composition(y, km.labels_, names))
    composition = [{"cluster": c, "size": n, "labels": [[names[lab], cnt] for lab, cnt in counts]}
                   for c, n, counts in cluster_composition(y, km.labels_)]
    figures = _figures(ae, km, X, y, names, out) if out is not None else {}
    return results, figures, composition


def _figures(ae, km, X, y, names, out):
    out = Path(out)
    paths = {
        "reconstructions": out / "reconstructions.png",
        "loss": out / "loss_curves.png",
        "centroids": out / "decoded_centroids.png",
        "confusion": out / "confusion_matrix.png",
        "contact_sheet": out / "clusters_contact_sheet.png",
        "scatter": out / "codes_pca.png",
    }
    sample = X[:10]
    plot.reconstructions(sample, ae.reconstruct(sample), path=paths["reconstructions"])
    plot.loss_curves(ae.history_, path=paths["loss"], title="Pooling conv autoencoder (W1)")
    # A centroid is the mean of 98-d codes; decoding it shows the cluster's "typical" image.
    plot.decoded_centroids(ae.decode(km.cluster_centers_), path=paths["centroids"])
    plot.confusion_matrix(y, km.labels_, path=paths["confusion"], class_names=names)
    plot.cluster_contact_sheet(X, km.labels_, path=paths["contact_sheet"])
    n = min(len(X), 3000)
    plot.scatter_codes(ae.features(X[:n]), km.labels_[:n], centers=km.cluster_centers_,
                       path=paths["scatter"], title="Autoencoder codes (PCA), by cluster")
    return {k: str(v) for k, v in paths.items()}


def main(argv=None):
    p = example_parser(__doc__.splitlines()[0], datasets=("mnist", "fashion-mnist"),
                       default_dataset="mnist", default_epochs=20)
    p.add_argument("--n-init", type=int, default=10, help="K-means restarts")
    p.add_argument("--silhouette-sample", type=int, default=10000,
                   help="silhouette on at most this many points (exact below it)")
    args = p.parse_args(argv)
    if args.quick:
        args.limit, args.epochs, args.n_init = args.limit or 400, min(args.epochs, 1), 2
    out = Path(args.out or "out/mnist_conv_ae_kmeans")

    with timer() as total:
        runs, compositions, figures = [], [], {}
        for s in range(args.seed, args.seed + args.seeds):
            res, figs, comp = run(args, s, out if s == args.seed else None)
            runs.append(res)
            compositions.append(comp)
            figures = figures or figs
    print()
    print(results_table(runs, COLUMNS, title=f"K-means (k={args.clusters}) on {args.dataset} "
                        f"{args.split}, {args.seeds} seed(s)"))
    print(f"\nwall time {total.seconds:.1f} s; figures and metrics.json in {out}/")
    write_json(out / "metrics.json", {"args": vars(args), "runs": runs,
                                      "composition": compositions,
                                      "wall_seconds": total.seconds, "figures": figures})
    return 0


if __name__ == "__main__":
    sys.exit(main())
