"""The plain autoencoder."""

from ._base import BaseAutoencoder
from ._docs import fill_doc

__all__ = ["Autoencoder"]


@fill_doc()
class Autoencoder(BaseAutoencoder):
    """Autoencoder: a non-linear, learned replacement for PCA.

    An MLP encoder maps each row to ``n_components`` features and a mirrored
    decoder maps them back; both are trained to reconstruct the input. Use it
    where :class:`~sklearn.decomposition.PCA` stands: ``transform`` gives the
    codes, ``inverse_transform`` the reconstructions. It starts from PCA's
    solution (``init="auto"``) and keeps a non-linear correction only where it
    reconstructs held-out rows better. With ``hidden_layer_sizes=()`` and
    linear activations it learns the same subspace as PCA (Baldi & Hornik,
    1989); with hidden layers it can follow curved structure that PCA
    cannot. Corruptions and penalties (``regularizers``) turn it into a
    denoising, sparse or contractive autoencoder, or any mix of them.

    Parameters
    ----------
    {parameters}

    Attributes
    ----------
    {attributes}

    See Also
    --------
    sklearn.decomposition.PCA : Linear dimensionality reduction.
    DenoisingAutoencoder : Learns to undo corruption of its input.

    Notes
    -----
    The output of ``transform`` and ``inverse_transform`` is float32 for any
    input dtype: the network computes in float32.

    References
    ----------
    Hinton, G. E. and Salakhutdinov, R. R. (2006). Reducing the
    dimensionality of data with neural networks. Science, 313(5786).

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import Autoencoder
    >>> X = load_digits().data / 16
    >>> ae = Autoencoder(n_components=10, max_iter=20, random_state=0).fit(X)
    >>> ae.transform(X).shape
    (1797, 10)
    >>> ae.inverse_transform(ae.transform(X[:2])).shape
    (2, 64)
    """

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
    ):
        self._store_parameters(locals())
