"""Torch building blocks of skae: networks, corruption and losses.

Nothing here imports scikit-learn or skorch; every module works on tensors.
"""

from ._autoencoder import AutoencoderModule
from ._init import ACTIVATIONS, init_parameters_, make_activation
from ._losses import ReconstructionLoss, binary_cross_entropy, squared_error
from ._mlp import MLPDecoder, MLPEncoder, TiedMLPDecoder

__all__ = [
    "ACTIVATIONS",
    "AutoencoderModule",
    "MLPDecoder",
    "MLPEncoder",
    "ReconstructionLoss",
    "TiedMLPDecoder",
    "binary_cross_entropy",
    "init_parameters_",
    "make_activation",
    "squared_error",
]
