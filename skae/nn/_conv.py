"""Convolutional encoders and decoders for flattened image rows."""

import torch
from torch import nn

from ._init import make_activation

__all__ = ["ConvEncoder", "ConvDecoder", "conv_output_sizes"]


def conv_output_sizes(height, width, n_stages):
    """Spatial sizes after each stride-2 stage (kernel 2p+1, padding p).

    Parameters
    ----------
    height, width : int
        Size of the input image.
    n_stages : int
        Number of strided convolutions.

    Returns
    -------
    list of tuple of int
        ``n_stages + 1`` sizes ``(h, w)``, the input's first; each is
        ``ceil`` of half the previous one.

    Examples
    --------
    >>> from skae.nn import conv_output_sizes
    >>> conv_output_sizes(28, 28, 3)
    [(28, 28), (14, 14), (7, 7), (4, 4)]
    """
    sizes = [(int(height), int(width))]
    for _ in range(n_stages):
        h, w = sizes[-1]
        sizes.append(((h + 1) // 2, (w + 1) // 2))
    return sizes


def _dense_stack(widths, activation):
    """``Linear`` + activation for each consecutive pair of ``widths``."""
    layers = []
    for n_in, n_out in zip(widths[:-1], widths[1:], strict=True):
        layers += [nn.Linear(n_in, n_out), make_activation(activation)]
    return nn.Sequential(*layers)


class ConvEncoder(nn.Module):
    """Strided convolutions, fully connected layers, then a linear layer to the code.

    Parameters
    ----------
    image_shape : tuple of int
        ``(channels, height, width)`` of one image; input rows are the images
        flattened in that (C-contiguous) order.
    channels : tuple of int
        Output channels of each stride-2 convolution, outermost first.
    n_components : int
        Width of the code.
    kernel_size : int
        Odd side of the square kernels (padding keeps ``ceil(size / 2)``).
    activation : str
        Activation after each convolution and each fully connected layer.
    code_activation : str
        Activation of the code layer.
    dense_layer_sizes : tuple of int, default=()
        Widths of the fully connected layers between the flattened feature
        maps and the code, outermost first.
    pixel_path : bool, default=False
        If True (and there are fully connected layers), the first of them
        reads the input pixels beside the flattened feature maps, so the
        encoder holds an MLP of the same widths as well as the
        convolutions.

    Notes
    -----
    Input ``(n, C * H * W)``, output ``(n, n_components)``.

    Examples
    --------
    >>> import torch
    >>> from skae.nn import ConvEncoder
    >>> encoder = ConvEncoder((1, 8, 8), channels=(4, 8), n_components=2)
    >>> encoder(torch.zeros(5, 64)).shape
    torch.Size([5, 2])
    >>> encoder.code  # 8 channels of 2 x 2 after two stride-2 convolutions
    Linear(in_features=32, out_features=2, bias=True)
    >>> ConvEncoder((1, 8, 8), (4, 8), 2, dense_layer_sizes=(16,)).code
    Linear(in_features=16, out_features=2, bias=True)
    >>> ConvEncoder((1, 8, 8), (4, 8), 2, dense_layer_sizes=(16,), pixel_path=True).dense[0]
    Linear(in_features=96, out_features=16, bias=True)
    """

    def __init__(
        self,
        image_shape,
        channels,
        n_components,
        kernel_size=3,
        activation="relu",
        code_activation="identity",
        dense_layer_sizes=(),
        pixel_path=False,
    ):
        super().__init__()
        self.image_shape = tuple(int(s) for s in image_shape)
        in_channels, height, width = self.image_shape
        # Without a fully connected layer, a pixel path would be a second linear
        # map to the code: nothing the feature maps' one cannot absorb.
        self.pixel_path = bool(pixel_path and dense_layer_sizes)
        layers = []
        for out_channels in channels:
            layers.append(
                nn.Conv2d(
                    in_channels, out_channels, kernel_size, stride=2, padding=kernel_size // 2
                )
            )
            layers.append(make_activation(activation))
            in_channels = out_channels
        self.convs = nn.Sequential(*layers)
        h, w = conv_output_sizes(height, width, len(channels))[-1]
        n_pixels = self.image_shape[0] * height * width if self.pixel_path else 0
        widths = [in_channels * h * w + n_pixels, *(int(d) for d in dense_layer_sizes)]
        self.dense = _dense_stack(widths, activation)
        self.code = nn.Linear(widths[-1], n_components)
        self.code_activation = make_activation(code_activation)

    def forward(self, x):
        h = self.convs(x.reshape(x.shape[0], *self.image_shape)).flatten(1)
        if self.pixel_path:
            h = torch.cat([h, x.flatten(1)], dim=1)
        return self.code_activation(self.code(self.dense(h)))


class _Resize(nn.Module):
    """Interpolate feature maps to a fixed spatial size."""

    def __init__(self, size, mode):
        super().__init__()
        self.size = tuple(size)
        self.mode = mode

    def forward(self, x):
        align = False if self.mode == "bilinear" else None
        return nn.functional.interpolate(x, size=self.size, mode=self.mode, align_corners=align)

    def extra_repr(self):
        return f"size={self.size}, mode={self.mode!r}"


class ConvDecoder(nn.Module):
    """Fully connected layers from the code, then upsampling stages back to the image.

    Mirrors :class:`ConvEncoder`: each stage doubles the spatial size back to
    exactly the encoder's size at that depth, either by interpolation
    followed by a convolution (``"nearest"`` or ``"bilinear"``, free of the
    checkerboard artefacts of strided transposed convolutions) or by a
    stride-2 transposed convolution (``"transposed"``).

    Parameters
    ----------
    image_shape : tuple of int
        ``(channels, height, width)`` of one image.
    channels : tuple of int
        The encoder's channels, outermost first; mirrored here.
    n_components : int
        Width of the code.
    kernel_size : int
        Odd side of the square kernels.
    activation : str
        Activation after each fully connected layer and every stage but the
        last.
    upsampling : {"nearest", "bilinear", "transposed"}
        How each stage enlarges the feature maps.
    dense_layer_sizes : tuple of int, default=()
        The encoder's fully connected widths, outermost first; mirrored
        here, between the code and the layer that makes the first feature
        maps (``linear``).
    pixel_path : bool, default=False
        If True (and there are fully connected layers), the last of them
        also maps straight to the output pixels (``pixels``), added to what
        the upsampling stages make: the decoder holds an MLP of the same
        widths as well as the convolutions.

    Notes
    -----
    Input ``(n, n_components)``, output ``(n, C * H * W)`` pre-activations
    (the caller applies the output non-linearity).

    Examples
    --------
    Odd sizes come back exactly: 7 x 9 is encoded through 4 x 5 and 2 x 3.

    >>> import torch
    >>> from skae.nn import ConvDecoder
    >>> decoder = ConvDecoder((1, 7, 9), channels=(4, 8), n_components=2)
    >>> decoder.start_shape
    (8, 2, 3)
    >>> decoder(torch.zeros(5, 2)).shape  # 7 * 9 values per row
    torch.Size([5, 63])
    >>> transposed = ConvDecoder((1, 7, 9), (4, 8), 2, upsampling="transposed")
    >>> transposed(torch.zeros(5, 2)).shape
    torch.Size([5, 63])
    >>> ConvDecoder((1, 7, 9), (4, 8), 2, dense_layer_sizes=(16,), pixel_path=True).pixels
    Linear(in_features=16, out_features=63, bias=True)
    """

    def __init__(
        self,
        image_shape,
        channels,
        n_components,
        kernel_size=3,
        activation="relu",
        upsampling="nearest",
        dense_layer_sizes=(),
        pixel_path=False,
    ):
        super().__init__()
        if upsampling not in ("nearest", "bilinear", "transposed"):
            raise ValueError(
                f"Unknown upsampling {upsampling!r}; expected 'nearest', 'bilinear' "
                "or 'transposed'."
            )
        self.image_shape = tuple(int(s) for s in image_shape)
        image_channels, height, width = self.image_shape
        sizes = conv_output_sizes(height, width, len(channels))
        self.start_shape = (channels[-1], *sizes[-1])
        widths = [int(n_components), *(int(d) for d in reversed(dense_layer_sizes))]
        self.dense = _dense_stack(widths, activation)
        self.linear = nn.Linear(widths[-1], channels[-1] * sizes[-1][0] * sizes[-1][1])
        self.linear_activation = make_activation(activation)
        self.pixels = (
            nn.Linear(widths[-1], image_channels * height * width)
            if pixel_path and dense_layer_sizes
            else None
        )
        outs = [*reversed(channels[:-1]), image_channels]
        targets = list(reversed(sizes[:-1]))
        layers = []
        in_channels = channels[-1]
        padding = kernel_size // 2
        for i, (out_channels, (h, w)) in enumerate(zip(outs, targets, strict=True)):
            if upsampling == "transposed":
                # (in - 1) * 2 - 2 p + k + output_padding == target size
                h_in, w_in = sizes[len(sizes) - 1 - i]
                extra = (h - (2 * h_in - 1), w - (2 * w_in - 1))
                layers.append(
                    nn.ConvTranspose2d(
                        in_channels,
                        out_channels,
                        kernel_size,
                        stride=2,
                        padding=padding,
                        output_padding=extra,
                    )
                )
            else:
                layers.append(_Resize((h, w), upsampling))
                layers.append(nn.Conv2d(in_channels, out_channels, kernel_size, padding=padding))
            if i < len(outs) - 1:
                layers.append(make_activation(activation))
            in_channels = out_channels
        self.stages = nn.Sequential(*layers)

    def forward(self, code):
        dense = self.dense(code)
        h = self.linear_activation(self.linear(dense))
        h = self.stages(h.reshape(code.shape[0], *self.start_shape)).flatten(1)
        if self.pixels is not None:
            h = h + self.pixels(dense)
        return h
