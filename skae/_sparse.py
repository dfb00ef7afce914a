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
        the digits (scaled to [0, 1], 1347 training and 450 test rows, the
        default network, ``max_iter=100``) against the plain
        :class:`Autoencoder` with the same ReLU code: with
        ``n_components=128`` the share of exactly zero test code values
        rises from 0.42 to 0.69 (Hoyer sparsity from 0.34 to 0.63) at a
        test reconstruction error of 0.0030 against 0.0005; with
        ``n_components=32`` the effect is milder, from 0.38 to 0.43 (Hoyer
        0.34 to 0.45) at 0.0062 against 0.0054. Twice the default (1e-3)
        gives 0.58 zeros at 32 components but costs clearly more
        reconstruction (0.0089); a fifth of it (1e-4) leaves 32 codes
        almost as dense as the plain ones (0.39). With ``sparsity="kl"``
        and ``sparsity_weight=1e-3`` the mean activation of 32 logistic
        units falls from 0.51 to 0.12 at a reconstruction error of 0.0067
        against 0.0039; at 0.1 the mean activation reaches the target
        (0.05) but the KL term wins over the reconstruction (0.024).

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

    A ReLU code of a few units is fragile: a unit whose input turns
    negative on every row gets no gradient and stays at zero, with or
    without the penalty (the plain :class:`Autoencoder` with
    ``code_activation="relu"`` loses the same units). On the digits with
    the default network, one of 2 units is lost for every ``random_state``
    tried, and all 5 of a 5-unit code for two seeds out of three (constant
    codes), so the default's 2-D codes give a 5-NN accuracy below PCA's
    (see ``benchmarks/README.md``). Two remedies were measured and not
    adopted: centring each code unit on the training rows at
    initialisation (units still die during training), and an L1 penalty
    invariant to the code / decoder rescaling (each ``|h_j|`` times the
    norm of the decoder weights reading unit ``j``) on a linear code, which
    leaves no exact zeros and barely raises Hoyer sparsity (0.22 to 0.28
    with 32 units). For a short code (3 to 7 of 10 units were lost too)
    or a 2-D map, use ``code_activation="identity"`` (digits, 2 units:
    5-NN accuracy 0.82 against PCA's 0.62) or :class:`Autoencoder`.

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
