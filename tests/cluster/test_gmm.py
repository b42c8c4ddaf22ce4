"""GaussianMixture against scikit-learn from the same initial parameters, against a direct
NumPy evaluation of the mixture density, and the properties any EM fit must have."""
import warnings

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score
from sklearn.mixture import GaussianMixture as SkGaussianMixture

from scratchnet.cluster import GaussianMixture, KMeans
from scratchnet.exceptions import ConvergenceWarning, NotFittedError


def _blobs(rng, n, d, k, spread):
    """k overlapping blobs, blob j drawn as c_j + z A_j: each has its own full covariance."""
    centers = rng.normal(scale=spread, size=(k, d))
    A = rng.normal(size=(k, d, d)) * rng.uniform(0.3, 1.5, size=(k, 1, 1))
    y = rng.integers(k, size=n)
    return centers[y] + np.einsum("if,ifg->ig", rng.normal(size=(n, d)), A[y]), y


def _start(rng, X, k, covariance_type):
    """Deliberately rough initial parameters: random weights, random samples as means, the
    precision of one isotropic Gaussian as wide as the data."""
    n, d = X.shape
    weights = rng.uniform(0.5, 1.0, size=k)
    precision = 1.0 / X.var(axis=0).mean()
    precisions = (np.stack([np.eye(d) * precision] * k) if covariance_type == "full"
                  else np.full((k, d), precision))
    return dict(weights_init=weights / weights.sum(), means_init=X[rng.choice(n, k, False)],
                precisions_init=precisions)


def _mixture_log_density(X, weights, means, covariances):
    """log sum_k pi_k N(x | mu_k, Sigma_k), straight from the textbook formula."""
    d = X.shape[1]
    density = np.zeros(len(X))
    for w, mu, cov in zip(weights, means, covariances):
        diff = X - mu
        maha = np.einsum("if,fg,ig->i", diff, np.linalg.inv(cov), diff)
        density += w * np.exp(-0.5 * maha) / np.sqrt((2 * np.pi) ** d * np.linalg.det(cov))
    return np.log(density)


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
@pytest.mark.parametrize("d, k", [(2, 3), (10, 4)])
@pytest.mark.parametrize("tol, max_iter", [(1e-3, 100), (1e-10, 1000), (1e-3, 3)])
def test_same_fit_as_sklearn_from_same_initial_parameters(covariance_type, d, k, tol, max_iter):
    rng = np.random.default_rng(10 * d + k)
    X, _ = _blobs(rng, n=500, d=d, k=k, spread=2.0)
    kw = dict(covariance_type=covariance_type, tol=tol, max_iter=max_iter,
              **_start(rng, X, k, covariance_type))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # max_iter=3 stops both before convergence
        ours = GaussianMixture(k, **kw).fit(X)
        ref = SkGaussianMixture(k, **kw).fit(X)
    assert ref.n_iter_ >= 3  # real iterations, not a fixed point reached at once
    assert ours.n_iter_ == ref.n_iter_
    assert ours.converged_ == ref.converged_ == (max_iter > 3)
    assert ours.lower_bound_ == pytest.approx(ref.lower_bound_, rel=1e-9, abs=1e-9)
    np.testing.assert_allclose(ours.weights_, ref.weights_, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(ours.means_, ref.means_, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(ours.covariances_, ref.covariances_, rtol=1e-6, atol=1e-8)
    for name in ("precisions_cholesky_", "precisions_"):  # near-singular blobs: huge entries
        a, b = getattr(ours, name), getattr(ref, name)
        scale = np.abs(b).reshape(k, -1).max(axis=1).reshape((k,) + (1,) * (b.ndim - 1))
        np.testing.assert_allclose(a / scale, b / scale, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(ours.labels_, ref.predict(X))
    X_new, _ = _blobs(np.random.default_rng(99), n=50, d=d, k=k, spread=2.0)
    np.testing.assert_allclose(ours.score_samples(X_new), ref.score_samples(X_new), rtol=1e-7)
    np.testing.assert_allclose(ours.predict_proba(X_new), ref.predict_proba(X_new), atol=1e-7)
    assert ours.bic(X) == pytest.approx(ref.bic(X), rel=1e-9)
    assert ours.aic(X) == pytest.approx(ref.aic(X), rel=1e-9)


def test_one_component_is_the_sample_mean_and_covariance():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3)) @ rng.normal(size=(3, 3))
    gm = GaussianMixture(1, reg_covar=1e-6).fit(X)
    np.testing.assert_allclose(gm.weights_, [1.0])
    np.testing.assert_allclose(gm.means_[0], X.mean(axis=0), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gm.covariances_[0], np.cov(X.T, bias=True) + 1e-6 * np.eye(3),
                               rtol=1e-12)
    # the first M-step already lands on the maximum; the second E-step sees no change
    assert gm.n_iter_ == 2 and gm.converged_
    assert gm.lower_bound_ == pytest.approx(
        _mixture_log_density(X, gm.weights_, gm.means_, gm.covariances_).mean(), rel=1e-12)
    np.testing.assert_allclose(gm.precisions_[0] @ gm.covariances_[0], np.eye(3), atol=1e-10)


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_score_samples_is_the_textbook_log_density(covariance_type):
    rng = np.random.default_rng(1)
    X, _ = _blobs(rng, n=60, d=3, k=2, spread=3.0)
    gm = GaussianMixture(2, covariance_type=covariance_type, random_state=0).fit(X)
    covs = gm.covariances_ if covariance_type == "full" else [np.diag(c) for c in gm.covariances_]
    X_new = rng.normal(scale=2.0, size=(20, 3))
    expected = _mixture_log_density(X_new, gm.weights_, gm.means_, covs)
    np.testing.assert_allclose(gm.score_samples(X_new), expected, rtol=1e-10)
    assert gm.score(X_new) == pytest.approx(expected.mean(), rel=1e-10)
    proba = gm.predict_proba(X_new)
    assert proba.shape == (20, 2) and (proba >= 0).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(gm.predict(X_new), proba.argmax(axis=1))


def test_far_away_points_keep_finite_log_probabilities():
    """Densities underflow to 0 a few hundred standard deviations out; the log-sum-exp does not."""
    X = np.array([[0.0], [0.1], [0.2], [10.0], [10.1], [10.2]])
    gm = GaussianMixture(2, random_state=0).fit(X)
    far = np.array([[1e4], [-1e4]])
    assert np.isfinite(gm.score_samples(far)).all()
    np.testing.assert_allclose(gm.predict_proba(far).sum(axis=1), 1.0)


@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random_from_data"])
def test_recovers_anisotropic_blobs_that_kmeans_misses(init_params):
    # scikit-learn's "anisotropically distributed blobs" example
    X, y = make_blobs(n_samples=600, random_state=170)
    X = X @ np.array([[0.6, -0.6], [-0.4, 0.8]])
    gm = GaussianMixture(3, init_params=init_params, n_init=2, random_state=0)
    labels = gm.fit_predict(X)
    assert adjusted_rand_score(labels, y) == 1.0
    np.testing.assert_array_equal(labels, gm.predict(X))
    if init_params == "kmeans":  # K-means alone, the start of the kmeans init, gets it wrong
        assert adjusted_rand_score(KMeans(3, random_state=0).fit(X).labels_, y) < 0.7
    resp = gm._initial_resp(X, np.random.default_rng(0))
    if init_params != "kmeans":  # one sample per component, as in scikit-learn
        np.testing.assert_array_equal(resp.sum(axis=0), 1.0)
        assert np.count_nonzero(resp) == 3
    else:
        np.testing.assert_array_equal(resp.sum(axis=1), 1.0)


@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random", "random_from_data"])
def test_same_random_state_same_fit(init_params):
    X, _ = _blobs(np.random.default_rng(2), n=300, d=4, k=3, spread=2.0)
    fits = [GaussianMixture(3, init_params=init_params, n_init=2, random_state=seed).fit(X)
            for seed in (5, 5, 6)]
    for name in ("weights_", "means_", "covariances_", "lower_bound_", "n_iter_", "labels_"):
        np.testing.assert_array_equal(getattr(fits[0], name), getattr(fits[1], name))
    # the seed matters at all: the starts differ (the fits may still meet at one optimum)
    gm = GaussianMixture(3, init_params=init_params)
    assert not np.array_equal(gm._initial_resp(X, np.random.default_rng(5)),
                              gm._initial_resp(X, np.random.default_rng(6)))


def test_n_init_keeps_the_run_with_the_highest_lower_bound():
    X, _ = _blobs(np.random.default_rng(3), n=400, d=2, k=5, spread=3.0)
    # One generator drives the runs in turn, so n_init=6 sees exactly these six runs.
    rng = np.random.default_rng(11)
    runs = [GaussianMixture(5, init_params="random_from_data", random_state=rng).fit(X)
            for _ in range(6)]
    bounds = [r.lower_bound_ for r in runs]
    assert len(set(np.round(bounds, 6))) > 1  # local optima differ: the choice matters
    best = GaussianMixture(5, init_params="random_from_data", n_init=6, random_state=11).fit(X)
    assert best.lower_bound_ == max(bounds)
    winner = runs[int(np.argmax(bounds))]
    np.testing.assert_array_equal(best.means_, winner.means_)
    assert best.n_iter_ == winner.n_iter_


def test_em_never_decreases_the_log_likelihood():
    rng = np.random.default_rng(4)
    X, _ = _blobs(rng, n=300, d=3, k=3, spread=1.5)
    start = _start(rng, X, 3, "full")
    bounds = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for max_iter in range(1, 15):
            gm = GaussianMixture(3, tol=0.0, max_iter=max_iter, **start).fit(X)
            bounds.append(gm.lower_bound_)
            # lower_bound_ is from the last E-step; the fitted parameters came one M-step later
            assert gm.score(X) >= gm.lower_bound_ - 1e-12
    assert np.all(np.diff(bounds) >= -1e-12)
    assert bounds[-1] > bounds[0] + 0.1


def test_float32_input_is_worked_on_in_float32_with_float64_parameters():
    """The passes over the samples run in float32 (as scikit-learn's); the fit lands where the
    float64 fit does, and the small parameters stay float64."""
    X, _ = _blobs(np.random.default_rng(5), n=400, d=3, k=3, spread=2.0)
    X32 = X.astype(np.float32)
    a = GaussianMixture(3, random_state=0).fit(X32)
    b = GaussianMixture(3, random_state=0).fit(X32.astype(np.float64))
    assert a.means_.dtype == a.covariances_.dtype == a.precisions_cholesky_.dtype == np.float64
    np.testing.assert_allclose(a.means_, b.means_, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(a.covariances_, b.covariances_, rtol=1e-3, atol=1e-5)
    assert a.lower_bound_ == pytest.approx(b.lower_bound_, rel=1e-5)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    assert a.score_samples(X32).dtype == np.float32
    assert a.predict_proba(X32).dtype == np.float32
    assert b.score_samples(X32.astype(np.float64)).dtype == np.float64


def test_not_converged_warns():
    X, _ = _blobs(np.random.default_rng(6), n=200, d=2, k=3, spread=1.0)
    with pytest.warns(ConvergenceWarning, match="did not converge in max_iter=1"):
        gm = GaussianMixture(3, max_iter=1, random_state=0).fit(X)
    assert not gm.converged_ and gm.n_iter_ == 1


def _fit_error(exc, match, X=None, **kw):
    X = np.random.default_rng(0).normal(size=(10, 2)) if X is None else X
    with pytest.raises(exc, match=match):
        GaussianMixture(**kw).fit(X)


def test_bad_input_errors():
    X = np.random.default_rng(0).normal(size=(10, 2))
    _fit_error(ValueError, r"GaussianMixture\.fit: expected X of shape \(n_samples, "
               r"n_features\), got shape \(10,\)", X=X[:, 0])
    bad = X.copy()
    bad[3, 1] = np.nan
    _fit_error(ValueError, r"GaussianMixture\.fit: X contains NaN or infinity", X=bad)
    _fit_error(TypeError, r"GaussianMixture\.fit: expected a numeric array, got dtype <U1",
               X=np.array([["a", "b"]]))
    _fit_error(ValueError, r"expected n_samples >= n_components, got n_samples = 3 < "
               r"n_components = 5", X=X[:3], n_components=5)
    _fit_error(ValueError, r"expected covariance_type in \('full', 'diag'\), got 'tied'",
               covariance_type="tied")
    _fit_error(ValueError, r"expected init_params in .*, got 'kmeans\+\+'",
               init_params="kmeans++")
    _fit_error(ValueError, r"expected an integer n_components >= 1, got 0", n_components=0)
    _fit_error(ValueError, r"expected an integer max_iter >= 1, got 2.5", max_iter=2.5)
    _fit_error(ValueError, r"expected reg_covar >= 0, got -1", reg_covar=-1)
    _fit_error(ValueError, r"expected means_init of shape \(2, 2\), got \(2, 3\)",
               n_components=2, means_init=np.zeros((2, 3)))
    _fit_error(ValueError, r"expected weights_init >= 0 summing to 1, got sum 0\.9",
               n_components=2, weights_init=[0.5, 0.4])
    _fit_error(ValueError, r"expected symmetric positive-definite precisions_init",
               n_components=2, precisions_init=np.stack([np.eye(2), -np.eye(2)]))
    _fit_error(ValueError, r"expected positive precisions_init \(diagonal\)",
               n_components=2, covariance_type="diag", precisions_init=[[1, 1], [0, 1]])


def test_collapsed_component_error_names_the_fix():
    X = np.array([[0.0, 0.0]] * 5 + [[1.0, 1.0]] * 5)
    _fit_error(ValueError, r"ill-defined covariance.*larger reg_covar", X=X, n_components=2,
               reg_covar=0.0, random_state=0)


@pytest.mark.parametrize("method", ["predict", "predict_proba", "score_samples", "score",
                                    "bic", "aic"])
def test_use_before_fit_and_wrong_n_features(method):
    X = np.random.default_rng(0).normal(size=(10, 3))
    gm = GaussianMixture(2, random_state=0)
    with pytest.raises(NotFittedError, match=r"GaussianMixture\.\w+: .*call fit\(\) first"):
        getattr(gm, method)(X)
    gm.fit(X)
    with pytest.raises(ValueError, match=r"GaussianMixture\.\w+: X has 4 features, but "
                                         r"GaussianMixture is expecting 3 features"):
        getattr(gm, method)(np.zeros((5, 4)))
