"""The denoising autoencoder: reconstruct clean rows from corrupted ones."""

from numbers import Real

import numpy as np
import scipy.sparse as sp
import torch

from ._base import BaseAutoencoder
from ._docs import fill_doc
from ._regularizer import Corruption
from ._sklearn_internals import Interval, StrOptions
from .nn import GaussianNoise, MaskingNoise, SaltAndPepperNoise

__all__ = ["NoiseCorruption", "DenoisingAutoencoder"]

_NOISES = ("masking", "gaussian", "salt_and_pepper")


def _column_range(X):
    """Per-feature minimum and maximum of an array, tensor or sparse matrix, on the CPU."""
    if sp.issparse(X):
        low = np.asarray(X.min(axis=0).toarray()).ravel()
        high = np.asarray(X.max(axis=0).toarray()).ravel()
    elif isinstance(X, torch.Tensor):
        return X.amin(dim=0).cpu(), X.amax(dim=0).cpu()
    else:
        low, high = np.min(X, axis=0), np.max(X, axis=0)
    return torch.as_tensor(low, dtype=torch.float32), torch.as_tensor(high, dtype=torch.float32)


class NoiseCorruption(Corruption):
    """Corrupt each training value independently: masking, gaussian or salt-and-pepper noise.

    Pass it as a regularizer to any estimator, for example
    ``Autoencoder(regularizers=[("noise", NoiseCorruption("gaussian", 0.1))])``;
    :class:`DenoisingAutoencoder` is the autoencoder with one built in. Its
    parameters are grid-searchable as ``<name>__kind`` and ``<name>__level``.

    Parameters
    ----------
    kind : {"masking", "gaussian", "salt_and_pepper"}, default="masking"
        ``"masking"`` sets each value to zero with probability ``level``;
        ``"gaussian"`` adds normal noise of standard deviation ``level``;
        ``"salt_and_pepper"`` sets each value, with probability ``level``, to
        its feature's minimum or maximum over the training rows (each with
        probability one half).
    level : float, default=0.25
        A probability in [0, 1] for ``"masking"`` and ``"salt_and_pepper"``,
        a standard deviation in the units of the data for ``"gaussian"``.

    See Also
    --------
    skae.nn.MaskingNoise, skae.nn.GaussianNoise, skae.nn.SaltAndPepperNoise :
        The torch modules it builds.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import Autoencoder, NoiseCorruption
    >>> X = load_digits().data / 16
    >>> ae = Autoencoder(n_components=8, regularizers=[("noise", NoiseCorruption(level=0.3))],
    ...                  max_iter=5, random_state=0).fit(X)
    >>> ae.get_params()["noise__level"]
    0.3
    """

    _parameter_constraints = {
        "kind": [StrOptions(set(_NOISES))],
        "level": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(self, kind="masking", level=0.25):
        self.kind = kind
        self.level = level

    def build(self, X, seed):
        """Build the corruption module (see :meth:`skae.Corruption.build`).

        Parameters
        ----------
        X : ndarray, Tensor or scipy.sparse matrix of shape (n_samples, n_features)
            The rows passed to ``fit``; salt-and-pepper noise takes each
            feature's range from them.
        seed : int
            Seed of the module's private generator.

        Returns
        -------
        module : torch.nn.Module
            A :class:`skae.nn.MaskingNoise`, :class:`skae.nn.GaussianNoise`
            or :class:`skae.nn.SaltAndPepperNoise`.

        Examples
        --------
        >>> import torch
        >>> from skae import NoiseCorruption
        >>> noise = NoiseCorruption("masking", 0.5).build(torch.ones(4, 3), seed=0)
        >>> noise
        MaskingNoise(fraction=0.5, seed=0)
        """
        if self.kind == "gaussian":
            return GaussianNoise(self.level, seed)
        if self.level > 1:
            raise ValueError(
                f"The noise level (level, or DenoisingAutoencoder's noise_level) is the "
                f"fraction of values corrupted by {self.kind!r} noise and must be at most 1, "
                f"got {self.level}."
            )
        if self.kind == "masking":
            return MaskingNoise(self.level, seed)
        low, high = _column_range(X)
        return SaltAndPepperNoise(self.level, low, high, seed)


_NOISE_DOC = """\
    noise : {"masking", "gaussian", "salt_and_pepper"}, default="masking"
        The corruption (see :class:`NoiseCorruption`). ``"masking"`` sets each
        value to zero with probability ``noise_level``; ``"gaussian"`` adds
        normal noise of standard deviation ``noise_level``;
        ``"salt_and_pepper"`` sets each value, with probability
        ``noise_level``, to its feature's minimum or maximum over the
        training rows (each with probability one half)."""

_NOISE_LEVEL_DOC = """\
    noise_level : float, default=0.25
        Strength of the corruption: a probability in [0, 1] for
        ``"masking"`` and ``"salt_and_pepper"``, a standard deviation in the
        units of the data for ``"gaussian"``. The default masks a quarter of
        the values, as in Vincent et al. (2010); the user guide's
        "DenoisingAutoencoder" section gives what it does on the digits."""


@fill_doc(noise=_NOISE_DOC, noise_level=_NOISE_LEVEL_DOC)
class DenoisingAutoencoder(BaseAutoencoder):
    """Denoising autoencoder: learns to undo corruption of its input.

    During training each mini-batch is corrupted before it reaches the
    encoder, and the loss compares the reconstruction with the clean rows
    (Vincent et al., 2008, 2010). The network cannot simply copy its input,
    so even an overcomplete code (``n_components`` above the number of
    features) learns the structure of the data, and ``inverse_transform(
    transform(X_noisy))`` returns cleaned rows. ``transform`` never corrupts:
    the noise acts in training mode only. It is the plain
    :class:`Autoencoder` with a :class:`NoiseCorruption` built in; further
    ``regularizers`` combine with it (a sparse or contractive denoising
    autoencoder).

    Parameters
    ----------
    {parameters}

    Attributes
    ----------
    {attributes}

    See Also
    --------
    Autoencoder : The same network trained on clean rows.
    NoiseCorruption : The corruption, for any estimator's ``regularizers``.

    Notes
    -----
    The corruption draws from a private generator seeded from
    ``random_state``, so fits are reproducible. Gaussian noise is in the
    units of the data: scale the data first (for example with
    :class:`~sklearn.preprocessing.MinMaxScaler`) to give ``noise_level`` a
    meaning that does not depend on the feature.

    References
    ----------
    Vincent, P., Larochelle, H., Bengio, Y. and Manzagol, P.-A. (2008).
    Extracting and composing robust features with denoising autoencoders.
    ICML.

    Vincent, P., Larochelle, H., Lajoie, I., Bengio, Y. and Manzagol, P.-A.
    (2010). Stacked denoising autoencoders. JMLR, 11, 3371-3408.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import DenoisingAutoencoder
    >>> X = load_digits().data / 16
    >>> dae = DenoisingAutoencoder(n_components=10, noise_level=0.3, max_iter=10,
    ...                            random_state=0).fit(X)
    >>> dae.transform(X).shape
    (1797, 10)
    >>> dae.get_feature_names_out()[:2]
    array(['denoisingautoencoder0', 'denoisingautoencoder1'], dtype=object)
    """

    _parameter_constraints = {
        **BaseAutoencoder._parameter_constraints,
        "noise": [StrOptions(set(_NOISES))],
        "noise_level": [Interval(Real, 0, None, closed="left")],
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
        noise="masking",
        noise_level=0.25,
    ):
        self._store_parameters(locals())

    def _family_regularizers(self):
        return [("noise", NoiseCorruption(self.noise, self.noise_level))]
