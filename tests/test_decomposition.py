"""PCA against scikit-learn (up to sign), its defining properties, and its input validation."""
import numpy as np
import pytest
from sklearn.decomposition import PCA as SkPCA

from scratchnet.decomposition import PCA
from scratchnet.exceptions import NotFittedError


def _anisotropic(rng, n=200, d=6, dtype=np.float64):
    """Data whose variances along random orthogonal axes are well separated (no ties)."""
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    scales = np.linspace(5.0, 0.5, d)
    return (rng.standard_normal((n, d)) * scales @ Q.T + rng.normal(3.0, 1.0, d)).astype(dtype)


def _align_signs(A, B):
    """Flip the rows of B to match the signs of A (components are defined up to sign)."""
    signs = np.sign(np.sum(A * B, axis=1))
    return B * signs[:, None], signs


@pytest.mark.parametrize("n_components", [1, 3, 6])
def test_matches_sklearn_up_to_sign(n_components):
    rng = np.random.default_rng(0)
    X = _anisotropic(rng)
    ours = PCA(n_components).fit(X)
    ref = SkPCA(n_components, svd_solver="full").fit(X)
    comps, signs = _align_signs(ours.components_, ref.components_)
    np.testing.assert_allclose(ours.components_, comps, atol=1e-10)
    np.testing.assert_allclose(ours.explained_variance_, ref.explained_variance_, rtol=1e-10)
    np.testing.assert_allclose(ours.explained_variance_ratio_, ref.explained_variance_ratio_,
                               rtol=1e-10)
    np.testing.assert_allclose(ours.mean_, ref.mean_, rtol=1e-12)
    X_new = rng.standard_normal((7, X.shape[1]))
    np.testing.assert_allclose(ours.transform(X_new), ref.transform(X_new) * signs, atol=1e-10)


@pytest.mark.parametrize("n, d", [(50, 8), (6, 20)])   # tall (QR path) and wide data
def test_fit_transform_is_u_sigma_of_the_plain_svd(n, d):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((n, d)) * np.linspace(3, 1, d) + 2.0
    k = min(n, d) - 1
    pca = PCA(k)
    Z = pca.fit_transform(X)
    U, S, Vt = np.linalg.svd(X - X.mean(axis=0), full_matrices=False)
    # Independent of the sign rule: align each column with the textbook U_k S_k.
    expected = U[:, :k] * S[:k]
    signs = np.sign(np.sum(Z * expected, axis=0))
    np.testing.assert_allclose(Z, expected * signs, atol=1e-10)
    np.testing.assert_allclose(pca.singular_values_, S[:k], rtol=1e-12)
    ref = SkPCA(k, svd_solver="full").fit(X)
    np.testing.assert_allclose(pca.explained_variance_ratio_, ref.explained_variance_ratio_,
                               rtol=1e-10)


def test_properties_orthonormal_sorted_and_deterministic_signs():
    rng = np.random.default_rng(2)
    X = _anisotropic(rng, n=80, d=5)
    pca = PCA().fit(X)
    V = pca.components_
    np.testing.assert_allclose(V @ V.T, np.eye(5), atol=1e-12)
    assert np.all(np.diff(pca.explained_variance_) <= 0)
    np.testing.assert_allclose(pca.explained_variance_ratio_.sum(), 1.0, rtol=1e-12)
    # The sign rule: every component's largest-magnitude entry is positive.
    assert np.all(V[np.arange(5), np.argmax(np.abs(V), axis=1)] > 0)
    # Projected coordinates are uncorrelated with the stated variances.
    Z = pca.transform(X)
    np.testing.assert_allclose(np.cov(Z, rowvar=False), np.diag(pca.explained_variance_),
                               atol=1e-9)
    # All components kept: the round trip is exact.
    np.testing.assert_allclose(pca.inverse_transform(Z), X, atol=1e-10)
    # The sign rule makes the result independent of the sign LAPACK happens to return:
    # negated data has the same principal axes, so it gets the very same components.
    np.testing.assert_allclose(PCA().fit(-X).components_, V, atol=1e-12)


def test_hand_computed_line():
    # Points on the line y = 2x: one component along (1, 2)/sqrt(5), all the variance.
    x = np.arange(5.0)
    X = np.column_stack([x, 2 * x])
    pca = PCA(2).fit(X)
    np.testing.assert_allclose(pca.components_[0], np.array([1.0, 2.0]) / np.sqrt(5))
    np.testing.assert_allclose(pca.explained_variance_, [5 * np.var(x, ddof=1), 0.0], atol=1e-12)
    np.testing.assert_allclose(pca.explained_variance_ratio_, [1.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(pca.transform(X)[:, 0], np.sqrt(5) * (x - 2))


def test_dtype_float32_kept_and_ints_promoted():
    rng = np.random.default_rng(3)
    X32 = _anisotropic(rng, n=40, d=4, dtype=np.float32)
    pca = PCA(2).fit(X32)
    assert pca.components_.dtype == np.float32
    assert pca.transform(X32).dtype == np.float32
    Xi = rng.integers(0, 255, size=(30, 4))
    assert PCA(2).fit(Xi).components_.dtype == np.float64


def test_constant_data_gives_zero_ratio_not_nan():
    pca = PCA(2).fit(np.ones((10, 3)))
    np.testing.assert_array_equal(pca.explained_variance_ratio_, [0.0, 0.0])


@pytest.mark.parametrize("bad, message", [
    (np.zeros(5), r"expected X of shape \(n_samples, n_features\), got shape \(5,\)"),
    (np.zeros((1, 3)), r"at least 2 samples"),
])
def test_bad_inputs(bad, message):
    with pytest.raises(ValueError, match=message):
        PCA(1).fit(bad)


@pytest.mark.parametrize("k", [0, 4, 2.0, True])
def test_bad_n_components(k):
    X = np.random.default_rng(4).standard_normal((10, 3))
    with pytest.raises(ValueError, match=r"n_components an int in \[1, min\(N, D\)\] = \[1, 3\]"):
        PCA(k).fit(X)


def test_transform_errors():
    rng = np.random.default_rng(5)
    with pytest.raises(NotFittedError, match="call fit"):
        PCA(1).transform(rng.standard_normal((3, 2)))
    pca = PCA(1).fit(rng.standard_normal((10, 3)))
    with pytest.raises(ValueError, match=r"X has 2 features, but PCA is expecting 3"):
        pca.transform(rng.standard_normal((4, 2)))
    with pytest.raises(ValueError, match="NaN"):
        pca.transform(np.full((2, 3), np.nan))
