"""Torch building blocks of skae: networks, corruption and losses.

Nothing here imports scikit-learn or skorch; every module works on tensors.
"""

from ._autoencoder import AutoencoderModule
from ._conv import ConvDecoder, ConvEncoder, conv_output_sizes
from ._corruption import GaussianNoise, MaskingNoise, SaltAndPepperNoise
from ._energy import tied_energy
from ._init import ACTIVATIONS, Logistic, init_parameters_, make_activation
from ._losses import ReconstructionLoss, binary_cross_entropy, squared_error
from ._mlp import MLPDecoder, MLPEncoder, TiedMLPDecoder
from ._ordering import NestedDropout, UnitNorm, constrain_linear_weights_, decorrelation
from ._penalties import (
    JacobianProjectionModule,
    activation_derivative,
    contractive_penalty_closed_form,
    contractive_penalty_projected,
    encode_with_projection,
    kl_sparsity,
    l1_activity,
)
from ._shortcut import LinearShortcut, init_from_pca_
from ._variational import (
    GaussianSampler,
    NegativeLogLikelihood,
    VariationalModule,
    bernoulli_nll,
    gaussian_kl,
    gaussian_nll,
)

__all__ = [
    "decorrelation",
    "constrain_linear_weights_",
    "UnitNorm",
    "NestedDropout",
    "ACTIVATIONS",
    "AutoencoderModule",
    "ConvDecoder",
    "ConvEncoder",
    "GaussianNoise",
    "GaussianSampler",
    "JacobianProjectionModule",
    "LinearShortcut",
    "Logistic",
    "MLPDecoder",
    "MLPEncoder",
    "MaskingNoise",
    "NegativeLogLikelihood",
    "ReconstructionLoss",
    "SaltAndPepperNoise",
    "TiedMLPDecoder",
    "VariationalModule",
    "activation_derivative",
    "bernoulli_nll",
    "binary_cross_entropy",
    "contractive_penalty_closed_form",
    "contractive_penalty_projected",
    "conv_output_sizes",
    "encode_with_projection",
    "gaussian_kl",
    "gaussian_nll",
    "init_from_pca_",
    "init_parameters_",
    "kl_sparsity",
    "l1_activity",
    "make_activation",
    "squared_error",
    "tied_energy",
]
