"""skae: scikit-learn compatible autoencoders on PyTorch."""

import inspect as _inspect

from ._architecture import ConvolutionalArchitecture
from ._autoencoder import Autoencoder
from ._constraints import DecorrelationPenalty, WeightConstraint
from ._contractive import ContractionPenalty, ContractiveAutoencoder
from ._denoising import DenoisingAutoencoder, NoiseCorruption
from ._model_selection import SemiSupervisedStratifiedKFold
from ._onnx import register_converters as register_onnx_converters
from ._onnx import register_if_available as _register_onnx_if_available
from ._ordered_code import OrderedCode
from ._outlier import AutoencoderOutlierDetector
from ._regularizer import Constraint, Corruption, Penalty
from ._sparse import SparseAutoencoder, SparsityPenalty
from ._supervised import AutoencoderClassifier, AutoencoderRegressor
from ._variational import VAE, VariationalAutoencoder

__version__ = "0.1.0"

__all__ = [
    "Autoencoder",
    "AutoencoderClassifier",
    "AutoencoderOutlierDetector",
    "AutoencoderRegressor",
    "Constraint",
    "ContractionPenalty",
    "ContractiveAutoencoder",
    "ConvolutionalArchitecture",
    "Corruption",
    "DecorrelationPenalty",
    "DenoisingAutoencoder",
    "NoiseCorruption",
    "OrderedCode",
    "Penalty",
    "SemiSupervisedStratifiedKFold",
    "SparseAutoencoder",
    "SparsityPenalty",
    "VAE",
    "VariationalAutoencoder",
    "WeightConstraint",
    "__version__",
    "register_onnx_converters",
]

# Public classes report their public path (as numpy's do): skops, mlflow and
# pickle then name skae.Autoencoder, not a private module that may move.
for _name in __all__:
    if _inspect.isclass(_obj := globals()[_name]):
        _obj.__module__ = __name__
del _name, _obj

# With skl2onnx installed, skae's converters are registered on import, so
# skl2onnx.to_onnx converts pipelines holding skae estimators.
_register_onnx_if_available()
