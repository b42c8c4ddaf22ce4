r"""External clustering metrics: compare predicted clusters with the true classes.

All of them start from the contingency table :math:`N_{ab}` = number of samples of class a put
in cluster b, with row sums :math:`a_\cdot` (class sizes), column sums :math:`b_\cdot` (cluster
sizes) and total n.
"""
import numpy as np

from .matching import linear_sum_assignment


def _find(parent, v):
    """The root of ``v`` in the union-find forest ``parent``, halving the path on the way."""
    while parent[v] != v:
        parent[v] = parent[parent[v]]
        v = parent[v]
    return v


def _union_all(parent, a, b):
    """Join ``a[i]`` and ``b[i]`` for every i (IN/OUT: parent). Plain Python: one union per
    distinct (class, cluster) pair, at most a few tens of thousands, in milliseconds."""
    for x, y in zip(a.tolist(), b.tolist()):
        rx, ry = _find(parent, x), _find(parent, y)
        if rx != ry:
            parent[max(rx, ry)] = min(rx, ry)


def _roots(parent):
    """The root of every vertex (IN/OUT: parent, whose paths end up flat)."""
    return np.array([_find(parent, v) for v in range(len(parent))], dtype=np.int64)


def check_no_nan(labels, who, name="labels"):
    """Refuse NaN among float labels: NaN is no label (np.unique would make one group of them,
    and scikit-learn raises)."""
    if labels.dtype.kind in "fc" and np.isnan(labels).any():
        raise ValueError(f"{who}: {name} contain NaN; expected a label for every sample")


def _check_label_pair(y_true, y_pred, who):
    """Both label vectors 1-D and of the same length (they may hold any hashable labels)."""
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    if y_true.ndim != 1:
        raise ValueError(f"{who}: expected y_true of shape (n,), got {y_true.shape}")
    if y_pred.shape != y_true.shape:
        raise ValueError(f"{who}: expected y_pred of shape {y_true.shape} like y_true, got "
                         f"{y_pred.shape}")
    check_no_nan(y_true, who, "y_true")
    check_no_nan(y_pred, who, "y_pred")
    return y_true, y_pred


def _encode(y):
    """Labels -> (codes 0..m-1 in the order of the sorted unique labels, m)."""
    uniques, codes = np.unique(y, return_inverse=True)
    return codes.reshape(-1), uniques.size


def contingency_matrix(y_true, y_pred):
    r"""Contingency table :math:`N_{ab}`: samples of class a (rows, sorted labels) in cluster b
    (columns, sorted labels).

    Returns
    -------
    ndarray (n_classes, n_clusters) int64, summing to n (same as scikit-learn's, dense).

    Examples
    --------
    >>> contingency_matrix([0, 0, 1, 1], [1, 1, 1, 0]).tolist()
    [[0, 2], [1, 1]]
    """
    y_true, y_pred = _check_label_pair(y_true, y_pred, "contingency_matrix")
    t, nt = _encode(y_true)
    p, npr = _encode(y_pred)
    return np.bincount(t * npr + p, minlength=nt * npr).reshape(nt, npr).astype(np.int64)


def _sparse_contingency(y_true, y_pred, who):
    r"""The non-zero cells of :math:`N_{ab}` and its margins, without the dense table.

    Each sample's (class, cluster) pair becomes one integer key; sorting the keys counts the
    cells (O(n log n) time, O(n) memory, whatever the number of labels: two labellings with
    20,000 distinct values would need a 20,000 × 20,000 dense table).

    Returns (rows, cols, nab, a, b): cell coordinates and counts (int64), class sizes
    :math:`a_\cdot` and cluster sizes :math:`b_\cdot`.
    """
    y_true, y_pred = _check_label_pair(y_true, y_pred, who)
    if y_true.size == 0:
        # one rule for every score: no samples, no score (scikit-learn gives NMI and ARI 1.0
        # here, while accuracy and purity have no value to give)
        raise ValueError(f"{who}: expected at least one sample, got 0")
    t, nt = _encode(y_true)
    p, npr = _encode(y_pred)
    keys, nab = np.unique(t.astype(np.int64) * npr + p, return_counts=True)
    return (keys // npr, keys % npr, nab.astype(np.int64),
            np.bincount(t, minlength=nt).astype(np.int64),
            np.bincount(p, minlength=npr).astype(np.int64))


def purity_score(y_true, y_pred):
    r"""Purity: the fraction of samples that belong to their cluster's majority class.

    .. math:: \text{purity} = \frac{1}{n} \sum_b \max_a N_{ab}

    Rises to 1 as clusters get smaller (n singleton clusters are perfectly pure), so compare it
    only between clusterings with the same number of clusters.

    Examples
    --------
    >>> purity_score([0, 0, 1, 1], [1, 1, 1, 0])
    0.75
    """
    _, cols, nab, _, b = _sparse_contingency(y_true, y_pred, "purity_score")
    if b.sum() == 0:
        raise ValueError("purity_score: expected at least one sample, got 0")
    majority = np.zeros(b.size, np.int64)
    np.maximum.at(majority, cols, nab)          # max_a N_ab for every cluster b
    return float(majority.sum() / b.sum())


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
    classes, clusters, nab, _, _ = _sparse_contingency(y_true, y_pred, "clustering_accuracy")
    return float(_best_matching_total(classes, clusters, nab) / y_true.size)


# The largest table one Hungarian matching may take (int64: 800 MB). Labellings met in
# practice never come near it; see _best_matching_total for why the table is not
# n_classes × n_clusters.
_MAX_TABLE = 10**8


def _best_matching_total(classes, clusters, nab):
    """The most samples a one-to-one map of clusters to classes can get right, from the
    non-empty cells ``(classes[i], clusters[i])`` holding ``nab[i]`` samples.

    A class and a cluster that share no sample gain nothing from being matched. So the cells
    fall into groups, the connected pieces of the bipartite graph they draw between classes
    and clusters, and the best matching is the union of each group's best matching, found on
    the group's own small table: two labellings of 20,000 distinct values each that mostly
    agree make about 20,000 one-cell groups, not one table of 400 million cells.
    """
    n_classes = int(classes.max()) + 1
    parent = list(range(n_classes + int(clusters.max()) + 1))
    _union_all(parent, classes, clusters + n_classes)
    group = _roots(parent)[classes]                     # each cell's group
    order = np.argsort(group, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(group[order]) != 0])
    sizes = np.diff(np.r_[starts, order.size])
    total = int(nab[order[starts[sizes == 1]]].sum())    # a lone cell is its own match
    for start, size in zip(starts[sizes > 1].tolist(), sizes[sizes > 1].tolist()):
        cells = order[start:start + size]
        rows, r = np.unique(classes[cells], return_inverse=True)
        cols, c = np.unique(clusters[cells], return_inverse=True)
        if rows.size == 1 or cols.size == 1:             # one class or one cluster
            total += int(nab[cells].max())
            continue
        if rows.size * cols.size > _MAX_TABLE:
            raise ValueError(
                f"clustering_accuracy: {rows.size} classes and {cols.size} clusters are linked "
                f"by shared samples into one group; its table of {rows.size * cols.size:,} "
                f"cells is over the {_MAX_TABLE:,} this function allows (expected labellings "
                f"whose classes and clusters overlap less)")
        table = np.zeros((cols.size, rows.size), dtype=np.int64)
        table[c.reshape(-1), r.reshape(-1)] = nab[cells]
        i, j = linear_sum_assignment(table, maximize=True)
        total += int(table[i, j].sum())
    return total


def _entropy(counts):
    counts = counts[counts > 0].astype(np.float64)
    total = counts.sum()
    return float(-np.sum((counts / total) * (np.log(counts) - np.log(total))))


def normalized_mutual_info_score(y_true, y_pred):
    r"""Normalized mutual information, arithmetic-mean normalisation (scikit-learn's default).

    .. math:: \text{NMI} = \frac{I(A; B)}{\tfrac12 (H(A) + H(B))}, \quad
              I(A; B) = \sum_{ab} \frac{N_{ab}}{n} \log \frac{n N_{ab}}{a_\cdot b_\cdot}

    Conventions as in ``sklearn.metrics.normalized_mutual_info_score``: 1.0 when both labelings
    have a single group, 0.0 when the mutual information is 0. No samples is a ``ValueError``
    (scikit-learn returns 1.0), as for every score here.

    Examples
    --------
    >>> normalized_mutual_info_score([0, 0, 1, 1], [5, 5, 2, 2])
    1.0
    """
    rows, cols, nab, a, b = _sparse_contingency(y_true, y_pred, "normalized_mutual_info_score")
    if a.size == b.size and a.size <= 1:
        return 1.0
    if a.size == 1 or b.size == 1:
        # one labelling is a single group: it tells nothing about the other, I(A; B) = 0
        # exactly (the sum below would leave rounding, e.g. 1.2e-13; scikit-learn #13836)
        return 0.0
    a, b, nab = a.astype(np.float64), b.astype(np.float64), nab.astype(np.float64)
    n = nab.sum()
    # the same grouping of logarithms as scikit-learn, so equal inputs round the same way
    p_ab = nab / n
    log_outer = -np.log(a[rows] * b[cols]) + np.log(a.sum()) + np.log(b.sum())
    terms = p_ab * (np.log(nab) - np.log(n)) + p_ab * log_outer
    terms[np.abs(terms) < np.finfo(np.float64).eps] = 0.0  # rounding noise, as scikit-learn
    mi = max(float(terms.sum()), 0.0)
    if mi == 0.0:
        return 0.0
    return float(mi / (0.5 * (_entropy(a) + _entropy(b))))


def adjusted_rand_score(y_true, y_pred):
    r"""Adjusted Rand index (Hubert & Arabie 1985): the Rand index corrected for chance.

    .. math:: \text{ARI} = \frac{\sum_{ab} \binom{N_{ab}}{2} - E}{\tfrac12 \left[\sum_a
              \binom{a_\cdot}{2} + \sum_b \binom{b_\cdot}{2}\right] - E}, \quad
              E = \frac{\sum_a \binom{a_\cdot}{2} \sum_b \binom{b_\cdot}{2}}{\binom{n}{2}}

    computed, as scikit-learn does, from the pair confusion matrix in exact integers; 1.0 when
    the two labelings agree on every pair (including the degenerate single-cluster cases), about
    0 for random labelings, possibly negative. No samples is a ``ValueError`` (scikit-learn
    returns 1.0), as for every score here.

    Examples
    --------
    >>> adjusted_rand_score([0, 0, 1, 1], [1, 1, 0, 0])
    1.0
    """
    _, _, nab, a, b = _sparse_contingency(y_true, y_pred, "adjusted_rand_score")
    n = int(nab.sum())
    # exact integers (int64 holds n² for n up to 3e9); sum_ab N_ab b_b = sum_b b_b², since the
    # column b of N sums to b_b, so the pair counts need only the non-zero cells and margins
    sum_sq, sum_a2, sum_b2 = (int(np.dot(v, v)) for v in (nab, a, b))
    # pairs counted in ordered form, like sklearn.metrics.cluster.pair_confusion_matrix
    tp = sum_sq - n
    fp = sum_b2 - sum_sq
    fn = sum_a2 - sum_sq
    tn = n * n - fp - fn - sum_sq
    if fn == 0 and fp == 0:
        return 1.0
    return float(2 * (tp * tn - fn * fp) / ((tp + fn) * (fn + tn) + (tp + fp) * (fp + tn)))


def cluster_composition(y_true, y_pred):
    r"""What each cluster is made of: its size and its true labels, most frequent first.

    Returns
    -------
    list of ``(cluster, size, [(label, count), ...])``, one per cluster in sorted order; the
    inner list holds only labels present, by decreasing count (ties by label).

    Examples
    --------
    >>> cluster_composition([4, 4, 9, 4, 1], [6, 6, 6, 6, 0])
    [(0, 1, [(1, 1)]), (6, 4, [(4, 3), (9, 1)])]
    """
    y_true, y_pred = _check_label_pair(y_true, y_pred, "cluster_composition")
    classes = np.unique(y_true)
    clusters = np.unique(y_pred)
    N = contingency_matrix(y_true, y_pred)
    out = []
    for b, cluster in enumerate(clusters):
        col = N[:, b]
        order = np.lexsort((np.arange(col.size), -col))
        counts = [(classes[a].item(), int(col[a])) for a in order if col[a] > 0]
        out.append((cluster.item(), int(col.sum()), counts))
    return out
