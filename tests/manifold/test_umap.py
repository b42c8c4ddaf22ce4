"""UMAP from scratch: each step against its definition or reference, then the whole estimator.

scikit-learn serves as the oracle for the neighbours and for trustworthiness; umap-learn is never
imported here (it is an optional reference of the benchmarks only): its trustworthiness on the
same data is quoted as a measured constant.
"""
import numpy as np
import pytest
from sklearn.manifold import trustworthiness
from sklearn.metrics import adjusted_rand_score
from sklearn.neighbors import NearestNeighbors

from scratchnet.cluster import KMeans
from scratchnet.exceptions import NotFittedError
from scratchnet.manifold import (UMAP, CSRGraph, exact_knn, find_ab_params, fuzzy_union,
                                 knn_reference, membership_strengths, smooth_knn_dist,
                                 spectral_layout)
from scratchnet.manifold._layout import (EpochSchedule, _layout_epoch_kernel, block_bounds,
                                        layout_epoch_reference, optimize_layout)


def blobs(n_per=60, centers=4, dim=8, gap=30.0, seed=0):
    rng = np.random.default_rng(seed)
    C = rng.normal(0, gap, (centers, dim))
    X = np.concatenate([c + rng.normal(0, 1, (n_per, dim)) for c in C])
    return X.astype(np.float32), np.repeat(np.arange(centers), n_per)


# -- k nearest neighbours -----------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n,d,k", [(700, 5, 10), (1200, 50, 15), (300, 784, 30)])
def test_exact_knn_equals_scikit_learn(dtype, n, d, k):
    X = np.random.default_rng(n + d).normal(3.0, 1.0, (n, d)).astype(dtype)
    idx, dist = exact_knn(X, X, k)
    ref_dist, ref_idx = NearestNeighbors(n_neighbors=k, algorithm="brute").fit(
        X.astype(np.float64)).kneighbors(X.astype(np.float64))
    np.testing.assert_array_equal(idx, ref_idx)
    # the distances are exact (scikit-learn's GEMM gives ~1e-5 instead of 0 for a point itself)
    exact = np.linalg.norm(X[:, None, :].astype(np.float64) - X[idx].astype(np.float64), axis=2)
    np.testing.assert_allclose(dist, exact, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dist, ref_dist, rtol=1e-5, atol=1e-4)
    assert (idx[:, 0] == np.arange(n)).all()


def test_exact_knn_matches_reference_for_other_queries_far_from_origin():
    rng = np.random.default_rng(1)
    X = rng.normal(1000.0, 1.0, (400, 6)).astype(np.float32)  # norms >> distances
    Q = rng.normal(1000.0, 1.0, (90, 6)).astype(np.float32)
    idx, dist = exact_knn(Q, X, 7)
    ref_idx, ref_dist = knn_reference(Q, X, 7)
    np.testing.assert_array_equal(idx, ref_idx)
    np.testing.assert_allclose(dist, ref_dist, rtol=1e-12)


# -- the fuzzy graph ----------------------------------------------------------------------------
def test_smooth_knn_dist_solves_its_equation():
    X, _ = blobs()
    k = 15
    _, D = exact_knn(X, X, k)
    sigmas, rhos = smooth_knn_dist(D, k)
    np.testing.assert_allclose(rhos, D[:, 1])      # no duplicates: the nearest other point
    gaps = np.maximum(D[:, 1:] - rhos[:, None], 0)
    sums = np.exp(-gaps / sigmas[:, None]).sum(axis=1)
    np.testing.assert_allclose(sums, np.log2(k), atol=1e-4)


@pytest.mark.parametrize("skip_first", [True, False])
def test_smooth_knn_dist_equals_its_per_point_twin(skip_first):
    """The masked all-points bisection and the per-point loop of the paper: the same sigma
    and rho, duplicates and a point with only duplicates included."""
    from scratchnet.manifold._graph import smooth_knn_dist_reference
    X, _ = blobs()
    _, D = exact_knn(X, X, 10)
    D = np.vstack([D, np.zeros((1, 10)), [[0, 0, 0, 1, 1, 2, 3, 3, 3, 9.0]]])
    fast = smooth_knn_dist(D, 10, skip_first=skip_first)
    plain = smooth_knn_dist_reference(D, 10, skip_first=skip_first)
    for a, b in zip(fast, plain):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


def test_smooth_knn_dist_ignores_duplicates_for_rho():
    D = np.array([[0.0, 0.0, 0.0, 2.0, 3.0, 4.0]])
    _, rhos = smooth_knn_dist(D, 6)
    assert rhos[0] == 2.0


def test_fuzzy_union_is_probabilistic_or():
    rng = np.random.default_rng(0)
    n = 30
    A = np.where(rng.random((n, n)) < 0.2, rng.random((n, n)), 0.0)
    np.fill_diagonal(A, 0)
    r, c = np.nonzero(A)
    W = fuzzy_union(r, c, A[r, c], n)
    np.testing.assert_allclose(W.toarray(), A + A.T - A * A.T, atol=1e-15)
    assert (np.diff(W.indptr) >= 0).all()
    x = rng.normal(size=n)
    np.testing.assert_allclose(W.matvec(x), (A + A.T - A * A.T) @ x)


def test_membership_strengths_follow_the_definition():
    idx = np.array([[0, 1, 2], [1, 0, 2]])
    dist = np.array([[0.0, 1.0, 3.0], [0.0, 1.0, 2.0]])
    rows, cols, vals = membership_strengths(idx, dist, np.array([2.0, 1.0]), np.array([1.0, 1.0]))
    np.testing.assert_array_equal(rows, [0, 0, 1, 1])
    np.testing.assert_array_equal(cols, [1, 2, 0, 2])
    np.testing.assert_allclose(vals, [1.0, np.exp(-1.0), 1.0, np.exp(-1.0)])


def test_spectral_layout_spans_the_dense_eigenvectors():
    X = np.random.default_rng(0).uniform(0, 1, (150, 3))   # one connected component
    idx, dist = exact_knn(X, X, 10)
    s, r = smooth_knn_dist(dist, 10)
    W = fuzzy_union(*membership_strengths(idx, dist, s, r), len(X))
    V = spectral_layout(W, 3, random_state=0)
    A = W.toarray()
    deg = A.sum(1)
    M = A / np.sqrt(np.outer(deg, deg))
    vals, vecs = np.linalg.eigh(M)
    ref = vecs[:, ::-1][:, 1:4]             # after the trivial one
    # the same subspace: projecting the reference onto V loses nothing
    Qv, _ = np.linalg.qr(V)
    np.testing.assert_allclose(np.linalg.norm(Qv.T @ ref, axis=0), 1.0, atol=1e-5)


def test_spectral_layout_too_small_graph_gives_none():
    W = CSRGraph(np.array([0, 1, 2]), np.array([1, 0]), np.array([1.0, 1.0]), (2, 2))
    assert spectral_layout(W, 2, random_state=0) is None


# -- the layout ---------------------------------------------------------------------------------
@pytest.mark.parametrize("min_dist,a,b", [(0.1, 1.577, 0.8951), (0.0, 1.929, 0.7915),
                                          (0.5, 0.5830, 1.3342)])
def test_find_ab_params_matches_umap_learns_values(min_dist, a, b):
    # umap-learn (scipy.optimize.curve_fit) gives these for spread=1
    got_a, got_b = find_ab_params(1.0, min_dist)
    assert got_a == pytest.approx(a, abs=5e-3) and got_b == pytest.approx(b, abs=5e-3)


@pytest.mark.parametrize("move_tail", [True, False])
def test_layout_kernel_equals_its_reference(move_tail):
    """Epoch by epoch from the same state: SGD on a small dense graph is chaotic (a 1e-14
    difference grows tenfold per epoch), so each epoch is compared on its own."""
    rng = np.random.default_rng(0)
    n, dim = 40, 3
    heads = np.sort(rng.integers(0, n, 200))
    tails = rng.integers(0, n, 200)
    weights = rng.uniform(0.05, 1.0, 200)
    point_lo = block_bounds(heads, n, n_blocks=4)
    start = rng.uniform(0, 10, (n, dim))
    fixed_tail = start + 0.5
    schedule = EpochSchedule(weights, 5, np.random.default_rng(3))
    state = start.copy()
    for epoch in range(20):
        edges, n_neg, negatives = schedule.epoch_samples(epoch, n)
        out = []
        for kernel in (_layout_epoch_kernel, layout_epoch_reference):
            head = state.copy()
            tail = head if move_tail else fixed_tail.copy()
            kernel(head, tail, heads, tails, edges, n_neg, negatives, 1.58, 0.9,
                   1.0 - epoch / 20, move_tail, point_lo, 3)
            out.append(head)
        np.testing.assert_allclose(out[0], out[1], rtol=1e-8, atol=1e-8)  # float32 constants
        state = out[1]
    assert not np.allclose(state, start)


def test_optimize_layout_moves_float32_in_place():
    rng = np.random.default_rng(0)
    emb = rng.uniform(0, 10, (30, 2)).astype(np.float32)
    before = emb.copy()
    out = optimize_layout(emb, emb, rng.integers(0, 30, 90), rng.integers(0, 30, 90),
                          rng.uniform(0.1, 1, 90), 10, 1.58, 0.9, np.random.default_rng(1))
    assert out is emb and emb.dtype == np.float32 and not np.allclose(emb, before)


# -- the estimator ------------------------------------------------------------------------------
def test_separated_blobs_stay_separated():
    X, y = blobs(n_per=80, centers=5)
    um = UMAP(n_components=2, n_neighbors=15, random_state=0)
    Y = um.fit_transform(X)
    assert Y.shape == (400, 2) and Y.dtype == np.float32
    labels = KMeans(5, n_init=5, random_state=0).fit_predict(Y)
    assert adjusted_rand_score(y, labels) == 1.0
    assert um.knn_indices_.shape == (400, 15) and (um.knn_indices_[:, 0] == np.arange(400)).all()
    W = um.graph_.toarray()
    np.testing.assert_allclose(W, W.T)
    assert W.max() <= 1.0 and (np.diag(W) == 0).all()


def test_same_seed_same_embedding_other_seed_other():
    X, _ = blobs(n_per=50, centers=3)
    a = UMAP(random_state=7, n_epochs=50).fit_transform(X)
    b = UMAP(random_state=7, n_epochs=50).fit_transform(X)
    c = UMAP(random_state=8, n_epochs=50).fit_transform(X)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_transform_puts_new_points_beside_their_blob():
    X, y = blobs(n_per=80, centers=4, seed=1)
    rng = np.random.default_rng(5)
    keep = rng.permutation(len(X))
    train, test = keep[:240], keep[240:]
    um = UMAP(n_components=2, random_state=0).fit(X[train])
    Y_new = um.transform(X[test])
    # each new point's nearest training point in the embedding has its class
    d = ((Y_new[:, None, :] - um.embedding_[None]) ** 2).sum(-1)
    assert (y[train][d.argmin(1)] == y[test]).mean() == 1.0


def test_duplicates_and_random_init():
    X, _ = blobs(n_per=30, centers=2)
    X = np.concatenate([X, X[:10]])          # exact duplicates
    um = UMAP(n_neighbors=5, init="random", n_epochs=30, random_state=0).fit(X)
    assert np.isfinite(um.embedding_).all()
    assert (um.knn_indices_[:, 0] == np.arange(len(X))).all()


@pytest.mark.parametrize("kwargs,X,match", [
    ({}, np.zeros(10), "expected X of shape"),
    ({}, np.array([[1.0, np.nan], [0, 1]]), "NaN"),
    ({}, np.array([["a", "b"]]), "numeric"),
    ({"n_neighbors": 1}, np.zeros((10, 2)), "n_neighbors must be an int >= 2"),
    ({"min_dist": 2.0}, np.zeros((10, 2)), "min_dist <= spread"),
    ({"init": "pca"}, np.zeros((10, 2)), "init must be"),
    ({"init": np.zeros((3, 2))}, np.zeros((10, 2)), r"init of shape \(10, 2\)"),
    ({"n_components": 0}, np.zeros((10, 2)), "n_components must be"),
    ({"negative_sample_rate": 0}, np.zeros((10, 2)), "negative_sample_rate must be an int >= 1"),
    ({"learning_rate": np.inf}, np.zeros((10, 2)), "learning_rate must be a finite number > 0"),
    ({"learning_rate": np.nan}, np.zeros((10, 2)), "learning_rate must be a finite number > 0"),
    ({"negative_sample_rate": 10**12}, np.zeros((10, 2)),
     r"negative_sample_rate=1000000000000 would draw up to 1600000\.0 GB .* more than half of "
     r"this machine's"),
])
def test_bad_input_is_refused_clearly(kwargs, X, match):
    with pytest.raises((ValueError, TypeError), match=match):
        UMAP(**kwargs).fit(X)


def test_transform_checks_features_and_fit():
    with pytest.raises(NotFittedError, match="call fit"):
        UMAP().transform(np.zeros((2, 3)))
    X, _ = blobs(n_per=20, centers=2)
    um = UMAP(n_epochs=10, random_state=0).fit(X)
    with pytest.raises(ValueError, match="X has 3 features, but UMAP is expecting 8"):
        um.transform(np.zeros((2, 3)))


@pytest.mark.realdata
def test_trustworthiness_on_real_digits_as_umap_learn(mnist_test_5k_dir):
    from scratchnet.datasets import flatten, load_mnist, to_float32
    X, _ = load_mnist("test", data_dir=mnist_test_5k_dir, download=False)
    X = flatten(to_float32(X))[:2000]
    Y = UMAP(random_state=0).fit_transform(X)
    # umap-learn 0.5.12, default settings, same 2,000 images: 0.9463 / 0.9452 / 0.9462 for seeds
    # 0-2 (measured with sklearn's trustworthiness, n_neighbors=10); within 0.01 of their mean
    assert trustworthiness(X, Y, n_neighbors=10) >= 0.9459 - 0.01


def test_block_bounds_cover_every_point_with_balanced_edges():
    heads = np.repeat(np.arange(100), np.arange(100) % 7 + 1)
    lo = block_bounds(heads, 100, n_blocks=8)
    assert lo[0] == 0 and lo[-1] == 100 and (np.diff(lo) > 0).all() and len(lo) == 9
    per_block = np.add.reduceat(np.bincount(heads, minlength=100), lo[:-1])
    assert per_block.max() <= 1.3 * per_block.mean()
    assert (block_bounds(np.array([0, 0, 1, 2]), 3, n_blocks=8) == [0, 1, 2, 3]).all()


def test_layout_gives_one_answer_on_any_number_of_threads():
    """The blocks read only what no other block writes: 1 thread and 2 give the same bits."""
    import numba
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("one CPU: there is no second thread count to compare with")
    X, _ = blobs(n_per=60, centers=4)
    before = numba.get_num_threads()
    try:
        out = []
        for threads in (1, 2):
            numba.set_num_threads(threads)
            out.append(UMAP(random_state=3, n_epochs=60).fit_transform(X))
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(out[0], out[1])


def test_due_edges_kernel_equals_its_reference():
    from scratchnet.manifold._layout import due_edges, due_edges_reference, epochs_per_sample
    weights = np.random.default_rng(4).uniform(0.01, 1.0, 500)
    every = epochs_per_sample(weights)
    state = [[every.copy(), (every / 5).copy()] for _ in range(2)]
    for epoch in range(60):
        got = due_edges(state[0][0], every, state[0][1], every / 5, epoch)
        want = due_edges_reference(state[1][0], every, state[1][1], every / 5, epoch)
        for a, b in zip(got, want):
            np.testing.assert_array_equal(a, b)
            assert a.dtype == b.dtype == np.int64
        np.testing.assert_array_equal(state[0][0], state[1][0])
        np.testing.assert_array_equal(state[0][1], state[1][1])
