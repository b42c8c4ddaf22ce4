r"""Dunn's index (Dunn 1973), exact, in O(n) extra memory."""
import numpy as np
from numba import njit

from ._pairwise import BLOCK, SortedByLabel, check_X_labels, exact_sq


@njit(cache=True, nogil=True)
def _dunn_block(G, i0, j0, X, sq, codes, gamma, min_inter, max_intra):
    r"""Update the running exact extremes with one block.

    IN: G (bi, bj) GEMM dot products of centered rows; X (n, d) sorted original rows; sq (n,)
    norms² of the centered rows; codes (n,); gamma, the error factor of the GEMM-based d².
    IN/OUT: min_inter (bi,) and max_intra (bi,) float64, exact squared distances, one slot per
    row of the block (so threads never share one).

    A pair is recomputed exactly only when its error interval [d² - e, d² + e],
    e = gamma (|x_i|² + |x_j|²), could still beat the slot's current exact value; the slots only
    improve, so a pair skipped can never be the extreme, and the result is exact.
    """
    bi, bj = G.shape
    for a in range(bi):
        i = i0 + a
        lo = min_inter[a]
        hi = max_intra[a]
        for b in range(bj):
            j = j0 + b
            if j <= i:  # each unordered pair once (diagonal blocks hold both orders)
                continue
            d2 = sq[i] + sq[j] - 2.0 * np.float64(G[a, b])
            e = gamma * (sq[i] + sq[j])
            if codes[i] != codes[j]:
                if d2 - e < lo:
                    lo = min(lo, exact_sq(X, i, j))
            elif d2 + e > hi:
                hi = max(hi, exact_sq(X, i, j))
        min_inter[a] = lo
        max_intra[a] = hi


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
    Exact, O(n²·d) time, no n×n matrix: the upper triangle of the distance matrix is visited
    block by block through GEMMs, and every pair that might be an extreme, given a rigorous
    bound on the GEMM's rounding error, is recomputed directly in float64 (see ``_pairwise``).
    Invariant to scaling X by a positive factor, and to translating it.

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
    gamma = s.error_factor()

    def work(i0, j0, G, state):
        lo, hi, best = state
        bi = G.shape[0]
        lo[:bi] = best[0]  # start from this worker's best exact values: fewer recomputations
        hi[:bi] = best[1]
        _dunn_block(G, i0, j0, s.X, s.sq, s.codes, gamma, lo[:bi], hi[:bi])
        best[0] = min(best[0], lo[:bi].min())
        best[1] = max(best[1], hi[:bi].max())

    size = min(s.n, BLOCK)
    states = s.map_blocks(work, lambda: (np.empty(size), np.empty(size), [np.inf, 0.0]))
    lo_all = min(state[2][0] for state in states)
    hi_all = max(state[2][1] for state in states)
    if hi_all == 0.0:
        return float("inf")
    return float(np.sqrt(lo_all) / np.sqrt(hi_all))
