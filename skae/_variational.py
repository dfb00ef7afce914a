"""The variational autoencoder: a Gaussian latent model to encode, score and sample."""

import copy
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ._base import BaseAutoencoder
from ._docs import fill_doc
from ._sklearn_internals import Interval
from .nn import NegativeLogLikelihood, VariationalModule, gaussian_kl

__all__ = ["VariationalAutoencoder", "VAE"]

# Fixed standard normal draws for the ELBO of score_samples: 8 antithetic pairs,
# the same for every row, so a row's score does not depend on its batch.
_ELBO_DRAWS = 16


def _kl_term(output, X, module):
    """Per-row KL divergence of the posterior to the prior (a loss term)."""
    return gaussian_kl(output["mean"], output["log_var"])


def _elbo_draws(n_components, device):
    half = torch.randn(
        _ELBO_DRAWS // 2,
        n_components,
        generator=torch.Generator().manual_seed(0),
        dtype=torch.float64,
    )
    return torch.cat([half, -half]).to(device)


_BETA_DOC = """\
    beta : float, default=1.0
        Weight of the KL term: 1 is the VAE, larger values the beta-VAE
        (more regular, more disentangled latents, blurrier
        reconstructions), smaller ones weaken the prior."""


@fill_doc(beta=_BETA_DOC)
class VariationalAutoencoder(BaseAutoencoder):
    """Variational autoencoder (VAE): a generative model with a Gaussian latent.

    The encoder gives each row a Gaussian posterior ``q(z | x) = N(mean,
    diag(var))`` over ``n_components`` latent dimensions; in training a
    reparameterised sample ``z = mean + sqrt(var) * eps`` is decoded into the
    parameters of the likelihood ``p(x | z)``. Training minimises, averaged
    over the rows, the negative log-likelihood summed over the features plus
    ``beta`` times ``KL(q(z | x) || N(0, I))`` (Kingma & Welling, 2014;
    Higgins et al., 2017 for ``beta != 1``). ``transform`` returns the
    posterior mean (deterministic), ``inverse_transform`` decodes,
    :meth:`sample` draws new rows from the prior and :meth:`score_samples`
    gives each row's evidence lower bound (ELBO).

    Parameters
    ----------
    {parameters}

    Attributes
    ----------
    {attributes}

    reconstruction_curve_ : list of float
        Mean per-row negative log-likelihood of each training epoch (the
        history's ``train_reconstruction``), in nats.

    kl_curve_ : list of float
        Mean per-row KL divergence of each training epoch (the history's
        ``train_kl``), unweighted.

    See Also
    --------
    Autoencoder : The deterministic autoencoder.
    ConvolutionalArchitecture : A convolutional encoder and decoder for images.

    Notes
    -----
    ``loss`` chooses the likelihood: ``"bce"`` a Bernoulli for data in
    [0, 1] (such as pixel intensities); ``"mse"`` a Gaussian whose standard
    deviation is learned (one scalar shared by all features), since a fixed
    unit variance on small-scale data lets the KL term win and collapses the
    posterior. ``code_activation`` must be ``"identity"`` (the posterior mean
    and log-variance are linear), ``tied_weights`` False and ``init`` not
    ``"pca"`` (``"auto"`` starts it at random). With an
    ``architecture``, the encoder it builds for ``2 * n_components`` outputs
    gives the means and then the log-variances, and the decoder it builds
    for ``n_components`` decodes.

    ``loss_curve_`` holds the training loss per row: the negative ELBO with
    a ``beta``-weighted KL term, in nats; ``reconstruction_curve_`` and
    ``kl_curve_`` hold its two parts.

    ``score_samples`` estimates the ELBO (with ``beta = 1``) in float64 from
    16 fixed standard normal draws (8 antithetic pairs) shared by all rows,
    so it is deterministic and a row scores the same alone or in a batch.
    With ``loss="bce"`` on data that is not binary the likelihood is the
    cross-entropy, the usual choice for grey levels, which is not a
    normalised density; compare scores between rows, not across models.

    References
    ----------
    Kingma, D. P. and Welling, M. (2014). Auto-encoding variational Bayes.
    ICLR.

    Higgins, I. et al. (2017). beta-VAE: Learning basic visual concepts with
    a constrained variational framework. ICLR.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import VAE
    >>> X = load_digits().data[:500] / 16
    >>> vae = VAE(n_components=2, hidden_layer_sizes=(64,), loss="bce", max_iter=10,
    ...           random_state=0).fit(X)
    >>> vae.transform(X[:3]).shape
    (3, 2)
    >>> vae.sample(4, random_state=0).shape
    (4, 64)
    >>> bool(vae.score_samples(X[:5]).mean() > vae.score_samples(1 - X[:5]).mean())
    True
    """

    _parameter_constraints = {
        **BaseAutoencoder._parameter_constraints,
        "beta": [Interval(Real, 0, None, closed="left")],
    }

    # The network is a Gaussian posterior and a likelihood, not PCA's maps.
    _supports_pca_init = False

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
        beta=1.0,
    ):
        self._store_parameters(locals())

    @property
    def _likelihood(self):
        return "bernoulli" if self.loss == "bce" else "gaussian"

    def _build_module(self, n_features, corruption):
        if self.code_activation != "identity":
            raise ValueError(
                "VariationalAutoencoder needs code_activation='identity' (the posterior "
                f"mean and log-variance are linear), got {self.code_activation!r}."
            )
        if self.tied_weights:
            raise ValueError(
                "VariationalAutoencoder does not support tied_weights=True: its encoder "
                "has twice as many outputs as its decoder has inputs."
            )
        k = self.n_components
        encoder, _ = self._encoder_decoder(n_features, 2 * k)
        _, decoder = self._encoder_decoder(n_features, k)
        return VariationalModule(encoder, decoder, k, self._likelihood, corruption)

    def _build_criterion(self):
        return NegativeLogLikelihood(self._likelihood)

    def _loss_terms(self):
        return [("kl", float(self.beta), _kl_term)]

    def _read_history(self):
        super()._read_history()
        rows = [row for row in self.net_.history if "train_loss" in row]
        self.reconstruction_curve_ = [float(row["train_reconstruction"]) for row in rows]
        self.kl_curve_ = [float(row["train_kl"]) for row in rows]

    def score_samples(self, X):
        """Evidence lower bound (ELBO) of each row: higher means more likely.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows to score.

        Returns
        -------
        scores : ndarray of shape (n_samples,), dtype float64
            ``E_q[log p(x | z)] - KL(q(z | x) || N(0, I))`` per row, in nats,
            the expectation taken over 16 fixed draws and computed in
            float64 (see Notes).

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.datasets import load_digits
        >>> from skae import VAE
        >>> X = load_digits().data[:200] / 16
        >>> vae = VAE(n_components=2, hidden_layer_sizes=(32,), loss="bce", max_iter=3,
        ...           random_state=0).fit(X)
        >>> scores = vae.score_samples(X[:5])
        >>> scores.shape, scores.dtype
        ((5,), dtype('float64'))
        >>> bool((scores < 0).all())  # a cross-entropy and a KL, both non-negative
        True
        >>> np.allclose(vae.score_samples(X[:1]), scores[:1])  # alone as in a batch
        True
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        module = self._float64_module()
        criterion = copy.deepcopy(self.net_.criterion_).double()
        eps = _elbo_draws(self.n_components_, self.net_.device)

        def elbo(_, batch):
            x = batch.double()
            mean, log_var = module.posterior(x)
            z = mean + torch.exp(0.5 * log_var) * eps[:, None, :]  # (draws, n, k)
            reconstruction, extra = module.likelihood_terms(z.reshape(-1, z.shape[-1]))
            output = {"reconstruction": reconstruction, **extra}
            target = x.expand(len(eps), *x.shape).reshape(-1, x.shape[1])
            nll = criterion(output, target).reshape(len(eps), -1).mean(dim=0)
            return -(nll + gaussian_kl(mean, log_var))

        width = X.shape[1] * _ELBO_DRAWS
        return self._infer(X, width, 1, elbo, dtype=np.float64).ravel()

    def sample(self, n_samples=1, random_state=None):
        """Draw rows from the model: latents from the prior, decoded.

        Parameters
        ----------
        n_samples : int, default=1
            Number of rows to draw.
        random_state : int, RandomState instance or None, default=None
            Seeds the latent draws (with numpy, so an int gives the same
            rows on any device).

        Returns
        -------
        X : ndarray of shape (n_samples, `n_features_in_`), dtype float32
            The mean of ``p(x | z)`` for each latent ``z ~ N(0, I)``: pixel
            probabilities with ``loss="bce"``, Gaussian means with
            ``loss="mse"``.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.datasets import load_digits
        >>> from skae import VAE
        >>> X = load_digits().data[:200] / 16
        >>> vae = VAE(n_components=2, hidden_layer_sizes=(32,), loss="bce", max_iter=3,
        ...           random_state=0).fit(X)
        >>> rows = vae.sample(4, random_state=0)
        >>> rows.shape
        (4, 64)
        >>> bool(((rows > 0) & (rows < 1)).all())  # pixel probabilities
        True
        >>> np.array_equal(vae.sample(4, random_state=0), rows)
        True
        """
        check_is_fitted(self)
        if not isinstance(n_samples, Integral) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}.")
        rng = check_random_state(random_state)
        z = rng.standard_normal((int(n_samples), self.n_components_)).astype(np.float32)
        return self.inverse_transform(z)


VAE = VariationalAutoencoder
