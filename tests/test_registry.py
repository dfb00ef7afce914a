"""The test registry covers every public estimator, regularizer and architecture."""

from _registry import ESTIMATOR_CLASSES, VARIANTS, public_classes

from skae import ConvolutionalArchitecture, Corruption, Penalty


def _parts(estimator):
    """Types of the estimator and of the objects among its parameters."""
    params = estimator.get_params(deep=False)
    parts = {type(estimator), type(params["architecture"])}
    parts |= {type(regularizer) for _, regularizer in params["regularizers"] or []}
    return parts


def test_every_public_estimator_regularizer_and_architecture_has_a_variant():
    covered = set().union(*(_parts(estimator) for estimator in VARIANTS.values()))
    public = [
        *ESTIMATOR_CLASSES,
        *public_classes(Corruption),
        *public_classes(Penalty),
        ConvolutionalArchitecture,
    ]
    missing = [cls.__name__ for cls in public if cls not in covered]
    assert not missing, f"add variants of {missing} to tests/_registry.py"


def test_no_two_variants_are_the_same_estimator():
    # Two identical entries would test one configuration twice and leave the
    # intended one untested (the L1 SparseAutoencoder once was the KL one).
    seen = {}
    for name, estimator in VARIANTS.items():
        key = repr(estimator)
        assert key not in seen, f"{name} is the same estimator as {seen[key]}"
        seen[key] = name
