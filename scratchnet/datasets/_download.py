r"""Fetch a file once, verify it, and unpack archives without letting a member escape.

The rules every download follows:

* the bytes are streamed to a temporary file *in the destination folder*
  (``.<name>.<random>.part``), hashed on the way;
* the transfer must deliver every byte the server announced (``Content-Length``), and the md5
  must equal the published value;
* only then is the temporary file renamed to its final name (``os.replace`` is atomic within a
  file system), so a reader never sees a half-written or unverified file;
* on any failure the temporary file is deleted and nothing is left behind.

Archives are checked member by member *before* anything is extracted: absolute names, ``..``
components, links and device files are refused (the "tar slip" attack, CVE-2007-4559).
"""
import hashlib
import os
import shutil
import tarfile
import tempfile
import urllib.request
from pathlib import Path, PurePosixPath

from tqdm.auto import tqdm

_CHUNK = 1 << 16


def md5sum(path, chunk=1 << 20):
    """Hex md5 digest of a file, read in chunks."""
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


class ChecksumError(ValueError):
    """A downloaded file's md5 is not the published one."""


def _fetch(url, dest, md5, timeout, progress):
    """Download one URL to ``dest``; see :func:`download` for the guarantees."""
    dest = Path(dest)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
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


def download(urls, dest, md5, timeout=60.0, progress=True):
    r"""Download a file from the first mirror that delivers it intact.

    Parameters
    ----------
    urls : sequence of str
        The same file on several mirrors, tried in order (``http(s)://`` or ``file://``).
    dest : str or Path
        Final path; its folder is created if needed.
    md5 : str
        The published md5 (hex). A mirror whose bytes do not match is skipped.
    timeout : float
        Seconds to wait for each network operation.
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    Path
        ``dest``, which now holds the verified file.

    Raises
    ------
    OSError
        If no mirror delivered the file intact (``ChecksumError`` if every failure was a
        checksum mismatch); the message lists each URL and why it failed. No partial or
        unverified file is left at ``dest`` or beside it.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    errors = []
    for url in urls:
        try:
            return _fetch(url, dest, md5, timeout, progress)
        except Exception as exc:  # URLError, HTTPException, timeouts, ChecksumError: next mirror
            errors.append((url, exc))
    lines = "\n".join(f"  {u}: {type(e).__name__}: {e}" for u, e in errors)
    cls = ChecksumError if errors and all(isinstance(e, ChecksumError) for _, e in errors) \
        else OSError
    raise cls(f"could not download {dest.name}:\n{lines}")


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
    extracting leaves no partial tree.

    Raises
    ------
    ValueError
        For a member that is absolute, contains ``..``, is a link or device, or would land
        outside ``dest``; or for an archive that is not a readable tar file.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    root = dest.resolve()
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = tar.getmembers()
            for m in members:
                _check_member(m, root)
            staging = Path(tempfile.mkdtemp(prefix=".extract.", dir=dest))
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
