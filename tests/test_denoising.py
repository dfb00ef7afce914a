"""What DenoisingAutoencoder adds: corruption in training only, against the clean input."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from _registry import FAST as REGISTRY_FAST
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC
from sklearn.utils._param_validation import InvalidParameterError
from skorch.callbacks import Callback

from skae import (
    Autoencoder,
    ContractionPenalty,
    DenoisingAutoencoder,
    NoiseCorruption,
    SparsityPenalty,
)
from skae.nn import GaussianNoise, MaskingNoise, SaltAndPepperNoise

FAST = {**REGISTRY_FAST, "hidden_layer_sizes": (16,), "max_iter": 3, "random_state": 0}


@pytest.fixture(scope="module")
def digits():
    return load_digits().data / 16


def test_transform_sees_the_clean_input(digits):
    X = digits[:100]
    dae = DenoisingAutoencoder(noise="gaussian", noise_level=0.5, n_components=4, **FAST).fit(X)
    module = dae.net_.module_
    codes = dae.transform(X)
    np.testing.assert_array_equal(codes, dae.transform(X))
    with torch.no_grad():
        clean = module.eval().encoder(torch.tensor(X, dtype=torch.float32)).numpy()
        corrupted_input = module.train()(torch.tensor(X, dtype=torch.float32))["input"].numpy()
    np.testing.assert_allclose(codes, clean, rtol=1e-6)
    assert np.abs(corrupted_input - X).mean() > 0.3


@pytest.mark.parametrize(
    "noise, cls",
    [
        ("gaussian", GaussianNoise),
        ("masking", MaskingNoise),
        ("salt_and_pepper", SaltAndPepperNoise),
    ],
)
def test_the_noise_parameters_choose_the_corruption(digits, noise, cls):
    dae = DenoisingAutoencoder(noise=noise, noise_level=0.2, **FAST).fit(digits[:50])
    corruption = dae.net_.module_.corruption
    assert type(corruption) is cls
    assert (corruption.std if noise == "gaussian" else corruption.fraction) == 0.2


@pytest.mark.parametrize("sparse", [False, True])
def test_salt_and_pepper_values_are_each_features_range_in_fit(sparse):
    rng = np.random.RandomState(0)
    X = rng.uniform(-3, 5, size=(40, 6)) * (rng.rand(40, 6) < 0.7)
    X[:, 0] = 2.0  # a constant feature
    dae = DenoisingAutoencoder(noise="salt_and_pepper", **FAST)
    dae.fit(sp.csr_matrix(X) if sparse else X)
    corruption = dae.net_.module_.corruption
    np.testing.assert_allclose(corruption.low.numpy(), X.min(axis=0), rtol=1e-6)
    np.testing.assert_allclose(corruption.high.numpy(), X.max(axis=0), rtol=1e-6)


def test_the_loss_compares_with_the_clean_input(digits):
    # With every value masked the encoder sees only zeros, so the best it can
    # do is reconstruct the mean training row; a loss against the corrupted
    # input would teach it to output zeros instead.
    X = digits[:500]
    dae = DenoisingAutoencoder(
        n_components=4,
        hidden_layer_sizes=(),
        noise="masking",
        noise_level=1.0,
        max_iter=300,
        batch_size=500,
        learning_rate_init=0.03,
        random_state=0,
        device="cpu",
    ).fit(X)
    reconstruction = dae.inverse_transform(dae.transform(np.zeros((1, 64))))[0]
    assert np.abs(reconstruction - X.mean(axis=0)).max() < 0.05
    assert X.mean(axis=0).max() > 0.7


def test_overcomplete_denoising_reconstructs_masked_digits_closer_to_clean(digits):
    X_train, X_test = digits[:1000], digits[1400:]
    X_masked = X_test * (np.random.RandomState(0).rand(*X_test.shape) >= 0.25)
    params = {"n_components": 96, "hidden_layer_sizes": (), "max_iter": 40, "random_state": 0}
    errors = {}
    for name, cls in [("plain", Autoencoder), ("denoising", DenoisingAutoencoder)]:
        model = cls(device="cpu", **params).fit(X_train)
        cleaned = model.inverse_transform(model.transform(X_masked))
        errors[name] = np.mean((cleaned - X_test) ** 2)
    # Measured: 0.030 against 0.041 (the masked digits are at 0.060).
    assert errors["denoising"] < 0.8 * errors["plain"]


@pytest.mark.parametrize(
    "params",
    [{"noise_level": -0.1}, {"noise": "speckle"}, {"noise_level": "high"}],
    ids=["negative", "unknown noise", "not a number"],
)
def test_bad_parameters_get_scikit_learns_validation_error(digits, params):
    with pytest.raises(InvalidParameterError):
        DenoisingAutoencoder(**FAST, **params).fit(digits[:20])


@pytest.mark.parametrize("noise", ["masking", "salt_and_pepper"])
def test_a_fraction_above_one_is_a_clear_value_error(digits, noise):
    with pytest.raises(ValueError, match="at most 1, got 1.5"):
        DenoisingAutoencoder(noise=noise, noise_level=1.5, **FAST).fit(digits[:20])
    # Gaussian noise_level is a standard deviation, free to exceed 1.
    DenoisingAutoencoder(noise="gaussian", noise_level=1.5, **FAST).fit(digits[:20])


def test_grid_search_over_components_and_noise_level_beside_pca():
    X, y = load_digits(return_X_y=True)
    X, y = X[:300] / 16, y[:300]
    pipe = Pipeline([("ae", DenoisingAutoencoder()), ("svm", SVC())])
    dae = DenoisingAutoencoder(
        hidden_layer_sizes=(), max_iter=10, batch_size=32, random_state=0, device="cpu"
    )
    grid = [
        {"ae": [PCA()], "ae__n_components": [5, 10]},
        {"ae": [dae], "ae__n_components": [5, 10], "ae__noise_level": [0.1, 0.3]},
    ]
    search = GridSearchCV(pipe, grid, cv=2).fit(X, y)
    results = search.cv_results_
    assert len(results["params"]) == 6
    levels = [p.get("ae__noise_level") for p in results["params"]]
    assert levels.count(0.1) == 2 and levels.count(0.3) == 2
    scores = results["mean_test_score"]
    # Chance is 0.1; ten epochs on 150 rows give codes an SVC reads at about 0.6.
    assert np.all(scores[:2] > 0.8) and np.all(scores[2:] > 0.4)
    best = search.best_estimator_.named_steps["ae"]
    assert best.n_components == search.best_params_["ae__n_components"]
    assert search.predict(X[:3]).shape == (3,)


def test_warm_started_fit_applies_the_current_noise(digits):
    X = digits[:300]
    dae = DenoisingAutoencoder(**FAST, noise="masking", noise_level=0.1, warm_start=True).fit(X)
    weights = dae.net_.module_.encoder.linear.weight.detach().clone()
    dae.set_params(noise="gaussian", noise_level=0.5).fit(X)
    corruption = dae.net_.module_.corruption
    assert isinstance(corruption, GaussianNoise) and corruption.std == 0.5
    # Training went on from the first fit's weights.
    assert dae.n_iter_ == 2 * FAST["max_iter"]
    assert not torch.equal(dae.net_.module_.encoder.linear.weight, weights)
    # The cross-parameter check runs on continued fits too.
    with pytest.raises(ValueError, match="noise_level"):
        dae.set_params(noise="masking", noise_level=2.0).fit(X)


class ValidationBatches(Callback):
    """Keep the (input, target) pairs of each epoch's validation batches."""

    def on_batch_end(self, net, batch=None, training=False, **kwargs):
        if not training:
            self.pairs_ = [*getattr(self, "pairs_", []), (batch[0].clone(), batch[1].clone())]


def test_held_out_rows_are_scored_on_the_same_corruption_every_epoch(digits):
    # Early stopping must judge the denoising the model is trained for: the
    # validation input is corrupted, against the clean rows, and by the same
    # noise each epoch so that epochs compare.
    dae = DenoisingAutoencoder(
        **FAST | {"max_iter": 2, "callbacks": [ValidationBatches()]}, early_stopping=True
    ).fit(digits[:200])
    pairs = dict(dae.net_.callbacks_)["ValidationBatches"].pairs_
    assert len(pairs) == 2  # one batch of 20 held-out rows, each epoch
    (noisy_1, clean_1), (noisy_2, clean_2) = pairs
    assert torch.equal(noisy_1, noisy_2) and torch.equal(clean_1, clean_2)
    masked = (noisy_1 == 0) & (clean_1 != 0)
    assert 0.15 < masked.sum() / (clean_1 != 0).sum() < 0.35  # a quarter masked


def test_an_overcomplete_start_at_pca_is_not_kept_for_copying_its_input(digits):
    # 96 components of 64 pixels: PCA's start reconstructs clean rows
    # perfectly. Judged on corrupted held-out rows it is a poor denoiser, so
    # training goes on and the model learns to denoise.
    X_train, X_test = digits[:1000], digits[1400:]
    X_masked = X_test * (np.random.RandomState(0).rand(*X_test.shape) >= 0.25)
    dae = DenoisingAutoencoder(n_components=96, max_iter=40, random_state=0, device="cpu")
    dae.fit(X_train)
    assert dae.n_iter_ > 10
    cleaned = dae.inverse_transform(dae.transform(X_masked))
    assert np.mean((cleaned - X_test) ** 2) < 0.6 * np.mean((X_masked - X_test) ** 2)


@pytest.mark.parametrize(
    "penalty",
    [SparsityPenalty("kl", weight=1e-2), ContractionPenalty(weight=1e-2)],
    ids=["sparse", "contractive"],
)
def test_denoising_combines_with_a_penalty(digits, penalty):
    X = digits[:300]
    params = {**FAST, "n_components": 8, "code_activation": "logistic"}
    combined = DenoisingAutoencoder(**params, regularizers=[("extra", penalty)]).fit(X)
    name = "train_extra"
    assert name in combined.net_.history[-1]
    # The same corruption on the same seed: only the penalty differs.
    alone = DenoisingAutoencoder(**params).fit(X)
    assert combined.net_.module_.corruption.seed == alone.net_.module_.corruption.seed
    assert combined.loss_curve_[-1] > alone.loss_curve_[-1]


def test_a_plain_autoencoder_with_a_noise_corruption_is_the_denoising_one(digits):
    X = digits[:300]
    params = {**FAST, "n_components": 6}
    preset = DenoisingAutoencoder(**params, noise="gaussian", noise_level=0.2).fit(X)
    composed = Autoencoder(
        **params, regularizers=[("noise", NoiseCorruption("gaussian", 0.2))]
    ).fit(X)
    np.testing.assert_array_equal(preset.transform(X), composed.transform(X))
    assert composed.get_params()["noise__level"] == 0.2
