"""The fast silhouette and Dunn against their plain NumPy twins in the package (the O(n^2)
definitions), and the twins against outside oracles: scikit-learn's silhouette, a Dunn index
from scipy's cdist."""
import numpy as np
import pytest
from scipy.spatial.distance import cdist
from sklearn.metrics import silhouette_samples as sk_samples
from sklearn.metrics import silhouette_score as sk_score

from scratchnet.metrics import (dunn_index, dunn_index_reference, silhouette_samples,
                                silhouette_samples_reference, silhouette_score)
from scratchnet.metrics import _pairwise, dunn as _dunn


def _data(seed, n=300, d=6, k=4, dtype=np.float64):
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=3.0, size=(k, d))
    y = rng.integers(k, size=n)
    return (centers[y] + rng.normal(size=(n, d)) + 5.0).astype(dtype), y


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of 64 rows, so a few hundred samples exercise many off-diagonal blocks."""
    monkeypatch.setattr(_pairwise, "BLOCK", 64)
    monkeypatch.setattr(_pairwise.SortedByLabel.upper_blocks, "__defaults__", (0, None, 64))
    monkeypatch.setattr(_dunn, "BLOCK", 64)


def _cdist_dunn(X, y):
    """Outside oracle for dunn_index_reference: the definition on scipy's distances."""
    D = cdist(X.astype(np.float64), X.astype(np.float64))
    same = y[:, None] == y[None, :]
    return D[~same].min() / D[same].max()


@pytest.mark.parametrize("f", [silhouette_samples, silhouette_samples_reference])
def test_silhouette_rousseeuw_toy_case(f):
    X = np.array([[0.0], [1.0], [10.0], [12.0]])
    # a = 1, 1, 2, 2; b = 11, 10, 9.5, 11.5
    expected = [10 / 11, 9 / 10, 7.5 / 9.5, 9.5 / 11.5]
    np.testing.assert_allclose(f(X, [0, 0, 1, 1]), expected, rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_silhouette_equals_reference_and_sklearn(dtype, small_blocks):
    X, y = _data(1, dtype=dtype)
    X[0] = X[1] + 1e-3  # a close pair: the identity cancels here, the exact path must not
    X[5] = X[7] = X[9]  # duplicates
    ref = silhouette_samples_reference(X, y)
    np.testing.assert_allclose(ref, sk_samples(X, y), rtol=0, atol=1e-6)
    # float32 is multiplied in float32 by the fast path (measured: 1.8e-8 from the reference)
    atol = 1e-12 if dtype == np.float64 else 1e-6
    np.testing.assert_allclose(silhouette_samples(X, y), ref, rtol=0, atol=atol)
    np.testing.assert_allclose(silhouette_samples(X, y), sk_samples(X, y), rtol=0, atol=1e-6)


def test_silhouette_singleton_and_identical_points_cluster(small_blocks):
    X, y = _data(2, n=200)
    y[17] = 10  # a singleton cluster
    X[y == 2] = X[y == 2][0]  # a cluster of identical points
    ours = silhouette_samples(X, y)
    ref = silhouette_samples_reference(X, y)
    np.testing.assert_allclose(ours, sk_samples(X, y), rtol=0, atol=1e-6)
    np.testing.assert_allclose(ref, sk_samples(X, y), rtol=0, atol=1e-6)
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-12)
    assert ours[17] == 0.0 and ref[17] == 0.0
    np.testing.assert_allclose(ours[y == 2], 1.0, atol=1e-12)
    np.testing.assert_array_equal(ref[y == 2], 1.0)


def test_silhouette_score_and_sampling():
    X, y = _data(3, n=250)
    assert silhouette_score(X, y) == pytest.approx(sk_score(X, y), abs=1e-9)
    a = silhouette_score(X, y, sample_size=120, random_state=5)
    b = silhouette_score(X, y, sample_size=120, random_state=np.random.default_rng(5))
    assert a == b and a != silhouette_score(X, y)
    idx = np.random.default_rng(5).permutation(250)[:120]
    assert a == pytest.approx(sk_score(X[idx], y[idx]), abs=1e-9)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_dunn_equals_reference_and_is_scale_invariant(dtype, small_blocks):
    for seed in range(3):
        X, y = _data(10 + seed, n=257, dtype=dtype)
        X[3] = X[4] + 1e-4  # a near pair (same or different cluster)
        ref = dunn_index_reference(X, y)
        assert dunn_index(X, y) == pytest.approx(ref, rel=1e-12)
        scaled = X * dtype(8.0)  # a power of two: scaling is exact in floating point
        assert dunn_index(scaled, y) == pytest.approx(dunn_index(X, y), rel=1e-12)
        other = X * dtype(3.3)  # rounded: compare with the brute force on the rounded data
        assert dunn_index(other, y) == pytest.approx(dunn_index_reference(other, y), rel=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_dunn_exact_in_high_dimension(dtype, small_blocks):
    """d > 32: the smallest gap goes through the projected lower bound and its pruning."""
    rng = np.random.default_rng(20)
    base = rng.uniform(size=(5, 150))
    y = rng.integers(5, size=300)
    X = (base[y] + 0.3 * rng.uniform(size=(300, 150))).astype(dtype)
    X[10] = X[200] + dtype(1e-3)  # a very close pair, likely in different clusters
    for labels in (y, np.roll(y, 7)):
        assert dunn_index(X, labels) == pytest.approx(dunn_index_reference(X, labels),
                                                      rel=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dunn_exact_when_the_projection_sees_little(dtype, small_blocks):
    """Points on a sphere in 200-d: no 32 directions hold most of the spread, so the brackets
    are loose and many pairs go to the exact path; the answer must not change."""
    rng = np.random.default_rng(21)
    X = rng.standard_normal((240, 200))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    X = X.astype(dtype)
    y = rng.integers(3, size=240)
    assert dunn_index(X, y) == pytest.approx(dunn_index_reference(X, y), rel=1e-12)


@pytest.mark.parametrize("f", [dunn_index, dunn_index_reference])
def test_dunn_degenerate_diameter_is_inf(f):
    X = np.array([[0.0, 0.0], [0.0, 0.0], [3.0, 4.0]])
    assert f(X, [0, 0, 1]) == np.inf


@pytest.mark.parametrize("f", [silhouette_samples, dunn_index, silhouette_samples_reference,
                               dunn_index_reference])
def test_bad_input(f):
    X = np.random.default_rng(0).normal(size=(10, 3))
    y = np.arange(10) % 3
    with pytest.raises(ValueError,
                       match=r"expected X of shape \(n_samples, n_features\), got \(10,\)"):
        f(X[:, 0], y)
    with pytest.raises(ValueError, match=r"got \(10, 3, 1\)"):
        f(X[..., None], y)
    with pytest.raises(ValueError,
                       match=r"expected labels of shape \(10,\) to match X, got \(9,\)"):
        f(X, y[:9])
    with pytest.raises(ValueError, match="expected at least 2 distinct labels, got 1"):
        f(X, np.zeros(10))
    bad = X.copy()
    bad[2, 1] = np.nan
    with pytest.raises(ValueError, match="NaN or infinity"):
        f(bad, y)
    with pytest.raises(TypeError, match="numeric X"):
        f(np.full((10, 2), "a"), y)


@pytest.mark.parametrize("f", [silhouette_samples, silhouette_samples_reference])
def test_silhouette_too_many_labels(f):
    X = np.random.default_rng(0).normal(size=(4, 2))
    with pytest.raises(ValueError, match="expected 2 to n_samples - 1 = 3 distinct labels, got 4"):
        f(X, [0, 1, 2, 3])


def test_silhouette_takes_a_column_of_labels_and_refuses_nan():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    labels = np.arange(40) % 3
    np.testing.assert_array_equal(silhouette_samples(X, labels[:, None]),
                                  silhouette_samples(X, labels))
    assert silhouette_score(X, labels[:, None], sample_size=30, random_state=0) == \
        silhouette_score(X, labels, sample_size=30, random_state=0)
    with pytest.raises(ValueError, match="labels contain NaN"):
        silhouette_samples(X, np.where(labels == 0, np.nan, labels.astype(float)))
    with pytest.raises(ValueError, match="labels contain NaN"):
        dunn_index(X, np.where(labels == 0, np.nan, labels.astype(float)))


@pytest.mark.parametrize("seed", range(20))
def test_dunn_exact_on_rank_deficient_data(seed):
    """Rank 3 in 40 dimensions (and a dead unit): the projected basis must stay orthonormal,
    or the brackets skip the closest pair (an earlier version was wrong on 2 of these 20 seeds)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(300, 3)) @ rng.normal(size=(3, 40))
    X[:, 7] = 0.0
    y = rng.integers(0, 4, 300)
    D = cdist(X, X)
    same = y[:, None] == y[None, :]
    assert dunn_index(X, y) == pytest.approx(D[~same].min() / D[same].max(), rel=1e-9)
    assert dunn_index(X, y) == pytest.approx(dunn_index_reference(X, y), rel=1e-9)


def test_dunn_on_points_on_a_line_and_a_near_rank_one_cloud():
    assert dunn_index(np.array([[0.0, 0.0], [1.0, 0.0], [5.0, 0.0], [6.0, 0.0]]),
                      [0, 0, 1, 1]) == pytest.approx(4.0)
    X = np.array([[3.957, .797, -.978], [1.31, .264, -.324], [-.147, -.03, .036],
                  [-5.552, -1.118, 1.372], [2.453, .494, -.606], [6.091, 1.226, -1.505]])
    y = np.arange(6) % 2
    D = cdist(X, X)
    same = y[:, None] == y[None, :]
    assert dunn_index(X, y) == pytest.approx(D[~same].min() / D[same].max(), rel=1e-9)
    assert dunn_index(X, y) == pytest.approx(dunn_index_reference(X, y), rel=1e-9)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_dunn_exact_with_duplicated_points_and_far_from_the_origin(dtype, small_blocks):
    """Duplicates give zero distances inside and across clusters; an offset of 10,000 makes
    ||x||² - 2x·y + ||y||² cancel badly. Both against the brute force on the same data."""
    rng = np.random.default_rng(22)
    X, y = _data(23, n=200, d=50)
    X[10:20] = X[0]                       # ten copies of one point
    y[10:15], y[15:20] = y[0], (y[0] + 1) % 4  # ... half in its cluster, half in another
    assert dunn_index(X.astype(dtype), y) == 0.0  # a copy in another cluster: gap 0
    assert dunn_index_reference(X.astype(dtype), y) == 0.0
    y[15:20] = y[0]
    X = X.astype(dtype)
    assert dunn_index(X, y) == pytest.approx(dunn_index_reference(X, y), rel=1e-12)
    far = (X.astype(np.float64) + 1e4 + rng.normal(scale=1e-3, size=X.shape[1])).astype(dtype)
    assert dunn_index(far, y) == pytest.approx(dunn_index_reference(far, y), rel=1e-9)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_dunn_reference_equals_scipy_cdist(dtype):
    """The package's O(n^2) definition against the same definition on scipy's distances, on the
    kinds of data the tests above hold dunn_index to it with."""
    rng = np.random.default_rng(24)
    cases = [_data(10, n=257, dtype=dtype), _data(11, n=120, d=40, dtype=dtype)]
    X, y = _data(23, n=200, d=50)
    X[10:20] = X[0]  # duplicates within one cluster
    y[10:20] = y[0]
    cases.append((X.astype(dtype), y))
    far = (X + 1e4 + rng.normal(scale=1e-3, size=X.shape[1])).astype(dtype)
    cases.append((far, y))
    sphere = rng.standard_normal((240, 200))
    cases.append(((sphere / np.linalg.norm(sphere, axis=1, keepdims=True)).astype(dtype),
                  rng.integers(3, size=240)))
    for X, y in cases:
        assert dunn_index_reference(X, y) == pytest.approx(_cdist_dunn(X, y), rel=1e-12)
