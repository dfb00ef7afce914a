"""The energy (potential) of a one-layer autoencoder with tied weights.

For a tied autoencoder with one layer, code ``h = sigma(W x + b)`` and
reconstruction ``r(x) = W^T h + c``, the vector field ``r(x) - x`` is the
gradient of a scalar function of the input, the autoencoder's energy
(Kamyshanska & Memisevic, 2013)::

    E(x) = sum_k H(s_k) - 1/2 ||x - c||^2,    s = W x + b,

where ``H`` is an antiderivative of the code activation ``sigma``: then
``grad E(x) = W^T sigma(s) - (x - c) = r(x) - x``. With a logistic output,
``r(x) = sigmoid(W^T h + c)``, the last term becomes ``c^T x`` and the
gradient is the output's pre-activation: ``grad E(x) = W^T h + c =
logit(r(x))``. Points where the model reconstructs well sit near the maxima
of ``E``, so a larger energy means a more typical point.
"""

import math

import torch.nn.functional as F
from torch import nn

from ._autoencoder import AutoencoderModule
from ._init import ACTIVATIONS
from ._mlp import MLPEncoder, TiedMLPDecoder

__all__ = ["code_antiderivative", "tied_energy", "tied_energy_parameters"]

_LOG_2 = math.log(2.0)


def code_antiderivative(s, activation):
    """The antiderivative ``H`` of a code activation, elementwise.

    Parameters
    ----------
    s : Tensor
        Pre-activations of the code, any shape.
    activation : {"identity", "logistic", "tanh", "relu"}
        The code activation ``sigma``, a key of ``ACTIVATIONS``.

    Returns
    -------
    Tensor of the shape of ``s``
        ``H(s)`` with ``H' = sigma``: ``s**2 / 2`` for identity,
        ``softplus(s) = log(1 + exp(s))`` for logistic, ``log(cosh(s))``
        for tanh and ``max(s, 0)**2 / 2`` for relu. Each is the
        antiderivative that the Gaussian-binary restricted Boltzmann machine
        uses for logistic units (softplus), or the one that is zero at
        ``s = 0`` (the others); any other differs by a constant.

    Examples
    --------
    >>> import torch
    >>> from skae.nn._energy import code_antiderivative
    >>> s = torch.tensor([-1.0, 0.0, 2.0])
    >>> code_antiderivative(s, "relu")
    tensor([0., 0., 2.])
    >>> torch.allclose(code_antiderivative(s, "tanh"), torch.log(torch.cosh(s)))
    True
    """
    if activation == "identity":
        return 0.5 * s.pow(2)
    if activation == "logistic":
        return F.softplus(s)
    if activation == "tanh":
        # log cosh s = |s| + log(1 + exp(-2 |s|)) - log 2, without overflow.
        a = s.abs()
        return a + F.softplus(-2.0 * a) - _LOG_2
    if activation == "relu":
        return 0.5 * F.relu(s).pow(2)
    raise ValueError(
        f"Unknown code activation {activation!r}; expected one of {sorted(ACTIVATIONS)}."
    )


def tied_energy(x, weight, bias, output_bias, activation="logistic", output_activation="identity"):
    """Energy of each row under a one-layer tied-weight autoencoder.

    Parameters
    ----------
    x : Tensor of shape (n, n_features)
        Rows to score.
    weight : Tensor of shape (n_components, n_features)
        The encoder's weights ``W``; the decoder's are ``W^T``.
    bias : Tensor of shape (n_components,)
        The encoder's bias ``b``.
    output_bias : Tensor of shape (n_features,)
        The decoder's bias ``c``.
    activation : {"identity", "logistic", "tanh", "relu"}, default="logistic"
        The code activation.
    output_activation : {"identity", "logistic"}, default="identity"
        The reconstruction's activation: ``"identity"`` for a squared-error
        model, ``"logistic"`` for a cross-entropy one.

    Returns
    -------
    Tensor of shape (n,)
        ``E(x) = sum_k H(s_k) - ||x - c||^2 / 2`` with ``s = W x + b`` and
        ``H`` from :func:`code_antiderivative`; with
        ``output_activation="logistic"``, ``sum_k H(s_k) + c^T x``. Its
        gradient with respect to ``x`` is ``r(x) - x`` (``identity``) or the
        reconstruction's logits ``W^T h + c`` (``logistic``). For logistic
        codes it is minus the free energy of the restricted Boltzmann
        machine with the same weights: Gaussian-binary with unit variances
        for an identity output, binary-binary for a logistic one.

    Examples
    --------
    >>> import torch
    >>> from skae.nn import tied_energy
    >>> g = torch.Generator().manual_seed(0)
    >>> W, b, c = torch.randn(3, 5, generator=g), torch.randn(3), torch.randn(5)
    >>> x = torch.randn(4, 5, generator=g, requires_grad=True)
    >>> energy = tied_energy(x, W, b, c, activation="tanh")
    >>> energy.shape
    torch.Size([4])
    >>> (gradient,) = torch.autograd.grad(energy.sum(), x)
    >>> reconstruction = torch.tanh(x @ W.T + b) @ W + c
    >>> torch.allclose(gradient, reconstruction - x, atol=1e-6)  # grad E = r(x) - x
    True
    """
    s = F.linear(x, weight, bias)
    energy = code_antiderivative(s, activation).sum(dim=1)
    if output_activation == "logistic":
        return energy + x @ output_bias
    if output_activation == "identity":
        return energy - 0.5 * (x - output_bias).pow(2).sum(dim=1)
    raise ValueError(
        f"Unknown output_activation {output_activation!r}; expected 'identity' or 'logistic'."
    )


def _activation_name(module):
    for name, cls in ACTIVATIONS.items():
        if type(module) is cls:
            return name
    return None


def tied_energy_parameters(module):
    """The weights of a network that has a closed-form energy, for :func:`tied_energy`.

    Parameters
    ----------
    module : torch.nn.Module
        An :class:`AutoencoderModule` whose encoder is a one-layer
        :class:`MLPEncoder` and whose decoder is the :class:`TiedMLPDecoder`
        of that encoder.

    Returns
    -------
    params : dict
        ``weight``, ``bias``, ``output_bias``, ``activation`` and
        ``output_activation``, the keyword arguments of :func:`tied_energy`
        (the tensors are the module's own parameters, not copies).

    Raises
    ------
    ValueError
        If the network has no closed-form energy: hidden layers, untied
        weights, another encoder or decoder (convolutional, variational),
        or a code activation other than the four of ``ACTIVATIONS``. The
        message says which.

    Examples
    --------
    >>> from skae.nn import AutoencoderModule, MLPDecoder, MLPEncoder, TiedMLPDecoder
    >>> from skae.nn._energy import tied_energy_parameters
    >>> encoder = MLPEncoder(5, (), 2, activation="relu", code_activation="logistic")
    >>> params = tied_energy_parameters(AutoencoderModule(encoder, TiedMLPDecoder(encoder, "relu")))
    >>> params["weight"].shape, params["activation"], params["output_activation"]
    (torch.Size([2, 5]), 'logistic', 'identity')
    >>> untied = AutoencoderModule(encoder, MLPDecoder(2, (), 5, "relu"))
    >>> tied_energy_parameters(untied)
    Traceback (most recent call last):
    ...
    ValueError: the decoder is MLPDecoder, not the tied transpose of the encoder ...
    """
    if not isinstance(module, AutoencoderModule):
        raise ValueError(
            f"the network is {type(module).__name__}, not an AutoencoderModule of an MLP "
            "encoder and its tied decoder (a variational network has no closed-form energy)."
        )
    encoder, decoder = module.encoder, module.decoder
    if not isinstance(encoder, MLPEncoder):
        raise ValueError(
            f"the encoder is {type(encoder).__name__}, not an MLPEncoder (convolutional and "
            "other encoders have no closed-form energy)."
        )
    linears = encoder.linears
    if len(linears) != 1:
        raise ValueError(
            f"the encoder has {len(linears)} layers; the closed-form energy needs one "
            "(no hidden layers)."
        )
    if not isinstance(decoder, TiedMLPDecoder) or decoder._encoder[0] is not encoder:
        raise ValueError(
            f"the decoder is {type(decoder).__name__}, not the tied transpose of the encoder "
            "(untied weights have no energy: r(x) - x is then no gradient field)."
        )
    layers = [m for m in encoder if not isinstance(m, nn.Linear)]
    activation = _activation_name(layers[0]) if len(layers) == 1 else None
    if activation is None:
        raise ValueError(
            f"the code activation {layers!r} is not one of {sorted(ACTIVATIONS)}, whose "
            "antiderivatives are known."
        )
    return {
        "weight": linears[0].weight,
        "bias": linears[0].bias,
        "output_bias": decoder.biases[0],
        "activation": activation,
        "output_activation": module.output_activation,
    }
