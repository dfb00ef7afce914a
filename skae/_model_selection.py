"""Cross-validation for semi-supervised labels: the unlabelled rows in every training set."""

import numpy as np
from sklearn.model_selection import BaseCrossValidator, StratifiedKFold
from sklearn.utils import indexable
from sklearn.utils.validation import column_or_1d

from ._supervised import labelled_mask

__all__ = ["SemiSupervisedStratifiedKFold"]


class SemiSupervisedStratifiedKFold(BaseCrossValidator):
    """Stratified K-fold over the labelled rows, every unlabelled row in every training set.

    For labels in scikit-learn's semi-supervised convention, where ``-1``
    marks a row without a label (as for
    :class:`~sklearn.semi_supervised.SelfTrainingClassifier`,
    :class:`~sklearn.semi_supervised.LabelSpreading` and
    :class:`skae.AutoencoderClassifier`). The labelled rows are split as
    :class:`~sklearn.model_selection.StratifiedKFold` splits them; each
    test set is one fold of them, and its training set is every other row,
    so every unlabelled row trains every candidate and no score is taken on
    a row without a label. With :class:`~sklearn.model_selection.StratifiedKFold`
    itself, ``-1`` is one more class: a third of the unlabelled rows leave
    each training set of a 3-fold split, and each test score counts them as
    errors.

    Parameters
    ----------
    n_splits : int, default=5
        Number of folds of the labelled rows, at least 2.
    shuffle : bool, default=False
        Whether to shuffle each class's labelled rows before splitting them.
    random_state : int, RandomState instance or None, default=None
        Controls the shuffling when ``shuffle`` is True (as for
        :class:`~sklearn.model_selection.StratifiedKFold`).

    See Also
    --------
    sklearn.model_selection.StratifiedKFold : The split of the labelled rows.

    Notes
    -----
    ``-1`` marks an unlabelled row unless the other labels hold a single
    class: binary labels ``{-1, c}`` are two classes, as
    :class:`skae.AutoencoderClassifier` reads them, and then every row is
    split. The rows of a test set do not train its candidates, not even as
    unlabelled rows. See :ref:`fine_tuning` (Model selection).

    Examples
    --------
    >>> import numpy as np
    >>> from skae import SemiSupervisedStratifiedKFold
    >>> y = np.array([0, 0, 1, 1, -1, -1])
    >>> for train, test in SemiSupervisedStratifiedKFold(n_splits=2).split(np.zeros((6, 1)), y):
    ...     print(train, test)
    [1 3 4 5] [0 2]
    [0 2 4 5] [1 3]

    In a grid search, the unlabelled rows train every candidate:

    >>> from sklearn.datasets import load_digits
    >>> from sklearn.model_selection import GridSearchCV
    >>> from sklearn.semi_supervised import LabelSpreading
    >>> X, y = load_digits(return_X_y=True)
    >>> y_semi = np.where(np.arange(len(y)) % 5 == 0, y, -1)  # a fifth labelled
    >>> search = GridSearchCV(LabelSpreading(kernel="knn"), {"n_neighbors": [10, 20]},
    ...                       cv=SemiSupervisedStratifiedKFold(3)).fit(X, y_semi)
    >>> search.best_params_
    {'n_neighbors': 10}
    >>> bool(search.best_score_ > 0.9)
    True
    """

    def __init__(self, n_splits=5, *, shuffle=False, random_state=None):
        self.n_splits = n_splits
        self.shuffle = shuffle
        self.random_state = random_state
        # Checked here, as scikit-learn's splitters check their parameters.
        self._labelled_split()

    def _labelled_split(self):
        return StratifiedKFold(self.n_splits, shuffle=self.shuffle, random_state=self.random_state)

    def get_n_splits(self, X=None, y=None, groups=None):
        """Return the number of splitting iterations, ``n_splits``.

        Parameters
        ----------
        X, y, groups : object
            Ignored, for compatibility.

        Returns
        -------
        n_splits : int
            The number of folds.

        Examples
        --------
        >>> from skae import SemiSupervisedStratifiedKFold
        >>> SemiSupervisedStratifiedKFold(3).get_n_splits()
        3
        """
        return self.n_splits

    def split(self, X, y, groups=None):
        """Generate the indices of each training set and test set.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The rows; only their number is used.
        y : array-like of shape (n_samples,)
            Class labels, ``-1`` for an unlabelled row.
        groups : object
            Ignored, for compatibility.

        Yields
        ------
        train : ndarray
            The indices of the training set: every unlabelled row and the
            labelled rows of the other folds, in increasing order.
        test : ndarray
            The indices of one fold of the labelled rows, in increasing order.

        Raises
        ------
        ValueError
            If ``y`` is None, or if a class has fewer labelled rows than
            ``n_splits`` (as for :class:`~sklearn.model_selection.StratifiedKFold`).

        Examples
        --------
        >>> import numpy as np
        >>> from skae import SemiSupervisedStratifiedKFold
        >>> y = np.array(["a", "b", -1, "a", "b", -1], dtype=object)
        >>> [test.tolist() for _, test in SemiSupervisedStratifiedKFold(2).split(y, y)]
        [[0, 1], [3, 4]]
        """
        if y is None:
            raise ValueError(
                f"{type(self).__name__} splits the labelled rows by class and needs y; got y=None."
            )
        X, y = indexable(X, y)
        y = column_or_1d(y)
        n_rows = len(y)
        labelled = np.flatnonzero(labelled_mask(y))
        for _, test in self._labelled_split().split(np.zeros((len(labelled), 1)), y[labelled]):
            test_rows = labelled[test]
            in_test = np.zeros(n_rows, dtype=bool)
            in_test[test_rows] = True
            yield np.flatnonzero(~in_test), test_rows
