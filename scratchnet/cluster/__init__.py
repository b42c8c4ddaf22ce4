"""scratchnet.cluster: K-means (Python driver + one-iteration Numba kernel beside its NumPy
reference, in ``_lloyd.py``)."""
from .kmeans import KMeans, kmeans_plusplus
from .dec import DEC, ClusteringLayer, soft_assignment, target_distribution
from .gmm import GaussianMixture

__all__ = ["ClusteringLayer", "DEC", "GaussianMixture", "KMeans", "kmeans_plusplus",
           "soft_assignment", "target_distribution"]
