"""KMeans against scikit-learn, the Numba Lloyd kernel against its NumPy reference, and the
properties any K-means must have."""
import numpy as np
import pytest
from sklearn.cluster import KMeans as SkKMeans
from sklearn.metrics import adjusted_rand_score

from scratchnet.cluster import KMeans
from scratchnet.exceptions import ConvergenceWarning, NotFittedError
from scratchnet.cluster._lloyd import (lloyd_iter, lloyd_iter_reference, make_buffers)


def _blobs(rng, n=600, d=8, k=4, spread=10.0, std=1.0, dtype=np.float64):
    centers = rng.normal(scale=spread, size=(k, d))
    y = rng.integers(k, size=n)
    X = centers[y] + rng.normal(scale=std, size=(n, d))
    return X.astype(dtype), y


def test_hand_computed_toy_case():
    X = np.array([[0.0, 0.0], [0.0, 2.0], [10.0, 0.0], [10.0, 2.0], [10.0, 4.0]])
    km = KMeans(n_clusters=2, init=np.array([[1.0, 1.0], [9.0, 1.0]]), n_init=1).fit(X)
    np.testing.assert_array_equal(km.labels_, [0, 0, 1, 1, 1])
    np.testing.assert_allclose(km.cluster_centers_, [[0.0, 1.0], [10.0, 2.0]])
    assert km.inertia_ == pytest.approx(1 + 1 + 4 + 0 + 4)
    assert km.n_iter_ == 2  # the second iteration changes no label: strict convergence


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_same_as_sklearn_from_same_initial_centers(dtype):
    rng = np.random.default_rng(0)
    # overlapping blobs, so it takes several iterations and labels move between clusters
    X, _ = _blobs(rng, n=1500, d=12, k=6, spread=3.0, std=2.0, dtype=dtype)
    init = X[rng.choice(len(X), 6, replace=False)]
    for tol in (1e-4, 0.0):
        ours = KMeans(6, init=init, n_init=1, tol=tol).fit(X)
        ref = SkKMeans(6, init=init, n_init=1, tol=tol).fit(X)
        assert ref.n_iter_ > 3  # the comparison exercises real iterations
        np.testing.assert_array_equal(ours.labels_, ref.labels_)
        assert ours.n_iter_ == ref.n_iter_
        assert ours.inertia_ == pytest.approx(ref.inertia_, rel=1e-6)
        assert ours.cluster_centers_.dtype == dtype
        np.testing.assert_allclose(ours.cluster_centers_, ref.cluster_centers_,
                                   rtol=1e-5 if dtype == np.float32 else 1e-10, atol=1e-5)


@pytest.mark.parametrize("init", ["k-means++", "random"])
def test_recovers_separable_blobs_like_sklearn(init):
    rng = np.random.default_rng(1)
    X, y = _blobs(rng, n=800, d=5, k=5, spread=20.0)
    ours = KMeans(5, init=init, n_init=5, random_state=3).fit(X)
    ref = SkKMeans(5, init=init, n_init=5, random_state=3).fit(X)
    assert adjusted_rand_score(ours.labels_, ref.labels_) == 1.0
    assert adjusted_rand_score(ours.labels_, y) == 1.0
    assert ours.inertia_ == pytest.approx(ref.inertia_, rel=1e-9)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_numba_kernel_equals_numpy_reference(dtype):
    rng = np.random.default_rng(2)
    X, _ = _blobs(rng, n=301, d=7, k=5, spread=2.0, std=1.0, dtype=dtype)  # odd n: the tail row
    X = X - X.mean(axis=0)
    centers = X[:5].copy()
    centers[4] = 100.0  # far from everything: this cluster comes out empty and is relocated
    outs = []
    for step in ("ref", "numba"):
        c_new = np.zeros_like(centers)
        w = np.zeros(5, dtype=dtype)
        labels = np.full(len(X), -1, np.int32)
        shift = np.zeros(5)
        if step == "ref":
            lloyd_iter_reference(X, centers, c_new, w, labels, shift)
        else:
            lloyd_iter(X, centers, c_new, w, labels, shift, make_buffers(X, 5, n_tasks=3))
        outs.append((c_new, w, labels, shift))
    (c1, w1, l1, s1), (c2, w2, l2, s2) = outs
    np.testing.assert_array_equal(l1, l2)
    np.testing.assert_array_equal(w1, w2)
    assert w1.min() >= 1  # the empty cluster was given a sample
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(c1, c2, rtol=tol, atol=tol)
    np.testing.assert_allclose(s1, s2, rtol=tol, atol=tol)


def test_inertia_never_increases():
    rng = np.random.default_rng(3)
    X, _ = _blobs(rng, n=500, d=4, k=6, spread=2.0, std=1.5)
    init = X[:6].copy()
    inertias = []
    for it in range(1, 12):
        km = KMeans(6, init=init, n_init=1, max_iter=it, tol=0.0).fit(X)
        inertias.append(km.inertia_)
    assert np.all(np.diff(inertias) <= 1e-9 * inertias[0])
    assert inertias[-1] < inertias[0]


def test_predict_transform_fit_predict_agree():
    rng = np.random.default_rng(4)
    X, _ = _blobs(rng, n=400, d=6, k=3)
    km = KMeans(3, random_state=0, n_init=2)
    labels = km.fit_predict(X)
    np.testing.assert_array_equal(km.predict(X), labels)
    D = km.transform(X)
    brute = np.linalg.norm(X[:, None, :] - km.cluster_centers_[None], axis=2)
    np.testing.assert_allclose(D, brute, rtol=1e-7, atol=1e-7)
    np.testing.assert_array_equal(D.argmin(axis=1), labels)
    assert km.inertia_ == pytest.approx((D.min(axis=1) ** 2).sum(), rel=1e-9)


def test_best_of_n_init_and_random_state_forms():
    rng = np.random.default_rng(5)
    X, _ = _blobs(rng, n=300, d=3, k=8, spread=3.0)
    one = [KMeans(8, n_init=1, random_state=s).fit(X).inertia_ for s in range(6)]
    best = KMeans(8, n_init=6, random_state=0).fit(X).inertia_
    assert best <= max(one)
    a = KMeans(8, n_init=2, random_state=7).fit(X)
    b = KMeans(8, n_init=2, random_state=np.random.default_rng(7)).fit(X)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    KMeans(8, n_init=1, random_state=None).fit(X)


def test_fewer_distinct_points_than_clusters_warns():
    X = np.repeat(np.array([[0.0, 0.0], [1.0, 1.0], [5.0, 5.0]]), 4, axis=0)
    with pytest.warns(ConvergenceWarning, match="distinct clusters"):
        km = KMeans(5, n_init=2, random_state=0).fit(X)
    assert km.inertia_ == pytest.approx(0.0)


def test_verbose_shows_progress(capsys):
    X = np.random.default_rng(8).normal(size=(60, 2))
    KMeans(3, n_init=1, random_state=0, verbose=True).fit(X)
    assert "k-means" in capsys.readouterr().err


def test_explicit_init_forces_one_run():
    X = np.random.default_rng(6).normal(size=(50, 2))
    with pytest.warns(RuntimeWarning, match="n_init=10 is replaced by 1"):
        KMeans(2, init=X[:2], n_init=10).fit(X)


@pytest.mark.parametrize("X, match", [
    (np.zeros(10), r"expected X of shape \(n_samples, n_features\), got shape \(10,\)"),
    (np.zeros((2, 3, 4)), r"got shape \(2, 3, 4\)"),
    (np.array([[0.0, np.nan], [1.0, 1.0], [2, 2]]), "NaN or infinity"),
    (np.array([[0.0, np.inf], [1.0, 1.0], [2, 2]]), "NaN or infinity"),
])
def test_bad_X(X, match):
    with pytest.raises(ValueError, match=match):
        KMeans(2).fit(X)


def test_bad_parameters():
    X = np.random.default_rng(7).normal(size=(5, 2))
    with pytest.raises(ValueError, match=r"1 <= n_clusters <= n_samples = 5, got 0"):
        KMeans(0).fit(X)
    with pytest.raises(ValueError, match=r"n_samples = 5, got 6"):
        KMeans(6).fit(X)
    with pytest.raises(ValueError, match=r"init of shape \(2, 2\), got \(3, 2\)"):
        KMeans(2, init=np.zeros((3, 2))).fit(X)
    with pytest.raises(TypeError, match="numeric"):
        KMeans(2).fit(np.array([["a", "b"], ["c", "d"]]))
    with pytest.raises(NotFittedError, match="call fit"):
        KMeans(2).predict(X)
    km = KMeans(2, n_init=1, random_state=0).fit(X)
    with pytest.raises(ValueError, match="X has 4 features, but KMeans is expecting 2"):
        km.predict(np.zeros((3, 4)))


@pytest.mark.filterwarnings("ignore:Number of distinct clusters")  # scikit-learn's, expected
def test_no_relocation_when_every_point_is_on_its_center():
    """Duplicated points: started at the points themselves, one cluster is empty but no sample
    can gain by moving, so one iteration is right (scikit-learn's #28055 regression case)."""
    X = np.array([[0, 0], [1, 1], [1, 1], [1, 0], [0, 1]], dtype=float)
    with pytest.warns(ConvergenceWarning, match="distinct clusters"):
        ours = KMeans(n_clusters=5, init=X, n_init=1).fit(X)
    ref = SkKMeans(n_clusters=5, init=X, n_init=1).fit(X)
    assert ours.n_iter_ == ref.n_iter_ == 1
    np.testing.assert_array_equal(ours.labels_, ref.labels_)
    np.testing.assert_array_equal(ours.cluster_centers_, X)
    assert ours.inertia_ == 0.0


def test_transform_is_accurate_in_float32_far_from_the_origin():
    """||x||² - 2x·c + ||c||² in float32 at offset 1,000 lost whole units."""
    from scipy.spatial.distance import cdist
    X = (1000 + np.random.default_rng(0).normal(0, 2, (2000, 8))).astype(np.float32)
    km = KMeans(5, n_init=2, random_state=0).fit(X)
    D = km.transform(X)
    assert D.dtype == np.float32
    exact = cdist(X.astype(np.float64), km.cluster_centers_.astype(np.float64))
    np.testing.assert_allclose(D, exact, atol=1e-5, rtol=1e-5)
