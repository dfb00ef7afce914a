"""An output layer on an autoencoder's encoder, and the per-row supervised losses.

The torch half of :class:`skae.AutoencoderClassifier` and
:class:`skae.AutoencoderRegressor`: nothing here knows about scikit-learn or
skorch.
"""

import torch
import torch.nn.functional as F
from torch import nn

from ._init import init_parameters_

__all__ = [
    "FineTuningModule",
    "SupervisedLoss",
    "reinit_dead_units_",
    "virtual_adversarial_loss",
]

# The layers whose input hidden dropout drops.
_WEIGHT_LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


class FineTuningModule(nn.Module):
    """An encoder with a linear output layer on its code: ``head(code(x))``.

    Parameters
    ----------
    encoder : torch.nn.Module
        Maps ``(n, n_features)`` rows to ``(n, m)`` with ``m >= code_width``,
        for example the encoder of a trained autoencoder.
    code_width : int
        The code is the first ``code_width`` outputs of the encoder: all of
        them for a deterministic autoencoder, the posterior means for a
        variational one (whose encoder gives the log-variances after them).
    n_outputs : int
        Width of the output: one score (logit) per class, or one value per
        regression target.
    freeze_encoder : bool, default=False
        If True, the encoder's parameters do not require gradients, the
        encoder runs without building a graph and stays in evaluation mode
        when the module trains: only the head learns.
    dropout : float, default=0.0
        In training mode, the probability of zeroing each hidden unit (the
        input of every linear or convolutional layer of the encoder that
        does not read the rows themselves) and each code unit the head
        reads, with the survivors scaled by ``1 / (1 - dropout)`` (dropout,
        Srivastava et al., 2014). Layers of a frozen encoder, in evaluation
        mode, drop nothing.
    input_dropout : float, default=0.0
        In training mode, the probability of zeroing each input feature.
    seed : int, default=0
        Seed of the private ``torch.Generator`` that draws the dropout
        masks, never torch's global random state; as for the corruption
        modules, it is created on the device of the first input and
        dropped when the module is pickled or copied, so a restored module
        draws its masks again from ``seed``.

    Attributes
    ----------
    head : torch.nn.Linear
        The output layer, ``code_width -> n_outputs``, on the standardised
        code (see :meth:`standardize_code_` and :meth:`start_head_`).

    Notes
    -----
    Input ``(n, n_features)``, output ``(n, n_outputs)``: logits for a
    softmax classifier, predictions for a regressor. Hidden dropout works on
    any encoder: forward pre-hooks on its ``nn.Linear`` and ``nn.Conv*``
    layers drop their input unless it is the rows (or a reshaped view of
    them, as a convolutional encoder makes). In evaluation mode nothing is
    dropped. The head reads the
    code centred and scaled by fixed statistics (buffers ``code_mean`` and
    ``code_scale``, see :meth:`standardize_code_`), so its learning rate
    means the same for any scale of code. :meth:`start_head_` sets its
    start: zero weights, or a linear model fitted to the codes (a linear
    probe), so that the first gradient
    steps do not push a pretrained encoder towards a random head (the
    distortion Kumar et al., 2022, measured).

    Examples
    --------
    >>> import torch
    >>> from skae.nn import MLPEncoder
    >>> from skae.nn._supervised import FineTuningModule
    >>> encoder = MLPEncoder(8, (16,), 4, activation="relu", code_activation="identity")
    >>> module = FineTuningModule(encoder, code_width=4, n_outputs=3)
    >>> x = torch.rand(5, 8)
    >>> module(x).shape
    torch.Size([5, 3])
    >>> module.start_head_(torch.tensor([0.0, 1.0, 2.0]))
    >>> module(x)[0]  # zero weights: every row gets the bias
    tensor([0., 1., 2.], grad_fn=<SelectBackward0>)

    With dropout, training-mode outputs vary and evaluation-mode ones do not:

    >>> _ = torch.manual_seed(0)
    >>> module = FineTuningModule(encoder, 4, 3, dropout=0.5, input_dropout=0.2)
    >>> bool(torch.equal(module(x), module(x)))
    False
    >>> _ = module.eval()
    >>> bool(torch.equal(module(x), module(x)))
    True
    """

    def __init__(
        self,
        encoder,
        code_width,
        n_outputs,
        freeze_encoder=False,
        dropout=0.0,
        input_dropout=0.0,
        seed=0,
    ):
        super().__init__()
        self.encoder = encoder
        self.code_width = int(code_width)
        self.n_outputs = int(n_outputs)
        self.freeze_encoder = bool(freeze_encoder)
        for name, p in (("dropout", dropout), ("input_dropout", input_dropout)):
            if not 0.0 <= float(p) < 1.0:
                raise ValueError(f"{name} must be in [0, 1); got {p!r}.")
        self.dropout = float(dropout)
        self.input_dropout = float(input_dropout)
        self.seed = int(seed)
        self._generator = None
        # The storage of the rows being encoded, so that the hooks can tell
        # the layers that read them (not hidden units) from the others.
        self._rows_pointer = None
        if self.dropout:
            for layer in self.encoder.modules():
                if isinstance(layer, _WEIGHT_LAYERS):
                    layer.register_forward_pre_hook(self._drop_hidden_units)
        self.head = nn.Linear(self.code_width, self.n_outputs)
        # The head sees the code standardised by fixed statistics (set by
        # standardize_code_; the identity until then).
        self.register_buffer("code_mean", torch.zeros(self.code_width))
        self.register_buffer("code_scale", torch.ones(self.code_width))
        if self.freeze_encoder:
            self.encoder.requires_grad_(False)

    @torch.no_grad()
    def start_head_(self, bias, weight=None):
        """Set the head's weights (zero by default) and its bias, in place.

        Parameters
        ----------
        bias : Tensor of shape (n_outputs,)
            The untrained module's output for every row: the log class
            priors of a classifier (a softmax then gives the priors), the
            mean targets of a regressor.
        weight : Tensor of shape (n_outputs, code_width) or None, default=None
            The weights on the standardised code, for example a linear
            model fitted to the codes of the training rows; None is zero.

        Examples
        --------
        >>> import torch
        >>> from skae.nn._supervised import FineTuningModule
        >>> module = FineTuningModule(torch.nn.Linear(3, 2), code_width=2, n_outputs=1)
        >>> module.start_head_(torch.tensor([5.0]))
        >>> module(torch.randn(4, 3)).detach().ravel()
        tensor([5., 5., 5., 5.])
        """
        if weight is None:
            self.head.weight.zero_()
        else:
            self.head.weight.copy_(torch.as_tensor(weight, dtype=self.head.weight.dtype))
        self.head.bias.copy_(torch.as_tensor(bias, dtype=self.head.bias.dtype))

    @torch.no_grad()
    def standardize_code_(self, codes):
        """Centre each code unit and scale them all by one factor, from ``codes``, in place.

        The head then reads ``(code - mean) / scale``, with ``mean`` the mean
        of each unit and ``scale`` the root mean square of the units'
        standard deviations, one number for all: the code has unit variance
        on average, and units keep their relative sizes. Scaling each unit
        to unit variance instead would magnify the units that hardly vary,
        mostly noise; on the digits with 50 labels and a 64-unit code that
        cost 0.06 of accuracy, and computed on the labelled rows alone 0.40.

        Parameters
        ----------
        codes : Tensor of shape (n, code_width)
            Codes (from :meth:`code`) of the rows that set the statistics,
            unlabelled rows included.

        Examples
        --------
        >>> import torch
        >>> from skae.nn._supervised import FineTuningModule
        >>> module = FineTuningModule(torch.nn.Identity(), code_width=2, n_outputs=1)
        >>> x = torch.tensor([[1.0, 5.0], [3.0, 5.0]])
        >>> module.standardize_code_(module.code(x))
        >>> module.standardized_code(x)  # scale: sqrt((1 + 0) / 2)
        tensor([[-1.4142,  0.0000],
                [ 1.4142,  0.0000]])
        """
        mean = codes.mean(dim=0)
        variance = codes.var(dim=0, correction=0) if len(codes) > 1 else torch.zeros_like(mean)
        scale = variance.mean().sqrt()
        if not torch.isfinite(scale) or scale <= 0:
            scale = torch.ones(())
        self.code_mean.copy_(mean)
        self.code_scale.fill_(float(scale))

    def standardized_code(self, x):
        """Return the head's input: the code of ``x``, centred and scaled.

        Parameters
        ----------
        x : Tensor of shape (n, n_features)
            Rows to encode.

        Returns
        -------
        code : Tensor of shape (n, code_width)
            ``(code(x) - code_mean) / code_scale``.

        Examples
        --------
        >>> import torch
        >>> from skae.nn._supervised import FineTuningModule
        >>> module = FineTuningModule(torch.nn.Linear(3, 2), code_width=2, n_outputs=1)
        >>> x = torch.randn(4, 3)
        >>> torch.equal(module.standardized_code(x), module.code(x))  # not standardised yet
        True
        """
        return (self.code(x) - self.code_mean) / self.code_scale

    def code(self, x):
        """Return the code of ``x``: the first ``code_width`` outputs of the encoder.

        Parameters
        ----------
        x : Tensor of shape (n, n_features)
            Rows to encode.

        Returns
        -------
        code : Tensor of shape (n, code_width)
            The input of the head.

        Examples
        --------
        >>> import torch
        >>> from skae.nn._supervised import FineTuningModule
        >>> encoder = torch.nn.Linear(3, 4)  # a VAE-like encoder: 2 means, 2 log-variances
        >>> module = FineTuningModule(encoder, code_width=2, n_outputs=1)
        >>> x = torch.randn(5, 3)
        >>> torch.equal(module.code(x), encoder(x)[:, :2])
        True
        """
        return self.encoder(x)[:, : self.code_width]

    def _drop(self, h, p):
        """Zero each element of ``h`` with probability ``p``, scale the rest by ``1 / (1 - p)``."""
        generator = self._generator
        if generator is None or generator.device != h.device:
            generator = torch.Generator(device=h.device).manual_seed(self.seed)
            self._generator = generator
        keep = torch.rand(h.shape, generator=generator, device=h.device, dtype=h.dtype) >= p
        return h * keep / (1.0 - p)

    def _drop_hidden_units(self, layer, args):
        """Forward pre-hook of the encoder's weight layers: dropout on their input."""
        h, *rest = args
        # Only inside forward, and not on the rows themselves.
        if not layer.training or self._rows_pointer in (None, h.data_ptr()):
            return None
        return (self._drop(h, self.dropout), *rest)

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_generator"] = None
        return state

    def forward(self, x):
        if self.training and self.input_dropout:
            x = self._drop(x, self.input_dropout)
        self._rows_pointer = x.data_ptr()
        try:
            if self.freeze_encoder:
                with torch.no_grad():
                    code = self.standardized_code(x)
            else:
                code = self.standardized_code(x)
        finally:
            self._rows_pointer = None
        if self.training and self.dropout:
            code = self._drop(code, self.dropout)
        return self.head(code)

    def train(self, mode=True):
        """Set the training mode; a frozen encoder stays in evaluation mode.

        Parameters
        ----------
        mode : bool, default=True
            Training (True) or evaluation (False) mode.

        Returns
        -------
        self : FineTuningModule
            The module.

        Examples
        --------
        >>> import torch
        >>> from skae.nn._supervised import FineTuningModule
        >>> module = FineTuningModule(torch.nn.Linear(3, 2), 2, 1, freeze_encoder=True)
        >>> module = module.train()
        >>> module.training, module.encoder.training, module.head.training
        (True, False, True)
        """
        super().train(mode)
        if self.freeze_encoder:
            self.encoder.eval()
        return self


class SupervisedLoss(nn.Module):
    """Per-row loss of a classifier's logits or a regressor's predictions.

    Parameters
    ----------
    loss : {"cross_entropy", "squared_error"}
        ``"cross_entropy"``: the softmax cross-entropy of integer class
        indices given logits (the log-loss of
        :class:`~sklearn.neural_network.MLPClassifier`).
        ``"squared_error"``: the squared error averaged over the targets of
        each row.

    Notes
    -----
    ``forward(output, target)`` takes the module's output ``(n, n_outputs)``
    and the targets (``(n,)`` class indices, or ``(n, n_outputs)`` values)
    and returns one loss per row, shape ``(n,)``.

    Examples
    --------
    >>> import torch
    >>> from skae.nn._supervised import SupervisedLoss
    >>> logits = torch.zeros(2, 4)
    >>> SupervisedLoss("cross_entropy")(logits, torch.tensor([0, 3]))  # log(4)
    tensor([1.3863, 1.3863])
    >>> SupervisedLoss("squared_error")(torch.zeros(2, 2), torch.tensor([[1.0, 3.0], [2.0, 0.0]]))
    tensor([5., 2.])
    """

    def __init__(self, loss="cross_entropy"):
        super().__init__()
        if loss not in ("cross_entropy", "squared_error"):
            raise ValueError(f"Unknown loss {loss!r}; expected 'cross_entropy' or 'squared_error'.")
        self.loss = loss

    def forward(self, output, target):
        if self.loss == "cross_entropy":
            return F.cross_entropy(output, target, reduction="none")
        return (output - target).pow(2).flatten(1).mean(dim=1)


def _unit_rows(d):
    """Each row of ``d`` scaled to unit Euclidean norm (a zero row stays zero)."""
    norms = d.flatten(1).norm(dim=1).clamp_min(torch.finfo(d.dtype).tiny)
    return d / norms.reshape(-1, *([1] * (d.ndim - 1)))


def _divergence(output, target, kind):
    """Mean over rows of the divergence of ``output`` from the fixed ``target``."""
    if kind == "kl":
        moved = F.log_softmax(output, dim=1)
        return F.kl_div(moved, target, log_target=True, reduction="batchmean")
    return (output - target).pow(2).flatten(1).mean(dim=1).mean()


def virtual_adversarial_loss(
    module, x, radius, generator, divergence="kl", n_power_iterations=1, target_module=None
):
    """Virtual adversarial loss: how much a small move of each row can change the output.

    For each row ``x_i``, the direction ``r_i`` of Euclidean length
    ``radius`` that changes the module's output the most, found by power
    iteration on the curvature of the divergence at ``x_i`` (Miyato et al.,
    2018), and the divergence that move causes, averaged over the rows: for
    a classifier ``KL(p(x_i) || p(x_i + r_i))`` between the predicted class
    probabilities, for a regressor the squared change of the outputs
    (averaged over the outputs). The output at ``x_i`` is a fixed target
    (no gradient flows through it); minimising the loss makes the module
    smooth around every row it is given. The rows need no labels.

    Parameters
    ----------
    module : torch.nn.Module
        Maps ``(n, n_features)`` rows to ``(n, n_outputs)`` logits or
        predictions, in the mode it is in (dropout included).
    x : Tensor of shape (n, n_features)
        Rows, on the module's device.
    radius : float
        Euclidean length of each row's move, in the units of ``x``.
    generator : torch.Generator
        Draws the random start of the power iteration, on ``x``'s device.
    divergence : {"kl", "squared_error"}, default="kl"
        ``"kl"``: the outputs are logits, compared as softmax probabilities.
        ``"squared_error"``: the outputs are compared as they are.
    n_power_iterations : int, default=1
        Steps of power iteration (one was enough in Miyato et al.).
    target_module : torch.nn.Module or None, default=None
        Gives the fixed output at ``x_i`` in place of ``module``: for
        example an average of ``module``'s past weights (the "mean
        teacher" of Tarvainen and Valpola, 2017), so that the loss also
        pulls ``module`` towards that average's outputs. None uses
        ``module`` itself.

    Returns
    -------
    loss : Tensor of shape ()
        The mean divergence, differentiable in the module's parameters.

    Notes
    -----
    Each power step measures the gradient of the divergence at ``x + xi d``
    with ``xi = radius / 32``, small enough for the quadratic approximation
    and large enough for float32. The cost is ``n_power_iterations + 2``
    forward passes and ``n_power_iterations + 1`` backward passes.

    References
    ----------
    Miyato, T., Maeda, S., Koyama, M. and Ishii, S. (2018). Virtual
    adversarial training: a regularization method for supervised and
    semi-supervised learning. IEEE TPAMI, 41(8).

    Tarvainen, A. and Valpola, H. (2017). Mean teachers are better role
    models: weight-averaged consistency targets improve semi-supervised deep
    learning results. NeurIPS 30.

    Examples
    --------
    >>> import torch
    >>> from skae.nn._supervised import virtual_adversarial_loss
    >>> _ = torch.manual_seed(0)
    >>> flat = torch.nn.Linear(4, 3)
    >>> with torch.no_grad():
    ...     _ = flat.weight.zero_()  # the same output everywhere: nothing to smooth
    >>> x = torch.randn(5, 4)
    >>> float(virtual_adversarial_loss(flat, x, 1.0, torch.Generator().manual_seed(0)))
    0.0
    >>> steep = torch.nn.Linear(4, 3)
    >>> float(virtual_adversarial_loss(steep, x, 1.0, torch.Generator().manual_seed(0))) > 0
    True
    """
    if divergence not in ("kl", "squared_error"):
        raise ValueError(f"Unknown divergence {divergence!r}; expected 'kl' or 'squared_error'.")
    with torch.no_grad():
        target = (module if target_module is None else target_module)(x)
        if divergence == "kl":
            target = F.log_softmax(target, dim=1)
    step = radius / 32.0
    d = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    for _ in range(n_power_iterations):
        d = (step * _unit_rows(d)).requires_grad_()
        change = _divergence(module(x + d), target, divergence)
        (d,) = torch.autograd.grad(change, d)
    return _divergence(module(x + radius * _unit_rows(d)), target, divergence)


def _relu_layers(encoder):
    """``(linear, relu, next_linear)`` for each ``nn.Linear`` followed by an ``nn.ReLU``.

    Found inside every ``nn.Sequential`` of ``encoder`` (an
    :class:`~skae.nn.MLPEncoder` is one); ``next_linear`` is the next
    ``nn.Linear`` of the same sequence that reads the units, or None.
    """
    layers = []
    for sequence in encoder.modules():
        if not isinstance(sequence, nn.Sequential):
            continue
        children = list(sequence)
        for i, (layer, activation) in enumerate(zip(children[:-1], children[1:], strict=True)):
            if isinstance(layer, nn.Linear) and isinstance(activation, nn.ReLU):
                readers = [c for c in children[i + 2 :] if isinstance(c, nn.Linear)]
                reader = readers[0] if readers else None
                if reader is not None and reader.in_features != layer.out_features:
                    reader = None
                layers.append((layer, activation, reader))
    return layers


@torch.no_grad()
def reinit_dead_units_(encoder, batches, generator, redraw=True):
    """Draw again, in place, the ReLU units of ``encoder`` that no row activates.

    A ReLU unit that is zero on every row has zero gradient on every row:
    fine-tuning can never use it. Each such unit of a ``nn.Linear`` followed
    by an ``nn.ReLU`` (in any ``nn.Sequential`` of the encoder, as in an
    :class:`~skae.nn.MLPEncoder`) gets new incoming weights and bias, drawn
    as :func:`~skae.nn.init_parameters_` draws a fresh layer's, and the next
    linear layer's weights on it are set to zero, so that the encoder's
    later layers compute what they did before while the unit starts to
    learn (ReDo, Sokar et al., 2023). The units of the last such layer
    (a ReLU code) have no reader inside the encoder: their new values
    reach the head, whose start is fitted afterwards.

    Parameters
    ----------
    encoder : torch.nn.Module
        The encoder, changed in place; its training mode is kept.
    batches : iterable of Tensor
        The rows that decide which units are dead, in batches on the
        encoder's device.
    generator : torch.Generator
        CPU generator of the new weights.
    redraw : bool, default=True
        If False, only count the dead units.

    Returns
    -------
    counts : list of int
        The number of dead units of each ReLU layer (drawn again if
        ``redraw``), in the order the encoder's modules list them
        (outermost first for an MLP).

    Examples
    --------
    >>> import torch
    >>> from skae.nn import MLPEncoder, init_parameters_
    >>> from skae.nn._supervised import reinit_dead_units_
    >>> encoder = MLPEncoder(3, (4,), 2, activation="relu", code_activation="identity")
    >>> encoder = init_parameters_(encoder, torch.Generator().manual_seed(0))
    >>> with torch.no_grad():  # rows in [0, 1] activate every unit but unit 1
    ...     _ = encoder[0].weight.abs_(), encoder[0].bias.fill_(0.1)
    ...     encoder[0].bias[1] = -100.0
    >>> x = torch.rand(50, 3)
    >>> before = encoder(x)
    >>> reinit_dead_units_(encoder, [x], torch.Generator().manual_seed(0))
    [1]
    >>> bool(encoder[2].weight[:, 1].eq(0).all()), torch.allclose(encoder(x), before)
    (True, True)
    """
    layers = _relu_layers(encoder)
    if not layers:
        return []
    alive = [torch.zeros(layer.out_features, dtype=torch.bool) for layer, _, _ in layers]

    def recorder(index):
        def record(module, inputs, output):
            positive = (output > 0).reshape(-1, output.shape[-1]).any(dim=0)
            alive[index] |= positive.cpu()

        return record

    hooks = [
        activation.register_forward_hook(recorder(i)) for i, (_, activation, _) in enumerate(layers)
    ]
    was_training = encoder.training
    encoder.eval()
    try:
        for batch in batches:
            encoder(batch)
    finally:
        for hook in hooks:
            hook.remove()
        encoder.train(was_training)
    counts = []
    for (layer, _, reader), live in zip(layers, alive, strict=True):
        dead = ~live
        counts.append(int(dead.sum()))
        if not redraw or not dead.any():
            continue
        fresh = init_parameters_(nn.Linear(layer.in_features, layer.out_features), generator)
        device = layer.weight.device
        dead_rows = dead.to(device)
        layer.weight[dead_rows] = fresh.weight[dead].to(layer.weight)
        if layer.bias is not None:
            layer.bias[dead_rows] = fresh.bias[dead].to(layer.bias)
        if reader is not None:
            reader.weight[:, dead_rows] = 0.0
    return counts
