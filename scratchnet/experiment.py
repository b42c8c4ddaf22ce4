r"""The scaffolding the examples and the command line share, and nothing else: their flags,
the loop over seeds, the tables they print, ``metrics.json`` and figures that never cost the
results.

The methods themselves live in the subpackages (``datasets``, ``models``, ``cluster``,
``metrics``, ``plot``); the examples call them in the open, top to bottom. What is here is
only what every script would otherwise write again:

* **flags** — one ``Parser`` (errors on one line, each default shown once) and the flag types
  (``positive_int``, ``non_negative_int``), ``writable_folder`` for ``--out`` (checked before
  any work), ``example_parser`` with the flags every example takes;
* **a run over seeds** — ``run_seeds`` calls the example's ``run(args, seed, out)`` once per
  seed, writes ``metrics.json`` after each, prints the table (mean ± std over seeds);
* **results that survive their figures** — ``metrics.json`` is written first, then each figure
  is drawn in its own ``Figures.draw`` block, so a failing plot costs only itself
  (:mod:`scratchnet.figures`), and ``report.html`` last (:mod:`scratchnet.report`).
"""
import argparse
import os
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ._io import FolderInUseError, lock_folder, write_json


# ---- flags ---------------------------------------------------------------------------------

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


def writable_folder(path, flag="--out", lock=True):
    """Create folder ``path``, prove a file can be written in it, and (``lock``) make this
    run its only writer; return it as a Path.

    Called before any work starts: an ``--out`` that cannot be written (``/dev/null/x``, a
    read-only disk, a folder of another user) must fail in the first second, not after an
    hour of training. The probe is a real file, created and removed, since permission bits
    alone do not tell (a read-only mount, ACLs, root). A ValueError names the flag. The
    lock (:func:`scratchnet._io.lock_folder`) refuses a second run on the same folder while
    this one lives, with a ValueError naming the run that holds it.
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
    if lock:
        try:
            lock_folder(path)
        except FolderInUseError as e:
            raise FolderInUseError(f"{flag} {e}") from None
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
        return parse_example_args(p, argv, name)
    return parse


def parse_example_args(p, argv, name, check=None):
    """Parse an example's flags, apply ``--quick`` and check ``--out`` before any work.

    ``--quick`` is a smoke run: 400 images (or ``--limit``), one epoch unless ``--steps`` was
    given other than its default, two K-means restarts. Its results go to
    ``out/<name>-quick``, so they never overwrite the full run's in ``out/<name>``.

    ``check(args)`` returns the message of the first setting that cannot work, or None: it
    runs here, before any data is loaded, so that a bad setting never costs a run (the message
    is a usage error, exit status 2)."""
    args = p.parse_args(argv)
    problem = check(args) if check is not None else None
    if problem:
        p.error(problem)
    if args.quick:
        args.limit, args.epochs = args.limit or 400, min(args.epochs, 1)
        if getattr(args, "steps", None) == p.get_default("steps"):
            args.steps = None
        if hasattr(args, "n_init"):
            args.n_init = 2
    try:
        args.out = writable_folder(args.out or f"out/{name}" + ("-quick" * args.quick))
    except ValueError as e:
        p.error(str(e))
    return args


def fit_length(args):
    """``{"steps": args.steps}`` when ``--steps`` was given, else ``{"epochs": args.epochs}``:
    the keyword that sizes ``Autoencoder.fit``."""
    steps = getattr(args, "steps", None)
    return {"steps": steps} if steps is not None else {"epochs": args.epochs}


# ---- the loop over seeds and its table -----------------------------------------------------

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


def run_seeds(run, args, columns, title, answer=None):
    """Run ``run(args, seed, out)`` for each seed, print the table, write ``metrics.json``.

    ``run`` returns ``(results, draw, extras)``: ``{stage: scores}``; for the first seed
    (which alone gets ``out``) a function ``draw(figures)`` that draws the run's figures into
    a :class:`Figures`, else None; and a dict of anything else worth keeping per seed (listed
    under its key in ``metrics.json``).

    ``answer`` names the stage that is the recipe's answer, fixed in advance: the table marks
    it with ``*``, each run holds it under ``"final"`` (``{"stage": answer, **scores}``) and
    ``metrics.json`` gets a top-level ``"final"``: its mean scores and worst-seed ACC.

    ``metrics.json`` is written after every seed, *before* its figures are drawn, then again
    with ``figures`` (the paths drawn) and ``figure_errors`` (the figures that failed): a
    figure that fails is a warning, never a lost result. A seed that stops with an error (a
    stage that diverged, Ctrl-C) keeps the stages it finished when ``run`` attached them to
    the exception as ``partial_results`` (:func:`keep_partial_results`): they are written
    with the error under ``"stopped"`` before the exception goes on.
    """
    runs, extras, seed_seconds, figures = [], {}, [], Figures(args.out)
    start = time.perf_counter()

    def save():
        final = {}
        finals = [r["final"] for r in runs if "final" in r]
        if answer is not None and finals:
            final = {"final": {"stage": answer,
                               **{k: float(np.mean([f[k] for f in finals])) for k in columns},
                               "worst_acc": float(min(f["acc"] for f in finals))}}
        write_json(args.out / "metrics.json",
                   {"args": vars(args), "runs": runs, **extras, **final,
                    "seed_seconds": seed_seconds, "wall_seconds": time.perf_counter() - start,
                    **figures.record()})

    for s in range(args.seed, args.seed + args.seeds):
        try:
            with timer() as t:
                results, draw, extra = run(args, s, args.out if s == args.seed else None)
        except BaseException as e:
            partial = getattr(e, "partial_results", None)
            if partial:
                runs.append(dict(partial))
                extras.setdefault("stopped", []).append(
                    {"seed": s, "error": f"{type(e).__name__}: {e}",
                     "finished": list(partial)})
                save()
                print(f"seed {s} stopped ({type(e).__name__}) after {', '.join(partial)}; "
                      f"those scores are in {args.out / 'metrics.json'}", file=sys.stderr)
            raise
        if answer is not None:
            results["final"] = dict(stage=answer, **results[answer])
        runs.append(results)
        seed_seconds.append(t.seconds)
        print(f"seed {s}: {t.seconds:.1f} s end to end", flush=True)
        for key, value in (extra or {}).items():
            extras.setdefault(key, []).append(value)
        save()  # the seeds done so far are on disk before the next one starts
        if draw is not None:
            draw(figures)
            save()
    print()
    print(results_table(runs, columns, title=f"{title}, {args.seeds} seed(s)"
                        + (" (* the recipe's answer)" if answer else ""), mark=answer))
    print(f"\nwall time {time.perf_counter() - start:.1f} s; figures and metrics.json in "
          f"{args.out}/")
    save()
    from .report import report_or_warn
    report_or_warn(args.out)
    return runs


@contextmanager
def keep_partial_results(results):
    """Attach ``results`` (the stages finished so far, filled as they finish) to any exception
    that leaves the block, as ``partial_results``, for :func:`run_seeds` to write."""
    try:
        yield results
    except BaseException as e:
        e.partial_results = dict(results)
        raise


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


def results_table(runs, columns, title=None, mark=None):
    """The table of one run (``runs[0]``), or of mean ± std over several seeds; the stage
    ``mark`` gets a ``*``, the runs' ``"final"`` entry (a copy of it) is left out."""
    results = aggregate(runs) if len(runs) > 1 else runs[0]
    return format_table([dict(stage=k + (" *" if k == mark else ""), **v)
                         for k, v in results.items() if k != "final"], columns, title=title)


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


# ---- figures that never cost the results --------------------------------------------------


# the figures' scaffolding lives in scratchnet/figures.py; imported here for the scripts
from .figures import Figures, autoencoder_figures, write_metrics_and_figures  # noqa: E402,F401
