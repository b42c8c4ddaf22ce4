r"""UMAP: Uniform Manifold Approximation and Projection, written from scratch.

UMAP (McInnes, Healy & Melville 2018, arXiv:1802.03426) turns the data into a weighted graph of
neighbours, then looks for low-dimensional points whose own neighbour graph matches it:

1. **k nearest neighbours**, exactly, by blocked matrix products (``_knn.py``);
2. **a fuzzy graph**: per-point scales :math:`\rho_i, \sigma_i` so that every point has
   :math:`\sum_j e^{-(d_{ij} - \rho_i)/\sigma_i} = \log_2 k`, edge weights
   :math:`w_{ij} = e^{-(d_{ij} - \rho_i)/\sigma_i}`, and the union :math:`W = A + A^T - A\circ
   A^T` (``_graph.py``);
3. **a spectral start**: the normalised Laplacian's first non-trivial eigenvectors, by Lanczos
   (``_graph.py``);
4. **SGD on the cross-entropy** between W and the embedding's :math:`q(d) = 1/(1 + a d^{2b})`,
   with negative sampling (``_layout.py``).

N2D (McConville et al., ICPR 2020) runs it on an autoencoder's codes, with ``min_dist=0`` and
``n_components`` about the number of clusters, and clusters the result: the points of a class
pack tightly, so a Gaussian mixture or K-means separates them far better than in the codes.

Differences from umap-learn, on purpose: the neighbours are exact (umap-learn's NN-descent is
approximate); only the Euclidean metric; the layout runs on every core and a seed still gives
one embedding, whatever the thread count (umap-learn runs on one thread once ``random_state``
is set; ``_layout.py`` explains how the blocks of points avoid each other); new points
in :meth:`UMAP.transform` get the same local connectivity as training points.
"""
import numpy as np
from tqdm.auto import tqdm

from ..base import BaseEstimator
from .._utils import as_rng, physical_memory
from ._graph import fuzzy_union, membership_strengths, smooth_knn_dist, spectral_layout
from ._knn import exact_knn
from ._layout import find_ab_params, optimize_layout


class UMAP(BaseEstimator):
    r"""Non-linear embedding that keeps each point's neighbours close (scikit-learn style).

    Parameters
    ----------
    n_components : int
        Dimension of the embedding (2 to draw it; about the number of clusters to cluster it).
    n_neighbors : int
        k: the size of the neighbourhood each point sees, itself included (umap-learn's
        convention). Small k keeps local detail, large k the global shape.
    min_dist : float
        How tightly points may pack in the embedding (0: as tight as they like; best for
        clustering).
    spread : float
        The scale of the embedding's distances (with ``min_dist``, it fixes a and b).
    n_epochs : int or None
        SGD epochs: None gives 500 for up to 10,000 points, 200 above.
    learning_rate : float
        The initial SGD step, decaying linearly to 0.
    negative_sample_rate : int
        Random points pushed away per sampled edge.
    init : {"spectral", "random"} or ndarray (n_samples, n_components)
        The starting layout; "spectral" falls back to "random" on a graph too small for it.
    random_state : None or int
        Seeds the start and the sampling: the same seed gives the same embedding.
    verbose : bool
        A progress bar over the SGD epochs.

    Attributes
    ----------
    embedding_ : ndarray (n_samples, n_components) float32
    knn_indices_, knn_dists_ : ndarray (n_samples, n_neighbors)
        Each point's neighbours, itself first (distance 0), nearest first.
    sigmas_, rhos_ : ndarray (n_samples,)
        The local scales.
    graph_ : CSRGraph
        The symmetric fuzzy graph W (``indptr``, ``indices``, ``data``, ``shape``), before the
        weakest edges (below max/n_epochs, never sampled) are dropped for the layout.
    a_, b_ : float
        The fitted curve :math:`q(d) = 1/(1 + a d^{2b})`.
    n_epochs_ : int

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = np.concatenate([rng.normal(0, 1, (50, 5)), rng.normal(20, 1, (50, 5))])
    >>> Y = UMAP(n_components=2, n_neighbors=10, random_state=0).fit_transform(X)
    >>> Y.shape
    (100, 2)
    """

    _fitted_attr = "embedding_"
    _preserves_dtype = ("float32",)  # the layout is always float32, as in umap-learn

    def __init__(self, n_components=2, n_neighbors=15, min_dist=0.1, spread=1.0, n_epochs=None,
                 learning_rate=1.0, negative_sample_rate=5, init="spectral", random_state=None,
                 verbose=False):
        self.n_components = n_components
        self.n_neighbors = n_neighbors
        self.min_dist = min_dist
        self.spread = spread
        self.n_epochs = n_epochs
        self.learning_rate = learning_rate
        self.negative_sample_rate = negative_sample_rate
        self.init = init
        self.random_state = random_state
        self.verbose = verbose

    # -- parameters ---------------------------------------------------------------------------
    def _check_params(self, n):
        def positive_int(name, low=1):
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < low:
                raise ValueError(f"UMAP: {name} must be an int >= {low}, got {v!r}")
        positive_int("n_components")
        positive_int("n_neighbors", 2)
        # at least 1: without negative samples nothing pushes points apart, and every
        # neighbourhood collapses onto a point
        positive_int("negative_sample_rate", 1)
        if self.n_epochs is not None:
            positive_int("n_epochs")
        if not self.spread > 0 or not 0 <= self.min_dist <= self.spread:
            raise ValueError(f"UMAP: expected 0 <= min_dist <= spread and spread > 0, got "
                             f"min_dist={self.min_dist!r}, spread={self.spread!r}")
        if not 0 < self.learning_rate < np.inf:
            raise ValueError(f"UMAP: learning_rate must be a finite number > 0, got "
                             f"{self.learning_rate!r}")
        # The busiest SGD epoch draws negative_sample_rate vertices (int64) for each of up to
        # 2 n k edges of the graph: refuse a rate whose draw cannot fit in memory.
        need = 2 * n * min(self.n_neighbors, n) * self.negative_sample_rate * 8
        have = physical_memory()
        if have and need > have // 2:
            raise ValueError(f"UMAP: negative_sample_rate={self.negative_sample_rate} would "
                             f"draw up to {need / 1e9:.1f} GB of negative samples per epoch for "
                             f"{n} points, more than half of this machine's "
                             f"{have / 1e9:.1f} GB; expected a rate of about 5 (umap-learn's)")
        if n < 2:
            raise ValueError(f"UMAP.fit: expected at least 2 samples, got n_samples = {n}")
        if isinstance(self.init, str) and self.init not in ("spectral", "random"):
            raise ValueError(f"UMAP: init must be 'spectral', 'random' or an array, "
                             f"got {self.init!r}")
        if not isinstance(self.init, str):
            init = np.asarray(self.init)
            if init.shape != (n, self.n_components):
                raise ValueError(f"UMAP: expected init of shape {(n, self.n_components)}, got "
                                 f"{init.shape}")
            if not np.isfinite(init).all():
                raise ValueError("UMAP: init contains NaN or infinity")

    # -- fitting ------------------------------------------------------------------------------
    def fit(self, X, y=None):
        """Build the fuzzy graph of X (n_samples, n_features) and lay it out; returns self."""
        X = self._validate_X(X, "UMAP.fit", reset=True)
        n = X.shape[0]
        self._check_params(n)
        k = min(self.n_neighbors, n)
        rng = as_rng(self.random_state)
        self.n_epochs_ = self.n_epochs or (500 if n <= 10_000 else 200)
        self.a_, self.b_ = find_ab_params(self.spread, self.min_dist)

        self.knn_indices_, self.knn_dists_ = exact_knn(X, X, k)
        self._put_self_first()
        self.sigmas_, self.rhos_ = smooth_knn_dist(self.knn_dists_, k, skip_first=True)
        rows, cols, vals = membership_strengths(self.knn_indices_, self.knn_dists_, self.sigmas_,
                                                self.rhos_, skip_self=True)
        self.graph_ = fuzzy_union(rows, cols, vals, n)

        embedding = self._initial_layout(n, rng)
        heads, tails, weights = self._edges_for_layout(self.graph_, self.n_epochs_)
        self._sgd(embedding, embedding, heads, tails, weights, self.n_epochs_, rng,
                  self.learning_rate, move_tail=True, desc="UMAP layout")
        self.embedding_ = embedding
        self._X = X
        return self

    def fit_transform(self, X, y=None):
        """``fit(X).embedding_``."""
        return self.fit(X).embedding_

    def _put_self_first(self):
        """Column 0 must be the point itself; with duplicates a twin may have won the tie."""
        idx, dist = self.knn_indices_, self.knn_dists_
        n = len(idx)
        own = idx == np.arange(n)[:, None]
        missing = ~own.any(axis=1)
        if missing.any():  # a duplicate pushed the point out: it takes the last slot
            idx[missing, -1] = np.flatnonzero(missing)
            dist[missing, -1] = 0.0
            own = idx == np.arange(n)[:, None]
        pos = own.argmax(axis=1)
        rows = np.flatnonzero(pos > 0)
        for r in rows:  # rare: only rows with exact duplicates get here
            p = pos[r]
            idx[r, 1: p + 1], idx[r, 0] = idx[r, :p].copy(), r
            dist[r, 1: p + 1], dist[r, 0] = dist[r, :p].copy(), 0.0

    def _initial_layout(self, n, rng):
        """Spectral (or random) start, scaled as umap-learn does to a box of side 10."""
        if not isinstance(self.init, str):
            init = np.asarray(self.init, np.float64)
        else:
            init = None
            if self.init == "spectral":
                init = spectral_layout(self.graph_, self.n_components, rng)
                if init is not None:
                    init = init * (10.0 / np.abs(init).max())
                    init += rng.normal(0, 1e-4, init.shape)
            if init is None:
                init = rng.uniform(-10, 10, (n, self.n_components))
        lo, hi = init.min(axis=0), init.max(axis=0)
        span = np.where(hi > lo, hi - lo, 1.0)
        return np.ascontiguousarray(10.0 * (init - lo) / span, dtype=np.float32)

    @staticmethod
    def _edges_for_layout(graph, n_epochs):
        """Edges as (head, tail, weight), without those too weak to be sampled even once."""
        keep = graph.data >= graph.data.max() / n_epochs
        return graph.rows[keep], graph.indices[keep], graph.data[keep]

    def _sgd(self, head, tail, heads, tails, weights, n_epochs, rng, learning_rate, move_tail,
             desc):
        with tqdm(total=n_epochs, desc=desc, disable=not self.verbose) as bar:
            optimize_layout(head, tail, heads, tails, weights, n_epochs, self.a_, self.b_,
                            rng, learning_rate=learning_rate,
                            negative_sample_rate=self.negative_sample_rate,
                            move_tail=move_tail, progress=lambda e: bar.update())

    # -- new points ---------------------------------------------------------------------------
    def transform(self, X):
        r"""Embed new points next to the fitted ones, which stay where they are.

        Each new point gets its k nearest *training* points and memberships as in ``fit``;
        it starts at their membership-weighted mean embedding and is moved by SGD (a third of
        the epochs, a quarter of the rate, as umap-learn does) with the training embedding
        fixed.
        """
        X = self._validate_X(X, "UMAP.transform", reset=False)
        k = min(self.n_neighbors, len(self._X))
        idx, dist = exact_knn(X, self._X, k)
        sigmas, rhos = smooth_knn_dist(dist, k, skip_first=False)
        rows, cols, vals = membership_strengths(idx, dist, sigmas, rhos, skip_self=False)
        w = vals.reshape(len(X), -1)
        start = (w[:, :, None] * self.embedding_[idx]).sum(axis=1) / w.sum(axis=1)[:, None]
        embedding = np.ascontiguousarray(start, dtype=np.float32)
        n_epochs = max(1, self.n_epochs_ // 3)
        keep = vals >= vals.max() / n_epochs
        rng = as_rng(self.random_state)
        tail = self.embedding_.copy()
        self._sgd(embedding, tail, rows[keep], cols[keep], vals[keep], n_epochs, rng,
                  self.learning_rate / 4, move_tail=False, desc="UMAP transform")
        return embedding

    def get_feature_names_out(self, input_features=None):
        """Names of the embedding's columns: ``umap0``, ``umap1``, ... (scikit-learn's style)."""
        return self._feature_names_out("umap", self.n_components, input_features)
