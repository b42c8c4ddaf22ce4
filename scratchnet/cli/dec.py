"""``scratchnet dec``: refine the clusters of a trained autoencoder's codes with DEC (or IDEC)."""

import math
from pathlib import Path

from .. import plot
from ..cluster import DEC, centered_pixel_kmeans, cluster_means
from ..datasets import class_names
from ..experiment import positive_int, timer, writable_folder, write_metrics_and_figures
from ..metrics import external_scores
from ..models import decoded_images
from ..report import cluster_gallery, report_or_warn
from ..nn import Flatten, L2Normalize, Reshape, Sequential
from ._common import (CLIError, add_common, add_data_flags, load_model_and_data, model_path,
                      print_scores, write_csv)


# ---- dec ----------------------------------------------------------------------------------

DEC_CHECKPOINT = "dec_checkpoint.npz"


def add_dec(sub):
    p = sub.add_parser("dec", help="refine the clusters of a trained autoencoder with DEC/IDEC")
    p.add_argument("model", help="model.npz, or the folder `scratchnet train` wrote")
    add_data_flags(p, dataset_required=False)
    p.add_argument("--k", type=positive_int, default=10, help="number of clusters")
    p.add_argument("--normalize", type=float, default=None, metavar="SCALE",
                   help="L2-normalise the codes to length SCALE before clustering "
                        "(scratchnet.nn.L2Normalize)")
    p.add_argument("--idec", type=float, default=0.0, metavar="WEIGHT",
                   help="reconstruction weight: > 0 keeps the decoder training (IDEC)")
    p.add_argument("--optimizer", choices=("sgd", "adam"), default="sgd",
                   help="optimizer of the encoder and centroids")
    p.add_argument("--max-iter", type=positive_int, default=20000,
                   help="maximum training steps")
    p.add_argument("--update-interval", type=positive_int, default=140,
                   help="steps between two refreshes of the target distribution")
    p.add_argument("--tol", type=float, default=1e-3,
                   help="stop when fewer than this fraction of labels change at a refresh")
    p.add_argument("--batch-size", type=positive_int, default=256, help="images per step")
    p.add_argument("--n-init", type=positive_int, default=20,
                   help="K-means restarts for the centroids")
    p.add_argument("--start", choices=("codes", "pixels"), default="codes",
                   help="where the centroids start: K-means on the codes (the paper), or the "
                        "mean code of each cluster of K-means on the images centred and scaled "
                        "to unit length (examples/mnist_dec.py's default)")
    p.add_argument("--out", required=True, help="folder for labels.csv, metrics.json, figures "
                                                "and the DEC checkpoint")
    p.add_argument("--resume", action="store_true",
                   help=f"continue from {DEC_CHECKPOINT} in --out (same model and data)")
    add_common(p)
    p.set_defaults(func=cmd_dec)


def cmd_dec(args):
    path = model_path(args)
    if not 0 <= args.idec < float("inf"):
        raise CLIError(f"--idec: expected a finite weight >= 0 (0: DEC, 0.1-1: IDEC), got "
                       f"{args.idec}")
    if args.normalize is not None and not 0 < args.normalize < float("inf"):
        raise CLIError(f"--normalize must be a finite positive length, got {args.normalize}")
    if args.normalize is not None and args.idec > 0:
        raise CLIError("--normalize and --idec do not go together: the decoder reconstructs "
                       "from the raw codes, not from normalised ones")
    out = Path(args.out)
    ckpt = out / DEC_CHECKPOINT
    if ckpt.exists() and not args.resume:
        raise CLIError(f"{ckpt} exists; continue it with --resume or choose another --out")
    if args.resume and not ckpt.is_file():
        raise CLIError(f"--resume: no checkpoint {ckpt}; start without --resume")
    writable_folder(out)
    ae, X, y, Xin = load_model_and_data(args, path, silhouette=False)

    # DEC wants flat codes: a convolutional encoder gets a Flatten (and its decoder a Reshape)
    image_code = len(ae.code_shape) > 1
    encoder = Sequential(list(ae.encoder) + ([Flatten()] if image_code else [])
                         + ([L2Normalize(args.normalize)] if args.normalize else []))
    decoder = None
    if args.idec > 0:
        decoder = Sequential(([Reshape(ae.code_shape)] if image_code else [])
                             + list(ae.decoder))

    def report(dec, logs):
        # the loss is the mean since the previous refresh: at the first one (step 0, before
        # any training) there is none, and "KL nan" read like a failure
        kl = logs["loss"]
        kl = f"{kl:.5f}" if math.isfinite(kl) else "-      "
        print(f"  step {logs['iteration']:>6}: KL {kl}  labels changed "
              f"{logs['delta_label']:.4f}  ACC {logs.get('acc', float('nan')):.4f}", flush=True)

    init = "k-means"
    if args.start == "pixels":
        pixel_km = centered_pixel_kmeans(X, args.k, args.n_init, random_state=args.seed)
        init = cluster_means(encoder.predict(Xin), pixel_km.labels_, args.k)
    dec = DEC(encoder, args.k, update_interval=args.update_interval, tol=args.tol,
              max_iter=args.max_iter, batch_size=args.batch_size, optimizer=args.optimizer,
              reconstruction_weight=args.idec, decoder=decoder, n_init=args.n_init,
              random_state=args.seed, verbose=not args.quiet,
              callbacks=[] if args.quiet else [report], init=init)
    if args.resume:
        print(f"resuming DEC from {ckpt}")
    with timer() as t:
        dec.fit(Xin, y, checkpoint=ckpt, resume=args.resume)
    scores = external_scores(y, dec.labels_)
    print(f"DEC: {dec.n_iter_} steps in {t.seconds:.1f} s")
    print_scores(scores)

    write_csv(out / "labels.csv", ("index", "cluster", "label"),
               zip(range(len(y)), dec.labels_.tolist(), y.tolist()))
    settings = {k: getattr(args, k) for k in ("dataset", "split", "limit", "k", "normalize",
                                              "idec", "optimizer", "max_iter",
                                              "update_interval", "tol", "batch_size", "n_init",
                                              "start", "seed")}
    metrics = {"model": str(path), "settings": settings, "n": len(X), "n_iter": dec.n_iter_,
               "seconds": t.seconds, "scores": scores, "history": dec.history_}
    names = class_names(args.dataset)

    def draw(figures):
        with figures.draw("confusion", "confusion_matrix.png") as p:
            plot.confusion_matrix(y, dec.labels_, path=p, class_names=names)
        with figures.draw("history", "dec_history.png") as p:
            plot.loss_curves({k: dec.history_[k] for k in ("loss", "delta_label", "acc")},
                             path=p, title="DEC, per target refresh",
                             xlabel=f"target refresh (every {args.update_interval} steps)",
                             ylabel="KL loss, fraction of labels changed, accuracy")
        with figures.draw("clusters", "clusters_contact_sheet.png") as p:
            plot.cluster_contact_sheet(X, dec.labels_, path=p)
        with figures.draw("centroids", "decoded_centroids.png") as p:
            centers = dec.cluster_centers_
            if args.normalize is not None:
                # centroids on the sphere are not codes the decoder knows: decode the mean
                # raw code of each (non-empty) cluster instead
                centers = cluster_means(ae.features(Xin), dec.labels_, args.k)
            plot.decoded_centroids(decoded_images(ae.decode(centers), X.shape[1:]), path=p)
        with figures.attempt("gallery"):     # one row per cluster in report.html
            raw = ae.features(Xin)
            means = cluster_means(raw, dec.labels_, args.k, by_id=True)
            figures.clusters = cluster_gallery(
                figures, X, dec.labels_, codes=raw, y=y, class_names=names,
                decoded=decoded_images(ae.decode(means), X.shape[1:]))
    write_metrics_and_figures(out, metrics, draw)
    report_or_warn(out)
    return 0
