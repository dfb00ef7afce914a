"""PCA of the training rows, for starting a network at it and for comparing with it.

scikit-learn's :class:`~sklearn.decomposition.PCA` would densify sparse rows
whole and picks its solver by the shape of the data, so sparse and dense
copies of the same rows would start from slightly different solutions. Here
the mean and the covariance are accumulated in float64 over batches of rows
(sparse ones densified one batch at a time, as training does) and the axes
come from the covariance's eigendecomposition: the arithmetic of
``PCA(svd_solver="covariance_eigh")``, identical for sparse and dense input,
in memory bounded by the batch and the ``n_features x n_features``
covariance.
"""

import numpy as np
import scipy.sparse as sp

__all__ = ["MAX_FEATURES", "PrincipalAxes", "row_batches"]

# Above this many features the covariance (8 * n_features**2 bytes, 128 MiB
# here) is too large to be worth it, and init="auto" starts at random.
MAX_FEATURES = 4096

# Rows per batch: about 2**22 values (32 MiB in float64).
_BATCH_VALUES = 1 << 22


class PrincipalAxes:
    """The leading principal axes of some rows, as PCA finds them.

    Parameters
    ----------
    n_components : int or None
        How many axes to keep; at most the number of rows and of features
        (None: as many as that).

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,)
        Mean of the rows.
    components_ : ndarray of shape (n_axes, n_features)
        Orthonormal axes by decreasing variance, each with its largest
        coordinate positive (scikit-learn's sign convention).
    explained_variance_ : ndarray of shape (n_axes,)
        Variance of the rows along each axis (with ``n - 1`` degrees of
        freedom, as PCA's).
    total_variance_ : float
        Sum of the variances of all the features.
    """

    def __init__(self, n_components):
        self.n_components = n_components

    def fit(self, X):
        """Find the axes of ``X`` (a dense array or sparse matrix with 2 or more rows)."""
        n, d = X.shape
        total = np.zeros(d)
        gram = np.zeros((d, d))
        for rows in row_batches(X):
            total += rows.sum(axis=0)
            gram += rows.T @ rows
        self.mean_ = total / n
        covariance = (gram - n * np.outer(self.mean_, self.mean_)) / (n - 1)
        values, vectors = np.linalg.eigh(covariance)
        self.total_variance_ = float(np.trace(covariance))
        k = min(self.n_components or d, n, d)
        order = np.argsort(values)[::-1][:k]
        components = vectors[:, order].T
        signs = np.sign(components[np.arange(k), np.argmax(np.abs(components), axis=1)])
        self.components_ = components * np.where(signs == 0, 1.0, signs)[:, None]
        self.explained_variance_ = np.maximum(values[order], 0.0)
        return self

    def truncated(self, n_components):
        """The same axes, cut to the first ``n_components``."""
        out = PrincipalAxes(n_components)
        out.mean_ = self.mean_
        out.components_ = self.components_[:n_components]
        out.explained_variance_ = self.explained_variance_[:n_components]
        out.total_variance_ = self.total_variance_
        return out

    def reconstruction_mse(self, X):
        """Mean squared error per value of PCA's reconstruction of ``X``."""
        total = 0.0
        for rows in row_batches(X):
            centred = rows - self.mean_
            residual = centred - centred @ self.components_.T @ self.components_
            total += float(np.sum(residual**2))
        return total / (X.shape[0] * X.shape[1])


def row_batches(X):
    """Dense float64 batches of the rows of ``X``."""
    step = max(1, _BATCH_VALUES // X.shape[1])
    for start in range(0, X.shape[0], step):
        rows = X[start : start + step]
        yield (rows.toarray() if sp.issparse(rows) else rows).astype(np.float64)
