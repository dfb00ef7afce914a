"""The sparse autoencoder: a penalty that keeps most code units quiet."""

from functools import partial
from numbers import Real

from sklearn.utils._param_validation import Interval, StrOptions

from ._base import BaseAutoencoder, _fill_doc
from .nn import kl_sparsity, l1_activity

__all__ = ["SparseAutoencoder"]


_CODE_ACTIVATION_DOC = """\
    code_activation : {"relu", "identity", "tanh", "logistic"}, default="relu"
        Activation of the code layer. Unlike the other families the default
        is ``"relu"``: an L1 penalty then drives code units to exactly zero,
        whereas on a linear code it mostly shrinks the code, which the
        decoder undoes by growing. Use ``"logistic"`` (codes in (0, 1)) with
        ``sparsity="kl"``."""


def _own_code_activation_doc(cls):
    """Replace the shared ``code_activation`` entry with this family's default."""
    doc = cls.__doc__
    start = doc.index("    code_activation :")
    end = doc.index("\n\n", start)
    cls.__doc__ = doc[:start] + _CODE_ACTIVATION_DOC + doc[end:]
    return cls


def _l1_term(output, X, module):
    return l1_activity(output["code"])


def _kl_term(output, X, module, target):
    return kl_sparsity(output["code"], target)


@_own_code_activation_doc
@_fill_doc
class SparseAutoencoder(BaseAutoencoder):
    """Sparse autoencoder: a code in which few units are active per row.

    Adds a sparsity penalty on the code to the reconstruction loss, so each
    row is described by a few active units, even with an overcomplete code
    (``n_components`` above the number of features).

    Parameters
    ----------
    {common_parameters}

    sparsity : {"l1", "kl"}, default="l1"
        The penalty. ``"l1"`` adds ``sparsity_weight`` times the sum of the
        absolute code activations of each row. ``"kl"`` adds
        ``sparsity_weight`` times ``sum_j KL(sparsity_target || rho_j)``,
        the Kullback-Leibler divergence between Bernoulli distributions of
        mean ``sparsity_target`` and ``rho_j``, the mean activation of code
        unit ``j`` over the mini-batch (Ng, 2011); it needs codes in (0, 1),
        so ``code_activation="logistic"``. Being a property of the batch, the
        KL penalty is recorded for every row of the batch alike (see
        :func:`skae.nn.kl_sparsity`).

    sparsity_weight : float, default=5e-4
        Strength of the penalty. The reconstruction loss is a mean over the
        features, so the weight is relative to the squared error of one
        feature, and the L1 penalty grows with ``n_components``. Measured on
        the digits (scaled to [0, 1], 1347 training and 450 test rows,
        ``max_iter=100``) against the plain :class:`Autoencoder` with the
        same ReLU code: with ``n_components=32`` the share of exactly zero
        test code values rises from 0.40 to 0.61 (Hoyer sparsity from 0.37
        to 0.62) at a test reconstruction error of 0.012 against 0.010;
        with ``n_components=128``, from 0.35 to 0.79 (Hoyer 0.31 to 0.71)
        at 0.0095 against 0.0087. Twice the default costs clearly more
        reconstruction. With ``sparsity="kl"`` and ``sparsity_weight=1e-3``
        the mean activation of 32 logistic units falls from 0.54 to 0.10 at
        a reconstruction error of 0.015 against 0.013; weights near 0.1
        make the KL term win over the reconstruction.

    sparsity_target : float, default=0.05
        Target mean activation of each code unit for ``"kl"``, in (0, 1).
        Ignored by ``"l1"``.

    Attributes
    ----------
    {common_attributes}

    See Also
    --------
    Autoencoder : The same network without the penalty.
    skae.nn.l1_activity, skae.nn.kl_sparsity : The penalties.

    Notes
    -----
    An L1 penalty on a linear code can be lowered by shrinking the code
    while the decoder grows to compensate; the weight decay ``alpha``
    limits this. Judge sparsity with a scale-free measure, such as Hoyer's
    ``(sqrt(k) - |h|_1 / |h|_2) / (sqrt(k) - 1)``. The unweighted epoch
    mean of the penalty is recorded as ``net_.history[:, "train_sparsity"]``.

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
    >>> sae.transform(X).shape
    (1797, 32)
    >>> kl = SparseAutoencoder(n_components=32, sparsity="kl", code_activation="logistic",
    ...                        max_iter=10, random_state=0).fit(X)
    >>> bool(kl.transform(X).mean() < 0.5)
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
        code_activation="relu",
        architecture=None,
        pretraining=None,
        pretraining_max_iter=20,
        loss="mse",
        tied_weights=False,
        max_iter=200,
        batch_size="auto",
        learning_rate_init=1e-3,
        alpha=1e-4,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        warm_start=False,
        random_state=None,
        device="auto",
        verbose=0,
        callbacks=None,
        sparsity="l1",
        sparsity_weight=5e-4,
        sparsity_target=0.05,
    ):
        super().__init__(
            n_components=n_components,
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            code_activation=code_activation,
            architecture=architecture,
            pretraining=pretraining,
            pretraining_max_iter=pretraining_max_iter,
            loss=loss,
            tied_weights=tied_weights,
            max_iter=max_iter,
            batch_size=batch_size,
            learning_rate_init=learning_rate_init,
            alpha=alpha,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            n_iter_no_change=n_iter_no_change,
            tol=tol,
            warm_start=warm_start,
            random_state=random_state,
            device=device,
            verbose=verbose,
            callbacks=callbacks,
        )
        self.sparsity = sparsity
        self.sparsity_weight = sparsity_weight
        self.sparsity_target = sparsity_target

    def _loss_terms(self):
        if self.sparsity == "l1":
            return [("sparsity", self.sparsity_weight, _l1_term)]
        if self.code_activation != "logistic":
            raise ValueError(
                "sparsity='kl' compares mean code activations with sparsity_target "
                "and needs codes in (0, 1): set code_activation='logistic' "
                f"(got {self.code_activation!r}), or use sparsity='l1'."
            )
        return [("sparsity", self.sparsity_weight, partial(_kl_term, target=self.sparsity_target))]
