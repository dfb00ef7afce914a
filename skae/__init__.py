"""skae: scikit-learn compatible autoencoders on PyTorch."""

from ._architecture import ConvolutionalArchitecture
from ._autoencoder import Autoencoder
from ._contractive import ContractionPenalty, ContractiveAutoencoder
from ._denoising import DenoisingAutoencoder, NoiseCorruption
from ._regularizer import Corruption, Penalty
from ._sparse import SparseAutoencoder, SparsityPenalty
from ._variational import VAE, VariationalAutoencoder

__version__ = "0.1.0"

# Public classes report their public path (as numpy's do): skops, mlflow and
# pickle then name skae.Autoencoder, not a private module that may move.
for _cls in (
    Autoencoder,
    ContractionPenalty,
    ContractiveAutoencoder,
    ConvolutionalArchitecture,
    Corruption,
    DenoisingAutoencoder,
    NoiseCorruption,
    Penalty,
    SparseAutoencoder,
    SparsityPenalty,
    VariationalAutoencoder,
):
    _cls.__module__ = __name__
del _cls

__all__ = [
    "Autoencoder",
    "ContractionPenalty",
    "ContractiveAutoencoder",
    "ConvolutionalArchitecture",
    "Corruption",
    "DenoisingAutoencoder",
    "NoiseCorruption",
    "Penalty",
    "SparseAutoencoder",
    "SparsityPenalty",
    "VAE",
    "VariationalAutoencoder",
    "__version__",
]
