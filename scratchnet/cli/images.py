"""``scratchnet cluster-images``: cluster a folder of one's own images with a small autoencoder."""

import sys
from pathlib import Path

import numpy as np

from .. import datasets, models, plot
from .._io import write_json
from .._utils import available_memory
from ..experiment import (STEPS_HELP, fit_length, positive_int, timer, writable_folder,
                          write_metrics_and_figures)
from ..report import cluster_gallery, report_or_warn
from ._common import (LOSS_NAMES, CLIError, add_common, check_k, kmeans_step, print_scores,
                      write_csv)


IMAGE_FOLDER_STEPS = 2000  # cluster-images trains this many batches unless told otherwise
# The largest side --size takes. The pooling autoencoder's code is 3 × H/4 × W/4 numbers per
# image: 49,152 at 512 × 512, already far more dimensions than K-means can use well, while a
# batch of 64 such images needs about 2 GB of activations to train. Larger sizes only cost.
MAX_SIDE = 512


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
    if max(size) > MAX_SIDE:
        raise CLIError(f"--size: expected sides of at most {MAX_SIDE} pixels (the autoencoder's "
                       f"code grows with the image, 3 x H/4 x W/4 numbers, and is of no more "
                       f"use to K-means beyond that), got {size[0]} x {size[1]}")
    out = writable_folder(args.out)
    files, others, left_out = datasets.images.find_image_files(folder, exclude=[out])
    for skipped_folder, why in left_out:
        print(f"left out {skipped_folder}: {why}")
    channels = 1 if args.grayscale else 3
    try:
        ae = models.pool_autoencoder(in_channels=channels, image_size=size,
                                     random_state=args.seed)
    except ValueError as e:
        raise CLIError(f"--size {size[0]} {size[1]}: {e}") from None
    check_memory(ae, len(files))
    X, paths = datasets.load_image_folder(folder, size=size, grayscale=args.grayscale,
                                          exclude=[out])
    check_k(args.k, len(X), folder)
    print(f"{folder}: {len(X)} images, resized to {X.shape[1:]}"
          + (f"; {others} other file(s) left out (not "
             f"{'/'.join(datasets.images.IMAGE_EXTENSIONS)})" if others else ""))
    X = datasets.to_float32(X)
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
        with figures.attempt("gallery"):     # one row per cluster in report.html
            figures.clusters = cluster_gallery(
                figures, X, km.labels_, codes=codes,
                decoded=ae.decode(km.cluster_centers_))
    figures = write_metrics_and_figures(out, metrics, draw)
    sheets = [v for k, v in figures.paths.items() if k.startswith("cluster_")]
    write_json(out / "metrics.json", {**metrics, "contact_sheets": sheets, **figures.record()})
    print(f"wrote {out / 'clusters.csv'} and {len(sheets)} contact sheets to {out}/")
    report_or_warn(out)
    return 0


def memory_needed(ae, n_images, batch_size=64):
    """Bytes a cluster-images run of ``n_images`` images for the autoencoder ``ae`` needs at
    its peak, roughly (measured: 2.3 GB for 24 images of 3 × 256 × 256, estimated 2.8): the
    images (uint8 as read, float32 to train, 12 bytes a value in all with the codes and K-means'
    copies of them), and two batches of the pooling autoencoder (training on 64 images, and
    predicting or checking 256: every layer's output and its gradient, float32, plus the 3×3
    convolutions' unfolded inputs)."""
    shape, per_sample = tuple(ae.input_shape), 0
    for layer in list(ae.encoder) + list(ae.decoder):
        unfolded = 9 * shape[0] * shape[1] * shape[2]     # a 3×3 convolution's im2col
        shape = tuple(layer.output_shape(shape))
        per_sample += 2 * int(np.prod(shape)) + unfolded
    values = n_images * int(np.prod(ae.input_shape))
    return values * 12 + (min(batch_size, n_images) + min(256, n_images)) * per_sample * 4


def check_memory(ae, n_images):
    """Refuse, before reading a single image, a run that cannot fit in memory."""
    need, have = memory_needed(ae, n_images), available_memory()
    if have and need > 0.8 * have:
        c, h, w = ae.input_shape
        raise CLIError(f"{n_images} images of {c} x {h} x {w} need about "
                       f"{need / 2**30:.1f} GiB, and this machine has {have / 2**30:.1f} GiB "
                       f"available; expected a smaller --size (or fewer images)")


def _reconstruction_check(ae, X):
    """The autoencoder's loss against the loss of answering every image with the mean image.

    Codes only carry what the decoder can rebuild. An autoencoder that reconstructs no better
    than the mean image has learnt nothing about the images, and K-means on its codes then
    sorts them by little more than average colour. Says so, with what to do, when the loss is
    not at least 10 % below that baseline (a user's 200 photos after 80 steps: BCE 0.688
    against a baseline near ln 2 = 0.693)."""
    mean_image = X.mean(axis=0, keepdims=True)
    ours = baseline = 0.0
    for start in range(0, len(X), 256):     # in chunks: float64 temporaries of 256 images
        chunk = X[start:start + 256]
        ours += _loss_value(ae.loss, chunk, ae.reconstruct(chunk)) * len(chunk)
        baseline += _loss_value(ae.loss, chunk, np.broadcast_to(mean_image, chunk.shape)) \
            * len(chunk)
    ours, baseline = ours / len(X), baseline / len(X)
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
