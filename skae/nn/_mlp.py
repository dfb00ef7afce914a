"""Multi-layer perceptron encoders and decoders."""

import torch
import torch.nn.functional as F
from torch import nn

from ._init import make_activation

__all__ = ["MLPEncoder", "MLPDecoder", "TiedMLPDecoder"]


class MLPEncoder(nn.Sequential):
    """Fully connected encoder from ``n_features`` through the hidden layers to ``n_components``.

    Parameters
    ----------
    n_features : int
        Width of the input rows.
    hidden_layer_sizes : tuple of int
        Widths of the hidden layers, outermost first.
    n_components : int
        Width of the code.
    activation : str
        Activation after every hidden layer (a key of ``ACTIVATIONS``).
    code_activation : str
        Activation of the code layer.

    Notes
    -----
    Input ``(n, n_features)``, output ``(n, n_components)``. The linear layers
    are the attribute ``linears`` (outermost first), which a tied decoder
    reuses.

    Examples
    --------
    >>> import torch
    >>> from skae.nn import MLPEncoder
    >>> encoder = MLPEncoder(64, (32, 16), 2, activation="relu", code_activation="identity")
    >>> encoder(torch.zeros(5, 64)).shape
    torch.Size([5, 2])
    >>> encoder[-1]  # the code activation
    Identity()
    """

    def __init__(self, n_features, hidden_layer_sizes, n_components, activation, code_activation):
        sizes = [n_features, *hidden_layer_sizes, n_components]
        layers = []
        for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
            layers.append(nn.Linear(fan_in, fan_out))
            last = i == len(sizes) - 2
            layers.append(make_activation(code_activation if last else activation))
        super().__init__(*layers)

    @property
    def linears(self):
        """The linear layers, outermost first.

        Examples
        --------
        >>> from skae.nn import MLPEncoder
        >>> encoder = MLPEncoder(64, (32, 16), 2, activation="relu", code_activation="identity")
        >>> [tuple(layer.weight.shape) for layer in encoder.linears]
        [(32, 64), (16, 32), (2, 16)]
        """
        return [m for m in self if isinstance(m, nn.Linear)]


class MLPDecoder(nn.Sequential):
    """Fully connected decoder from ``n_components`` through the hidden layers to ``n_features``.

    The last layer is linear: the caller applies the output non-linearity
    (see :class:`~skae.nn.AutoencoderModule`). ``hidden_layer_sizes`` is
    given in encoder order and mirrored.

    Parameters
    ----------
    n_components : int
        Width of the code, the decoder's input.
    hidden_layer_sizes : tuple of int
        Widths of the encoder's hidden layers, outermost first; the decoder
        goes through them in reverse order.
    n_features : int
        Width of the reconstructed rows.
    activation : str
        Activation after every hidden layer (a key of ``ACTIVATIONS``); none
        follows the last layer.

    Notes
    -----
    Input ``(n, n_components)``, output ``(n, n_features)`` pre-activations.

    Examples
    --------
    >>> import torch
    >>> from skae.nn import MLPDecoder
    >>> decoder = MLPDecoder(2, (32, 16), 64, activation="relu")
    >>> decoder(torch.zeros(5, 2)).shape
    torch.Size([5, 64])
    >>> [layer.out_features for layer in decoder if isinstance(layer, torch.nn.Linear)]
    [16, 32, 64]
    >>> decoder[-1]  # no activation after the last layer
    Linear(in_features=32, out_features=64, bias=True)
    """

    def __init__(self, n_components, hidden_layer_sizes, n_features, activation):
        sizes = [n_components, *reversed(hidden_layer_sizes), n_features]
        layers = []
        for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
            layers.append(nn.Linear(fan_in, fan_out))
            if i < len(sizes) - 2:
                layers.append(make_activation(activation))
        super().__init__(*layers)


class TiedMLPDecoder(nn.Module):
    """Decoder whose weights are the transposed weights of an encoder.

    Only the biases are its own parameters; the weights are shared with
    ``encoder`` (its ``linears``), so the autoencoder has about half the
    parameters of an untied one.

    Parameters
    ----------
    encoder : MLPEncoder
        The encoder whose linear layers are mirrored.
    activation : str
        Activation after every decoder layer but the last.

    Notes
    -----
    Input ``(n, n_components)``, output ``(n, n_features)`` pre-activations.

    Examples
    --------
    >>> import torch
    >>> from skae.nn import MLPEncoder, TiedMLPDecoder
    >>> encoder = MLPEncoder(64, (32,), 2, activation="relu", code_activation="identity")
    >>> decoder = TiedMLPDecoder(encoder, activation="relu")
    >>> decoder(torch.zeros(5, 2)).shape
    torch.Size([5, 64])
    >>> [tuple(p.shape) for p in decoder.parameters()]  # only the biases are its own
    [(32,), (64,)]
    """

    def __init__(self, encoder, activation):
        super().__init__()
        # A plain list keeps the encoder from being registered twice.
        self._encoder = [encoder]
        linears = encoder.linears
        self.biases = nn.ParameterList(
            nn.Parameter(torch.zeros(layer.in_features)) for layer in reversed(linears)
        )
        self.activation = make_activation(activation)

    def forward(self, code):
        linears = self._encoder[0].linears[::-1]
        h = code
        for i, (layer, bias) in enumerate(zip(linears, self.biases, strict=True)):
            h = F.linear(h, layer.weight.t(), bias)
            if i < len(linears) - 1:
                h = self.activation(h)
        return h

    def reset_parameters_from(self, generator):
        """Zero the decoder biases and return them.

        Called by :func:`init_parameters_`, under ``torch.no_grad()``.

        Parameters
        ----------
        generator : torch.Generator
            Unused: the biases start at zero, and the weights are the
            encoder's, initialised with it.

        Returns
        -------
        params : list of torch.nn.Parameter
            The biases, innermost layer first, which ``init_parameters_``
            then counts as initialised.

        Examples
        --------
        >>> import torch
        >>> from skae.nn import MLPEncoder, TiedMLPDecoder
        >>> encoder = MLPEncoder(4, (3,), 2, activation="relu", code_activation="identity")
        >>> decoder = TiedMLPDecoder(encoder, activation="relu")
        >>> with torch.no_grad():
        ...     _ = decoder.biases[0].fill_(1.0)
        ...     params = decoder.reset_parameters_from(torch.Generator())
        >>> [p.abs().sum().item() for p in params]
        [0.0, 0.0]
        """
        for bias in self.biases:
            bias.zero_()
        return list(self.biases)
