"""Deterministic parameter initialisation from a private ``torch.Generator``."""

import math

import torch
from torch import nn

__all__ = ["ACTIVATIONS", "Logistic", "make_activation", "init_parameters_"]


class Logistic(nn.Sigmoid):
    """The logistic function, the same for an element wherever it sits in the tensor.

    torch's float32 ``sigmoid`` takes a vectorised path for most elements and
    a scalar one for the tail of a tensor, and the two differ in the last
    bit, so a row's code depended on its position in the batch
    (scikit-learn's ``check_methods_sample_order_invariance`` caught it).
    Computed in float64 and rounded back to float32, it is the same for a
    row wherever the row sits. Other dtypes pass through ``torch.sigmoid``.

    Examples
    --------
    >>> import torch
    >>> from skae.nn import Logistic
    >>> x = torch.randn(1000, 3, generator=torch.Generator().manual_seed(0))
    >>> order = torch.randperm(1000, generator=torch.Generator().manual_seed(1))
    >>> torch.equal(Logistic()(x)[order], Logistic()(x[order].contiguous()))
    True
    """

    def __init__(self):
        super().__init__()

    def forward(self, x):
        if x.dtype == torch.float32:
            return torch.sigmoid(x.double()).to(torch.float32)
        return torch.sigmoid(x)


#: Activation module classes by name, as in scikit-learn's MLP estimators.
#:
#: A dict from ``"identity"``, ``"relu"``, ``"tanh"`` and ``"logistic"`` (the
#: values of scikit-learn's ``activation``) to the ``torch.nn`` class of that
#: elementwise function: ``nn.Identity``, ``nn.ReLU``, ``nn.Tanh`` and
#: :class:`Logistic` (a ``nn.Sigmoid``). :func:`make_activation` builds a
#: fresh instance from a name.
ACTIVATIONS = {
    "identity": nn.Identity,
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "logistic": Logistic,
}


def make_activation(name):
    """Return a new activation module by its name.

    Parameters
    ----------
    name : {"identity", "relu", "tanh", "logistic"}
        A key of :data:`ACTIVATIONS`, spelt as scikit-learn's ``activation``.

    Returns
    -------
    module : torch.nn.Module
        A fresh instance of ``ACTIVATIONS[name]``; it has no parameters and
        maps a tensor to one of the same shape.

    Raises
    ------
    ValueError
        If ``name`` is not a key of ``ACTIVATIONS``.

    Examples
    --------
    >>> import torch
    >>> from skae.nn import make_activation
    >>> make_activation("logistic")
    Logistic()
    >>> make_activation("relu")(torch.tensor([-1.0, 2.0]))
    tensor([0., 2.])
    """
    try:
        return ACTIVATIONS[name]()
    except KeyError:
        raise ValueError(
            f"Unknown activation {name!r}; expected one of {sorted(ACTIVATIONS)}."
        ) from None


_WEIGHTED = (nn.Linear, nn.modules.conv._ConvNd)
_NORMS = (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm)


def init_parameters_(module, generator):
    """Initialise every parameter of ``module`` in place from ``generator``.

    Linear and convolutional layers get PyTorch's default scheme (Kaiming
    uniform weights, uniform biases bounded by ``1 / sqrt(fan_in)``) drawn
    from ``generator`` rather than from the global random state, so two
    modules initialised from equally seeded generators are identical.
    Normalisation layers get ones and zeros. A submodule may initialise its own
    extra parameters by defining ``reset_parameters_from(generator)``.

    Parameters
    ----------
    module : torch.nn.Module
        The module to initialise.
    generator : torch.Generator
        A CPU generator; ``module`` must be on the CPU.

    Returns
    -------
    module : torch.nn.Module
        The same module.

    Raises
    ------
    TypeError
        If a parameter is covered by none of the rules above, which would
        silently make fits depend on the global random state.

    Examples
    --------
    >>> import torch
    >>> from skae.nn import MLPEncoder, init_parameters_
    >>> a = MLPEncoder(4, (8,), 2, activation="relu", code_activation="identity")
    >>> b = MLPEncoder(4, (8,), 2, activation="relu", code_activation="identity")
    >>> _ = init_parameters_(a, torch.Generator().manual_seed(0))
    >>> _ = init_parameters_(b, torch.Generator().manual_seed(0))
    >>> all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    True
    >>> bool(a[0].bias.abs().max() <= 1 / 4**0.5)  # bounded by 1 / sqrt(fan_in)
    True
    """
    covered = set()
    with torch.no_grad():
        for sub in module.modules():
            if isinstance(sub, _WEIGHTED):
                nn.init.kaiming_uniform_(sub.weight, a=math.sqrt(5), generator=generator)
                covered.add(id(sub.weight))
                if sub.bias is not None:
                    fan_in, _ = nn.init._calculate_fan_in_and_fan_out(sub.weight)
                    bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
                    nn.init.uniform_(sub.bias, -bound, bound, generator=generator)
                    covered.add(id(sub.bias))
            elif isinstance(sub, _NORMS):
                for name, value in (("weight", 1.0), ("bias", 0.0)):
                    param = getattr(sub, name, None)
                    if isinstance(param, nn.Parameter):
                        param.fill_(value)
                        covered.add(id(param))
            if hasattr(sub, "reset_parameters_from"):
                for param in sub.reset_parameters_from(generator):
                    covered.add(id(param))
    missing = [name for name, p in module.named_parameters() if id(p) not in covered]
    if missing:
        raise TypeError(
            f"init_parameters_ does not know how to initialise {missing}; give "
            "the owning module a reset_parameters_from(generator) method that "
            "initialises them and returns them."
        )
    return module
