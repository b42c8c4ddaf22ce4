r"""The linear assignment problem (Hungarian matching) and the clustering accuracy built on it."""
import numpy as np
from numba import njit

from .external import _encode, _check_label_pair


@njit(cache=True)
def _augmenting_path(cost, u, v, path, row4col, shortest, i, SR, SC, remaining):
    """Dijkstra from free row i over reduced costs c[i, j] - u[i] - v[j] to the nearest free
    column. IN: cost, u, v, row4col.  OUT: path, shortest, SR, SC.  Returns (sink, min_val);
    sink is -1 when no free column is reachable (the matrix is infeasible)."""
    nc = cost.shape[1]
    min_val = 0.0
    n_remaining = nc
    for it in range(nc):
        remaining[it] = nc - it - 1
    SR[:] = False
    SC[:] = False
    shortest[:] = np.inf
    sink = -1
    while sink == -1:
        index = -1
        lowest = np.inf
        SR[i] = True
        for it in range(n_remaining):
            j = remaining[it]
            r = min_val + cost[i, j] - u[i] - v[j]
            if r < shortest[j]:
                path[j] = i
                shortest[j] = r
            # among equal lowest costs prefer a free column: it ends the search at once, which
            # matters for integer costs with many ties
            if shortest[j] < lowest or (shortest[j] == lowest and row4col[j] == -1):
                lowest = shortest[j]
                index = it
        min_val = lowest
        if min_val == np.inf:
            return -1, min_val
        j = remaining[index]
        if row4col[j] == -1:
            sink = j
        else:
            i = row4col[j]
        SC[j] = True
        n_remaining -= 1
        remaining[index] = remaining[n_remaining]
    return sink, min_val


@njit(cache=True)
def _solve(cost, col4row):
    """Shortest augmenting path assignment for nr <= nc. IN: cost (nr, nc) float64, finite or
    +inf.  OUT: col4row (nr,).  Returns False when the matrix is infeasible."""
    nr, nc = cost.shape
    u = np.zeros(nr)
    v = np.zeros(nc)
    shortest = np.empty(nc)
    path = np.full(nc, -1, dtype=np.int64)
    row4col = np.full(nc, -1, dtype=np.int64)
    col4row[:] = -1
    SR = np.zeros(nr, dtype=np.bool_)
    SC = np.zeros(nc, dtype=np.bool_)
    remaining = np.empty(nc, dtype=np.int64)
    for cur_row in range(nr):
        sink, min_val = _augmenting_path(cost, u, v, path, row4col, shortest, cur_row, SR, SC,
                                         remaining)
        if sink < 0:
            return False
        # dual update keeps every reduced cost >= 0 and those on the matching at 0
        u[cur_row] += min_val
        for i in range(nr):
            if SR[i] and i != cur_row:
                u[i] += min_val - shortest[col4row[i]]
        for j in range(nc):
            if SC[j]:
                v[j] -= min_val - shortest[j]
        # flip the matching along the path back to cur_row
        j = sink
        while True:
            i = path[j]
            row4col[j] = i
            prev = col4row[i]
            col4row[i] = j
            j = prev
            if i == cur_row:
                break
    return True


def linear_sum_assignment(cost, maximize=False):
    r"""Solve the linear sum assignment problem (minimum-cost bipartite matching).

    Each row is assigned to at most one column and each column to at most one row, as many
    pairs as possible (``min(n_rows, n_cols)``), with the smallest total cost. In math, with
    :math:`X` a boolean matrix with :math:`X_{ij} = 1` when row i is matched to column j,

    .. math:: \min_X \sum_i \sum_j C_{ij} X_{ij}
              \quad \text{s.t.} \quad \sum_j X_{ij} \le 1,\ \sum_i X_{ij} \le 1,\
              \sum_{ij} X_{ij} = \min(n_r, n_c).

    Parameters
    ----------
    cost : array_like (n_rows, n_cols)
        Real numbers; ``+inf`` marks a forbidden pair (``-inf`` with ``maximize``).
    maximize : bool, default False
        Maximise the total instead.

    Returns
    -------
    row_ind, col_ind : ndarray (min(n_rows, n_cols),) int64
        The matched pairs; ``row_ind`` is sorted, and ``cost[row_ind, col_ind].sum()`` is optimal.

    Raises
    ------
    ValueError
        Not 2-D, non-numeric, NaN, ``-inf`` (``+inf`` with ``maximize``), or no complete
        assignment avoids the forbidden pairs.

    Notes
    -----
    Shortest augmenting paths with dual variables (Jonker & Volgenant 1987), in the rectangular
    form of Crouse (2016) that scipy also uses: each row in turn is joined to the matching by a
    Dijkstra search over the reduced costs :math:`C_{ij} - u_i - v_j \ge 0`, then the duals are
    updated so the reduced costs stay non-negative. O(n_r² n_c) time. The kernel is compiled by
    Numba; ``_solve.py_func`` is the same code run as plain Python, which the tests compare.
    Ties may make the matching differ from scipy's while the total cost is the same.

    References
    ----------
    .. [1] Kuhn, H. W. (1955). The Hungarian method for the assignment problem.
    .. [2] Munkres, J. (1957). Algorithms for the assignment and transportation problems.
    .. [3] Jonker, R. and Volgenant, A. (1987). A shortest augmenting path algorithm for dense
       and sparse linear assignment problems. Computing 38, 325-340.
    .. [4] Crouse, D. F. (2016). On implementing 2D rectangular assignment algorithms.
       IEEE Trans. Aerospace and Electronic Systems 52(4), 1679-1696.

    Examples
    --------
    >>> cost = np.array([[4, 1, 3], [2, 0, 5], [3, 2, 2]])
    >>> row_ind, col_ind = linear_sum_assignment(cost)
    >>> col_ind.tolist(), int(cost[row_ind, col_ind].sum())
    ([1, 0, 2], 5)
    """
    cost = np.asarray(cost)
    if cost.ndim != 2:
        raise ValueError(f"linear_sum_assignment: expected a 2-D cost matrix, got shape "
                         f"{cost.shape}")
    if cost.dtype.kind not in "biuf":
        raise ValueError(f"linear_sum_assignment: expected a numeric cost matrix, got dtype "
                         f"{cost.dtype}")
    cost = cost.astype(np.float64)
    transpose = cost.shape[1] < cost.shape[0]
    if transpose:
        cost = cost.T
    if maximize:
        cost = -cost
    if np.isnan(cost).any() or np.isneginf(cost).any():
        bad = "+inf" if maximize else "-inf"
        raise ValueError(f"linear_sum_assignment: the cost matrix contains NaN or {bad}")
    cost = np.ascontiguousarray(cost)
    nr = cost.shape[0]
    col4row = np.empty(nr, dtype=np.int64)
    if nr and cost.shape[1] and not _solve(cost, col4row):
        raise ValueError("linear_sum_assignment: the cost matrix is infeasible (the forbidden "
                         "entries leave no complete assignment)")
    if nr == 0 or cost.shape[1] == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    if transpose:
        order = np.argsort(col4row)
        return col4row[order], order.astype(np.int64)
    return np.arange(nr, dtype=np.int64), col4row


def clustering_accuracy(y_true, y_pred):
    r"""Accuracy of a clustering under the best one-to-one map from clusters to classes.

    .. math:: \text{ACC} = \max_{m} \frac{1}{n} \sum_{i=1}^{n} [\, y_i = m(\hat y_i) \,]

    where m ranges over injective maps between cluster ids and class ids, found by
    ``linear_sum_assignment`` on the contingency table (maximised).

    Parameters
    ----------
    y_true, y_pred : array_like (n,)
        Any hashable labels; the number of clusters may differ from the number of classes.

    Returns
    -------
    float in [0, 1]

    Notes
    -----
    With more clusters than classes, the surplus clusters stay unmatched and all their samples
    count as errors (the strict convention of Xie et al. 2016's ``cluster_acc`` when the
    counts are equal); with fewer, the surplus classes do. 1 for any relabelling of the truth.

    Examples
    --------
    >>> clustering_accuracy([0, 0, 1, 1, 2], [5, 5, 3, 3, 3])
    0.8
    """
    y_true, y_pred = _check_label_pair(y_true, y_pred, "clustering_accuracy")
    if y_true.size == 0:
        raise ValueError("clustering_accuracy: expected at least one sample, got 0")
    t, nt = _encode(y_true)
    p, npr = _encode(y_pred)
    table = np.zeros((npr, nt), dtype=np.int64)
    np.add.at(table, (p, t), 1)
    rows, cols = linear_sum_assignment(table, maximize=True)
    return float(table[rows, cols].sum() / y_true.size)
