"""Input corruption modules for denoising autoencoders.

Each module changes its input only in training mode (``module.training``),
like ``torch.nn.Dropout``; in evaluation mode it returns the input itself.
The noise comes from a private ``torch.Generator`` seeded with ``seed``,
created lazily on the device of the first input it sees (and again if the
input moves to another device), never from torch's global random state.
The generator is dropped when the module is pickled or deep-copied, so a
module trained on a GPU loads on a machine without one; a restored module
draws its noise again from ``seed``.
"""

import torch
from torch import nn

__all__ = ["GaussianNoise", "MaskingNoise", "SaltAndPepperNoise"]


class _Corruption(nn.Module):
    """Shared machinery: training-mode switch and the private generator."""

    def __init__(self, seed):
        super().__init__()
        self.seed = int(seed)
        self._generator = None

    def _generator_for(self, x):
        generator = self._generator
        if generator is None or generator.device != x.device:
            generator = torch.Generator(device=x.device).manual_seed(self.seed)
            self._generator = generator
        return generator

    def _uniform(self, x):
        return torch.rand(x.shape, generator=self._generator_for(x), device=x.device, dtype=x.dtype)

    def forward(self, x):
        if not self.training:
            return x
        return self._corrupt(x)

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_generator"] = None
        return state


def _check_fraction(fraction):
    fraction = float(fraction)
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction must be in [0, 1], got {fraction}.")
    return fraction


class GaussianNoise(_Corruption):
    """Add independent gaussian noise to every input value in training mode.

    Parameters
    ----------
    std : float
        Standard deviation of the noise, in the units of the data.
    seed : int
        Seed of the private generator.

    Notes
    -----
    Input and output have the same shape ``(n, ...)``:
    ``x + std * eps`` with ``eps`` standard normal.

    Examples
    --------
    >>> import torch
    >>> from skae.nn import GaussianNoise
    >>> noise = GaussianNoise(0.5, seed=0)
    >>> x = torch.zeros(1000, 10)
    >>> round(noise(x).std().item(), 1)
    0.5
    >>> noise.eval()(x).abs().max().item()
    0.0
    """

    def __init__(self, std, seed):
        super().__init__(seed)
        if std < 0:
            raise ValueError(f"std must be non-negative, got {std}.")
        self.std = float(std)

    def _corrupt(self, x):
        noise = torch.randn(
            x.shape, generator=self._generator_for(x), device=x.device, dtype=x.dtype
        )
        return x + self.std * noise

    def extra_repr(self):
        return f"std={self.std}, seed={self.seed}"


class MaskingNoise(_Corruption):
    """Set each input value to zero with probability ``fraction`` in training mode.

    Parameters
    ----------
    fraction : float
        Probability, in [0, 1], that a value is zeroed; each value is drawn
        independently, so on average ``fraction`` of them are.
    seed : int
        Seed of the private generator.

    Notes
    -----
    Input and output have the same shape ``(n, ...)``. Unlike
    ``torch.nn.Dropout`` the kept values are not rescaled: the network must
    learn to fill in what is missing (Vincent et al., 2010).

    Examples
    --------
    >>> import torch
    >>> from skae.nn import MaskingNoise
    >>> noise = MaskingNoise(0.25, seed=0)
    >>> x = torch.ones(1000, 10)
    >>> share = (noise(x) == 0).float().mean().item()  # about a quarter
    >>> bool(abs(share - 0.25) < 0.02)
    True
    """

    def __init__(self, fraction, seed):
        super().__init__(seed)
        self.fraction = _check_fraction(fraction)

    def _corrupt(self, x):
        keep = self._uniform(x) >= self.fraction
        return x * keep

    def extra_repr(self):
        return f"fraction={self.fraction}, seed={self.seed}"


class SaltAndPepperNoise(_Corruption):
    """Set a fraction of the values to their feature's minimum or maximum.

    In training mode each value is, with probability ``fraction``, replaced
    by ``low`` or ``high`` of its feature (each with probability one half),
    and otherwise kept.

    Parameters
    ----------
    fraction : float
        Probability, in [0, 1], that a value is replaced.
    low, high : Tensor of shape (n_features,) or broadcastable to a row
        The "pepper" and "salt" values of each feature, typically its
        minimum and maximum over the training data. Kept as buffers, so they
        follow the module to its device.
    seed : int
        Seed of the private generator.

    Notes
    -----
    Input and output have the same shape ``(n, ...)``.

    Examples
    --------
    >>> import torch
    >>> from skae.nn import SaltAndPepperNoise
    >>> noise = SaltAndPepperNoise(0.5, low=torch.zeros(4), high=torch.ones(4), seed=0)
    >>> x = torch.full((1000, 4), 0.5)
    >>> out = noise(x)
    >>> low, high = (out == 0).float().mean().item(), (out == 1).float().mean().item()
    >>> bool(abs(low - 0.25) < 0.02 and abs(high - 0.25) < 0.02)
    True
    """

    def __init__(self, fraction, low, high, seed):
        super().__init__(seed)
        self.fraction = _check_fraction(fraction)
        self.register_buffer("low", torch.as_tensor(low, dtype=torch.float32).clone())
        self.register_buffer("high", torch.as_tensor(high, dtype=torch.float32).clone())

    def _corrupt(self, x):
        u = self._uniform(x)
        # One uniform draw decides both whether and how a value is replaced:
        # u < fraction / 2 -> low, fraction / 2 <= u < fraction -> high.
        half = self.fraction / 2
        low = self.low.to(x.dtype).expand_as(x)
        high = self.high.to(x.dtype).expand_as(x)
        return torch.where(u < half, low, torch.where(u < self.fraction, high, x))

    def extra_repr(self):
        return f"fraction={self.fraction}, seed={self.seed}"
