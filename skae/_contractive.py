"""The contractive autoencoder: a code that resists small input changes."""

from functools import partial
from numbers import Real

import torch
from sklearn.utils._param_validation import Interval

from ._base import BaseAutoencoder, _fill_doc
from .nn import (
    JacobianProjectionModule,
    contractive_penalty_closed_form,
    encode_with_projection,
)

__all__ = ["ContractiveAutoencoder"]


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


@_fill_doc
class ContractiveAutoencoder(BaseAutoencoder):
    """Contractive autoencoder: penalises the encoder's sensitivity to its input.

    Adds ``contraction_weight`` times the squared Frobenius norm of the
    Jacobian of the code with respect to the input, ``||dh/dx||_F**2``, to
    each row's reconstruction loss (Rifai et al., 2011). The code then
    changes little when the input moves off the directions the data vary
    along, while the reconstruction term keeps it sensitive along them.

    Parameters
    ----------
    {common_parameters}

    contraction_weight : float, default=1e-3
        Strength of the penalty. The reconstruction loss is a mean over the
        features, so the weight is relative to the squared error of one
        feature. Measured on the digits (scaled to [0, 1], 1347 training
        and 450 test rows, ``n_components=10``, ``max_iter=100``), the
        default lowers the encoder's squared Jacobian norm per unit of code
        variance, ``mean ||J||_F**2 / sum_j var(h_j)``, from 4.5 to 2.4
        for the default network, with a test reconstruction error of
        0.0119 against 0.0103, and from 4.1 to 2.9 for a one-layer
        logistic encoder at an unchanged error (0.051). Larger weights
        mostly shrink the code (which the decoder must undo) and cost
        reconstruction: 0.01 gives a ratio of 2.5 at an error of 0.016.

    Attributes
    ----------
    {common_attributes}

    See Also
    --------
    Autoencoder : The same network without the penalty.
    skae.nn.contractive_penalty_closed_form, skae.nn.contractive_penalty_projected :
        The penalties.

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
    encoder pass and its backward pass, whatever the number of features
    (the exact norm would cost one per feature). On the digits with the
    default network (one torch thread), a contractive fit takes about 1.7
    times as long as a plain one (one-layer encoder: about 1.2 times). The
    random vectors come from a private generator seeded from
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
        pretraining=None,
        pretraining_max_iter=20,
        loss="mse",
        tied_weights=False,
        max_iter=200,
        batch_size="auto",
        learning_rate_init=1e-3,
        alpha=0.0,
        early_stopping=False,
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
        self.contraction_weight = contraction_weight

    def _single_layer(self):
        return self.architecture is None and self._hidden_layer_sizes() == ()

    def _build_module(self, n_features, corruption):
        module = super()._build_module(n_features, corruption)
        if self._single_layer():
            return module
        # Same encoder, decoder and initial weights; the training-mode forward
        # also returns the Jacobian-vector product the penalty needs.
        return JacobianProjectionModule(
            module.encoder, module.decoder, module.corruption, module.output_activation
        )

    def _loss_terms(self):
        if self._single_layer():
            function = partial(_closed_form_term, activation=self.code_activation)
        else:
            function = _projected_term
        return [("contraction", self.contraction_weight, function)]
