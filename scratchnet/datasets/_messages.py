"""What the loaders say when a dataset is not there: the one exception, and its message.

A summary line (what is missing and why it could not be fetched), then what to do, then the
details (files looked for, folders searched in order, the official URLs and md5s). Kept apart
from :mod:`scratchnet.datasets.loaders` so that the loaders read as find, download, verify,
read.
"""
from pathlib import Path

from ._download import ChecksumError, short_reason
from ._paths import ENV_VAR, default_cache_dir


class DatasetNotFoundError(FileNotFoundError):
    """A dataset's files are not where they were looked for and could not be downloaded.

    A ``FileNotFoundError`` (so an ``OSError``), so code that already catches those, like the
    command line, reports it as one line of advice rather than a traceback.
    """


def _not_found(fn, what, looked_for, dirs, files, why, also=""):
    r"""The message of a dataset that is not there: one summary line, then the details.

    The first line says what is missing and why it could not be fetched; the second what to
    do: pass the folder that holds the files (``--data-dir`` for the command line,
    ``data_dir=`` in Python, since the reader may be using either) or get them from the
    official URLs listed below it, with the folders searched.
    """
    lines = [f"{fn}: {what} not found: {why}.",
             "What to do: pass the folder that holds the files (--data-dir DIR on the command "
             f"line, data_dir=DIR in Python){also}, or download them from the official URLs "
             "below.",
             f"  files looked for: {', '.join(looked_for)}",
             "  folders searched, in order:"]
    lines += [f"    {d}" for d in dirs]
    lines.append("  official files:")
    lines += [f"    {' or '.join(urls)} (md5 {md5})" for _, urls, md5 in files]
    lines.append(f"  without data_dir, the files are looked for in ${ENV_VAR}, then "
                 f"{default_cache_dir()} (where downloads go)")
    return "\n".join(lines)


def _check_data_dir(fn, what, data_dir, looked_for, files):
    """A ``data_dir`` that is not a folder is an error naming it, never a reason to look
    elsewhere: a misspelled ``--data-dir`` must not quietly load another copy. Nor is a
    download made into a folder that does not exist: it is more likely a typo than a wish."""
    if data_dir is None:
        return
    folder = Path(data_dir).expanduser()
    if not folder.is_dir():
        state = "is not a folder" if folder.exists() else "does not exist (misspelled?)"
        raise DatasetNotFoundError(_not_found(
            fn, what, looked_for, [folder], files, f"data_dir {folder} {state}",
            also="; create the folder first if the files should be downloaded into it"))


def _download_failed(fn, exc, what, looked_for, dirs, files):
    """Raise the one exception a failed download becomes (``from None``: the message already
    holds the cause, and a second, chained traceback would only bury it)."""
    failures = getattr(exc, "failures", None)
    if not failures:  # no transfer was even tried (no writable folder to download into)
        why = f"no download was possible ({short_reason(exc)})"
    elif len({short_reason(e) for _, e in failures}) == 1:  # offline: all alike, say it once
        where = f": {failures[0][0]}" if len(failures) == 1 else \
            f", at all {len(failures)} mirrors"
        why = f"the download failed ({short_reason(failures[0][1])}{where})"
    else:
        why = "the download failed (" + "; ".join(f"{url}: {short_reason(e)}"
                                                  for url, e in failures) + ")"
    message = _not_found(fn, what, looked_for, dirs, files, why)
    if isinstance(exc, ChecksumError):  # every mirror served other bytes than published
        raise ChecksumError(message) from None
    raise DatasetNotFoundError(message) from None
