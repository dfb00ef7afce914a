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
        """The linear layers, outermost first."""
        return [m for m in self if isinstance(m, nn.Linear)]


class MLPDecoder(nn.Sequential):
    """Fully connected decoder from ``n_components`` through the hidden layers to ``n_features``.

    The last layer is linear: the caller applies the output non-linearity
    (see :class:`~skae.nn.AutoencoderModule`). ``hidden_layer_sizes`` is
    given in encoder order and mirrored.
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
        """Zero the decoder biases; return them (see ``init_parameters_``)."""
        for bias in self.biases:
            bias.zero_()
        return list(self.biases)
