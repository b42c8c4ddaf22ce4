r"""Files that are either complete or absent: the atomic write, and a safe ``.npz`` reader.

Why atomic? Training writes its checkpoint every epoch and may be killed at any moment (Ctrl-C,
``kill -9``, a full disk). Writing ``model.npz`` in place would leave half a file, and the run
could then never resume. So every output is written to a temporary file *in the same folder*
(``os.replace`` is atomic only within one file system) and renamed over the target: the target
always holds either its previous content or the complete new one.

Three details a hand-rolled version tends to miss:

* **permissions** — ``tempfile.mkstemp`` creates files readable by their owner only (0600), so
  a ``metrics.json`` renamed from it would be unreadable to the rest of a group, unlike the
  figures beside it. :func:`atomic_write` creates the temporary with ``os.open(..., 0o666)``,
  which lets the kernel apply the user's umask: the file gets the usual permissions (0644 for a
  umask of 022), exactly as ``open(path, "w")`` would give it.
* **leftovers** — a kill between creating the temporary and the rename leaves it behind, and
  nothing would ever remove it. The temporary's name is ``.<target name>.<pid>.<8 hex>.tmp``;
  the next write of the same target removes such files whose process is gone. The pattern is
  matched exactly (the target's own name, a number, 8 hex digits), so no other file is touched,
  and the check that the process is gone keeps a concurrent writer's temporary alive. Earlier
  versions' ``mkstemp`` leftovers (``.<target name>.<8 chars>.tmp``) go once an hour old.
* **interruptions** — any failure, ``KeyboardInterrupt`` included, removes the temporary
  before the exception goes on.

:func:`read_npz` reads an ``.npz`` archive with ``allow_pickle=False`` (opening a file can
never run code), checks every array's declared size against the bytes actually stored before
allocating it (a 100-byte file cannot ask for 40 GB), and turns every way a file can be
unreadable — empty, truncated, random bytes, a lone ``.npy`` — into one ``ValueError`` that
names the file.
"""
import atexit
import contextlib
import json
import math
import os
import re
import secrets
import struct
import time
import zipfile
import zlib
from pathlib import Path

import numpy as np

__all__ = ["atomic_write", "read_npz", "remove_stale_temporaries", "write_json"]


def _temp_pattern(name):
    """The regular expression of :func:`atomic_write`'s temporaries for target ``name``."""
    return re.compile(rf"\.{re.escape(name)}\.(\d+)\.[0-9a-f]{{8}}\.tmp")


def _legacy_pattern(name):
    """Earlier versions wrote through ``tempfile.mkstemp(prefix=".<name>.", suffix=".tmp")``:
    8 characters from ``[a-z0-9_]``, no process id. Their leftovers are removed once untouched
    for :data:`_LEGACY_AGE` seconds (a writer still running would have finished long before)."""
    return re.compile(rf"\.{re.escape(name)}\.[a-z0-9_]{{8}}\.tmp")


_LEGACY_AGE = 3600.0


def _process_gone(pid):
    """True when no process ``pid`` exists (on this machine) any more."""
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)            # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return True
    except (PermissionError, OverflowError, OSError):
        return False               # it exists (another user's), or we cannot tell: keep it
    return False


def remove_stale_temporaries(path):
    """Delete temporaries of ``path`` left by a killed earlier :func:`atomic_write`.

    Returns the list of removed paths. Only names matching ``.<name>.<pid>.<8 hex>.tmp`` whose
    process no longer runs, and earlier versions' ``.<name>.<8 chars>.tmp`` untouched for an
    hour, are removed; anything unreadable is left alone.
    """
    folder, name = os.path.split(os.path.abspath(os.fspath(path)))
    pattern, legacy, removed = _temp_pattern(name), _legacy_pattern(name), []
    try:
        entries = os.listdir(folder)
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        stale, match = os.path.join(folder, entry), pattern.fullmatch(entry)
        try:
            if match:
                gone = _process_gone(int(match.group(1)))
            else:
                gone = bool(legacy.fullmatch(entry)) and \
                    now - os.stat(stale).st_mtime > _LEGACY_AGE
            if gone:
                os.unlink(stale)
                removed.append(stale)
        except OSError:
            pass                   # already gone, or not ours to remove
    return removed


def atomic_write(path, write, *, binary=True, fsync=True):
    """Write ``path`` through a temporary file in its folder, then rename it over ``path``.

    Parameters
    ----------
    path : str or PathLike
        The target; its folder must exist.
    write : callable
        ``write(f)`` writes the content into the open file object ``f``.
    binary : bool, default True
        Open the temporary in ``"wb"`` (else ``"w"``, UTF-8 text).
    fsync : bool, default True
        Flush the content to the disk before the rename, so a power cut after it cannot leave
        an empty target (worth it for checkpoints; small reports may skip it).

    Notes
    -----
    The temporary is created with mode ``0o666`` and the umask applies, so the target ends up
    with the permissions ``open(path, "w")`` would give it. Stale temporaries of the same
    target from a killed earlier run are removed first (:func:`remove_stale_temporaries`).
    """
    path = os.fspath(path)
    folder, name = os.path.split(os.path.abspath(path))
    remove_stale_temporaries(path)
    tmp = os.path.join(folder, f".{name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with (os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8")) as f:
            write(f)
            f.flush()
            if fsync:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:  # KeyboardInterrupt too: never leave the temporary behind
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


# ---- reading -------------------------------------------------------------------------------

def _member_header(fp):
    """``(shape, dtype)`` from the header of one ``.npy`` member, without reading its data."""
    version = np.lib.format.read_magic(fp)
    if version == (1, 0):
        shape, _, dtype = np.lib.format.read_array_header_1_0(fp)
    elif version == (2, 0):
        shape, _, dtype = np.lib.format.read_array_header_2_0(fp)
    else:
        raise ValueError(f"unsupported .npy format version {version}")
    return shape, dtype


def read_npz(path, where, hint=""):
    """All arrays of an ``.npz`` file as a dict, or one clear ``ValueError`` naming the file.

    Parameters
    ----------
    path : str or PathLike
    where : str
        Who reads, to start the message (e.g. ``"load"``, ``"DEC.fit(resume)"``).
    hint : str
        Appended to the message: what the user can do (e.g. start without ``--resume``).

    Raises
    ------
    FileNotFoundError
        The file does not exist (left as it is: the caller knows what was expected there).
    ValueError
        Anything else that keeps the file from being read as arrays: empty, truncated, not a
        zip archive, a lone ``.npy``, pickled objects, an array larger than the bytes stored.
    """
    shown = os.fspath(path)
    try:
        with open(path, "rb") as f:
            head = f.read(6)
        if head == b"\x93NUMPY":
            raise ValueError("it is a single .npy array, not an .npz archive")
        data, on_disk = {}, os.path.getsize(path)
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                if not info.filename.endswith(".npy"):
                    raise ValueError(f"member {info.filename!r} is not an .npy array")
                with zf.open(info) as fp:
                    shape, dtype = _member_header(fp)
                if dtype.hasobject:
                    raise ValueError(f"array {info.filename!r} holds Python objects "
                                     "(pickle), which are never loaded")
                # the bytes really there: a stored (uncompressed) member cannot hold more than
                # the file, whatever its directory entry claims
                stored = info.file_size if info.compress_type != zipfile.ZIP_STORED \
                    else min(info.file_size, on_disk)
                nbytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
                if nbytes > stored:
                    raise ValueError(f"array {info.filename!r} declares shape {shape} "
                                     f"({nbytes:,} bytes) but stores {stored:,}")
                with zf.open(info) as fp:
                    data[info.filename[:-4]] = np.lib.format.read_array(fp, allow_pickle=False)
    except FileNotFoundError:
        raise
    except (OSError, ValueError, EOFError, KeyError, RuntimeError, NotImplementedError,
            struct.error, zlib.error, zipfile.BadZipFile, zipfile.LargeZipFile) as e:
        detail = str(e) or type(e).__name__
        raise ValueError(f"{where}: {shown!r} is not a readable checkpoint ({detail}); was it "
                         f"truncated, or written by another program?{hint}") from e
    return data


def write_json(path, obj):
    """Write ``obj`` as indented, strict JSON, atomically (temporary file, then rename).

    The folder is created if needed; the file gets the usual permissions (the umask's, like
    the figures beside it) and a kill mid-write leaves no temporary behind for long
    (:func:`atomic_write`).

    Strict: Python's ``json`` writes a NaN or an infinity as ``NaN`` / ``Infinity``, which is
    not JSON, and other languages' parsers (JavaScript's ``JSON.parse``, Go's, jq) reject the
    whole file. Such a value (a loss that diverged, a score undefined for one cluster) is
    written as ``null`` instead, and, when ``obj`` is a dict, its place and what it was are
    listed under ``"non_finite"`` (e.g. ``{"history.loss[3]": "nan"}``), so nothing is lost.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    found = {}
    clean = _strict(obj, "", found)
    if found and isinstance(clean, dict):
        clean["non_finite"] = found
    atomic_write(path, lambda f: json.dump(clean, f, indent=2, allow_nan=False), binary=False)


def _strict(v, where, found):
    """``v`` as plain JSON values, non-finite floats as None (recorded in ``found``)."""
    if isinstance(v, np.generic):
        v = v.item()
    elif isinstance(v, np.ndarray):
        v = v.tolist()
    elif isinstance(v, os.PathLike):
        return os.fspath(v)
    if isinstance(v, float):
        if math.isfinite(v):
            return v
        found[where or "value"] = "nan" if math.isnan(v) else "inf" if v > 0 else "-inf"
        return None
    if isinstance(v, dict):
        return {str(k): _strict(x, f"{where}.{k}" if where else str(k), found)
                for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_strict(x, f"{where}[{i}]", found) for i, x in enumerate(v)]
    if v is None or isinstance(v, (bool, int, str)):
        return v
    raise TypeError(f"write_json: cannot serialise {type(v).__name__}")


# ---- one writer per output folder ---------------------------------------------------------

LOCK_NAME = ".scratchnet.lock"
_HELD = {}          # folder (resolved) -> lock file, for the locks this process holds


class FolderInUseError(ValueError):
    """Another live run holds the lock of an output folder."""


def lock_folder(folder):
    """Make this process the only writer of ``folder`` until :func:`release_folders` or exit.

    Two runs writing one ``--out`` at once would both finish and leave a mix of their files
    (one run's ``train.json`` beside the other's ``model.npz``). The lock is a file,
    ``.scratchnet.lock``, created with ``O_CREAT | O_EXCL`` (the one operation that exactly
    one of two racing processes wins) and holding the owner's pid and host. A second run
    finds it and is refused, naming the owner. A lock left by a run that was killed (its pid
    no longer exists on this host) is stale and reclaimed: renamed aside, checked to be still
    the stale one (not a lock another process just took), and deleted.
    """
    folder = Path(folder)
    key = os.path.realpath(folder)
    if key in _HELD:
        return _HELD[key]
    path = folder / LOCK_NAME
    me = {"pid": os.getpid(), "host": os.uname().nodename, "started": time.time()}
    for _ in range(3):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            owner = _read_lock(path)
            if owner is not None and not _lock_is_stale(owner):
                raise FolderInUseError(
                    f"{folder} is in use by another run (pid {owner.get('pid')} on "
                    f"{owner.get('host')}, since {_when(owner.get('started'))}); wait for it to "
                    f"end or choose another folder (delete {path} if no run is going on)")
            _reclaim(path, owner)
            continue
        with os.fdopen(fd, "w") as f:
            json.dump(me, f)
        _HELD[key] = path
        if len(_HELD) == 1:
            atexit.register(release_folders)
        return path
    raise FolderInUseError(f"{folder}: could not take its lock {path} (other runs kept "
                           f"taking it); try again")


def release_folders():
    """Remove the locks this process holds (``atexit`` does it too)."""
    while _HELD:
        _, path = _HELD.popitem()
        owner = _read_lock(path)
        if owner is not None and owner.get("pid") == os.getpid():
            with contextlib.suppress(OSError):
                os.remove(path)


def _read_lock(path):
    """The owner recorded in a lock file; {} for an unreadable one (taken as stale once its
    writer had time to finish: a kill between the create and the write); None if gone."""
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        return None
    except OSError:
        return {}
    try:
        owner = json.loads(text)
    except ValueError:
        owner = {}
    if not isinstance(owner, dict):
        owner = {}
    if not owner:
        with contextlib.suppress(OSError):
            owner = {"unreadable_since": os.stat(path).st_mtime}
    return owner


def _lock_is_stale(owner):
    if "unreadable_since" in owner:
        return time.time() - owner["unreadable_since"] > 5.0
    pid = owner.get("pid")
    return (isinstance(pid, int) and owner.get("host") == os.uname().nodename
            and _process_gone(pid))


def _reclaim(path, owner):
    """Delete the stale lock ``path`` read as ``owner``, unless another process replaced it."""
    aside = path.with_name(f"{LOCK_NAME}.{os.getpid()}.stale")
    try:
        os.rename(path, aside)
    except FileNotFoundError:
        return                      # someone else reclaimed it: try to create again
    if _read_lock(aside) == owner or owner is None:
        os.remove(aside)
    else:                           # a fresh lock taken meanwhile: put it back
        os.rename(aside, path)


def _when(started):
    if not isinstance(started, (int, float)):
        return "an unknown time"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started))
