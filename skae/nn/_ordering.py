"""Ordered codes and weight constraints: nested dropout, unit-norm and orthogonal weights."""

import math

import torch
from torch import nn
from torch.nn.utils import parametrizations, parametrize

__all__ = ["NestedDropout", "UnitNorm", "constrain_linear_weights_", "decorrelation"]


class NestedDropout(nn.Module):
    """Truncate each code at a random length in training mode (Rippel et al., 2014).

    For each row a length ``b`` is drawn from a geometric distribution of
    parameter ``p`` (``P(b = j) = p (1 - p)**(j - 1)``), truncated to the
    code's width, and the code units after the ``b``-th are set to zero. The
    first units must then reconstruct on their own, so they come to hold
    the most important directions, in order: the first ``j`` units are the
    best ``j``-unit code. In evaluation mode the code passes unchanged.

    Parameters
    ----------
    p : float or None
        Parameter of the geometric distribution, in (0, 1); the mean length
        is about ``1 / p``. None uses ``1 / width`` for codes of ``width``
        units (at least 2).
    seed : int
        Seed of the private generator, created lazily on the input's device
        and dropped when the module is pickled or copied (it then restarts
        from ``seed``).

    Examples
    --------
    >>> import torch
    >>> from skae.nn import NestedDropout
    >>> dropout = NestedDropout(0.5, seed=0)
    >>> code = dropout(torch.ones(4, 6))
    >>> [int(row.sum()) for row in code]  # each row keeps a prefix of its units
    [1, 3, 1, 1]
    >>> bool((code[:, 1:] <= code[:, :-1]).all())
    True
    >>> torch.equal(dropout.eval()(torch.ones(4, 6)), torch.ones(4, 6))
    True
    """

    def __init__(self, p, seed):
        super().__init__()
        if p is not None and not 0 < p < 1:
            raise ValueError(f"p must be in (0, 1), got {p}.")
        self.p = None if p is None else float(p)
        self.seed = int(seed)
        self._generator = None

    def forward(self, code):
        if not self.training:
            return code
        if self._generator is None or self._generator.device != code.device:
            self._generator = torch.Generator(device=code.device).manual_seed(self.seed)
        width = code.shape[1]
        p = self.p if self.p is not None else 1.0 / max(2, width)
        u = torch.rand(code.shape[0], 1, generator=self._generator, device=code.device)
        # Inverse CDF of the geometric distribution, truncated to [1, width].
        lengths = torch.ceil(torch.log1p(-u) / math.log1p(-p)).clamp(1, width)
        keep = torch.arange(1, width + 1, device=code.device) <= lengths
        return code * keep.to(code.dtype)

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_generator"] = None
        return state

    def extra_repr(self):
        return f"p={self.p if self.p is not None else 'auto'!r}"


class UnitNorm(nn.Module):
    """A parametrization that keeps each row of a weight matrix at unit norm.

    Register it with ``torch.nn.utils.parametrize.register_parametrization``:
    the layer's ``weight`` is then ``original / ||original||`` row by row,
    whatever the optimizer does to ``original``.

    Examples
    --------
    >>> import torch
    >>> from torch.nn.utils import parametrize
    >>> from skae.nn import UnitNorm
    >>> layer = torch.nn.Linear(5, 3)
    >>> _ = parametrize.register_parametrization(layer, "weight", UnitNorm())
    >>> torch.allclose(layer.weight.norm(dim=1), torch.ones(3))
    True
    """

    def __init__(self):
        super().__init__()

    def forward(self, weight):
        return weight / weight.norm(dim=1, keepdim=True).clamp_min(1e-12)

    def right_inverse(self, weight):
        return weight


def constrain_linear_weights_(module, kind):
    """Constrain the weight of every ``nn.Linear`` in ``module``, in place.

    Parameters
    ----------
    module : torch.nn.Module
        For example an encoder; its linear layers are found recursively.
    kind : {"orthogonal", "unit_norm"}
        ``"orthogonal"``: orthonormal rows (or columns, for a layer wider
        than its input), through :func:`torch.nn.utils.parametrizations.orthogonal`
        with the deterministic Householder map, started at the nearest
        orthogonal matrix (the QR factor) of the current weight.
        ``"unit_norm"``: rows of unit norm (:class:`UnitNorm`), started at
        the current weight's rows rescaled.

    Returns
    -------
    module : torch.nn.Module
        The same module.

    Examples
    --------
    >>> import torch
    >>> from skae.nn import MLPEncoder, constrain_linear_weights_
    >>> encoder = MLPEncoder(16, (8,), 4, activation="relu", code_activation="identity")
    >>> _ = constrain_linear_weights_(encoder, "orthogonal")
    >>> [torch.allclose(w @ w.T, torch.eye(len(w)), atol=1e-5)
    ...  for w in (layer.weight for layer in encoder.linears)]
    [True, True]
    """
    if kind not in ("orthogonal", "unit_norm"):
        raise ValueError(f"Unknown weight constraint {kind!r}.")
    for layer in [m for m in module.modules() if isinstance(m, nn.Linear)]:
        if parametrize.is_parametrized(layer, "weight"):
            continue
        if kind == "orthogonal":
            parametrizations.orthogonal(
                layer, "weight", orthogonal_map="householder", use_trivialization=False
            )
        else:
            parametrize.register_parametrization(layer, "weight", UnitNorm())
    return module


def decorrelation(code, eps=1e-8):
    """Mean squared off-diagonal correlation of the code units over a batch.

    The penalty of a batch is ``sum_{i != j} corr(h_i, h_j)**2 / (k (k - 1))``
    for the ``k`` code units; like :func:`skae.nn.kl_sparsity` it is a
    property of the batch, given to every row alike, so the batch mean of the
    returned values is the penalty. Correlations do not depend on the scale
    of the code, so the penalty cannot be lowered by shrinking it.

    Parameters
    ----------
    code : Tensor of shape (n, k)
        The codes of a batch (``n >= 2``).
    eps : float, default=1e-8
        Added to each unit's variance, so a constant unit gives zero
        correlation rather than a division by zero.

    Returns
    -------
    Tensor of shape (n,)
        The batch's penalty, repeated for each row (zero for ``k = 1``).

    Examples
    --------
    >>> import torch
    >>> from skae.nn import decorrelation
    >>> x = torch.randn(1000, 1, generator=torch.Generator().manual_seed(0))
    >>> decorrelation(torch.cat([x, -x], dim=1))[0]  # perfectly anti-correlated
    tensor(1.)
    >>> independent = torch.randn(1000, 2, generator=torch.Generator().manual_seed(0))
    >>> bool(decorrelation(independent)[0] < 0.01)
    True
    """
    n, k = code.shape[0], code.shape[1]
    if k < 2 or n < 2:
        return code.new_zeros(n)
    centred = code - code.mean(dim=0, keepdim=True)
    covariance = centred.T @ centred / (n - 1)
    std = torch.sqrt(torch.diagonal(covariance) + eps)
    correlation = covariance / (std[:, None] * std[None, :])
    off_diagonal = correlation - torch.diag(torch.diagonal(correlation))
    return (off_diagonal.pow(2).sum() / (k * (k - 1))).expand(n)
