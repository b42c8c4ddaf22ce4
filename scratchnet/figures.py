r"""Figures that never cost a run its results: each drawn on its own, ``metrics.json`` first.

:class:`Figures` draws each figure in its own ``with`` block and records what was drawn and
what failed; :func:`write_metrics_and_figures` writes ``metrics.json`` before the figures and
again after; :func:`autoencoder_figures` is the set of figures of an image autoencoder +
K-means run (the K-means examples and the command line share it).
"""
import sys
from contextlib import contextmanager
from pathlib import Path

from ._io import write_json
from .models.autoencoder import decoded_images, model_input

__all__ = ["Figures", "write_metrics_and_figures", "autoencoder_figures"]


class Figures:
    r"""A run's figures, each drawn so that one that fails costs only itself.

    Figures come last in a run, after hours of training perhaps; a plotting bug or an
    unexpected shape there must not lose the numbers. So every script writes ``metrics.json``
    first, then draws each figure in its own ``with`` block::

        figures = Figures(out)
        with figures.draw("loss", "loss_curves.png") as path:
            plot.loss_curves(ae.history_, path=path)

    Anything the block raises (the plot, or preparing its data) is caught: the rest of the
    block is skipped, one line goes to stderr (``warning: figure 'loss' (out/loss_curves.png)
    not drawn: ValueError: ...``) and the run goes on. ``record()`` is what ``metrics.json``
    is then rewritten with.

    Parameters
    ----------
    out : str or Path
        Folder of the figures.

    Attributes
    ----------
    paths : dict
        ``{key: path}`` of the figures drawn.
    errors : dict
        ``{key: "ExceptionType: message"}`` of the figures that failed.
    """

    def __init__(self, out):
        self.out = Path(out)
        self.paths, self.errors = {}, {}
        self.clusters = None     # the per-cluster rows of scratchnet.report.cluster_gallery

    @contextmanager
    def draw(self, key, filename):
        """``with figures.draw(key, filename) as path:`` draw to ``path`` (``out/filename``);
        recorded under ``key`` in ``paths``, or in ``errors`` if the block raised."""
        path = self.out / filename
        try:
            yield path
        except Exception as e:  # noqa: BLE001 - whatever a figure raises, the run goes on
            message = " ".join(f"{type(e).__name__}: {e}".split())   # one line
            self.errors[key] = message
            print(f"warning: figure {key!r} ({path}) not drawn: {message}", file=sys.stderr,
                  flush=True)
        else:
            self.paths[key] = str(path)

    @contextmanager
    def attempt(self, key):
        """Like :meth:`draw` for a block that draws several figures itself (or none): only a
        failure is recorded, under ``key``."""
        try:
            yield
        except Exception as e:  # noqa: BLE001 - whatever a figure raises, the run goes on
            message = " ".join(f"{type(e).__name__}: {e}".split())
            self.errors[key] = message
            print(f"warning: figures {key!r} not drawn: {message}", file=sys.stderr, flush=True)

    def record(self):
        """``{"figures": paths, "figure_errors": errors}`` (and ``"clusters"`` when a gallery
        was drawn), for ``metrics.json``."""
        record = {"figures": dict(self.paths), "figure_errors": dict(self.errors)}
        if self.clusters is not None:
            record["clusters"] = self.clusters
        return record


def write_metrics_and_figures(out, metrics, draw):
    """``metrics.json`` in ``out`` first, then ``draw(figures)`` into a :class:`Figures`, then
    ``metrics.json`` again with the figures drawn and the errors of those that failed.

    Returns the :class:`Figures`.
    """
    write_json(Path(out) / "metrics.json", metrics)
    figures = Figures(out)
    draw(figures)
    write_json(Path(out) / "metrics.json", {**metrics, **figures.record()})
    return figures


def autoencoder_figures(figures, ae, km, X, y, names=None, title="Autoencoder"):
    """Draw the figures of an image autoencoder + K-means run into ``figures``
    (a :class:`Figures`), each on its own so that one failing costs only itself.

    Reconstructions, the training loss, K-means centres decoded to images, the Hungarian-
    ordered confusion matrix, a contact sheet per cluster and a 2-D PCA scatter of the codes.
    ``X`` is the images (N, C, H, W) of any size; a dense autoencoder gets them flattened
    and its output is shaped back like them.
    """
    from . import plot
    sample = X[:10]
    with figures.draw("reconstructions", "reconstructions.png") as path:
        plot.reconstructions(sample, decoded_images(ae.reconstruct(model_input(ae, sample)),
                                                    X.shape[1:]), path=path)
    with figures.draw("loss", "loss_curves.png") as path:
        plot.loss_curves(ae.history_, path=path, title=title)
    with figures.draw("centroids", "decoded_centroids.png") as path:
        # A centroid is a mean of codes; decoding it shows the cluster's "typical" image.
        plot.decoded_centroids(decoded_images(ae.decode(km.cluster_centers_), X.shape[1:]),
                               path=path)
    with figures.draw("confusion", "confusion_matrix.png") as path:
        plot.confusion_matrix(y, km.labels_, path=path, class_names=names)
    with figures.draw("contact_sheet", "clusters_contact_sheet.png") as path:
        plot.cluster_contact_sheet(X, km.labels_, path=path)
    with figures.draw("scatter", "codes_pca.png") as path:
        n = min(len(X), 3000)
        plot.scatter_codes(ae.features(model_input(ae, X[:n])), km.labels_[:n],
                           centers=km.cluster_centers_, path=path,
                           title="Autoencoder codes (PCA), by cluster")
    with figures.attempt("gallery"):     # one row per cluster in report.html
        from .report import cluster_gallery
        figures.clusters = cluster_gallery(
            figures, X, km.labels_, codes=ae.features(model_input(ae, X)), y=y,
            class_names=names,
            decoded=decoded_images(ae.decode(km.cluster_centers_), X.shape[1:]))
