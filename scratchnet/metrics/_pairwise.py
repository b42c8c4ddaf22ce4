r"""Shared machinery for the metrics that need every pairwise distance, without an n×n matrix.

Samples are sorted by label (so a cluster is a contiguous range) and the distance matrix is
visited one B×B block at a time, upper triangle only (block (I, J) with J ≥ I also serves as
block (J, I)). Each block's dot products come from one GEMM,

.. math:: d^2(x_i, x_j) = \lVert x_i \rVert^2 + \lVert x_j \rVert^2 - 2\, x_i \cdot x_j,

and a Numba kernel turns them into distances and reduces them. Memory is O(B² + n·k). (The
readable references of the metrics take the other road: ``distance_matrix``, all n² distances
at once, O(n²) memory.)

Accuracy. The identity cancels badly when two points are close compared with their norms, so
X is first centered (smaller norms), and any pair whose :math:`d^2` comes out below
``NEAR * (|x_i|² + |x_j|²)`` is recomputed exactly as :math:`\sum_f (x_{if} - x_{jf})^2` in
float64. Dunn's index needs a rigorous bound instead of a threshold; it takes one from the
standard dot-product error analysis (Higham 2002, §3.1), :math:`|\mathrm{fl}(x\cdot y) - x\cdot y|
\le \gamma_d \sum_f |x_f y_f|` with :math:`\gamma_d = d u / (1 - d u)` (see ``dunn.py``).

Threads. BLAS threads and Numba's OpenMP threads both spin for a while after their work, so
alternating a 2-thread GEMM with a 2-thread kernel on 2 cores wastes much of each (measured:
1.8 s against 1.1 s for the whole silhouette of 10,000 Fashion-MNIST images). Here the cores
are owned by plain Python threads instead: BLAS is held to one thread, each worker takes the
next block, runs its GEMM and then a serial Numba kernel (both release the GIL), so every core
is always doing one useful thing. Each worker keeps its own accumulators, merged at the end.
"""
import threading

import numpy as np
from numba import get_num_threads, njit
from threadpoolctl import threadpool_limits

from .external import _encode, check_no_nan

BLOCK = 2048


def check_X_labels(X, labels, who, min_labels=2):
    """Validate X (n, d) finite numbers and labels (n,); returns (X, codes, n_labels)."""
    if not isinstance(X, np.ndarray):
        X = np.asarray(X)
    if X.dtype.kind not in "fiub":
        raise TypeError(f"{who}: expected a numeric X, got dtype {X.dtype}")
    if X.ndim != 2:
        raise ValueError(f"{who}: expected X of shape (n_samples, n_features), got {X.shape}")
    if X.dtype not in (np.float32, np.float64):
        X = X.astype(np.float64)
    if not np.isfinite(X).all():
        raise ValueError(f"{who}: X contains NaN or infinity")
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]       # a column of labels, as scikit-learn's column_or_1d takes
    if labels.shape != (X.shape[0],):
        raise ValueError(f"{who}: expected labels of shape ({X.shape[0]},) to match X, got "
                         f"{labels.shape}")
    check_no_nan(labels, who)
    codes, n_labels = _encode(labels)
    if n_labels < min_labels:
        raise ValueError(f"{who}: expected at least {min_labels} distinct labels, got {n_labels}")
    return X, codes, n_labels


def distance_matrix(X):
    r"""The full (n, n) matrix of Euclidean distances, in float64, as a textbook computes it.

    One row at a time from the differences, :math:`\lVert x_i - x_j \rVert = \sqrt{\sum_f
    (x_{if} - x_{jf})^2}`, so nothing cancels (unlike the GEMM identity). O(n²) memory and
    O(n²·d) time: the building block of the ``*_reference`` metrics, for small n.
    """
    X = np.asarray(X, dtype=np.float64)
    D = np.empty((X.shape[0], X.shape[0]))
    for i in range(X.shape[0]):
        D[i] = np.sqrt(((X - X[i]) ** 2).sum(axis=1))
    return D


class SortedByLabel:
    """X sorted by label, centered copy for the GEMMs, norms, cluster bounds.

    Attributes: order (n,) the permutation; X (n, d) original rows, sorted; Xc (n, d) centered,
    X's dtype; sq (n,) float64 row norms² of Xc; codes (n,) sorted label codes; bounds (k + 1,).
    """

    def __init__(self, X, codes, n_labels):
        self.order = np.argsort(codes, kind="stable")
        self.X = np.ascontiguousarray(X[self.order])
        self.codes = np.ascontiguousarray(codes[self.order]).astype(np.int64)
        mean = self.X.mean(axis=0, dtype=np.float64).astype(X.dtype)
        self.Xc = self.X - mean  # any common shift leaves distances alone; rounding is bounded
        self.sq = np.einsum("if,if->i", self.Xc, self.Xc, dtype=np.float64)
        self.bounds = np.searchsorted(self.codes, np.arange(n_labels + 1)).astype(np.int64)
        self.n, self.d = X.shape

    def upper_blocks(self, lo=0, hi=None, block=BLOCK):
        """The (i0, i1, j0, j1) blocks of the upper triangle of rows/columns [lo, hi)."""
        hi = self.n if hi is None else hi
        starts = range(lo, hi, block)
        return [(i0, min(i0 + block, hi), j0, min(j0 + block, hi))
                for i0 in starts for j0 in starts if j0 >= i0]

    def map_blocks(self, work, make_state, A=None, tasks=None, n_workers=None):
        """Run ``work(i0, j0, G, state)`` on blocks, G = A[i0:i1] @ A[j0:j1].T.

        ``A`` defaults to the centered rows ``Xc``, ``tasks`` to ``upper_blocks()``; see
        :func:`map_gemm_blocks`. Returns the list of states, for the caller to merge.
        """
        A = self.Xc if A is None else A
        tasks = self.upper_blocks() if tasks is None else tasks
        return map_gemm_blocks(A, A, tasks, work, make_state, n_workers)


def map_gemm_blocks(A, B, tasks, work, make_state, n_workers=None):
    """Run ``work(i0, j0, G, state)`` for each block (i0, i1, j0, j1) of ``tasks``, with
    G = A[i0:i1] @ B[j0:j1].T computed by a one-thread GEMM.

    Blocks are handed out one at a time to ``n_workers`` threads (default: Numba's thread
    count); each has its own G buffer and its own ``state = make_state()``. Returns the list of
    states. ``work`` should call ``nogil`` Numba kernels, so the threads run side by side.
    """
    n_workers = max(1, min(n_workers or get_num_threads(), len(tasks)))
    states = [make_state() for _ in range(n_workers)]
    size = max([(i1 - i0) * (j1 - j0) for i0, i1, j0, j1 in tasks], default=0)
    next_task = iter(tasks)
    lock = threading.Lock()
    errors = []

    def worker(state):
        buf = np.empty(size, dtype=np.result_type(A.dtype, B.dtype))
        try:
            while True:
                with lock:
                    task = next(next_task, None)
                if task is None:
                    return
                i0, i1, j0, j1 = task
                G = buf[: (i1 - i0) * (j1 - j0)].reshape(i1 - i0, j1 - j0)
                np.dot(A[i0:i1], B[j0:j1].T, out=G)
                work(i0, j0, G, state)
        except BaseException as exc:  # re-raised in the calling thread
            errors.append(exc)

    with threadpool_limits(limits=1, user_api="blas"):
        threads = [threading.Thread(target=worker, args=(st,)) for st in states[1:]]
        for t in threads:
            t.start()
        worker(states[0])
        for t in threads:
            t.join()
    if errors:
        raise errors[0]
    return states


def exact_sq_reference(X, i, j):
    """Squared distance of rows i and j of X, in NumPy (float64)."""
    return float(((X[i].astype(np.float64) - X[j].astype(np.float64)) ** 2).sum())


@njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def exact_sq(X, i, j):
    """Exact squared distance of rows i and j of X, accumulated in float64."""
    s = 0.0
    for f in range(X.shape[1]):
        diff = np.float64(X[i, f]) - np.float64(X[j, f])
        s += diff * diff
    return s
