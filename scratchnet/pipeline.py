r"""The steps every example and the command line share: load, cluster, score, report.

An experiment here is always the same shape: images → features (pixels, or an encoder's
codes) → K-means → scores. The scores split in two kinds:

* *internal* — silhouette (Rousseeuw 1987) and Dunn's index (Dunn 1973) look only at the
  features and the cluster labels: how compact and separated the clusters are;
* *external* — Hungarian-matched accuracy, NMI, ARI and purity compare the clusters with the
  true classes, which the clustering never saw.

Internal scores computed on different feature spaces (1024 grey pixels vs a 512-d code) are
not comparable in absolute terms; the external ones are, since they only see labels.
"""
import argparse
import json
import os
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from . import datasets
from ._io import atomic_write
from .cluster import KMeans
from .metrics import (adjusted_rand_score, clustering_accuracy, dunn_index,
                      normalized_mutual_info_score, purity_score, silhouette_score)

LOADERS = {"cifar10": datasets.load_cifar10, "mnist": datasets.load_mnist,
           "fashion-mnist": datasets.load_fashion_mnist}

METRICS = ("silhouette", "dunn", "acc", "nmi", "ari", "purity")


def load_images(dataset, split="train", data_dir=None, limit=None, random_state=0):
    """Load a dataset as float32 NCHW images in [0, 1] with int64 labels.

    Parameters
    ----------
    dataset : {"cifar10", "mnist", "fashion-mnist"}
    limit : int or None
        Keep a random subset of this many images (stratification is not attempted).

    Returns
    -------
    X : ndarray (N, C, H, W) float32
    y : ndarray (N,) int64
    """
    if dataset not in LOADERS:
        raise ValueError(f"load_images: dataset must be one of {sorted(LOADERS)}, "
                         f"got {dataset!r}")
    X, y = LOADERS[dataset](split, data_dir=data_dir)
    if limit is not None and limit < len(X):
        keep = np.sort(np.random.default_rng(random_state).choice(len(X), limit, replace=False))
        X, y = X[keep], y[keep]
    return datasets.to_float32(X), y


def score_clustering(features, labels, y_true=None, silhouette_sample=None, random_state=0):
    """Internal scores of a clustering, plus the external ones when ``y_true`` is given.

    ``silhouette_sample`` bounds the O(n²) silhouette to a random subset (as scikit-learn's
    ``sample_size``); Dunn's index is always exact.
    """
    n_clusters = len(np.unique(labels))
    scores = {}
    if n_clusters >= 2:
        sample = silhouette_sample if silhouette_sample and silhouette_sample < len(labels) \
            else None
        scores["silhouette"] = float(silhouette_score(features, labels, sample_size=sample,
                                                      random_state=random_state))
        scores["dunn"] = float(dunn_index(features, labels))
    if y_true is not None:
        scores["acc"] = float(clustering_accuracy(y_true, labels))
        scores["nmi"] = float(normalized_mutual_info_score(y_true, labels))
        scores["ari"] = float(adjusted_rand_score(y_true, labels))
        scores["purity"] = float(purity_score(y_true, labels))
    return scores


def kmeans_step(features, y_true, n_clusters=10, n_init=10, random_state=0,
                silhouette_sample=None):
    """K-means on ``features`` and the scores of its clustering.

    Returns
    -------
    km : fitted KMeans
    scores : dict of the metrics and ``seconds`` (K-means time only)
    """
    with timer() as t:
        km = KMeans(n_clusters=n_clusters, n_init=n_init, random_state=random_state)
        km.fit(features)
    scores = score_clustering(features, km.labels_, y_true, silhouette_sample, random_state)
    scores["kmeans_seconds"] = t.seconds
    return km, scores


@contextmanager
def timer():
    """``with timer() as t: ...`` then ``t.seconds`` is the wall time of the block."""
    class _T:
        seconds = 0.0
    t, start = _T(), time.perf_counter()
    try:
        yield t
    finally:
        t.seconds = time.perf_counter() - start


def format_table(rows, columns, title=None, index="stage"):
    """Plain-text table of ``rows`` (dicts keyed by ``columns``, plus ``index``).

    Values that are ``(mean, std)`` pairs print as ``mean ± std``.
    """
    def cell(v):
        if v is None:
            return "-"
        if isinstance(v, tuple):
            return f"{v[0]:.4f} ± {v[1]:.4f}"
        if isinstance(v, float):
            return f"{v:.4f}" if abs(v) < 100 else f"{v:.1f}"
        return str(v)

    header = [index] + list(columns)
    body = [[str(r.get(index, ""))] + [cell(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(x) for x in col) for col in zip(header, *body)]
    line = "  ".join(h.ljust(w) for h, w in zip(header, widths))
    out = ([title] if title else []) + [line, "-" * len(line)]
    out += ["  ".join(x.ljust(w) for x, w in zip(r, widths)) for r in body]
    return "\n".join(out)


def aggregate(runs):
    """Mean and standard deviation of each numeric entry across runs (one dict per seed).

    ``runs`` is a list of ``{stage: {metric: value}}``; returns ``{stage: {metric: (mean, std)}}``.
    """
    out = {}
    for stage in runs[0]:
        keys = [k for k, v in runs[0][stage].items() if isinstance(v, (int, float))]
        out[stage] = {k: (float(np.mean([r[stage][k] for r in runs])),
                          float(np.std([r[stage][k] for r in runs]))) for k in keys}
    return out


def write_json(path, obj):
    """Write ``obj`` as indented JSON, atomically (temporary file, then rename).

    The folder is created if needed; the file gets the usual permissions (the umask's, like
    the figures beside it) and a kill mid-write leaves no temporary behind for long
    (:func:`scratchnet._io.atomic_write`).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda f: json.dump(obj, f, indent=2, default=_jsonable), binary=False)


def _jsonable(v):
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, os.PathLike):
        return os.fspath(v)
    raise TypeError(f"write_json: cannot serialise {type(v).__name__}")


def positive_int(text):
    """``argparse`` type: an int >= 1 (``--steps 0`` is refused with a usage error)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive int, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive int, got {text!r}")
    return value


def non_negative_int(text):
    """``argparse`` type for ``--seed``: an int >= 0, as ``numpy.random.default_rng`` takes.
    Checked by the parser so that the error names the flag (numpy's own, raised much later,
    does not)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an int >= 0, got {text!r}")
    return value


def writable_folder(path, flag="--out"):
    """Create folder ``path`` and prove a file can be written in it; return it as a Path.

    Called before any work starts: an ``--out`` that cannot be written (``/dev/null/x``, a
    read-only disk, a folder of another user) must fail in the first second, not after an
    hour of training. The probe is a real file, created and removed, since permission bits
    alone do not tell (a read-only mount, ACLs, root). A ValueError names the flag.
    """
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=path, prefix=".scratchnet-probe-")
        os.close(fd)
        os.remove(probe)
    except OSError as e:
        raise ValueError(f"{flag} {path}: cannot write there ({e.strerror or e}); choose a "
                         f"folder you can write to") from None
    return path


def one_line(text):
    """``text`` on one line: a multi-line message (a loader's list of files and folders)
    joined with "; " (a space after a line that ends a sentence or a heading), runs of
    spaces collapsed."""
    lines = [" ".join(line.split()) for line in str(text).splitlines() if line.strip()]
    joined = ""
    for line in lines:
        joined += ("" if not joined else " " if joined.endswith((":", ".", ";")) else "; ") \
            + line
    return joined


class HelpFormatter(argparse.HelpFormatter):
    """Shows an option's default once, and only when there is one worth showing.

    ``ArgumentDefaultsHelpFormatter`` adds ``(default: None)`` to options that have none
    and a second default to help texts that already state theirs; and it was only given to
    the top-level parser, so the subcommands' ``--help`` showed no defaults at all.
    """

    def _get_help_string(self, action):
        text = action.help or ""
        default = action.default
        if (not action.option_strings or default is None or default is False
                or default == argparse.SUPPRESS or "default" in text):
            return text
        shown = " ".join(map(str, default)) if isinstance(default, list) else str(default)
        shown = shown.replace("%", "%%")   # argparse %-formats help strings
        return f"{text} (default: {shown})" if text else f"default: {shown}"


class Parser(argparse.ArgumentParser):
    """``ArgumentParser`` whose errors are one line, like every other error of the command.

    argparse prints the whole usage before its error; the error line already names the flag
    (``argument --limit: expected a positive int, got '-5'``), and ``--help`` is one flag away.
    Sub-parsers are made of the same class, so this holds for every subcommand.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {one_line(message)} (see {self.prog} --help)\n")


STEPS_HELP = ("train for this many optimizer steps (batches) instead of --epochs, whatever the "
              "number of images; the last epoch may be partial")


def example_parser(description, datasets=("mnist", "fashion-mnist", "cifar10"),
                   default_dataset="mnist", default_epochs=20, default_split="train",
                   with_steps=False):
    """The flags every example takes (``--dataset --split --data-dir --epochs --seed(s)
    --out --quick``), and ``--steps`` with ``with_steps=True``.

    ``--steps`` (default None) replaces ``--epochs`` when given; :func:`fit_length` turns the
    two into the keyword ``Autoencoder.fit`` takes. It is opt-in so that no example offers a
    flag its training ignores: an example that sizes its training with :func:`fit_length`
    passes ``with_steps=True``.
    """
    p = Parser(description=description)
    p.add_argument("--dataset", choices=datasets, default=default_dataset)
    p.add_argument("--split", choices=("train", "test", "all"), default=default_split)
    p.add_argument("--data-dir", default=None,
                   help="folder holding the dataset (default: $SCRATCHNET_DATA, the cache, "
                        "then download)")
    p.add_argument("--limit", type=positive_int, default=None,
                   help="use a random subset of N images")
    p.add_argument("--epochs", type=positive_int, default=default_epochs)
    if with_steps:
        p.add_argument("--steps", type=positive_int, default=None, help=STEPS_HELP)
    p.add_argument("--clusters", type=positive_int, default=10)
    p.add_argument("--seed", type=non_negative_int, default=0)
    p.add_argument("--seeds", type=positive_int, default=1,
                   help="run seeds seed..seed+N-1 and report mean ± std")
    p.add_argument("--out", default=None,
                   help="output folder (default: out/<example name>, out/<example name>-quick "
                        "with --quick)")
    p.add_argument("--quick", action="store_true",
                   help="smoke test: a few hundred images, one epoch")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def fit_length(args):
    """``{"steps": args.steps}`` when ``--steps`` was given, else ``{"epochs": args.epochs}``:
    the keyword that sizes ``Autoencoder.fit``."""
    steps = getattr(args, "steps", None)
    return {"steps": steps} if steps is not None else {"epochs": args.epochs}


# ---- figures that never cost the results --------------------------------------------------

class Figures:
    r"""A run's figures, each drawn so that one that fails costs only itself.

    Figures come last in a run, after hours of training perhaps; a plotting bug or an
    unexpected shape there must not lose the numbers. So every script writes ``metrics.json``
    first, then draws each figure in its own ``with`` block::

        figures = Figures(out)
        with figures.draw("loss", "loss_curves.png") as path:
            plot.loss_curves(ae.history_, path=path)

    Anything the block raises (the plot, or preparing its data) is caught: the rest of the
    block is skipped, one line goes to stderr (``warning: figure 'loss' (out/loss_curves.png)
    not drawn: ValueError: ...``) and the run goes on. ``record()`` is what ``metrics.json``
    is then rewritten with.

    Parameters
    ----------
    out : str or Path
        Folder of the figures.

    Attributes
    ----------
    paths : dict
        ``{key: path}`` of the figures drawn.
    errors : dict
        ``{key: "ExceptionType: message"}`` of the figures that failed.
    """

    def __init__(self, out):
        self.out = Path(out)
        self.paths, self.errors = {}, {}

    @contextmanager
    def draw(self, key, filename):
        """``with figures.draw(key, filename) as path:`` draw to ``path`` (``out/filename``);
        recorded under ``key`` in ``paths``, or in ``errors`` if the block raised."""
        path = self.out / filename
        try:
            yield path
        except Exception as e:  # noqa: BLE001 - whatever a figure raises, the run goes on
            message = " ".join(f"{type(e).__name__}: {e}".split())   # one line
            self.errors[key] = message
            print(f"warning: figure {key!r} ({path}) not drawn: {message}", file=sys.stderr,
                  flush=True)
        else:
            self.paths[key] = str(path)

    def record(self):
        """``{"figures": paths, "figure_errors": errors}``, for ``metrics.json``."""
        return {"figures": dict(self.paths), "figure_errors": dict(self.errors)}


def write_metrics_and_figures(out, metrics, draw):
    """``metrics.json`` in ``out`` first, then ``draw(figures)`` into a :class:`Figures`, then
    ``metrics.json`` again with the figures drawn and the errors of those that failed.

    Returns the :class:`Figures`.
    """
    write_json(Path(out) / "metrics.json", metrics)
    figures = Figures(out)
    draw(figures)
    write_json(Path(out) / "metrics.json", {**metrics, **figures.record()})
    return figures


def model_input(ae, X):
    """Images (N, C, H, W) as ``ae`` takes them: flat rows for a dense autoencoder."""
    return datasets.flatten(X) if len(ae.input_shape) == 1 else X


def decoded_images(decoded, image_shape):
    """Decoder output as images (N, *image_shape) in [0, 1]: a dense decoder's is flat and,
    its output layer being linear, may leave the pixel range."""
    return np.clip(decoded, 0, 1).reshape((-1,) + tuple(image_shape))


# ---- helpers shared by the MNIST examples and the command line ----------------------------

DIGIT_NAMES = ("zeros", "ones", "twos", "threes", "fours", "fives", "sixes", "sevens",
               "eights", "nines")


def class_names(dataset):
    """Names of the classes of ``dataset``, indexed by label (plural digit names for MNIST)."""
    names = {"mnist": DIGIT_NAMES, "fashion-mnist": datasets.FASHION_MNIST_CLASSES,
             "cifar10": datasets.CIFAR10_CLASSES}
    if dataset not in names:
        raise ValueError(f"class_names: dataset must be one of {sorted(names)}, got {dataset!r}")
    return list(names[dataset])


def format_composition(y_true, labels, names=None, top=4):
    """One line per cluster saying which true labels fall in it, most frequent first.

    ``cluster 6 (n = 40): 22 fours, 14 nines, 4 sevens`` — from
    :func:`scratchnet.metrics.cluster_composition`; at most ``top`` labels per line, the rest
    summed as ``k others``. ``names[label]`` replaces the label number when given.

    >>> print(format_composition([4, 4, 9, 4, 1], [6, 6, 6, 6, 0], DIGIT_NAMES))
    cluster 0 (n = 1): 1 ones
    cluster 6 (n = 4): 3 fours, 1 nines
    """
    from .metrics import cluster_composition
    lines = []
    for cluster, size, counts in cluster_composition(y_true, labels):
        parts = [f"{c} {names[lab] if names is not None else f'label {lab}'}"
                 for lab, c in counts[:top]]
        rest = sum(c for _, c in counts[top:])
        if rest:
            parts.append(f"{rest} others")
        lines.append(f"cluster {cluster} (n = {size}): " + ", ".join(parts))
    return "\n".join(lines)


def split_validation(X, random_state=0, fraction=0.1):
    """A random ``fraction`` of ``X`` held out for validation: ``(X_train, X_val)``.

    At least one image goes to each side (so ``len(X) >= 2`` is needed).
    """
    if len(X) < 2:
        raise ValueError(f"split_validation: expected at least 2 images, got {len(X)}")
    order = np.random.default_rng(random_state).permutation(len(X))
    n_val = min(len(X) - 1, max(1, int(len(X) * fraction)))
    return X[np.sort(order[n_val:])], X[np.sort(order[:n_val])]


def results_table(runs, columns, title=None):
    """The table of one run (``runs[0]``), or of mean ± std over several seeds."""
    results = aggregate(runs) if len(runs) > 1 else runs[0]
    return format_table([dict(stage=k, **v) for k, v in results.items()], columns, title=title)


def cluster_means(codes, labels, k):
    """The mean code of each non-empty cluster 0..k-1, (k', D): what to decode when the
    clustering's own centroids live in another space (e.g. on the sphere of L2-normalised
    codes, where the decoder was never trained)."""
    return np.stack([codes[labels == j].mean(axis=0) for j in range(k) if np.any(labels == j)])


def center_and_normalize(X):
    r"""Each row minus its own mean, then scaled to unit length:
    :math:`(x - \bar x) / \|x - \bar x\|`.

    For images this removes overall brightness and contrast, so K-means compares shapes: on
    Fashion-MNIST (all 70,000 images) K-means goes from 0.476 ACC on raw pixels to 0.586 on
    these. A constant row has nothing left after centring and stays all zeros (not NaN).

    >>> center_and_normalize(np.array([[1.0, 3.0], [2.0, 2.0]]))
    array([[-0.70710678,  0.70710678],
           [ 0.        ,  0.        ]])
    """
    X = np.asarray(X)
    if X.ndim != 2 or not np.issubdtype(X.dtype, np.floating):
        raise ValueError(f"center_and_normalize: expected a 2-D float array (n_samples, "
                         f"n_features), got shape {X.shape} and dtype {X.dtype}")
    C = X - X.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(C, axis=1, keepdims=True)
    return C / np.where(norms > 0, norms, 1).astype(X.dtype)


def centred_pixel_kmeans(images, n_clusters, n_init=10, random_state=0):
    """K-means on the images as rows, each centred and scaled to unit length
    (:func:`center_and_normalize`). DEC can start from the mean code of each of its clusters
    (:func:`cluster_means`): ``examples/mnist_dec.py --dec-start pixels``, ``scratchnet dec
    --start pixels``.
    """
    return KMeans(n_clusters, n_init=n_init, random_state=random_state).fit(
        center_and_normalize(datasets.flatten(images)))


def size_entropy(labels, k):
    r"""Entropy (nats) of the cluster sizes, :math:`-\sum_j p_j \log p_j` with
    :math:`p_j = n_j / N`: :math:`\log k` when the ``k`` clusters are equal, 0 when one cluster
    holds everything.

    >>> round(size_entropy(np.array([0, 1, 0, 1]), 2), 4), size_entropy(np.zeros(4, int), 2)
    (0.6931, 0.0)
    """
    p = np.bincount(labels, minlength=k) / len(labels)
    p = p[p > 0]
    return float(-(p * np.log(p)).sum()) + 0.0      # + 0.0: one cluster gives 0.0, not -0.0


def most_balanced_kmeans(X, n_clusters, n_init=20, random_state=0):
    """K-means from ``n_init`` seeds, keeping the restart whose cluster sizes are the most even
    (largest :func:`size_entropy`) instead of the one with the lowest inertia.

    On autoencoder codes of Fashion-MNIST, many restarts end at nearly the same inertia but
    differ in *which* class they split in two and which two classes they merge; inertia barely
    tells them apart. Even sizes encode a prior instead: the classes are about equally frequent.
    That is true of MNIST, Fashion-MNIST and CIFAR-10 by construction, and no labels are used.
    Do not use it when the groups are known to be unequal. Measured, as DEC's start on six
    autoencoders: +0.04 ACC on three, -0.007 on the three others. It is not a reliable gain
    (see ``examples/mnist_dec.py``).

    Returns
    -------
    KMeans
        The chosen restart (fitted with ``n_init=1``).
    """
    if not isinstance(n_init, (int, np.integer)) or n_init < 1:
        raise ValueError(f"most_balanced_kmeans: n_init must be a positive int, got {n_init!r}")
    seeds = np.random.SeedSequence(random_state).generate_state(n_init)
    best, best_h = None, -np.inf
    for seed in seeds:
        km = KMeans(n_clusters, n_init=1, random_state=int(seed)).fit(X)
        h = size_entropy(km.labels_, n_clusters)
        if h > best_h:
            best, best_h = km, h
    return best


def external_scores(y_true, labels):
    """ACC, NMI, ARI and purity of ``labels`` against ``y_true`` (no features needed)."""
    return {"acc": float(clustering_accuracy(y_true, labels)),
            "nmi": float(normalized_mutual_info_score(y_true, labels)),
            "ari": float(adjusted_rand_score(y_true, labels)),
            "purity": float(purity_score(y_true, labels))}


# ---- the shape shared by the AE → K-means examples -----------------------------------------

def kmeans_example_parser(description, name, **kwargs):
    """``example_parser`` plus the K-means flags; ``parse(argv)`` applies ``--quick``.

    Returns ``parse``: a function from argv to the parsed arguments, with ``args.out``
    defaulting to ``out/<name>`` and ``--quick`` meaning 400 images, one epoch (or the
    ``--steps`` given), two restarts.
    """
    p = example_parser(description, with_steps=True, **kwargs)
    p.add_argument("--n-init", type=positive_int, default=10, help="K-means restarts")
    p.add_argument("--silhouette-sample", type=int, default=10000,
                   help="silhouette on at most this many points (exact below it)")

    def parse(argv=None, extra=None):
        if extra is not None:
            extra(p)
        args = p.parse_args(argv)
        if args.quick:
            args.limit, args.epochs, args.n_init = args.limit or 400, min(args.epochs, 1), 2
        try:
            # a quick run never overwrites the full run's results
            args.out = writable_folder(args.out or f"out/{name}" + ("-quick" * args.quick))
        except ValueError as e:
            p.error(str(e))
        return args
    return parse


def run_seeds(run, args, columns, title):
    """Run ``run(args, seed, out)`` for each seed, print the table, write ``metrics.json``.

    ``run`` returns ``(results, draw, extras)``: ``{stage: scores}``; for the first seed
    (which alone gets ``out``) a function ``draw(figures)`` that draws the run's figures into
    a :class:`Figures`, else None; and a dict of anything else worth keeping per seed (listed
    under its key in ``metrics.json``).

    ``metrics.json`` is written after every seed, *before* its figures are drawn, then again
    with ``figures`` (the paths drawn) and ``figure_errors`` (the figures that failed): a
    figure that fails is a warning, never a lost result.
    """
    runs, extras, figures = [], {}, Figures(args.out)
    start = time.perf_counter()

    def save():
        write_json(args.out / "metrics.json",
                   {"args": vars(args), "runs": runs, **extras,
                    "wall_seconds": time.perf_counter() - start, **figures.record()})

    for s in range(args.seed, args.seed + args.seeds):
        results, draw, extra = run(args, s, args.out if s == args.seed else None)
        runs.append(results)
        for key, value in (extra or {}).items():
            extras.setdefault(key, []).append(value)
        save()
        if draw is not None:
            draw(figures)
            save()
    print()
    print(results_table(runs, columns, title=f"{title}, {args.seeds} seed(s)"))
    print(f"\nwall time {time.perf_counter() - start:.1f} s; figures and metrics.json in "
          f"{args.out}/")
    save()
    return runs


def train_and_cluster(ae, X, y, args, seed, verbose_summary):
    """Train ``ae`` on 90 % of ``X`` (10 % validates), then K-means on its codes of ``X``.

    ``X`` as the model takes it (flat rows for a dense autoencoder); the training lasts
    ``--epochs`` or ``--steps`` (:func:`fit_length`). Returns ``(km, scores)`` with the
    training time, the optimizer steps and the final loss among the scores.
    """
    if verbose_summary:
        ae.summary()
    X_train, X_val = split_validation(X, seed)
    with timer() as t:
        ae.fit(X_train, validation_data=X_val, random_state=seed, verbose=not args.quiet,
               **fit_length(args))
    km, scores = kmeans_step(ae.features(X), y, args.clusters, args.n_init, seed,
                             args.silhouette_sample)
    scores["train_seconds"] = t.seconds
    scores["train_steps"] = ae.optimizer_.t
    scores["final_loss"] = ae.history_["loss"][-1]
    return km, scores


def autoencoder_figures(figures, ae, km, X, y, names=None, title="Autoencoder"):
    """Draw the figures of an image autoencoder + K-means run into ``figures``
    (a :class:`Figures`), each on its own so that one failing costs only itself.

    Reconstructions, the training loss, K-means centres decoded to images, the Hungarian-
    ordered confusion matrix, a contact sheet per cluster and a 2-D PCA scatter of the codes.
    ``X`` is the images (N, C, H, W) of any size; a dense autoencoder gets them flattened
    and its output is shaped back like them.
    """
    from . import plot
    sample = X[:10]
    with figures.draw("reconstructions", "reconstructions.png") as path:
        plot.reconstructions(sample, decoded_images(ae.reconstruct(model_input(ae, sample)),
                                                    X.shape[1:]), path=path)
    with figures.draw("loss", "loss_curves.png") as path:
        plot.loss_curves(ae.history_, path=path, title=title)
    with figures.draw("centroids", "decoded_centroids.png") as path:
        # A centroid is a mean of codes; decoding it shows the cluster's "typical" image.
        plot.decoded_centroids(decoded_images(ae.decode(km.cluster_centers_), X.shape[1:]),
                               path=path)
    with figures.draw("confusion", "confusion_matrix.png") as path:
        plot.confusion_matrix(y, km.labels_, path=path, class_names=names)
    with figures.draw("contact_sheet", "clusters_contact_sheet.png") as path:
        plot.cluster_contact_sheet(X, km.labels_, path=path)
    with figures.draw("scatter", "codes_pca.png") as path:
        n = min(len(X), 3000)
        plot.scatter_codes(ae.features(model_input(ae, X[:n])), km.labels_[:n],
                           centers=km.cluster_centers_, path=path,
                           title="Autoencoder codes (PCA), by cluster")
