"""scikit-learn's estimator checks over every public skae estimator and variant."""

from _registry import NEEDS_DATA_IN_UNIT_INTERVAL, VARIANTS, default_networks
from sklearn.utils.estimator_checks import parametrize_with_checks

CHECKED = [est for name, est in VARIANTS.items() if name not in NEEDS_DATA_IN_UNIT_INTERVAL]


@parametrize_with_checks([*CHECKED, *default_networks()])
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
