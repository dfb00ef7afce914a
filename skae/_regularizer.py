"""What a regularizer is: a corruption, a penalty in the loss, or a weight constraint.

Every estimator takes a list of named regularizers (``regularizers=``) and
each family adds its own (a denoising autoencoder its corruption, a sparse
one its penalty), so they combine freely: a sparse denoising autoencoder is a
corruption and a penalty in one list. Like
:class:`~skae.ConvolutionalArchitecture`, a regularizer only describes what to
do: it is a scikit-learn estimator-like object with ``get_params``, cloned
with the estimator, and it builds fresh torch pieces at each fit.

To write one, subclass :class:`Corruption` and implement ``build``, or
subclass :class:`Penalty`, give it a ``weight`` parameter and implement
``build``, or subclass :class:`Constraint`; the "Write your own regularizer"
page of the documentation has a worked example.
"""

from abc import ABCMeta, abstractmethod
from numbers import Real

from sklearn.base import BaseEstimator
from torch import nn

from ._docs import DOC_LINK_TEMPLATE
from ._sklearn_internals import Interval

__all__ = ["Constraint", "Corruption", "Penalty", "build_corruption", "split_regularizers"]


class Corruption(BaseEstimator, metaclass=ABCMeta):
    """Base class of the corruptions: what happens to the input in training.

    A corruption changes each training batch before it reaches the encoder
    (or, for a subclass whose ``acts_on`` is ``"code"``, each batch's code
    before it reaches the decoder); the loss still compares the
    reconstruction with the clean batch. Its torch module must act in
    training mode only (``module.training``), like ``torch.nn.Dropout``, so
    that ``transform`` never corrupts.
    """

    _parameter_constraints = {}

    #: What the module corrupts: ``"input"`` rows or ``"code"``.
    acts_on = "input"
    #: Whether it orders the code units by importance (nested dropout does),
    #: which gives the estimator ``explained_variance_ratio_`` per unit.
    orders_code = False

    # The notebook (HTML) repr links to the class's API page (skae._docs.DOCS_URL).
    _doc_link_module = "skae"
    _doc_link_template = DOC_LINK_TEMPLATE

    @abstractmethod
    def build(self, X, seed):
        """Return the torch module that corrupts batches in training mode.

        Parameters
        ----------
        X : ndarray, Tensor or scipy.sparse matrix of shape (n_samples, n_features)
            The rows passed to ``fit`` (held-out rows included), for
            statistics such as each feature's range.
        seed : int
            Seed of the module's private random generator.

        Returns
        -------
        module : torch.nn.Module
            Maps a batch to a corrupted batch of the same shape in training
            mode and returns it unchanged in evaluation mode.
        """

    def for_layer(self, code_activation):
        """Return this corruption for one layer of greedy pretraining, or None to leave it out.

        Parameters
        ----------
        code_activation : str
            The activation of the layer's code.

        Returns
        -------
        corruption : Corruption or None
            ``self`` by default: every layer of a stacked denoising
            autoencoder is corrupted (Vincent et al., 2010).
        """
        return self


class Penalty(BaseEstimator, metaclass=ABCMeta):
    """Base class of the penalties: a term added to each row's loss.

    The training loss of a batch is the mean over its rows of the
    reconstruction loss plus, for each penalty, ``weight`` times the value
    its term gives the row. Subclasses have a ``weight`` parameter, a
    non-negative float; a weight of zero leaves the penalty out entirely.
    """

    _parameter_constraints = {"weight": [Interval(Real, 0, None, closed="left")]}
    # The notebook (HTML) repr links to the class's API page (skae._docs.DOCS_URL).
    _doc_link_module = "skae"
    _doc_link_template = DOC_LINK_TEMPLATE

    @abstractmethod
    def build(self, estimator, module):
        """Return the module to train and the penalty's term.

        Parameters
        ----------
        estimator : skae estimator
            The estimator being fitted, whose parameters the penalty may
            check (raise a ``ValueError`` that says what to change when it
            cannot apply).
        module : torch.nn.Module
            The network built for this fit.

        Returns
        -------
        module : torch.nn.Module
            ``module`` itself, or a module wrapping it that also returns
            what the term needs in its output dict.
        term : callable
            ``term(output, X, module)`` returns one value per row, a tensor
            of shape ``(n,)``: ``output`` is the module's output dict (with
            at least ``"code"``, ``"reconstruction"`` and ``"input"``, the
            possibly corrupted input), ``X`` the clean batch and ``module``
            the network.
        """

    def for_layer(self, code_activation):
        """Return this penalty for one layer of greedy pretraining, or None to leave it out.

        Parameters
        ----------
        code_activation : str
            The activation of the layer's code.

        Returns
        -------
        penalty : Penalty or None
            ``self`` by default.
        """
        return self


class Constraint(BaseEstimator, metaclass=ABCMeta):
    """Base class of the constraints: a property the network's weights keep while they train.

    A constraint changes how the network holds its weights (typically
    through ``torch.nn.utils.parametrize``), not the loss.
    """

    # The notebook (HTML) repr links to the class's API page (skae._docs.DOCS_URL).
    _doc_link_module = "skae"
    _doc_link_template = DOC_LINK_TEMPLATE
    _parameter_constraints = {}

    @abstractmethod
    def build(self, estimator, module):
        """Constrain ``module``'s weights in place and return it.

        Parameters
        ----------
        estimator : skae estimator
            The estimator being fitted, whose parameters the constraint may
            check (raise a ``ValueError`` that says what to change).
        module : torch.nn.Module
            The network, already started (at random, at PCA's solution or by
            pretraining); the constraint starts from the nearest weights that
            satisfy it.

        Returns
        -------
        module : torch.nn.Module
            The same module.
        """

    def for_layer(self, code_activation):
        """Return this constraint for one layer of greedy pretraining, or None to leave it out.

        Parameters
        ----------
        code_activation : str
            The activation of the layer's code.

        Returns
        -------
        constraint : Constraint or None
            ``self`` by default.
        """
        return self


def split_regularizers(regularizers):
    """Check named regularizers and split them into corruptions and penalties.

    Parameters
    ----------
    regularizers : list of (str, Corruption or Penalty)
        The family's regularizers followed by the user's.

    Returns
    -------
    parts : dict of str to list
        ``"input"`` and ``"code"``: the corruptions of the input and of the
        code; ``"penalty"``: the penalties (those of zero weight left out);
        ``"constraint"``: the constraints; each list of ``(name, regularizer)``
        in the given order.

    Raises
    ------
    ValueError
        If an entry is not a ``(name, regularizer)`` pair, a name repeats, or
        a regularizer's parameters are invalid.
    """
    parts = {"input": [], "code": [], "penalty": [], "constraint": []}
    names = set()
    for entry in regularizers:
        if not (isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[0], str)):
            raise ValueError(
                "regularizers must be a list of (name, regularizer) tuples, such as "
                f"[('noise', NoiseCorruption())], got the entry {entry!r}."
            )
        name, regularizer = entry
        if name in names or "__" in name:
            problem = "repeats" if name in names else "contains '__'"
            raise ValueError(f"The regularizer name {name!r} {problem}; give each a unique name.")
        names.add(name)
        if not isinstance(regularizer, Corruption | Penalty | Constraint):
            raise ValueError(
                f"The regularizer {name!r} is a {type(regularizer).__name__}; expected a "
                "skae.Corruption, skae.Penalty or skae.Constraint (such as NoiseCorruption "
                "or SparsityPenalty)."
            )
        regularizer._validate_params()
        if isinstance(regularizer, Corruption):
            parts[regularizer.acts_on].append((name, regularizer))
        elif isinstance(regularizer, Constraint):
            parts["constraint"].append((name, regularizer))
        elif regularizer.weight != 0:
            parts["penalty"].append((name, regularizer))
    return parts


def build_corruption(corruptions, X, seed):
    """One module applying every corruption in order (the i-th seeded ``seed + i``), or None."""
    modules = [corruption.build(X, seed + i) for i, (_, corruption) in enumerate(corruptions)]
    if not modules:
        return None
    return modules[0] if len(modules) == 1 else nn.Sequential(*modules)
