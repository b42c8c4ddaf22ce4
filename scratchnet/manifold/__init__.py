"""scratchnet.manifold: UMAP from scratch (exact kNN, fuzzy graph, spectral start, SGD layout).

``umap.py`` is the estimator and reads top to bottom; each step lives in its own file beside
its plain reference: ``_knn.py`` (blocked exact neighbours), ``_graph.py`` (local scales, fuzzy
union, Lanczos spectral start), ``_layout.py`` (the a/b curve and the SGD epochs).
"""
from ._graph import CSRGraph, fuzzy_union, membership_strengths, smooth_knn_dist, spectral_layout
from ._knn import exact_knn, knn_reference
from ._layout import find_ab_params
from .umap import UMAP

__all__ = ["CSRGraph", "UMAP", "exact_knn", "find_ab_params", "fuzzy_union", "knn_reference",
           "membership_strengths", "smooth_knn_dist", "spectral_layout"]
