"""scratchnet: image clustering with autoencoders, written from scratch in NumPy and Numba.

Subpackages
-----------
nn        layers, losses, optimizers and the Sequential model (train an autoencoder)
cluster   K-means, Gaussian mixture and DEC
manifold  UMAP (the N2D stage: a graph embedding of the codes before clustering)
metrics   silhouette, Dunn, Hungarian matching, accuracy, NMI, ARI, purity
datasets  MNIST, Fashion-MNIST and CIFAR-10 readers with download, checksum and cache
"""
from . import _vector_width

# First, before any subpackage defines a Numba kernel: compile them for the CPU's full SIMD
# width (see scratchnet/_vector_width.py for why, and SCRATCHNET_VECTOR_WIDTH to choose).
_vector_width.configure()

# Say so (one line on stderr) when a run really compiles kernels, and only then.
from . import _compile_notice  # noqa: E402

_compile_notice.install()

__version__ = "0.1.0"
