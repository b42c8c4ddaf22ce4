r"""Where datasets are looked for, and where downloads go.

Two cases, and why they differ:

* **a ``data_dir`` is given** (``--data-dir`` on the command line): only that folder (and the
  dataset's usual sub-folders inside it) is searched, and downloads go only there. The user has
  said where the data is; if it is not there, the right answer is an error naming that folder,
  never another copy found elsewhere (a misspelled ``--data-dir`` used to load Debian's
  Fashion-MNIST without a word). The loaders also refuse a ``data_dir`` that does not exist.
* **no ``data_dir``**: the shared places are searched, first match wins:

  1. the ``SCRATCHNET_DATA`` environment variable;
  2. ``~/.cache/scratchnet``;
  3. dataset-specific system folders (Fashion-MNIST: ``/usr/share/datasets/fashion-mnist``,
     the Debian package ``dataset-fashion-mnist``).

Each of these roots may hold the dataset's files directly or in one of the dataset's usual
sub-folders (``cifar-10-batches-bin/``, ``mnist/``, ``MNIST/raw/``, ``fashion-mnist/`` ...).

One exception, and why: MNIST and Fashion-MNIST use *the same file names*
(``train-images-idx3-ubyte.gz`` ...). In the shared roots (``SCRATCHNET_DATA`` and the cache) a
loose set of IDX files could belong to either, so there the two are only looked for in their own
sub-folders. Files placed directly in a ``data_dir`` you pass, or in a dataset-specific system
folder, are accepted as they are: the caller has said which dataset they are.

Downloads go to ``data_dir`` when one is given (it must exist and be writable), otherwise to the
first *writable* of ``SCRATCHNET_DATA`` and the cache, inside the dataset's download sub-folder.
Nothing here creates a folder: the downloader does, and removes it again if the download fails.
"""
import os
from pathlib import Path

ENV_VAR = "SCRATCHNET_DATA"


def default_cache_dir():
    """``~/.cache/scratchnet`` (read at call time, so a changed ``HOME`` is honoured)."""
    return Path.home() / ".cache" / "scratchnet"


def _roots(data_dir):
    """The search roots in order, as ``(path, explicit)``: ``data_dir`` alone when given
    (``explicit`` True), else ``SCRATCHNET_DATA`` and the cache."""
    if data_dir is not None:
        return [(Path(data_dir).expanduser(), True)]
    roots = []
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
        The loader's ``data_dir`` argument. When given, only it and its ``subfolders`` are
        returned: no environment folder, cache or system folder.
    subfolders : sequence of str
        The dataset's usual sub-folders, relative to a root (e.g. ``"MNIST/raw"``).
    system_dirs : sequence of path, optional
        Dataset-specific folders searched last (only without ``data_dir``); their files are
        taken as they are.
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
    if data_dir is None:
        out.extend(Path(d) for d in system_dirs)
    seen, unique = set(), []
    for d in out:
        if d not in seen:
            seen.add(d)
            unique.append(d)
    return unique


def _writable(path):
    """True if ``path`` is a directory we may write into, or could be created as one: its
    nearest existing ancestor is a writable directory. Nothing is created here."""
    path = Path(path)
    while not path.exists() and path != path.parent:
        path = path.parent
    return path.is_dir() and os.access(path, os.W_OK | os.X_OK)


def download_root(data_dir):
    r"""Where a download goes: ``data_dir`` if given, else the first writable of
    ``SCRATCHNET_DATA`` and the cache.

    Raises
    ------
    PermissionError
        If ``data_dir`` is given and is not a writable folder, or, without it, if neither
        shared root is writable (the message lists what was tried).
    """
    tried = []
    for root, _ in _roots(data_dir):
        if _writable(root):
            return root
        tried.append(str(root))
    raise PermissionError("no writable folder to download into; tried " + ", ".join(tried))
