r"""UMAP's fuzzy neighbour graph and its spectral initialisation, in plain NumPy.

Step 1, local scales. Point i sees its k nearest neighbours at distances :math:`d_{i1} \le
\dots`. Its distance to the nearest one, :math:`\rho_i`, is taken as "touching", and a scale
:math:`\sigma_i` is found by binary search so that the memberships sum to :math:`\log_2 k`:

.. math:: \sum_{j} \exp\!\left(-\frac{\max(0, d_{ij} - \rho_i)}{\sigma_i}\right) = \log_2 k .

Every point thus sees its neighbourhood as equally "wide", whatever the local density.

Step 2, memberships. The directed edge i → j gets :math:`w_{ij} = \exp(-\max(0, d_{ij} -
\rho_i) / \sigma_i)`, 1 for the nearest neighbour.

Step 3, the fuzzy union. The two directions disagree (j may not count i among its
neighbours); UMAP keeps an edge with the probability that either holds,

.. math:: W = A + A^T - A \circ A^T ,

a symmetric sparse matrix, stored here as a :class:`CSRGraph`.

Step 4, spectral initialisation. The embedding starts at the eigenvectors of the normalised
graph Laplacian :math:`L = I - D^{-1/2} W D^{-1/2}` with the smallest non-zero eigenvalues
(Belkin & Niyogi 2003): coordinates that vary slowly along the graph's edges. They are the
*largest* eigenvectors of :math:`M = D^{-1/2} W D^{-1/2}`, found by the Lanczos method with
full re-orthogonalisation (Golub & Van Loan 2013, §10.1): a Krylov basis built by sparse
matrix-vector products, in which M is a small tridiagonal matrix that ``numpy.linalg.eigh``
diagonalises. The trivial eigenvector :math:`D^{1/2}\mathbf 1` (eigenvalue 1) is projected out
from the start.

References: McInnes, Healy & Melville 2018, arXiv:1802.03426, §3 and Appendix;
umap-learn's ``fuzzy_simplicial_set`` and ``spectral_layout`` do the same steps.
"""
from dataclasses import dataclass
from functools import cached_property

import numpy as np

SMOOTH_K_TOLERANCE = 1e-5
MIN_K_DIST_SCALE = 1e-3


@dataclass
class CSRGraph:
    """A sparse (n_rows, n_cols) matrix in compressed-sparse-row arrays.

    Row i's entries are ``data[indptr[i]:indptr[i+1]]`` in the columns
    ``indices[indptr[i]:indptr[i+1]]`` (sorted). ``scipy.sparse.csr_matrix((data, indices,
    indptr), shape)`` reads the same arrays.
    """
    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    shape: tuple

    @cached_property
    def rows(self):
        """The row index of every stored entry (COO form), shape (nnz,); computed once."""
        return np.repeat(np.arange(self.shape[0]), np.diff(self.indptr))

    def toarray(self):
        """The dense matrix (for tests and tiny graphs)."""
        A = np.zeros(self.shape, self.data.dtype)
        A[self.rows, self.indices] = self.data
        return A

    def matvec(self, x):
        """Graph times vector, :math:`y_i = \\sum_j W_{ij} x_j`."""
        return np.bincount(self.rows, weights=self.data * x[self.indices],
                           minlength=self.shape[0])

    @classmethod
    def from_coo(cls, rows, cols, vals, shape):
        """Build from (row, col, value) triples with no repeated (row, col)."""
        order = np.lexsort((cols, rows))
        indptr = np.zeros(shape[0] + 1, np.int64)
        np.cumsum(np.bincount(rows, minlength=shape[0]), out=indptr[1:])
        return cls(indptr, cols[order].astype(np.int64), vals[order], tuple(shape))


def smooth_knn_dist_reference(distances, k, skip_first=True, n_iter=64):
    r""":func:`smooth_knn_dist` one point at a time, as the paper (and umap-learn) writes it.

    For point :math:`i` with neighbour distances :math:`d_{ij}`: :math:`\rho_i` is the
    smallest non-zero one, and :math:`\sigma_i` solves

    .. math:: \sum_j \exp\left(-\frac{\max(0, d_{ij} - \rho_i)}{\sigma_i}\right) = \log_2 k

    by bisection: the sum grows with :math:`\sigma`, so :math:`\sigma` halves its bracket
    towards the side the target lies on, doubling first while no upper end is known. The
    fast version runs the same loop for all points at once, with masks for the points done.
    """
    D = np.asarray(distances, np.float64)
    target = np.log2(k)
    sigmas, rhos = np.empty(len(D)), np.empty(len(D))
    for i, row in enumerate(D):
        nbrs = row[1:] if skip_first else row
        positive = row[row > 0]
        rho = positive.min() if positive.size else 0.0
        lo, hi, sigma = 0.0, np.inf, 1.0
        for _ in range(n_iter):
            psum = np.exp(-np.maximum(nbrs - rho, 0) / sigma).sum()
            if abs(psum - target) < SMOOTH_K_TOLERANCE:
                break
            if psum > target:           # memberships too high: a smaller sigma
                hi = sigma
                sigma = (lo + hi) / 2
            else:                       # too low: a larger one (double until bounded)
                lo = sigma
                sigma = sigma * 2 if np.isinf(hi) else (lo + hi) / 2
        mean = row.mean() if rho > 0 else D.mean()
        sigmas[i], rhos[i] = max(sigma, MIN_K_DIST_SCALE * mean), rho
    return sigmas, rhos


def smooth_knn_dist(distances, k, skip_first=True, n_iter=64):
    r"""Per-point :math:`\rho_i` and :math:`\sigma_i` (step 1), all points bisected at once.

    Parameters
    ----------
    distances : ndarray (n, n_neighbors), sorted per row
        Column 0 is the point itself (distance 0) when ``skip_first`` (the training graph);
        for new points (``transform``) every column is a real neighbour.
    k : float
        The target is :math:`\log_2 k`.

    Returns
    -------
    sigmas, rhos : ndarray (n,) float64

    Notes
    -----
    :math:`\rho_i` is the smallest *non-zero* distance (duplicates of the point do not set its
    scale). The sum grows with :math:`\sigma`, so the bisection doubles :math:`\sigma` while
    the sum is still below the target (no upper bound found yet), halves it while above, and
    then halves the bracket, 64 times at most. As in umap-learn, :math:`\sigma_i` is kept above
    ``1e-3`` times the mean distance (of the point, or of all points when :math:`\rho_i = 0`), so
    a point amid many duplicates does not get a zero scale.
    """
    D = np.asarray(distances, np.float64)
    nbrs = D[:, 1:] if skip_first else D
    masked = np.where(D > 0, D, np.inf)
    rhos = masked.min(axis=1)
    rhos[~np.isfinite(rhos)] = 0.0
    target = np.log2(k)
    gaps = nbrs - rhos[:, None]
    lo = np.zeros(len(D))
    hi = np.full(len(D), np.inf)
    mid = np.ones(len(D))
    active = np.ones(len(D), bool)
    for _ in range(n_iter):
        psum = np.exp(-np.maximum(gaps, 0) / mid[:, None]).sum(axis=1)
        active &= np.abs(psum - target) >= SMOOTH_K_TOLERANCE
        if not active.any():
            break
        too_big = active & (psum > target)      # memberships too high: shrink sigma
        too_small = active & ~(psum > target)
        hi[too_big] = mid[too_big]
        lo[too_small] = mid[too_small]
        mid = np.where(active, np.where(np.isinf(hi), mid * 2, (lo + hi) / 2), mid)
    mean_all = D.mean()
    floor = np.where(rhos > 0, MIN_K_DIST_SCALE * D.mean(axis=1), MIN_K_DIST_SCALE * mean_all)
    return np.maximum(mid, floor), rhos


def membership_strengths(knn_indices, knn_dists, sigmas, rhos, skip_self=True):
    r"""Directed edges i → j with :math:`w_{ij} = \exp(-\max(0, d_{ij} - \rho_i) / \sigma_i)`
    (step 2), as flat (rows, cols, vals); with ``skip_self`` the edge i → i is dropped."""
    n, k = knn_indices.shape
    rows = np.repeat(np.arange(n), k)
    cols = knn_indices.ravel()
    gaps = (knn_dists - rhos[:, None]).ravel()
    vals = np.exp(-np.maximum(gaps, 0) / np.repeat(sigmas, k))
    keep = cols >= 0
    if skip_self:
        keep &= cols != rows
    return rows[keep], cols[keep], vals[keep]


def fuzzy_union(rows, cols, vals, n):
    r"""The symmetric :math:`W = A + A^T - A \circ A^T` of a directed graph A (step 3).

    An edge present in one direction keeps its weight a; in both, it becomes a + b − ab.
    Each (i, j) occurs at most once in A, so after stacking A and Aᵀ a key occurs once or twice.
    """
    keys = np.concatenate([rows * n + cols, cols * n + rows])
    w = np.concatenate([vals, vals])
    order = np.argsort(keys, kind="stable")
    keys, w = keys[order], w[order]
    first = np.ones(len(keys), bool)
    first[1:] = keys[1:] != keys[:-1]
    starts = np.flatnonzero(first)
    total = np.add.reduceat(w, starts)
    product = np.multiply.reduceat(w, starts)
    twice = np.diff(np.append(starts, len(keys))) == 2
    union = np.where(twice, total - product, total)
    u = keys[starts]
    return CSRGraph.from_coo(u // n, u % n, union, (n, n))


def spectral_layout(graph, dim, random_state, max_steps=300, tol=1e-6):
    r"""The ``dim`` eigenvectors of :math:`D^{-1/2} W D^{-1/2}` after the trivial one (step 4).

    Lanczos with full re-orthogonalisation: the basis :math:`q_0, q_1, \dots` spans the Krylov
    space of a random start (orthogonal to :math:`D^{1/2}\mathbf 1`), each new vector
    :math:`M q_j - \alpha_j q_j - \beta_{j-1} q_{j-1}` made orthogonal to all before it.
    In that basis M is tridiagonal (α on the diagonal, β beside it); its top eigenpairs
    :math:`(\theta, s)` give Ritz vectors :math:`Q s` whose residual is :math:`\beta_j |s_j|`,
    checked every 10 steps. A graph with several connected components has several eigenvalues
    equal to 1; when the Krylov space runs out (β ≈ 0) a new random vector continues it.

    Returns
    -------
    ndarray (n, dim), or None when the graph is too small to have ``dim`` such vectors
    """
    n = graph.shape[0]
    if n <= dim + 1:
        return None
    rng = np.random.default_rng(random_state)
    degree = graph.matvec(np.ones(n))
    inv_sqrt = np.where(degree > 0, 1.0 / np.sqrt(np.maximum(degree, 1e-300)), 0.0)
    trivial = np.sqrt(degree) / np.sqrt(degree.sum())

    def M(x):
        return inv_sqrt * graph.matvec(inv_sqrt * x)

    steps = min(n - 1, max_steps)
    Q = np.zeros((steps + 1, n))
    alpha, beta = np.zeros(steps), np.zeros(steps)

    def fresh(j):
        """A random unit vector orthogonal to the trivial vector and to Q[:j]."""
        v = rng.standard_normal(n)
        for _ in range(2):
            v -= trivial * (trivial @ v)
            v -= Q[:j].T @ (Q[:j] @ v)
        return v / np.linalg.norm(v)

    Q[0] = fresh(0)
    vecs = None
    for j in range(steps):
        w = M(Q[j])
        alpha[j] = Q[j] @ w
        for _ in range(2):
            # Gram-Schmidt against the basis; a second pass only when this one removed most
            # of w (then rounding may have left some of Q in it: "twice is enough", Daniel,
            # Gragg, Kaufman & Stewart 1976). Each pass reads all of Q, the bulk of the time.
            before = np.linalg.norm(w)
            w -= trivial * (trivial @ w)
            w -= Q[: j + 1].T @ (Q[: j + 1] @ w)
            if np.linalg.norm(w) > 0.7 * before:
                break
        beta[j] = np.linalg.norm(w)
        m = j + 1
        if (m % 10 == 0 or m == steps) and m > dim:
            T = np.diag(alpha[:m]) + np.diag(beta[: m - 1], 1) + np.diag(beta[: m - 1], -1)
            theta, S = np.linalg.eigh(T)
            top = np.argsort(theta)[::-1][:dim]
            vecs = Q[:m].T @ S[:, top]
            if np.all(beta[j] * np.abs(S[-1, top]) < tol) or m == steps:
                return vecs
        Q[j + 1] = w / beta[j] if beta[j] > 1e-10 else fresh(j + 1)
        if beta[j] <= 1e-10:
            beta[j] = 0.0
    return vecs
