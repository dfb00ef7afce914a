"""skae: scikit-learn compatible autoencoders on PyTorch."""

from ._architecture import ConvolutionalArchitecture
from ._autoencoder import Autoencoder
from ._variational import VAE, VariationalAutoencoder

__version__ = "0.1.0"

__all__ = [
    "Autoencoder",
    "ConvolutionalArchitecture",
    "VAE",
    "VariationalAutoencoder",
    "__version__",
]
