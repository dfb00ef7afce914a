"""AutoencoderOutlierDetector: scikit-learn's outlier-detector contract and what its scores mean."""

import re

import numpy as np
import pytest
import scipy.sparse as sp
from _registry import DETECTOR_CLASSES, DETECTORS
from numpydoc.docscrape import ClassDoc
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from skae import VAE, Autoencoder, DenoisingAutoencoder
from skae._outlier import (
    _DEFAULT_EXPLAINED_VARIANCE,
    AutoencoderOutlierDetector,
    _n_components_for_variance,
)

FAST = {"max_iter": 5, "hidden_layer_sizes": (8,), "device": "cpu"}
TIED = {"max_iter": 5, "hidden_layer_sizes": (), "tied_weights": True, "device": "cpu"}

# The registered detectors, and one wrapping a scikit-learn estimator.
CHECKED = [*DETECTORS.values(), AutoencoderOutlierDetector(PCA(n_components=1))]


@parametrize_with_checks(CHECKED)
def test_sklearn_compatible_outlier_detector(estimator, check):
    check(estimator)


def test_every_public_outlier_detector_is_registered():
    registered = {type(estimator) for estimator in DETECTORS.values()}
    missing = [cls.__name__ for cls in DETECTOR_CLASSES if cls not in registered]
    assert AutoencoderOutlierDetector in DETECTOR_CLASSES
    assert not missing, f"add {missing} to DETECTORS in tests/_registry.py"


# ------------------------------------------------------------------- data


@pytest.fixture(scope="module")
def digits():
    """Digits (pixels in [0, 1]) and the same digits upside down, as outliers."""
    X, y = load_digits(return_X_y=True)
    X = (X / 16).astype(np.float32)
    flipped = X[:60].reshape(-1, 8, 8)[:, ::-1, :].reshape(-1, 64)
    return X[60:600], X[600:900], flipped


@pytest.fixture(scope="module")
def isolation_forest_auc(digits):
    """IsolationForest's ROC AUC on the same task: the baseline a detector must beat."""
    train, test, flipped = digits
    forest = IsolationForest(random_state=0).fit(train)
    is_outlier = np.r_[np.zeros(len(test)), np.ones(len(flipped))]
    return roc_auc_score(is_outlier, -forest.score_samples(np.vstack([test, flipped])))


def test_scoring_and_prediction_follow_the_conventions(digits, isolation_forest_auc):
    train, test, flipped = digits
    autoencoder = Autoencoder(n_components=8, max_iter=30, device="cpu")
    detector = AutoencoderOutlierDetector(autoencoder, random_state=0).fit(train)
    rows = np.vstack([test, flipped])
    scores = detector.score_samples(rows)
    np.testing.assert_allclose(detector.decision_function(rows), scores - detector.offset_)
    expected = np.where(scores >= detector.offset_, 1, -1)
    np.testing.assert_array_equal(detector.predict(rows), expected)
    assert detector.predict(rows).dtype.kind == "i"
    # Higher is more normal: the upside-down digits score lower, better
    # than IsolationForest ranks them (0.62 when measured).
    is_outlier = np.r_[np.zeros(len(test)), np.ones(len(flipped))]
    assert roc_auc_score(is_outlier, -scores) > isolation_forest_auc + 0.05


@pytest.mark.parametrize(
    "autoencoder, score",
    [
        (Autoencoder(n_components=8, max_iter=30, device="cpu"), "reconstruction+code"),
        (Autoencoder(n_components=8, max_iter=30, device="cpu"), "reconstruction"),
        # The Bernoulli likelihood: the learned-variance Gaussian one ranked
        # these digits at chance (ROC AUC 0.51 to 0.54, measured).
        (VAE(n_components=8, loss="bce", max_iter=100, device="cpu"), "elbo"),
        (Autoencoder(n_components=8, **{**TIED, "max_iter": 30}), "energy"),
    ],
    ids=["reconstruction+code", "reconstruction", "elbo", "energy"],
)
def test_every_score_separates_upside_down_digits(digits, isolation_forest_auc, autoencoder, score):
    train, test, flipped = digits
    autoencoder.set_params(random_state=0)
    detector = AutoencoderOutlierDetector(autoencoder, score_type=score).fit(train)
    is_outlier = np.r_[np.zeros(len(test)), np.ones(len(flipped))]
    auc = roc_auc_score(is_outlier, -detector.score_samples(np.vstack([test, flipped])))
    assert auc > isolation_forest_auc + 0.05, (auc, isolation_forest_auc)


def test_fit_predict_is_fit_then_predict(digits):
    train, _, _ = digits
    detector = AutoencoderOutlierDetector(Autoencoder(**FAST), contamination=0.05, random_state=0)
    labels = detector.fit_predict(train)
    np.testing.assert_array_equal(labels, clone(detector).fit(train).predict(train))
    assert (labels == -1).sum() == round(0.05 * len(train))


# ------------------------------------------------------------- the offset


@pytest.mark.parametrize("contamination", [0.01, 0.1, 0.5])
def test_a_float_contamination_flags_that_share_of_the_training_rows(digits, contamination):
    train, _, _ = digits
    detector = AutoencoderOutlierDetector(
        Autoencoder(**FAST), contamination=contamination, random_state=0
    ).fit(train)
    scores = detector.score_samples(train)
    assert detector.offset_ == pytest.approx(np.percentile(scores, 100 * contamination))
    flagged = (detector.predict(train) == -1).mean()
    assert flagged == pytest.approx(contamination, abs=1 / len(train))


def test_auto_contamination_is_tukeys_lower_fence(digits):
    train, _, _ = digits
    detector = AutoencoderOutlierDetector(Autoencoder(**FAST), random_state=0).fit(train)
    q1, q3 = np.percentile(detector.score_samples(train), [25, 75])
    assert detector.offset_ == pytest.approx(q1 - 1.5 * (q3 - q1))
    flagged = (detector.predict(train) == -1).mean()
    assert 0 < flagged < 0.2


# ---------------------------------------------------- what the scores are


def test_the_mean_reconstruction_score_ranks_as_the_autoencoders_own(digits):
    # score_type="reconstruction" with "mean" is the autoencoder's per-row MSE,
    # divided by its mean over the training rows (all of them: no trimming).
    train, test, _ = digits
    ae = Autoencoder(**FAST, random_state=0)
    detector = AutoencoderOutlierDetector(
        ae, score_type="reconstruction", reconstruction_error="mean", trim_fraction=0.0
    ).fit(train)
    fitted = detector.autoencoder_
    own = fitted.score_samples(train).mean()
    np.testing.assert_allclose(detector.score_samples(test) * -own, fitted.score_samples(test))
    np.testing.assert_allclose(detector.score_samples(train).mean(), -1.0)


def pca_oracle(train, test, k, standardized):
    """The reconstruction+code score of PCA's reconstruction, computed with numpy alone."""
    train, test = train.astype(np.float64), test.astype(np.float64)
    pca = PCA(n_components=k).fit(train)

    def parts(X):
        codes = pca.transform(X)
        errors = (pca.inverse_transform(codes) - X) ** 2
        distance = (codes**2 / pca.explained_variance_).mean(axis=1)
        return errors, distance

    errors, distance = parts(train)
    scale = errors.mean(axis=0) if standardized else np.ones(train.shape[1])
    scale = np.maximum(scale, 0.1 * scale.mean())  # the documented floor: a tenth of the mean
    error_mean = (errors / scale).mean(axis=1).mean()
    test_errors, test_distance = parts(test)
    return -((test_errors / scale).mean(axis=1) / error_mean + test_distance / distance.mean())


@pytest.mark.parametrize("error", ["standardized", "mean"])
def test_the_reconstruction_and_code_score_against_an_independent_computation(digits, error):
    train, test, flipped = digits
    rows = np.vstack([test, flipped])
    detector = AutoencoderOutlierDetector(
        PCA(n_components=6), reconstruction_error=error, trim_fraction=0.0
    ).fit(train)
    np.testing.assert_allclose(
        detector.score_samples(rows), pca_oracle(train, rows, 6, error == "standardized"), rtol=1e-5
    )
    # Each part has mean 1 over the training rows.
    np.testing.assert_allclose(detector.score_samples(train).mean(), -2.0)


def test_the_feature_errors_are_each_features_mean_squared_error(digits):
    train, _, _ = digits
    detector = AutoencoderOutlierDetector(Autoencoder(**FAST, random_state=0), trim_fraction=0.0)
    detector.fit(train)
    ae = detector.autoencoder_
    errors = (ae.inverse_transform(ae.transform(train)).astype(np.float64) - train) ** 2
    np.testing.assert_allclose(detector.feature_errors_, errors.mean(axis=0), rtol=1e-4, atol=1e-8)


def test_trimming_keeps_outliers_out_of_the_statistics(digits):
    train, _, flipped = digits
    contaminated = np.vstack([train, flipped])
    params = {"autoencoder": PCA(n_components=6), "score_type": "reconstruction+code"}
    plain = AutoencoderOutlierDetector(**params, trim_fraction=0.0).fit(contaminated)
    trimmed = AutoencoderOutlierDetector(**params, trim_fraction=0.1).fit(contaminated)
    # The flipped digits reconstruct badly: with them left out, the
    # features' training errors are smaller and the flipped digits stand
    # out further.
    assert trimmed.feature_errors_.mean() < plain.feature_errors_.mean()
    is_outlier = np.r_[np.zeros(len(train)), np.ones(len(flipped))]
    auc = {
        name: roc_auc_score(is_outlier, -d.score_samples(contaminated))
        for name, d in [("plain", plain), ("trimmed", trimmed)]
    }
    assert auc["trimmed"] >= auc["plain"]


def test_a_row_scores_the_same_alone_as_in_a_batch(digits):
    train, test, _ = digits
    for score in ("reconstruction+code", "reconstruction"):
        detector = AutoencoderOutlierDetector(Autoencoder(**FAST), score_type=score, random_state=0)
        batch = detector.fit(train).score_samples(test)
        alone = [detector.score_samples(test[i : i + 1])[0] for i in range(0, len(test), 41)]
        np.testing.assert_allclose(alone, batch[::41], rtol=1e-12)


def test_sparse_and_dense_rows_score_the_same(digits):
    train, test, _ = digits
    detector = AutoencoderOutlierDetector(Autoencoder(**FAST), random_state=0).fit(train)
    np.testing.assert_allclose(
        detector.score_samples(sp.csr_matrix(test)), detector.score_samples(test), rtol=1e-12
    )


# ---------------------------------------------------------------- the default


def test_the_default_code_width_explains_the_documented_share_of_variance(digits):
    train, _, _ = digits
    for fraction in (0.5, 0.7, 0.9):
        expected = PCA(n_components=fraction, svd_solver="full").fit(train).n_components_
        assert _n_components_for_variance(train, fraction) == expected
    detector = AutoencoderOutlierDetector(random_state=0).fit(train)
    assert detector.autoencoder_.n_components == _n_components_for_variance(
        train, _DEFAULT_EXPLAINED_VARIANCE
    )
    assert _n_components_for_variance(train[:1], 0.7) >= 1


def test_the_default_autoencoder_is_seeded_by_random_state(digits):
    train, test, _ = digits
    a = AutoencoderOutlierDetector(random_state=0).fit(train).score_samples(test)
    b = AutoencoderOutlierDetector(random_state=0).fit(train).score_samples(test)
    np.testing.assert_array_equal(a, b)


# -------------------------------------------------------- meta-estimator


def test_the_autoencoder_is_cloned_and_its_parameters_are_nested(digits):
    train, _, _ = digits
    ae = DenoisingAutoencoder(**FAST)
    detector = AutoencoderOutlierDetector(ae, random_state=0)
    assert detector.get_params()["autoencoder__noise_level"] == 0.25
    detector.set_params(autoencoder__noise_level=0.4).fit(train)
    assert detector.autoencoder is ae and not hasattr(ae, "net_")
    assert detector.autoencoder_ is not ae and detector.autoencoder_.noise_level == 0.4
    # The fitted autoencoder is still a transformer.
    assert detector.autoencoder_.transform(train[:3]).shape == (3, 2)


def test_a_frozen_autoencoder_is_used_as_fitted(digits):
    train, test, _ = digits
    ae = Autoencoder(**FAST, random_state=0).fit(train)
    detector = AutoencoderOutlierDetector(FrozenEstimator(ae)).fit(test)
    assert detector.autoencoder_.estimator is ae
    np.testing.assert_array_equal(ae.transform(test), detector.autoencoder_.transform(test))
    with pytest.raises(ValueError, match="autoencoder was fitted on 64"):
        AutoencoderOutlierDetector(FrozenEstimator(ae)).fit(test[:, :10])


def test_grid_search_with_a_scorer_on_labelled_outliers(digits):
    train, _, flipped = digits
    X = np.vstack([train[:300], flipped])
    y = np.r_[np.ones(300, dtype=int), -np.ones(len(flipped), dtype=int)]  # -1 = outlier
    # One training per fit (no early stopping's decisions): the search is the point.
    autoencoder = DenoisingAutoencoder(
        n_components=8, max_iter=30, early_stopping=False, device="cpu"
    )
    pipe = make_pipeline(StandardScaler(), AutoencoderOutlierDetector(autoencoder, random_state=0))
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    search = GridSearchCV(
        pipe,
        {
            "autoencoderoutlierdetector__autoencoder__noise_level": [0.1, 0.4],
            "autoencoderoutlierdetector__score_type": ["reconstruction+code", "reconstruction"],
        },
        scoring="roc_auc",
        cv=cv,
    ).fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    forest = make_pipeline(StandardScaler(), IsolationForest(random_state=0))
    baseline = cross_val_score(forest, X, y, scoring="roc_auc", cv=cv).mean()
    assert search.best_score_ > baseline, (search.best_score_, baseline)
    assert search.score(X, y) == pytest.approx(roc_auc_score(y, search.decision_function(X)))


# ------------------------------------------------------------------ errors


def test_scores_the_autoencoder_cannot_give_are_refused(digits):
    train, _, _ = digits
    with pytest.raises(ValueError, match="score_type='elbo' needs a VariationalAutoencoder"):
        AutoencoderOutlierDetector(Autoencoder(**FAST), score_type="elbo").fit(train)
    with pytest.raises(ValueError, match="score_type='energy' needs a skae autoencoder"):
        AutoencoderOutlierDetector(PCA(2), score_type="energy").fit(train)
    with pytest.raises(ValueError, match="energy needs a one-layer autoencoder"):
        AutoencoderOutlierDetector(Autoencoder(**FAST), score_type="energy").fit(train)
    with pytest.raises(ValueError, match="score"):
        AutoencoderOutlierDetector(score_type="typicality").fit(train)
    with pytest.raises(ValueError, match="contamination"):
        AutoencoderOutlierDetector(contamination=0.7).fit(train)
    with pytest.raises(NotFittedError):
        AutoencoderOutlierDetector().score_samples(train)


def test_the_default_autoencoder_gives_every_score(digits):
    train, test, _ = digits
    for score, kind in [("elbo", VAE), ("energy", Autoencoder)]:
        detector = AutoencoderOutlierDetector(score_type=score, random_state=0).fit(train)
        assert type(detector.autoencoder_) is kind
        assert np.isfinite(detector.score_samples(test)).all()


def test_feature_names_are_kept(digits):
    pd = pytest.importorskip("pandas")
    train, test, _ = digits
    columns = [f"pixel{i}" for i in range(64)]
    detector = AutoencoderOutlierDetector(Autoencoder(**FAST), random_state=0)
    detector.fit(pd.DataFrame(train, columns=columns))
    assert list(detector.feature_names_in_) == columns
    assert detector.n_features_in_ == 64
    with pytest.warns(UserWarning, match="feature names"):
        detector.score_samples(test)


# -------------------------------------------------------------------- docs


def test_every_parameter_is_documented_with_its_default():
    import ast
    import inspect

    defaults = {
        name: p.default
        for name, p in inspect.signature(AutoencoderOutlierDetector).parameters.items()
    }
    documented = ClassDoc(AutoencoderOutlierDetector)["Parameters"]
    assert [p.name for p in documented] == list(defaults)
    for parameter in documented:
        found = re.search(r"default=(.+)$", parameter.type)
        assert found, parameter.name
        assert ast.literal_eval(found.group(1)) == defaults[parameter.name], parameter.name
