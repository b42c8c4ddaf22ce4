"""scratchnet.metrics: judging clusterings.

Internal (need X): ``silhouette_samples``, ``silhouette_score``, ``dunn_index``.
External (need the true labels): ``clustering_accuracy`` (Hungarian-matched),
``normalized_mutual_info_score``, ``adjusted_rand_score``, ``purity_score``,
``contingency_matrix``, ``cluster_composition``.
Matching: ``linear_sum_assignment`` (a scipy-compatible assignment solver).

Names. A metric with a fast implementation has a readable twin beside it, in the same file:
the public fast function ``name``, its plain NumPy twin ``name_reference`` (the definition
written to be read, same contract and conventions, slower or O(n²) in memory), and the
private Numba kernels of the fast one ``_name_kernel``. The tests hold each pair equal:
``silhouette_samples`` / ``silhouette_samples_reference``, ``dunn_index`` /
``dunn_index_reference``, ``linear_sum_assignment`` / ``linear_sum_assignment_reference``.
Small compiled helpers called only from inside kernels are named for what they compute
(``_pairwise.exact_sq``), as in ``cluster/_lloyd.py``.
"""
from .dunn import dunn_index, dunn_index_reference
from .external import (adjusted_rand_score, cluster_composition, clustering_accuracy,
                       contingency_matrix, normalized_mutual_info_score, purity_score)
from .matching import linear_sum_assignment, linear_sum_assignment_reference
from .scores import METRICS, external_scores, format_composition, score_clustering
from .silhouette import silhouette_samples, silhouette_samples_reference, silhouette_score

__all__ = ["adjusted_rand_score", "cluster_composition", "clustering_accuracy",
           "contingency_matrix", "dunn_index", "dunn_index_reference", "linear_sum_assignment",
           "linear_sum_assignment_reference", "normalized_mutual_info_score", "purity_score",
           "silhouette_samples", "silhouette_samples_reference", "silhouette_score",
           "METRICS", "external_scores", "format_composition", "score_clustering"]
