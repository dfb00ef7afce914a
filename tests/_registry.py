"""Every public estimator of skae and its variants, with the settings that keep tests fast.

The one place the test suite learns what skae offers (after scikit-learn's
``sklearn/utils/_test_common/instance_generator.py``): the estimator checks,
persistence, property, reliability and convolutional tests all draw from
here, and ``tests/test_registry.py`` fails when a public estimator,
regularizer or architecture is missing, so a new family cannot be skipped by
forgetting a list. Adding a family or a regularizer: one entry in
``VARIANTS``.
"""

import inspect

from sklearn.base import ClassifierMixin, OutlierMixin, RegressorMixin

import skae
from skae import (
    VAE,
    Autoencoder,
    AutoencoderClassifier,
    AutoencoderOutlierDetector,
    AutoencoderRegressor,
    ContractionPenalty,
    ContractiveAutoencoder,
    ConvolutionalArchitecture,
    DecorrelationPenalty,
    DenoisingAutoencoder,
    NoiseCorruption,
    OrderedCode,
    SparseAutoencoder,
    SparsityPenalty,
    WeightConstraint,
)
from skae._base import BaseAutoencoder

# Small networks and few epochs: every test that only needs "a fitted model".
FAST = {"max_iter": 5, "hidden_layer_sizes": (8,), "device": "cpu"}


def public_classes(base):
    """Concrete public classes of skae that subclass ``base``, each once (aliases fold)."""
    found = {
        obj
        for name in skae.__all__
        if inspect.isclass(obj := getattr(skae, name))
        and issubclass(obj, base)
        and not inspect.isabstract(obj)
    }
    return sorted(found, key=lambda cls: cls.__name__)


ESTIMATOR_CLASSES = public_classes(BaseAutoencoder)


def fast(cls, **params):
    """An instance of ``cls`` with the fast settings, updated by ``params``."""
    return cls(**{**FAST, **params})


def _variants():
    conv = ConvolutionalArchitecture(channels=(4,))  # rows as 1-D signals
    transposed = ConvolutionalArchitecture(channels=(2, 4), upsampling="transposed")
    noise = ("noise", NoiseCorruption("masking", 0.2))
    return {
        "Autoencoder": fast(Autoencoder),
        "Autoencoder-random-init": fast(Autoencoder, init="random", early_stopping=False),
        "Autoencoder-conv": fast(Autoencoder, architecture=conv),
        "Autoencoder-greedy": fast(Autoencoder, pretraining="greedy", pretraining_max_iter=1),
        "Autoencoder-cosine": fast(Autoencoder, learning_rate="cosine"),
        "Autoencoder-tied-bce": fast(Autoencoder, tied_weights=True, loss="bce"),
        "Autoencoder-sparse-denoising": fast(
            Autoencoder,
            regularizers=[noise, ("sparsity", SparsityPenalty("l1", weight=1e-3))],
        ),
        "Autoencoder-ordered-share-of-variance": fast(
            Autoencoder, n_components=0.9, regularizers=[("order", OrderedCode())]
        ),
        "Autoencoder-linear-tied-orthogonal-uncorrelated": fast(
            Autoencoder,
            hidden_layer_sizes=(),
            activation="identity",
            tied_weights=True,
            regularizers=[
                ("orthogonal", WeightConstraint("orthogonal")),
                ("uncorrelated", DecorrelationPenalty()),
            ],
        ),
        "DenoisingAutoencoder": fast(DenoisingAutoencoder),
        "DenoisingAutoencoder-unit-norm": fast(
            DenoisingAutoencoder, regularizers=[("unit", WeightConstraint("unit_norm"))]
        ),
        "DenoisingAutoencoder-salt-and-pepper": fast(DenoisingAutoencoder, noise="salt_and_pepper"),
        "DenoisingAutoencoder-contractive": fast(
            DenoisingAutoencoder, regularizers=[("contraction", ContractionPenalty())]
        ),
        "SparseAutoencoder": fast(SparseAutoencoder),
        "SparseAutoencoder-l1-relu": fast(SparseAutoencoder, sparsity="l1", code_activation="relu"),
        "ContractiveAutoencoder": fast(ContractiveAutoencoder),
        "ContractiveAutoencoder-single-layer": fast(ContractiveAutoencoder, hidden_layer_sizes=()),
        "VariationalAutoencoder": fast(VAE),
        "VariationalAutoencoder-bce": fast(VAE, loss="bce"),
        "VariationalAutoencoder-conv": fast(VAE, architecture=transposed),
    }


VARIANTS = _variants()

# loss="bce" rejects data outside [0, 1] with a ValueError, and scikit-learn's
# estimator checks feed such data (negative values among them): these
# variants are checked for persistence and behaviour, not by the checks.
NEEDS_DATA_IN_UNIT_INTERVAL = {"Autoencoder-tied-bce", "VariationalAutoencoder-bce"}


# Estimators that wrap an autoencoder rather than being one: scikit-learn's
# checks for their kind run over these in their own test file
# (tests/test_outlier.py), with tiny networks and few epochs.
TIED_FAST = {**FAST, "hidden_layer_sizes": (), "tied_weights": True}
# The deep ones hold out no rows, as SUPERVISED_AE below and for its reason.
DETECTORS = {
    "AutoencoderOutlierDetector": AutoencoderOutlierDetector(
        fast(Autoencoder, early_stopping=False)
    ),
    "AutoencoderOutlierDetector-denoising-mean-untrimmed": AutoencoderOutlierDetector(
        fast(DenoisingAutoencoder, early_stopping=False),
        score_type="reconstruction",
        reconstruction_error="mean",
        trim_fraction=0.0,
        contamination=0.1,
    ),
    "AutoencoderOutlierDetector-elbo": AutoencoderOutlierDetector(fast(VAE), score_type="elbo"),
    "AutoencoderOutlierDetector-energy": AutoencoderOutlierDetector(
        Autoencoder(**TIED_FAST, code_activation="tanh"), score_type="energy"
    ),
}
DETECTOR_CLASSES = public_classes(OutlierMixin)

# Classifiers and regressors that fine-tune an autoencoder's encoder; their
# checks run in tests/test_supervised.py. A 3-epoch pretraining and a
# fine-tuning long enough for the accuracy and R^2 thresholds of the checks.
# The pretraining holds out no rows: on the checks' 100 to 500 rows a deep
# network decides its start on every held-out fold, some 20 trainings a fit,
# and that decision is tested on the autoencoders themselves.
SUPERVISED_AE = {
    "n_components": 4,
    "hidden_layer_sizes": (8,),
    "max_iter": 3,
    "early_stopping": False,
    "device": "cpu",
}
SUPERVISED_FAST = {"max_iter": 40, "learning_rate_init": 1e-2, "device": "cpu"}
SUPERVISED = {
    "AutoencoderClassifier": AutoencoderClassifier(Autoencoder(**SUPERVISED_AE), **SUPERVISED_FAST),
    "AutoencoderClassifier-frozen-encoder": AutoencoderClassifier(
        Autoencoder(**SUPERVISED_AE), freeze_encoder=True, **SUPERVISED_FAST
    ),
    "AutoencoderClassifier-vae": AutoencoderClassifier(VAE(**SUPERVISED_AE), **SUPERVISED_FAST),
    "AutoencoderClassifier-vat": AutoencoderClassifier(
        Autoencoder(**SUPERVISED_AE), vat_epsilon=0.3, **SUPERVISED_FAST
    ),
    "AutoencoderRegressor": AutoencoderRegressor(Autoencoder(**SUPERVISED_AE), **SUPERVISED_FAST),
    # With the average of the weights as the fitted network and the target.
    "AutoencoderRegressor-vat-ema": AutoencoderRegressor(
        Autoencoder(**SUPERVISED_AE), vat_epsilon=0.3, ema_decay=0.9, **SUPERVISED_FAST
    ),
    "AutoencoderRegressor-scratch-l2-cosine": AutoencoderRegressor(
        Autoencoder(**SUPERVISED_AE),
        pretrain=False,
        alpha=1e-4,
        learning_rate="cosine",
        **SUPERVISED_FAST,
    ),
}
SUPERVISED_CLASSES = sorted(
    {*public_classes(ClassifierMixin), *public_classes(RegressorMixin)},
    key=lambda cls: cls.__name__,
)


def variants():
    """``(id, unfitted estimator)`` pairs, fresh clones each call."""
    from sklearn.base import clone

    return [(name, clone(estimator)) for name, estimator in VARIANTS.items()]


def default_networks():
    """Each public estimator with its default network, trained briefly.

    float32 products of 512-wide layers round differently for different
    batch sizes, which scikit-learn's subset-invariance check sees and the
    small networks of ``VARIANTS`` hide.
    """
    return [cls(max_iter=5, device="cpu") for cls in ESTIMATOR_CLASSES]
