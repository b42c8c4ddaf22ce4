"""scratchnet.models: the write-ups' autoencoders, ready to train."""
from .architectures import (cifar_autoencoder, dense_autoencoder, mnist_conv_autoencoder,
                            pool_autoencoder)
from .autoencoder import Autoencoder, masking_noise

__all__ = ["Autoencoder", "masking_noise", "cifar_autoencoder", "dense_autoencoder",
           "mnist_conv_autoencoder", "pool_autoencoder"]
