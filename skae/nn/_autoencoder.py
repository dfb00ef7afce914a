"""The container every skae network is: corruption, encoder, decoder."""

import torch
from torch import nn

__all__ = ["AutoencoderModule"]


class AutoencoderModule(nn.Module):
    """An autoencoder network: optional corruption, encoder and decoder.

    Parameters
    ----------
    encoder : torch.nn.Module
        Maps ``(n, n_features)`` rows to ``(n, n_components)`` codes.
    decoder : torch.nn.Module
        Maps codes back to ``(n, n_features)`` pre-activations.
    corruption : torch.nn.Module or None, default=None
        Applied to the input before encoding. Corruption modules change the
        input only in training mode (``module.training``), like
        ``torch.nn.Dropout``, so evaluation is clean and deterministic.
    output_activation : {"identity", "logistic"}, default="identity"
        Non-linearity of the reconstruction. With ``"logistic"`` the decoder
        output is kept as ``"logits"`` for a numerically stable binary
        cross-entropy.
    code_corruption : torch.nn.Module or None, default=None
        Applied to the code before decoding, in training mode only, such as
        :class:`~skae.nn.NestedDropout`; ``output["code"]`` is the code
        before it.

    Notes
    -----
    ``forward(x)`` returns a dict with ``"reconstruction"`` (same shape as
    ``x``), ``"code"`` (the encoder output), ``"input"`` (the possibly
    corrupted input the encoder saw) and, for a logistic output,
    ``"logits"``. Loss functions read what they need from it.

    Examples
    --------
    >>> import torch
    >>> from skae.nn import AutoencoderModule, MaskingNoise, MLPDecoder, MLPEncoder
    >>> module = AutoencoderModule(
    ...     MLPEncoder(8, (4,), 2, activation="relu", code_activation="identity"),
    ...     MLPDecoder(2, (4,), 8, activation="relu"),
    ...     corruption=MaskingNoise(0.5, seed=0),
    ...     output_activation="logistic",
    ... )
    >>> x = torch.rand(3, 8, generator=torch.Generator().manual_seed(0))
    >>> out = module(x)
    >>> sorted(out)
    ['code', 'input', 'logits', 'reconstruction']
    >>> out["code"].shape, out["reconstruction"].shape
    (torch.Size([3, 2]), torch.Size([3, 8]))
    >>> torch.equal(out["reconstruction"], torch.sigmoid(out["logits"]))
    True
    >>> torch.equal(module.eval()(x)["input"], x)  # no corruption in eval mode
    True
    """

    def __init__(
        self,
        encoder,
        decoder,
        corruption=None,
        output_activation="identity",
        code_corruption=None,
    ):
        super().__init__()
        if output_activation not in ("identity", "logistic"):
            raise ValueError(f"Unknown output_activation {output_activation!r}.")
        self.encoder = encoder
        self.decoder = decoder
        self.corruption = corruption if corruption is not None else nn.Identity()
        self.code_corruption = code_corruption if code_corruption is not None else nn.Identity()
        self.output_activation = output_activation

    def encode(self, x):
        """Return the code of ``x``.

        The corruption, which ``forward`` applies in training mode, is
        skipped: ``x`` is encoded as given.

        Parameters
        ----------
        x : Tensor of shape (n, n_features)
            Rows to encode.

        Returns
        -------
        code : Tensor of shape (n, n_components)
            The encoder's output.

        Examples
        --------
        >>> import torch
        >>> from skae.nn import AutoencoderModule, MLPDecoder, MLPEncoder
        >>> module = AutoencoderModule(
        ...     MLPEncoder(8, (4,), 2, activation="relu", code_activation="identity"),
        ...     MLPDecoder(2, (4,), 8, activation="relu"),
        ... )
        >>> x = torch.rand(3, 8)
        >>> module.encode(x).shape
        torch.Size([3, 2])
        >>> torch.equal(module.encode(x), module.encoder(x))
        True
        """
        return self.encoder(x)

    def decode(self, code):
        """Return the reconstruction of ``code``.

        Parameters
        ----------
        code : Tensor of shape (n, n_components)
            Codes, for example from :meth:`encode`.

        Returns
        -------
        reconstruction : Tensor of shape (n, n_features)
            The decoder's output, through the sigmoid when
            ``output_activation="logistic"``.

        Examples
        --------
        >>> import torch
        >>> from skae.nn import AutoencoderModule, MLPDecoder, MLPEncoder
        >>> module = AutoencoderModule(
        ...     MLPEncoder(8, (4,), 2, activation="relu", code_activation="identity"),
        ...     MLPDecoder(2, (4,), 8, activation="relu"),
        ...     output_activation="logistic",
        ... )
        >>> x = torch.rand(3, 8)
        >>> reconstruction = module.decode(module.encode(x))
        >>> reconstruction.shape
        torch.Size([3, 8])
        >>> torch.equal(reconstruction, module.eval()(x)["reconstruction"])
        True
        """
        return self._reconstruct(self.decoder(code))[0]

    def _reconstruct(self, out):
        if self.output_activation == "logistic":
            return torch.sigmoid(out), {"logits": out}
        return out, {}

    def forward(self, x):
        corrupted = self.corruption(x)
        code = self.encoder(corrupted)
        reconstruction, extra = self._reconstruct(self.decoder(self.code_corruption(code)))
        return {"reconstruction": reconstruction, "code": code, "input": corrupted, **extra}
