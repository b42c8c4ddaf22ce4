"""Images of any size: pixels → augmented autoencoder → UMAP → clusters (N2D) → DEC-DA.

The flow, one stage after another, each scored against the true classes (which the clustering
never sees) and timed:

1. **pixels + K-means** (k = ``--clusters``): the baseline.
2. **AE + K-means**: the dense autoencoder D-500-500-2000-10 of DEC and N2D (ReLU, linear code
   and output) trained with Adam on the mean squared error for ``--steps`` optimizer steps,
   however many images there are, on **randomly shifted and turned copies** of each batch
   (``--shift`` of the image size, ``--rotation`` degrees; the target is the moved copy
   itself, as DEC-DA pretrains [2]_), then K-means on its codes.
3. **AE + UMAP** (N2D [1]_): UMAP lays the z-scored codes out in ``--clusters`` dimensions
   with ``min_dist=0`` and 10 neighbours, so each class packs tightly; then K-means
   (**AE + UMAP + K-means**) and a full-covariance Gaussian mixture (**AE + UMAP + GMM**) on
   that layout. Each fails now and then on some layout (a pair of classes merged, another
   split), not always the same one, so **N2D** is the one of the two that cuts the fewest of
   the codes' neighbour links: no label is used (:func:`pick_partition`).
4. **DEC-DA from N2D**: DEC [3]_ trains the encoder and Student-t centroids on KL(P || Q),
   starting from the N2D clusters' mean codes, on randomly moved copies of each batch while
   the target P comes from the plain images (DEC-DA [2]_). It sharpens what the layout found
   into the encoder itself: the recipe's answer.

Why that answer (``benchmarks/quality.py``, 2026-12-07, Intel Xeon (AVX-512), 2 cores, where
the tables are): on mnist-test-5k DEC-DA from N2D ends above N2D on every seed, 0.9676 ±
0.0037 (worst 0.9618) against 0.9452 ± 0.0067, in about 6 minutes end to end; from the
paper's start (K-means on the codes) DEC-DA reached only 0.83-0.91 there. The paper's start is
the better one on the 8×8 digits (0.96-0.97, where K-means on the codes is already 0.91),
and on Fashion-MNIST no DEC improves on N2D (0.6155 against 0.6195). No label-free rule tried
told the starts apart, so the answer is the one that is best on 28×28 handwritten digits.

``--dec`` adds DEC's other variants, each in its own row: the paper's start (K-means on the
codes) with plain batches (**DEC from codes**), with augmented ones (**DEC-DA from codes**) and
with the decoder kept (**IDEC-DA from codes**, IDEC [4]_ with weight 1), and from the N2D start
with plain batches (**DEC from N2D**) and with the decoder (**IDEC-DA from N2D**).

The recipe's answer is the stage ``--final`` (default ``DEC-DA from N2D``), fixed in advance,
never picked by looking at the labels; ``metrics.json`` names it under ``"final"`` and the
table marks it with ``*``. ``metrics.json`` is written before the figures (confusion matrix of
the answer, pretraining loss, DEC's curves, decoded cluster means, the UMAP layout, a strip of
members per cluster) and ``report.html`` last, so a figure that fails costs only itself.
``benchmarks/quality.py`` measures every stage on every dataset here, over seeds, and says why
the defaults are these.

    python examples/mnist_dec.py --dataset mnist --split test --data-dir ../shared/data/mnist-test-5k
    python examples/mnist_dec.py --dataset fashion-mnist --split all --seeds 3 --dec
    python examples/mnist_dec.py --dataset fashion-mnist --quick

References
----------
.. [1] R. McConville, R. Santos-Rodriguez, R. J. Piechocki and I. Craddock, "N2D: (Not Too)
   Deep Clustering via Clustering the Local Manifold of an Autoencoded Embedding", ICPR 2020.
.. [2] X. Guo, E. Zhu, X. Liu and J. Yin, "Deep Embedded Clustering with Data Augmentation",
   ACML 2018.
.. [3] J. Xie, R. Girshick and A. Farhadi, "Unsupervised Deep Embedding for Clustering
   Analysis", ICML 2016.
.. [4] X. Guo, L. Gao, X. Liu and J. Yin, "Improved Deep Embedded Clustering with Local
   Structure Preservation", IJCAI 2017.
"""
import copy
import sys
from functools import partial
from pathlib import Path

import numpy as np

from scratchnet import plot
from scratchnet.augment import RandomAffine
from scratchnet.cluster import DEC, GaussianMixture, KMeans, cluster_means
from scratchnet.datasets import class_names, flatten, load_images
from scratchnet.experiment import (example_parser, fit_length, keep_partial_results,
                                   parse_example_args, positive_int, run_seeds, timer)
from scratchnet.manifold import UMAP
from scratchnet.metrics import external_scores
from scratchnet.models import Autoencoder, decoded_images, dense_autoencoder
from scratchnet.nn import Adam, Sequential
from scratchnet.report import cluster_gallery

COLUMNS = ("acc", "nmi", "ari", "purity", "seconds")
N2D_STAGES = ("AE + UMAP + K-means", "AE + UMAP + GMM")
# DEC's variants: (where the centroids start, augmented batches, reconstruction weight)
DEC_VARIANTS = {"DEC from codes": ("codes", False, 0.0),
                "DEC-DA from codes": ("codes", True, 0.0),
                "IDEC-DA from codes": ("codes", True, 1.0),
                "DEC from N2D": ("n2d", False, 0.0),
                "DEC-DA from N2D": ("n2d", True, 0.0),
                "IDEC-DA from N2D": ("n2d", True, 1.0)}
ANSWER = "DEC-DA from N2D"
STAGES = ("pixels + K-means", "AE + K-means") + N2D_STAGES + ("N2D",) + tuple(DEC_VARIANTS)


def _report(stage, scores):
    print(f"{stage}: ACC {scores['acc']:.4f}  NMI {scores['nmi']:.4f}  ARI {scores['ari']:.4f}  "
          f"({scores['seconds']:.1f} s)", flush=True)


def _print_refresh(dec, logs):
    """DEC's callback: one line per refresh of the target (the library itself never prints)."""
    print(f"  DEC step {logs['iteration']:>6}: loss {logs['loss']:.5f}  changed "
          f"{logs['delta_label']:.4f}  ACC {logs.get('acc', float('nan')):.4f}  "
          f"NMI {logs.get('nmi', float('nan')):.4f}", flush=True)


def augmentation(args, image_shape):
    """The random shift and rotation of every training batch, or None when both are 0."""
    if args.shift == 0 and args.rotation == 0:
        return None
    return RandomAffine(shift=args.shift, rotation=args.rotation, image_shape=image_shape)


def pretrain(args, images, seed):
    """The autoencoder of this seed: trained now for ``--steps``, or loaded from ``--ae-cache``."""
    X = flatten(images)
    length = fit_length(args)
    size = f"{length['steps']}steps" if "steps" in length else f"{length['epochs']}ep"
    # the file name holds every setting the pretrained weights depend on
    tag = (f"ae_{args.dataset}_{args.split}_{args.limit or 'full'}_n{len(X)}x{X.shape[1]}_"
           f"{'-'.join(map(str, args.dims))}_{size}_lr{args.ae_lr:g}_bs{args.batch_size}_"
           f"noise{args.noise:g}_shift{args.shift:g}_rot{args.rotation:g}_seed{seed}.npz")
    cache = Path(args.ae_cache) / tag if args.ae_cache else None
    if cache is not None and cache.exists():
        print(f"autoencoder: loaded {cache} (pretraining skipped)")
        return Autoencoder.load(cache), 0.0
    ae = dense_autoencoder((X.shape[1],) + tuple(args.dims), random_state=seed)
    with timer() as t:
        # Adam on the mean squared error, on randomly moved copies of every batch
        ae.fit(X, loss="mse", optimizer=Adam(ae.model.parameters(), lr=args.ae_lr),
               batch_size=args.batch_size, random_state=seed, verbose=not args.quiet,
               noise=args.noise, augment=augmentation(args, images.shape[1:]), **length)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        ae.save(cache)
    return ae, t.seconds


def umap_layout(scaled, args, seed):
    """UMAP of the scaled codes: ``(layout, umap, fitted)``, ``fitted`` the indices of the
    codes UMAP learned from (its ``graph_`` is theirs). With more than ``--umap-sample`` codes,
    UMAP learns its layout from that many drawn at random and places the others next to their
    neighbours among them (``UMAP.transform``).

    Ten neighbours among 70,000 Fashion-MNIST codes see a much smaller piece of each class than
    among 10,000, and the layout then falls apart along styles within the classes:
    the same autoencoder's codes gave 0.56 ACC laid out all at once, 0.67 laid out from 10,000
    (``benchmarks/quality.py`` has the numbers). Drawing 10,000 keeps what a neighbourhood means
    the same at every size, and it is three times faster.
    """
    umap = UMAP(n_components=args.clusters, n_neighbors=args.umap_neighbors, min_dist=0.0,
                random_state=seed, verbose=not args.quiet)
    n = len(scaled)
    if n <= args.umap_sample:
        return umap.fit_transform(scaled), umap, np.arange(n)
    sample = np.sort(np.random.default_rng([seed, 7]).choice(n, args.umap_sample,
                                                             replace=False))
    rest = np.setdiff1d(np.arange(n), sample)
    umap.fit(scaled[sample])
    layout = np.empty((n, umap.n_components), dtype=umap.embedding_.dtype)
    layout[sample] = umap.embedding_
    layout[rest] = umap.transform(scaled[rest])
    return layout, umap, sample


def pick_partition(graph, candidates):
    """The name of the partition in ``candidates`` ({name: labels}) that cuts the least weight
    of ``graph``, UMAP's fuzzy graph of the codes' nearest neighbours.

    Both candidates cluster the same layout and differ where one of them went wrong: two
    classes in one cluster and, to keep k clusters, one class cut in two. Cutting a class
    severs many strong neighbour links; the links between two classes that were merged are
    few and weak. So the partition that keeps more of the graph's weight inside its clusters
    is the one to trust; the labels are never looked at.
    """
    rows, cols, weights = graph.rows, graph.indices, graph.data
    cut = {name: float(weights[labels[rows] != labels[cols]].sum())
           for name, labels in candidates.items()}
    return min(cut, key=cut.get)


def run(args, seed, out):
    """One seed: load the images of ``--dataset``, then :func:`recipe`; the figures (drawn by
    the caller) for the seed that gets ``out``."""
    images, y = load_images(args.dataset, args.split, args.data_dir, limit=args.limit,
                            random_state=seed)
    print(f"{args.dataset} {args.split}: {len(images)} images of {images.shape[1:]}, seed {seed}")
    results, state = recipe(images, y, args, seed)
    spent = state["seconds_by_step"]
    print("where the time went: " + ", ".join(f"{k} {v:.1f} s" for k, v in spent.items()),
          flush=True)
    return (results, partial(draw, args=args, state=state) if out is not None else None,
            {"seconds_by_step": spent})


def recipe(images, y, args, seed):
    """All stages on ``images`` (N, C, H, W) in [0, 1] for one seed: ``(results, state)``, the
    scores of each stage and what the figures need. ``y`` only scores. A stage that fails
    leaves the earlier stages' scores on the exception (``partial_results``), which
    ``run_seeds`` writes to ``metrics.json``."""
    results = {}
    with keep_partial_results(results):
        return _stages(images, y, args, seed, results)


def _stages(images, y, args, seed, results):
    X = flatten(images)
    k, labels_of, histories = args.clusters, {}, {}
    spent = {}      # seconds of each step of the work (a stage's score may sum several)

    def score(stage, labels, seconds, **extra):
        results[stage] = dict(external_scores(y, labels), seconds=seconds, **extra)
        labels_of[stage] = labels
        _report(stage, results[stage])

    # 1. the baseline
    with timer() as t:
        km = KMeans(k, n_init=args.n_init, random_state=seed).fit(X)
    score("pixels + K-means", km.labels_, t.seconds)
    spent["pixels K-means"] = t.seconds

    # 2. pretrain on augmented batches, encode the plain images, K-means on the codes
    ae, train_seconds = pretrain(args, images, seed)
    with timer() as t:
        codes = ae.features(X)
        km = KMeans(k, n_init=args.n_init, random_state=seed).fit(codes)
    score("AE + K-means", km.labels_, train_seconds + t.seconds,
          ae_loss=ae.history_["loss"][-1] if ae.history_["loss"] else None)
    spent["pretraining"], spent["encode + K-means"] = train_seconds, t.seconds

    # 3. N2D: UMAP of the codes, then K-means and a Gaussian mixture on the layout. Each code
    # unit is first put on the same scale (z-scores; a dead unit stays 0), so the neighbours
    # UMAP finds are not those of the one or two units with the widest range.
    with timer() as t_umap:
        spread = codes.std(axis=0)
        scaled = (codes - codes.mean(axis=0)) / np.where(spread > 0, spread, 1.0)
        layout, umap, fitted = umap_layout(scaled, args, seed)
    spent["UMAP"] = t_umap.seconds
    with timer() as t_km:
        n2d_km = KMeans(k, n_init=args.n_init, random_state=seed).fit(layout)
    score("AE + UMAP + K-means", n2d_km.labels_, t_umap.seconds + t_km.seconds)
    with timer() as t_gmm:
        gmm = GaussianMixture(k, covariance_type="full", n_init=args.gmm_init,
                              random_state=seed).fit(layout)
    score("AE + UMAP + GMM", gmm.labels_, t_umap.seconds + t_gmm.seconds)
    with timer() as t:
        picked = pick_partition(umap.graph_, {s: labels_of[s][fitted] for s in N2D_STAGES})
    score("N2D", labels_of[picked], t_umap.seconds + results[picked]["seconds"] + t.seconds,
          picked=picked)
    spent["K-means + GMM on the layout"] = t_km.seconds + t_gmm.seconds + t.seconds

    # 4. DEC: the answer's variant always, the others with --dec
    for stage in [s for s in DEC_VARIANTS if s == ANSWER or s == args.final or args.dec]:
        start, augmented, weight = DEC_VARIANTS[stage]
        with timer() as t:
            if start == "codes":        # the paper's start
                centers = KMeans(k, n_init=args.n_init, random_state=seed).fit(codes)
                centers = centers.cluster_centers_
            else:
                centers = cluster_means(codes, labels_of["N2D"], k)
            trained = copy.deepcopy(ae)     # each variant trains its own copy of the encoder
            dec = DEC(Sequential(list(trained.encoder)), len(centers), init=centers,
                      update_interval=args.update_interval, tol=args.tol,
                      max_iter=args.dec_iters, batch_size=args.batch_size, random_state=seed,
                      augment=augmentation(args, images.shape[1:]) if augmented else None,
                      reconstruction_weight=weight,
                      decoder=trained.decoder if weight > 0 else None, verbose=False,
                      callbacks=[] if args.quiet else [_print_refresh])
            dec.fit(X, y)
        score(stage, dec.labels_, t.seconds, iterations=dec.n_iter_,
              start_acc=dec.history_["acc"][0], start_nmi=dec.history_["nmi"][0])
        histories[stage] = dec.history_
        spent[stage] = t.seconds
    results["final"] = dict(stage=args.final, **results[args.final])
    state = dict(ae=ae, images=images, X=X, y=y, codes=codes, layout=layout,
                 labels=labels_of[args.final], dec_history=histories.get(args.final),
                 seconds_by_step=spent)
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
    if state.get("dec_history"):
        with figures.draw("dec_history", "dec_history.png") as path:
            history = state["dec_history"]
            plot.loss_curves({k: history[k] for k in ("loss", "delta_label", "acc")},
                             path=path, title=f"{args.final}, per target refresh",
                             xlabel=f"target refresh (every {args.update_interval} steps)",
                             ylabel="KL loss, fraction of labels changed, accuracy")
    with figures.draw("umap", "umap_layout.png") as path:
        # a picture of at most 5,000 points (seeded): enough to see the clusters, and a 2-d
        # UMAP of 70,000 would cost more than the figure is worth
        layout = state["layout"]
        keep = np.sort(np.random.default_rng(0).choice(len(layout), min(len(layout), 5000),
                                                        replace=False))
        shown = layout[keep] if layout.shape[1] <= 3 else UMAP(
            n_components=2, n_neighbors=args.umap_neighbors, random_state=0,
            n_epochs=100).fit_transform(layout[keep])
        plot.scatter_codes(shown[:, :2], labels[keep], path=path,
                           title="UMAP of the codes, coloured by cluster")
    with figures.attempt("gallery"):     # one row per cluster in report.html
        means = cluster_means(state["codes"], labels, args.clusters, by_id=True)
        figures.clusters = cluster_gallery(
            figures, state["images"], labels, codes=state["codes"], y=y, class_names=names,
            decoded=decoded_images(ae.decode(means), state["images"].shape[1:]))


def parse(argv=None):
    """The example's arguments (``benchmarks/quality.py`` takes the same defaults from here)."""
    p = example_parser(__doc__.splitlines()[0], datasets=("mnist", "fashion-mnist", "cifar10"),
                       default_dataset="mnist", default_epochs=20, with_steps=True)
    p.set_defaults(steps=8000)
    p.add_argument("--dec", action="store_true",
                   help="also DEC's other variants (the paper's start, plain batches, IDEC)")
    p.add_argument("--final", choices=STAGES[2:], default=ANSWER,
                   help="the stage that is the recipe's answer (fixed in advance, not chosen "
                        "by the labels)")
    g = p.add_argument_group("augmentation (pretraining and DEC-DA)")
    g.add_argument("--shift", type=float, default=0.1,
                   help="largest random shift, as a fraction of the image's size (0: none)")
    g.add_argument("--rotation", type=float, default=10.0,
                   help="largest random rotation in degrees (0: none)")
    g = p.add_argument_group("autoencoder")
    g.add_argument("--dims", type=positive_int, nargs="+", default=[500, 500, 2000, 10],
                   help="encoder widths after the input")
    g.add_argument("--ae-lr", type=float, default=1e-3, help="Adam learning rate (pretraining)")
    g.add_argument("--batch-size", type=positive_int, default=256)
    g.add_argument("--noise", type=float, default=0.0,
                   help="masking noise while pretraining (a denoising autoencoder; 0: off)")
    g.add_argument("--ae-cache", default=None,
                   help="folder for pretrained autoencoders (one file per data, architecture, "
                        "training settings and seed), reused if present")
    g = p.add_argument_group("clustering")
    g.add_argument("--n-init", type=positive_int, default=10, help="K-means restarts")
    g.add_argument("--gmm-init", type=positive_int, default=5, help="Gaussian mixture restarts")
    g.add_argument("--umap-neighbors", type=positive_int, default=10, help="UMAP's n_neighbors")
    g.add_argument("--umap-sample", type=positive_int, default=10000,
                   help="UMAP learns from at most this many codes, drawn at random, and places "
                        "the rest by transform")
    g.add_argument("--update-interval", type=positive_int, default=140,
                   help="DEC steps between two refreshes of the target P")
    g.add_argument("--tol", type=float, default=1e-3,
                   help="DEC stops when fewer than this fraction of labels change at a refresh")
    g.add_argument("--dec-iters", type=positive_int, default=3000,
                   help="maximum DEC steps (batches)")
    args = parse_example_args(p, argv, "mnist_dec", check=_check)
    if args.quick:
        args.batch_size = min(args.batch_size, 64)
        args.dec_iters, args.update_interval = 20, 5
    return args


def _check(args):
    """Every setting, checked before any work: a message for the first one that is wrong."""
    if args.final in DEC_VARIANTS and args.final != ANSWER and not args.dec:
        return f"--final {args.final!r} needs --dec"
    if not 0 <= args.shift < 1 or not 0 <= args.rotation <= 180:
        return (f"expected 0 <= --shift < 1 and 0 <= --rotation <= 180, got --shift "
                f"{args.shift:g} --rotation {args.rotation:g}")
    if not 0 <= args.noise < 1:
        return f"expected 0 <= --noise < 1, got {args.noise:g}"
    if not 0 <= args.tol < 1:
        return f"expected 0 <= --tol < 1, got {args.tol:g}"
    if not args.ae_lr > 0:
        return f"expected --ae-lr > 0, got {args.ae_lr:g}"
    if args.umap_neighbors < 2:
        return f"expected --umap-neighbors >= 2 (a point and one more), got {args.umap_neighbors}"
    if args.umap_sample < max(args.clusters, args.umap_neighbors + 1):
        return (f"expected --umap-sample >= {max(args.clusters, args.umap_neighbors + 1)} (the "
                f"clusters and UMAP's neighbours), got {args.umap_sample}")
    if args.limit is not None and args.limit < max(args.clusters, args.umap_neighbors + 1):
        return (f"expected --limit >= {max(args.clusters, args.umap_neighbors + 1)} (the "
                f"clusters and UMAP's neighbours), got {args.limit}")
    if args.ae_cache is not None and Path(args.ae_cache).exists() \
            and not Path(args.ae_cache).is_dir():
        return f"--ae-cache {args.ae_cache}: expected a folder, got a file"
    return None


def main(argv=None):
    args = parse(argv)
    run_seeds(run, args, COLUMNS, f"{args.dataset} {args.split}: clustering accuracy by stage",
              answer=args.final)
    return 0


if __name__ == "__main__":
    sys.exit(main())
