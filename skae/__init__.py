"""skae: scikit-learn compatible autoencoders on PyTorch."""

from ._architecture import ConvolutionalArchitecture
from ._autoencoder import Autoencoder
from ._contractive import ContractiveAutoencoder
from ._denoising import DenoisingAutoencoder
from ._sparse import SparseAutoencoder
from ._variational import VAE, VariationalAutoencoder

__version__ = "0.1.0"

__all__ = [
    "Autoencoder",
    "ContractiveAutoencoder",
    "ConvolutionalArchitecture",
    "DenoisingAutoencoder",
    "SparseAutoencoder",
    "VAE",
    "VariationalAutoencoder",
    "__version__",
]
