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
``--quiet``. Bad input (a missing folder, no images, more clusters than images, a model that
does not fit the data) ends with ``scratchnet <command>: error: ...`` and exit status 2.

Images of any size and channel count work: the models are built for the data's own shape
(``mnist-conv`` and ``pool`` need a height and width divisible by 4, ``cifar-conv`` by 8;
``dense`` and ``dense-3d`` take any size). ``metrics.json`` is written before the figures; a
figure that fails is one warning line on stderr and an entry of ``figure_errors`` in
``metrics.json``, and the command still succeeds.

``train --steps N`` sizes the training by optimizer steps (batches) instead of epochs, so a
small dataset gets as much training as a large one; the last epoch may be partial.

Checkpoints: ``train`` saves ``model.npz`` (weights, optimizer state, loss history) after every
epoch with an atomic write, so an interrupted run loses at most the epoch in progress.
``--resume`` reloads it and runs the remaining epochs; because epoch ``e`` shuffles with
``default_rng([seed, e])`` and the optimizer state is restored, the result equals an
uninterrupted run. With ``--steps`` the same holds when the run is cut between two epochs;
extending a finished ``--steps`` run whose last epoch was partial starts a new epoch instead of
completing that one (the optimizer still takes ``--steps`` steps in all). ``dec`` does the same
with ``dec_checkpoint.npz``, written at every refresh of the target distribution.
"""
import argparse
import csv
import json
import math
import sys
from pathlib import Path

import numpy as np

from . import datasets, models, plot
from .cluster import DEC
from .nn import Flatten, L2Normalize, Reshape, Sequential
from .metrics import cluster_composition
from .pipeline import (LOADERS, STEPS_HELP, centred_pixel_kmeans, class_names, cluster_means,
                       decoded_images, external_scores, fit_length, kmeans_step, load_images,
                       model_input, positive_int, score_clustering, split_validation, timer,
                       write_json, write_metrics_and_figures)

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


def _load_data(args):
    X, y = load_images(args.dataset, args.split, args.data_dir, limit=args.limit,
                       random_state=args.seed)
    print(f"{args.dataset} {args.split}: {len(X)} images {X.shape[1:]}")
    return X, y


def _add_data_flags(p, dataset_required=True):
    p.add_argument("--dataset", choices=sorted(LOADERS), required=dataset_required,
                   default=None)
    p.add_argument("--split", choices=("train", "test", "all"), default=None,
                   help="default: the training run's split (cluster, dec), else train")
    p.add_argument("--data-dir", default=None, help="folder holding the dataset")
    p.add_argument("--limit", type=int, default=None, help="use a random subset of N images")


def _add_common(p):
    p.add_argument("--seed", type=int, default=0, help="same seed, same result")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


# ---- train --------------------------------------------------------------------------------

def _add_train(sub):
    p = sub.add_parser("train", help="train an autoencoder on a dataset, checkpointing each epoch")
    _add_data_flags(p, dataset_required=False)
    p.add_argument("--model", choices=sorted(MODELS), default=None,
                   help="default: mnist-conv for (fashion-)mnist, cifar-conv for cifar10")
    p.add_argument("--epochs", type=int, default=20, help="total number of epochs")
    p.add_argument("--steps", type=positive_int, default=None,
                   help=STEPS_HELP + "; the total of the run, resumed or not")
    p.add_argument("--out", required=True, help="folder for model.npz, train.json, figures")
    p.add_argument("--resume", action="store_true",
                   help="continue the run in --out from its last complete epoch")
    _add_common(p)
    p.set_defaults(func=_cmd_train)


def _cmd_train(args):
    out = Path(args.out)
    ckpt, config_path = out / CHECKPOINT, out / CONFIG
    if args.steps is None and args.epochs < 1:
        raise CLIError(f"--epochs must be at least 1, got {args.epochs}")
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
    else:
        # fit counts steps from epoch 0, every epoch before initial_epoch complete; a run
        # that ended inside an epoch (a smaller --steps) has done fewer: ask for the rest
        budget = args.steps + start * per_epoch - done
        end, unit, goal, have = math.ceil(budget / per_epoch), "steps", args.steps, done
    if have >= goal:
        print(f"{ckpt} already has {have} {unit} (--{unit} {goal}); nothing to do")
        return 0
    if args.resume:
        print(f"resuming {config['model']} at epoch {start + 1} of {end}"
              + (f", step {done + 1} of {args.steps}" if args.steps else ""))
    else:
        out.mkdir(parents=True, exist_ok=True)
        write_json(config_path, config)
    with timer() as t:
        # One fit call per epoch, each followed by a checkpoint. Epoch e shuffles with
        # default_rng([seed, e]) and the optimizer carries its state from call to call, so
        # this is the same computation as one fit over all epochs (or steps).
        for epoch in range(start, end):
            length = ({"epochs": epoch + 1} if args.steps is None
                      else {"steps": min(budget, (epoch + 1) * per_epoch)})
            ae.fit(train, initial_epoch=epoch, validation_data=val, random_state=args.seed,
                   verbose=not args.quiet, **length)
            ae.save(ckpt)
    print(f"trained epochs {start + 1}-{end} (optimizer steps {done + 1}-{ae.optimizer_.t}) "
          f"in {t.seconds:.1f} s; loss {ae.history_['loss'][-1]:.4f}, val_loss "
          f"{ae.history_['val_loss'][-1]:.4f}")
    metrics = {"config": config, "epochs": len(ae.history_["loss"]), "steps": ae.optimizer_.t,
               "history": ae.history_, "seconds_this_run": t.seconds}

    def draw(figures):
        with figures.draw("loss", "loss_curves.png") as path:
            plot.loss_curves(ae.history_, path=path, title=config["model"])
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
    p.add_argument("--k", type=int, default=10, help="number of clusters")
    p.add_argument("--n-init", type=int, default=10, help="K-means restarts")
    p.add_argument("--format", choices=("csv", "npy"), default="csv",
                   help="labels.csv (index,cluster,label) or labels.npy (+ true_labels.npy)")
    p.add_argument("--silhouette-sample", type=int, default=10000)
    p.add_argument("--out", required=True)
    _add_common(p)
    p.set_defaults(func=_cmd_cluster)


def _model_path(args):
    """The model file ``args.model`` names (a file, or the folder `scratchnet train` wrote)."""
    path = Path(args.model)
    path = path / CHECKPOINT if path.is_dir() else path
    if not path.is_file():
        raise CLIError(f"no model at {path} (expected a file written by `scratchnet train`)")
    return path


def _load_model_and_data(args, path):
    """The trained autoencoder at ``path`` and the data to cluster with it.

    Data flags not given default to the training run's (its ``train.json``); ``--k`` must fit
    the number of images and the images must fit the model. Returns (ae, X, y, Xin), ``Xin``
    being X as the model takes it.
    """
    config_path = path.parent / CONFIG
    config = json.loads(config_path.read_text()) if config_path.is_file() else {}
    args.dataset = args.dataset or config.get("dataset")
    if args.dataset is None:
        raise CLIError(f"--dataset is required ({config_path} not found)")
    args.split = args.split or config.get("split") or "train"
    args.data_dir = args.data_dir or config.get("data_dir")
    ae = models.Autoencoder.load(path)
    X, y = _load_data(args)
    if not 1 <= args.k <= len(X):
        raise CLIError(f"--k must be between 1 and the {len(X)} images, got {args.k}")
    Xin = model_input(ae, X)
    if Xin.shape[1:] != ae.input_shape:
        raise CLIError(f"the model takes inputs {ae.input_shape}, {args.dataset} gives "
                       f"{Xin.shape[1:]}")
    return ae, X, y, Xin


def _cmd_cluster(args):
    path = _model_path(args)
    ae, X, y, Xin = _load_model_and_data(args, path)
    codes = ae.features(Xin)
    km, scores = kmeans_step(codes, y, args.k, args.n_init, args.seed, args.silhouette_sample)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
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
    p.add_argument("--k", type=int, default=10, help="number of clusters")
    p.add_argument("--normalize", type=float, default=None, metavar="SCALE",
                   help="L2-normalise the codes to length SCALE before clustering "
                        "(scratchnet.nn.L2Normalize)")
    p.add_argument("--idec", type=float, default=0.0, metavar="WEIGHT",
                   help="reconstruction weight: > 0 keeps the decoder training (IDEC)")
    p.add_argument("--optimizer", choices=("sgd", "adam"), default="sgd")
    p.add_argument("--max-iter", type=int, default=20000, help="maximum training steps")
    p.add_argument("--update-interval", type=int, default=140,
                   help="steps between two refreshes of the target distribution")
    p.add_argument("--tol", type=float, default=1e-3,
                   help="stop when fewer than this fraction of labels change at a refresh")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--n-init", type=int, default=20, help="K-means restarts for the centroids")
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
    ae, X, y, Xin = _load_model_and_data(args, path)

    # DEC wants flat codes: a convolutional encoder gets a Flatten (and its decoder a Reshape)
    image_code = len(ae.code_shape) > 1
    encoder = Sequential(list(ae.encoder) + ([Flatten()] if image_code else [])
                         + ([L2Normalize(args.normalize)] if args.normalize else []))
    decoder = None
    if args.idec > 0:
        decoder = Sequential(([Reshape(ae.code_shape)] if image_code else [])
                             + list(ae.decoder))

    def report(dec, logs):
        print(f"  step {logs['iteration']:>6}: KL {logs['loss']:.5f}  labels changed "
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
    out.mkdir(parents=True, exist_ok=True)
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
                             path=p, title="DEC, per target refresh")
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
    p.add_argument("--silhouette-sample", type=int, default=None)
    p.add_argument("--out", default=None, help="also write the scores to this .json file")
    p.add_argument("--seed", type=int, default=0, help="seeds the silhouette sample")
    p.set_defaults(func=_cmd_evaluate)


def _cmd_evaluate(args):
    labels = _read_column(args.labels, "cluster")
    truth = _read_column(args.truth, "label") if args.truth else None
    if truth is None and args.labels.endswith(".csv"):
        truth = _read_column(args.labels, "label", required=False)
    features = None
    if args.features:
        features = np.load(_existing(args.features), allow_pickle=False)
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
    p.add_argument("folder", help="folder of .png/.jpg images (sub-folders are not read)")
    p.add_argument("--k", type=int, default=10, help="number of clusters")
    p.add_argument("--out", required=True)
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--steps", type=positive_int, default=None, help=STEPS_HELP)
    p.add_argument("--size", type=positive_int, nargs="+", default=[32], metavar="N",
                   help="resize every image to N×N, or to H×W with two numbers (the "
                        "pooling autoencoder needs multiples of 4)")
    p.add_argument("--grayscale", action="store_true", help="read the images as grey")
    p.add_argument("--n-init", type=int, default=10, help="K-means restarts")
    p.add_argument("--per-sheet", type=int, default=64, help="images per cluster sheet")
    _add_common(p)
    p.set_defaults(func=_cmd_cluster_images)


def _cmd_cluster_images(args):
    folder = Path(args.folder)
    if not folder.is_dir():
        raise CLIError(f"{folder} is not a folder")
    if len(args.size) > 2:
        raise CLIError(f"--size takes N or H W, got {len(args.size)} numbers")
    size = (args.size[0], args.size[-1])
    X, paths = datasets.load_image_folder(folder, size=size, grayscale=args.grayscale)
    if not 1 <= args.k <= len(X):
        raise CLIError(f"--k must be between 1 and the number of images ({len(X)} in "
                       f"{folder}), got {args.k}")
    print(f"{folder}: {len(X)} images, resized to {X.shape[1:]}")
    X = datasets.to_float32(X)
    try:
        ae = models.pool_autoencoder(in_channels=X.shape[1], image_size=size,
                                     random_state=args.seed)
    except ValueError as e:
        raise CLIError(f"--size {size[0]} {size[1]}: {e}") from None
    with timer() as t:
        ae.fit(X, random_state=args.seed, verbose=not args.quiet, **fit_length(args))
    codes = ae.features(X)
    km, scores = kmeans_step(codes, None, args.k, args.n_init, args.seed)
    scores["train_seconds"] = t.seconds

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
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
            plot.loss_curves(ae.history_, path=p, title="pool autoencoder")
    figures = write_metrics_and_figures(out, metrics, draw)
    sheets = [v for k, v in figures.paths.items() if k.startswith("cluster_")]
    write_json(out / "metrics.json", {**metrics, "contact_sheets": sheets, **figures.record()})
    print(f"wrote {out / 'clusters.csv'} and {len(sheets)} contact sheets to {out}/")
    return 0


# ---- small helpers ------------------------------------------------------------------------

def _existing(path):
    if not Path(path).is_file():
        raise CLIError(f"no such file: {path}")
    return path


def _write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def _read_column(path, column, required=True):
    """Integer labels from a .npy file or from ``column`` of a .csv file (None if absent)."""
    _existing(path)
    if path.endswith(".npy"):
        arr = np.load(path, allow_pickle=False)
        if arr.ndim != 1 or arr.dtype.kind not in "iu":
            raise CLIError(f"{path}: expected a 1-d integer array, got {arr.dtype} {arr.shape}")
        return arr.astype(np.int64)
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        if column not in (reader.fieldnames or []):
            if not required:
                return None
            raise CLIError(f"{path}: expected a '{column}' column, got {reader.fieldnames}")
        try:
            return np.array([int(row[column]) for row in reader], dtype=np.int64)
        except ValueError as e:
            raise CLIError(f"{path}: column '{column}' must hold integers ({e})") from None


def _print_scores(scores):
    print("  ".join(f"{k} {v:.4f}" for k, v in scores.items()))


# Each subcommand is a pair: _add_<name>(subparsers) declares its flags and sets
# func=_cmd_<name>. A new one adds its pair and one entry here.
COMMANDS = [_add_train, _add_cluster, _add_dec, _add_evaluate, _add_cluster_images]


def build_parser():
    """The ``argparse`` parser with one sub-parser per entry of ``COMMANDS``."""
    parser = argparse.ArgumentParser(
        prog="scratchnet", description="Image clustering with autoencoders, from scratch.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in COMMANDS:
        add(sub)
    return parser


def main(argv=None):
    """Entry point of ``scratchnet`` and ``python -m scratchnet``; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args) or 0
    except (CLIError, FileNotFoundError, ValueError) as e:
        print(f"scratchnet {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
