"""scikit-learn's estimator checks over every public skae estimator."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skae import (
    VAE,
    Autoencoder,
    ContractiveAutoencoder,
    ConvolutionalArchitecture,
    DenoisingAutoencoder,
    SparseAutoencoder,
)


def fast_estimators():
    """Every public estimator, with settings that keep the checks quick."""
    fast = {"max_iter": 5, "hidden_layer_sizes": (8,), "device": "cpu"}
    # Rows without an image shape are 1-D signals for the convolutional network.
    conv = {**fast, "architecture": ConvolutionalArchitecture(channels=(4,))}
    transposed = ConvolutionalArchitecture(channels=(2, 4), upsampling="transposed")
    return [
        Autoencoder(**fast),
        Autoencoder(**conv),
        VAE(**fast),
        VAE(**{**fast, "architecture": transposed}),
        DenoisingAutoencoder(**fast),
        DenoisingAutoencoder(noise="salt_and_pepper", **fast),
        SparseAutoencoder(**fast),
        SparseAutoencoder(sparsity="kl", code_activation="logistic", **fast),
        ContractiveAutoencoder(**fast),
        ContractiveAutoencoder(**{**fast, "hidden_layer_sizes": ()}),
        Autoencoder(pretraining="greedy", pretraining_max_iter=1, **fast),
        # The default network: float32 products of 512-wide layers round
        # differently for different batch sizes, which the subset-invariance
        # check sees (the 8-unit networks above hide it).
        *(cls(max_iter=5, device="cpu") for cls in (Autoencoder, VAE, DenoisingAutoencoder)),
        *(cls(max_iter=5, device="cpu") for cls in (SparseAutoencoder, ContractiveAutoencoder)),
    ]


@parametrize_with_checks(fast_estimators())
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
