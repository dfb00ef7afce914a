"""Regularisation penalties on an autoencoder's code, as pure functions.

Every penalty returns one value per row, shape ``(n,)``, so that it adds to
a per-row reconstruction loss; the training loss is the batch mean.
"""

import warnings

import torch
import torch.autograd.forward_ad as fwAD
from torch import nn

from ._autoencoder import AutoencoderModule

__all__ = [
    "l1_activity",
    "kl_sparsity",
    "activation_derivative",
    "contractive_penalty_closed_form",
    "contractive_penalty_projected",
    "encode_with_projection",
    "JacobianProjectionModule",
]


def l1_activity(code):
    """Sum of the absolute code activations of each row.

    Parameters
    ----------
    code : Tensor of shape (n, n_components) or (n, ...)
        The code of each row. A code with more than one dimension per row,
        such as a convolutional feature map, is summed over all of them.

    Returns
    -------
    Tensor of shape (n,)
        ``code.abs().sum(dim=1)``: the L1 norm of each row's code.

    Examples
    --------
    >>> import torch
    >>> from skae.nn import l1_activity
    >>> code = torch.tensor([[1.0, -2.0, 0.5], [0.0, 0.0, -3.0]])
    >>> l1_activity(code)  # 1 + 2 + 0.5 and 3
    tensor([3.5000, 3.0000])
    >>> torch.equal(l1_activity(code), torch.linalg.vector_norm(code, ord=1, dim=1))
    True
    """
    return code.abs().flatten(1).sum(dim=1)


def kl_sparsity(code, target, eps=1e-6):
    """KL divergence from a target mean activation, spread over the rows.

    The penalty of a batch is ``sum_j KL(target || rho_j)``, where ``rho_j``
    is the mean activation of code unit ``j`` over the batch and ``KL(p ||
    q) = p log(p / q) + (1 - p) log((1 - p) / (1 - q))`` is the divergence
    between Bernoulli distributions (Ng, 2011). It is a property of the
    whole batch, not of a row: every row gets the batch's value, so the
    batch mean of the returned values is the penalty and its gradient is
    the penalty's gradient.

    Parameters
    ----------
    code : Tensor of shape (n, n_components)
        Activations in (0, 1), such as the output of a sigmoid code layer.
    target : float
        Desired mean activation of each unit, in (0, 1).
    eps : float, default=1e-6
        Mean activations are clipped to ``[eps, 1 - eps]`` so that a unit
        stuck at 0 or 1 gives a large but finite penalty.

    Returns
    -------
    Tensor of shape (n,)
        The batch's penalty, repeated for each row.

    Examples
    --------
    >>> import torch
    >>> from skae.nn import kl_sparsity
    >>> kl_sparsity(torch.full((3, 2), 0.05), target=0.05)
    tensor([0., 0., 0.])
    """
    rho = code.flatten(1).mean(dim=0).clamp(eps, 1 - eps)
    p = float(target)
    kl = p * torch.log(p / rho) + (1 - p) * torch.log((1 - p) / (1 - rho))
    return kl.sum().expand(code.shape[0])


def activation_derivative(output, activation):
    """Derivative of an elementwise activation, from the activation's output.

    Parameters
    ----------
    output : Tensor
        ``h = s(a)``, the activation's output.
    activation : {"logistic", "tanh", "relu", "identity"}
        The activation ``s``.

    Returns
    -------
    Tensor of the same shape as ``output``
        ``s'(a)``: ``h (1 - h)``, ``1 - h**2``, ``1[h > 0]`` or ones.

    Examples
    --------
    The derivative computed from the output matches autograd's:

    >>> import torch
    >>> from skae.nn import activation_derivative
    >>> a = torch.linspace(-2, 2, 5, requires_grad=True)
    >>> h = torch.tanh(a)
    >>> (grad,) = torch.autograd.grad(h.sum(), a)
    >>> torch.allclose(activation_derivative(h.detach(), "tanh"), grad)
    True
    >>> activation_derivative(torch.tensor([0.5, 0.9]), "logistic")
    tensor([0.2500, 0.0900])
    """
    if activation == "logistic":
        return output * (1 - output)
    if activation == "tanh":
        return 1 - output.pow(2)
    if activation == "relu":
        return (output > 0).to(output.dtype)
    if activation == "identity":
        return torch.ones_like(output)
    raise ValueError(f"No derivative known for activation {activation!r}.")


def contractive_penalty_closed_form(code, weight, activation):
    """Squared Frobenius norm of a one-layer encoder's Jacobian, per row.

    For ``h = s(W x + b)`` with an elementwise ``s``, the Jacobian is
    ``diag(s'(a)) W`` and its squared Frobenius norm is
    ``sum_j s'(a_j)**2 * sum_i W_ji**2`` (Rifai et al., 2011). It costs one
    pass over the code and one over ``W``, far less than the forward pass.

    Parameters
    ----------
    code : Tensor of shape (n, n_components)
        The encoder's output ``h``.
    weight : Tensor of shape (n_components, n_features)
        The encoder's weight matrix ``W``.
    activation : {"logistic", "tanh", "relu", "identity"}
        The encoder's activation ``s``.

    Returns
    -------
    Tensor of shape (n,)
        ``||J||_F**2`` at each row, differentiable with respect to ``code``
        and ``weight``.

    Examples
    --------
    >>> import torch
    >>> from skae.nn import contractive_penalty_closed_form
    >>> code = torch.tensor([[0.5, 0.5]])
    >>> weight = torch.ones(2, 3)
    >>> contractive_penalty_closed_form(code, weight, "logistic")  # 2 * 0.25**2 * 3
    tensor([0.3750])

    It equals the squared Frobenius norm of the Jacobian computed by autograd,
    here for a one-layer sigmoid encoder:

    >>> from torch import nn
    >>> from torch.autograd.functional import jacobian
    >>> from skae.nn import init_parameters_
    >>> generator = torch.Generator().manual_seed(0)
    >>> linear = nn.Linear(4, 3)
    >>> encoder = init_parameters_(nn.Sequential(linear, nn.Sigmoid()), generator)
    >>> x = torch.randn(4, generator=generator)
    >>> exact = jacobian(encoder, x).pow(2).sum()  # J has shape (3, 4)
    >>> penalty = contractive_penalty_closed_form(encoder(x[None]), linear.weight, "logistic")
    >>> torch.allclose(penalty, exact)
    True
    """
    slope = activation_derivative(code, activation)
    return slope.pow(2) @ weight.pow(2).sum(dim=1)


def _rademacher(shape, generator, device, dtype):
    signs = torch.randint(0, 2, shape, generator=generator, device=device, dtype=torch.int8)
    return (2 * signs - 1).to(dtype)


_jvp_ready = False


def _prepare_forward_ad():
    """Enter forward-mode AD once, hiding torch's own deprecation notice.

    The first ``make_dual`` makes torch script its forward-mode
    decompositions, and recent torch versions warn there that
    ``torch.jit.script`` is deprecated: a notice about torch's internals
    that users of skae can do nothing about.
    """
    global _jvp_ready
    if not _jvp_ready:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", r".*torch\.jit\.script", DeprecationWarning)
            with fwAD.dual_level():
                fwAD.make_dual(torch.zeros(1), torch.zeros(1))
        _jvp_ready = True


def encode_with_projection(encoder, x, generator=None):
    """Encode ``x`` and project the encoder's Jacobian on a random sign vector.

    One forward-mode pass gives both the code ``f(x)`` and the
    Jacobian-vector product ``J v`` for a vector ``v`` of independent
    Rademacher (+1 / -1) entries drawn for each row. Since ``E[v v^T] = I``,
    ``E ||J v||**2 = ||J||_F**2`` (Hutchinson's trace estimator applied to
    ``J^T J``), so ``||J v||**2`` is an unbiased estimate of the squared
    Frobenius norm of the Jacobian. Carrying the tangent costs about one
    more pass through the encoder, and its backward pass about two, however
    many features the input has; the exact norm would cost one pass per
    feature.

    Parameters
    ----------
    encoder : callable
        Maps a tensor of shape ``(n, *input_shape)`` to codes ``(n, ...)``,
        treating rows independently (no batch normalisation in training
        mode).
    x : Tensor of shape ``(n, *input_shape)``
        Points where the Jacobian is taken.
    generator : torch.Generator or None, default=None
        Source of the sign vectors, on ``x``'s device.

    Returns
    -------
    code : Tensor of shape (n, ...)
        ``encoder(x)``, differentiable as usual.
    projection : Tensor of the same shape as ``code``
        ``J v`` for each row, differentiable with respect to the encoder's
        parameters.

    Examples
    --------
    Over many sign vectors, the mean of ``||J v||**2`` approaches the
    squared Frobenius norm of the Jacobian computed by autograd:

    >>> import torch
    >>> from torch import nn
    >>> from torch.autograd.functional import jacobian
    >>> from skae.nn import encode_with_projection, init_parameters_
    >>> generator = torch.Generator().manual_seed(0)
    >>> encoder = init_parameters_(nn.Sequential(nn.Linear(4, 3), nn.Tanh()), generator)
    >>> x = torch.randn(1, 4, generator=generator)
    >>> exact = jacobian(encoder, x).pow(2).sum()
    >>> code, projection = encode_with_projection(
    ...     encoder, x.repeat(10_000, 1), generator=generator
    ... )
    >>> code.shape, projection.shape
    (torch.Size([10000, 3]), torch.Size([10000, 3]))
    >>> torch.allclose(code, encoder(x))
    True
    >>> estimate = projection.pow(2).sum(dim=1).mean()
    >>> bool(torch.isclose(estimate, exact, rtol=0.05))
    True
    """
    directions = _rademacher(x.shape, generator, x.device, x.dtype)
    _prepare_forward_ad()
    with fwAD.dual_level():
        out = encoder(fwAD.make_dual(x.detach(), directions))
        code, projection = fwAD.unpack_dual(out)
    if projection is None:  # the code does not depend on the input
        projection = torch.zeros_like(code)
    return code, projection


def contractive_penalty_projected(encoder, x, n_projections=1, generator=None):
    """Unbiased estimate of the squared Frobenius norm of the encoder's Jacobian.

    The mean of ``||J v||**2`` over ``n_projections`` random sign vectors
    ``v`` per row (see :func:`encode_with_projection`); its expectation is
    ``||J||_F**2``, and its variance falls as ``1 / n_projections``.

    Parameters
    ----------
    encoder : callable
        Maps a tensor of shape ``(n, *input_shape)`` to codes ``(n, ...)``,
        treating rows independently.
    x : Tensor of shape ``(n, *input_shape)``
        Points where the Jacobian is taken.
    n_projections : int, default=1
        Random vectors per row.
    generator : torch.Generator or None, default=None
        Source of the random vectors, on ``x``'s device.

    Returns
    -------
    Tensor of shape (n,)
        Differentiable with respect to the encoder's parameters.

    Examples
    --------
    >>> import torch
    >>> from skae.nn import contractive_penalty_projected
    >>> double = lambda x: 2 * x  # Jacobian 2 I, squared norm 4 * 3
    >>> contractive_penalty_projected(double, torch.zeros(2, 3))
    tensor([12., 12.])
    """
    n = x.shape[0]
    repeated = x.repeat(n_projections, *([1] * (x.dim() - 1)))
    _, projection = encode_with_projection(encoder, repeated, generator)
    squared = projection.pow(2).flatten(1).sum(dim=1)
    return squared.view(n_projections, n).mean(dim=0)


class _ProjectionSampler(nn.Module):
    """Holder of the private generator of the random projections.

    It has no parameters: :func:`skae.nn.init_parameters_` calls its
    ``reset_parameters_from(generator)``, which draws the seed of its own
    generator from the initialisation generator, so the projections are
    reproducible from the same seed as the weights. The generator is
    created lazily on the device asked for and dropped when pickled.
    """

    def __init__(self):
        super().__init__()
        self.seed = 0
        self._generator = None

    def reset_parameters_from(self, generator):
        """Draw this sampler's seed from ``generator``; it owns no parameters."""
        self.seed = int(torch.randint(0, 2**62, (1,), generator=generator).item())
        self._generator = None
        return []

    def generator(self, device):
        """The private generator on ``device``, created at first use."""
        if self._generator is None or self._generator.device != device:
            self._generator = torch.Generator(device=device).manual_seed(self.seed)
        return self._generator

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_generator"] = None
        return state


class JacobianProjectionModule(AutoencoderModule):
    """An :class:`AutoencoderModule` that also projects the encoder's Jacobian.

    In training mode ``forward`` adds ``"jacobian_projection"`` to the
    output dict: ``J v`` for a fresh random sign vector ``v`` per row, where
    ``J`` is the Jacobian of the code with respect to the encoder's input,
    computed in the same forward-mode pass as the code (see
    :func:`encode_with_projection`). ``||J v||**2`` summed over the code is
    an unbiased estimate of the contractive penalty ``||J||_F**2`` that
    costs about as much as one more encoder pass and its backward pass. In
    evaluation mode it is a plain :class:`AutoencoderModule`.

    Parameters
    ----------
    encoder : torch.nn.Module
        Maps ``(n, *input_shape)`` rows to codes, treating rows
        independently (see :func:`encode_with_projection`).
    decoder : torch.nn.Module
        Maps codes back to pre-activations of the input's shape.
    corruption : torch.nn.Module or None, default=None
        Applied to the input before encoding, in training mode only; the
        Jacobian is taken at the corrupted input.
    output_activation : {"identity", "logistic"}, default="identity"
        Non-linearity of the reconstruction, as for
        :class:`AutoencoderModule`.
    code_corruption : torch.nn.Module or None, default=None
        Applied to the code before decoding, in training mode only, as for
        :class:`AutoencoderModule`.

    Notes
    -----
    The sign vectors come from a private generator whose seed is drawn when
    :func:`skae.nn.init_parameters_` initialises the module, after the
    encoder and decoder, so the weights start as those of an
    :class:`AutoencoderModule` initialised from the same generator.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from skae.nn import JacobianProjectionModule, init_parameters_
    >>> module = JacobianProjectionModule(nn.Linear(3, 2), nn.Linear(2, 3))
    >>> module = init_parameters_(module, torch.Generator().manual_seed(0))
    >>> sorted(module(torch.zeros(4, 3)))
    ['code', 'input', 'jacobian_projection', 'reconstruction']
    >>> "jacobian_projection" in module.eval()(torch.zeros(4, 3))
    False
    """

    def __init__(
        self,
        encoder,
        decoder,
        corruption=None,
        output_activation="identity",
        code_corruption=None,
    ):
        super().__init__(encoder, decoder, corruption, output_activation, code_corruption)
        self.projection_sampler = _ProjectionSampler()

    def forward(self, x):
        if not self.training:
            return super().forward(x)
        corrupted = self.corruption(x)
        generator = self.projection_sampler.generator(corrupted.device)
        code, projection = encode_with_projection(self.encoder, corrupted, generator)
        reconstruction, extra = self._reconstruct(self.decoder(self.code_corruption(code)))
        return {
            "reconstruction": reconstruction,
            "code": code,
            "input": corrupted,
            "jacobian_projection": projection,
            **extra,
        }
