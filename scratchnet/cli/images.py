"""``scratchnet cluster-images``: cluster a folder of one's own images with a small autoencoder."""

import sys
from pathlib import Path

import numpy as np

from .. import datasets, models, plot
from .._io import write_json
from ..experiment import (STEPS_HELP, fit_length, positive_int, timer, writable_folder,
                          write_metrics_and_figures)
from ._common import (LOSS_NAMES, CLIError, add_common, check_k, kmeans_step, print_scores,
                      write_csv)


IMAGE_FOLDER_STEPS = 2000  # cluster-images trains this many batches unless told otherwise


# ---- cluster-images -----------------------------------------------------------------------

def add_cluster_images(sub):
    p = sub.add_parser("cluster-images",
                       help="cluster a folder of your own images with a small autoencoder")
    p.add_argument("folder", help="folder of images (" + " ".join(datasets.images.IMAGE_EXTENSIONS)
                   + "), sub-folders included")
    p.add_argument("--k", type=positive_int, default=10,
                   help="number of clusters, fewer than the images")
    p.add_argument("--out", required=True,
                   help="folder for clusters.csv, model.npz, metrics.json and the sheets")
    p.add_argument("--epochs", type=positive_int, default=None,
                   help="training epochs, instead of --steps")
    p.add_argument("--steps", type=positive_int, default=None,
                   help=f"{STEPS_HELP} (default: {IMAGE_FOLDER_STEPS}, however many images)")
    p.add_argument("--size", type=positive_int, nargs="+", default=[32], metavar="N",
                   help="resize every image to N×N, or to H×W with two numbers (the "
                        "pooling autoencoder needs multiples of 4)")
    p.add_argument("--grayscale", action="store_true", help="read the images as grey")
    p.add_argument("--n-init", type=positive_int, default=10, help="K-means restarts")
    p.add_argument("--per-sheet", type=positive_int, default=64,
                   help="at most this many images on each cluster's sheet")
    add_common(p)
    p.set_defaults(func=cmd_cluster_images)


def cmd_cluster_images(args):
    folder = Path(args.folder)
    if not folder.is_dir():
        raise CLIError(f"{folder} is not a folder")
    if len(args.size) > 2:
        raise CLIError(f"--size takes N or H W, got {len(args.size)} numbers")
    size = (args.size[0], args.size[-1])
    out = writable_folder(args.out)
    _, others = datasets.images.find_image_files(folder)
    X, paths = datasets.load_image_folder(folder, size=size, grayscale=args.grayscale)
    check_k(args.k, len(X), folder)
    print(f"{folder}: {len(X)} images, resized to {X.shape[1:]}"
          + (f"; {others} other file(s) left out (not "
             f"{'/'.join(datasets.images.IMAGE_EXTENSIONS)})" if others else ""))
    X = datasets.to_float32(X)
    try:
        ae = models.pool_autoencoder(in_channels=X.shape[1], image_size=size,
                                     random_state=args.seed)
    except ValueError as e:
        raise CLIError(f"--size {size[0]} {size[1]}: {e}") from None
    if args.epochs is None and args.steps is None:
        args.steps = IMAGE_FOLDER_STEPS  # 20 epochs of 200 photos were 80 steps: no training
    with timer() as t:
        ae.fit(X, random_state=args.seed, verbose=not args.quiet, **fit_length(args))
    codes = ae.features(X)
    km, scores = kmeans_step(codes, None, args.k, args.n_init, args.seed)
    scores["train_seconds"] = t.seconds
    scores.update(_reconstruction_check(ae, X))

    write_csv(out / "clusters.csv", ("path", "cluster"), zip(paths, km.labels_.tolist()))
    ae.save(out / "model.npz")
    print_scores(scores)
    metrics = {"folder": str(folder), "n": len(X), "k": args.k, "seed": args.seed,
               "scores": scores, "sizes": np.bincount(km.labels_, minlength=args.k)}

    def draw(figures):
        for c in range(args.k):
            members = np.flatnonzero(km.labels_ == c)[:args.per_sheet]
            if members.size:
                with figures.draw(f"cluster_{c:02d}", f"cluster_{c:02d}.png") as p:
                    plot.image_grid(X[members], ncols=min(8, members.size), path=p,
                                    titles=[Path(paths[i]).name[:14] for i in members])
        with figures.draw("loss", "loss_curves.png") as p:
            plot.loss_curves(ae.history_, path=p, title="pool autoencoder",
                             ylabel=LOSS_NAMES.get(ae.loss, ae.loss))
        with figures.draw("reconstructions", "reconstructions.png") as p:
            sample = X[:10]
            plot.reconstructions(sample, ae.reconstruct(sample), path=p)
    figures = write_metrics_and_figures(out, metrics, draw)
    sheets = [v for k, v in figures.paths.items() if k.startswith("cluster_")]
    write_json(out / "metrics.json", {**metrics, "contact_sheets": sheets, **figures.record()})
    print(f"wrote {out / 'clusters.csv'} and {len(sheets)} contact sheets to {out}/")
    return 0


def _reconstruction_check(ae, X):
    """The autoencoder's loss against the loss of answering every image with the mean image.

    Codes only carry what the decoder can rebuild. An autoencoder that reconstructs no better
    than the mean image has learnt nothing about the images, and K-means on its codes then
    sorts them by little more than average colour. Says so, with what to do, when the loss is
    not at least 10 % below that baseline (a user's 200 photos after 80 steps: BCE 0.688
    against a baseline near ln 2 = 0.693)."""
    recon = ae.reconstruct(X)
    mean_image = np.broadcast_to(X.mean(axis=0, keepdims=True), X.shape)
    ours, baseline = _loss_value(ae.loss, X, recon), _loss_value(ae.loss, X, mean_image)
    if not ours < 0.9 * baseline:
        print(f"warning: the autoencoder's {ae.loss.upper()} loss {ours:.4f} is no better than "
              f"{baseline:.4f}, the loss of the mean image: its codes say little more than the "
              "pixels' average colour; train longer (--steps) or use more images",
              file=sys.stderr)
    return {"reconstruction_loss": ours, "mean_image_loss": baseline}


def _loss_value(kind, target, output):
    """Mean BCE or MSE of ``output`` against ``target`` (float64; outputs clipped for BCE)."""
    t, o = target.astype(np.float64), output.astype(np.float64)
    if kind == "bce":
        o = np.clip(o, 1e-7, 1 - 1e-7)
        return float(-np.mean(t * np.log(o) + (1 - t) * np.log1p(-o)))
    return float(np.mean((t - o) ** 2))
