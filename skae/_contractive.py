"""The contractive autoencoder: a code that resists small input changes."""

from functools import partial
from numbers import Real

import torch

from ._base import BaseAutoencoder
from ._docs import fill_doc
from ._regularizer import Penalty
from ._sklearn_internals import Interval
from .nn import (
    AutoencoderModule,
    JacobianProjectionModule,
    MLPEncoder,
    contractive_penalty_closed_form,
    encode_with_projection,
)

__all__ = ["ContractionPenalty", "ContractiveAutoencoder"]


def _closed_form_term(output, X, module, activation):
    weight = module.encoder.linears[0].weight
    return contractive_penalty_closed_form(output["code"], weight, activation)


def _projected_term(output, X, module):
    projection = output.get("jacobian_projection")
    if projection is None:
        # Evaluation mode, as in early stopping's validation pass: the same
        # unbiased estimate from fixed sign vectors, so it is repeatable and
        # leaves the training generator's stream untouched.
        generator = torch.Generator(device=output["input"].device).manual_seed(0)
        _, projection = encode_with_projection(module.encoder, output["input"], generator)
    return projection.pow(2).flatten(1).sum(dim=1)


class ContractionPenalty(Penalty):
    """The contractive penalty: the squared Frobenius norm of the encoder's Jacobian.

    Adds ``weight`` times ``||dh/dx||_F**2`` to each row's loss (Rifai et
    al., 2011). Pass it as a regularizer to any estimator, for example
    ``DenoisingAutoencoder(regularizers=[("contraction", ContractionPenalty())])``
    for a contractive denoising autoencoder; :class:`ContractiveAutoencoder`
    is the autoencoder with one built in.

    Parameters
    ----------
    weight : float, default=1e-3
        Strength of the penalty, relative to the squared error of one
        feature; 0 leaves it out (and its Jacobian is never computed).

    See Also
    --------
    skae.nn.contractive_penalty_closed_form, skae.nn.JacobianProjectionModule :
        The exact and the estimated penalty, on tensors.

    Notes
    -----
    A single-layer MLP encoder ``h = s(W x + b)`` gets the exact penalty
    ``sum_j s'(a_j)**2 sum_i W_ji**2``. Any other encoder gets, per row and
    step, the unbiased estimate ``||J v||**2`` for a random sign vector
    ``v``, from a forward-mode Jacobian-vector product carried through the
    encoder in the same pass as the code (about one more encoder pass).

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import ContractionPenalty, DenoisingAutoencoder
    >>> X = load_digits().data / 16
    >>> contractive_denoising = DenoisingAutoencoder(
    ...     n_components=8, regularizers=[("contraction", ContractionPenalty(1e-3))],
    ...     max_iter=5, random_state=0,
    ... ).fit(X)
    >>> "train_contraction" in contractive_denoising.net_.history[-1]
    True
    """

    def __init__(self, weight=1e-3):
        self.weight = weight

    def build(self, estimator, module):
        """Choose the exact or the estimated penalty (see :meth:`skae.Penalty.build`).

        Parameters
        ----------
        estimator : skae estimator
            The estimator being fitted; its ``code_activation`` enters the
            exact penalty.
        module : skae.nn.AutoencoderModule
            The network. A single-layer MLP encoder keeps it; any other
            encoder is wrapped in a :class:`skae.nn.JacobianProjectionModule`
            with the same parts.

        Returns
        -------
        module : torch.nn.Module
            The module to train.
        term : callable
            The per-row penalty.

        Examples
        --------
        >>> from skae import Autoencoder, ContractionPenalty
        >>> from skae.nn import AutoencoderModule, MLPDecoder, MLPEncoder
        >>> deep = AutoencoderModule(MLPEncoder(8, (4,), 2, "relu", "identity"),
        ...                          MLPDecoder(2, (4,), 8, "relu"))
        >>> module, term = ContractionPenalty().build(Autoencoder(), deep)
        >>> type(module).__name__
        'JacobianProjectionModule'
        """
        if not isinstance(module, AutoencoderModule):
            raise ValueError(
                "The contractive penalty needs the network of a deterministic autoencoder, "
                f"not a {type(module).__name__}."
            )
        encoder = module.encoder
        if isinstance(encoder, MLPEncoder) and len(encoder.linears) == 1:
            return module, partial(_closed_form_term, activation=estimator.code_activation)
        if not isinstance(module, JacobianProjectionModule):
            module = JacobianProjectionModule(
                encoder,
                module.decoder,
                module.corruption,
                module.output_activation,
                module.code_corruption,
            )
        return module, _projected_term


_CONTRACTION_WEIGHT_DOC = """\
    contraction_weight : float, default=1e-3
        Strength of the penalty (see :class:`ContractionPenalty`), relative
        to the squared error of one feature. The default halved the
        encoder's Jacobian norm per unit of code variance on the digits at a
        small cost in reconstruction; larger weights mostly shrink the code
        (see the user guide's "ContractiveAutoencoder" section). ``0``
        leaves the penalty out."""


@fill_doc(contraction_weight=_CONTRACTION_WEIGHT_DOC)
class ContractiveAutoencoder(BaseAutoencoder):
    """Contractive autoencoder: penalises the encoder's sensitivity to its input.

    Adds ``contraction_weight`` times the squared Frobenius norm of the
    Jacobian of the code with respect to the input, ``||dh/dx||_F**2``, to
    each row's reconstruction loss (Rifai et al., 2011). The code then
    changes little when the input moves off the directions the data vary
    along, while the reconstruction term keeps it sensitive along them. It
    is the plain :class:`Autoencoder` with a :class:`ContractionPenalty`
    built in; further ``regularizers`` combine with it.

    Parameters
    ----------
    {parameters}

    Attributes
    ----------
    {attributes}

    See Also
    --------
    Autoencoder : The same network without the penalty.
    ContractionPenalty : The penalty, for any estimator's ``regularizers``.

    Notes
    -----
    With ``hidden_layer_sizes=()`` and no ``architecture`` the encoder is
    ``h = s(W x + b)`` with an elementwise activation ``s`` and the exact
    penalty ``sum_j s'(a_j)**2 sum_i W_ji**2`` costs far less than the
    forward pass. For a deeper encoder (or any ``architecture``) each row's
    penalty is the unbiased estimate ``||J v||**2`` with one random sign
    vector ``v`` drawn per row and per step, whose expectation is the exact
    squared norm. ``J v`` is a forward-mode Jacobian-vector product
    carried through the encoder in the same pass as the code (see
    :class:`skae.nn.JacobianProjectionModule`): it costs about one more
    encoder pass and its backward pass, whatever the number of features.
    The random vectors come from a private generator seeded from
    ``random_state``. The unweighted epoch mean of the penalty is recorded
    as ``net_.history[:, "train_contraction"]``.

    A smaller raw Jacobian norm alone is no evidence of contraction: an
    encoder can shrink its code while the decoder scales it back up. Compare
    the norm relative to the spread of the codes.

    References
    ----------
    Rifai, S., Vincent, P., Muller, X., Glorot, X. and Bengio, Y. (2011).
    Contractive auto-encoders: explicit invariance during feature
    extraction. ICML.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import ContractiveAutoencoder
    >>> X = load_digits().data / 16
    >>> cae = ContractiveAutoencoder(n_components=10, max_iter=10, random_state=0).fit(X)
    >>> cae.transform(X).shape
    (1797, 10)
    >>> "train_contraction" in cae.net_.history[-1]
    True
    """

    _parameter_constraints = {
        **BaseAutoencoder._parameter_constraints,
        "contraction_weight": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        n_components=2,
        *,
        hidden_layer_sizes=(512,),
        activation="relu",
        code_activation="identity",
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
        contraction_weight=1e-3,
    ):
        self._store_parameters(locals())

    def _family_regularizers(self):
        return [("contraction", ContractionPenalty(self.contraction_weight))]
