"""``scratchnet cluster`` (K-means on a trained autoencoder's codes) and ``scratchnet evaluate``
(score a labelling from a file)."""

from pathlib import Path

import numpy as np

from .. import plot
from .._io import write_json
from ..datasets import class_names
from ..experiment import non_negative_int, positive_int, writable_folder, write_metrics_and_figures
from ..metrics import cluster_composition, external_scores, score_clustering
from ..models import decoded_images
from ..report import cluster_gallery, report_or_warn
from ._common import (CLIError, add_common, add_data_flags, kmeans_step, load_model_and_data,
                      load_npy, model_path, print_scores, read_column, write_csv)


# ---- cluster ------------------------------------------------------------------------------

def add_cluster(sub):
    p = sub.add_parser("cluster", help="encode a dataset with a trained model and run K-means")
    p.add_argument("model", help="model.npz, or the folder `scratchnet train` wrote")
    add_data_flags(p, dataset_required=False)
    p.add_argument("--k", type=positive_int, default=10,
                   help="number of clusters, fewer than the images")
    p.add_argument("--n-init", type=positive_int, default=10, help="K-means restarts")
    p.add_argument("--format", choices=("csv", "npy"), default="csv",
                   help="labels.csv (index,cluster,label) or labels.npy (+ true_labels.npy)")
    p.add_argument("--silhouette-sample", type=positive_int, default=10000,
                   help="compute the O(N²) silhouette on a random subset of this many codes")
    p.add_argument("--out", required=True, help="folder for labels, codes.npy, metrics.json "
                                                "and figures")
    add_common(p)
    p.set_defaults(func=cmd_cluster)


def cmd_cluster(args):
    path = model_path(args)
    out = writable_folder(args.out)
    ae, X, y, Xin = load_model_and_data(args, path)
    codes = ae.features(Xin)
    km, scores = kmeans_step(codes, y, args.k, args.n_init, args.seed, args.silhouette_sample)

    if args.format == "csv":
        write_csv(out / "labels.csv", ("index", "cluster", "label"),
                   zip(range(len(y)), km.labels_.tolist(), y.tolist()))
    else:
        np.save(out / "labels.npy", km.labels_)
        np.save(out / "true_labels.npy", y)
    np.save(out / "codes.npy", codes)
    names = class_names(args.dataset)
    composition = [{"cluster": c, "size": s, "labels": [[names[a], m] for a, m in counts]}
                   for c, s, counts in cluster_composition(y, km.labels_)]
    print_scores(scores)
    metrics = {"model": str(path), "dataset": args.dataset, "split": args.split, "n": len(X),
               "k": args.k, "seed": args.seed, "scores": scores, "composition": composition}

    def draw(figures):
        with figures.draw("contact_sheet", "clusters_contact_sheet.png") as p:
            plot.cluster_contact_sheet(X, km.labels_, path=p)
        with figures.draw("confusion", "confusion_matrix.png") as p:
            plot.confusion_matrix(y, km.labels_, path=p, class_names=names)
        with figures.draw("centroids", "decoded_centroids.png") as p:
            plot.decoded_centroids(decoded_images(ae.decode(km.cluster_centers_), X.shape[1:]),
                                   path=p)
        with figures.draw("scatter", "codes_scatter.png") as p:
            n = min(len(X), 3000)
            plot.scatter_codes(codes[:n], km.labels_[:n], centers=km.cluster_centers_, path=p,
                               title="codes by cluster")
        with figures.attempt("gallery"):     # one row per cluster in report.html
            figures.clusters = cluster_gallery(
                figures, X, km.labels_, codes=codes, y=y, class_names=names,
                decoded=decoded_images(ae.decode(km.cluster_centers_), X.shape[1:]))
    write_metrics_and_figures(out, metrics, draw)
    report_or_warn(out)
    return 0


# ---- evaluate -----------------------------------------------------------------------------

def add_evaluate(sub):
    p = sub.add_parser("evaluate", help="score a labelling against true labels and/or features")
    p.add_argument("labels", help="cluster labels: .npy, or .csv with a 'cluster' column")
    p.add_argument("--truth", help="true labels: .npy, or .csv with a 'label' column "
                                   "(default: the 'label' column of a labels .csv)")
    p.add_argument("--features", help=".npy of the features that were clustered (N, ...)")
    p.add_argument("--silhouette-sample", type=positive_int, default=None,
                   help="compute the silhouette on a random subset of this many rows "
                        "(default: all)")
    p.add_argument("--out", default=None, help="also write the scores to this .json file")
    p.add_argument("--seed", type=non_negative_int, default=0,
                   help="seeds the silhouette sample")
    p.set_defaults(func=cmd_evaluate)


def cmd_evaluate(args):
    if args.out:
        if Path(args.out).is_dir():
            raise CLIError(f"--out {args.out} is a folder; give the .json file to write")
        writable_folder(Path(args.out).parent, lock=False)   # one file, written atomically
    labels = read_column(args.labels, "cluster")
    truth = read_column(args.truth, "label", flag="--truth") if args.truth else None
    if truth is None and args.labels.endswith(".csv"):
        truth = read_column(args.labels, "label", required=False)
    features = None
    if args.features:
        features = load_npy(args.features, "--features")
        if features.dtype.kind not in "biuf":
            raise CLIError(f"--features {args.features}: expected numbers (one row of features "
                           f"per image), got an array of {features.dtype}")
        features = features.reshape(len(features), -1)
    if truth is None and features is None:
        raise CLIError("nothing to score against: give --truth and/or --features")
    for name, arr in (("--truth", truth), ("--features", features)):
        if arr is not None and len(arr) != len(labels):
            raise CLIError(f"{name} has {len(arr)} rows, the labels {len(labels)}")
    scores = {}
    if features is not None:
        scores.update(score_clustering(features, labels, None, args.silhouette_sample,
                                       args.seed))
    if truth is not None:
        scores.update(external_scores(truth, labels))
    print_scores(scores)
    if args.out:
        write_json(args.out, {"labels": args.labels, "n": len(labels), "scores": scores})
    return 0
