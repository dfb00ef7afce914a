"""Reconstruction losses as pure functions with per-sample outputs."""

import torch.nn.functional as F
from torch import nn

__all__ = ["squared_error", "binary_cross_entropy", "ReconstructionLoss"]


def squared_error(reconstruction, target):
    """Mean squared error of each row.

    Parameters
    ----------
    reconstruction, target : Tensor of shape (n, ...)

    Returns
    -------
    Tensor of shape (n,)
        ``((reconstruction - target) ** 2).mean()`` over all but the first axis.
    """
    return (reconstruction - target).pow(2).flatten(1).mean(dim=1)


def binary_cross_entropy(logits, target):
    """Mean binary cross-entropy of each row, from logits.

    Parameters
    ----------
    logits : Tensor of shape (n, ...)
        Pre-sigmoid outputs.
    target : Tensor of shape (n, ...)
        Values in [0, 1].

    Returns
    -------
    Tensor of shape (n,)
    """
    loss = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    return loss.flatten(1).mean(dim=1)


class ReconstructionLoss(nn.Module):
    """Per-sample reconstruction loss of an autoencoder's output dict.

    Parameters
    ----------
    loss : {"mse", "bce"}
        ``"mse"`` compares ``output["reconstruction"]`` with the target;
        ``"bce"`` compares ``output["logits"]`` with a target in [0, 1].

    Notes
    -----
    ``forward(output, target)`` returns a tensor of shape ``(n,)``: one loss
    per row, averaged over the features, so that its scale does not grow with
    the width of the data.
    """

    def __init__(self, loss="mse"):
        super().__init__()
        if loss not in ("mse", "bce"):
            raise ValueError(f"Unknown loss {loss!r}; expected 'mse' or 'bce'.")
        self.loss = loss

    def forward(self, output, target):
        if self.loss == "bce":
            return binary_cross_entropy(output["logits"], target)
        return squared_error(output["reconstruction"], target)
