"""A linear path beside a network, and starting an autoencoder at PCA's solution."""

import torch
from torch import nn

from ._mlp import MLPDecoder, MLPEncoder, TiedMLPDecoder

__all__ = ["LinearShortcut", "init_from_pca_"]

# The gate's parameter is stored divided by this: Adam moves a parameter by
# about its learning rate per step whatever its scale, so the gate opens ten
# times faster than a plain one would (measured on the digits and
# Fashion-MNIST: a plain gate opened too slowly for early stopping to see an
# improvement within its patience, and the fit kept PCA's start).
GATE_SCALE = 10.0


class LinearShortcut(nn.Module):
    """A network beside a linear map of its input: ``linear(x) + gate * branch(x)``.

    Around an encoder, the shortcut maps the input rows straight to the code;
    around a decoder, the code straight to the reconstruction. Started at
    PCA's solution with the scalar gate at zero (see :func:`init_from_pca_`),
    an autoencoder built of two shortcuts is PCA until training opens the
    gate. The gate, rather than a zeroed output layer, is what keeps the
    start intact: Adam moves every weight of a zeroed layer by about the
    learning rate in its first steps, all in the gradient's direction, which
    shifts each output of a wide layer by hundreds of times that; a scalar
    gate moves the branch's whole contribution by a small multiple of the
    learning rate instead (the ReZero idea of Bachlechner et al., 2021). The
    gate is ``GATE_SCALE * gate_parameter``, so that it opens ten times as
    fast as a plain parameter under Adam.

    Parameters
    ----------
    branch : torch.nn.Module
        Maps ``(n, in_features)`` to ``(n, out_features)``.
    in_features : int
        Width of the input.
    out_features : int
        Width of the output.

    Notes
    -----
    Input ``(n, in_features)``, output ``(n, out_features)``.

    Examples
    --------
    >>> import torch
    >>> from skae.nn import LinearShortcut, MLPEncoder
    >>> encoder = LinearShortcut(
    ...     MLPEncoder(8, (16,), 2, activation="relu", code_activation="identity"), 8, 2
    ... )
    >>> x = torch.rand(3, 8)
    >>> torch.allclose(encoder(x), encoder.linear(x) + encoder.branch(x))  # the gate starts open
    True
    """

    def __init__(self, branch, in_features, out_features):
        super().__init__()
        self.branch = branch
        self.linear = nn.Linear(in_features, out_features)
        self.gate_parameter = nn.Parameter(torch.full((), 1.0 / GATE_SCALE))

    @property
    def gate(self):
        """The branch's weight, ``GATE_SCALE * gate_parameter``: 1 open, 0 closed."""
        return GATE_SCALE * self.gate_parameter

    def reset_parameters_from(self, generator):
        """Open the gate: ``linear(x) + branch(x)``.

        Called by :func:`init_parameters_`, under ``torch.no_grad()``; the
        linear map and the branch get their own initialisation.

        Parameters
        ----------
        generator : torch.Generator
            Unused: the gate starts at one.

        Returns
        -------
        params : list of torch.nn.Parameter
            ``[gate_parameter]``.

        Examples
        --------
        >>> import torch
        >>> from skae.nn import LinearShortcut
        >>> shortcut = LinearShortcut(torch.nn.Linear(3, 2), 3, 2)
        >>> with torch.no_grad():
        ...     params = shortcut.reset_parameters_from(torch.Generator())
        >>> params[0] is shortcut.gate_parameter, shortcut.gate.item()
        (True, 1.0)
        """
        self.gate_parameter.fill_(1.0 / GATE_SCALE)
        return [self.gate_parameter]

    def forward(self, x):
        return self.linear(x) + self.gate * self.branch(x)


@torch.no_grad()
def init_from_pca_(module, components, mean):
    """Start an autoencoder at PCA's solution, in place.

    With ``V`` the principal axes (one per row) and ``m`` the mean of the
    training rows, the encoder starts as ``x -> V (x - m)`` and the decoder as
    ``z -> V^T z + m``, which reconstruct every row as PCA does. Two kinds of
    networks can start there: a single-layer MLP (its two linear layers, or
    the tied one, take the PCA weights), and an encoder and a decoder that
    are both :class:`LinearShortcut` (the linear maps take the PCA weights
    and the gates start closed, at zero). Code units beyond the
    number of axes keep their encoder weights and get zero decoder weights,
    so they start silent but not stuck (with tied weights they cannot be
    silent, and the start is PCA only up to what they add).

    Parameters
    ----------
    module : torch.nn.Module
        Has ``encoder`` and ``decoder`` (such as an
        :class:`~skae.nn.AutoencoderModule`), already initialised; the
        encoder's code activation must be linear for the start to be PCA.
    components : Tensor of shape (n_axes, n_features)
        Orthonormal principal axes, ``n_axes`` at most the code width.
    mean : Tensor of shape (n_features,)
        Mean of the training rows.

    Returns
    -------
    module : torch.nn.Module
        The same module.

    Raises
    ------
    ValueError
        If the network is neither of the two kinds above.

    Examples
    --------
    >>> import torch
    >>> from skae.nn import AutoencoderModule, MLPDecoder, MLPEncoder, init_from_pca_
    >>> X = torch.randn(100, 5) @ torch.randn(5, 5)
    >>> mean = X.mean(dim=0)
    >>> components = torch.linalg.svd(X - mean, full_matrices=False).Vh[:2]
    >>> module = AutoencoderModule(
    ...     MLPEncoder(5, (), 2, activation="identity", code_activation="identity"),
    ...     MLPDecoder(2, (), 5, activation="identity"),
    ... )
    >>> module = init_from_pca_(module, components, mean)
    >>> pca = (X - mean) @ components.T @ components + mean
    >>> torch.allclose(module.eval()(X)["reconstruction"], pca, atol=1e-5)
    True
    """
    encoder, decoder = module.encoder, module.decoder
    n_axes = components.shape[0]
    components = components.to(mean.dtype)
    if isinstance(encoder, LinearShortcut) and isinstance(decoder, LinearShortcut):
        encoder_linear, decoder_linear = encoder.linear, decoder.linear
        encoder.gate_parameter.zero_()
        decoder.gate_parameter.zero_()
    elif isinstance(encoder, MLPEncoder) and len(encoder.linears) == 1:
        encoder_linear = encoder.linears[0]
        if isinstance(decoder, TiedMLPDecoder):
            encoder_linear.weight[:n_axes] = components
            encoder_linear.bias.copy_(-encoder_linear.weight @ mean)
            decoder.biases[0].copy_(mean)
            return module
        if not isinstance(decoder, MLPDecoder):
            raise ValueError(f"init_from_pca_ cannot start a {type(decoder).__name__} at PCA.")
        (decoder_linear,) = [m for m in decoder if isinstance(m, nn.Linear)]
    else:
        raise ValueError(
            "init_from_pca_ needs a single-layer MLP autoencoder or an encoder and a decoder "
            f"that are both LinearShortcut, got {type(encoder).__name__} and "
            f"{type(decoder).__name__}."
        )
    encoder_linear.weight[:n_axes] = components
    encoder_linear.bias.copy_(-encoder_linear.weight @ mean)
    decoder_linear.weight.zero_()
    decoder_linear.weight[:, :n_axes] = components.T
    decoder_linear.bias.copy_(mean)
    return module
