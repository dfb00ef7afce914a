"""Constraints from the reference material: orthogonal or unit-norm weights, uncorrelated codes.

With tied weights, a linear autoencoder whose encoder rows are orthonormal
and whose code units are uncorrelated is PCA itself: each row is one of the
principal axes, not just a basis of their subspace.
"""

from ._regularizer import Constraint, Penalty
from ._sklearn_internals import StrOptions
from .nn import constrain_linear_weights_, decorrelation

__all__ = ["WeightConstraint", "DecorrelationPenalty"]


class WeightConstraint(Constraint):
    """Keep the encoder's weight matrices orthogonal or of unit-norm rows while they train.

    Pass it as a regularizer to any MLP estimator, for example
    ``Autoencoder(regularizers=[("orthogonal", WeightConstraint("orthogonal"))])``.
    It applies to every linear layer of the encoder (PCA's linear path and
    the network beside it, for ``init="pca"``); with ``tied_weights=True`` the
    decoder uses the same matrices, transposed. The weights are
    reparametrized with :mod:`torch.nn.utils.parametrize`, so the constraint
    holds after every optimizer step, to float32 precision, not only at the
    end.

    Parameters
    ----------
    kind : {"orthogonal", "unit_norm"}, default="orthogonal"
        ``"orthogonal"``: orthonormal rows, ``W W^T = I`` (orthonormal
        columns for a layer wider than its input), through
        :func:`torch.nn.utils.parametrizations.orthogonal`. ``"unit_norm"``:
        each row of unit Euclidean norm (see :class:`skae.nn.UnitNorm`).
        Both start from the nearest such matrix to the initial weights
        (PCA's axes, which are orthonormal, are kept).

    See Also
    --------
    skae.nn.constrain_linear_weights_ : The same on a torch module.
    DecorrelationPenalty : Uncorrelated code units.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from skae import Autoencoder, WeightConstraint
    >>> X = load_digits().data / 16
    >>> ae = Autoencoder(n_components=4, hidden_layer_sizes=(16,), max_iter=5, random_state=0,
    ...                  regularizers=[("unit", WeightConstraint("unit_norm"))]).fit(X)
    >>> weights = ae.net_.module_.encoder.branch[0].weight.detach().numpy()
    >>> np.allclose(np.linalg.norm(weights, axis=1), 1.0, atol=1e-6)
    True
    """

    _parameter_constraints = {"kind": [StrOptions({"orthogonal", "unit_norm"})]}

    def __init__(self, kind="orthogonal"):
        self.kind = kind

    def build(self, estimator, module):
        """Constrain the linear layers of ``module.encoder`` (see :meth:`skae.Constraint.build`).

        Parameters
        ----------
        estimator : skae estimator
            The estimator being fitted; it must be an MLP (no
            ``architecture``).
        module : torch.nn.Module
            The network, with an ``encoder``.

        Returns
        -------
        module : torch.nn.Module
            The same module, its encoder's weights constrained.

        Examples
        --------
        >>> from skae import Autoencoder, ConvolutionalArchitecture, WeightConstraint
        >>> conv = Autoencoder(architecture=ConvolutionalArchitecture((8, 8)))
        >>> WeightConstraint().build(conv, None)
        Traceback (most recent call last):
        ...
        ValueError: WeightConstraint constrains MLP encoders; ...
        """
        if estimator.architecture is not None:
            raise ValueError(
                "WeightConstraint constrains MLP encoders; it does not apply to "
                f"architecture={estimator.architecture!r}."
            )
        constrain_linear_weights_(module.encoder, self.kind)
        return module


class DecorrelationPenalty(Penalty):
    """Penalise correlations between code units within each batch.

    Adds ``weight`` times the mean squared off-diagonal correlation of the
    code units over the mini-batch (see :func:`skae.nn.decorrelation`),
    pushing towards uncorrelated codes, ``corr(h_i, h_j) = 0`` for
    ``i != j``. Correlation, unlike covariance, does not shrink with the
    code, so the penalty cannot be met by scaling the code down. Its epoch
    mean is recorded as ``train_<name>``.

    Parameters
    ----------
    weight : float, default=1.0
        Strength of the penalty, relative to the squared error of one
        feature; the penalty itself is at most 1.

    See Also
    --------
    WeightConstraint : Orthogonal encoder weights.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from skae import Autoencoder, DecorrelationPenalty
    >>> X = load_digits().data / 16
    >>> ae = Autoencoder(n_components=3, max_iter=20, random_state=0, init="random",
    ...                  regularizers=[("decorrelation", DecorrelationPenalty(1.0))]).fit(X)
    >>> correlation = np.corrcoef(ae.transform(X), rowvar=False)
    >>> bool(np.abs(correlation[np.triu_indices(3, 1)]).max() < 0.2)
    True
    """

    def __init__(self, weight=1.0):
        self.weight = weight

    def build(self, estimator, module):
        """Return the module unchanged and the batch's decorrelation term.

        Parameters
        ----------
        estimator : skae estimator
            The estimator being fitted.
        module : torch.nn.Module
            The network.

        Returns
        -------
        module : torch.nn.Module
            ``module``.
        term : callable
            The penalty on ``output["code"]``, one value per row.

        Examples
        --------
        >>> import torch
        >>> from skae import Autoencoder, DecorrelationPenalty
        >>> _, term = DecorrelationPenalty().build(Autoencoder(), None)
        >>> code = torch.randn(100, 2, generator=torch.Generator().manual_seed(0))
        >>> same = torch.cat([code[:, :1], code[:, :1]], dim=1)  # two units, correlation 1
        >>> round(float(term({"code": same}, None, None)[0]), 4)
        1.0
        """
        return module, _decorrelation_term


def _decorrelation_term(output, X, module):
    return decorrelation(output["code"])
