r"""``report.html``: one self-contained page per run, to look at instead of opening files.

A run ends with a ``metrics.json`` and a folder of PNG files. This module turns them into one
HTML page, in the run's order: what ran (the settings, the seeds, the machine), the scores of
every stage (the recipe's answer marked), the training curves, **one row per cluster** (its
size, a strip of member images, its decoded centroid, the majority class and the purity), the
confusion matrix and the 2-D layout, the other figures, and the figures that failed with
their reason.

Two rules make it trustworthy and portable:

* **Only what is on disk.** The page is drawn from ``metrics.json`` and the figure files the
  run recorded there, never from the state of a live process, so ``scratchnet report OUT``
  (run folders made before this module, or finished by ``--resume``) and the end of a run are
  one code path (:func:`write_report`). What the per-cluster rows need is drawn during the
  run by :func:`cluster_gallery`, as figures, and listed in ``metrics.json`` under
  ``"clusters"``.
* **One file, nothing fetched.** Images are embedded as PNG data URIs, the style sheet is
  inline, there is no script: the page opens offline, from an e-mail, with scripts off. Every
  piece of text that came from outside (class names, file and folder names, settings) is
  HTML-escaped, so a photo named ``<script>.png`` shows as text.

The page's size is bounded by the figures, not by the data: a strip holds at most
``per_cluster`` images, the layout and scatter figures are PNGs of a subsample, and at most
``MAX_CLUSTER_ROWS`` clusters get a row (the largest first).
"""
import base64
import html
import io
import json
import os
import platform
import sys
from pathlib import Path

import numpy as np

from ._io import atomic_write

__all__ = ["cluster_gallery", "write_report", "report_or_warn", "REPORT_NAME"]

REPORT_NAME = "report.html"
MAX_CLUSTER_ROWS = 60
# figure keys drawn in their own sections; any other recorded figure goes to "Other figures"
_CURVES = ("loss", "history", "dec_history", "ae_loss")
_VIEWS = ("confusion", "umap", "scatter", "centroids")
_SCORES = ("acc", "nmi", "ari", "purity", "silhouette", "dunn")


# ---- during a run: the per-cluster figures --------------------------------------------------

def cluster_gallery(figures, images, labels, codes=None, y=None, class_names=None,
                    decoded=None, per_cluster=10, random_state=0):
    r"""Draw, for each cluster, a strip of member images and its decoded centroid; return the
    rows ``metrics.json`` keeps under ``"clusters"``.

    Parameters
    ----------
    figures : scratchnet.experiment.Figures
        Each strip is its own figure (``strip_07.png``), so one that fails costs only itself.
    images : ndarray (N, C, H, W), floats in [0, 1] or uint8
    labels : ndarray (N,) int
    codes : ndarray (N, D), optional
        With codes, a strip starts with the members nearest their cluster's mean code (the
        most typical: half the strip), then members drawn at random from the rest, so that
        a strip shows both the core of a cluster and its spread.
    y, class_names : optional
        True classes (and their names, by class id): each row gets the majority class and
        the purity :math:`\max_c |\{i \in S_j : y_i = c\}| / |S_j|`.
    decoded : ndarray (K, C, H, W), optional
        The decoded centroid of each cluster id ``0..K-1``.

    Returns
    -------
    list of dict
        One per non-empty cluster, largest first: ``cluster``, ``size``, ``strip`` and
        ``centroid`` (file names in the run folder, or None), ``majority``, ``purity``.
    """
    images = np.asarray(images)
    labels = np.asarray(labels)
    rng = np.random.default_rng(random_state)
    ids, sizes = np.unique(labels, return_counts=True)
    rows = []
    for j, size in sorted(zip(ids.tolist(), sizes.tolist()), key=lambda t: -t[1]):
        members = np.flatnonzero(labels == j)
        if codes is not None:
            dist = ((codes[members] - codes[members].mean(axis=0)) ** 2).sum(axis=1)
            order = members[np.argsort(dist, kind="stable")]
            core = order[:per_cluster // 2]
            rest = order[per_cluster // 2:]
            extra = rng.choice(rest, min(len(rest), per_cluster - len(core)), replace=False)
            shown = np.concatenate([core, np.sort(extra)])
        else:
            shown = np.sort(rng.choice(members, min(size, per_cluster), replace=False))
        row = {"cluster": int(j), "size": int(size), "strip": None, "centroid": None,
               "majority": None, "purity": None}
        with figures.draw(f"strip_{j:02d}", f"strip_{j:02d}.png") as path:
            write_png(path, image_strip(images[shown]))
            row["strip"] = path.name
        if decoded is not None and 0 <= j < len(decoded):
            with figures.draw(f"centroid_{j:02d}", f"centroid_{j:02d}.png") as path:
                write_png(path, image_strip(decoded[j:j + 1]))
                row["centroid"] = path.name
        if y is not None:
            classes, counts = np.unique(np.asarray(y)[members], return_counts=True)
            top = classes[np.argmax(counts)]
            name = (class_names[int(top)] if class_names is not None
                    and np.issubdtype(classes.dtype, np.integer) and 0 <= top < len(class_names)
                    else str(top))
            row["majority"], row["purity"] = str(name), float(counts.max() / size)
        rows.append(row)
    return rows


def image_strip(images, height=56, gap=2):
    """Images (N, C, H, W) side by side as one uint8 RGB array, each scaled up by a whole
    factor (nearest neighbour: no blur) to at least ``height`` pixels, on a white background."""
    images = np.asarray(images)
    if images.dtype.kind == "f":
        images = np.clip(np.rint(images * 255.0), 0, 255)
    images = images.astype(np.uint8)
    if images.shape[1] == 1:
        images = np.repeat(images, 3, axis=1)
    n, _, h, w = images.shape
    f = max(1, -(-height // h))                   # a whole factor, at least height
    tiles = images.transpose(0, 2, 3, 1).repeat(f, axis=1).repeat(f, axis=2)
    out = np.full((h * f, n * (w * f + gap) - gap, 3), 255, np.uint8)
    for i, tile in enumerate(tiles):
        out[:, i * (w * f + gap):i * (w * f + gap) + w * f] = tile
    return out


def write_png(path, rgb):
    """An RGB uint8 array as a PNG file, written atomically."""
    import matplotlib.image
    buf = io.BytesIO()
    matplotlib.image.imsave(buf, rgb, format="png")
    atomic_write(path, lambda f: f.write(buf.getvalue()), fsync=False)


# ---- after a run: the page ------------------------------------------------------------------

def report_or_warn(out):
    """:func:`write_report`, where a failure is a warning: the run's results are already on
    disk, and a page that cannot be built must not turn a finished run into a failed one."""
    try:
        path = write_report(out)
    except Exception as e:  # noqa: BLE001 - whatever it is, the run's files stand
        print(f"warning: {REPORT_NAME} not written: {type(e).__name__}: {e}", file=sys.stderr)
        return None
    print(f"report: {path}")
    return path


def write_report(out):
    """Build ``out/report.html`` from ``out/metrics.json`` and the figures it records.

    Raises
    ------
    ValueError
        ``out`` holds no ``metrics.json``, or one that is not a run's (one line, naming it).
    """
    out = Path(out)
    path = out / "metrics.json"
    if not path.is_file():
        raise ValueError(f"{out}: expected a run's folder (with the metrics.json every run "
                         f"writes), found no {path.name}")
    try:
        metrics = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise ValueError(f"{path}: expected the JSON a run writes, got {e}") from None
    if not isinstance(metrics, dict) or not ({"runs", "scores", "history"} & set(metrics)):
        raise ValueError(f"{path}: expected a run's metrics (with 'runs', 'scores' or "
                         f"'history'), got something else")
    page = _page(out, metrics)
    atomic_write(out / REPORT_NAME, lambda f: f.write(page.encode("utf-8")), fsync=False)
    return out / REPORT_NAME


def _page(out, metrics):
    title = _title(metrics)
    figures = {k: v for k, v in (metrics.get("figures") or {}).items() if isinstance(v, str)}
    shown = set()
    parts = [f"<h1>{_e(title)}</h1>", _what_ran(metrics), _scores(metrics)]
    curves = [k for k in figures if k in _CURVES]
    if curves:
        parts.append("<section id='training'><h2>Training</h2>"
                     + "".join(_figure(out, figures[k], k) for k in curves) + "</section>")
        shown.update(curves)
    if metrics.get("clusters"):
        parts.append(_clusters(out, metrics["clusters"]))
        shown.update(k for k in figures if k.startswith(("strip_", "centroid_")))
    views = [k for k in figures if k in _VIEWS]
    if views:
        parts.append("<section id='views'><h2>Confusion matrix and layout</h2>"
                     + "".join(_figure(out, figures[k], k) for k in views) + "</section>")
        shown.update(views)
    rest = [k for k in figures if k not in shown and not k.startswith(("strip_", "centroid_"))]
    # whole contact sheets repeat the cluster rows at full length: folded, one click away
    sheets = [k for k in rest if k.startswith(("cluster_", "contact_sheet", "clusters"))]
    rest = [k for k in rest if k not in sheets]
    if rest:
        parts.append("<section id='other'><h2>Other figures</h2>"
                     + "".join(_figure(out, figures[k], k) for k in rest) + "</section>")
    if sheets:
        parts.append(f"<section id='sheets'><details><summary>Contact sheets of every cluster "
                     f"({len(sheets)})</summary>"
                     + "".join(_figure(out, figures[k], k) for k in sheets)
                     + "</details></section>")
    errors = metrics.get("figure_errors") or {}
    if errors:
        parts.append("<section id='failed'><h2>Figures not drawn</h2><ul>"
                     + "".join(f"<li><b>{_e(k)}</b>: {_e(v)}</li>" for k, v in errors.items())
                     + "</ul></section>")
    stopped = metrics.get("stopped")
    if stopped:
        parts.append("<section id='stopped'><h2>Stopped</h2><ul>" + "".join(
            f"<li>seed {_e(s.get('seed'))}: {_e(s.get('error'))}</li>" for s in stopped)
            + "</ul></section>")
    return (f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{_e(title)}</title><style>{_STYLE}</style></head><body>"
            + "\n".join(parts) + "</body></html>\n")


def _title(metrics):
    args = metrics.get("args") or metrics.get("settings") or metrics.get("config") or {}
    what = args.get("dataset") or metrics.get("dataset") or metrics.get("folder") or "a run"
    split = args.get("split") or metrics.get("split")
    return f"scratchnet report: {what}" + (f" ({split})" if split else "")


def _what_ran(metrics):
    rows = {}
    for key in ("args", "settings", "config"):
        if isinstance(metrics.get(key), dict):
            rows.update(metrics[key])
    for key in ("model", "dataset", "split", "folder", "n", "k", "seed", "n_iter", "epochs",
                "steps", "seconds", "wall_seconds", "seed_seconds", "seconds_this_run"):
        if key in metrics and not isinstance(metrics[key], dict):
            rows[key] = metrics[key]
    rows["report written on"] = f"{_cpu()}; scratchnet {_version()}; Python " \
                                f"{platform.python_version()}"
    body = "".join(f"<tr><th>{_e(k)}</th><td>{_e(_fmt(v))}</td></tr>" for k, v in rows.items()
                   if v is not None and k not in ("func", "quiet"))
    return f"<section id='what-ran'><h2>What ran</h2><table class='kv'>{body}</table></section>"


def _scores(metrics):
    runs = metrics.get("runs")
    if isinstance(runs, list) and runs:
        answer = (metrics.get("final") or {}).get("stage")
        stages = [s for s in runs[0] if s != "final" and isinstance(runs[0][s], dict)]
        cols = [c for c in _SCORES if any(c in r.get(s, {}) for r in runs for s in stages)]
        many = len(runs) > 1
        head = "<tr><th>stage</th>" + "".join(f"<th>{c.upper() if len(c) < 4 else c}</th>"
                                               for c in cols)
        head += ("<th>worst ACC</th>" if many and "acc" in cols else "") + "<th>seconds</th></tr>"
        body = ""
        for s in stages:
            cells = []
            for c in cols:
                v = [r[s][c] for r in runs if s in r and isinstance(r[s].get(c), (int, float))]
                cells.append(_mean_std(v, many))
            if many and "acc" in cols:
                v = [r[s]["acc"] for r in runs if s in r and "acc" in r[s]]
                cells.append(f"{min(v):.4f}" if v else "")
            sec = [r[s]["seconds"] for r in runs if s in r and "seconds" in r[s]]
            cells.append(f"{np.mean(sec):.1f}" if sec else "")
            mark = s == answer
            name = _e(s) + (" <span class='mark' title=\"the recipe's answer\">★ answer</span>"
                            if mark else "")
            body += (f"<tr class='{'answer' if mark else ''}'><td>{name}</td>"
                     + "".join(f"<td>{_e(c)}</td>" for c in cells) + "</tr>")
        note = (f"<p>{len(runs)} seeds: mean ± standard deviation, and the worst seed's ACC."
                f"</p>" if many else "")
        if answer:
            note += "<p>★ marks the recipe's answer, fixed before looking at any label.</p>"
        return (f"<section id='scores'><h2>Scores</h2><table class='scores'>{head}{body}"
                f"</table>{note}</section>")
    scores = metrics.get("scores")
    if isinstance(scores, dict) and scores:
        body = "".join(f"<tr><th>{_e(k)}</th><td>{_e(_fmt(v))}</td></tr>"
                       for k, v in scores.items())
        return (f"<section id='scores'><h2>Scores</h2><table class='kv'>{body}</table>"
                f"</section>")
    return "<section id='scores'><h2>Scores</h2><p>This run recorded no scores.</p></section>"


def _clusters(out, rows):
    shown = rows[:MAX_CLUSTER_ROWS]
    with_labels = any(r.get("purity") is not None for r in shown)
    head = ("<tr><th>cluster</th><th>size</th><th>members (most typical first)</th>"
            "<th>centroid</th>" + ("<th>majority class</th><th>purity</th>"
                                   if with_labels else "") + "</tr>")
    body = ""
    for r in shown:
        purity = r.get("purity")
        low = with_labels and purity is not None and purity < 0.5
        body += (f"<tr class='{'low' if low else ''}'><td>{_e(r.get('cluster'))}</td>"
                 f"<td>{_e(r.get('size'))}</td>"
                 f"<td>{_img(out, r.get('strip'), 'members of cluster ' + str(r.get('cluster')))}"
                 f"</td><td>{_img(out, r.get('centroid'), 'decoded centroid')}</td>")
        if with_labels:
            body += (f"<td>{_e(r.get('majority') or '')}</td>"
                     f"<td>{'' if purity is None else f'{purity:.2f}'}</td>")
        body += "</tr>"
    more = (f"<p>{len(rows) - len(shown)} smaller clusters not shown.</p>"
            if len(rows) > len(shown) else "")
    note = ("<p>Purity below 0.5 is highlighted: those clusters mix classes.</p>"
            if with_labels else "")
    return (f"<section id='clusters'><h2>Clusters</h2><table class='clusters'>{head}{body}"
            f"</table>{more}{note}</section>")


def _figure(out, name, key):
    return (f"<figure>{_img(out, name, key)}<figcaption>{_e(key)} "
            f"<span class='file'>({_e(Path(name).name)})</span></figcaption></figure>")


def _img(out, name, alt):
    """The PNG ``name`` (in ``out``, or a path recorded by the run) as an inline image."""
    if not name:
        return ""
    path = Path(name)
    if not path.is_absolute() and not path.is_file():
        path = out / path.name
    if not path.is_file():
        path = out / Path(name).name
    try:
        data = path.read_bytes()
    except OSError:
        return f"<span class='missing'>{_e(Path(name).name)} is missing</span>"
    return (f"<img alt='{_e(alt)}' src='data:image/png;base64,"
            f"{base64.b64encode(data).decode('ascii')}'>")


def _mean_std(values, many):
    if not values:
        return ""
    v = np.asarray(values, dtype=float)
    return f"{v.mean():.4f} ± {v.std():.4f}" if many else f"{v[0]:.4f}"


def _fmt(v):
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, list) and all(isinstance(x, (int, float)) for x in v):
        return ", ".join(_fmt(x) for x in v)
    return v if isinstance(v, str) else json.dumps(v)


def _e(v):
    return html.escape(str(v), quote=True)


def _cpu():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip() + f", {os.cpu_count()} cores"
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version():
    from . import __version__
    return __version__


_STYLE = """
body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0 auto;max-width:1100px;
padding:1.5em;color:#1d232a;background:#fff}
h1{font-size:1.5em;margin:0 0 .6em}h2{font-size:1.15em;margin:1.6em 0 .5em;
border-bottom:1px solid #d8dee4;padding-bottom:.2em}
table{border-collapse:collapse;margin:.3em 0}th,td{padding:.25em .7em;text-align:left;
vertical-align:middle;border-bottom:1px solid #eef1f4}
table.kv th{font-weight:600;color:#4a5560;white-space:nowrap}
table.scores td:not(:first-child),table.scores th:not(:first-child){text-align:right;
font-variant-numeric:tabular-nums}
tr.answer{background:#fff6d6;font-weight:600}.mark{color:#9a6b00;font-size:.85em;margin-left:.4em}
table.clusters img{image-rendering:pixelated;display:block}tr.low{background:#fdecec}
figure{display:inline-block;margin:.4em 1em .8em 0;vertical-align:top}
figure img{max-width:min(100%,640px);border:1px solid #eef1f4}
summary{cursor:pointer;font-weight:600;margin:1.2em 0 .5em}
figcaption{font-size:.85em;color:#4a5560}.file{color:#8a949e}.missing{color:#b00020}
"""
