"""Torch building blocks of skae: networks, corruption and losses.

Nothing here imports scikit-learn or skorch; every module works on tensors.
"""

from ._autoencoder import AutoencoderModule
from ._conv import ConvDecoder, ConvEncoder, conv_output_sizes
from ._init import ACTIVATIONS, init_parameters_, make_activation
from ._losses import ReconstructionLoss, binary_cross_entropy, squared_error
from ._mlp import MLPDecoder, MLPEncoder, TiedMLPDecoder
from ._variational import (
    GaussianSampler,
    NegativeLogLikelihood,
    VariationalModule,
    bernoulli_nll,
    gaussian_kl,
    gaussian_nll,
)

__all__ = [
    "ACTIVATIONS",
    "AutoencoderModule",
    "ConvDecoder",
    "ConvEncoder",
    "GaussianSampler",
    "MLPDecoder",
    "MLPEncoder",
    "NegativeLogLikelihood",
    "ReconstructionLoss",
    "TiedMLPDecoder",
    "VariationalModule",
    "bernoulli_nll",
    "binary_cross_entropy",
    "conv_output_sizes",
    "gaussian_kl",
    "gaussian_nll",
    "init_parameters_",
    "make_activation",
    "squared_error",
]
