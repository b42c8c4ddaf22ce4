r"""Dunn's index (Dunn 1973), exact, in O(n) extra memory.

The index needs two extremes over all n²/2 pairs: the smallest distance between points of
different clusters and the largest distance within one. Computing every distance in full costs
n²d/2 multiply-adds; this module gets both extremes exactly while computing almost every pair
in only m = 32 dimensions.

The trick is a projection with a remainder. Let P be an orthonormal basis (d, m), z = Pᵀx the
coordinates of x in that subspace and r = x − Pz what is left, of length ρ = ‖r‖. Since the two
parts are orthogonal, ‖x − y‖² = ‖z_x − z_y‖² + ‖r_x − r_y‖², and the triangle inequality
brackets the second term, (ρ_x − ρ_y)² ≤ ‖r_x − r_y‖² ≤ (ρ_x + ρ_y)²:

.. math:: \lVert z_x - z_y \rVert^2 + (\rho_x - \rho_y)^2 \;\le\; \lVert x - y \rVert^2
          \;\le\; \lVert z_x - z_y \rVert^2 + (\rho_x + \rho_y)^2 .

A pair of different clusters whose *lower* bound is above the best gap found so far cannot be
the smallest gap; a pair of one cluster whose *upper* bound is below the largest diameter found
so far cannot be the largest. Only the pairs that survive are computed in full, exactly, in
float64. With P spanning roughly the top principal directions (``_principal_axes``), the
brackets are tight: on Fashion-MNIST's 10,000 test images, 3,929 of the 50 million pairs were
computed in full (3,900 for the gap, 29 for the diameter, blocks visited in order).

``dunn_index_reference`` is the definition itself, read off the full n×n distance matrix
(O(n²) memory); the tests hold ``dunn_index`` equal to it, and it equal to scipy's ``cdist``.
Names, as across ``scratchnet.metrics``: the public fast function ``name``, its plain NumPy
twin ``name_reference``, private Numba kernels ``_name_kernel``.
"""
import numpy as np
from numba import njit

from ._pairwise import SortedByLabel, check_X_labels, distance_matrix, exact_sq

# Numba functions that are pieces of a larger kernel, and the NumPy reference the tests
# hold the whole to (tests/test_naming.py checks that every Numba function has one).
_KERNEL_PARTS = {"_bracket_block_kernel": "dunn_index_reference"}


def dunn_index_reference(X, labels):
    """Plain NumPy twin of ``dunn_index``: same contract, the definition read off the full
    distance matrix (O(n²) memory: for small n).

    >>> dunn_index_reference(np.array([[0.0], [1.0], [10.0], [12.0]]), [0, 0, 1, 1])
    4.5
    """
    X, codes, _ = check_X_labels(X, labels, "dunn_index_reference")
    D = distance_matrix(X)
    same = codes[:, None] == codes[None, :]
    diameter = D[same].max()  # the largest distance within one cluster
    if diameter == 0.0:
        return float("inf")  # singletons or identical points only
    gap = D[~same].min()  # the smallest distance between two clusters
    return float(gap / diameter)


def dunn_index(X, labels):
    r"""Dunn's index: the smallest distance between two clusters over the largest diameter.

    .. math:: D = \frac{\min_{c \ne c'} \ \min_{x \in c,\, y \in c'} \lVert x - y \rVert}
                       {\max_{c} \ \max_{x, y \in c} \lVert x - y \rVert}

    Higher is better: compact clusters far apart. Single linkage between clusters and the
    complete diameter within them, as in Dunn's original definition.

    Parameters
    ----------
    X : ndarray (n_samples, n_features)
    labels : array_like (n_samples,), at least 2 distinct labels

    Returns
    -------
    float; ``inf`` when every cluster has diameter 0 (singletons or identical points).

    Notes
    -----
    Exact, no n×n matrix. Every pair is bracketed in a projection on m = 32 roughly principal
    directions (see the module's docstring), one GEMM block of 512×512 pairs at a time; only
    pairs whose bracket could move the smallest gap or the largest diameter are recomputed
    directly in float64. The brackets carry a slack for every rounding on the way (the GEMM in
    m dimensions, the rounding of z to X's precision, the centering), so no pair is discarded
    by a rounding error. Invariant to scaling X by a positive factor, and to translating it.
    ``dunn_index_reference`` is the definition read off the full distance matrix.

    References
    ----------
    .. [1] Dunn, J. C. (1973). A fuzzy relative of the ISODATA process and its use in detecting
       compact well-separated clusters. Journal of Cybernetics 3(3), 32-57.

    Examples
    --------
    >>> dunn_index(np.array([[0.0], [1.0], [10.0], [12.0]]), [0, 0, 1, 1])
    4.5
    """
    X, codes, n_labels = check_X_labels(X, labels, "dunn_index")
    s = SortedByLabel(X, codes, n_labels)

    m = min(N_DIRECTIONS, s.d)
    Z64 = s.Xc.astype(np.float64) @ _principal_axes(s.Xc, m, np.random.default_rng(0))
    rho = np.sqrt(np.maximum(s.sq - np.einsum("if,if->i", Z64, Z64), 0.0))
    Z = np.ascontiguousarray(Z64.astype(s.Xc.dtype))  # the brackets' GEMM in X's precision
    zsq = np.einsum("if,if->i", Z.astype(np.float64), Z.astype(np.float64))
    # slack for the rounding on the way, relative to |x_i|² + |x_j|²: the GEMM in m dimensions
    # (Higham 2002, §3.1: |fl(x·y) - x·y| <= γ_m Σ|x_f y_f|, γ_m = m u / (1 - m u)), the
    # rounding of Z and of the centering (a few units u per coordinate), and float64 rounding
    # in the norms and the basis
    u = np.finfo(s.Xc.dtype).eps / 2
    margin = 2 * (m * u / (1 - m * u) + u) + 16 * u + 1e-9

    def work(i0, j0, Gz, extremes):
        _bracket_block_kernel(Gz, i0, j0, s.X, zsq, rho, s.sq, s.codes, s.bounds, margin, extremes)

    seed = _diameter_seed(s)
    states = s.map_blocks(work, lambda: np.array([np.inf, seed]), A=Z,
                          tasks=s.upper_blocks(block=BLOCK))
    lo = min(st[0] for st in states)
    hi = max(st[1] for st in states)
    if hi == 0.0:
        return float("inf")
    return float(np.sqrt(lo) / np.sqrt(hi))


# ---------------------------------------------------------------------------------------------
# NumPy reference
# ---------------------------------------------------------------------------------------------

# ---------------------------------------------------------------------------------------------
# The fast version: projected brackets, GEMM blocks and one Numba kernel
# ---------------------------------------------------------------------------------------------

# Directions of the projection: more makes the bounds tighter and the GEMM longer.
N_DIRECTIONS = 32
# Block side: the m-dimensional GEMM is so short that the pass is bound by memory, so a block
# of bounds (4 bytes each) should stay in a core's L2 cache between the GEMM that writes it and
# the kernel that reads it. 2048×2048 blocks (16 MB) made the pass twice as slow.
BLOCK = 512


def _principal_axes(Xc, m, rng):
    """An orthonormal basis (d, m) of roughly the top-m principal subspace: a randomised range
    finder with one power iteration on a subsample, orthonormalised by a thin SVD.

    Any orthonormal basis keeps the bounds valid; a good one only makes them tight. The basis
    must be orthonormal even when X has rank below m (autoencoder codes with a dead unit, points
    on a line): the power iteration then returns dependent, or zero, columns, which Gram-Schmidt
    turned into a non-orthonormal basis or NaN (wrong brackets, a closest pair skipped). The left
    singular vectors are orthonormal to rounding level whatever the rank, the missing directions
    filled in arbitrarily."""
    sub = Xc[rng.permutation(Xc.shape[0])[:1000]]
    C = (sub.T @ sub).astype(np.float64)
    Q = C @ (C @ rng.normal(size=(C.shape[0], m)))
    U, _, _ = np.linalg.svd(Q, full_matrices=False)
    return U


def _diameter_seed(s):
    """A good first ``hi``: in each cluster, the point farthest from the mean, then the point
    farthest from it; that distance is a real pair's, so it never exceeds the diameter, and it is
    usually close to it, which lets the block pass discard nearly every pair of one cluster."""
    hi = 0.0
    for c in range(len(s.bounds) - 1):
        # the original rows, not the centered copy: its rounding would shift the distance
        rows = s.X[s.bounds[c]:s.bounds[c + 1]].astype(np.float64)
        if len(rows) < 2:
            continue
        a = rows[np.argmax(((rows - rows.mean(axis=0)) ** 2).sum(axis=1))]
        hi = max(hi, float(((rows - a) ** 2).sum(axis=1).max()))
    return hi


@njit(cache=True, nogil=True, fastmath={"reassoc", "contract", "nsz"})
def _bracket_block_kernel(Gz, i0, j0, X, zsq, rho, sq, codes, bounds, margin, extremes):
    r"""Improve the smallest gap and the largest diameter with one block of projected products.

    IN: Gz (bi, bj) dot products z_i·z_j for rows [i0, i0 + bi) and columns [j0, j0 + bj);
    X (n, d) sorted original rows (for the exact recomputation); zsq (n,) = ‖z‖²; rho (n,)
    residual norms; sq (n,) = ‖x‖² of the centered rows (the scale of the rounding errors);
    codes (n,) sorted labels, bounds (k + 1,) where each label starts; margin, relative slack
    for rounding.  IN/OUT: extremes = [lo, hi], the best exact gap² and diameter² so far.

    For each row i and each stretch of one label among the columns, the bound's extreme over
    the stretch is found first (a branch-free loop LLVM vectorises); only a stretch that could
    improve an extreme is looked into pair by pair.
    """
    lo, hi = extremes[0], extremes[1]
    bi, bj = Gz.shape
    c_first = codes[j0]
    c_last = codes[j0 + bj - 1]
    for a in range(bi):
        i = i0 + a
        for c in range(c_first, c_last + 1):
            b0 = max(bounds[c], j0, i + 1) - j0  # j > i: each unordered pair once
            b1 = min(bounds[c + 1], j0 + bj) - j0
            if b0 >= b1:
                continue
            if c != codes[i]:  # a gap: lower bound minus slack against lo
                base = zsq[i] - margin * sq[i]
                smallest = np.inf
                for b in range(b0, b1):
                    dr = rho[i] - rho[j0 + b]
                    smallest = min(smallest, zsq[j0 + b] - 2.0 * Gz[a, b] + dr * dr
                                   - margin * sq[j0 + b])
                if base + smallest >= lo:
                    continue
                for b in range(b0, b1):
                    dr = rho[i] - rho[j0 + b]
                    if base + zsq[j0 + b] - 2.0 * Gz[a, b] + dr * dr - margin * sq[j0 + b] < lo:
                        lo = min(lo, exact_sq(X, i, j0 + b))
            else:  # a diameter: upper bound plus slack against hi
                base = zsq[i] + margin * sq[i]
                largest = -np.inf
                for b in range(b0, b1):
                    sr = rho[i] + rho[j0 + b]
                    largest = max(largest, zsq[j0 + b] - 2.0 * Gz[a, b] + sr * sr
                                  + margin * sq[j0 + b])
                if base + largest <= hi:
                    continue
                for b in range(b0, b1):
                    sr = rho[i] + rho[j0 + b]
                    if base + zsq[j0 + b] - 2.0 * Gz[a, b] + sr * sr + margin * sq[j0 + b] > hi:
                        hi = max(hi, exact_sq(X, i, j0 + b))
    extremes[0], extremes[1] = lo, hi
