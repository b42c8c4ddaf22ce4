r"""One Lloyd iteration of K-means: the NumPy reference, and its Numba twin right below it.

An iteration has two halves. The E-step gives every sample the label of its nearest center,

.. math:: \ell_i = \arg\min_j \lVert x_i - c_j \rVert^2
              = \arg\min_j \left( \lVert c_j \rVert^2 - 2\, x_i \cdot c_j \right),

where :math:`\lVert x_i \rVert^2` is dropped because it is the same for every :math:`j`; the
remaining :math:`x_i \cdot c_j` for all :math:`i, j` is one matrix product :math:`X C^T`, the only
O(n·k·d) work. The M-step moves each center to the mean of its samples,
:math:`c_j \leftarrow \frac{1}{|S_j|} \sum_{i \in S_j} x_i`, or with sample weights to their
weighted mean :math:`\sum_{i \in S_j} w_i x_i / \sum_{i \in S_j} w_i` (a weight of 2 counts a
sample twice). An empty cluster is given the sample farthest from its own center (as
scikit-learn does), so no center is ever lost.

Both implementations share one signature (arrays tagged IN/OUT, all buffers allocated by the
caller) and one M-step finisher, ``_finish_m_step``, so the tests can hold them equal::

    lloyd_iter[_reference](X, centers_old, centers_new, weight_in_clusters, labels,
                           center_shift, ..., sample_weight=None)

``sample_weight=None`` is the unweighted case. Numba compiles a separate version of each kernel
for ``None``, with the weighted branches removed, so unweighted K-means pays nothing for them.

The Numba kernel reads each row of X exactly once per iteration: it computes the row's k dot
products (a tile of four rows and two centers at a time, so each value loaded serves several
products), picks the nearest center and adds the row into that center's running sum while it
is still in L1.
The rows are cut into slices of at most 1,024, handed out dynamically to the threads; each slice
has its own partial sums, in X's dtype (float32 sums over a thousand rows lose about 1e-6 in
relative terms; float64 sums cost 10% more time here), added up in float64 at the end. The whole
iteration runs in Numba threads; BLAS is not called, so two thread pools never compete.

Where an iteration's time goes, and what was tried to make it faster: see
``benchmarks/bench_cluster.py``.
"""
import numpy as np
from numba import get_num_threads, njit, parallel_chunksize, prange

# Numba functions that are pieces of a larger kernel, and the NumPy reference that the tests
# hold the whole to (tests/test_naming.py checks that every Numba function has one).
_KERNEL_PARTS = {"_column_partials": "column_sums_reference",
                 "_closer": "lloyd_iter_reference", "_nearest_four": "lloyd_iter_reference",
                 "_nearest_one": "lloyd_iter_reference", "_add_row": "lloyd_iter_reference",
                 "_assign_and_sum": "lloyd_iter_reference", "_assign": "assign_labels_reference",
                 "_inertia": "inertia_reference"}

# Reassociation lets LLVM vectorise the dot-product reductions; no NaN/inf reaches here
# (KMeans validates its input), so nothing else about IEEE semantics is relaxed.
_FASTMATH = {"reassoc", "contract", "nsz", "arcp"}


def _finish_m_step(X, centers_old, centers_new, sums, counts, weight_in_clusters, labels,
                   center_shift, sample_weight=None):
    """Shared end of the M-step: relocate empty clusters, average, measure the shift.

    IN: X (n, d), centers_old (k, d), labels (n,), sample_weight (n,) or None.
    IN/OUT: sums (k, d) float64 (weighted sums of rows), counts (k,) float64 (total weights).
    OUT: centers_new (k, d), weight_in_clusters (k,), center_shift (k,).
    """
    empty = np.flatnonzero(counts == 0)
    if empty.size:
        # scikit-learn's rule: the samples farthest from their current center each found a
        # new cluster, and leave the one they were in.
        dist = ((X - centers_old[labels]).astype(np.float64) ** 2).sum(axis=1)
        if sample_weight is not None:
            dist[sample_weight == 0] = 0  # a sample of weight zero cannot hold a cluster
        far = np.argsort(-dist, kind="stable")[: empty.size]
        # a sample already on its center gains nothing by moving: with duplicated points a
        # cluster may stay empty (scikit-learn's fix for its issue #28055)
        far = far[dist[far] > 0]
        for j_new, i in zip(empty, far):
            j_old = labels[i]
            w = 1.0 if sample_weight is None else float(sample_weight[i])
            sums[j_old] -= w * X[i]
            counts[j_old] -= w
            sums[j_new] = w * X[i]
            counts[j_new] = w
    nonzero = counts > 0
    centers_new[nonzero] = sums[nonzero] / counts[nonzero, None]
    centers_new[~nonzero] = centers_old[~nonzero]  # empty clusters that found no sample stay put
    weight_in_clusters[:] = counts
    center_shift[:] = np.sqrt(((centers_new.astype(np.float64)
                                - centers_old.astype(np.float64)) ** 2).sum(axis=1))


# ---------------------------------------------------------------------------------------------
# NumPy reference
# ---------------------------------------------------------------------------------------------

def assign_labels_reference(X, centers, labels, chunk_size=256):
    """E-step in plain NumPy, in chunks of rows. IN: X, centers.  OUT: labels (n,) int32."""
    centers_sq = np.einsum("jf,jf->j", centers, centers)
    for s in range(0, X.shape[0], chunk_size):
        # ||x - c||^2 = ||x||^2 - 2 x.c + ||c||^2; ||x||^2 does not change the argmin
        dist = centers_sq[None, :] - 2 * (X[s:s + chunk_size] @ centers.T)
        labels[s:s + chunk_size] = dist.argmin(axis=1)


def lloyd_iter_reference(X, centers_old, centers_new, weight_in_clusters, labels, center_shift,
                         update_centers=True, sample_weight=None):
    """One Lloyd iteration in plain NumPy.

    IN: X (n, d), centers_old (k, d), sample_weight (n,) or None.  OUT: labels (n,) int32, and
    when ``update_centers`` also centers_new (k, d), weight_in_clusters (k,), center_shift (k,).
    """
    assign_labels_reference(X, centers_old, labels)
    if not update_centers:
        return
    k = centers_old.shape[0]
    w = np.ones(X.shape[0]) if sample_weight is None else sample_weight.astype(np.float64)
    # row j of one_hot holds the weights of cluster j's samples, zero elsewhere
    one_hot = (labels[None, :] == np.arange(k)[:, None]) * w[None, :]
    sums = one_hot @ X.astype(np.float64)
    counts = one_hot.sum(axis=1)
    _finish_m_step(X, centers_old, centers_new, sums, counts, weight_in_clusters, labels,
                   center_shift, sample_weight)


# ---------------------------------------------------------------------------------------------
# Numba twin
# ---------------------------------------------------------------------------------------------

@njit(fastmath=_FASTMATH, cache=True, nogil=True, inline="always")
def _closer(dist, j, best, best_j):
    """(dist, j) if dist is strictly smaller, else the old pair: the first of equal distances
    wins, like argmin."""
    if dist < best:
        return dist, j
    return best, best_j


@njit(fastmath=_FASTMATH, cache=True, nogil=True)
def _nearest_four(X, i, centers, centers_sq):
    """Nearest center of rows i, i+1, i+2, i+3 of X.

    A tile of 4 rows × 2 centers: each pass over the features keeps 8 dot products running,
    and each value loaded serves several of them (a center's value 4 rows, a row's value 2
    centers): 6 loads per 8 multiply-adds, against 5 per 4 for one center at a time. The loads
    from L1, not the arithmetic, were the limit; the tile made the E-step 8% faster.
    """
    k, d = centers.shape
    best0 = best1 = best2 = best3 = np.inf
    j0 = j1 = j2 = j3 = 0
    zero = X.dtype.type(0)  # accumulate in X's dtype, as the GEMM of the reference does
    j = 0
    while j < k:
        two = j + 1 < k  # an odd k leaves one center for the last pass
        c1 = j + 1 if two else j
        a0 = a1 = a2 = a3 = zero  # dot products with center j
        e0 = e1 = e2 = e3 = zero  # ... and with center j + 1
        for f in range(d):
            c = centers[j, f]
            g = centers[c1, f]
            x0 = X[i, f]
            x1 = X[i + 1, f]
            x2 = X[i + 2, f]
            x3 = X[i + 3, f]
            a0 += x0 * c
            a1 += x1 * c
            a2 += x2 * c
            a3 += x3 * c
            e0 += x0 * g
            e1 += x1 * g
            e2 += x2 * g
            e3 += x3 * g
        best0, j0 = _closer(centers_sq[j] - (a0 + a0), j, best0, j0)
        best1, j1 = _closer(centers_sq[j] - (a1 + a1), j, best1, j1)
        best2, j2 = _closer(centers_sq[j] - (a2 + a2), j, best2, j2)
        best3, j3 = _closer(centers_sq[j] - (a3 + a3), j, best3, j3)
        if two:
            best0, j0 = _closer(centers_sq[c1] - (e0 + e0), c1, best0, j0)
            best1, j1 = _closer(centers_sq[c1] - (e1 + e1), c1, best1, j1)
            best2, j2 = _closer(centers_sq[c1] - (e2 + e2), c1, best2, j2)
            best3, j3 = _closer(centers_sq[c1] - (e3 + e3), c1, best3, j3)
        j += 2
    return j0, j1, j2, j3


@njit(fastmath=_FASTMATH, cache=True, nogil=True)
def _nearest_one(X, i, centers, centers_sq):
    """Nearest center of row i of X (the tail after the groups of four)."""
    k, d = centers.shape
    best = np.inf
    best_j = 0
    for j in range(k):
        dot = X.dtype.type(0)
        for f in range(d):
            dot += X[i, f] * centers[j, f]
        dist = centers_sq[j] - (dot + dot)
        if dist < best:
            best, best_j = dist, j
    return best_j


@njit(fastmath=_FASTMATH, cache=True, nogil=True)
def _add_row(X, i, j, sample_weight, labels, sums, counts):
    """Row i joins cluster j: its label, and its (weighted) values into cluster j's sums."""
    labels[i] = j
    if sample_weight is None:  # decided when Numba compiles: no test at run time
        counts[j] += 1.0
        for f in range(X.shape[1]):
            sums[j, f] += X[i, f]
    else:
        w = sample_weight[i]
        counts[j] += w
        for f in range(X.shape[1]):
            sums[j, f] += w * X[i, f]


@njit(parallel=True, fastmath=_FASTMATH, cache=True, nogil=True)
def _assign_and_sum(X, sample_weight, centers, centers_sq, labels, partial_sums,
                    partial_counts):
    """Fused E-step and M-step sums.

    IN: X (n, d), sample_weight (n,) or None, centers (k, d), centers_sq (k,) = row norms² of
    centers.
    OUT: labels (n,) int32; partial_sums (T, k, d) in X's dtype and partial_counts (T, k)
    float64, one slice per task t, each covering rows [t n / T, (t + 1) n / T).
    """
    n = X.shape[0]
    n_tasks = partial_sums.shape[0]
    for t in prange(n_tasks):  # each task writes only its own rows and its own partial slice
        sums = partial_sums[t]
        counts = partial_counts[t]
        for j in range(counts.shape[0]):   # loops, not sums[:] = 0: see _column_partials
            counts[j] = 0
            for f in range(sums.shape[1]):
                sums[j, f] = 0
        stop = (t + 1) * n // n_tasks
        i = t * n // n_tasks
        while i + 4 <= stop:
            j0, j1, j2, j3 = _nearest_four(X, i, centers, centers_sq)
            _add_row(X, i, j0, sample_weight, labels, sums, counts)  # the rows are still in L1
            _add_row(X, i + 1, j1, sample_weight, labels, sums, counts)
            _add_row(X, i + 2, j2, sample_weight, labels, sums, counts)
            _add_row(X, i + 3, j3, sample_weight, labels, sums, counts)
            i += 4
        for i in range(i, stop):
            _add_row(X, i, _nearest_one(X, i, centers, centers_sq), sample_weight, labels, sums,
                     counts)


@njit(parallel=True, fastmath=_FASTMATH, cache=True, nogil=True)
def _assign(X, centers, centers_sq, labels):
    """E-step only. IN: X, centers, centers_sq.  OUT: labels (n,) int32."""
    n = X.shape[0]
    for p in prange(n // 4):
        i = 4 * p
        labels[i], labels[i + 1], labels[i + 2], labels[i + 3] = _nearest_four(
            X, i, centers, centers_sq)
    for i in range(n - n % 4, n):
        labels[i] = _nearest_one(X, i, centers, centers_sq)


def inertia_reference(X, centers, labels, sample_weight=None):
    r""":math:`\sum_i w_i \lVert x_i - c_{\ell_i} \rVert^2` in NumPy (float64)."""
    d2 = ((X.astype(np.float64) - centers[labels].astype(np.float64)) ** 2).sum(axis=1)
    return float(d2.sum() if sample_weight is None else (d2 * sample_weight).sum())


@njit(parallel=True, fastmath=_FASTMATH, cache=True, nogil=True)
def _inertia(X, centers, labels, sample_weight=None):
    r"""Exact :math:`\sum_i w_i \lVert x_i - c_{\ell_i} \rVert^2` (:math:`w_i = 1` without
    weights), accumulated in float64."""
    n, d = X.shape
    total = 0.0
    for i in prange(n):
        j = labels[i]
        s = 0.0
        for f in range(d):
            diff = np.float64(X[i, f]) - np.float64(centers[j, f])
            s += diff * diff
        if sample_weight is not None:
            s *= np.float64(sample_weight[i])
        total += s
    return total


def column_sums_reference(X):
    """Per-feature sums in float64, in NumPy."""
    return X.sum(axis=0, dtype=np.float64)


def column_sums(X, n_tasks=16):
    r"""Per-feature sums :math:`\sum_i x_{if}` in float64, in one parallel pass over X.

    IN: X (n, d). Each task sums a slice of rows into its own row of partials
    (``_column_partials``). K-means' mean and its finiteness check both come from this one pass
    (a NaN or inf anywhere makes some sum non-finite); NumPy's ``X.sum()`` then
    ``X.mean(axis=0)`` took two single-threaded passes, 27 ms against 7 on 70,000
    Fashion-MNIST images (``column_sums_reference`` is the NumPy line).
    """
    partial = np.zeros((n_tasks, X.shape[1]))
    _column_partials(X, partial)
    return partial.sum(axis=0)


@njit(parallel=True, cache=True, nogil=True)
def _column_partials(X, partial):  # X: IN   partial (T, d): INOUT, zeros on entry
    """Row t of ``partial`` += the column sums of X's t-th slice of rows.

    Only the ``prange`` loop is compiled in parallel mode: array expressions inside a
    ``parallel=True`` function (a ``zeros``, a ``sum(axis=0)``) become parallel loops of their
    own, and compiling them took 2 of this function's 2.4 s on a first run.
    """
    n, d = X.shape
    n_tasks = partial.shape[0]
    for t in prange(n_tasks):
        for i in range(t * n // n_tasks, (t + 1) * n // n_tasks):
            for f in range(d):
                partial[t, f] += X[i, f]


def center_rows_reference(X, mean, Xc):  # X, mean: IN   Xc: OUT
    """``center_rows`` in NumPy: Xc = X - mean, and the sum of its squares (float64)."""
    np.subtract(X, mean, out=Xc)
    return float((Xc.astype(np.float64) ** 2).sum())


@njit(parallel=True, fastmath=_FASTMATH, cache=True, nogil=True)
def center_rows(X, mean, Xc):
    r"""Xc = X - mean, and return :math:`\sum_{if} (x_{if} - \bar x_f)^2` (float64).

    IN: X (n, d), mean (d,).  OUT: Xc (n, d). One pass over X: the centering K-means does
    before iterating and the total variance its tolerance is scaled by.
    """
    n, d = X.shape
    total = 0.0
    for i in prange(n):
        s = 0.0
        for f in range(d):
            v = X[i, f] - mean[f]
            Xc[i, f] = v
            s += np.float64(v) * np.float64(v)
        total += s
    return total


def make_buffers(X, n_clusters, n_tasks=None):
    """The Numba kernel's per-task partial sums (X's dtype) and counts, once per fit.

    By default one task per 1,024 rows and at least eight per thread, handed out dynamically:
    on a machine shared with other work, a thread whose core is busy takes fewer of them
    instead of holding everyone up.
    """
    if n_tasks is None:
        n_tasks = max(8 * get_num_threads(), -(-X.shape[0] // 1024))
    n_tasks = min(n_tasks, max(X.shape[0], 1))
    return (np.zeros((n_tasks, n_clusters, X.shape[1]), dtype=X.dtype),
            np.zeros((n_tasks, n_clusters), dtype=np.float64))


def assign_labels(X, centers, labels):
    """E-step with the Numba kernel. IN: X, centers.  OUT: labels (n,) int32."""
    centers_sq = np.einsum("jf,jf->j", centers, centers)
    _assign(X, centers, centers_sq, labels)


def lloyd_iter(X, centers_old, centers_new, weight_in_clusters, labels, center_shift,
                     buffers, update_centers=True, sample_weight=None):
    """One Lloyd iteration with the Numba kernel; same contract as ``lloyd_iter_reference``.

    ``buffers`` is ``make_buffers(X, k)``, allocated by the caller once per fit.
    """
    if not update_centers:
        assign_labels(X, centers_old, labels)
        return
    partial_sums, partial_counts = buffers
    centers_sq = np.einsum("jf,jf->j", centers_old, centers_old)
    with parallel_chunksize(1):  # dynamic scheduling, one task at a time
        _assign_and_sum(X, sample_weight, centers_old, centers_sq, labels, partial_sums,
                        partial_counts)
    sums = partial_sums.sum(axis=0, dtype=np.float64)
    counts = partial_counts.sum(axis=0)
    _finish_m_step(X, centers_old, centers_new, sums, counts, weight_in_clusters, labels,
                   center_shift, sample_weight)
