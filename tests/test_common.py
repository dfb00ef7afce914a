"""scikit-learn's estimator checks over every public skae estimator."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skae import Autoencoder


def fast_estimators():
    """Every public estimator with settings that keep the checks quick."""
    fast = {"max_iter": 5, "hidden_layer_sizes": (8,), "device": "cpu"}
    return [Autoencoder(**fast)]


@parametrize_with_checks(fast_estimators())
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
