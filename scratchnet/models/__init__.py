"""scratchnet.models: the write-ups' autoencoders, ready to train."""
from .architectures import (cifar_autoencoder, dense_autoencoder, mnist_conv_autoencoder,
                            pool_autoencoder)
from .autoencoder import (Autoencoder, decoded_images, masking_noise, model_input,
                          split_validation)

__all__ = ["Autoencoder", "masking_noise", "cifar_autoencoder", "dense_autoencoder",
           "mnist_conv_autoencoder", "pool_autoencoder", "model_input", "decoded_images",
           "split_validation"]
