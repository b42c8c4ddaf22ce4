r"""Gaussian mixture model fitted by expectation-maximisation (full or diagonal covariances).

``GaussianMixture`` drives seeding, the EM loop and the best of several runs; the maths is in
the four small functions above it."""
import warnings

import numpy as np

from ..base import BaseEstimator
from ..exceptions import convergence_warning
from .._utils import as_rng
from .kmeans import KMeans, kmeans_plusplus

_COVARIANCE_TYPES = ("full", "diag")
_INIT_PARAMS = ("kmeans", "k-means++", "random", "random_from_data")
_ILL_DEFINED = ("GaussianMixture.fit: a component has an ill-defined covariance (a singleton or "
                "collapsed samples?); use fewer components, a larger reg_covar or scaled data")


def _precision_cholesky(covariances, covariance_type):
    r"""Upper-triangular :math:`U_k` with :math:`U_k U_k^T = \Sigma_k^{-1}`: if
    :math:`\Sigma_k = L_k L_k^T` (Cholesky), :math:`U_k = L_k^{-T}`. For "diag",
    :math:`1/\sqrt{\sigma^2}` per feature."""
    if covariance_type == "diag":
        if not (covariances > 0).all():
            raise ValueError(_ILL_DEFINED)
        return 1.0 / np.sqrt(covariances)
    try:
        L = np.linalg.cholesky(covariances)  # a stack (K, d, d) -> a stack
    except np.linalg.LinAlgError:
        raise ValueError(_ILL_DEFINED) from None
    eye = np.broadcast_to(np.eye(L.shape[-1]), L.shape)
    return np.swapaxes(np.linalg.solve(L, eye), 1, 2)


def _log_gaussian(X, means, prec_chol, covariance_type):
    r"""Log-density of every row of X under every component -> (n_samples, n_components).

    .. math:: \log N(x \mid \mu_k, \Sigma_k) = -\tfrac12 \left(d \log 2\pi
              + \lVert (x - \mu_k)\, U_k \rVert^2\right) + \sum_f \log (U_k)_{ff}

    since :math:`\lVert (x-\mu) U \rVert^2 = (x-\mu)^T \Sigma^{-1} (x-\mu)` and
    :math:`\log\lvert\Sigma\rvert^{-1/2} = \log\lvert U\rvert`. No inverse or determinant of
    :math:`\Sigma` is ever formed.
    """
    full = covariance_type == "full"
    maha = np.empty((X.shape[0], means.shape[0]), X.dtype)
    means, U = means.astype(X.dtype), prec_chol.astype(X.dtype)   # the (n, d) work in X's dtype
    for k in range(means.shape[0]):  # one (n, d) temporary at a time, never (n, K, d)
        y = (X - means[k]) @ U[k] if full else (X - means[k]) * U[k]
        maha[:, k] = np.einsum("if,if->i", y, y)
    diag = np.diagonal(prec_chol, axis1=1, axis2=2) if full else prec_chol
    log_det = (np.log(diag).sum(axis=1) - 0.5 * X.shape[1] * np.log(2 * np.pi)).astype(X.dtype)
    return -0.5 * maha + log_det


def _logsumexp_rows(a):
    r""":math:`\log \sum_k e^{a_{ik}}` per row, shifted by the row maximum so nothing overflows."""
    top = a.max(axis=1, keepdims=True)
    top[~np.isfinite(top)] = 0.0  # a row of -inf stays -inf instead of becoming NaN
    return top[:, 0] + np.log(np.exp(a - top).sum(axis=1))


def _m_step(X, resp, reg_covar, covariance_type):
    r"""Counts :math:`N_k`, means and covariances from responsibilities (n_samples, K). Each
    count gets ``10 eps``, as in scikit-learn, so an empty component's mean is not 0/0.

    The passes over the samples run in X's dtype (float32 halves the memory they stream); the
    K small results are returned in float64, where the Cholesky factors are computed."""
    nk = resp.sum(axis=0, dtype=np.float64) + 10 * np.finfo(np.float64).eps
    means = (resp.T @ X) / nk[:, None]
    d = X.shape[1]
    cov = np.empty((len(nk), d, d) if covariance_type == "full" else (len(nk), d))
    for k in range(len(nk)):
        diff = X - means[k].astype(X.dtype)
        if covariance_type == "full":
            cov[k] = (resp[:, k] * diff.T) @ diff / nk[k]
            cov[k].flat[:: d + 1] += reg_covar  # keeps Σ_k positive definite
        else:
            cov[k] = resp[:, k] @ (diff * diff) / nk[k] + reg_covar
    return nk, means, cov


class GaussianMixture(BaseEstimator):
    r"""Gaussian mixture model, fitted by expectation-maximisation (EM) [1]_ [2]_.

    .. math:: p(x) = \sum_{k=1}^{K} \pi_k \, N(x \mid \mu_k, \Sigma_k),
              \qquad \pi_k \ge 0, \ \sum_k \pi_k = 1

    **E-step** (in log space, with a log-sum-exp): the responsibilities

    .. math:: \log r_{ik} = \log \pi_k + \log N(x_i \mid \mu_k, \Sigma_k)
              - \log \sum_j \pi_j N(x_i \mid \mu_j, \Sigma_j)

    **M-step**, with :math:`N_k = \sum_i r_{ik}`:

    .. math:: \pi_k = N_k / n, \quad \mu_k = \frac{1}{N_k} \sum_i r_{ik} x_i, \quad
              \Sigma_k = \frac{1}{N_k} \sum_i r_{ik} (x_i - \mu_k)(x_i - \mu_k)^T
              + \epsilon I

    with :math:`\epsilon` = ``reg_covar`` (for "diag", only the diagonal of :math:`\Sigma_k`).
    EM never decreases the mean log-likelihood :math:`\frac1n \sum_i \log p(x_i)`; a run stops
    when it changes by less than ``tol`` between two iterations.

    Parameters
    ----------
    n_components : int, default 1
    covariance_type : {"full", "diag"}, default "full"
    tol : float, default 1e-3
    reg_covar : float, default 1e-6
    max_iter : int, default 100
    n_init : int, default 1
        Independent runs; the one with the highest lower bound is kept.
    init_params : {"kmeans", "k-means++", "random", "random_from_data"}, default "kmeans"
        First responsibilities: one-hot K-means labels (``KMeans(n_init=1)``); one-hot on the
        k-means++ seeds or on K random samples (each component starts from one sample); or
        uniform random numbers normalised per row. An M-step turns them into parameters.
    weights_init : ndarray (K,), optional
    means_init : ndarray (K, n_features), optional
    precisions_init : ndarray (K, n_features, n_features) or (K, n_features) for "diag", optional
        Given initial parameters replace the ones from ``init_params`` (when all three are
        given, ``init_params`` is not used).
    random_state : None, int or np.random.Generator
        One generator drives every initialisation in turn, so the same int gives the same fit.

    Attributes
    ----------
    weights_ : ndarray (K,)
    means_ : ndarray (K, n_features)
    covariances_ : ndarray (K, n_features, n_features), or (K, n_features) for "diag"
    precisions_ : ndarray, shaped like ``covariances_``, their inverses
    precisions_cholesky_ : ndarray, shaped like ``covariances_``, upper-triangular :math:`U_k`
    converged_ : bool
    n_iter_ : int, EM iterations of the best run
    lower_bound_ : float, mean log-likelihood of the best run at its last E-step
    labels_ : ndarray (n_samples,) int, most probable component of each training sample

    Notes
    -----
    The conventions are scikit-learn's (``sklearn.mixture.GaussianMixture``), so the two give
    the same fit from the same ``weights_init``, ``means_init`` and ``precisions_init``: EM
    alternates E-step then M-step; ``lower_bound_`` is the mean log-likelihood computed by the
    last E-step, i.e. under the parameters *before* the last M-step; after the loop one more
    E-step gives ``labels_`` so ``fit_predict(X)`` equals ``fit(X).predict(X)``; a later run
    replaces the best only with a strictly higher lower bound. float32 input is worked on in
    float32, as scikit-learn does (the K small parameters and their Cholesky factors are kept
    in float64 here); other input in float64. One difference: the random streams
    differ (NumPy Generator against RandomState), so random initialisations agree only up to
    the optimum found. The "tied" and "spherical" covariance types are not implemented.

    References
    ----------
    .. [1] Dempster, A. P., Laird, N. M. and Rubin, D. B. (1977). Maximum likelihood from
       incomplete data via the EM algorithm. J. R. Stat. Soc. B 39(1), 1-38.
    .. [2] Bishop, C. M. (2006). Pattern Recognition and Machine Learning, §9.2. Springer.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0., 0.], [0., 1.], [1., 0.], [10., 10.], [10., 11.], [11., 10.]])
    >>> gm = GaussianMixture(n_components=2, random_state=0).fit(X)
    >>> sorted(np.round(gm.means_, 2).tolist())
    [[0.33, 0.33], [10.33, 10.33]]
    >>> gm.weights_.round(2).tolist()
    [0.5, 0.5]
    >>> bool(gm.predict(np.array([[0.5, 0.5]]))[0] == gm.labels_[0])
    True
    """

    _estimator_type = "density_estimator"  # scikit-learn's tag for its GaussianMixture
    _fitted_attr = "means_"

    def __init__(self, n_components=1, *, covariance_type="full", tol=1e-3, reg_covar=1e-6,
                 max_iter=100, n_init=1, init_params="kmeans", weights_init=None,
                 means_init=None, precisions_init=None, random_state=None):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.random_state = random_state

    # -- validation ---------------------------------------------------------------------------

    def _check_params(self, X):
        """Validate the hyper-parameters; return the given weights, means and precision
        Cholesky factors as float64 (None where not given)."""
        who, (n, d), K = "GaussianMixture.fit", X.shape, self.n_components
        for name, lo in (("n_components", 1), ("max_iter", 1), ("n_init", 1)):
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < lo:
                raise ValueError(f"{who}: expected an integer {name} >= {lo}, got {v!r}")
        if n < K:
            raise ValueError(f"{who}: expected n_samples >= n_components, got n_samples = {n} "
                             f"< n_components = {K}")
        for name in ("tol", "reg_covar"):
            if not np.isscalar(getattr(self, name)) or not getattr(self, name) >= 0:
                raise ValueError(f"{who}: expected {name} >= 0, got {getattr(self, name)!r}")
        for name, allowed in (("covariance_type", _COVARIANCE_TYPES),
                              ("init_params", _INIT_PARAMS)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{who}: expected {name} in {allowed}, got "
                                 f"{getattr(self, name)!r}")
        full = self.covariance_type == "full"
        given = []
        for name, shape in (("weights_init", (K,)), ("means_init", (K, d)),
                            ("precisions_init", (K, d, d) if full else (K, d))):
            v = None if getattr(self, name) is None else np.asarray(getattr(self, name), float)
            if v is not None and v.shape != shape:
                raise ValueError(f"{who}: expected {name} of shape {shape}, got {v.shape}")
            if v is not None and not np.isfinite(v).all():
                raise ValueError(f"{who}: {name} contains NaN or infinity")
            given.append(v)
        w, means, P = given
        if w is not None and ((w < 0).any() or abs(w.sum() - 1) > 1e-8):
            raise ValueError(f"{who}: expected weights_init >= 0 summing to 1, got sum "
                             f"{float(w.sum())!r}, min {float(w.min())!r}")
        if P is not None and not full:
            if (P <= 0).any():
                raise ValueError(f"{who}: expected positive precisions_init (diagonal)")
            P = np.sqrt(P)
        elif P is not None:
            # P = U U^T with U upper triangular: U is the Cholesky factor of P read backwards
            if np.allclose(P, np.swapaxes(P, 1, 2)) and (np.linalg.eigvalsh(P) > 0).all():
                P = np.linalg.cholesky(P[:, ::-1, ::-1])[:, ::-1, ::-1]
            else:
                raise ValueError(f"{who}: expected symmetric positive-definite precisions_init")
        return w, means, P

    # -- fitting ------------------------------------------------------------------------------

    def _initial_resp(self, X, rng):
        """Responsibilities (n_samples, K) to start from, following ``init_params``."""
        n, K = X.shape[0], self.n_components
        resp = np.zeros((n, K))
        if self.init_params == "kmeans":
            resp[np.arange(n), KMeans(K, n_init=1, random_state=rng).fit(X).labels_] = 1
        elif self.init_params == "random":
            resp = rng.uniform(size=(n, K))
            resp /= resp.sum(axis=1, keepdims=True)
        elif self.init_params == "random_from_data":
            resp[rng.choice(n, K, replace=False), np.arange(K)] = 1
        else:  # k-means++: each seed's own row starts its component
            _, seeds = kmeans_plusplus(X, K, random_state=rng)
            resp[seeds, np.arange(K)] = 1
        return resp

    def _initialize(self, X, rng, weights, means, prec_chol):
        """Starting (weights, means, covariances, precision factors); given ones win."""
        covariances = None  # with precisions_init, the first M-step sets them
        if weights is None or means is None or prec_chol is None:
            nk, m, cov = _m_step(X, self._initial_resp(X, rng), self.reg_covar,
                                 self.covariance_type)
            weights = nk / X.shape[0] if weights is None else weights
            means = m if means is None else means
            if prec_chol is None:
                covariances, prec_chol = cov, _precision_cholesky(cov, self.covariance_type)
        return weights, means, covariances, prec_chol

    def _weighted_log_prob(self, X, params):
        """log π_k + log N(x_i | μ_k, Σ_k) -> (n_samples, K)."""
        weights, means, _, prec_chol = params
        return (_log_gaussian(X, means, prec_chol, self.covariance_type)
                + np.log(weights).astype(X.dtype))

    def fit(self, X, y=None):
        """Fit the mixture to X (n_samples, n_features); returns ``self``."""
        X = self._as_float(self._validate_X(X, "GaussianMixture.fit", reset=True))
        given = self._check_params(X)
        rng, cov_type, best = as_rng(self.random_state), self.covariance_type, None
        for _ in range(self.n_init):
            params = self._initialize(X, rng, *given)
            lower_bound, converged = -np.inf, False
            for n_iter in range(1, self.max_iter + 1):
                previous = lower_bound
                log_prob = self._weighted_log_prob(X, params)  # E-step ...
                log_norm = _logsumexp_rows(log_prob)
                lower_bound = float(log_norm.mean(dtype=np.float64))
                resp = np.exp(log_prob - log_norm[:, None])
                nk, means, cov = _m_step(X, resp, self.reg_covar, cov_type)  # ... M-step
                params = (nk / nk.sum(), means, cov, _precision_cholesky(cov, cov_type))
                if abs(lower_bound - previous) < self.tol:
                    converged = True
                    break
            if best is None or lower_bound > best[0]:
                best = (lower_bound, params, n_iter, converged)
        self.lower_bound_, params, self.n_iter_, self.converged_ = best
        self.weights_, self.means_, self.covariances_, self.precisions_cholesky_ = params
        U = self.precisions_cholesky_
        self.precisions_ = U @ np.swapaxes(U, 1, 2) if cov_type == "full" else U**2
        self.n_features_in_ = X.shape[1]
        if not self.converged_:
            warnings.warn(f"GaussianMixture.fit: the best run did not converge in max_iter="
                          f"{self.max_iter} iterations (tol={self.tol}); raise max_iter or "
                          "tol, or try other initial parameters", convergence_warning(), stacklevel=2)
        self.labels_ = self._weighted_log_prob(X, params).argmax(axis=1)
        return self

    @staticmethod
    def _as_float(X):
        """float32 stays float32 (EM's passes over the samples run in it, as scikit-learn's do);
        anything else becomes float64."""
        return X if X.dtype == np.float32 else X.astype(np.float64, copy=False)

    def fit_predict(self, X, y=None):
        """Fit the mixture to X (n_samples, n_features) and return ``labels_``."""
        return self.fit(X).labels_

    # -- using a fitted model -----------------------------------------------------------------

    def _log_prob(self, X, who):
        X = self._validate_X(X, f"GaussianMixture.{who}", reset=False)
        return self._weighted_log_prob(self._as_float(X), (
            self.weights_, self.means_, self.covariances_, self.precisions_cholesky_))

    def score_samples(self, X):
        r"""Log-likelihood :math:`\log p(x_i)` of each row of X -> ndarray (n_samples,)."""
        return _logsumexp_rows(self._log_prob(X, "score_samples"))

    def score(self, X, y=None):
        """Mean log-likelihood of the rows of X."""
        return float(self.score_samples(X).mean())

    def predict_proba(self, X):
        r"""Responsibilities :math:`r_{ik}` -> ndarray (n_samples, K), rows sum to 1."""
        log_prob = self._log_prob(X, "predict_proba")
        return np.exp(log_prob - _logsumexp_rows(log_prob)[:, None])

    def predict(self, X):
        """Most probable component of each row of X -> ndarray (n_samples,) int."""
        return self._log_prob(X, "predict").argmax(axis=1)

    def _n_parameters(self):
        """Free parameters: K - 1 weights, K d means, K d(d+1)/2 (or K d for "diag") covariances."""
        K, d = self.means_.shape
        n_cov = K * d * (d + 1) // 2 if self.covariance_type == "full" else K * d
        return K - 1 + K * d + n_cov

    def bic(self, X):
        r"""Bayesian information criterion, :math:`-2 \log L + p \log n` (lower is better)."""
        mean_log_likelihood, n = self.score(X), len(X)  # score validates X first
        return -2 * mean_log_likelihood * n + self._n_parameters() * np.log(n)

    def aic(self, X):
        r"""Akaike information criterion, :math:`-2 \log L + 2p` (lower is better)."""
        mean_log_likelihood, n = self.score(X), len(X)
        return -2 * mean_log_likelihood * n + 2 * self._n_parameters()
