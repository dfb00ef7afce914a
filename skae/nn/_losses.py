"""Reconstruction losses as pure functions with per-sample outputs."""

import torch.nn.functional as F
from torch import nn

__all__ = ["squared_error", "binary_cross_entropy", "ReconstructionLoss"]


def squared_error(reconstruction, target):
    """Mean squared error of each row.

    Parameters
    ----------
    reconstruction : Tensor of shape (n, ...)
        The autoencoder's output.
    target : Tensor of the same shape as ``reconstruction``
        The rows to reconstruct.

    Returns
    -------
    Tensor of shape (n,)
        ``((reconstruction - target) ** 2).mean()`` over all but the first axis.

    Examples
    --------
    >>> import torch
    >>> from skae.nn import squared_error
    >>> reconstruction = torch.tensor([[1.0, 2.0], [0.0, 0.0]])
    >>> target = torch.tensor([[0.0, 0.0], [0.0, 3.0]])
    >>> squared_error(reconstruction, target)  # (1 + 4) / 2 and (0 + 9) / 2
    tensor([2.5000, 4.5000])
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
        ``-(target * log(p) + (1 - target) * log(1 - p))`` with
        ``p = sigmoid(logits)``, averaged over all but the first axis;
        computed from the logits, so it stays finite where ``p`` rounds to
        0 or 1.

    Examples
    --------
    >>> import torch
    >>> from skae.nn import binary_cross_entropy
    >>> logits = torch.tensor([[2.0, -1.0, 0.5]])
    >>> target = torch.tensor([[1.0, 0.0, 0.25]])
    >>> p = torch.sigmoid(logits)
    >>> expected = -(target * p.log() + (1 - target) * (1 - p).log()).mean(dim=1)
    >>> torch.allclose(binary_cross_entropy(logits, target), expected)
    True
    >>> binary_cross_entropy(torch.zeros(2, 3), torch.ones(2, 3))  # log 2
    tensor([0.6931, 0.6931])
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

    Examples
    --------
    >>> import torch
    >>> from skae.nn import ReconstructionLoss
    >>> output = {"reconstruction": torch.ones(3, 4), "logits": torch.zeros(3, 4)}
    >>> ReconstructionLoss("mse")(output, torch.zeros(3, 4))
    tensor([1., 1., 1.])
    >>> ReconstructionLoss("bce")(output, torch.zeros(3, 4))  # log 2
    tensor([0.6931, 0.6931, 0.6931])
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
