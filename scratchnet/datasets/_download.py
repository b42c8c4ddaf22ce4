r"""Fetch a file once, verify it, and unpack archives without letting a member escape.

The rules every download follows:

* the bytes are streamed to a temporary file *in the destination folder*
  (``.<name>.<pid>-<random>.part``), hashed on the way;
* the transfer must deliver every byte the server announced (``Content-Length``), and the md5
  must equal the published value;
* only then is the temporary file renamed to its final name (``os.replace`` is atomic within a
  file system), so a reader never sees a half-written or unverified file;
* on any failure the temporary file is deleted, and so is every folder the download created
  that is still empty: a failed download leaves nothing behind. A run killed outright
  (``kill -9``, power loss) cannot clean up, so the next download of the same file first
  removes the ``.part`` files whose writer is gone (the process id in the name is not running);
* files are created with mode ``0o666`` filtered by the umask (``-rw-r--r--`` usually), like
  any file a program writes, not ``tempfile.mkstemp``'s private ``0o600``;
* the md5 of every file placed is written to ``.scratchnet-md5`` beside it (``md5sum``'s
  format: ``md5sum -c .scratchnet-md5`` checks the folder by hand). That record is how the
  loaders later tell a file scratchnet downloaded and verified, which must still match, from a
  file the user put there, which may legitimately differ (a subset, a recompressed copy).

Archives are checked member by member *before* anything is extracted: absolute names, ``..``
components, links and device files are refused (the "tar slip" attack, CVE-2007-4559).
"""
import hashlib
import os
import secrets
import shutil
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path, PurePosixPath

from tqdm.auto import tqdm

_CHUNK = 1 << 16
MD5_RECORD = ".scratchnet-md5"
# A .part whose name carries no process id (an older scratchnet's) is taken as abandoned once
# nothing has written to it for this long; a live download writes at least every `timeout`.
_STALE_SECONDS = 3600


def md5sum(path, chunk=1 << 20):
    """Hex md5 digest of a file, read in chunks."""
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


class ChecksumError(ValueError):
    """A file's md5 is not the published (or recorded) one."""


def _create_part(dest):
    """A new, empty ``.<name>.<pid>-<random>.part`` beside ``dest``: ``(fd, path)``.

    ``os.open`` with ``0o666`` lets the kernel apply the umask, so the final file gets the
    permissions any other written file would; ``O_EXCL`` makes the name ours alone.
    """
    tmp = dest.parent / f".{dest.name}.{os.getpid()}-{secrets.token_hex(6)}.part"
    return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                   0o666), tmp


def _writer_gone(part):
    """True if the run that made ``part`` (``.<...>.<pid>-<random>[.part]``) is gone."""
    name = part.name[:-len(".part")] if part.name.endswith(".part") else part.name
    pid = name.rsplit(".", 1)[-1].split("-")[0]
    if pid.isdigit() and os.name == "posix":
        try:
            os.kill(int(pid), 0)  # signal 0: only asks whether the process exists
        except ProcessLookupError:
            return True
        except OSError:  # exists, owned by someone else
            return False
        return False
    try:
        return time.time() - part.stat().st_mtime > _STALE_SECONDS
    except OSError:
        return False


def remove_stale_parts(dest):
    """Delete the ``.part`` files of ``dest`` left by downloads that were killed."""
    dest = Path(dest)
    if dest.parent.is_dir():
        for part in dest.parent.glob(f".{dest.name}.*.part"):
            if _writer_gone(part):
                part.unlink(missing_ok=True)


def missing_dirs(folder):
    """The folders from ``folder`` up that do not exist yet, deepest first: what creating
    ``folder`` would add, so that a failure can take exactly those away again."""
    out, folder = [], Path(folder)
    while not folder.exists() and folder != folder.parent:
        out.append(folder)
        folder = folder.parent
    return out


def remove_empty_dirs(dirs):
    """``rmdir`` each folder (deepest first) that is still empty; others are left alone."""
    for d in dirs:
        try:
            d.rmdir()
        except OSError:  # not empty (someone else's file), or already gone
            pass


def record_md5(folder, digests):
    """Add ``{name: md5}`` to ``folder``'s ``.scratchnet-md5`` (replaced atomically)."""
    path = Path(folder) / MD5_RECORD
    known = read_md5_record(folder)
    known.update(digests)
    fd, tmp = _create_part(path)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.writelines(f"{md5}  {name}\n" for name, md5 in sorted(known.items()))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_md5_record(folder):
    """``{name: md5}`` from ``folder``'s ``.scratchnet-md5`` (empty if there is none)."""
    try:
        lines = (Path(folder) / MD5_RECORD).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return {}
    pairs = (line.split("  ", 1) for line in lines)
    return {p[1]: p[0] for p in pairs if len(p) == 2 and len(p[0]) == 32}


def _fetch(url, dest, md5, timeout, progress):
    """Download one URL to ``dest``; see :func:`download` for the guarantees."""
    fd, tmp = _create_part(dest)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
            length = resp.headers.get("Content-Length")
            total = int(length) if length is not None else None
            h = hashlib.md5()
            received = 0
            with tqdm(total=total, unit="B", unit_scale=True, desc=dest.name,
                      disable=not progress, leave=False) as bar:
                for block in iter(lambda: resp.read(_CHUNK), b""):
                    out.write(block)
                    h.update(block)
                    received += len(block)
                    bar.update(len(block))
        # http.client does not raise when a server closes early; count the bytes ourselves.
        if total is not None and received != total:
            raise OSError(f"interrupted transfer: received {received} of {total} bytes")
        digest = h.hexdigest()
        if digest != md5:
            raise ChecksumError(f"md5 mismatch for {url}: expected {md5}, got {digest}")
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return dest


def short_reason(exc):
    """A few words on why a transfer failed: ``Connection refused``, not a URLError repr."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        reason = exc.reason
        return getattr(reason, "strerror", None) or str(reason)
    return str(exc) or type(exc).__name__


def download(urls, dest, md5, timeout=60.0, progress=True, record=True):
    r"""Download a file from the first mirror that delivers it intact.

    Parameters
    ----------
    urls : sequence of str
        The same file on several mirrors, tried in order (``http(s)://`` or ``file://``).
    dest : str or Path
        Final path; its folder is created if needed (and removed again if the download fails
        and it is still empty).
    md5 : str
        The published md5 (hex). A mirror whose bytes do not match is skipped.
    timeout : float
        Seconds to wait for each network operation.
    progress : bool
        Show a tqdm progress bar.
    record : bool
        Add the file's md5 to ``.scratchnet-md5`` beside it, so that later loads can check the
        file is still the one that was verified. False for an archive deleted after unpacking.

    Returns
    -------
    Path
        ``dest``, which now holds the verified file.

    Raises
    ------
    OSError
        If no mirror delivered the file intact (``ChecksumError`` if every failure was a
        checksum mismatch); the message lists each URL and why it failed, and the exception's
        ``failures`` attribute holds the ``(url, exception)`` pairs. No partial or unverified
        file, and no folder it created, is left behind.
    """
    dest = Path(dest)
    created = missing_dirs(dest.parent)
    dest.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_parts(dest)
    errors = []
    for url in urls:
        try:
            _fetch(url, dest, md5, timeout, progress)
        except Exception as exc:  # URLError, HTTPException, timeouts, ChecksumError: next mirror
            errors.append((url, exc))
            continue
        if record:
            record_md5(dest.parent, {dest.name: md5})
        return dest
    remove_empty_dirs(created)
    lines = "\n".join(f"  {u}: {type(e).__name__}: {e}" for u, e in errors)
    cls = ChecksumError if errors and all(isinstance(e, ChecksumError) for _, e in errors) \
        else OSError
    err = cls(f"could not download {dest.name}:\n{lines}")
    err.failures = errors
    raise err


def _check_member(member, root):
    """Raise ``ValueError`` unless ``member`` is a plain file or folder inside ``root``."""
    name = member.name
    parts = PurePosixPath(name).parts
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise ValueError(f"unsafe archive member {name!r}: absolute path")
    if ".." in parts or ".." in name.replace("\\", "/").split("/"):
        raise ValueError(f"unsafe archive member {name!r}: '..' would escape the target folder")
    if not (member.isfile() or member.isdir()):
        raise ValueError(f"unsafe archive member {name!r}: only regular files and folders are "
                         "allowed (links and devices are refused)")
    target = (root / name).resolve()
    if target != root and root not in target.parents:
        raise ValueError(f"unsafe archive member {name!r}: resolves outside {root}")


def safe_extract_tar(archive, dest):
    r"""Extract a (possibly compressed) tar archive into ``dest``, refusing unsafe members.

    Every member is checked first; if any is unsafe nothing at all is extracted. Extraction
    goes to a temporary folder inside ``dest`` whose files are then moved into place (files of
    the same name are replaced, other files already there are kept), so an error while
    extracting leaves no partial tree; a staging folder left by a killed run (its process id,
    in the name, is no longer running) is removed first.

    Raises
    ------
    ValueError
        For a member that is absolute, contains ``..``, is a link or device, or would land
        outside ``dest``; or for an archive that is not a readable tar file.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for old in dest.glob(".extract.*"):  # staging folders of runs that were killed
        if old.is_dir() and _writer_gone(old):
            shutil.rmtree(old, ignore_errors=True)
    root = dest.resolve()
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = tar.getmembers()
            for m in members:
                _check_member(m, root)
            staging = Path(tempfile.mkdtemp(prefix=f".extract.{os.getpid()}-", dir=dest))
            try:
                kwargs = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
                tar.extractall(staging, members=members, **kwargs)
                # Merge file by file: an existing folder keeps any other files it holds.
                for entry in sorted(staging.rglob("*")):
                    final = dest / entry.relative_to(staging)
                    if entry.is_dir():
                        final.mkdir(parents=True, exist_ok=True)
                    else:
                        os.replace(entry, final)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
    except (tarfile.TarError, EOFError) as exc:
        raise ValueError(f"{archive}: not a readable tar archive ({exc})") from exc
    return dest
