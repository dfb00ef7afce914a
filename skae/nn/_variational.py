"""Variational autoencoder pieces: the Gaussian posterior, sampling and the ELBO terms.

Pure loss functions take tensors and return one value per row, so they can
be tested against closed forms; the modules hold no scikit-learn logic.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "GaussianSampler",
    "VariationalModule",
    "NegativeLogLikelihood",
    "gaussian_kl",
    "gaussian_nll",
    "bernoulli_nll",
]

_LOG_2PI = math.log(2 * math.pi)
# Bounds on the posterior log-variance: keeps exp() finite in float32.
_LOG_VAR_MIN, _LOG_VAR_MAX = -30.0, 20.0


def gaussian_kl(mean, log_var):
    """KL divergence of a diagonal Gaussian to the standard normal, per row.

    Parameters
    ----------
    mean : Tensor of shape (n, k)
        Means of the posterior ``q(z | x) = N(mean, diag(exp(log_var)))``.
    log_var : Tensor of shape (n, k)
        Log-variances of the posterior.

    Returns
    -------
    Tensor of shape (n,)
        ``KL(q || N(0, I)) = 0.5 * sum(exp(log_var) + mean**2 - 1 - log_var)``
        summed over the ``k`` latent dimensions; zero exactly when
        ``mean = 0`` and ``log_var = 0``.

    Examples
    --------
    >>> import torch
    >>> from skae.nn import gaussian_kl
    >>> gaussian_kl(torch.zeros(2, 3), torch.zeros(2, 3))
    tensor([0., 0.])
    """
    return 0.5 * (log_var.exp() + mean.pow(2) - 1.0 - log_var).sum(dim=1)


def gaussian_nll(target, mean, log_scale):
    """Negative log-density of ``target`` under ``N(mean, exp(log_scale)**2)``, per row.

    Parameters
    ----------
    target : Tensor of shape (n, d)
        Observed rows.
    mean : Tensor of shape (n, d)
        Means of the likelihood (the decoder output).
    log_scale : Tensor broadcastable to (n, d)
        Log standard deviations, for example one learned scalar.

    Returns
    -------
    Tensor of shape (n,)
        ``sum(0.5 * ((target - mean) / sigma)**2 + log(sigma) + 0.5 * log(2 pi))``
        over the ``d`` features.

    Examples
    --------
    >>> import torch
    >>> from skae.nn import gaussian_nll
    >>> target, mean = torch.randn(2, 3, 4, generator=torch.Generator().manual_seed(0))
    >>> log_scale = torch.tensor(0.5)
    >>> normal = torch.distributions.Normal(mean, log_scale.exp())
    >>> expected = -normal.log_prob(target).sum(dim=1)
    >>> torch.allclose(gaussian_nll(target, mean, log_scale), expected)
    True
    """
    z = (target - mean) * torch.exp(-log_scale)
    return (0.5 * z.pow(2) + log_scale + 0.5 * _LOG_2PI).flatten(1).sum(dim=1)


def bernoulli_nll(logits, target):
    """Binary cross-entropy of ``target`` given ``logits``, summed per row.

    Parameters
    ----------
    logits : Tensor of shape (n, d)
        Pre-sigmoid decoder outputs.
    target : Tensor of shape (n, d)
        Values in [0, 1].

    Returns
    -------
    Tensor of shape (n,)
        The negative Bernoulli log-likelihood summed over the ``d`` features.

    Examples
    --------
    >>> import torch
    >>> from skae.nn import bernoulli_nll
    >>> generator = torch.Generator().manual_seed(0)
    >>> logits = torch.randn(3, 4, generator=generator)
    >>> target = (torch.rand(3, 4, generator=generator) > 0.5).float()
    >>> bernoulli = torch.distributions.Bernoulli(logits=logits)
    >>> expected = -bernoulli.log_prob(target).sum(dim=1)
    >>> torch.allclose(bernoulli_nll(logits, target), expected)
    True
    """
    loss = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    return loss.flatten(1).sum(dim=1)


class GaussianSampler(nn.Module):
    """Reparameterised sample ``mean + exp(log_var / 2) * eps`` in training mode.

    In evaluation mode it returns ``mean``, so inference is deterministic.
    The noise ``eps`` comes from a private ``torch.Generator`` created lazily
    on the device of the input and seeded from ``seed``; the global torch
    random state is never used. The generator is dropped when the module is
    pickled or copied and recreated from ``seed`` on first use.

    Parameters
    ----------
    seed : int, default=0
        Seed of the noise generator. :func:`skae.nn.init_parameters_` sets
        it from its generator through :meth:`reset_parameters_from`.

    Notes
    -----
    ``forward(mean, log_var)`` takes two tensors of shape ``(n, k)`` and
    returns one of that shape.

    Examples
    --------
    >>> import math
    >>> import torch
    >>> from skae.nn import GaussianSampler
    >>> sampler = GaussianSampler(seed=0)
    >>> mean = torch.zeros(10_000, 1)
    >>> log_var = torch.full((10_000, 1), math.log(4.0))
    >>> round(sampler(mean, log_var).std().item(), 1)  # training mode: mean + 2 * eps
    2.0
    >>> torch.equal(sampler.eval()(mean, log_var), mean)
    True
    """

    def __init__(self, seed=0):
        super().__init__()
        self.seed = int(seed)
        self._generator = None

    def forward(self, mean, log_var):
        if not self.training:
            return mean
        if self._generator is None or self._generator.device != mean.device:
            self._generator = torch.Generator(device=mean.device).manual_seed(self.seed)
        eps = torch.randn(mean.shape, generator=self._generator, device=mean.device)
        return mean + torch.exp(0.5 * log_var) * eps.to(mean.dtype)

    def reset_parameters_from(self, generator):
        """Draw a new noise seed from ``generator``.

        Called by :func:`init_parameters_`, so that a module initialised
        from a seeded generator also draws the same noise.

        Parameters
        ----------
        generator : torch.Generator
            Source of the new ``seed``.

        Returns
        -------
        params : list
            Empty: the sampler has no parameters.

        Examples
        --------
        >>> import torch
        >>> from skae.nn import GaussianSampler
        >>> sampler = GaussianSampler()
        >>> sampler.reset_parameters_from(torch.Generator().manual_seed(0))
        []
        >>> seed = sampler.seed
        >>> _ = sampler.reset_parameters_from(torch.Generator().manual_seed(0))
        >>> sampler.seed == seed  # the same generator state, the same seed
        True
        """
        self.seed = int(torch.randint(0, 2**62, (1,), generator=generator))
        self._generator = None
        return []

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_generator"] = None
        return state


class VariationalModule(nn.Module):
    """A variational autoencoder network with a diagonal Gaussian posterior.

    Parameters
    ----------
    encoder : torch.nn.Module
        Maps ``(n, n_features)`` rows to ``(n, 2 * n_components)``: the
        posterior means followed by the log-variances.
    decoder : torch.nn.Module
        Maps ``(n, n_components)`` latents to ``(n, n_features)``
        pre-activations.
    n_components : int
        Width of the latent space.
    likelihood : {"bernoulli", "gaussian"}, default="bernoulli"
        ``"bernoulli"``: the decoder output are logits of per-feature
        probabilities. ``"gaussian"``: it is the mean of a Gaussian whose
        standard deviation ``exp(log_scale)`` is one learned scalar.
    corruption : torch.nn.Module or None, default=None
        Applied to the input in training mode before encoding.

    Notes
    -----
    ``forward(x)`` returns a dict with ``"mean"`` and ``"log_var"`` of the
    posterior, ``"code"`` (a reparameterised sample in training mode, the
    mean in evaluation mode), ``"reconstruction"`` (decoded ``code``),
    ``"input"``, and ``"logits"`` or ``"log_scale"`` for the likelihood.
    ``encode`` returns the posterior mean, ``decode`` the likelihood's mean.

    Examples
    --------
    >>> import torch
    >>> from skae.nn import MLPDecoder, MLPEncoder, VariationalModule
    >>> module = VariationalModule(
    ...     MLPEncoder(8, (16,), 2 * 3, activation="relu", code_activation="identity"),
    ...     MLPDecoder(3, (16,), 8, activation="relu"),
    ...     n_components=3,
    ... )
    >>> out = module(torch.rand(5, 8))
    >>> sorted(out)
    ['code', 'input', 'log_var', 'logits', 'mean', 'reconstruction']
    >>> out["mean"].shape, out["code"].shape, out["reconstruction"].shape
    (torch.Size([5, 3]), torch.Size([5, 3]), torch.Size([5, 8]))
    """

    def __init__(self, encoder, decoder, n_components, likelihood="bernoulli", corruption=None):
        super().__init__()
        if likelihood not in ("bernoulli", "gaussian"):
            raise ValueError(
                f"Unknown likelihood {likelihood!r}; expected 'bernoulli' or 'gaussian'."
            )
        self.encoder = encoder
        self.decoder = decoder
        self.n_components = int(n_components)
        self.likelihood = likelihood
        self.corruption = corruption if corruption is not None else nn.Identity()
        self.code_corruption = nn.Identity()
        self.sampler = GaussianSampler()
        if likelihood == "gaussian":
            self.log_scale = nn.Parameter(torch.zeros(1))

    def reset_parameters_from(self, generator):
        """Start the Gaussian likelihood at unit variance.

        Called by :func:`init_parameters_`, under ``torch.no_grad()``.

        Parameters
        ----------
        generator : torch.Generator
            Unused: the start is fixed, ``log_scale = 0``.

        Returns
        -------
        params : list of torch.nn.Parameter
            ``[log_scale]`` for a Gaussian likelihood, empty for a Bernoulli
            one.

        Examples
        --------
        >>> import torch
        >>> from skae.nn import MLPDecoder, MLPEncoder, VariationalModule
        >>> module = VariationalModule(
        ...     MLPEncoder(8, (16,), 2 * 3, activation="relu", code_activation="identity"),
        ...     MLPDecoder(3, (16,), 8, activation="relu"),
        ...     n_components=3,
        ...     likelihood="gaussian",
        ... )
        >>> with torch.no_grad():
        ...     _ = module.log_scale.fill_(1.0)
        ...     params = module.reset_parameters_from(torch.Generator())
        >>> params[0] is module.log_scale, module.log_scale.item()
        (True, 0.0)
        """
        if self.likelihood != "gaussian":
            return []
        self.log_scale.zero_()
        return [self.log_scale]

    def posterior(self, x):
        """Return the parameters of the Gaussian posterior ``q(z | x)``.

        Parameters
        ----------
        x : Tensor of shape (n, n_features)
            Rows to encode, used as given (no corruption).

        Returns
        -------
        mean : Tensor of shape (n, n_components)
            The first ``n_components`` outputs of the encoder.
        log_var : Tensor of shape (n, n_components)
            The other ``n_components`` outputs, clipped to [-30, 20] so that
            ``exp(log_var)`` stays finite in float32.

        Examples
        --------
        >>> import torch
        >>> from skae.nn import MLPDecoder, MLPEncoder, VariationalModule
        >>> module = VariationalModule(
        ...     MLPEncoder(8, (16,), 2 * 3, activation="relu", code_activation="identity"),
        ...     MLPDecoder(3, (16,), 8, activation="relu"),
        ...     n_components=3,
        ... )
        >>> mean, log_var = module.posterior(torch.rand(5, 8))
        >>> mean.shape, log_var.shape
        (torch.Size([5, 3]), torch.Size([5, 3]))
        """
        h = self.encoder(x)
        k = self.n_components
        return h[:, :k], h[:, k:].clamp(_LOG_VAR_MIN, _LOG_VAR_MAX)

    def encode(self, x):
        """Return the posterior mean of ``x``, its deterministic code.

        Parameters
        ----------
        x : Tensor of shape (n, n_features)
            Rows to encode, used as given (no corruption).

        Returns
        -------
        mean : Tensor of shape (n, n_components)
            The mean of ``q(z | x)``, as returned first by :meth:`posterior`.

        Examples
        --------
        >>> import torch
        >>> from skae.nn import MLPDecoder, MLPEncoder, VariationalModule
        >>> module = VariationalModule(
        ...     MLPEncoder(8, (16,), 2 * 3, activation="relu", code_activation="identity"),
        ...     MLPDecoder(3, (16,), 8, activation="relu"),
        ...     n_components=3,
        ... )
        >>> x = torch.rand(5, 8)
        >>> module.encode(x).shape
        torch.Size([5, 3])
        >>> torch.equal(module.encode(x), module.eval()(x)["code"])  # eval codes are means
        True
        """
        return self.posterior(x)[0]

    def decode(self, z):
        """Return the mean of the likelihood ``p(x | z)``.

        Parameters
        ----------
        z : Tensor of shape (n, n_components)
            Latents, for example posterior means or draws from the prior.

        Returns
        -------
        reconstruction : Tensor of shape (n, n_features)
            Per-feature probabilities (the sigmoid of the decoder output) for
            a Bernoulli likelihood, the decoder output for a Gaussian one.

        Examples
        --------
        >>> import torch
        >>> from skae.nn import MLPDecoder, MLPEncoder, VariationalModule
        >>> module = VariationalModule(
        ...     MLPEncoder(8, (16,), 2 * 3, activation="relu", code_activation="identity"),
        ...     MLPDecoder(3, (16,), 8, activation="relu"),
        ...     n_components=3,
        ... )
        >>> x = module.decode(torch.randn(4, 3))  # rows from the prior
        >>> x.shape
        torch.Size([4, 8])
        >>> bool(((x > 0) & (x < 1)).all())  # Bernoulli probabilities
        True
        """
        out = self.decoder(z)
        return torch.sigmoid(out) if self.likelihood == "bernoulli" else out

    def likelihood_terms(self, z):
        """Return the likelihood ``p(x | z)``: its mean and its parameters.

        Parameters
        ----------
        z : Tensor of shape (n, n_components)
            Latents.

        Returns
        -------
        reconstruction : Tensor of shape (n, n_features)
            The mean of the likelihood, as :meth:`decode` returns it.
        params : dict
            ``{"logits": Tensor of shape (n, n_features)}`` for a Bernoulli
            likelihood, ``{"log_scale": Tensor of shape (1,)}`` (the learned
            log standard deviation) for a Gaussian one: what
            :class:`NegativeLogLikelihood` reads besides the mean.

        Examples
        --------
        >>> import torch
        >>> from skae.nn import MLPDecoder, MLPEncoder, VariationalModule
        >>> module = VariationalModule(
        ...     MLPEncoder(8, (16,), 2 * 3, activation="relu", code_activation="identity"),
        ...     MLPDecoder(3, (16,), 8, activation="relu"),
        ...     n_components=3,
        ...     likelihood="gaussian",
        ... )
        >>> reconstruction, params = module.likelihood_terms(torch.zeros(4, 3))
        >>> reconstruction.shape, params["log_scale"].shape
        (torch.Size([4, 8]), torch.Size([1]))
        """
        out = self.decoder(z)
        if self.likelihood == "bernoulli":
            return torch.sigmoid(out), {"logits": out}
        return out, {"log_scale": self.log_scale.to(out.dtype)}

    def forward(self, x):
        corrupted = self.corruption(x)
        mean, log_var = self.posterior(corrupted)
        code = self.sampler(mean, log_var)
        reconstruction, extra = self.likelihood_terms(self.code_corruption(code))
        return {
            "reconstruction": reconstruction,
            "code": code,
            "mean": mean,
            "log_var": log_var,
            "input": corrupted,
            **extra,
        }


class NegativeLogLikelihood(nn.Module):
    """Per-row negative log-likelihood of a :class:`VariationalModule`'s output.

    Parameters
    ----------
    likelihood : {"bernoulli", "gaussian"}
        Reads ``output["logits"]`` (Bernoulli) or ``output["reconstruction"]``
        and ``output["log_scale"]`` (Gaussian).

    Notes
    -----
    ``forward(output, target)`` returns a tensor of shape ``(n,)``: the
    negative log-likelihood *summed* over the features, the scale at which it
    is comparable with the KL term of the ELBO (a per-feature mean would let
    the KL term win and collapse the posterior).

    Examples
    --------
    >>> import torch
    >>> from skae.nn import NegativeLogLikelihood
    >>> output = {"logits": torch.zeros(2, 3)}
    >>> NegativeLogLikelihood("bernoulli")(output, torch.ones(2, 3))  # 3 * log 2
    tensor([2.0794, 2.0794])
    """

    def __init__(self, likelihood="bernoulli"):
        super().__init__()
        if likelihood not in ("bernoulli", "gaussian"):
            raise ValueError(
                f"Unknown likelihood {likelihood!r}; expected 'bernoulli' or 'gaussian'."
            )
        self.likelihood = likelihood

    def forward(self, output, target):
        if self.likelihood == "bernoulli":
            return bernoulli_nll(output["logits"], target)
        return gaussian_nll(target, output["reconstruction"], output["log_scale"])
