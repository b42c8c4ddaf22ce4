"""linear_sum_assignment and its NumPy twin linear_sum_assignment_reference against each other,
scipy (by total cost: ties make the indices differ) and brute force; the dual certificate of the
reference; clustering_accuracy's defining properties."""
import itertools

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment as scipy_lsa

from scratchnet.metrics import (clustering_accuracy, linear_sum_assignment,
                                linear_sum_assignment_reference)
from scratchnet.metrics.matching import _prepare, _solve_kernel, _solve_reference

SOLVERS = [linear_sum_assignment, linear_sum_assignment_reference]


def _check_valid(cost, rows, cols):
    n = min(cost.shape)
    assert rows.shape == cols.shape == (n,)
    assert len(set(rows.tolist())) == n and len(set(cols.tolist())) == n
    assert np.all(np.diff(rows) > 0)  # row_ind sorted, as scipy's


def _brute_force(cost):
    nr, nc = cost.shape
    if nr <= nc:
        return min(cost[np.arange(nr), list(p)].sum() for p in itertools.permutations(range(nc), nr))
    return _brute_force(cost.T)


@pytest.mark.parametrize("solve", SOLVERS)
def test_doc_example(solve):
    cost = np.array([[4, 1, 3], [2, 0, 5], [3, 2, 2]])
    rows, cols = solve(cost)
    assert rows.tolist() == [0, 1, 2] and cols.tolist() == [1, 0, 2]


@pytest.mark.parametrize("shape", [(1, 1), (5, 5), (40, 40), (7, 30), (30, 7), (100, 100)])
@pytest.mark.parametrize("maximize", [False, True])
@pytest.mark.parametrize("solve", SOLVERS)
def test_random_equals_scipy(shape, maximize, solve):
    rng = np.random.default_rng(sum(shape) + maximize)
    cost = rng.normal(size=shape) * 100
    rows, cols = solve(cost, maximize=maximize)
    _check_valid(cost, rows, cols)
    r2, c2 = scipy_lsa(cost, maximize=maximize)
    assert cost[rows, cols].sum() == pytest.approx(cost[r2, c2].sum(), rel=1e-12)


@pytest.mark.parametrize("shape", [(20, 20), (15, 25), (25, 15), (60, 60)])
@pytest.mark.parametrize("solve", SOLVERS)
def test_integer_ties_equal_scipy(shape, solve):
    rng = np.random.default_rng(shape[0] * shape[1])
    for _ in range(5):
        cost = rng.integers(0, 4, size=shape)  # many ties
        rows, cols = solve(cost)
        _check_valid(cost, rows, cols)
        r2, c2 = scipy_lsa(cost)
        assert cost[rows, cols].sum() == cost[r2, c2].sum()


@pytest.mark.parametrize("solve", SOLVERS)
def test_brute_force_small(solve):
    rng = np.random.default_rng(11)
    for trial in range(60):
        nr, nc = rng.integers(1, 7, size=2)
        cost = rng.integers(-5, 20, size=(nr, nc)).astype(float)
        if trial % 3 == 0:
            cost = rng.uniform(size=(nr, nc))
        rows, cols = solve(cost)
        _check_valid(cost, rows, cols)
        assert cost[rows, cols].sum() == pytest.approx(_brute_force(cost), abs=1e-12)


def test_compiled_kernel_equals_plain_python():
    rng = np.random.default_rng(12)
    cost = rng.integers(0, 10, size=(8, 11)).astype(np.float64)
    a = np.empty(8, np.int64)
    b = np.empty(8, np.int64)
    assert _solve_kernel(cost, a) and _solve_kernel.py_func(cost, b)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("maximize", [False, True])
def test_fast_equals_reference_on_small_random_cases(maximize):
    """Square, wide and tall; real costs, integer costs with many ties, forbidden entries."""
    rng = np.random.default_rng(15 + maximize)
    bad = -np.inf if maximize else np.inf
    for trial in range(200):
        shape = tuple(rng.integers(1, 9, size=2))
        cost = rng.normal(size=shape) if trial % 2 else rng.integers(0, 3, size=shape)
        if trial % 5 == 0:
            cost = cost.astype(float)
            cost[rng.uniform(size=shape) < 0.2] = bad
        try:
            r2, c2 = scipy_lsa(cost, maximize=maximize)
        except ValueError:  # infeasible: both must say so
            for solve in SOLVERS:
                with pytest.raises(ValueError, match="infeasible"):
                    solve(cost, maximize=maximize)
            continue
        rows, cols = linear_sum_assignment(cost, maximize=maximize)
        ref_rows, ref_cols = linear_sum_assignment_reference(cost, maximize=maximize)
        _check_valid(cost, rows, cols)
        _check_valid(cost, ref_rows, ref_cols)
        total = cost[rows, cols].sum()
        assert total == pytest.approx(cost[ref_rows, ref_cols].sum(), rel=1e-12, abs=1e-12)
        assert total == pytest.approx(cost[r2, c2].sum(), rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("shape", [(1, 1), (4, 4), (6, 9), (9, 6), (30, 30), (12, 40)])
def test_reference_potentials_certify_the_matching(shape):
    """The invariant the module's docstring proves optimality with: reduced costs
    c - u - v >= 0 everywhere, 0 on the matched pairs; on a wide matrix also v <= 0, and 0 on
    unmatched columns (a square one matches every column, and its column reduction makes v the
    column minima, of any sign)."""
    rng = np.random.default_rng(shape[0] * 100 + shape[1])
    for cost in (rng.normal(size=shape) * 10, rng.integers(0, 4, size=shape)):
        cost, _ = _prepare(cost, False, "test")
        col_of_row, u, v = _solve_reference(cost)
        reduced = cost - u[:, None] - v[None, :]
        tol = 1e-9 * (1 + np.abs(cost).max())
        assert reduced.min() >= -tol
        np.testing.assert_allclose(reduced[np.arange(cost.shape[0]), col_of_row], 0, atol=tol)
        if cost.shape[0] < cost.shape[1]:  # a wide matrix's dual: v <= 0, 0 where unmatched
            assert v.max() <= tol
            unmatched = np.setdiff1d(np.arange(cost.shape[1]), col_of_row)
            assert np.all(v[unmatched] == 0)
        # the dual bound equals the matching's cost: it is optimal
        assert cost[np.arange(cost.shape[0]), col_of_row].sum() == pytest.approx(
            u.sum() + v.sum(), rel=1e-12, abs=tol)


@pytest.mark.parametrize("shape", [(0, 0), (0, 3), (3, 0)])
@pytest.mark.parametrize("solve", SOLVERS)
def test_empty(shape, solve):
    rows, cols = solve(np.zeros(shape))
    r2, c2 = scipy_lsa(np.zeros(shape))
    assert rows.shape == cols.shape == r2.shape == (0,)


@pytest.mark.parametrize("solve", SOLVERS)
def test_forbidden_entries(solve):
    cost = np.array([[np.inf, 1.0, 2.0], [3.0, np.inf, 1.0], [1.0, 1.0, np.inf]])
    rows, cols = solve(cost)
    assert np.isfinite(cost[rows, cols]).all()
    r2, c2 = scipy_lsa(cost)
    assert cost[rows, cols].sum() == cost[r2, c2].sum()


@pytest.mark.parametrize("cost, maximize, match", [
    (np.array([[np.inf, np.inf], [1.0, 2.0]]), False, "infeasible"),
    (np.array([[np.inf, 1.0, np.inf], [np.inf, 2.0, np.inf]]), False, "infeasible"),
    (np.array([[1.0, np.nan], [0.0, 1.0]]), False, "NaN"),
    (np.array([[1.0, -np.inf], [0.0, 1.0]]), False, r"NaN or -inf"),
    (np.array([[1.0, np.inf], [0.0, 1.0]]), True, r"NaN or \+inf"),
    (np.array([["a", "b"], ["c", "d"]]), False, "numeric cost matrix, got dtype <U1"),
    (np.zeros(3), False, r"2-D cost matrix, got shape \(3,\)"),
])
@pytest.mark.parametrize("solve", SOLVERS)
def test_bad_cost(cost, maximize, match, solve):
    with pytest.raises(ValueError, match=f"{solve.__name__}: .*{match}"):
        solve(cost, maximize=maximize)


def test_accuracy_is_one_for_any_relabelling():
    rng = np.random.default_rng(13)
    y = rng.integers(0, 7, size=300)
    perm = rng.permutation(7) + 100
    assert clustering_accuracy(y, perm[y]) == 1.0
    assert clustering_accuracy(y.astype(str), perm[y]) == 1.0


def test_accuracy_with_unequal_numbers_of_clusters_and_classes():
    y_true = np.array([0, 0, 0, 1, 1, 1, 2, 2])
    # 4 clusters for 3 classes: class 0 split in two; the best map matches 3 clusters
    y_pred = np.array([5, 5, 6, 7, 7, 7, 8, 8])
    assert clustering_accuracy(y_true, y_pred) == pytest.approx(7 / 8)
    # 2 clusters for 3 classes
    assert clustering_accuracy(y_true, [0, 0, 0, 1, 1, 1, 1, 1]) == pytest.approx(6 / 8)


def test_accuracy_against_brute_force_over_maps():
    rng = np.random.default_rng(14)
    for _ in range(20):
        y_true = rng.integers(0, 4, size=40)
        y_pred = rng.integers(0, 5, size=40)
        best = max(np.mean([m.get(p, -1) == t for t, p in zip(y_true, y_pred)])
                   for perm in itertools.permutations(range(5), 4)
                   for m in [dict(zip(perm, range(4)))])
        assert clustering_accuracy(y_true, y_pred) == pytest.approx(best)


def _accuracy_on_the_dense_table(y_true, y_pred):
    """The definition: scipy's matching on the whole clusters × classes table."""
    _, t = np.unique(y_true, return_inverse=True)
    _, p = np.unique(y_pred, return_inverse=True)
    table = np.zeros((p.max() + 1, t.max() + 1))
    np.add.at(table, (p, t), 1)
    rows, cols = scipy_lsa(table, maximize=True)
    return table[rows, cols].sum() / len(y_true)


@pytest.mark.parametrize("seed", range(40))
def test_accuracy_by_groups_equals_the_whole_table(seed):
    """Matching each group of classes and clusters linked by shared samples on its own gives
    what the whole table gives: labellings that split into many groups, few, or one."""
    rng = np.random.default_rng(seed)
    n, kt, kp = rng.integers(1, 300), rng.integers(1, 40), rng.integers(1, 40)
    y_true = rng.integers(0, kt, n)
    y_pred = rng.integers(0, kp, n)
    if seed % 2:                      # mostly agreeing: many small groups
        y_pred = np.where(rng.random(n) < 0.9, y_true * 3 + 1000, y_pred)
    assert clustering_accuracy(y_true, y_pred) == pytest.approx(
        _accuracy_on_the_dense_table(y_true, y_pred), abs=1e-12)


def test_accuracy_of_20000_distinct_labels_is_fast_and_small():
    """20,000 labels on each side would be a 20,000 × 20,000 table (3.2 GB of int64): the
    groups keep it to a few MB."""
    import time
    import tracemalloc
    rng = np.random.default_rng(5)
    y_true = rng.permutation(20000)
    y_pred = y_true.copy()
    moved = rng.random(20000) < 0.05
    y_pred[moved] = rng.integers(0, 20000, moved.sum())
    expected = 1 - moved.mean()       # at most the moved samples are lost ...
    clustering_accuracy(y_true[:10], y_pred[:10])         # compile
    tracemalloc.start()
    start = time.perf_counter()
    try:
        acc = clustering_accuracy(y_true, y_pred)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert expected <= acc <= 1       # ... and a moved one may land on a free cluster
    assert peak < 50e6 and time.perf_counter() - start < 5


def test_accuracy_refuses_a_group_whose_table_is_over_the_bound(monkeypatch):
    import scratchnet.metrics.external as external
    monkeypatch.setattr(external, "_MAX_TABLE", 10)
    y = np.arange(8) % 4
    assert clustering_accuracy(y, y) == 1.0                   # 4 one-cell groups
    with pytest.raises(ValueError, match="4 classes and 4 clusters are linked by shared "
                                         "samples into one group; its table of 16 cells"):
        clustering_accuracy(y, (np.arange(8) + np.arange(8) // 4) % 4)


def test_accuracy_bad_labels():
    with pytest.raises(ValueError, match=r"expected y_pred of shape \(3,\) like y_true, got \(2,\)"):
        clustering_accuracy([0, 1, 2], [0, 1])


def test_column_reduction_alone_solves_a_distinct_minima_matrix():
    """Each column's minimum on its own row: the column reduction matches every row, no search
    runs, and the potentials are its own (v = column minima, u = 0)."""
    rng = np.random.default_rng(21)
    perm = rng.permutation(50)
    cost = rng.uniform(1, 2, size=(50, 50))
    cost[perm, np.arange(50)] = rng.uniform(0, 0.5, size=50)
    col_of_row, u, v = _solve_reference(cost)
    np.testing.assert_array_equal(col_of_row[perm], np.arange(50))
    np.testing.assert_array_equal(v, cost.min(axis=0))
    np.testing.assert_array_equal(u, 0)
    fast = np.empty(50, np.int64)
    assert _solve_kernel(cost, fast)
    np.testing.assert_array_equal(fast, col_of_row)


@pytest.mark.parametrize("n", [1, 2, 7, 64, 200])
def test_square_kernel_equals_reference_and_scipy(n):
    """Square matrices take the column reduction in both twins: the same matching, and scipy's
    optimal total; with ties (integers), forbidden entries, and a forbidden column."""
    rng = np.random.default_rng(n)
    cases = [rng.uniform(size=(n, n)), rng.integers(0, 4, size=(n, n)).astype(float)]
    with_inf = rng.normal(size=(n, n))
    with_inf[rng.uniform(size=(n, n)) < 0.1] = np.inf
    cases.append(with_inf)
    for case, cost in enumerate(cases):
        fast = np.empty(n, np.int64)
        try:
            r2, c2 = scipy_lsa(cost)
        except ValueError:
            assert not _solve_kernel(cost, fast) and _solve_reference(cost) is None
            continue
        assert _solve_kernel(cost, fast)
        ref = _solve_reference(cost)[0]
        if case == 0:  # no ties: one optimal matching (ties may be broken differently)
            np.testing.assert_array_equal(fast, ref)
        assert cost[np.arange(n), ref].sum() == pytest.approx(cost[r2, c2].sum(), rel=1e-12)
        assert cost[np.arange(n), fast].sum() == pytest.approx(cost[r2, c2].sum(), rel=1e-12)
    if n > 1:
        forbidden = rng.uniform(size=(n, n))
        forbidden[:, n // 2] = np.inf  # no row may take that column: infeasible
        for solve in SOLVERS:
            with pytest.raises(ValueError, match="infeasible"):
                solve(forbidden)


@pytest.mark.parametrize("shape", [(70, 90), (90, 70), (65, 65)])
def test_above_small_the_kernel_solves_as_scipy(shape):
    """Up to SMALL rows the public function runs the NumPy solver; above, the Numba kernel."""
    from scratchnet.metrics.matching import SMALL
    assert min(shape) > SMALL
    rng = np.random.default_rng(sum(shape))
    cost = rng.normal(size=shape)
    cost[rng.uniform(size=shape) < 0.1] = np.inf
    rows, cols = linear_sum_assignment(cost)
    r2, c2 = scipy_lsa(cost)
    _check_valid(cost, rows, cols)
    assert cost[rows, cols].sum() == pytest.approx(cost[r2, c2].sum(), rel=1e-12)
    cost[:, : shape[1] - min(shape) + 1] = np.inf      # too few usable columns (or rows)
    cost[: shape[0] - min(shape) + 1, :] = np.inf
    with pytest.raises(ValueError, match="infeasible"):
        linear_sum_assignment(cost)
