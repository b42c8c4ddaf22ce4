r"""The ``scratchnet`` command line: train an autoencoder, cluster its codes, score a labelling.

.. code-block:: text

    scratchnet train --dataset fashion-mnist --model mnist-conv --epochs 20 --out runs/fm
    scratchnet train --out runs/fm --epochs 30 --resume        # continue from the checkpoint
    scratchnet cluster runs/fm --k 10 --out runs/fm/clusters   # labels.csv, figures, metrics
    scratchnet dec runs/fm --k 10 --out runs/fm/dec            # refine them with DEC
    scratchnet evaluate runs/fm/clusters/labels.csv --features runs/fm/clusters/codes.npy
    scratchnet cluster-images ~/Pictures/holiday --k 5 --out holiday-clusters

Every subcommand takes ``--seed`` (the same seed gives the same numbers, bit for bit),
writes its results and a ``metrics.json`` to ``--out``, and shows progress bars unless
``--quiet``. Every expected failure ends with one line, ``scratchnet <command>: error: ...``,
naming the file or flag at fault and what to do, and exit status 2: bad input (a missing
folder, no images, more clusters than images, a model that does not fit the data, a flag out of
range), a dataset that is not on disk, an ``--out`` that cannot be written (checked, by
creating it and a probe file in it, before any work starts, so no training is lost to it), a
full disk or a refused permission (with the path). ``KeyboardInterrupt`` and programming errors
keep their traceback: a bug should be seen, not summarised.

Images of any size and channel count work: the models are built for the data's own shape
(``mnist-conv`` and ``pool`` need a height and width divisible by 4, ``cifar-conv`` by 8;
``dense`` and ``dense-3d`` take any size). ``metrics.json`` is written before the figures; a
figure that fails is one warning line on stderr and an entry of ``figure_errors`` in
``metrics.json``, and the command still succeeds.

``train --steps N`` sizes the training by optimizer steps (batches) instead of epochs, so a
small dataset gets as much training as a large one; the last epoch may be partial.

Checkpoints: ``train`` saves ``model.npz`` (weights, optimizer state, loss history) after every
epoch with an atomic write, so an interrupted run loses at most the epoch in progress.
``--resume`` reloads it and runs the remaining epochs, then writes ``metrics.json`` and the
figures; a run killed after its last checkpoint but before those gets them from ``--resume``
(which otherwise says there is nothing to do). Because epoch ``e`` shuffles with
``default_rng([seed, e])`` and the optimizer state is restored, the result equals an
uninterrupted run. With ``--steps`` the same holds when the run is cut between two epochs;
extending a finished ``--steps`` run whose last epoch was partial starts a new epoch instead of
completing that one (the optimizer still takes ``--steps`` steps in all). ``dec`` does the same
with ``dec_checkpoint.npz``, written at every refresh of the target distribution.
"""
import csv
import errno
import json
import math
import sys
from pathlib import Path

import numpy as np

from . import datasets, models, plot
from .cluster import DEC
from .nn import Callback, Flatten, L2Normalize, Reshape, Sequential
from .metrics import cluster_composition
from .pipeline import (LOADERS, STEPS_HELP, Parser, centred_pixel_kmeans, class_names,
                       cluster_means, decoded_images, external_scores, fit_length, kmeans_step,
                       load_images, model_input, non_negative_int, one_line, positive_int,
                       score_clustering, split_validation, timer, writable_folder, write_json,
                       write_metrics_and_figures)

__all__ = ["main", "build_parser", "MODELS"]

# name -> builder((C, H, W), seed): every model is built for the images' own shape
MODELS = {
    "mnist-conv": lambda shape, s: models.mnist_conv_autoencoder(
        in_channels=shape[0], image_size=shape[1:], random_state=s),
    "cifar-conv": lambda shape, s: models.cifar_autoencoder(
        in_channels=shape[0], image_size=shape[1:], random_state=s),
    "pool": lambda shape, s: models.pool_autoencoder(
        in_channels=shape[0], image_size=shape[1:], random_state=s),
    "dense": lambda shape, s: models.dense_autoencoder(
        dims=(math.prod(shape), 500, 500, 2000, 10), random_state=s),
    "dense-3d": lambda shape, s: models.dense_autoencoder(
        dims=(math.prod(shape), math.prod(shape), 64, 32, 3), activation="sigmoid",
        random_state=s),
}
DEFAULT_MODEL = {"mnist": "mnist-conv", "fashion-mnist": "mnist-conv", "cifar10": "cifar-conv"}
CHECKPOINT, CONFIG = "model.npz", "train.json"
IMAGE_FOLDER_STEPS = 2000  # cluster-images trains this many batches unless told otherwise
LOSS_NAMES = {"bce": "binary cross-entropy", "mse": "mean squared error"}  # axis labels


class CLIError(Exception):
    """A problem with the user's input, reported as one line without a traceback."""


# ---- shared steps -------------------------------------------------------------------------

def _build_model(name, image_shape, seed):
    """Build model ``name`` for images of ``image_shape`` (C, H, W), checking they fit it."""
    image_shape = tuple(int(n) for n in image_shape)
    try:
        return MODELS[name](image_shape, seed)
    except ValueError as e:
        raise CLIError(f"model {name!r} does not fit images {image_shape}: {e} "
                       f"(--model dense takes any size)") from None


def _load_data(args, subset_seed=None):
    """The dataset the flags name; a dataset that is not on disk (and could not be
    downloaded) becomes one line that points at ``--data-dir``."""
    try:
        X, y = load_images(args.dataset, args.split, args.data_dir, limit=args.limit,
                           random_state=args.seed if subset_seed is None else subset_seed)
    except OSError as e:
        if e.errno is not None:   # a real I/O error on a named file: main() reports it
            raise
        # the loaders' "not found" and "could not download" messages list the files, their
        # URLs and the folders searched, over several lines; keep all of it, on one line
        message = one_line(str(e))
        if "--data-dir" not in message:
            message += f"; give --data-dir the folder that holds the {args.dataset} files"
        raise CLIError(message) from None
    print(f"{args.dataset} {args.split}: {len(X)} images {X.shape[1:]}")
    return X, y


def _add_data_flags(p, dataset_required=True):
    p.add_argument("--dataset", choices=sorted(LOADERS), required=dataset_required,
                   default=None, help="which dataset" + ("" if dataset_required else
                                                         " (default: the training run's)"))
    p.add_argument("--split", choices=("train", "test", "all"), default=None,
                   help="default: the training run's split (cluster, dec), else train")
    p.add_argument("--data-dir", default=None,
                   help="folder holding the dataset (default: $SCRATCHNET_DATA, the cache, "
                        "then download)")
    p.add_argument("--limit", type=positive_int, default=None,
                   help="use a random subset of N images (default: all)")


def _add_common(p):
    p.add_argument("--seed", type=non_negative_int, default=0, help="same seed, same result")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


# ---- train --------------------------------------------------------------------------------

def _add_train(sub):
    p = sub.add_parser("train", help="train an autoencoder on a dataset, checkpointing each epoch")
    _add_data_flags(p, dataset_required=False)
    p.add_argument("--model", choices=sorted(MODELS), default=None,
                   help="default: mnist-conv for (fashion-)mnist, cifar-conv for cifar10")
    p.add_argument("--epochs", type=positive_int, default=20, help="total number of epochs")
    p.add_argument("--steps", type=positive_int, default=None,
                   help=STEPS_HELP + "; the total of the run, resumed or not")
    p.add_argument("--out", required=True, help="folder for model.npz, train.json, figures")
    p.add_argument("--resume", action="store_true",
                   help="continue the run in --out from its last complete epoch")
    _add_common(p)
    p.set_defaults(func=_cmd_train)


class _CheckpointEachEpoch(Callback):
    """Save the autoencoder to ``path`` at the end of every epoch of one ``fit`` call.

    ``train`` makes a single ``fit`` call for the whole run, so that the progress bar knows
    the run's length (``Epoch 3/20``, not ``Epoch 3/3`` as one call per epoch showed), and
    checkpoints from here. ``Autoencoder.fit`` adds the call's losses to ``ae.history_`` only
    when it returns, so each save is made with the history so far (the run's earlier epochs
    plus this call's), and ``ae.history_`` is put back as it was for ``fit`` to extend.
    """

    def __init__(self, ae, path):
        self.ae, self.path = ae, path
        self.before = {k: list(v) for k, v in ae.history_.items()}

    def on_epoch_end(self, epoch, logs):
        kept = self.ae.history_
        self.ae.history_ = {k: v + list(self.history.history.get(k, []))
                            for k, v in self.before.items()}
        try:
            self.ae.save(self.path)
        finally:
            self.ae.history_ = kept


def _finished(out, ae):
    """Whether the run in ``out`` wrote its ``metrics.json`` for every epoch ``ae`` has and
    then drew its figures: a run killed after its last checkpoint did not."""
    try:
        metrics = json.loads((out / "metrics.json").read_text())
    except (OSError, ValueError):
        return False
    figures = metrics.get("figures")
    return (metrics.get("epochs") == len(ae.history_["loss"]) and figures is not None
            and all(Path(p).is_file() for p in figures.values()))


def _cmd_train(args):
    out = Path(args.out)
    ckpt, config_path = out / CHECKPOINT, out / CONFIG
    if args.resume:
        if not (ckpt.is_file() and config_path.is_file()):
            raise CLIError(f"--resume: no checkpoint in {out} (expected {ckpt} and "
                           f"{config_path}); start without --resume")
        config = json.loads(config_path.read_text())
        ignored = [k for k in ("dataset", "model", "split", "limit", "data_dir")
                   if getattr(args, k) is not None and getattr(args, k) != config[k]]
        if ignored:
            print(f"--resume: keeping the run's {', '.join(ignored)} from {config_path}")
    else:
        if ckpt.exists():
            raise CLIError(f"{ckpt} exists; continue it with --resume or choose another --out")
        if args.dataset is None:
            raise CLIError("--dataset is required (unless --resume)")
        config = {"dataset": args.dataset, "model": args.model or DEFAULT_MODEL[args.dataset],
                  "split": args.split or "train", "limit": args.limit,
                  "data_dir": args.data_dir, "seed": args.seed}
    writable_folder(out)
    for key in ("dataset", "split", "limit", "data_dir", "seed"):
        setattr(args, key, config[key])

    X, _ = _load_data(args)
    if args.resume:
        ae = models.Autoencoder.load(ckpt)
    else:
        ae = _build_model(config["model"], X.shape[1:], args.seed)
    start = len(ae.history_["loss"])                            # epochs done
    done = ae.optimizer_.t if ae.optimizer_ is not None else 0  # optimizer steps done
    train, val = split_validation(model_input(ae, X), args.seed)
    per_epoch = math.ceil(len(train) / ae.batch_size)
    if args.steps is None:
        end, unit, goal, have = args.epochs, "epochs", args.epochs, start
        length = {"epochs": end}
    else:
        # fit counts steps from epoch 0, every epoch before initial_epoch complete; a run
        # that ended inside an epoch (a smaller --steps) has done fewer: ask for the rest
        budget = args.steps + start * per_epoch - done
        end, unit, goal, have = math.ceil(budget / per_epoch), "steps", args.steps, done
        length = {"steps": budget}
    seconds = 0.0
    if have >= goal:
        if _finished(out, ae):
            print(f"{ckpt} already has {have} {unit} (--{unit} {goal}); nothing to do")
            return 0
        # killed after its last checkpoint, before metrics.json or the figures: finish those
        print(f"{ckpt} already has {have} {unit} (--{unit} {goal}); writing the metrics.json "
              f"and figures the run did not finish")
    else:
        if args.resume:
            print(f"resuming {config['model']} at epoch {start + 1} of {end}"
                  + (f", step {done + 1} of {args.steps}" if args.steps else ""))
        else:
            write_json(config_path, config)
        with timer() as t:
            # One fit call for the run, a checkpoint after each epoch. Epoch e shuffles with
            # default_rng([seed, e]) and a resumed run restores the optimizer, so a run cut
            # and resumed computes exactly what an uninterrupted one does.
            ae.fit(train, initial_epoch=start, validation_data=val, random_state=args.seed,
                   verbose=not args.quiet, callbacks=[_CheckpointEachEpoch(ae, ckpt)],
                   **length)
        seconds = t.seconds
        print(f"trained epochs {start + 1}-{end} (optimizer steps {done + 1}-"
              f"{ae.optimizer_.t}) in {seconds:.1f} s; loss {ae.history_['loss'][-1]:.4f}, "
              f"val_loss {ae.history_['val_loss'][-1]:.4f}")
    metrics = {"config": config, "epochs": len(ae.history_["loss"]), "steps": ae.optimizer_.t,
               "history": ae.history_, "seconds_this_run": seconds}

    def draw(figures):
        with figures.draw("loss", "loss_curves.png") as path:
            plot.loss_curves(ae.history_, path=path, title=config["model"],
                             ylabel=LOSS_NAMES.get(ae.loss, ae.loss))
        with figures.draw("reconstructions", "reconstructions.png") as path:
            sample = X[:10]
            plot.reconstructions(sample, decoded_images(
                ae.reconstruct(model_input(ae, sample)), X.shape[1:]), path=path)
    write_metrics_and_figures(out, metrics, draw)
    return 0


# ---- cluster ------------------------------------------------------------------------------

def _add_cluster(sub):
    p = sub.add_parser("cluster", help="encode a dataset with a trained model and run K-means")
    p.add_argument("model", help="model.npz, or the folder `scratchnet train` wrote")
    _add_data_flags(p, dataset_required=False)
    p.add_argument("--k", type=positive_int, default=10,
                   help="number of clusters, fewer than the images")
    p.add_argument("--n-init", type=positive_int, default=10, help="K-means restarts")
    p.add_argument("--format", choices=("csv", "npy"), default="csv",
                   help="labels.csv (index,cluster,label) or labels.npy (+ true_labels.npy)")
    p.add_argument("--silhouette-sample", type=positive_int, default=10000,
                   help="compute the O(N²) silhouette on a random subset of this many codes")
    p.add_argument("--out", required=True, help="folder for labels, codes.npy, metrics.json "
                                                "and figures")
    _add_common(p)
    p.set_defaults(func=_cmd_cluster)


def _model_path(args):
    """The model file ``args.model`` names (a file, or the folder `scratchnet train` wrote)."""
    path = Path(args.model)
    path = path / CHECKPOINT if path.is_dir() else path
    if not path.is_file():
        raise CLIError(f"no model at {path} (expected a file written by `scratchnet train`)")
    return path


def _check_k(k, n, where, silhouette=True):
    """``--k`` against the ``n`` images found: at most ``n - 1`` when a silhouette is
    computed (it is defined for 2..n-1 clusters; ``k = n`` makes every cluster a single image
    and used to fail inside the silhouette, after K-means), at most ``n`` otherwise."""
    if silhouette and n < 2:
        raise CLIError(f"{where} has {n} image; clustering needs at least 2")
    top = n - 1 if silhouette else n
    if not 1 <= k <= top:
        why = f" (one less than the {n} images in {where}: the silhouette needs a cluster " \
              f"of two)" if silhouette else f" (the number of images in {where})"
        raise CLIError(f"--k must be between 1 and {top}{why}, got {k}")


def _load_model_and_data(args, path, silhouette=True):
    """The trained autoencoder at ``path`` and the data to cluster with it.

    Data flags not given default to the training run's (its ``train.json``); ``--k`` must fit
    the number of images (:func:`_check_k`) and the images must fit the model. Returns
    (ae, X, y, Xin), ``Xin`` being X as the model takes it.
    """
    config_path = path.parent / CONFIG
    config = json.loads(config_path.read_text()) if config_path.is_file() else {}
    args.dataset = args.dataset or config.get("dataset")
    if args.dataset is None:
        raise CLIError(f"--dataset is required ({config_path} not found)")
    args.split = args.split or config.get("split") or "train"
    args.data_dir = args.data_dir or config.get("data_dir")
    subset_seed = None
    if args.limit is None and config.get("limit") is not None:
        # the run's own subset: the same --limit, drawn with the run's seed
        args.limit, subset_seed = config["limit"], config.get("seed", args.seed)
    ae = models.Autoencoder.load(path)
    X, y = _load_data(args, subset_seed)
    _check_k(args.k, len(X), f"{args.dataset} {args.split}", silhouette)
    Xin = model_input(ae, X)
    if Xin.shape[1:] != ae.input_shape:
        raise CLIError(f"the model takes inputs {ae.input_shape}, {args.dataset} gives "
                       f"{Xin.shape[1:]}")
    return ae, X, y, Xin


def _cmd_cluster(args):
    path = _model_path(args)
    out = writable_folder(args.out)
    ae, X, y, Xin = _load_model_and_data(args, path)
    codes = ae.features(Xin)
    km, scores = kmeans_step(codes, y, args.k, args.n_init, args.seed, args.silhouette_sample)

    if args.format == "csv":
        _write_csv(out / "labels.csv", ("index", "cluster", "label"),
                   zip(range(len(y)), km.labels_.tolist(), y.tolist()))
    else:
        np.save(out / "labels.npy", km.labels_)
        np.save(out / "true_labels.npy", y)
    np.save(out / "codes.npy", codes)
    names = class_names(args.dataset)
    composition = [{"cluster": c, "size": s, "labels": [[names[a], m] for a, m in counts]}
                   for c, s, counts in cluster_composition(y, km.labels_)]
    _print_scores(scores)
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
    write_metrics_and_figures(out, metrics, draw)
    return 0


# ---- dec ----------------------------------------------------------------------------------

DEC_CHECKPOINT = "dec_checkpoint.npz"


def _add_dec(sub):
    p = sub.add_parser("dec", help="refine the clusters of a trained autoencoder with DEC/IDEC")
    p.add_argument("model", help="model.npz, or the folder `scratchnet train` wrote")
    _add_data_flags(p, dataset_required=False)
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
    _add_common(p)
    p.set_defaults(func=_cmd_dec)


def _cmd_dec(args):
    path = _model_path(args)
    if args.normalize is not None and args.idec > 0:
        raise CLIError("--normalize and --idec do not go together: the decoder reconstructs "
                       "from the raw codes, not from normalised ones")
    if args.normalize is not None and not args.normalize > 0:
        raise CLIError(f"--normalize must be a positive length, got {args.normalize}")
    out = Path(args.out)
    ckpt = out / DEC_CHECKPOINT
    if ckpt.exists() and not args.resume:
        raise CLIError(f"{ckpt} exists; continue it with --resume or choose another --out")
    if args.resume and not ckpt.is_file():
        raise CLIError(f"--resume: no checkpoint {ckpt}; start without --resume")
    writable_folder(out)
    ae, X, y, Xin = _load_model_and_data(args, path, silhouette=False)

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
        pixel_km = centred_pixel_kmeans(X, args.k, args.n_init, random_state=args.seed)
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
    _print_scores(scores)

    _write_csv(out / "labels.csv", ("index", "cluster", "label"),
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
    write_metrics_and_figures(out, metrics, draw)
    return 0


# ---- evaluate -----------------------------------------------------------------------------

def _add_evaluate(sub):
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
    p.set_defaults(func=_cmd_evaluate)


def _cmd_evaluate(args):
    if args.out:
        if Path(args.out).is_dir():
            raise CLIError(f"--out {args.out} is a folder; give the .json file to write")
        writable_folder(Path(args.out).parent)
    labels = _read_column(args.labels, "cluster")
    truth = _read_column(args.truth, "label", flag="--truth") if args.truth else None
    if truth is None and args.labels.endswith(".csv"):
        truth = _read_column(args.labels, "label", required=False)
    features = None
    if args.features:
        features = _load_npy(args.features, "--features")
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
    _print_scores(scores)
    if args.out:
        write_json(args.out, {"labels": args.labels, "n": len(labels), "scores": scores})
    return 0


# ---- cluster-images -----------------------------------------------------------------------

def _add_cluster_images(sub):
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
    _add_common(p)
    p.set_defaults(func=_cmd_cluster_images)


def _cmd_cluster_images(args):
    folder = Path(args.folder)
    if not folder.is_dir():
        raise CLIError(f"{folder} is not a folder")
    if len(args.size) > 2:
        raise CLIError(f"--size takes N or H W, got {len(args.size)} numbers")
    size = (args.size[0], args.size[-1])
    out = writable_folder(args.out)
    _, others = datasets.images.find_image_files(folder)
    X, paths = datasets.load_image_folder(folder, size=size, grayscale=args.grayscale)
    _check_k(args.k, len(X), folder)
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

    _write_csv(out / "clusters.csv", ("path", "cluster"), zip(paths, km.labels_.tolist()))
    ae.save(out / "model.npz")
    _print_scores(scores)
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


# ---- small helpers ------------------------------------------------------------------------

def _existing(path, flag=None):
    if not Path(path).is_file():
        raise CLIError(f"{flag + ' ' if flag else ''}no such file: {path}")
    return path


def _load_npy(path, flag):
    """The array in the ``.npy`` file ``path`` (given with ``flag``): one row per image.

    ``np.load`` opens more than ``.npy``: an ``.npz`` archive (a model file, say) comes back
    as a lazy dict, a 0-d array has no rows, a pickled object array is refused with a hint
    that does not name the file. Each becomes one line naming the flag and the file.
    """
    _existing(path, flag)
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as e:
        raise CLIError(f"{flag} {path}: not a readable .npy array ({one_line(str(e))}); "
                       f"expected a file written by numpy.save") from None
    if not isinstance(arr, np.ndarray):
        names = ", ".join(list(arr.files)[:5])
        arr.close()
        raise CLIError(f"{flag} {path}: expected a .npy array written by numpy.save, got an "
                       f".npz archive (holding {names})")
    if arr.ndim == 0:
        raise CLIError(f"{flag} {path}: expected an array with one row per image (N, ...), "
                       f"got a 0-d array")
    return arr


def _write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def _read_column(path, column, required=True, flag=None):
    """Integer labels from a .npy file or from ``column`` of a .csv file (None if absent).

    The CSV is read as ``utf-8-sig``: spreadsheet programs (Excel's "CSV UTF-8") start the
    file with a byte-order mark, which plain ``utf-8`` would glue to the first header.
    """
    _existing(path, flag)
    if path.endswith(".npy"):
        arr = _load_npy(path, flag or "labels")
        if arr.ndim != 1 or arr.dtype.kind not in "iu":
            raise CLIError(f"{path}: expected a 1-d integer array, got {arr.dtype} {arr.shape}")
        return arr.astype(np.int64)
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        if column not in (reader.fieldnames or []):
            if not required:
                return None
            raise CLIError(f"{path}: expected a '{column}' column, got {reader.fieldnames}")
        try:
            return np.array([int(row[column]) for row in reader], dtype=np.int64)
        except (ValueError, TypeError) as e:
            raise CLIError(f"{path}: column '{column}' must hold integers ({e})") from None


def _os_error_message(e, args):
    """One line for an ``OSError``: the path it concerns, what went wrong, what to do.

    An error the system raised has an ``errno`` and usually a ``filename``; a full disk
    often has none (``write`` on an open file), so the ``--out`` being written is named.
    An ``OSError`` raised with a message of its own (a dataset not found) keeps it.
    """
    if e.errno is None or not e.strerror:
        return str(e)
    where = e.filename if e.filename is not None else getattr(args, "out", None)
    message = f"{where}: {e.strerror}" if where is not None else e.strerror
    if e.filename2 is not None:
        message += f" (and {e.filename2})"
    hint = {errno.ENOSPC: "free some space, or give --out a folder on another disk",
            errno.EDQUOT: "free some space, or give --out a folder on another disk",
            errno.EACCES: "check its permissions",
            errno.EPERM: "check its permissions",
            errno.EROFS: "that file system is read-only; give --out another folder"}
    return message + (f"; {hint[e.errno]}" if e.errno in hint else "")


def _print_scores(scores):
    print("  ".join(f"{k} {v:.4f}" for k, v in scores.items()))


# Each subcommand is a pair: _add_<name>(subparsers) declares its flags and sets
# func=_cmd_<name>. A new one adds its pair and one entry here.
COMMANDS = [_add_train, _add_cluster, _add_dec, _add_evaluate, _add_cluster_images]


def build_parser():
    """The ``argparse`` parser with one sub-parser per entry of ``COMMANDS``."""
    parser = Parser(
        prog="scratchnet", description="Image clustering with autoencoders, from scratch.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in COMMANDS:
        add(sub)
    return parser


def main(argv=None):
    """Entry point of ``scratchnet`` and ``python -m scratchnet``; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args) or 0
    except (CLIError, ValueError) as e:
        # CLIError: our own checks; ValueError: the library's validation of the data and
        # files (a corrupt dataset or checkpoint, a non-finite loss), which names its cause
        message = str(e)
    except OSError as e:
        # the file system: a missing or unreadable file, a refused permission, a full disk
        message = _os_error_message(e, args)
    print(f"scratchnet {args.command}: error: {one_line(message)}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
