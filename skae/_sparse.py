"""The sparse autoencoder: a penalty that keeps most code units quiet."""

from functools import partial
from numbers import Real

from ._base import BaseAutoencoder
from ._docs import fill_doc
from ._regularizer import Penalty
from ._sklearn_internals import Interval, StrOptions
from .nn import kl_sparsity, l1_activity

__all__ = ["SparsityPenalty", "SparseAutoencoder"]


def _l1_term(output, X, module):
    return l1_activity(output["code"])


def _kl_term(output, X, module, target):
    return kl_sparsity(output["code"], target)


class SparsityPenalty(Penalty):
    """A sparsity penalty on the code: L1 on each row, or KL to a target mean activation.

    Pass it as a regularizer to any estimator, for example
    ``DenoisingAutoencoder(regularizers=[("sparsity", SparsityPenalty())])``
    for a sparse denoising autoencoder; :class:`SparseAutoencoder` is the
    autoencoder with one built in. Its parameters are grid-searchable as
    ``<name>__weight`` and so on.

    Parameters
    ----------
    kind : {"kl", "l1"}, default="kl"
        ``"l1"`` adds ``weight`` times the sum of the absolute code values of
        each row. ``"kl"`` adds ``weight`` times ``sum_j KL(target || rho_j)``,
        the Kullback-Leibler divergence between Bernoulli distributions of
        mean ``target`` and ``rho_j``, the mean activation of code unit ``j``
        over the mini-batch (Ng, 2011); it needs codes in (0, 1), so
        ``code_activation="logistic"``, and gives every row of a batch the
        batch's value (see :func:`skae.nn.kl_sparsity`).
    weight : float, default=1e-3
        Strength of the penalty, relative to the squared error of one
        feature (the reconstruction loss is a mean over the features); 0
        leaves it out.
    target : float, default=0.05
        Target mean activation of each code unit for ``"kl"``, in (0, 1).
        Ignored by ``"l1"``.

    See Also
    --------
    skae.nn.l1_activity, skae.nn.kl_sparsity : The penalties, on tensors.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import DenoisingAutoencoder, SparsityPenalty
    >>> X = load_digits().data / 16
    >>> sparse_denoising = DenoisingAutoencoder(
    ...     n_components=16, code_activation="logistic",
    ...     regularizers=[("sparsity", SparsityPenalty("kl", weight=1e-3))],
    ...     max_iter=5, random_state=0,
    ... ).fit(X)
    >>> "train_sparsity" in sparse_denoising.net_.history[-1]
    True
    """

    _parameter_constraints = {
        **Penalty._parameter_constraints,
        "kind": [StrOptions({"kl", "l1"})],
        "target": [Interval(Real, 0, 1, closed="neither")],
    }

    def __init__(self, kind="kl", weight=1e-3, target=0.05):
        self.kind = kind
        self.weight = weight
        self.target = target

    def build(self, estimator, module):
        """Check the code activation and return the term (see :meth:`skae.Penalty.build`).

        Parameters
        ----------
        estimator : skae estimator
            The estimator being fitted; ``"kl"`` needs its
            ``code_activation`` to be ``"logistic"``.
        module : torch.nn.Module
            The network, returned unchanged.

        Returns
        -------
        module : torch.nn.Module
            ``module``.
        term : callable
            The per-row penalty on ``output["code"]``.

        Examples
        --------
        >>> from skae import Autoencoder, SparsityPenalty
        >>> SparsityPenalty("kl").build(Autoencoder(code_activation="identity"), None)
        Traceback (most recent call last):
        ...
        ValueError: sparsity='kl' compares mean code activations with the target ...
        """
        if self.kind == "l1":
            return module, _l1_term
        if estimator.code_activation != "logistic":
            raise ValueError(
                "sparsity='kl' compares mean code activations with the target and needs "
                "codes in (0, 1): set code_activation='logistic' (got "
                f"{estimator.code_activation!r}), or use the L1 penalty (sparsity='l1')."
            )
        return module, partial(_kl_term, target=self.target)

    def for_layer(self, code_activation):
        """Leave the KL penalty out of layers whose codes are not in (0, 1).

        Parameters
        ----------
        code_activation : str
            The activation of the pretrained layer's code.

        Returns
        -------
        penalty : SparsityPenalty or None
            ``self``, or None for ``"kl"`` on a layer whose activation is
            not ``"logistic"`` (L1 would need a weight of its own there).
        """
        if self.kind == "kl" and code_activation != "logistic":
            return None
        return self


_CODE_ACTIVATION_DOC = """\
    code_activation : {"logistic", "identity", "tanh", "relu"}, default="logistic"
        Activation of the code layer. Unlike the other families the default
        is ``"logistic"``: the default ``sparsity="kl"`` needs codes in
        (0, 1), and sigmoid units keep learning. With ``sparsity="l1"``,
        ``"relu"`` drives code values to exactly zero but can lose whole
        units for good (see Notes); on a linear code L1 mostly shrinks the
        code, which the decoder undoes by growing."""

_SPARSITY_DOC = """\
    sparsity : {"kl", "l1"}, default="kl"
        The penalty (see :class:`SparsityPenalty`). ``"l1"`` adds
        ``sparsity_weight`` times the sum of the absolute code activations
        of each row. ``"kl"`` adds ``sparsity_weight`` times ``sum_j
        KL(sparsity_target || rho_j)``, the divergence between Bernoulli
        distributions of mean ``sparsity_target`` and ``rho_j``, the mean
        activation of code unit ``j`` over the mini-batch (Ng, 2011); it
        needs ``code_activation="logistic"``."""

_SPARSITY_WEIGHT_DOC = """\
    sparsity_weight : float, default=1e-3
        Strength of the penalty, relative to the squared error of one
        feature. The default was the largest weight that kept every code
        unit in use and the reconstruction close to the plain model's on
        the digits (see the user guide's "SparseAutoencoder" section); ``0``
        leaves the penalty out (any ``code_activation`` is then accepted).
        With ``pretraining="greedy"`` the KL penalty is left out of hidden
        layers whose ``activation`` is not ``"logistic"``."""

_SPARSITY_TARGET_DOC = """\
    sparsity_target : float, default=0.05
        Target mean activation of each code unit for ``"kl"``, in (0, 1).
        Ignored by ``"l1"``."""


@fill_doc(
    code_activation=_CODE_ACTIVATION_DOC,
    sparsity=_SPARSITY_DOC,
    sparsity_weight=_SPARSITY_WEIGHT_DOC,
    sparsity_target=_SPARSITY_TARGET_DOC,
)
class SparseAutoencoder(BaseAutoencoder):
    """Sparse autoencoder: a code in which few units are active per row.

    Adds a sparsity penalty on the code to the reconstruction loss, so each
    row is described by a few active units, even with an overcomplete code
    (``n_components`` above the number of features). It is the plain
    :class:`Autoencoder` with a :class:`SparsityPenalty` built in; further
    ``regularizers`` combine with it.

    Parameters
    ----------
    {parameters}

    Attributes
    ----------
    {attributes}

    See Also
    --------
    Autoencoder : The same network without the penalty.
    SparsityPenalty : The penalty, for any estimator's ``regularizers``.

    Notes
    -----
    An L1 penalty on a linear code can be lowered by shrinking the code
    while the decoder grows to compensate; a weight decay ``alpha > 0``
    limits this. Judge sparsity with a scale-free measure, such as Hoyer's
    ``(sqrt(k) - |h|_1 / |h|_2) / (sqrt(k) - 1)``. The unweighted epoch
    mean of the penalty is recorded as ``net_.history[:, "train_sparsity"]``.

    A ReLU code is fragile: a unit whose input turns negative on every row
    gets no gradient and stays at zero, with or without the penalty; ``fit``
    warns when code units are constant on the training rows. The default
    logistic code with the KL penalty keeps every unit in use.

    References
    ----------
    Ng, A. (2011). Sparse autoencoder. CS294A Lecture notes, Stanford
    University.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import SparseAutoencoder
    >>> X = load_digits().data / 16
    >>> sae = SparseAutoencoder(n_components=32, max_iter=10, random_state=0).fit(X)
    >>> codes = sae.transform(X)
    >>> codes.shape
    (1797, 32)
    >>> bool(codes.mean() < 0.5)  # logistic units, mostly quiet
    True
    """

    _parameter_constraints = {
        **BaseAutoencoder._parameter_constraints,
        "sparsity": [StrOptions({"l1", "kl"})],
        "sparsity_weight": [Interval(Real, 0, None, closed="left")],
        "sparsity_target": [Interval(Real, 0, 1, closed="neither")],
    }

    def __init__(
        self,
        n_components=2,
        *,
        hidden_layer_sizes=(512,),
        activation="relu",
        code_activation="logistic",
        architecture=None,
        regularizers=None,
        init="auto",
        pretraining=None,
        pretraining_max_iter=20,
        loss="mse",
        tied_weights=False,
        max_iter=200,
        batch_size="auto",
        learning_rate="adaptive",
        learning_rate_init=1e-3,
        alpha=0.0,
        early_stopping="auto",
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        warm_start=False,
        random_state=None,
        device="auto",
        verbose=0,
        callbacks=None,
        sparsity="kl",
        sparsity_weight=1e-3,
        sparsity_target=0.05,
    ):
        self._store_parameters(locals())

    def _family_regularizers(self):
        penalty = SparsityPenalty(self.sparsity, self.sparsity_weight, self.sparsity_target)
        return [("sparsity", penalty)]
