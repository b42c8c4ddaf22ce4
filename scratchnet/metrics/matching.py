r"""Hungarian matching: the linear assignment problem, solved by shortest augmenting paths (the
clustering accuracy of :mod:`.external` is built on it).

**The problem.** Given a cost matrix C (n_r × n_c), pair rows with columns, each at most once,
as many pairs as possible (min(n_r, n_c)), for the smallest total cost. Below n_r ≤ n_c, so
every row gets a column (the public functions transpose a tall matrix first).

**Potentials and the invariant.** Rows join the matching one at a time. Beside the matching,
the solver keeps a potential (a price) for every row, :math:`u_i`, and every column,
:math:`v_j` (the variables of the dual linear program), and one invariant on the *reduced cost*

.. math:: \bar c_{ij} = C_{ij} - u_i - v_j \ \ge\ 0 \ \text{ for every pair},
          \qquad \bar c_{ij} = 0 \ \text{ for every matched pair}.

It certifies optimality. Columns never matched keep :math:`v_j = 0` and the others only ever
lose value (:math:`v \le 0`), so for any assignment σ of the rows

.. math:: \textstyle\sum_i C_{i\sigma(i)} = \sum_i (u_i + v_{\sigma(i)} + \bar c_{i\sigma(i)})
          \ \ge\ \sum_i u_i + \sum_j v_j,

with equality for the solver's matching (reduced costs 0 on it, :math:`v_j = 0` off it).

**One augmentation.** To add a free row r, follow an *alternating path*: from r to a column
j₁, from j₁ to the row matched to it, on to another column j₂, ..., until a free column (the
*sink*). Flipping the path (every row on it takes the next column) matches one more row.
Writing each cost as :math:`u_i + v_j + \bar c_{ij}`, the potentials of the flip telescope
away (the sink, never matched, has :math:`v = 0`) and the matched pairs left behind have
:math:`\bar c = 0`, so the total cost grows by :math:`u_r` plus the sum of :math:`\bar c` over
the path's new pairs. The cheapest flip is
therefore a *shortest path* in which a step row → column costs :math:`\bar c_{ij} \ge 0` and a
step column → its matched row costs 0. All lengths are non-negative, so Dijkstra's search
finds it: ``shortest[j]`` is the best length found so far to column j; each step *settles* the
unsettled column nearest to r; a free one is the sink, a matched one leads, at no cost, to its
row, whose pairs then shorten ``shortest``.

**Updating the potentials.** With δ the length to the sink and :math:`d_j` the settled
distances: :math:`u_r \mathrel{+}= \delta`; every other row reached, through its matched column
j, gets :math:`u_i \mathrel{+}= \delta - d_j`; every settled column :math:`v_j \mathrel{-}=
\delta - d_j`. This is the reweighting of Johnson's algorithm: no reduced cost turns negative,
and every pair on the shortest path gets :math:`\bar c = 0`, so after the flip the invariant
holds again. Each search settles at most n_r columns and scans n_c per step: O(n_r² n_c) time.
In all, Kuhn's Hungarian method in its shortest-augmenting-path form::

    for r in rows:                  # invariant: reduced costs >= 0, 0 on the matching
        Dijkstra from r over the reduced costs -> the nearest free column and the distances
        u, v += the distances       # the invariant, kept for the pairs the flip creates
        flip the path               # one more row matched

**A head start on square matrices** (Jonker & Volgenant's *column reduction*). Before any
search, give every column the potential :math:`v_j = \min_i C_{ij}` and every row
:math:`u_i = 0`: no reduced cost is negative (each column's smallest entry is 0), so the
invariant holds with no row matched. Then every column whose minimum sits on a row still free
takes that row, at reduced cost 0 (columns from last to first, as Jonker & Volgenant do). On a
random n × n matrix about 1 − 1/e ≈ 63% of the rows are matched this way, for one pass over the
matrix, and only the others need a search: 1.3–1.6× faster than scipy's solver, which starts
every row with a search. Only for square matrices: with more columns than rows the dual also
needs :math:`v_j \le 0`, and :math:`v_j = 0` on the columns left unmatched, which these
potentials break; a square matrix matches every column, so its potentials may take any sign.

**Names.** ``linear_sum_assignment`` is the fast function (its search compiled by Numba);
``linear_sum_assignment_reference`` is its plain NumPy twin, the same algorithm one NumPy line
per step, which the tests hold equal to it, to scipy and to a brute force; private Numba
kernels end in ``_kernel``. Both share ``_prepare`` (validation) and ``_pairs`` (the result).
Read ``_solve_reference`` first; ``_solve_kernel``, ``_column_reduction_kernel`` and
``_augmenting_path_kernel`` are the same steps with the same names, as loops.
"""
import numpy as np
from numba import njit

# Numba functions that are pieces of a larger kernel, and the NumPy reference the tests
# hold the whole to (tests/test_naming.py checks that every Numba function has one).
_KERNEL_PARTS = {"_column_reduction_kernel": "_solve_reference",
                 "_augmenting_path_kernel": "_solve_reference"}


SMALL = 64   # up to this many rows (after putting the shorter side first): the NumPy solver


def linear_sum_assignment_reference(cost, maximize=False):
    """Plain NumPy twin of ``linear_sum_assignment``: same contract, same algorithm, written
    to be read (one Python loop per settled column, so much slower on large matrices).

    >>> linear_sum_assignment_reference([[4, 1, 3], [2, 0, 5], [3, 2, 2]])[1].tolist()
    [1, 0, 2]
    """
    cost, transposed = _prepare(cost, maximize, "linear_sum_assignment_reference")
    col_of_row = np.empty(0, dtype=np.int64)
    if cost.size:
        solution = _solve_reference(cost)
        if solution is None:
            raise _infeasible("linear_sum_assignment_reference")
        col_of_row = solution[0]
    return _pairs(col_of_row, transposed)


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
    Shortest augmenting paths with dual potentials (Jonker & Volgenant 1987), in the rectangular
    form of Crouse (2016) that scipy also uses: each row in turn is joined to the matching by a
    Dijkstra search over the reduced costs :math:`C_{ij} - u_i - v_j \ge 0`, then the potentials
    are updated so the reduced costs stay non-negative (the module's docstring explains why this
    is optimal). A square matrix first gets Jonker & Volgenant's column reduction, which matches
    most rows without a search. O(n_r² n_c) time. ``linear_sum_assignment_reference`` is the
    same algorithm in plain NumPy, and solves the small problems (up to ``SMALL`` = 64 rows
    on the shorter side) here too. Ties may make the matching differ from scipy's (or the
    reference's) while the total cost is the same.

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
    cost, transposed = _prepare(cost, maximize, "linear_sum_assignment")
    n_r, n_c = cost.shape
    if n_r <= SMALL:
        # A clusters-by-classes table (clustering_accuracy's): the plain loop solves it in
        # about 1 ms, while compiling the kernel takes a first run 1 s.
        solution = _solve_reference(cost) if n_r and n_c else (np.empty(0, np.int64),)
        if solution is None:
            raise _infeasible("linear_sum_assignment")
        return _pairs(solution[0], transposed)
    col_of_row = np.empty(n_r, dtype=np.int64)
    if not _solve_kernel(cost, col_of_row):
        raise _infeasible("linear_sum_assignment")
    return _pairs(col_of_row, transposed)


def _prepare(cost, maximize, who):
    """Validate ``cost`` and bring it to the solvers' form: float64, C-contiguous, a minimum,
    n_r <= n_c. Returns (cost, transposed)."""
    cost = np.asarray(cost)
    if cost.ndim != 2:
        raise ValueError(f"{who}: expected a 2-D cost matrix, got shape {cost.shape}")
    if cost.dtype.kind not in "biuf":
        raise ValueError(f"{who}: expected a numeric cost matrix, got dtype {cost.dtype}")
    cost = cost.astype(np.float64)
    transposed = cost.shape[1] < cost.shape[0]
    if transposed:  # a tall matrix: match its columns to rows instead
        cost = cost.T
    if maximize:
        cost = -cost
    if np.isnan(cost).any() or np.isneginf(cost).any():
        bad = "+inf" if maximize else "-inf"
        raise ValueError(f"{who}: the cost matrix contains NaN or {bad}")
    return np.ascontiguousarray(cost), transposed


def _infeasible(who):
    return ValueError(f"{who}: the cost matrix is infeasible (the forbidden entries leave no "
                      "complete assignment)")


def _pairs(col_of_row, transposed):
    """Shared finisher: (row_ind, col_ind) with row_ind sorted, in the caller's orientation."""
    if col_of_row.size == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    if transposed:  # the solver's rows were the caller's columns
        order = np.argsort(col_of_row)
        return col_of_row[order], order.astype(np.int64)
    return np.arange(col_of_row.size, dtype=np.int64), col_of_row


# ---------------------------------------------------------------------------------------------
# The search: NumPy reference, then its Numba twin
# ---------------------------------------------------------------------------------------------

def _solve_reference(cost):
    """Shortest augmenting paths for n_r <= n_c, one row at a time.

    IN: cost (n_r, n_c) float64, finite or +inf.  Returns (col_of_row (n_r,) int64, u (n_r,),
    v (n_c,)): the matching and the potentials that certify it; None when infeasible.
    """
    n_r, n_c = cost.shape
    u = np.zeros(n_r)                                 # row potentials
    v = np.zeros(n_c)                                 # column potentials
    col_of_row = np.full(n_r, -1, dtype=np.int64)     # the matching, -1 = free
    row_of_col = np.full(n_c, -1, dtype=np.int64)     # ... seen from the columns
    column_min = cost.min(axis=0) if n_r == n_c else None
    if column_min is not None and np.isfinite(column_min).all():
        # column reduction: v_j = the column's minimum, and its row takes it if still free
        v[:] = column_min
        lowest_row = cost.argmin(axis=0)
        for j in range(n_c - 1, -1, -1):
            if col_of_row[lowest_row[j]] == -1:
                col_of_row[lowest_row[j]], row_of_col[j] = j, lowest_row[j]
    for free_row in np.flatnonzero(col_of_row == -1):
        # Dijkstra from free_row; the length of a step row i -> column j is its reduced cost
        shortest = np.full(n_c, np.inf)               # d_j, best length found so far
        pred_row = np.full(n_c, -1, dtype=np.int64)   # the row that best path reaches j from
        col_settled = np.zeros(n_c, dtype=bool)       # columns whose d_j is final
        row_reached = np.zeros(n_r, dtype=bool)       # rows the search went through
        i, d_i = free_row, 0.0
        while True:
            row_reached[i] = True
            through_i = d_i + cost[i] - u[i] - v      # d_i + reduced costs of row i
            better = ~col_settled & (through_i < shortest)
            shortest[better] = through_i[better]
            pred_row[better] = i
            candidates = np.where(col_settled, np.inf, shortest)
            j = np.argmin(candidates)                 # the nearest unsettled column
            if candidates[j] == np.inf:
                return None                           # no free column is reachable
            col_settled[j] = True
            if row_of_col[j] == -1:
                break                                 # a free column: the sink
            i, d_i = row_of_col[j], shortest[j]       # its row, at no extra cost (c̄ = 0)
        sink, delta = j, shortest[j]
        # reweight by the distances: reduced costs stay >= 0, the path's pairs become 0
        u[free_row] += delta
        others = row_reached.copy()
        others[free_row] = False
        u[others] += delta - shortest[col_of_row[others]]
        v[col_settled] -= delta - shortest[col_settled]
        # flip the path, walking back from the sink: each row takes the column it led to
        j = sink
        while True:
            i = pred_row[j]
            row_of_col[j] = i
            col_of_row[i], j = j, col_of_row[i]
            if i == free_row:
                break
    return col_of_row, u, v


# ---------------------------------------------------------------------------------------------
# Numba twin
# ---------------------------------------------------------------------------------------------

@njit(cache=True)
def _solve_kernel(cost, col_of_row):
    """Numba twin of ``_solve_reference``, in explicit loops (the potentials stay inside).

    IN: cost (n_r, n_c) float64, n_r <= n_c, finite or +inf.  OUT: col_of_row (n_r,).
    Returns False when the matrix is infeasible.
    """
    n_r, n_c = cost.shape
    u = np.zeros(n_r)                                  # row potentials
    v = np.zeros(n_c)                                  # column potentials
    shortest = np.empty(n_c)                           # d_j of the current search
    pred_row = np.full(n_c, -1, dtype=np.int64)        # the row the best path reaches j from
    row_of_col = np.full(n_c, -1, dtype=np.int64)      # the matching seen from the columns
    col_of_row[:] = -1
    row_reached = np.zeros(n_r, dtype=np.bool_)        # rows the current search went through
    col_settled = np.zeros(n_c, dtype=np.bool_)        # columns whose d_j is final
    unsettled = np.empty(n_c, dtype=np.int64)          # the other columns, packed in front
    if n_r == n_c and _column_reduction_kernel(cost, v, pred_row):
        for j in range(n_c - 1, -1, -1):               # pred_row holds each column's lowest row
            i = pred_row[j]
            if col_of_row[i] == -1:
                col_of_row[i] = j
                row_of_col[j] = i
    for free_row in range(n_r):
        if col_of_row[free_row] != -1:
            continue                                   # matched by the column reduction
        sink, delta = _augmenting_path_kernel(cost, u, v, pred_row, row_of_col, shortest,
                                              free_row, row_reached, col_settled, unsettled)
        if sink < 0:
            return False
        # reweight by the distances: reduced costs stay >= 0, the path's pairs become 0
        u[free_row] += delta
        for i in range(n_r):
            if row_reached[i] and i != free_row:
                u[i] += delta - shortest[col_of_row[i]]
        for j in range(n_c):
            if col_settled[j]:
                v[j] -= delta - shortest[j]
        # flip the path, walking back from the sink: each row takes the column it led to
        j = sink
        while True:
            i = pred_row[j]
            row_of_col[j] = i
            prev = col_of_row[i]
            col_of_row[i] = j
            j = prev
            if i == free_row:
                break
    return True


@njit(cache=True)
def _column_reduction_kernel(cost, v, lowest_row):
    """v_j = min_i cost[i, j] and lowest_row[j] = the first row holding it, in one row-major
    pass (cache-friendly, where a column at a time strides through the whole matrix).
    OUT: v, lowest_row.  Returns False (and leaves v at zero) when a column is all +inf
    (forbidden): its potential would be infinite, and the search reports the matrix infeasible.
    """
    n_r, n_c = cost.shape
    for j in range(n_c):
        v[j] = cost[0, j]
        lowest_row[j] = 0
    for i in range(1, n_r):
        for j in range(n_c):
            if cost[i, j] < v[j]:
                v[j] = cost[i, j]
                lowest_row[j] = i
    for j in range(n_c):
        if v[j] == np.inf:
            v[:] = 0.0
            return False
    return True


@njit(cache=True)
def _augmenting_path_kernel(cost, u, v, pred_row, row_of_col, shortest, i, row_reached,
                            col_settled, unsettled):
    """Dijkstra from free row i over the reduced costs c[i, j] - u[i] - v[j] to the nearest
    free column. IN: cost, u, v, row_of_col.  OUT: pred_row, shortest, row_reached,
    col_settled; unsettled is a buffer.  Returns (sink, delta), the free column reached and
    its distance; sink is -1 when no free column is reachable (the matrix is infeasible)."""
    n_c = cost.shape[1]
    delta = 0.0  # distance of the column settled last (0: the free row itself)
    n_unsettled = n_c
    for it in range(n_c):
        unsettled[it] = n_c - it - 1
    row_reached[:] = False
    col_settled[:] = False
    shortest[:] = np.inf
    sink = -1
    while sink == -1:
        index = -1
        lowest = np.inf
        row_reached[i] = True
        for it in range(n_unsettled):
            j = unsettled[it]
            r = delta + cost[i, j] - u[i] - v[j]
            if r < shortest[j]:
                pred_row[j] = i
                shortest[j] = r
            # among equal lowest costs prefer a free column: it ends the search at once, which
            # matters for integer costs with many ties
            if shortest[j] < lowest or (shortest[j] == lowest and row_of_col[j] == -1):
                lowest = shortest[j]
                index = it
        delta = lowest
        if delta == np.inf:
            return -1, delta
        j = unsettled[index]
        if row_of_col[j] == -1:
            sink = j
        else:
            i = row_of_col[j]  # go on from its row, at no extra cost (its reduced cost is 0)
        col_settled[j] = True
        n_unsettled -= 1
        unsettled[index] = unsettled[n_unsettled]  # settled: swap it out of the packed front
    return sink, delta
