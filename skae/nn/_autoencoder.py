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

    Notes
    -----
    ``forward(x)`` returns a dict with ``"reconstruction"`` (same shape as
    ``x``), ``"code"`` (the encoder output), ``"input"`` (the possibly
    corrupted input the encoder saw) and, for a logistic output,
    ``"logits"``. Loss functions read what they need from it.
    """

    def __init__(self, encoder, decoder, corruption=None, output_activation="identity"):
        super().__init__()
        if output_activation not in ("identity", "logistic"):
            raise ValueError(f"Unknown output_activation {output_activation!r}.")
        self.encoder = encoder
        self.decoder = decoder
        self.corruption = corruption if corruption is not None else nn.Identity()
        self.output_activation = output_activation

    def encode(self, x):
        """Return the code of ``x`` (no corruption in eval mode)."""
        return self.encoder(x)

    def decode(self, code):
        """Return the reconstruction of ``code``."""
        return self._reconstruct(self.decoder(code))[0]

    def _reconstruct(self, out):
        if self.output_activation == "logistic":
            return torch.sigmoid(out), {"logits": out}
        return out, {}

    def forward(self, x):
        corrupted = self.corruption(x)
        code = self.encoder(corrupted)
        reconstruction, extra = self._reconstruct(self.decoder(code))
        return {"reconstruction": reconstruction, "code": code, "input": corrupted, **extra}
