r"""Silhouette coefficients (Rousseeuw 1987), exact, in O(n·k) memory.

For a sample i of cluster A, a(i) is the mean distance to the other members of A, b(i) the
smallest mean distance to the members of another cluster, and s(i) = (b - a) / max(a, b). Both
means come from one table: for every sample i and label c, the sum of the distances from
:math:`x_i` to the samples labelled c, an (n, k) table.

``silhouette_samples_reference`` is the textbook: the full n×n distance matrix (O(n²) memory),
then a(i) and b(i) read off row i, one sample at a time. ``silhouette_samples`` never holds
that matrix. It visits it one GEMM block at a time, upper triangle only (``_pairwise``), and
two Numba kernels turn a block's dot products into distances and add them to the table at
once: along its rows (``_row_sums_kernel``) and, for an off-diagonal block, which stands for
its mirror image too, down its columns (``_col_sums_kernel``). The tests hold the two equal,
and both equal to scikit-learn.

Names, as across ``scratchnet.metrics``: the public fast function ``name``, its plain NumPy
twin ``name_reference``, private Numba kernels ``_name_kernel``.
"""
import numpy as np
from numba import njit

from .._utils import as_rng
from ._pairwise import SortedByLabel, check_X_labels, distance_matrix, exact_sq

# Numba functions that are pieces of a larger kernel, and the NumPy reference the tests
# hold the whole to (tests/test_naming.py checks that every Numba function has one).
_KERNEL_PARTS = {"_row_sums_kernel": "silhouette_samples_reference",
                 "_col_sums_kernel": "silhouette_samples_reference"}


def silhouette_samples_reference(X, labels):
    """Plain NumPy twin of ``silhouette_samples``: same contract and conventions, the
    definition read off the full distance matrix (O(n²) memory: for small n).

    >>> silhouette_samples_reference(np.array([[0.0], [1.0], [10.0], [12.0]]),
    ...                              [0, 0, 1, 1]).round(4).tolist()
    [0.9091, 0.9, 0.7895, 0.8261]
    """
    X, codes, n_labels = check_X_labels(X, labels, "silhouette_samples_reference")
    n = X.shape[0]
    _check_n_labels(n_labels, n, "silhouette_samples_reference")
    D = distance_matrix(X)
    s = np.zeros(n)
    for i in range(n):
        own = codes == codes[i]
        n_own = own.sum()
        if n_own == 1:
            continue  # a singleton: a(i) is undefined; Rousseeuw and scikit-learn set s = 0
        a = D[i, own].sum() / (n_own - 1)  # D[i, i] = 0 is in the sum, not in the count
        b = min(D[i, codes == c].mean() for c in range(n_labels) if c != codes[i])
        s[i] = (b - a) / max(a, b) if max(a, b) > 0 else 0.0  # a = b = 0: every point equal
    return s


def silhouette_samples(X, labels):
    r"""Silhouette coefficient of every sample.

    .. math:: s(i) = \frac{b(i) - a(i)}{\max(a(i), b(i))}

    with :math:`a(i)` the mean distance from :math:`x_i` to the other members of its cluster
    and :math:`b(i)` the smallest mean distance from :math:`x_i` to the members of another
    cluster. s lies in [-1, 1]; near 1 the sample sits well inside its cluster.

    Parameters
    ----------
    X : ndarray (n_samples, n_features)
    labels : array_like (n_samples,), any hashable labels; 2 to n_samples - 1 distinct values

    Returns
    -------
    ndarray (n_samples,) float64

    Raises
    ------
    ValueError
        X not 2-D or not finite, labels of the wrong length, fewer than 2 or more than
        n_samples - 1 clusters.

    Notes
    -----
    Conventions as in ``sklearn.metrics.silhouette_samples`` (Euclidean metric): a sample
    alone in its cluster has s = 0; a cluster of identical points has a = 0, so s = 1.
    Exact (not sampled) and O(n²·d) time, but O(n·k) memory: distances are made block by
    block from GEMMs over the upper triangle (each block serves both (I, J) and (J, I)) and
    summed per cluster at once; near pairs are recomputed directly (see ``_pairwise``).
    ``silhouette_samples_reference`` is the same definition read off the full distance matrix.
    float32 input is multiplied in float32 (scikit-learn upcasts to float64): on the 10,000
    Fashion-MNIST test images the per-sample values differ from scikit-learn's by at most
    2.3e-7, the mean by 8e-9.

    References
    ----------
    .. [1] Rousseeuw, P. J. (1987). Silhouettes: a graphical aid to the interpretation and
       validation of cluster analysis. J. Comput. Appl. Math. 20, 53-65.

    Examples
    --------
    >>> X = np.array([[0.0], [1.0], [10.0], [12.0]])
    >>> silhouette_samples(X, [0, 0, 1, 1]).round(4).tolist()
    [0.9091, 0.9, 0.7895, 0.8261]
    """
    X, codes, n_labels = check_X_labels(X, labels, "silhouette_samples")
    n = X.shape[0]
    _check_n_labels(n_labels, n, "silhouette_samples")
    sums, sizes = _label_sums(X, codes, n_labels)
    own = sizes[codes]
    rows = np.arange(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = sums[rows, codes] / (own - 1)
        means = sums / sizes[None, :]
        means[rows, codes] = np.inf
        b = means.min(axis=1)
        s = (b - a) / np.maximum(a, b)
    s[own == 1] = 0.0  # singleton: a is undefined; Rousseeuw and scikit-learn set s = 0
    return np.nan_to_num(s)  # a = b = 0 (every point identical): 0


def silhouette_score(X, labels, sample_size=None, random_state=None):
    r"""Mean silhouette coefficient over all samples (or over a random subset).

    Parameters
    ----------
    X : ndarray (n_samples, n_features)
    labels : array_like (n_samples,)
    sample_size : int or None
        Compute on this many samples drawn without replacement (both the samples scored and
        the samples they are compared with, as scikit-learn does); None uses all of them.
    random_state : None, int or np.random.Generator
        Used only with ``sample_size``.

    Returns
    -------
    float

    Examples
    --------
    >>> round(silhouette_score(np.array([[0.0], [1.0], [10.0], [12.0]]), [0, 0, 1, 1]), 4)
    0.8562
    """
    if sample_size is not None:
        X_arr = np.asarray(X)
        labels = np.asarray(labels)
        if labels.ndim == 2 and labels.shape[1] == 1:
            labels = labels[:, 0]
        n = X_arr.shape[0] if X_arr.ndim else 0
        if (not isinstance(sample_size, (int, np.integer)) or isinstance(sample_size, bool)
                or not 1 <= sample_size <= n):
            raise ValueError(f"silhouette_score: expected 1 <= sample_size <= n_samples = {n},"
                             f" got {sample_size!r}")
        if labels.shape != (n,):
            raise ValueError(f"silhouette_score: expected labels of shape ({n},) to match X, "
                             f"got {labels.shape}")
        idx = as_rng(random_state).permutation(n)[:sample_size]
        X, labels = X_arr[idx], labels[idx]
    return float(np.mean(silhouette_samples(X, labels)))


def _check_n_labels(n_labels, n, who):
    if n_labels > n - 1:
        raise ValueError(f"{who}: expected 2 to n_samples - 1 = {n - 1} distinct labels, got "
                         f"{n_labels}")


# ---------------------------------------------------------------------------------------------
# NumPy reference
# ---------------------------------------------------------------------------------------------

# ---------------------------------------------------------------------------------------------
# The fast version: blocks of GEMMs and two Numba kernels
# ---------------------------------------------------------------------------------------------

# A pair whose GEMM-based d² is below NEAR·(|x_i|² + |x_j|²) is recomputed exactly (see
# _pairwise): there the identity loses most of its digits to cancellation.
_NEAR = {np.dtype(np.float32): 0.05, np.dtype(np.float64): 1e-6}


def _label_sums(X, codes, n_labels):
    """For each sample i and label c: the sum of distances from x_i to the samples labelled c.

    Returns the (n, k) float64 table in the caller's sample order, and the cluster sizes."""
    s = SortedByLabel(X, codes, n_labels)
    near = _NEAR[s.Xc.dtype]

    def work(i0, j0, G, state):
        sums, col_acc = state
        _row_sums_kernel(G, i0, j0, s.X, s.sq, s.codes, s.bounds, near, sums)
        if i0 != j0:
            _col_sums_kernel(G, i0, j0, s.codes, sums, col_acc)

    states = s.map_blocks(work, lambda: (np.zeros((s.n, n_labels)), np.zeros(256)))
    sums = sum(state[0] for state in states)
    out = np.empty_like(sums)
    out[s.order] = sums
    return out, np.diff(s.bounds)


@njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def _row_sums_kernel(G, i0, j0, X, sq, codes, bounds, near, sums):
    """Distances of one block, summed per label along rows: sums[i, c] += Σ_{j in block, label c}
    d(x_i, x_j).

    IN: X (n, d) sorted original rows, sq (n,) norms² of the centered rows, codes (n,) sorted,
    bounds (k + 1,) where each label's range starts.
    IN/OUT: G (bi, bj) dot products in, distances out; sums (n, k) float64, row sums added.
    """
    bi, bj = G.shape
    c_first = codes[j0]
    c_last = codes[j0 + bj - 1]
    for a in range(bi):
        i = i0 + a
        for c in range(c_first, c_last + 1):  # one label at a time: a branch-free inner loop
            b0 = max(bounds[c], j0) - j0
            b1 = min(bounds[c + 1], j0 + bj) - j0
            acc = 0.0
            n_near = 0
            for b in range(b0, b1):
                d2 = sq[i] + sq[j0 + b] - 2.0 * np.float64(G[a, b])
                n_near += d2 < near * (sq[i] + sq[j0 + b])
                dist = np.sqrt(max(d2, 0.0))
                G[a, b] = dist
                acc += dist
            if n_near:  # rare: redo this stretch with the close pairs computed exactly
                acc = 0.0
                for b in range(b0, b1):
                    j = j0 + b
                    dist = np.float64(G[a, b])
                    if dist * dist < near * (sq[i] + sq[j]):
                        dist = 0.0 if i == j else np.sqrt(exact_sq(X, i, j))
                        G[a, b] = dist
                    acc += dist
            sums[i, c] += acc


@njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def _col_sums_kernel(G, i0, j0, codes, sums, col_acc):
    """The same block seen from the other side (it stands for its mirror image too): sum
    distances per label down columns, sums[j, c] += Σ_{i in block, label c} d(x_i, x_j).

    IN: G (bi, bj) distances.  IN/OUT: sums (n, k).  Buffer: col_acc (256,) float64.
    """
    bi, bj = G.shape
    width = col_acc.shape[0]
    for b0 in range(0, bj, width):  # a strip of columns at a time, so col_acc stays in L1
        w = min(width, bj - b0)
        a = 0
        while a < bi:
            c = codes[i0 + a]
            col_acc[:] = 0.0
            while a < bi and codes[i0 + a] == c:
                for b in range(w):
                    col_acc[b] += G[a, b0 + b]
                a += 1
            for b in range(w):
                sums[j0 + b0 + b, c] += col_acc[b]
