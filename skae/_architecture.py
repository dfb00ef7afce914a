"""Network architectures that plug into every skae estimator as ``architecture=``."""

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator

from ._docs import DOC_LINK_TEMPLATE
from .nn import ACTIVATIONS, ConvDecoder, ConvEncoder

__all__ = ["ConvolutionalArchitecture"]

_UPSAMPLING = ("nearest", "bilinear", "transposed")

# channels="auto" uses two stride-2 stages from this side on: below it the
# second stage leaves maps of 4 x 4 or less (2 x 2 on the 8 x 8 digits).
_MIN_SIDE_FOR_TWO_STAGES = 16


def _positive_integers(value):
    """``value`` (an int or a sequence of them) as a tuple of ints, or None if it is not."""
    if isinstance(value, Integral):
        value = (value,)
    if isinstance(value, str) or not hasattr(value, "__iter__"):
        return None
    value = tuple(value)
    if not all(isinstance(v, Integral) and v > 0 for v in value):
        return None
    return tuple(int(v) for v in value)


class ConvolutionalArchitecture(BaseEstimator):
    """Convolutional encoder and decoder for rows that are flattened images.

    Pass an instance as ``architecture=`` to any skae estimator. Each row of
    ``X`` stays a flat vector (so the estimator still fits in a
    :class:`~sklearn.pipeline.Pipeline`); the network reshapes it to an
    image of ``image_shape``. The encoder applies stride-2 convolutions,
    each followed by ``activation``, then fully connected layers (which by
    default also read the pixels) and a linear layer to the code. The
    decoder mirrors it: fully connected layers, then one stage per encoder
    convolution that doubles the spatial size back to exactly the encoder's
    size at that depth, by interpolation followed by a convolution (the
    default, free of the checkerboard artefacts of transposed convolutions)
    or by a stride-2 transposed convolution, plus, by default, a direct map
    from the last fully connected layer to the pixels.

    Like a Gaussian process kernel, this object only describes the network:
    it has ``get_params`` and ``set_params``, so its parameters can be
    searched as ``architecture__<name>`` (for example
    ``ae__architecture__channels`` in a pipeline's grid) and
    :func:`~sklearn.base.clone` copies it. It holds no state of its own;
    each fit builds fresh torch modules through :meth:`build`.

    Parameters
    ----------
    image_shape : tuple of int or None, default=None
        Shape of one image: ``(height, width)`` for one channel or
        ``(channels, height, width)``, with rows flattened in that
        (C-contiguous) order; for instance ``(8, 8)`` for
        :func:`~sklearn.datasets.load_digits` or ``(28, 28)`` for MNIST.
        ``None`` treats each row as a one-channel 1-D signal of length
        ``n_features`` (an image of height 1), so that any 2-D data can be
        fitted; the convolutions then run along the feature axis, which is
        only meaningful when neighbouring features are related. Pass the
        shape for images: no square shape is guessed.

    channels : tuple of int or "auto", default="auto"
        Output channels of each stride-2 convolution, outermost first; their
        number sets the depth. Each halves the height and width (rounding up).
        ``"auto"`` is ``(16, 32)`` for images at least 16 pixels high and wide,
        and ``(32,)`` for smaller ones (and for 1-D signals), where a second
        stage would leave feature maps of 4 x 4 or less: on the 8 x 8 digits
        two stages cost the code a large part of its advantage over PCA (see
        the user guide, "When it beats PCA, and when it does not").

    dense_layer_sizes : tuple of int, default=(512,)
        Widths of the fully connected layers between the last convolution's
        flattened feature maps and the code, outermost first; the decoder
        mirrors them. Without them the code is a linear map of the feature
        maps, and the network reconstructed held-out images worse than the
        default MLP on Fashion-MNIST and the digits; 512 is the MLP's own
        width, which with ``pixel_path`` makes the network hold the default
        MLP (see the user guide, "When it beats PCA, and when it does not").
        ``()`` maps the feature maps straight to the code.

    pixel_path : bool, default=True
        If True, the first fully connected layer also reads the pixels, and
        the decoder's last one also writes them (added to what the
        upsampling stages make), so the network holds an MLP of
        ``dense_layer_sizes`` beside its convolutions. Without it, on the
        8 x 8 digits with 30 components (1,000 rows), the network
        reconstructed held-out rows at 0.90 times PCA's error against the
        MLP's 0.81: each output pixel then comes from a few upsampled
        feature values through weights shared by every position (see the
        user guide). No effect without fully connected layers. A fit that
        starts at PCA's solution on fewer than 10,000 rows also trains that
        MLP alone and keeps it unless the convolutions beat it on the
        held-out rows (:meth:`held_mlp_parameters`).

    kernel_size : int, default=3
        Side of the square kernels; must be odd (padding ``kernel_size //
        2`` keeps the sizes exact).

    activation : {"relu", "tanh", "logistic", "identity"}, default="relu"
        Activation after each convolution and each fully connected layer
        but the code's, whose activation is the estimator's
        ``code_activation``.

    upsampling : {"nearest", "bilinear", "transposed"}, default="nearest"
        How the decoder enlarges its feature maps: nearest-neighbour or
        bilinear interpolation followed by a convolution, or a stride-2
        transposed convolution. Interpolation cannot produce checkerboard
        artefacts, but its convolution runs at the output's resolution: about
        four times the decoder arithmetic of ``"transposed"`` (on
        Fashion-MNIST, 1.9 times the fit time; see
        ``benchmarks/conv_denoising.py``).

    See Also
    --------
    Autoencoder : Uses it through ``architecture=``, as does every family.

    Notes
    -----
    Every family accepts it: the corruption of :class:`DenoisingAutoencoder`
    acts on the flat rows, the penalty of :class:`SparseAutoencoder` on the
    code, and :class:`VariationalAutoencoder` builds its encoder with
    ``2 * n_components`` outputs (means and log-variances).
    :class:`ContractiveAutoencoder` has no closed form for a convolutional
    encoder and uses its unbiased estimate of the Jacobian norm from one
    Jacobian-vector product per row, about one extra pass through the
    encoder; on the digits (``channels=(16, 32)``, 10 epochs) a
    convolutional contractive fit took 1.4 to 2 times the CPU time of a
    plain convolutional one.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import Autoencoder, ConvolutionalArchitecture
    >>> X = load_digits().data[:500] / 16
    >>> conv = ConvolutionalArchitecture(image_shape=(8, 8), channels=(4, 8))
    >>> ae = Autoencoder(n_components=10, architecture=conv, max_iter=3, random_state=0)
    >>> ae.fit(X).transform(X).shape
    (500, 10)
    >>> ae.set_params(architecture__channels=(4,)).get_params()["architecture__channels"]
    (4,)
    """

    # The notebook (HTML) repr links to the class's API page (skae._docs.DOCS_URL).
    _doc_link_module = "skae"
    _doc_link_template = DOC_LINK_TEMPLATE

    def __init__(
        self,
        image_shape=None,
        *,
        channels="auto",
        dense_layer_sizes=(512,),
        pixel_path=True,
        kernel_size=3,
        activation="relu",
        upsampling="nearest",
    ):
        self.image_shape = image_shape
        self.channels = channels
        self.dense_layer_sizes = dense_layer_sizes
        self.pixel_path = pixel_path
        self.kernel_size = kernel_size
        self.activation = activation
        self.upsampling = upsampling

    def image_shape_for(self, n_features):
        """Return the ``(channels, height, width)`` of rows with ``n_features`` features.

        Parameters
        ----------
        n_features : int
            Width of the rows.

        Returns
        -------
        shape : tuple of int
            The image shape; ``(1, 1, n_features)`` when ``image_shape`` is
            None.

        Raises
        ------
        ValueError
            If ``image_shape`` is malformed or does not hold ``n_features``
            values.

        Examples
        --------
        >>> from skae import ConvolutionalArchitecture
        >>> ConvolutionalArchitecture(image_shape=(8, 8)).image_shape_for(64)
        (1, 8, 8)
        >>> ConvolutionalArchitecture(image_shape=(3, 4, 4)).image_shape_for(48)
        (3, 4, 4)
        >>> ConvolutionalArchitecture().image_shape_for(10)  # rows as 1-D signals
        (1, 1, 10)
        """
        if self.image_shape is None:
            return (1, 1, int(n_features))
        shape = tuple(self.image_shape)
        if len(shape) not in (2, 3) or not all(isinstance(s, Integral) and s > 0 for s in shape):
            raise ValueError(
                "image_shape must be (height, width) or (channels, height, width) of "
                f"positive integers, got {self.image_shape!r}."
            )
        shape = tuple(int(s) for s in shape)
        if len(shape) == 2:
            shape = (1, *shape)
        size = shape[0] * shape[1] * shape[2]
        if size != n_features:
            raise ValueError(
                f"image_shape={self.image_shape!r} holds {size} values per image, but X "
                f"has {n_features} features per row."
            )
        return shape

    def channels_for(self, n_features):
        """Return the channels of each stride-2 convolution for rows of ``n_features``.

        Parameters
        ----------
        n_features : int
            Width of the rows.

        Returns
        -------
        channels : tuple of int
            ``channels`` itself, or what ``"auto"`` means for this image
            shape.

        Raises
        ------
        ValueError
            If ``channels`` is not ``"auto"`` nor a non-empty tuple of
            positive integers, or ``image_shape`` does not fit.

        Examples
        --------
        >>> from skae import ConvolutionalArchitecture
        >>> ConvolutionalArchitecture(image_shape=(28, 28)).channels_for(784)
        (16, 32)
        >>> ConvolutionalArchitecture(image_shape=(8, 8)).channels_for(64)
        (32,)
        >>> ConvolutionalArchitecture((8, 8), channels=(4, 8)).channels_for(64)
        (4, 8)
        """
        channels = self.channels
        if isinstance(channels, str) and channels == "auto":
            _, height, width = self.image_shape_for(n_features)
            return (16, 32) if min(height, width) >= _MIN_SIDE_FOR_TWO_STAGES else (32,)
        channels = _positive_integers(channels)
        if not channels:
            raise ValueError(
                'channels must be "auto" or a non-empty tuple of positive integers, got '
                f"{self.channels!r}."
            )
        return channels

    def _check_params(self, n_features):
        channels = self.channels_for(n_features)
        dense = _positive_integers(self.dense_layer_sizes)
        if dense is None:
            raise ValueError(
                "dense_layer_sizes must be a tuple of positive integers (possibly empty), "
                f"got {self.dense_layer_sizes!r}."
            )
        kernel = self.kernel_size
        if not isinstance(kernel, Integral) or kernel < 1 or kernel % 2 == 0:
            raise ValueError(f"kernel_size must be a positive odd integer, got {kernel!r}.")
        if self.activation not in ACTIVATIONS:
            raise ValueError(
                f"activation must be one of {sorted(ACTIVATIONS)}, got {self.activation!r}."
            )
        if self.upsampling not in _UPSAMPLING:
            raise ValueError(
                f"upsampling must be one of {list(_UPSAMPLING)}, got {self.upsampling!r}."
            )
        if not isinstance(self.pixel_path, (bool, np.bool_)):
            raise ValueError(f"pixel_path must be True or False, got {self.pixel_path!r}.")
        return channels, dense, bool(self.pixel_path)

    def held_mlp_parameters(self):
        """Return the estimator parameters of the MLP this network holds, or None.

        With ``pixel_path`` and fully connected layers, the network holds the
        MLP of ``dense_layer_sizes`` and ``activation`` beside its
        convolutions. A fit that starts at PCA's solution with early stopping
        on fewer than 10,000 rows also trains that MLP alone, and keeps it
        unless the convolutions beat it on the held-out rows (see ``init``
        in :class:`~skae.Autoencoder`).

        Returns
        -------
        parameters : dict or None
            ``hidden_layer_sizes`` and ``activation`` for the estimator, or
            None without a pixel path or fully connected layers.

        Examples
        --------
        >>> from skae import ConvolutionalArchitecture
        >>> ConvolutionalArchitecture((8, 8)).held_mlp_parameters()
        {'hidden_layer_sizes': (512,), 'activation': 'relu'}
        >>> print(ConvolutionalArchitecture((8, 8), pixel_path=False).held_mlp_parameters())
        None
        """
        dense = _positive_integers(self.dense_layer_sizes)
        if not (self.pixel_path and dense):
            return None
        return {"hidden_layer_sizes": dense, "activation": self.activation}

    def build(self, n_features, code_width, code_activation):
        """Build a fresh ``(encoder, decoder)`` pair of torch modules.

        Parameters
        ----------
        n_features : int
            Width of the input rows.
        code_width : int
            Width of the code.
        code_activation : str
            Activation of the code layer.

        Returns
        -------
        encoder : skae.nn.ConvEncoder
            Maps ``(n, n_features)`` rows to ``(n, code_width)`` codes.
        decoder : skae.nn.ConvDecoder
            Maps codes to ``(n, n_features)`` pre-activations.

        Examples
        --------
        >>> import torch
        >>> from skae import ConvolutionalArchitecture
        >>> conv = ConvolutionalArchitecture(image_shape=(8, 8), channels=(4, 8))
        >>> encoder, decoder = conv.build(64, code_width=3, code_activation="identity")
        >>> code = encoder(torch.zeros(5, 64))
        >>> code.shape, decoder(code).shape
        (torch.Size([5, 3]), torch.Size([5, 64]))
        >>> encoder is not conv.build(64, 3, "identity")[0]  # fresh modules every call
        True
        """
        channels, dense, pixel_path = self._check_params(n_features)
        shape = self.image_shape_for(n_features)
        kernel = int(self.kernel_size)
        encoder = ConvEncoder(
            shape, channels, code_width, kernel, self.activation, code_activation, dense, pixel_path
        )
        decoder = ConvDecoder(
            shape, channels, code_width, kernel, self.activation, self.upsampling, dense, pixel_path
        )
        return encoder, decoder
