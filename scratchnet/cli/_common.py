"""What the subcommands share: the models by name, loading the data a run names, the checks
of ``--k`` and of input files, K-means with its scores, and a CSV writer."""

import csv
import json
import math
import os
from pathlib import Path

import numpy as np

from .. import models
from ..cluster import KMeans
from .._io import _member_header
from ..datasets import LOADERS, load_images
from ..experiment import non_negative_int, one_line, positive_int, timer
from ..metrics import score_clustering
from ..models import model_input


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
LOSS_NAMES = {"bce": "binary cross-entropy", "mse": "mean squared error"}  # axis labels


class CLIError(Exception):
    """A problem with the user's input, reported as one line without a traceback."""


# ---- shared steps -------------------------------------------------------------------------

def build_model(name, image_shape, seed):
    """Build model ``name`` for images of ``image_shape`` (C, H, W), checking they fit it."""
    image_shape = tuple(int(n) for n in image_shape)
    try:
        return MODELS[name](image_shape, seed)
    except ValueError as e:
        raise CLIError(f"model {name!r} does not fit images {image_shape}: {e} "
                       f"(--model dense takes any size)") from None


def load_data(args, subset_seed=None):
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


def add_data_flags(p, dataset_required=True):
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


def add_common(p):
    p.add_argument("--seed", type=non_negative_int, default=0, help="same seed, same result")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def model_path(args):
    """The model file ``args.model`` names (a file, or the folder `scratchnet train` wrote)."""
    path = Path(args.model)
    path = path / CHECKPOINT if path.is_dir() else path
    if not path.is_file():
        raise CLIError(f"no model at {path} (expected a file written by `scratchnet train`)")
    return path


def check_k(k, n, where, silhouette=True):
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


# the settings a training run keeps in its train.json: name -> (check, what is expected).
# "epochs" and "steps" are the run's length, so that a bare --resume finishes the run it
# continues (runs written before they were kept resume to the flags' defaults).
_CONFIG_KEYS = {
    "dataset": (lambda v: v in LOADERS, f"one of {sorted(LOADERS)}"),
    "model": (lambda v: v in MODELS, f"one of {sorted(MODELS)}"),
    "split": (lambda v: v in ("train", "test", "all"), "'train', 'test' or 'all'"),
    "limit": (lambda v: v is None or _positive(v), "null or a positive integer"),
    "data_dir": (lambda v: v is None or isinstance(v, str), "null or a folder's path"),
    "seed": (lambda v: _positive(v + 1) if _is_int(v) else False, "an integer >= 0"),
    "epochs": (lambda v: v is None or _positive(v), "null or a positive integer"),
    "steps": (lambda v: v is None or _positive(v), "null or a positive integer"),
}
_CONFIG_REQUIRED = ("dataset", "model", "split", "seed")


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _positive(v):
    return _is_int(v) and v > 0


def read_config(path):
    """The settings of the training run in ``path`` (its ``train.json``), checked.

    A file damaged by hand or by a disk (not JSON, not an object, a key missing, a seed that
    is a string) becomes one line that names the file and the first wrong setting, instead
    of an error deep inside the run.
    """
    try:
        config = json.loads(Path(path).read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise CLIError(f"{path}: expected the JSON a training run writes, got bytes that are "
                       f"not UTF-8 text") from None
    except ValueError as e:
        raise CLIError(f"{path}: expected the JSON a training run writes, got a syntax error "
                       f"({e})") from None
    if not isinstance(config, dict):
        raise CLIError(f"{path}: expected a JSON object of the run's settings, got "
                       f"{type(config).__name__} {one_line(json.dumps(config))[:60]}")
    missing = [k for k in _CONFIG_REQUIRED if k not in config]
    if missing:
        raise CLIError(f"{path}: expected the settings {', '.join(_CONFIG_REQUIRED)}; "
                       f"{', '.join(missing)} missing")
    for key, (ok, expected) in _CONFIG_KEYS.items():
        config.setdefault(key, None)
        if not (key not in _CONFIG_REQUIRED and config[key] is None) and not ok(config[key]):
            raise CLIError(f"{path}: expected {key} to be {expected}, got "
                           f"{json.dumps(config[key])}")
    return config


def load_model_and_data(args, path, silhouette=True):
    """The trained autoencoder at ``path`` and the data to cluster with it.

    Data flags not given default to the training run's (its ``train.json``); ``--k`` must fit
    the number of images (:func:`check_k`) and the images must fit the model. Returns
    (ae, X, y, Xin), ``Xin`` being X as the model takes it.
    """
    config_path = path.parent / CONFIG
    config = read_config(config_path) if config_path.is_file() else {}
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
    X, y = load_data(args, subset_seed)
    check_k(args.k, len(X), f"{args.dataset} {args.split}", silhouette)
    Xin = model_input(ae, X)
    if Xin.shape[1:] != ae.input_shape:
        raise CLIError(f"the model takes inputs {ae.input_shape}, {args.dataset} gives "
                       f"{Xin.shape[1:]}")
    return ae, X, y, Xin


# ---- small helpers ------------------------------------------------------------------------

def existing(path, flag=None):
    if not Path(path).is_file():
        raise CLIError(f"{flag + ' ' if flag else ''}no such file: {path}")
    return path


def load_npy(path, flag):
    """The array in the ``.npy`` file ``path`` (given with ``flag``): one row per image.

    ``np.load`` opens more than ``.npy``: an ``.npz`` archive (a model file, say) comes back
    as a lazy dict, a 0-d array has no rows, a pickled object array is refused with a hint
    that does not name the file. Each becomes one line naming the flag and the file.
    """
    existing(path, flag)
    _check_npy_size(path, flag)
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


def _check_npy_size(path, flag):
    """Refuse a ``.npy`` whose header declares more data than the file holds, before
    ``np.load`` tries to allocate it (a damaged or hostile header can ask for terabytes)."""
    with open(path, "rb") as fp:
        if fp.read(6) != b"\x93NUMPY":
            return                      # not a .npy: np.load says what it is
        fp.seek(0)
        try:
            shape, dtype = _member_header(fp)
        except (ValueError, OSError) as e:
            raise CLIError(f"{flag} {path}: not a readable .npy header ({one_line(str(e))}); "
                           f"expected a file written by numpy.save") from None
        have = os.fstat(fp.fileno()).st_size - fp.tell()
    need = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if need > have:
        raise CLIError(f"{flag} {path}: its header declares {shape} {dtype} ({need:,} bytes) but "
                       f"the file holds {have:,}; expected a complete file written by numpy.save")


def write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def read_column(path, column, required=True, flag=None):
    """Integer labels from a .npy file or from ``column`` of a .csv file (None if absent).

    The CSV is read as ``utf-8-sig``: spreadsheet programs (Excel's "CSV UTF-8") start the
    file with a byte-order mark, which plain ``utf-8`` would glue to the first header.
    """
    existing(path, flag)
    if path.endswith(".npy"):
        arr = load_npy(path, flag or "labels")
        if arr.ndim != 1 or arr.dtype.kind not in "iu":
            raise CLIError(f"{path}: expected a 1-d integer array, got {arr.dtype} {arr.shape}")
        return arr.astype(np.int64)
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            if column not in (reader.fieldnames or []):
                if not required:
                    return None
                raise CLIError(f"{path}: expected a '{column}' column, got {reader.fieldnames}")
            try:
                return np.array([int(row[column]) for row in reader], dtype=np.int64)
            except UnicodeDecodeError:
                raise
            except (ValueError, TypeError) as e:
                raise CLIError(f"{path}: column '{column}' must hold integers ({e})") from None
    except UnicodeDecodeError as e:
        raise CLIError(f"{path}: expected a UTF-8 text CSV, got byte {e.object[e.start]:#04x} at "
                       f"offset {e.start} that is not UTF-8 (save it as \"CSV UTF-8\")") from None


def print_scores(scores):
    print("  ".join(f"{k} {v:.4f}" for k, v in scores.items()))


def kmeans_step(features, y_true, n_clusters, n_init, random_state, silhouette_sample=None):
    """K-means on ``features`` and the scores of its clustering (``kmeans_seconds`` among
    them): ``(km, scores)``."""
    with timer() as t:
        km = KMeans(n_clusters=n_clusters, n_init=n_init, random_state=random_state)
        km.fit(features)
    scores = score_clustering(features, km.labels_, y_true, silhouette_sample, random_state)
    scores["kmeans_seconds"] = t.seconds
    return km, scores
