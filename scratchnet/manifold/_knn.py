r"""Exact k-nearest neighbours by blocked matrix products: the NumPy reference and its fast twin.

For queries :math:`q_i` and reference points :math:`x_j` the squared Euclidean distance is

.. math:: d^2(q_i, x_j) = \lVert q_i \rVert^2 + \lVert x_j \rVert^2 - 2\, q_i \cdot x_j ,

so a block of B queries against all n points costs one matrix product :math:`Q_B X^T` (BLAS does
the O(B·n·d) work) plus an O(B·n) scan that keeps, for every query, the k smallest values. The
scan is a Numba kernel: a sorted list of the best k so far, into which a candidate is inserted
only when it beats the current k-th (rare after the first few hundred points).

Accuracy. The identity cancels when two points are close compared with their norms, so both
sides are first centred on the reference mean, and the kernel keeps a few more candidates than
asked for (``k + margin``); those candidates' distances are then recomputed exactly,
:math:`\sqrt{\sum_f (q_{if} - x_{jf})^2}` in float64, and sorted by (distance, index). The
result therefore equals brute force up to ties.

Threads: the blocks go through ``scratchnet.metrics._pairwise.map_gemm_blocks``, the machinery
silhouette and Dunn's index use: the cores are owned by plain Python threads, each running a
one-thread GEMM and then the serial kernels on its own block (all release the GIL), so BLAS and
Numba never fight over the two cores.

umap-learn finds *approximate* neighbours with NN-descent (Dong, Moses & Li 2011); exact ones
cost O(n²·d) but are simple, reproducible, and fast enough for the tens of thousands of points
this package clusters.
"""
import numpy as np
from numba import njit

from ..metrics._pairwise import map_gemm_blocks

# Numba functions that are pieces of a larger kernel, and the NumPy reference the tests
# hold the whole to (tests/test_naming.py checks that every Numba function has one).
_KERNEL_PARTS = {"_keep_smallest": "knn_reference", "_refine": "knn_reference"}

BLOCK = 512  # query rows per GEMM: 512 × 70,000 float32 distances are 140 MB per thread


def knn_reference(Q, X, k):
    """k nearest rows of X for every row of Q, by sorting the full distance matrix (plain NumPy).

    Returns (indices (m, k) int64, distances (m, k) float64), nearest first, ties by index.
    """
    Q, X = np.asarray(Q, np.float64), np.asarray(X, np.float64)
    d2 = ((Q[:, None, :] - X[None, :, :]) ** 2).sum(axis=2)
    order = np.lexsort((np.broadcast_to(np.arange(X.shape[0]), d2.shape), d2), axis=1)[:, :k]
    return order.astype(np.int64), np.sqrt(np.take_along_axis(d2, order, axis=1))


@njit(cache=True, nogil=True)
def _keep_smallest(G, q_sq, x_sq, best_d, best_i):  # G, q_sq, x_sq: IN   best_d, best_i: OUT
    """For each row r of the block, the len(best_d[r]) smallest q_sq[r] + x_sq[j] - 2 G[r, j].

    Insertion into a sorted list: O(n) comparisons per row, O(k) work per accepted candidate.
    """
    m, n = G.shape
    width = best_d.shape[1]
    for r in range(m):
        bd, bi = best_d[r], best_i[r]
        bd[:] = np.inf
        bi[:] = -1
        worst = np.inf
        for j in range(n):
            d = q_sq[r] + x_sq[j] - 2.0 * G[r, j]
            if d < worst:
                p = width - 1
                while p > 0 and bd[p - 1] > d:     # shift larger ones right
                    bd[p] = bd[p - 1]
                    bi[p] = bi[p - 1]
                    p -= 1
                bd[p] = d
                bi[p] = j
                worst = bd[width - 1]


@njit(cache=True, nogil=True)
def _refine(Q, X, cand, k, out_i, out_d):  # Q, X, cand: IN   out_i, out_d: OUT
    """Exact float64 distances of the candidates; keep the k smallest, ties by index."""
    m, width = cand.shape
    d = np.empty(width)
    for r in range(m):
        for c in range(width):
            j = cand[r, c]
            s = 0.0
            for f in range(X.shape[1]):
                diff = np.float64(Q[r, f]) - np.float64(X[j, f])
                s += diff * diff
            d[c] = s
        # (distance, index) order: the candidates are few, a stable sort on index first suffices
        idx = np.argsort(cand[r], kind="mergesort")
        d_sorted = d[idx]
        i_sorted = cand[r][idx]
        order = np.argsort(d_sorted, kind="mergesort")[:k]
        for c in range(k):
            out_i[r, c] = i_sorted[order[c]]
            out_d[r, c] = np.sqrt(d_sorted[order[c]])


def exact_knn(Q, X, k, margin=None, n_workers=None):
    """k nearest rows of X (n, d) for every row of Q (m, d), exactly; the fast twin of
    :func:`knn_reference` (same results, up to ties).

    Parameters
    ----------
    Q, X : ndarray, float32 or float64
    k : int, 1 <= k <= n
    margin : int, optional
        Extra candidates kept by the GEMM pass before the exact recomputation (default
        ``max(4, k // 2)``), so rounding in :math:`\\lVert q\\rVert^2 + \\lVert x\\rVert^2 - 2 q
        \\cdot x` cannot push a true neighbour out.

    Returns
    -------
    indices : ndarray (m, k) int64, nearest first
    distances : ndarray (m, k) float64
    """
    n, m = X.shape[0], Q.shape[0]
    width = min(n, k + (max(4, k // 2) if margin is None else margin))
    dtype = np.result_type(Q.dtype, X.dtype, np.float32)
    mean = X.mean(axis=0, dtype=np.float64)
    Xc = np.ascontiguousarray(X - mean, dtype=dtype)
    Qc = np.ascontiguousarray(Q - mean, dtype=dtype)
    x_sq = np.einsum("jf,jf->j", Xc, Xc, dtype=np.float64).astype(dtype)
    q_sq = np.einsum("if,if->i", Qc, Qc, dtype=np.float64).astype(dtype)
    indices = np.empty((m, k), np.int64)
    distances = np.empty((m, k), np.float64)

    def work(i0, _, G, state):
        best_d, best_i = state
        i1 = i0 + G.shape[0]
        b = i1 - i0
        _keep_smallest(G, q_sq[i0:i1], x_sq, best_d[:b], best_i[:b])
        _refine(Q[i0:i1], X, best_i[:b], k, indices[i0:i1], distances[i0:i1])

    tasks = [(i0, min(i0 + BLOCK, m), 0, n) for i0 in range(0, m, BLOCK)]
    map_gemm_blocks(Qc, Xc, tasks, work,
                    lambda: (np.empty((BLOCK, width), dtype), np.empty((BLOCK, width), np.int64)),
                    n_workers)
    return indices, distances
