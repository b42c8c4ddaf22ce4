r"""K-means clustering (Lloyd's algorithm with k-means++ seeding).

The driver here is plain Python: seeding, the iteration loop, convergence, the best of several
runs. One iteration is a kernel from ``_lloyd.py`` (Numba, with its NumPy reference beside it).
"""
import warnings

import numpy as np
from threadpoolctl import threadpool_limits

from ..base import BaseEstimator, check_array, check_sample_weight, raise_if_not_finite
from ..exceptions import convergence_warning
from .._utils import as_rng
from ._lloyd import (_inertia, assign_labels, center_rows, column_sums, lloyd_iter,
                     make_buffers)


def _check_X(X, who, n_features=None, check_finite=True):
    """``check_array``, and the number of features when ``n_features`` is given (for the
    estimators that do not keep feature names)."""
    X = check_array(X, who, check_finite=check_finite)
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(f"{who}: X has {X.shape[1]} features, but the model is expecting "
                         f"{n_features} features as input (as in fit)")
    return X


def _draw(cumulative, u):
    """Indices i with cumulative[i-1] < u <= cumulative[i]: sampling by the inverse of a
    cumulative sum (a weight w_i, or a potential, is the width of sample i's interval)."""
    return np.minimum(np.searchsorted(cumulative, u), cumulative.size - 1)  # top-end rounding


def _kmeans_plusplus(X, n_clusters, x_sq, sample_weight, rng, n_local_trials):
    """k-means++ on validated X; returns (centers, indices). See ``kmeans_plusplus``.

    A sample of weight w is drawn as if it were w copies of itself (each copy one interval of
    the cumulative sums), so weights and repeated rows pick the same points from the same
    random numbers."""
    n, d = X.shape
    if n_local_trials is None:
        n_local_trials = 2 + int(np.log(n_clusters))
    w = np.ones(n) if sample_weight is None else sample_weight.astype(np.float64)
    centers = np.empty((n_clusters, d), dtype=X.dtype)
    indices = np.empty(n_clusters, dtype=np.intp)
    first = int(_draw(np.cumsum(w), rng.uniform() * w.sum()))
    centers[0] = X[first]
    indices[0] = first
    closest_sq = np.maximum(x_sq - 2 * (X @ X[first]) + x_sq[first], 0)
    potential = closest_sq @ w  # phi: the weighted sum of D(x)^2
    for c in range(1, n_clusters):
        draws = rng.uniform(size=n_local_trials) * potential
        candidates = _draw(np.cumsum(w * closest_sq, dtype=np.float64), draws)
        cand_sq = np.maximum(x_sq[None, :] - 2 * (X[candidates] @ X.T)
                             + x_sq[candidates, None], 0)
        np.minimum(closest_sq[None, :], cand_sq, out=cand_sq)
        potentials = cand_sq.astype(np.float64) @ w  # phi if each candidate were chosen
        best = int(np.argmin(potentials))
        potential = potentials[best]
        closest_sq = cand_sq[best]
        centers[c] = X[candidates[best]]
        indices[c] = candidates[best]
    return centers, indices


def kmeans_plusplus(X, n_clusters, *, sample_weight=None, x_squared_norms=None,
                    random_state=None, n_local_trials=None):
    r"""Choose initial centers by k-means++ with greedy local trials (Arthur & Vassilvitskii).

    The first center is a random sample. Each next one is drawn with probability proportional
    to :math:`w(x) D(x)^2`, the sample's weight times its squared distance to the nearest center
    chosen so far; ``n_local_trials`` candidates are drawn and the one that lowers the potential
    :math:`\phi = \sum_x w(x) D(x)^2` most is kept (scikit-learn's default: 2 + ⌊ln k⌋ trials).
    The signature and the result are scikit-learn's ``sklearn.cluster.kmeans_plusplus``.

    Parameters
    ----------
    X : array-like (n_samples, n_features)
    n_clusters : int
    sample_weight : array-like (n_samples,), optional
    x_squared_norms : array-like (n_samples,), optional
        The squared row norms of X, if already computed.
    random_state : None, int, np.random.Generator or np.random.RandomState
    n_local_trials : int, optional

    Returns
    -------
    centers : ndarray (n_clusters, n_features), X's dtype
    indices : ndarray (n_clusters,), the rows of X the centers are
    """
    X = check_array(X, "kmeans_plusplus")
    n = X.shape[0]
    if not isinstance(n_clusters, (int, np.integer)) or not 1 <= n_clusters <= n:
        raise ValueError(f"kmeans_plusplus: expected 1 <= n_clusters <= n_samples = {n}, "
                         f"got {n_clusters!r}")
    if n_local_trials is not None and not (isinstance(n_local_trials, (int, np.integer))
                                           and n_local_trials >= 1):
        raise ValueError(f"kmeans_plusplus: expected n_local_trials >= 1, got {n_local_trials!r}")
    if x_squared_norms is None:
        x_sq = np.einsum("if,if->i", X, X)
    else:
        x_sq = np.asarray(x_squared_norms, dtype=X.dtype)
        if x_sq.shape != (n,):
            raise ValueError(f"kmeans_plusplus: expected x_squared_norms of shape ({n},), "
                             f"got {x_sq.shape}")
    w = check_sample_weight(sample_weight, n, X.dtype, "kmeans_plusplus")
    return _kmeans_plusplus(X, n_clusters, x_sq, w, as_rng(random_state), n_local_trials)


class KMeans(BaseEstimator):
    r"""K-means clustering: minimise the within-cluster sum of squares by Lloyd iterations.

    .. math:: \text{inertia} = \sum_{i=1}^{n} \min_j \lVert x_i - c_j \rVert^2

    Parameters
    ----------
    n_clusters : int, default 8
    init : {"k-means++", "random"}, callable or array (n_clusters, n_features), default "k-means++"
        k-means++ seeding [1]_, ``n_clusters`` distinct random samples (drawn with probability
        proportional to their weight), given centers (then ``n_init`` is forced to 1, with a
        warning if it was not 1, as in scikit-learn), or a function called as
        ``init(X, n_clusters, random_state=rs)`` that returns the centers. As in scikit-learn,
        the function sees X shifted to its mean and a ``np.random.RandomState``.
    n_init : "auto" or int, default "auto"
        Independent runs; the one with the lowest inertia is kept. "auto" is scikit-learn's
        default since 1.4: one run for k-means++ or given centers, 10 for "random" or a
        callable.
    max_iter : int, default 300
    tol : float, default 1e-4
        Relative tolerance: a run stops when the squared center shift
        :math:`\sum_j \lVert c_j^{new} - c_j^{old} \rVert^2` is at most ``tol`` times the mean
        of the per-feature variances of X, or when no label changed (strict convergence).
    random_state : None, int, np.random.Generator or np.random.RandomState
    verbose : bool
        Show a tqdm progress bar over the iterations of each run.

    Attributes
    ----------
    cluster_centers_ : ndarray (n_clusters, n_features), X's dtype
    labels_ : ndarray (n_samples,) int32
    inertia_ : float
    n_iter_ : int, iterations of the best run
    n_features_in_ : int
    feature_names_in_ : ndarray of str, only when X was a DataFrame with string column names

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

    ``sample_weight`` means repetition: a weight of 2 acts as the sample twice, in the seeding,
    the centers, the inertia, and also in the mean X is centered on and the variance ``tol`` is
    scaled by (scikit-learn uses the unweighted mean and variance there). Fitting with integer
    weights, or with each row repeated in place that many times, gives the same clustering.

    The estimator follows scikit-learn's conventions (``get_params``, ``clone``, ``Pipeline``,
    ``GridSearchCV``, ``check_estimator``) without importing it: see ``scratchnet.base``.

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

    _estimator_type = "clusterer"
    _fitted_attr = "cluster_centers_"

    def __init__(self, n_clusters=8, *, init="k-means++", n_init="auto", max_iter=300,
                 tol=1e-4, verbose=False, random_state=None):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.verbose = verbose
        self.random_state = random_state

    # -- validation ---------------------------------------------------------------------------

    def _check_params(self, X):
        n, d = X.shape
        k = self.n_clusters
        if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or not 1 <= k <= n:
            raise ValueError(f"KMeans: expected 1 <= n_clusters <= n_samples = {n}, got {k!r}")
        if self.n_init != "auto":
            _check_int("n_init", self.n_init, 1)
        _check_int("max_iter", self.max_iter, 1)
        if not isinstance(self.tol, (int, float, np.number)) or not self.tol >= 0:
            raise ValueError(f"KMeans: expected tol >= 0, got {self.tol!r}")
        init = self.init
        if isinstance(init, str):
            if init not in ("k-means++", "random"):
                raise ValueError(f"KMeans: expected init 'k-means++', 'random', a callable or "
                                 f"an array, got {init!r}")
            n_init = (1 if init == "k-means++" else 10) if self.n_init == "auto" else self.n_init
        elif callable(init):
            n_init = 10 if self.n_init == "auto" else self.n_init
        else:
            init = self._check_centers(init, X, "init")
            if self.n_init not in ("auto", 1):
                warnings.warn(f"KMeans: explicit initial centers given, so n_init="
                              f"{self.n_init} is replaced by 1", RuntimeWarning, stacklevel=3)
            n_init = 1
        return init, n_init

    def _check_centers(self, centers, X, what):
        k, d = self.n_clusters, X.shape[1]
        centers = np.asarray(centers)
        if centers.shape != (k, d):
            raise ValueError(f"KMeans: expected {what} of shape ({k}, {d}), got "
                             f"{centers.shape}")
        if centers.dtype.kind not in "fiu" or not np.isfinite(centers).all():
            raise ValueError(f"KMeans: {what} must hold finite numbers")
        return np.ascontiguousarray(centers, dtype=X.dtype)

    # -- fitting ------------------------------------------------------------------------------

    def _run_lloyd(self, X, centers, tol, buffers, sample_weight):
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
            lloyd_iter(X, centers, centers_new, weight_in_clusters, labels, center_shift,
                             buffers, sample_weight=sample_weight)
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
        return labels, _inertia(X, centers, labels, sample_weight), centers, it + 1

    def _initial_centers(self, X, init, rng, sample_weight):
        """Starting centers for one run, on the centered X."""
        k = self.n_clusters
        if isinstance(init, np.ndarray):
            return init
        if callable(init):
            legacy = np.random.RandomState(rng.integers(2**31 - 1))  # what sklearn code expects
            return self._check_centers(init(X, k, random_state=legacy), X,
                                       "the centers returned by init")
        if init == "k-means++":
            x_sq = np.einsum("if,if->i", X, X)
            return _kmeans_plusplus(X, k, x_sq, sample_weight, rng, None)[0]
        p = None if sample_weight is None else sample_weight / sample_weight.sum(dtype=float)
        if p is not None and np.count_nonzero(p) < k:
            raise ValueError(f"KMeans.fit: init='random' needs n_clusters={k} samples of "
                             f"non-zero weight, got {np.count_nonzero(p)}")
        return X[rng.choice(X.shape[0], size=k, replace=False, p=p)]

    def fit(self, X, y=None, sample_weight=None):
        """Compute the clustering of X (n_samples, n_features); returns ``self``.

        ``y`` is ignored (it is there for ``Pipeline``); ``sample_weight`` (n_samples,) weighs
        each sample, a weight of 2 counting as two copies of it."""
        X = self._validate_X(X, "KMeans.fit", reset=True, check_finite=False)
        sums = column_sums(X)  # one pass gives the mean and the finiteness check
        raise_if_not_finite(X, sums.sum(), "KMeans.fit")
        init, n_init = self._check_params(X)
        n, d = X.shape
        w = check_sample_weight(sample_weight, n, X.dtype, "KMeans.fit")
        if w is not None and (w == 1).all():
            w = None  # unit weights are no weights: the same fast kernel, the same result
        rng = as_rng(self.random_state)
        Xc = np.empty_like(X)
        if w is None:
            X_mean = (sums / n).astype(X.dtype)
            # the mean of the per-feature variances is the total sum of squares over n d
            variance = center_rows(X, X_mean, Xc) / X.size
        else:
            X_mean = ((w.astype(np.float64) @ X) / w.sum(dtype=np.float64)).astype(X.dtype)
            center_rows(X, X_mean, Xc)
            variance = (np.einsum("i,if,if->", w.astype(np.float64), Xc, Xc)
                        / (w.sum(dtype=np.float64) * d))
        tol = variance * self.tol
        X = Xc
        if isinstance(init, np.ndarray):
            init = init - X_mean
        buffers = make_buffers(X, self.n_clusters)
        best = None
        # The Lloyd kernel runs on Numba's threads; keep BLAS (used by k-means++) to one thread
        # so the two pools never spin against each other on the same cores.
        with threadpool_limits(limits=1, user_api="blas"):
            for _ in range(n_init):
                centers = self._initial_centers(X, init, rng, w)
                run = self._run_lloyd(X, np.ascontiguousarray(centers, dtype=X.dtype), tol,
                                      buffers, w)
                if best is None or run[1] < best[1]:
                    best = run
        labels, inertia, centers, n_iter = best
        self.cluster_centers_ = centers + X_mean
        self.labels_ = labels
        self.inertia_ = float(inertia)
        self.n_iter_ = int(n_iter)
        distinct = np.unique(labels).size
        if distinct < self.n_clusters:
            warnings.warn(f"KMeans: found {distinct} distinct clusters, fewer than n_clusters="
                          f"{self.n_clusters} (duplicate points in X?)", convergence_warning(),
                          stacklevel=2)
        return self

    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit and return ``labels_``."""
        return self.fit(X, sample_weight=sample_weight).labels_

    def fit_transform(self, X, y=None, sample_weight=None):
        """Fit and return the distances of X to the centers (``transform``)."""
        return self.fit(X, sample_weight=sample_weight).transform(X)

    def predict(self, X):
        """Index of the nearest center for each row of X -> ndarray (n_samples,) int32."""
        X = self._validate_X(X, "KMeans.predict", reset=False)
        centers = self.cluster_centers_.astype(X.dtype)
        labels = np.empty(X.shape[0], dtype=np.int32)
        assign_labels(X, centers, labels)
        return labels

    def transform(self, X):
        """Euclidean distance from each row of X to each center -> (n_samples, n_clusters)."""
        X = self._validate_X(X, "KMeans.transform", reset=False)
        # ||x||² - 2 x·c + ||c||² cancels badly when the data sit far from the origin (float32 at
        # offset 1,000 lost whole units); a common shift to the centers' mean leaves distances
        # alone and keeps the norms small, and the norms are summed in float64
        shift = self.cluster_centers_.mean(axis=0, dtype=np.float64)
        Xs = (X - shift).astype(X.dtype)
        C = (self.cluster_centers_ - shift).astype(X.dtype)
        sq = (np.einsum("if,if->i", Xs, Xs, dtype=np.float64)[:, None] - 2 * (Xs @ C.T)
              + np.einsum("jf,jf->j", C, C, dtype=np.float64)[None, :])
        return np.sqrt(np.maximum(sq, 0, out=sq), out=sq).astype(X.dtype, copy=False)

    def score(self, X, y=None, sample_weight=None):
        """Opposite of the (weighted) inertia of X on the fitted centers: higher is better, so
        ``GridSearchCV`` and ``cross_val_score`` can maximise it."""
        X = self._validate_X(X, "KMeans.score", reset=False)
        w = check_sample_weight(sample_weight, X.shape[0], X.dtype, "KMeans.score")
        centers = self.cluster_centers_.astype(X.dtype)
        labels = np.empty(X.shape[0], dtype=np.int32)
        assign_labels(X, centers, labels)
        return -float(_inertia(X, centers, labels, w))

    def get_feature_names_out(self, input_features=None):
        """Names of ``transform``'s columns: ``kmeans0``, ``kmeans1``, ... (scikit-learn's)."""
        return self._feature_names_out("kmeans", self.n_clusters, input_features)


def _check_int(name, value, low):
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < low:
        raise ValueError(f"KMeans: expected an integer {name} >= {low}, got {value!r}")
