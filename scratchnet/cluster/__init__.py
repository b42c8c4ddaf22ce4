"""scratchnet.cluster: K-means (Python driver + one-iteration Numba kernel beside its NumPy
reference, in ``_lloyd.py``)."""
from .kmeans import KMeans, kmeans_plusplus

__all__ = ["KMeans", "kmeans_plusplus"]
