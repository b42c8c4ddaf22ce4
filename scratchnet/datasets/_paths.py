r"""Where datasets are looked for, and where downloads go.

Search order (first match wins):

1. the ``data_dir`` argument of the loader;
2. the ``SCRATCHNET_DATA`` environment variable;
3. ``~/.cache/scratchnet``;
4. dataset-specific system folders (Fashion-MNIST: ``/usr/share/datasets/fashion-mnist``, the
   Debian package ``dataset-fashion-mnist``).

Each of these roots may hold the dataset's files directly or in one of the dataset's usual
sub-folders (``cifar-10-batches-bin/``, ``mnist/``, ``MNIST/raw/``, ``fashion-mnist/`` ...).

One exception, and why: MNIST and Fashion-MNIST use *the same file names*
(``train-images-idx3-ubyte.gz`` ...). In the shared roots (``SCRATCHNET_DATA`` and the cache) a
loose set of IDX files could belong to either, so there the two are only looked for in their own
sub-folders. Files placed directly in a ``data_dir`` you pass, or in a dataset-specific system
folder, are accepted as they are: the caller has said which dataset they are.

Downloads go to the first *writable* root among ``data_dir``, ``SCRATCHNET_DATA`` and the cache,
inside the dataset's download sub-folder.
"""
import os
from pathlib import Path

ENV_VAR = "SCRATCHNET_DATA"


def default_cache_dir():
    """``~/.cache/scratchnet`` (read at call time, so a changed ``HOME`` is honoured)."""
    return Path.home() / ".cache" / "scratchnet"


def _roots(data_dir):
    """The shared search roots in order, as ``(path, explicit)``; ``explicit`` is True for
    ``data_dir`` only."""
    roots = []
    if data_dir is not None:
        roots.append((Path(data_dir).expanduser(), True))
    env = os.environ.get(ENV_VAR)
    if env:
        roots.append((Path(env).expanduser(), False))
    roots.append((default_cache_dir(), False))
    return roots


def search_dirs(data_dir, subfolders, system_dirs=(), loose_files_ok=True):
    r"""Every directory where a dataset's files may be, in search order.

    Parameters
    ----------
    data_dir : str, Path or None
        The loader's ``data_dir`` argument.
    subfolders : sequence of str
        The dataset's usual sub-folders, relative to a root (e.g. ``"MNIST/raw"``).
    system_dirs : sequence of path, optional
        Dataset-specific folders searched last; their files are taken as they are.
    loose_files_ok : bool
        Whether files lying directly in the shared roots (``SCRATCHNET_DATA``, the cache) count.
        False for MNIST and Fashion-MNIST, whose file names are identical.

    Returns
    -------
    list of Path
        Candidate directories (they need not exist), duplicates removed, order kept.
    """
    out = []
    for root, explicit in _roots(data_dir):
        if explicit or loose_files_ok:
            out.append(root)
        out.extend(root / sub for sub in subfolders)
    out.extend(Path(d) for d in system_dirs)
    seen, unique = set(), []
    for d in out:
        if d not in seen:
            seen.add(d)
            unique.append(d)
    return unique


def _writable(path):
    """True if ``path`` is (or can be created as) a directory we may write into."""
    path = Path(path)
    if path.is_dir():
        return os.access(path, os.W_OK | os.X_OK)
    if path.exists():  # a file where a directory should be
        return False
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(path, os.W_OK | os.X_OK)


def download_root(data_dir):
    r"""The first writable root among ``data_dir``, ``SCRATCHNET_DATA`` and the cache.

    Raises
    ------
    PermissionError
        If none of them is writable (the message lists what was tried).
    """
    tried = []
    for root, _ in _roots(data_dir):
        if _writable(root):
            return root
        tried.append(str(root))
    raise PermissionError("datasets: no writable download folder; tried " + ", ".join(tried))
