r"""K-means clustering (Lloyd's algorithm with k-means++ seeding).

The driver here is plain Python: seeding, the iteration loop, convergence, the best of several
runs. One iteration is a kernel from ``_lloyd.py`` (Numba, with its NumPy reference beside it).
"""
import warnings

import numpy as np
from threadpoolctl import threadpool_limits

from ..nn.base import as_rng
from ._lloyd import (_inertia, assign_labels, center_rows, column_sums, lloyd_iter_numba,
                     make_buffers)


def _check_X(X, who, n_features=None, check_finite=True):
    """Validate a 2-D finite float array; keep float32/float64, convert anything else to float64.

    ``check_finite=False`` leaves the NaN/inf check to the caller (``fit`` gets it for free from
    its column sums, see ``_raise_if_not_finite``)."""
    if not isinstance(X, np.ndarray):
        X = np.asarray(X)
    if X.dtype.kind not in "fiub":
        raise TypeError(f"{who}: expected a numeric array, got dtype {X.dtype}")
    if X.ndim != 2:
        raise ValueError(f"{who}: expected X of shape (n_samples, n_features), got {X.shape}")
    if X.dtype not in (np.float32, np.float64):
        X = X.astype(np.float64)
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"{who}: expected a non-empty X, got shape {X.shape}")
    if check_finite:
        _raise_if_not_finite(X, X.sum(), who)
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(f"{who}: expected {n_features} features (as in fit), got {X.shape[1]}")
    return np.ascontiguousarray(X)


def _raise_if_not_finite(X, total, who):
    """``total`` is a sum over all of X: one number is cheaper to test than a mask the size of X.
    It is not finite if any entry is not (or, rarely, if it overflows: the full check decides)."""
    if not np.isfinite(total) and not np.isfinite(X).all():
        raise ValueError(f"{who}: X contains NaN or infinity")


def kmeans_plusplus(X, n_clusters, rng, n_local_trials=None):
    r"""Choose initial centers by k-means++ with greedy local trials (Arthur & Vassilvitskii).

    The first center is a uniformly random sample. Each next one is drawn with probability
    proportional to :math:`D(x)^2`, the squared distance from x to the nearest center chosen so
    far; ``n_local_trials`` candidates are drawn and the one that lowers the potential
    :math:`\phi = \sum_x D(x)^2` most is kept (scikit-learn's default: 2 + ⌊ln k⌋ trials).

    Parameters
    ----------
    X : ndarray (n, d)
    n_clusters : int
    rng : np.random.Generator

    Returns
    -------
    centers : ndarray (n_clusters, d), X's dtype
    """
    n, d = X.shape
    if n_local_trials is None:
        n_local_trials = 2 + int(np.log(n_clusters))
    x_sq = np.einsum("if,if->i", X, X)
    centers = np.empty((n_clusters, d), dtype=X.dtype)
    first = rng.integers(n)
    centers[0] = X[first]
    closest_sq = np.maximum(x_sq - 2 * (X @ X[first]) + x_sq[first], 0)
    potential = closest_sq.sum()
    for c in range(1, n_clusters):
        draws = rng.uniform(size=n_local_trials) * potential
        candidates = np.searchsorted(np.cumsum(closest_sq, dtype=np.float64), draws)
        candidates = np.minimum(candidates, n - 1)  # guards against rounding at the top end
        cand_sq = np.maximum(x_sq[None, :] - 2 * (X[candidates] @ X.T)
                             + x_sq[candidates, None], 0)
        np.minimum(closest_sq[None, :], cand_sq, out=cand_sq)
        potentials = cand_sq.sum(axis=1, dtype=np.float64)
        best = int(np.argmin(potentials))
        potential = potentials[best]
        closest_sq = cand_sq[best]
        centers[c] = X[candidates[best]]
    return centers


class KMeans:
    r"""K-means clustering: minimise the within-cluster sum of squares by Lloyd iterations.

    .. math:: \text{inertia} = \sum_{i=1}^{n} \min_j \lVert x_i - c_j \rVert^2

    Parameters
    ----------
    n_clusters : int, default 8
    init : {"k-means++", "random"} or ndarray (n_clusters, n_features), default "k-means++"
        k-means++ seeding [1]_, ``n_clusters`` distinct random samples, or given centers (then
        ``n_init`` is forced to 1, with a warning if it was not 1, as in scikit-learn).
    n_init : int, default 10
        Independent runs; the one with the lowest inertia is kept.
    max_iter : int, default 300
    tol : float, default 1e-4
        Relative tolerance: a run stops when the squared center shift
        :math:`\sum_j \lVert c_j^{new} - c_j^{old} \rVert^2` is at most ``tol`` times the mean
        of the per-feature variances of X, or when no label changed (strict convergence).
    random_state : None, int or np.random.Generator
    verbose : bool
        Show a tqdm progress bar over the iterations of each run.

    Attributes
    ----------
    cluster_centers_ : ndarray (n_clusters, n_features), X's dtype
    labels_ : ndarray (n_samples,) int32
    inertia_ : float
    n_iter_ : int, iterations of the best run

    Notes
    -----
    The conventions are scikit-learn's (``sklearn.cluster.KMeans(algorithm="lloyd")``) so the
    two can be compared like with like: X is centered before fitting (the distance identity
    :math:`\lVert x\rVert^2 - 2x\cdot c + \lVert c\rVert^2` loses less to cancellation near the
    origin); an empty cluster takes the sample farthest from its center; a last E-step runs
    after a non-strict convergence so ``labels_`` match ``cluster_centers_``; a new run replaces
    the best only with a strictly lower inertia. Started from the same centers (``init=array``)
    the two give the same labels and ``n_iter_`` (in float32 the two sum the dot products in a
    different order, so on large data a near-tie can send one sample the other way for an
    iteration or two: 70,000 Fashion-MNIST images end with identical labels and ``n_iter_``, a
    10,000-image subset with identical labels after 41 iterations against 40). The random
    streams differ (NumPy Generator here, RandomState there), so k-means++ results agree only
    up to the local optimum found.

    References
    ----------
    .. [1] Arthur, D. and Vassilvitskii, S. (2007). k-means++: the advantages of careful seeding.
       SODA '07, 1027-1035.
    .. [2] Lloyd, S. (1982). Least squares quantization in PCM. IEEE Trans. Inf. Theory 28(2).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0., 0.], [0., 1.], [10., 10.], [10., 11.]])
    >>> km = KMeans(n_clusters=2, random_state=0).fit(X)
    >>> sorted(km.cluster_centers_.tolist())
    [[0.0, 0.5], [10.0, 10.5]]
    >>> float(km.inertia_)
    1.0
    """

    def __init__(self, n_clusters=8, init="k-means++", n_init=10, max_iter=300, tol=1e-4,
                 random_state=None, verbose=False):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.verbose = verbose

    # -- validation ---------------------------------------------------------------------------

    def _check_params(self, X):
        n, d = X.shape
        k = self.n_clusters
        if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or not 1 <= k <= n:
            raise ValueError(f"KMeans: expected 1 <= n_clusters <= n_samples = {n}, got {k!r}")
        for name, lo in (("n_init", 1), ("max_iter", 1)):
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < lo:
                raise ValueError(f"KMeans: expected an integer {name} >= {lo}, got {v!r}")
        if not np.isscalar(self.tol) or not self.tol >= 0:
            raise ValueError(f"KMeans: expected tol >= 0, got {self.tol!r}")
        init = self.init
        n_init = self.n_init
        if isinstance(init, str):
            if init not in ("k-means++", "random"):
                raise ValueError(f"KMeans: expected init 'k-means++', 'random' or an array, "
                                 f"got {init!r}")
        else:
            init = np.asarray(init)
            if init.shape != (k, d):
                raise ValueError(f"KMeans: expected init of shape ({k}, {d}), got {init.shape}")
            if init.dtype.kind not in "fiu" or not np.isfinite(init).all():
                raise ValueError("KMeans: init must hold finite numbers")
            init = init.astype(X.dtype)
            if n_init != 1:
                warnings.warn(f"KMeans: explicit initial centers given, so n_init={n_init} "
                              "is replaced by 1", RuntimeWarning, stacklevel=3)
                n_init = 1
        return init, n_init

    # -- fitting ------------------------------------------------------------------------------

    def _run_lloyd(self, X, centers, tol, buffers):
        """One k-means run from ``centers``; returns labels, inertia, centers, n_iter."""
        n, d = X.shape
        k = centers.shape[0]
        centers_new = np.zeros_like(centers)
        labels = np.full(n, -1, dtype=np.int32)
        labels_old = labels.copy()
        weight_in_clusters = np.zeros(k, dtype=X.dtype)
        center_shift = np.zeros(k, dtype=np.float64)
        strict = False
        steps = range(self.max_iter)
        if self.verbose:
            from tqdm import tqdm
            steps = tqdm(steps, desc="k-means", leave=False)
        for it in steps:
            lloyd_iter_numba(X, centers, centers_new, weight_in_clusters, labels, center_shift,
                             buffers)
            centers, centers_new = centers_new, centers
            if np.array_equal(labels, labels_old):
                strict = True
                break
            if (center_shift ** 2).sum() <= tol:
                break
            labels_old[:] = labels
        if self.verbose:
            steps.close()
        if not strict:
            # labels came from the centers before the last update: one more E-step
            assign_labels(X, centers, labels)
        return labels, _inertia(X, centers, labels), centers, it + 1

    def fit(self, X, y=None):
        """Compute the clustering of X (n_samples, n_features); returns ``self``."""
        X = _check_X(X, "KMeans.fit", check_finite=False)
        sums = column_sums(X)  # one pass gives the mean and the finiteness check
        _raise_if_not_finite(X, sums.sum(), "KMeans.fit")
        init, n_init = self._check_params(X)
        rng = as_rng(self.random_state)
        X_mean = (sums / X.shape[0]).astype(X.dtype)
        Xc = np.empty_like(X)
        # the mean of the per-feature variances is the total sum of squares over n d
        tol = center_rows(X, X_mean, Xc) / X.size * self.tol
        X = Xc
        buffers = make_buffers(X, self.n_clusters)
        best = None
        # The Lloyd kernel runs on Numba's threads; keep BLAS (used by k-means++) to one thread
        # so the two pools never spin against each other on the same cores.
        with threadpool_limits(limits=1, user_api="blas"):
            for _ in range(n_init):
                if isinstance(init, np.ndarray):
                    centers = init - X_mean
                elif init == "k-means++":
                    centers = kmeans_plusplus(X, self.n_clusters, rng)
                else:
                    centers = X[rng.permutation(X.shape[0])[: self.n_clusters]].copy()
                run = self._run_lloyd(X, np.ascontiguousarray(centers, dtype=X.dtype), tol,
                                      buffers)
                if best is None or run[1] < best[1]:
                    best = run
        labels, inertia, centers, n_iter = best
        self.cluster_centers_ = centers + X_mean
        self.labels_ = labels
        self.inertia_ = float(inertia)
        self.n_iter_ = int(n_iter)
        self.n_features_in_ = X.shape[1]
        if np.unique(labels).size < self.n_clusters:
            warnings.warn(f"KMeans: found {np.unique(labels).size} distinct clusters, fewer "
                          f"than n_clusters={self.n_clusters} (duplicate points in X?)",
                          RuntimeWarning, stacklevel=2)
        return self

    def fit_predict(self, X, y=None):
        """Fit and return ``labels_``."""
        return self.fit(X).labels_

    def _check_fitted(self, who):
        if not hasattr(self, "cluster_centers_"):
            raise RuntimeError(f"KMeans.{who}: call fit() first")

    def predict(self, X):
        """Index of the nearest center for each row of X -> ndarray (n_samples,) int32."""
        self._check_fitted("predict")
        X = _check_X(X, "KMeans.predict", self.n_features_in_)
        centers = self.cluster_centers_.astype(X.dtype)
        labels = np.empty(X.shape[0], dtype=np.int32)
        assign_labels(X, centers, labels)
        return labels

    def transform(self, X):
        """Euclidean distance from each row of X to each center -> (n_samples, n_clusters)."""
        self._check_fitted("transform")
        X = _check_X(X, "KMeans.transform", self.n_features_in_)
        # ||x||² - 2 x·c + ||c||² cancels badly when the data sit far from the origin (float32 at
        # offset 1,000 lost whole units); a common shift to the centers' mean leaves distances
        # alone and keeps the norms small, and the norms are summed in float64
        shift = self.cluster_centers_.mean(axis=0, dtype=np.float64)
        Xs = (X - shift).astype(X.dtype)
        C = (self.cluster_centers_ - shift).astype(X.dtype)
        sq = (np.einsum("if,if->i", Xs, Xs, dtype=np.float64)[:, None] - 2 * (Xs @ C.T)
              + np.einsum("jf,jf->j", C, C, dtype=np.float64)[None, :])
        return np.sqrt(np.maximum(sq, 0, out=sq), out=sq).astype(X.dtype, copy=False)

    def score(self, X):
        """Opposite of the inertia of X on the fitted centers (higher is better)."""
        labels = self.predict(X)
        X = _check_X(X, "KMeans.score", self.n_features_in_)
        return -float(_inertia(X, self.cluster_centers_.astype(X.dtype), labels))
