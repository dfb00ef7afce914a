"""SemiSupervisedStratifiedKFold: StratifiedKFold's folds of the labelled rows; the rest trains."""

import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.semi_supervised import LabelSpreading

from skae import Autoencoder, AutoencoderClassifier, SemiSupervisedStratifiedKFold


@pytest.fixture(scope="module")
def digits_fifth_labelled():
    X, y = load_digits(return_X_y=True)
    y_semi = np.where(np.random.RandomState(0).rand(len(y)) < 0.2, y, -1)
    return X, y, y_semi


@pytest.mark.parametrize("shuffle, random_state", [(False, None), (True, 0), (True, 7)])
def test_folds_are_stratified_kfold_of_the_labelled_rows(
    digits_fifth_labelled, shuffle, random_state
):
    X, _, y_semi = digits_fifth_labelled
    labelled = np.flatnonzero(y_semi != -1)
    oracle = StratifiedKFold(4, shuffle=shuffle, random_state=random_state)
    expected = [labelled[test] for _, test in oracle.split(X[labelled], y_semi[labelled])]
    splitter = SemiSupervisedStratifiedKFold(4, shuffle=shuffle, random_state=random_state)
    folds = list(splitter.split(X, y_semi))
    assert len(folds) == splitter.get_n_splits() == 4
    for (train, test), expected_test in zip(folds, expected, strict=True):
        np.testing.assert_array_equal(test, expected_test)
        # Every other row trains, the unlabelled ones included.
        np.testing.assert_array_equal(train, np.setdiff1d(np.arange(len(X)), expected_test))
        assert (y_semi[test] != -1).all()
        assert set(np.flatnonzero(y_semi == -1)) <= set(train)
    # The test sets partition the labelled rows.
    np.testing.assert_array_equal(np.sort(np.concatenate([t for _, t in folds])), labelled)


def test_binary_labels_with_minus_one_are_two_classes():
    # As AutoencoderClassifier reads them: {-1, 1} are two classes, no row unlabelled.
    y = np.array([-1, 1] * 6)
    X = np.zeros((12, 1))
    got = [test for _, test in SemiSupervisedStratifiedKFold(3).split(X, y)]
    expected = [test for _, test in StratifiedKFold(3).split(X, y)]
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_array_equal(g, e)
    clf = AutoencoderClassifier(Autoencoder(n_components=1, max_iter=1), max_iter=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.set_params(random_state=0, device="cpu").fit(np.arange(12.0)[:, None], y)
    np.testing.assert_array_equal(clf.classes_, [-1, 1])


def test_string_labels_beside_minus_one():
    y = np.array(["a", "b", -1, "a", "b", -1, "a", "b"], dtype=object)
    folds = list(SemiSupervisedStratifiedKFold(2).split(np.zeros((8, 2)), y))
    np.testing.assert_array_equal(np.concatenate([test for _, test in folds]), [0, 1, 3, 4, 6, 7])
    for train, _ in folds:
        assert {2, 5} <= set(train)


def test_scores_are_those_of_the_labelled_rows(digits_fifth_labelled):
    # LabelSpreading's accuracy on the rows it did not see labelled is the
    # oracle. StratifiedKFold takes -1 for a class: the unlabelled rows of
    # each test set count as errors, and a third of them leave each
    # training set.
    X, y, y_semi = digits_fifth_labelled
    unlabelled = y_semi == -1
    spreading = LabelSpreading(kernel="knn", n_neighbors=10)
    transductive = (spreading.fit(X, y_semi).transduction_[unlabelled] == y[unlabelled]).mean()
    ours = cross_val_score(spreading, X, y_semi, cv=SemiSupervisedStratifiedKFold(3)).mean()
    assert abs(ours - transductive) < 0.03
    diluted = cross_val_score(spreading, X, y_semi, cv=StratifiedKFold(3)).mean()
    assert diluted < 0.3 < transductive - 0.5


def test_grid_search_of_autoencoder_classifier(digits_fifth_labelled):
    X, _, y_semi = digits_fifth_labelled
    X, y_semi = X[:400] / 16, y_semi[:400]
    clf = AutoencoderClassifier(
        Autoencoder(n_components=8, hidden_layer_sizes=(16,), max_iter=3),
        max_iter=5,
        random_state=0,
        device="cpu",
    )
    cv = SemiSupervisedStratifiedKFold(3)
    grid = {"learning_rate_init": [1e-3, 1e-2]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        search = GridSearchCV(clf, grid, cv=cv).fit(X, y_semi)
        # Each candidate's score on a fold: fitted on every other row
        # (unlabelled ones included), scored on the fold's labelled rows.
        for i, (train, test) in enumerate(cv.split(X, y_semi)):
            for j, params in enumerate(search.cv_results_["params"]):
                fitted = clone(clf).set_params(**params).fit(X[train], y_semi[train])
                expected = fitted.score(X[test], y_semi[test])
                assert search.cv_results_[f"split{i}_test_score"][j] == pytest.approx(expected)
    assert -1 not in search.best_estimator_.classes_


def test_bad_parameters_and_missing_labels_are_refused():
    with pytest.raises(ValueError, match="k-fold cross-validation requires at least one"):
        SemiSupervisedStratifiedKFold(1)
    with pytest.raises(ValueError, match="random_state"):
        SemiSupervisedStratifiedKFold(3, random_state=0)
    with pytest.raises(ValueError, match="needs y"):
        next(SemiSupervisedStratifiedKFold(3).split(np.zeros((6, 1)), None))


def test_repr_lists_the_parameters():
    assert repr(SemiSupervisedStratifiedKFold(3, shuffle=True, random_state=1)) == (
        "SemiSupervisedStratifiedKFold(n_splits=3, random_state=1, shuffle=True)"
    )
