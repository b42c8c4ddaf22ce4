"""scratchnet: image clustering with autoencoders, written from scratch in NumPy and Numba.

Subpackages
-----------
nn        layers, losses, optimizers and the Sequential model (train an autoencoder)
cluster   K-means, Gaussian mixture and DEC
manifold  UMAP (the N2D stage: a graph embedding of the codes before clustering)
metrics   silhouette, Dunn, Hungarian matching, accuracy, NMI, ARI, purity
datasets  MNIST, Fashion-MNIST and CIFAR-10 readers with download, checksum and cache
"""
__version__ = "0.1.0"
