"""Images of any size: pixels → autoencoder → UMAP → clusters (N2D), and DEC (W3).

The flow, one stage after another, each scored against the true classes (which the clustering
never sees) and timed:

1. **pixels + K-means** (k = ``--clusters``): the baseline.
2. **AE + K-means**: the dense autoencoder D-500-500-2000-10 of DEC and N2D (ReLU, linear code
   and output; Adam, mean squared error) is pretrained for ``--steps`` optimizer steps, however
   many images there are (5,000 or 70,000 get the same training), then K-means on its codes.
3. **AE + UMAP** (N2D, McConville et al. 2020): UMAP (``scratchnet.manifold``) lays the codes
   out in ``--umap-dims`` dimensions with ``min_dist=0`` and ``--umap-neighbors`` neighbours, so
   each class packs tightly; then K-means (**AE + UMAP + K-means**) and a full-covariance
   Gaussian mixture (**AE + UMAP + GMM**) on that layout.
4. **DEC** (optional, ``--dec``): the encoder and Student-t centroids trained on KL(P || Q)
   (Xie, Girshick & Farhadi 2016), starting from the N2D partition (``--dec-start n2d``: the
   mean L2-normalised code of each of its clusters), from K-means on the codes (``codes``,
   the paper's start) or on the centred pixels (``pixels``).

The recipe's answer is the stage ``--final`` (default ``AE + UMAP + GMM``). It is fixed in
advance, never picked by looking at the labels; ``metrics.json`` names it under ``"final"``
and the table marks it with ``*``. ``metrics.json`` is written before the figures (confusion
matrix of the answer, pretraining loss, decoded cluster means, the UMAP layout), so a figure
that fails costs only itself.

Measured with the defaults (2026-11-29, session 6), 3 seeds, ACC mean (worst seed) and seconds
per seed end to end on a 2-core AMD EPYC (``benchmarks/quality.py`` keeps every stage, why the defaults are
these, and what was tried):

    ==========================  ================  ================  ================  =====
    data                        pixels + K-means  AE + UMAP + K-m.  AE + UMAP + GMM   s
    ==========================  ================  ================  ================  =====
    MNIST test, first 5,000     0.599 (0.593)     0.892 (0.886)     0.901 (0.894)     165
    scikit-learn 8×8 digits     0.792 (0.791)     0.867 (0.814)     0.889 (0.885)     119
    Fashion-MNIST, 70,000       0.519 (0.476)     0.566 (0.561)     0.589 (0.562)     230
    CIFAR-10 subset, 4,660      0.214 (0.210)     0.257 (0.250)     0.248 (0.234)     243
    ==========================  ================  ================  ================  =====

    python examples/mnist_dec.py --dataset mnist --split test --data-dir ../shared/data/mnist-test-5k
    python examples/mnist_dec.py --dataset fashion-mnist --split all --seeds 3
    python examples/mnist_dec.py --dataset fashion-mnist --quick
"""
import argparse
import sys
from functools import partial
from pathlib import Path

import numpy as np

from scratchnet import plot
from scratchnet.cluster import (DEC, GaussianMixture, KMeans, centered_pixel_kmeans,
                                cluster_means)
from scratchnet.datasets import class_names, flatten, load_images
from scratchnet.experiment import (example_parser, fit_length, parse_example_args, positive_int,
                                   run_seeds, timer)
from scratchnet.manifold import UMAP
from scratchnet.metrics import external_scores
from scratchnet.models import Autoencoder, decoded_images, dense_autoencoder
from scratchnet.nn import L2Normalize, Sequential

COLUMNS = ("acc", "nmi", "ari", "purity", "seconds")
STAGES = ("pixels + K-means", "AE + K-means", "AE + UMAP + K-means", "AE + UMAP + GMM", "DEC")


def _report(stage, scores):
    print(f"{stage}: ACC {scores['acc']:.4f}  NMI {scores['nmi']:.4f}  ARI {scores['ari']:.4f}  "
          f"({scores['seconds']:.1f} s)", flush=True)


def _print_refresh(dec, logs):
    """DEC's callback: one line per refresh of the target (the library itself never prints)."""
    print(f"  DEC step {logs['iteration']:>6}: loss {logs['loss']:.5f}  changed "
          f"{logs['delta_label']:.4f}  ACC {logs.get('acc', float('nan')):.4f}  "
          f"NMI {logs.get('nmi', float('nan')):.4f}", flush=True)


def pretrain(args, X, seed):
    """The autoencoder of this seed: trained now for ``--steps``, or loaded from ``--ae-cache``."""
    length = fit_length(args)
    size = f"{length['steps']}steps" if "steps" in length else f"{length['epochs']}ep"
    # the file name holds every setting the pretrained weights depend on
    tag = (f"ae_{args.dataset}_{args.split}_{args.limit or 'full'}_n{len(X)}x{X.shape[1]}_"
           f"{'-'.join(map(str, args.dims))}_{size}_lr{args.ae_lr:g}_bs{args.batch_size}_"
           f"noise{args.noise:g}_seed{seed}.npz")
    cache = Path(args.ae_cache) / tag if args.ae_cache else None
    if cache is not None and cache.exists():
        print(f"autoencoder: loaded {cache} (pretraining skipped)")
        return Autoencoder.load(cache), 0.0
    ae = dense_autoencoder((X.shape[1],) + tuple(args.dims), random_state=seed)
    ae.optimizer_kwargs = {"lr": args.ae_lr}
    with timer() as t:
        ae.fit(X, batch_size=args.batch_size, random_state=seed, verbose=not args.quiet,
               noise=args.noise, **length)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        ae.save(cache)
    return ae, t.seconds


def run(args, seed, out):
    """One seed: load the images of ``--dataset``, then :func:`recipe`; the figures (drawn by
    the caller) for the seed that gets ``out``."""
    images, y = load_images(args.dataset, args.split, args.data_dir, limit=args.limit,
                            random_state=seed)
    print(f"{args.dataset} {args.split}: {len(images)} images of {images.shape[1:]}, seed {seed}")
    results, state = recipe(images, y, args, seed)
    return results, partial(draw, args=args, state=state) if out is not None else None, None


def recipe(images, y, args, seed):
    """All stages on ``images`` (N, C, H, W) in [0, 1] for one seed: ``(results, state)``, the
    scores of each stage and what the figures need. ``y`` only scores."""
    X = flatten(images)
    k, results = args.clusters, {}

    def score(stage, labels, seconds, **extra):
        results[stage] = dict(external_scores(y, labels), seconds=seconds, **extra)
        _report(stage, results[stage])
        return labels

    # 1. the baseline
    with timer() as t:
        km = KMeans(k, n_init=args.n_init, random_state=seed).fit(X)
    score("pixels + K-means", km.labels_, t.seconds)

    # 2. pretrain, encode, K-means on the codes
    ae, train_seconds = pretrain(args, X, seed)
    with timer() as t:
        codes = ae.features(X)
        km = KMeans(k, n_init=args.n_init, random_state=seed).fit(codes)
    score("AE + K-means", km.labels_, train_seconds + t.seconds,
          ae_loss=ae.history_["loss"][-1] if ae.history_["loss"] else None)

    # 3. N2D: UMAP of the codes, then K-means and a Gaussian mixture on the layout. Each code
    # unit is first put on the same scale (z-scores; a dead unit stays 0), so the neighbours
    # UMAP finds are not those of the one or two units with the widest range.
    with timer() as t_umap:
        scaled = codes
        if args.standardize:
            spread = codes.std(axis=0)
            scaled = (codes - codes.mean(axis=0)) / np.where(spread > 0, spread, 1.0)
        umap = UMAP(n_components=args.umap_dims or k, n_neighbors=args.umap_neighbors,
                    min_dist=0.0, random_state=seed, verbose=not args.quiet)
        layout = umap.fit_transform(scaled)
    with timer() as t:
        n2d_km = KMeans(k, n_init=args.n_init, random_state=seed).fit(layout)
    score("AE + UMAP + K-means", n2d_km.labels_, t_umap.seconds + t.seconds)
    with timer() as t:
        gmm = GaussianMixture(k, covariance_type="full", n_init=args.gmm_init,
                              random_state=seed).fit(layout)
    score("AE + UMAP + GMM", gmm.labels_, t_umap.seconds + t.seconds)
    answer = {"AE + UMAP + K-means": n2d_km.labels_, "AE + UMAP + GMM": gmm.labels_}

    # 4. DEC, on the L2-normalised codes, from the partition --dec-start names
    if args.dec:
        dec_codes = L2Normalize(args.normalize).forward(codes)
        if args.dec_start == "n2d":
            start = cluster_means(dec_codes, answer[args.final if args.final != "DEC"
                                                    else "AE + UMAP + GMM"], k)
        elif args.dec_start == "pixels":
            start = cluster_means(dec_codes, centered_pixel_kmeans(X, k, args.n_init,
                                                                   random_state=seed).labels_, k)
        else:
            start = KMeans(k, n_init=args.n_init, random_state=seed).fit(dec_codes)
            start = start.cluster_centers_
        encoder = Sequential(list(ae.encoder) + [L2Normalize(args.normalize)])
        dec = DEC(encoder, k, update_interval=args.update_interval, tol=args.tol,
                  max_iter=args.dec_iters, batch_size=args.batch_size, random_state=seed,
                  verbose=False, callbacks=[] if args.quiet else [_print_refresh], init=start)
        with timer() as t:
            dec.fit(X, y)
        answer["DEC"] = score("DEC", dec.labels_, t.seconds, iterations=dec.n_iter_)
    results["final"] = dict(stage=args.final, **results[args.final])
    state = dict(ae=ae, images=images, X=X, y=y, codes=codes, layout=layout,
                 labels=answer[args.final])
    return results, state


def draw(figures, args, state):
    """The figures of the first seed, each on its own (a failure costs only that figure)."""
    ae, y, labels = state["ae"], state["y"], state["labels"]
    names = class_names(args.dataset)
    with figures.draw("confusion", "confusion_matrix.png") as path:
        plot.confusion_matrix(y, labels, path=path, class_names=names)
    with figures.draw("centroids", "decoded_centroids.png") as path:
        # the decoder's picture of each cluster: its members' mean code, decoded
        means = cluster_means(state["codes"], labels, args.clusters)
        plot.decoded_centroids(decoded_images(ae.decode(means), state["images"].shape[1:]),
                               path=path)
    if ae.history_["loss"]:       # empty when the autoencoder came from --ae-cache
        with figures.draw("loss", "ae_loss.png") as path:
            plot.loss_curves(ae.history_, path=path, title="Autoencoder pretraining")
    with figures.draw("umap", "umap_layout.png") as path:
        layout = state["layout"]
        shown = layout if layout.shape[1] <= 3 else UMAP(
            n_components=2, n_neighbors=args.umap_neighbors, random_state=0,
            n_epochs=100).fit_transform(layout)
        plot.scatter_codes(shown[:, :2], labels, path=path,
                           title="UMAP of the codes, coloured by cluster")


def parse(argv=None):
    """The example's arguments (``benchmarks/quality.py`` takes the same defaults from here)."""
    p = example_parser(__doc__.splitlines()[0], datasets=("mnist", "fashion-mnist", "cifar10"),
                       default_dataset="mnist", default_epochs=20, with_steps=True)
    p.set_defaults(steps=4000)
    p.add_argument("--dims", type=positive_int, nargs="+", default=[500, 500, 2000, 10],
                   help="encoder widths after the input")
    p.add_argument("--ae-lr", type=float, default=1e-3, help="Adam learning rate (pretraining)")
    p.add_argument("--batch-size", type=positive_int, default=256)
    p.add_argument("--noise", type=float, default=0.0,
                   help="masking noise while pretraining (a denoising autoencoder; 0: off)")
    p.add_argument("--ae-cache", default=None,
                   help="folder for pretrained autoencoders (one file per data, architecture, "
                        "training settings and seed), reused if present")
    p.add_argument("--n-init", type=positive_int, default=10, help="K-means restarts")
    p.add_argument("--umap-neighbors", type=positive_int, default=10, help="UMAP's n_neighbors")
    p.add_argument("--umap-dims", type=positive_int, default=None,
                   help="UMAP's n_components (default: --clusters)")
    p.add_argument("--standardize", action=argparse.BooleanOptionalAction, default=True,
                   help="z-score each code unit before UMAP")
    p.add_argument("--gmm-init", type=positive_int, default=5, help="Gaussian mixture restarts")
    p.add_argument("--final", choices=STAGES[2:], default="AE + UMAP + GMM",
                   help="the stage that is the recipe's answer (fixed in advance, not chosen "
                        "by the labels)")
    p.add_argument("--dec", action="store_true", help="run DEC after N2D")
    p.add_argument("--dec-start", choices=("n2d", "codes", "pixels"), default="n2d",
                   help="DEC's first centroids: the N2D clusters' mean codes, K-means on the "
                        "codes, or the clusters of K-means on centred, L2-normalised pixels")
    p.add_argument("--update-interval", type=positive_int, default=140)
    p.add_argument("--tol", type=float, default=1e-3)
    p.add_argument("--dec-iters", type=positive_int, default=3000, help="maximum DEC steps (batches)")
    p.add_argument("--normalize", type=float, default=4.0, metavar="SCALE",
                   help="DEC works on the codes L2-normalised to length SCALE")
    args = parse_example_args(p, argv, "mnist_dec")
    if args.final == "DEC" and not args.dec:
        p.error("--final DEC needs --dec")
    if args.quick:
        args.batch_size = min(args.batch_size, 64)
        args.dec_iters, args.update_interval = 20, 5
    return args


def main(argv=None):
    args = parse(argv)
    run_seeds(run, args, COLUMNS, f"{args.dataset} {args.split}: clustering accuracy by stage",
              answer=args.final)
    return 0


if __name__ == "__main__":
    sys.exit(main())
