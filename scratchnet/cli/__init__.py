r"""The ``scratchnet`` command line: train an autoencoder, cluster its codes, score a labelling.

.. code-block:: text

    scratchnet train --dataset fashion-mnist --model mnist-conv --epochs 20 --out runs/fm
    scratchnet train --out runs/fm --epochs 30 --resume        # continue from the checkpoint
    scratchnet cluster runs/fm --k 10 --out runs/fm/clusters   # labels.csv, figures, metrics
    scratchnet dec runs/fm --k 10 --out runs/fm/dec            # refine them with DEC
    scratchnet evaluate runs/fm/clusters/labels.csv --features runs/fm/clusters/codes.npy
    scratchnet cluster-images ~/Pictures/holiday --k 5 --out holiday-clusters
    scratchnet report runs/fm/dec                               # (re)build report.html

Every run folder gets a ``report.html`` (``scratchnet/report.py``): the settings, the scores,
the curves and one row of member images per cluster, on one self-contained page.

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

One module per subcommand (``train.py``, ``cluster.py`` with ``evaluate``, ``dec.py``,
``images.py`` for ``cluster-images``, ``report.py``), each a pair ``add_<name>(subparsers)``
(its flags) and ``cmd_<name>(args)`` (its work); ``_common.py`` holds what they share. This file
builds the parser and turns every expected failure into one line and exit status 2.
"""
import errno
import sys

from .._io import release_folders
from ..experiment import Parser, one_line
from ._common import MODELS, CLIError
from .cluster import add_cluster, add_evaluate
from .dec import add_dec
from .images import add_cluster_images
from .report import add_report
from .train import add_train

__all__ = ["main", "build_parser", "MODELS"]


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


# Each subcommand's add_<name>(subparsers) declares its flags and sets func=cmd_<name>; a new
# subcommand is a new module with that pair, and one entry here.
COMMANDS = [add_train, add_cluster, add_dec, add_evaluate, add_cluster_images, add_report]


def build_parser():
    """The ``argparse`` parser with one sub-parser per entry of ``COMMANDS``."""
    parser = Parser(
        prog="scratchnet", description="Image clustering with autoencoders, from scratch.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in COMMANDS:
        add(sub)
    return parser


def main(argv=None):
    """Entry point of ``scratchnet`` and ``python -m scratchnet``; returns the exit status.

    The output folder a command locks (``writable_folder``) is unlocked when it returns."""
    args = build_parser().parse_args(argv)
    try:
        return _run(args)
    finally:
        release_folders()


def _run(args):
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
