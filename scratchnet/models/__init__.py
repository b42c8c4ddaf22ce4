"""scratchnet.models: the write-ups' autoencoders, ready to train."""
from .architectures import (cifar_autoencoder, dense_autoencoder, mnist_conv_autoencoder,
                            pool_autoencoder)
from .autoencoder import Autoencoder

__all__ = ["Autoencoder", "cifar_autoencoder", "dense_autoencoder", "mnist_conv_autoencoder",
           "pool_autoencoder"]
