"""An ordered code, so that one fit serves every code size, as PCA's components do."""

from numbers import Real

from ._regularizer import Corruption
from ._sklearn_internals import Interval, StrOptions
from .nn import NestedDropout

__all__ = ["OrderedCode"]


class OrderedCode(Corruption):
    """Order the code units by nested dropout (Rippel, Gelbart and Adams, 2014).

    In training, each row's code is cut at a random length and the units
    after it are set to zero before decoding, so the first units must
    reconstruct on their own: the first ``j`` units become the best
    ``j``-unit code, the way PCA's first ``j`` components are. For a linear
    autoencoder this recovers the principal directions in order. Pass it
    as a regularizer, ``Autoencoder(regularizers=[("order", OrderedCode())])``;
    the fitted estimator then has ``explained_variance_ratio_``, and
    ``n_components`` may be a share of variance to reach (see "From PCA to
    skae" in the user guide).

    Parameters
    ----------
    p : float or "auto", default="auto"
        Parameter of the geometric distribution of the cut (its mean is
        about ``1 / p``). ``"auto"`` is ``1 / n_components``, which reaches
        every unit of the code with a mean cut in its middle (see the user
        guide for what it cost and gave).

    See Also
    --------
    skae.nn.NestedDropout : The torch module.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import Autoencoder, OrderedCode
    >>> X = load_digits().data / 16
    >>> ae = Autoencoder(n_components=8, regularizers=[("order", OrderedCode())],
    ...                  max_iter=10, random_state=0).fit(X)
    >>> ratios = ae.explained_variance_ratio_
    >>> ratios.shape, bool(ratios[0] > ratios[-1])
    ((8,), True)
    """

    acts_on = "code"
    orders_code = True

    _parameter_constraints = {
        "p": [Interval(Real, 0, 1, closed="neither"), StrOptions({"auto"})],
    }

    def __init__(self, p="auto"):
        self.p = p

    def build(self, X, seed):
        """Build the nested-dropout module (see :meth:`skae.Corruption.build`).

        Parameters
        ----------
        X : ndarray, Tensor or scipy.sparse matrix
            The rows passed to ``fit`` (unused).
        seed : int
            Seed of the module's private generator.

        Returns
        -------
        module : skae.nn.NestedDropout
            Cuts codes in training mode.

        Examples
        --------
        >>> from skae import OrderedCode
        >>> OrderedCode(p=0.2).build(None, seed=0)
        NestedDropout(p=0.2)
        >>> OrderedCode().build(None, seed=0)  # 1 / the code's width
        NestedDropout(p='auto')
        """
        return NestedDropout(None if self.p == "auto" else self.p, seed)
