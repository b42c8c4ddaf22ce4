"""Contingency, purity, NMI, ARI and cluster composition against scikit-learn and by hand."""
import numpy as np
import pytest
from sklearn import metrics as skm

from scratchnet.metrics import (adjusted_rand_score, cluster_composition, contingency_matrix,
                                clustering_accuracy, normalized_mutual_info_score,
                                purity_score)


def _pairs(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 6, size=500)
    noisy = np.where(rng.uniform(size=500) < 0.3, rng.integers(0, 8, size=500), y)
    return [(y, noisy), (y, rng.integers(0, 3, size=500)), (y, (y + 1) % 6),
            (y, np.zeros(500, int)), (np.zeros(5, int), np.zeros(5, int)),
            (np.arange(7), np.arange(7)), (np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1]))]


@pytest.mark.parametrize("i", range(7))
def test_nmi_ari_contingency_equal_sklearn(i):
    y_true, y_pred = _pairs(i)[i]
    assert normalized_mutual_info_score(y_true, y_pred) == pytest.approx(
        skm.normalized_mutual_info_score(y_true, y_pred), abs=1e-12)
    assert adjusted_rand_score(y_true, y_pred) == pytest.approx(
        skm.adjusted_rand_score(y_true, y_pred), abs=1e-12)
    np.testing.assert_array_equal(contingency_matrix(y_true, y_pred),
                                  skm.cluster.contingency_matrix(y_true, y_pred))


def test_ari_no_overflow_on_large_inputs():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 10, size=200_000)
    p = np.where(rng.uniform(size=y.size) < 0.5, y, rng.integers(0, 10, size=y.size))
    assert adjusted_rand_score(y, p) == pytest.approx(skm.adjusted_rand_score(y, p), abs=1e-12)


def test_purity_by_hand():
    y_true = ["a", "a", "a", "b", "b", "c"]
    y_pred = [0, 0, 1, 1, 1, 1]
    # cluster 0: 2 a -> 2; cluster 1: 1 a, 2 b, 1 c -> 2
    assert purity_score(y_true, y_pred) == pytest.approx(4 / 6)
    assert purity_score(y_true, y_true) == 1.0


def test_cluster_composition_most_frequent_first():
    y_true = [4, 4, 9, 4, 9, 1, 7]
    y_pred = [6, 6, 6, 6, 6, 0, 6]
    comp = cluster_composition(y_true, y_pred)
    assert comp == [(0, 1, [(1, 1)]), (6, 6, [(4, 3), (9, 2), (7, 1)])]
    assert sum(size for _, size, _ in comp) == len(y_true)


def test_label_pair_validation():
    for f in (normalized_mutual_info_score, adjusted_rand_score, purity_score,
              contingency_matrix, cluster_composition):
        with pytest.raises(ValueError, match=r"expected y_pred of shape \(3,\) like y_true"):
            f([0, 1, 1], [0, 1])
        with pytest.raises(ValueError, match=r"expected y_true of shape \(n,\)"):
            f(np.zeros((2, 2)), np.zeros((2, 2)))


@pytest.mark.parametrize("y_true,y_pred", [([0] * 469, [1] + [0] * 468),
                                           ([1] + [0] * 468, [0] * 469),
                                           ([3] * 10, list(range(10)))])
def test_nmi_is_exactly_zero_when_one_labelling_is_a_single_group(y_true, y_pred):
    """scikit-learn's regression case #13836: the sum of logarithms left 1.2e-13 here."""
    assert normalized_mutual_info_score(y_true, y_pred) == 0.0


@pytest.mark.parametrize("score", [normalized_mutual_info_score, adjusted_rand_score,
                                   purity_score])
@pytest.mark.parametrize("which", ["y_true", "y_pred"])
def test_nan_labels_are_refused(score, which):
    good, bad = [0.0, 1.0, 1.0, 0.0], [0.0, np.nan, 1.0, np.nan]
    args = (bad, good) if which == "y_true" else (good, bad)
    with pytest.raises(ValueError, match=f"{which} contain NaN"):
        score(*args)


def test_many_distinct_labels_need_no_dense_table():
    """20,000 distinct values on each side: a dense 20,000² table took 75 s and 9.5 GB here;
    the scores come from the sorted pairs instead."""
    import time
    rng = np.random.default_rng(0)
    y_true = rng.permutation(20_000)
    y_pred = np.where(rng.random(20_000) < 0.5, y_true, rng.integers(0, 20_000, 20_000))
    import tracemalloc
    start = time.perf_counter()
    tracemalloc.start()  # NumPy reports its allocations to tracemalloc
    try:
        ours = (adjusted_rand_score(y_true, y_pred),
                normalized_mutual_info_score(y_true, y_pred), purity_score(y_true, y_pred))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - start < 5.0
    assert peak < 50e6, f"peak {peak / 1e6:.0f} MB; a dense table would be 3,200 MB"
    assert ours[0] == pytest.approx(skm.adjusted_rand_score(y_true, y_pred), abs=1e-12)
    assert ours[1] == pytest.approx(skm.normalized_mutual_info_score(y_true, y_pred), abs=1e-12)
    C = skm.cluster.contingency_matrix(y_true, y_pred, sparse=True)
    assert ours[2] == pytest.approx(C.max(axis=0).toarray().sum() / 20_000, abs=1e-15)


@pytest.mark.parametrize("score", [adjusted_rand_score, normalized_mutual_info_score,
                                   purity_score, clustering_accuracy])
def test_every_score_refuses_empty_labels_the_same_way(score):
    """One rule for all four: no samples, no score (scikit-learn's NMI and ARI say 1.0)."""
    with pytest.raises(ValueError, match=f"{score.__name__}: expected at least one sample, "
                                         f"got 0"):
        score([], [])
