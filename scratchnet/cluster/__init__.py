"""scratchnet.cluster: K-means (Python driver + one-iteration Numba kernel beside its NumPy
reference, in ``_lloyd.py``), a Gaussian mixture, DEC, and the helpers around them
(``helpers.py``: K-means on centred pixel rows, cluster means, the most balanced restart).

K-means and the mixture need only NumPy and their own kernels. DEC trains an encoder, so it
needs the network core (``scratchnet.nn``); it is imported on first use
(``scratchnet.cluster.DEC``), so that ``from scratchnet.cluster import KMeans`` does not load
the layers, the convolution kernels and the parallel trainer.
"""
from .gmm import GaussianMixture
from .helpers import (center_and_normalize, centered_pixel_kmeans, cluster_means,
                      size_entropy)
from .kmeans import KMeans, kmeans_plusplus

_FROM_DEC = ("ClusteringLayer", "DEC", "soft_assignment", "target_distribution")

__all__ = ["ClusteringLayer", "DEC", "GaussianMixture", "KMeans", "kmeans_plusplus",
           "soft_assignment", "target_distribution", "center_and_normalize",
           "centered_pixel_kmeans", "cluster_means", "size_entropy"]


def __getattr__(name):
    """DEC and its helpers, imported when first asked for (PEP 562)."""
    if name in _FROM_DEC:
        from . import dec
        return getattr(dec, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
