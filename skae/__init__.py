"""skae: scikit-learn compatible autoencoders on PyTorch."""

from ._autoencoder import Autoencoder

__version__ = "0.1.0"

__all__ = ["Autoencoder", "__version__"]
