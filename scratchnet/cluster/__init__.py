"""scratchnet.cluster: K-means (Python driver + one-iteration Numba kernel beside its NumPy
reference, in ``_lloyd.py``)."""
from .kmeans import KMeans, kmeans_plusplus
from .dec import DEC, ClusteringLayer, soft_assignment, target_distribution

__all__ = ["ClusteringLayer", "DEC", "KMeans", "kmeans_plusplus", "soft_assignment",
           "target_distribution"]
