r"""Figures people would rather look at than read: reconstructions, codes, clusters, losses.

Every function takes the data plus ``path=None`` and returns a :class:`~matplotlib.figure.Figure`;
given a ``path`` it also saves it (PNG unless the extension names another format), creating the
parent folders, through a temporary file in the same folder and :func:`os.replace`, so a reader
never sees half a PNG. Figures are built with ``Figure`` directly, not ``pyplot``: no window
opens, no backend is switched, nothing stays in pyplot's figure manager (no leak in loops).

Images are NCHW, ``(N, C, H, W)`` with ``C`` 1 (drawn with the ``"gray"`` colour map) or 3;
integer images are read as 0..255, floating images as 0..1 (values outside are clipped, which
happens with the output of a linear decoder).
"""

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ._plotting import _check_images, _labels_1d, _save, _show
from .decomposition import PCA

_CELL = 1.1          # inches per image cell
_MAX_LEGEND = 20     # more distinct labels than this get a colour bar instead of a legend


def reconstructions(originals, reconstructed, n=10, path=None):
    r"""Two rows of images: the first ``n`` originals above their reconstructions.

    Parameters
    ----------
    originals, reconstructed : ndarray, shape (N, C, H, W), C in {1, 3}
        Same shape; uint8 in [0, 255] or float in [0, 1].
    n : int, default 10
        Number of columns (clipped to N).
    path : str or PathLike, optional

    Returns
    -------
    matplotlib.figure.Figure
        With ``2 * min(n, N)`` axes.
    """
    a = _check_images(originals, "reconstructions", "originals")
    b = _check_images(reconstructed, "reconstructions", "reconstructed")
    if a.shape != b.shape:
        raise ValueError(f"reconstructions: expected reconstructed of the originals' shape "
                         f"{np.shape(originals)}, got {np.shape(reconstructed)}")
    n = min(int(n), a.shape[0])
    if n < 1:
        raise ValueError(f"reconstructions: expected n >= 1 and at least one image, got n={n}")
    fig = Figure(figsize=(_CELL * n, _CELL * 2 + 0.3), layout="constrained")
    axes = fig.subplots(2, n, squeeze=False)
    for j in range(n):
        _show(axes[0, j], a[j])
        _show(axes[1, j], b[j])
    axes[0, 0].set_ylabel("original")
    axes[1, 0].set_ylabel("reconstructed")
    return _save(fig, path)


def image_grid(images, ncols=10, titles=None, path=None):
    r"""Images in a grid, row-major, ``ncols`` per row, each with an optional title.

    Parameters
    ----------
    images : ndarray, shape (N, C, H, W), C in {1, 3}
    ncols : int, default 10
    titles : sequence of str of length N, optional
    path : str or PathLike, optional

    Returns
    -------
    matplotlib.figure.Figure
        With N axes (the unused cells of the last row are removed).
    """
    return _grid(images, ncols, titles, path, "image_grid")


def decoded_centroids(images, path=None):
    r"""Cluster centres decoded back to images, titled "cluster j" (an :func:`image_grid`).

    ``images`` (K, C, H, W) is typically ``autoencoder.decode(kmeans.cluster_centers_)``: what
    the "average" member of each cluster looks like through the decoder.
    """
    k = _check_images(images, "decoded_centroids").shape[0]
    return _grid(images, 10, [f"cluster {j}" for j in range(k)], path, "decoded_centroids")


def _grid(images, ncols, titles, path, func):
    """image_grid's body; ``func`` names the public caller in error messages."""
    imgs = _check_images(images, func)
    n = imgs.shape[0]
    if n < 1:
        raise ValueError(f"{func}: expected at least one image, got 0")
    if titles is not None and len(titles) != n:
        raise ValueError(f"{func}: expected {n} titles (one per image), got {len(titles)}")
    ncols = max(1, min(int(ncols), n))
    nrows = -(-n // ncols)
    extra = 0.25 if titles is not None else 0.0
    fig = Figure(figsize=(_CELL * ncols, (_CELL + extra) * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for i, ax in enumerate(axes):
        if i >= n:
            fig.delaxes(ax)
            continue
        _show(ax, imgs[i])
        if titles is not None:
            ax.set_title(str(titles[i]), fontsize=9)
    return _save(fig, path)


def cluster_contact_sheet(images, labels, n_per_cluster=10, path=None, random_state=0):
    r"""One row per cluster with up to ``n_per_cluster`` of its images, chosen at random.

    Parameters
    ----------
    images : ndarray, shape (N, C, H, W), C in {1, 3}
    labels : ndarray of int, shape (N,)
        Cluster of each image; rows follow ``np.unique(labels)``.
    n_per_cluster : int, default 10
    path : str or PathLike, optional
    random_state : None, int or numpy.random.Generator, default 0
        Seeds the choice of images (without replacement, shown in index order).

    Returns
    -------
    matplotlib.figure.Figure
        With one axis per image shown; the first of each row is labelled
        "cluster j (n = size)".
    """
    imgs = _check_images(images, "cluster_contact_sheet")
    labels = _labels_1d(labels, imgs.shape[0], "cluster_contact_sheet")
    if imgs.shape[0] < 1 or int(n_per_cluster) < 1:
        raise ValueError(f"cluster_contact_sheet: expected at least one image and "
                         f"n_per_cluster >= 1, got {imgs.shape[0]} and {n_per_cluster}")
    rng = (random_state if isinstance(random_state, np.random.Generator)
           else np.random.default_rng(random_state))
    clusters = np.unique(labels)
    ncols = int(n_per_cluster)
    fig = Figure(figsize=(_CELL * ncols + 0.6, _CELL * len(clusters)), layout="constrained")
    axes = fig.subplots(len(clusters), ncols, squeeze=False)
    for r, c in enumerate(clusters):
        members = np.flatnonzero(labels == c)
        chosen = np.sort(rng.choice(members, size=min(ncols, members.size), replace=False))
        for j in range(ncols):
            if j < chosen.size:
                _show(axes[r, j], imgs[chosen[j]])
            else:
                fig.delaxes(axes[r, j])
        axes[r, 0].set_ylabel(f"cluster {c}\n(n = {members.size})", fontsize=9)
    return _save(fig, path)


def scatter_codes(codes, labels=None, centers=None, path=None, title="Codes"):
    r"""Scatter plot of codes coloured by cluster or class, centroids marked with a black X.

    Parameters
    ----------
    codes : ndarray, shape (N, D), D >= 2
        D = 2: plotted as is; D = 3: a 3-D scatter; D > 3: projected on the first two principal
        components (:class:`scratchnet.decomposition.PCA` fitted on ``codes``; the axis labels
        give each component's share of the variance).
    labels : ndarray, shape (N,), optional
        Cluster or class of each code; up to 20 distinct values get discrete colours and a
        legend, more get a continuous colour map and a colour bar.
    centers : ndarray, shape (K, D), optional
        Cluster centres, projected with the same PCA when D > 3.
    path : str or PathLike, optional
    title : str, default "Codes"

    Returns
    -------
    matplotlib.figure.Figure
        One axis (a 3-D one when D = 3), plus one for the colour bar when there is one.
    """
    codes = np.asarray(codes)
    if codes.ndim != 2 or codes.shape[1] < 2 or codes.dtype.kind not in "fiu":
        raise ValueError(f"scatter_codes: expected numeric codes (N, D) with D >= 2, "
                         f"got shape {codes.shape} and dtype {codes.dtype}")
    n, d = codes.shape
    if labels is not None:
        labels = _labels_1d(labels, n, "scatter_codes")
    if centers is not None:
        centers = np.asarray(centers)
        if centers.ndim != 2 or centers.shape[1] != d:
            raise ValueError(f"scatter_codes: expected centers (K, {d}) like the codes, "
                             f"got {centers.shape}")
    axis_names = [f"z{i + 1}" for i in range(d)]
    if d > 3:
        pca = PCA(2).fit(codes)
        codes = pca.transform(codes)
        centers = pca.transform(centers) if centers is not None else None
        axis_names = [f"PC{i + 1} ({100 * r:.1f}% var.)"
                      for i, r in enumerate(pca.explained_variance_ratio_)]
        title = title if "PCA" in title else f"{title} (PCA of {d}-d codes)"
    dims = codes.shape[1]
    fig = Figure(figsize=(7, 6), layout="constrained")
    ax = fig.add_subplot(projection="3d" if dims == 3 else None)
    cols = [codes[:, i] for i in range(dims)]
    size = 12 if n <= 2000 else 3
    if labels is None:
        ax.scatter(*cols, s=size, alpha=0.6, color="tab:blue", linewidths=0)
    else:
        values, index = np.unique(labels, return_inverse=True)
        if values.size <= _MAX_LEGEND:
            cmap = matplotlib.colormaps["tab10" if values.size <= 10 else "tab20"]
            for j, v in enumerate(values):
                m = index == j
                ax.scatter(*[c[m] for c in cols], s=size, alpha=0.6, color=cmap(j),
                           linewidths=0, label=str(v))
        else:
            colour = labels if labels.dtype.kind in "iuf" else index
            sc = ax.scatter(*cols, c=colour, s=size, alpha=0.6, cmap="viridis", linewidths=0)
            fig.colorbar(sc, ax=ax, label="label")
    if centers is not None:
        extra = {"depthshade": False} if dims == 3 else {"zorder": 3}
        ax.scatter(*[centers[:, i] for i in range(dims)], marker="X", s=160, c="black",
                   edgecolors="white", linewidths=1.0, label="centroids", **extra)
    if ax.get_legend_handles_labels()[0]:
        legend = ax.legend(loc="best", fontsize=8, framealpha=0.8)
        for handle in legend.legend_handles:  # readable swatches even when points are tiny
            handle.set_sizes([60 if handle.get_label() == "centroids" else 30])
            handle.set_alpha(1.0)
    ax.set_xlabel(axis_names[0])
    ax.set_ylabel(axis_names[1])
    if dims == 3:
        ax.set_zlabel(axis_names[2])
    ax.set_title(title)
    return _save(fig, path)


def _matched_order(counts):
    r"""Column order putting each cluster under the class the Hungarian matching gives it.

    ``counts`` (n_classes, n_clusters) is the contingency table. Returns the permutation of
    the columns (matched clusters in the order of their classes, then the unmatched ones) and
    the number of samples on the matched pairs.
    """
    from scratchnet.metrics import linear_sum_assignment
    # Maximise the matched counts = minimise a non-negative float cost (safe for any solver).
    rows, cols = linear_sum_assignment((counts.max() - counts).astype(np.float64))
    rows, cols = np.asarray(rows), np.asarray(cols)
    matched = cols[np.argsort(rows)]
    rest = np.setdiff1d(np.arange(counts.shape[1]), matched)
    return np.concatenate([matched, rest]).astype(int), int(counts[rows, cols].sum())


def confusion_matrix(y_true, y_pred, path=None, class_names=None):
    r"""Heatmap of classes x clusters, clusters reordered by the Hungarian matching.

    Parameters
    ----------
    y_true : array of int, shape (N,)
        True classes (rows, in the order of ``np.unique(y_true)``).
    y_pred : array of int, shape (N,)
        Cluster assignments (columns, labelled by cluster id).
    path : str or PathLike, optional
    class_names : sequence of str, optional
        One name per distinct value of ``y_true``, or, for integer classes, a dataset's names
        indexed by class id (``class_names[c]`` names class c), which also serves data that
        holds only some of the classes.

    Returns
    -------
    matplotlib.figure.Figure
        Two axes: the heatmap and its colour bar.

    Notes
    -----
    With the contingency table :math:`M_{ij} = |\{n : y_n = i, \hat y_n = j\}|`, the
    matching is the one-to-one map :math:`\pi` from clusters to classes maximising
    :math:`\sum_j M_{\pi(j) j}` (Kuhn 1955; Munkres 1957), computed with
    :func:`scratchnet.metrics.linear_sum_assignment`. The columns are permuted so the matched
    pairs lie on the diagonal (unmatched clusters, if K exceeds the number of classes, come
    last), and the title gives the matched accuracy
    :math:`\mathrm{ACC} = \frac1N \max_\pi \sum_j M_{\pi(j) j}`.
    """
    y_true = np.asarray(y_true)
    if y_true.ndim != 1 or y_true.size == 0:
        raise ValueError(f"confusion_matrix: expected y_true of shape (N,) with N >= 1, "
                         f"got {y_true.shape}")
    y_pred = _labels_1d(y_pred, y_true.size, "confusion_matrix", "y_pred")
    classes, ti = np.unique(y_true, return_inverse=True)
    clusters, pi = np.unique(y_pred, return_inverse=True)
    if class_names is not None and len(class_names) != classes.size:
        # a dataset's names, indexed by class id, for data that holds only some classes
        if classes.dtype.kind in "iu" and classes.min() >= 0 \
                and classes.max() < len(class_names):
            class_names = [class_names[c] for c in classes]
        else:
            raise ValueError(f"confusion_matrix: expected {classes.size} class_names (one per "
                             f"class in y_true), or one per class id 0..{classes.max()} for "
                             f"integer classes, got {len(class_names)}")
    counts = np.zeros((classes.size, clusters.size), dtype=np.int64)
    np.add.at(counts, (ti, pi), 1)
    order, n_matched = _matched_order(counts)
    counts = counts[:, order]
    k, m = counts.shape
    fig = Figure(figsize=(1.0 + 0.55 * m + 1.5, 1.0 + 0.5 * k + 0.5), layout="constrained")
    ax = fig.add_subplot()
    im = ax.imshow(counts, cmap="Blues", aspect="auto", interpolation="nearest")
    fig.colorbar(im, ax=ax, label="count")
    if k * m <= 900:  # annotate up to 30 x 30; beyond that the numbers would not be legible
        threshold = counts.max() / 2
        for i in range(k):
            for j in range(m):
                ax.text(j, i, str(counts[i, j]), ha="center", va="center", fontsize=8,
                        color="white" if counts[i, j] > threshold else "black")
    ax.set_xticks(np.arange(m), [str(c) for c in clusters[order]])
    ax.set_yticks(np.arange(k), [str(c) for c in (classes if class_names is None
                                                   else class_names)])
    ax.set_xlabel("cluster (Hungarian-matched order)")
    ax.set_ylabel("true class")
    ax.set_title(f"matched accuracy = {n_matched / y_true.size:.3f}  (N = {y_true.size})")
    return _save(fig, path)


def loss_curves(history, path=None, title="Training", xlabel="epoch", ylabel=None):
    r"""Plot every series of a training history against the epoch (1, 2, ...).

    Parameters
    ----------
    history : mapping of str to sequence of float, or an object with a ``history`` mapping
        Like Keras's ``History.history``: ``{"loss": [...], "val_loss": [...], ...}``. Series
        may differ in length; each is drawn from epoch 1; empty ones are skipped.
    path : str or PathLike, optional
    title : str, default "Training"
    xlabel : str, default "epoch"
        What one point is: an epoch for an autoencoder, a refresh of the target distribution
        for DEC's history (whose points are far apart in optimizer steps).
    ylabel : str, optional
        Default: ``"loss"`` when every series is a loss (its name ends in ``loss``), else the
        series' names, since an axis labelled "value" tells the reader nothing. A caller that
        knows which loss it is says so (``"binary cross-entropy"``).

    Returns
    -------
    matplotlib.figure.Figure
        One axis, one line per non-empty series.
    """
    history = getattr(history, "history", history)
    if not hasattr(history, "items") or len(history) == 0:
        raise ValueError(f"loss_curves: expected a non-empty dict of name -> values per "
                         f"epoch, got {history!r}")
    series = {}
    for name, values in history.items():
        values = np.asarray(values, dtype=float)
        if values.ndim != 1:
            raise ValueError(f"loss_curves: expected series {name!r} to be a 1-D sequence, "
                             f"got shape {values.shape}")
        if values.size:  # an empty "val_loss" (no validation data) is simply not drawn
            series[str(name)] = values
    if not series:
        raise ValueError(f"loss_curves: every series is empty, got {dict(history)!r}")
    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.add_subplot()
    # "val_loss" is drawn dashed in the colour of "loss", as the pair people compare.
    bases = list(dict.fromkeys(name.removeprefix("val_") for name in series))
    for name, values in series.items():
        colour = f"C{bases.index(name.removeprefix('val_')) % 10}"
        ax.plot(np.arange(1, values.size + 1), values, color=colour, label=name,
                marker="o" if values.size <= 30 else None, markersize=3,
                linestyle="--" if name.startswith("val_") else "-")
    if ylabel is None:
        names = [n for n in series if not n.startswith("val_")] or list(series)
        ylabel = "loss" if all(n.endswith("loss") for n in series) else ", ".join(names)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend()
    # Epochs (refreshes) are whole numbers; the margin keeps a 1-epoch run from getting ticks
    # like 0.98.
    ax.set_xlim(0.5, max(v.size for v in series.values()) + 0.5)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    return _save(fig, path)
