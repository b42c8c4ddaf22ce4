r"""A clustering's scores, all at once: the ones the examples' tables and the command line print.

The scores split in two kinds:

* *internal* — silhouette (Rousseeuw 1987) and Dunn's index (Dunn 1973) look only at the
  features and the cluster labels: how compact and separated the clusters are;
* *external* — Hungarian-matched accuracy, NMI, ARI and purity compare the clusters with the
  true classes, which the clustering never saw.

Internal scores computed on different feature spaces (1024 grey pixels vs a 512-d code) are
not comparable in absolute terms; the external ones are, since they only see labels.
"""
import numpy as np

from .dunn import dunn_index
from .external import (adjusted_rand_score, cluster_composition, normalized_mutual_info_score,
                       purity_score)
from .external import clustering_accuracy
from .silhouette import silhouette_score

METRICS = ("silhouette", "dunn", "acc", "nmi", "ari", "purity")


def score_clustering(features, labels, y_true=None, silhouette_sample=None, random_state=0):
    """Internal scores of a clustering, plus the external ones when ``y_true`` is given.

    ``silhouette_sample`` bounds the O(n²) silhouette to a random subset (as scikit-learn's
    ``sample_size``); Dunn's index is always exact.
    """
    n_clusters = len(np.unique(labels))
    scores = {}
    if n_clusters >= 2:
        sample = silhouette_sample if silhouette_sample and silhouette_sample < len(labels) \
            else None
        scores["silhouette"] = float(silhouette_score(features, labels, sample_size=sample,
                                                      random_state=random_state))
        scores["dunn"] = float(dunn_index(features, labels))
    if y_true is not None:
        scores.update(external_scores(y_true, labels))
    return scores


def external_scores(y_true, labels):
    """ACC, NMI, ARI and purity of ``labels`` against ``y_true`` (no features needed)."""
    return {"acc": float(clustering_accuracy(y_true, labels)),
            "nmi": float(normalized_mutual_info_score(y_true, labels)),
            "ari": float(adjusted_rand_score(y_true, labels)),
            "purity": float(purity_score(y_true, labels))}


def format_composition(y_true, labels, names=None, top=4):
    """One line per cluster saying which true labels fall in it, most frequent first.

    ``cluster 6 (n = 40): 22 fours, 14 nines, 4 sevens`` — from
    :func:`scratchnet.metrics.cluster_composition`; at most ``top`` labels per line, the rest
    summed as ``k others``. ``names[label]`` replaces the label number when given.

    >>> names = ["zeros", "ones", "twos", "threes", "fours", "fives", "sixes", "sevens",
    ...          "eights", "nines"]
    >>> print(format_composition([4, 4, 9, 4, 1], [6, 6, 6, 6, 0], names))
    cluster 0 (n = 1): 1 ones
    cluster 6 (n = 4): 3 fours, 1 nines
    """
    lines = []
    for cluster, size, counts in cluster_composition(y_true, labels):
        parts = [f"{c} {names[lab] if names is not None else f'label {lab}'}"
                 for lab, c in counts[:top]]
        rest = sum(c for _, c in counts[top:])
        if rest:
            parts.append(f"{rest} others")
        lines.append(f"cluster {cluster} (n = {size}): " + ", ".join(parts))
    return "\n".join(lines)
