"""What VariationalAutoencoder adds: ELBO scores, sampling, a 2-D map, KL terms."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier
from torch.distributions import Bernoulli, Normal

from skae import VAE, VariationalAutoencoder

# Settings measured on digits: the learned Gaussian variance needs a few
# hundred optimizer steps to settle, hence the higher rate and smaller batches.
FAST = {
    "hidden_layer_sizes": (128, 64),
    "learning_rate_init": 3e-3,
    "batch_size": 64,
    "device": "cpu",
    "random_state": 0,
}


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16, y, test_size=0.3, random_state=0, stratify=y)


@pytest.fixture(scope="module")
def vae(digits):
    X_train = digits[0]
    return VAE(n_components=2, max_iter=60, **FAST).fit(X_train)


def test_alias():
    assert VAE is VariationalAutoencoder


def test_two_dimensional_map_beats_pca(digits, vae):
    X_train, X_test, y_train, y_test = digits

    def knn_accuracy(reducer):
        knn = KNeighborsClassifier(n_neighbors=5).fit(reducer.transform(X_train), y_train)
        return knn.score(reducer.transform(X_test), y_test)

    pca = knn_accuracy(PCA(n_components=2).fit(X_train))
    assert 0.55 < pca < 0.67  # about 0.61
    assert knn_accuracy(vae) > pca + 0.12  # measured about 0.82


@pytest.mark.parametrize("loss", ["mse", "bce"])
def test_elbo_separates_digits_from_noise(digits, vae, loss):
    X_train, X_test = digits[0], digits[1]
    model = vae if loss == "mse" else VAE(2, loss="bce", max_iter=30, **FAST).fit(X_train)
    noise = np.random.RandomState(0).uniform(size=(300, 64))
    digit_scores, noise_scores = model.score_samples(X_test), model.score_samples(noise)
    assert digit_scores.dtype == np.float64 and digit_scores.shape == (len(X_test),)
    assert np.mean(digit_scores > noise_scores.max()) > 0.98
    assert model.score(X_test) == pytest.approx(digit_scores.mean())


def test_score_samples_is_a_monte_carlo_elbo(digits, vae):
    # Independent estimate with torch.distributions and many random draws.
    X = digits[1][:5]
    module = vae.net_.module_.eval()
    x = torch.tensor(X, dtype=torch.float32)
    with torch.no_grad():
        mean, log_var = module.posterior(x)
        q = Normal(mean.double(), (0.5 * log_var.double()).exp())
        z = q.sample((4000,))
        recon = module.decode(z.float().reshape(-1, 2)).double().reshape(4000, 5, -1)
        sigma = module.log_scale.double().exp()
        log_lik = Normal(recon, sigma).log_prob(x.double()).sum(-1)
        kl = torch.distributions.kl_divergence(q, Normal(0.0, 1.0)).sum(-1)
        elbo = (log_lik.mean(0) - kl).numpy()
        spread = log_lik.std(0).numpy() / np.sqrt(4000)
    scores = vae.score_samples(X)
    # 16 fixed draws against 4000 random ones: equal within 4 standard errors
    # of a 16-draw mean (the draws are fixed, so this cannot flicker).
    tolerance = 4 * spread * np.sqrt(4000 / 16) + 6 * spread
    assert np.all(np.abs(scores - elbo) < tolerance), (scores, elbo, tolerance)
    assert not np.array_equal(scores, elbo)


def test_bernoulli_elbo_matches_bernoulli_log_prob_at_small_variance(digits):
    X = digits[0][:200]
    model = VAE(2, loss="bce", max_iter=3, **FAST).fit(X)
    module = model.net_.module_.eval()
    x = torch.tensor(X[:4], dtype=torch.float64)
    twin = module.double()
    with torch.no_grad():
        mean, log_var = twin.posterior(x)
        # With the posterior variance forced to zero every draw is the mean.
        twin.posterior = lambda inputs: (mean, torch.full_like(log_var, -30.0))
        logits = twin.decoder(mean)
        expected = Bernoulli(logits=logits, validate_args=False).log_prob(x).sum(-1)
        kl = 0.5 * (np.exp(-30.0) + mean.pow(2) - 1 + 30.0).sum(-1)
    model.net_.module_ = twin
    np.testing.assert_allclose(model.score_samples(X[:4]), (expected - kl).numpy(), rtol=1e-9)


def test_transform_is_the_deterministic_posterior_mean(digits, vae):
    X = digits[1][:50]
    first = vae.transform(X)
    np.testing.assert_array_equal(first, vae.transform(X))
    mean, _ = vae.net_.module_.eval().posterior(torch.tensor(X, dtype=torch.float32))
    np.testing.assert_allclose(first, mean.detach().numpy(), rtol=1e-6)
    np.testing.assert_array_equal(vae.transform(X[:7]), first[:7])


def test_sampling_is_reproducible(vae):
    a = vae.sample(6, random_state=3)
    assert a.shape == (6, 64)
    np.testing.assert_array_equal(a, vae.sample(6, random_state=3))
    assert not np.allclose(a, vae.sample(6, random_state=4))
    z = np.random.RandomState(3).standard_normal((6, 2))
    np.testing.assert_allclose(a, vae.inverse_transform(z), rtol=1e-6)
    with pytest.raises(ValueError, match="n_samples"):
        vae.sample(0)


def test_bernoulli_samples_are_probabilities(digits):
    model = VAE(2, loss="bce", max_iter=2, **FAST).fit(digits[0][:100])
    samples = model.sample(20, random_state=0)
    assert samples.min() >= 0 and samples.max() <= 1


def test_history_records_reconstruction_and_kl(digits):
    X = digits[0][:300]
    model = VAE(2, beta=2.0, max_iter=4, **FAST).fit(X)
    assert len(model.kl_curve_) == len(model.reconstruction_curve_) == model.n_iter_ == 4
    assert model.kl_curve_ == list(model.net_.history[:, "train_kl"])
    expected = np.add(model.reconstruction_curve_, 2.0 * np.asarray(model.kl_curve_))
    np.testing.assert_allclose(model.loss_curve_, expected, rtol=1e-5)


def test_beta_trades_kl_for_reconstruction(digits):
    X = digits[0]
    low = VAE(2, beta=0.2, max_iter=20, **FAST).fit(X)
    high = VAE(2, beta=5.0, max_iter=20, **FAST).fit(X)
    assert high.kl_curve_[-1] < 0.5 * low.kl_curve_[-1]
    assert high.reconstruction_curve_[-1] > low.reconstruction_curve_[-1]


def test_same_seed_same_fit_and_pickle_round_trip(digits):
    X = digits[0][:200]
    one = VAE(2, max_iter=3, **FAST).fit(X)
    two = VAE(2, max_iter=3, **FAST).fit(X)
    np.testing.assert_array_equal(one.loss_curve_, two.loss_curve_)
    np.testing.assert_array_equal(one.transform(X), two.transform(X))
    loaded = pickle.loads(pickle.dumps(one))
    np.testing.assert_array_equal(loaded.score_samples(X), one.score_samples(X))
    loaded.set_params(warm_start=True, max_iter=1).fit(X)  # the sampler restarts lazily
    assert loaded.n_iter_ == 4


@pytest.mark.parametrize(
    ("params", "match"),
    [({"code_activation": "tanh"}, "code_activation"), ({"tied_weights": True}, "tied")],
)
def test_unsupported_settings_raise(digits, params, match):
    with pytest.raises(ValueError, match=match):
        VAE(max_iter=1, device="cpu", **params).fit(digits[0][:20])
