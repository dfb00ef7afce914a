"""Weight constraints, uncorrelated and ordered codes, and PCA's attributes."""

import numpy as np
import pytest
import torch
from scipy.linalg import subspace_angles
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA

from skae import (
    Autoencoder,
    ConvolutionalArchitecture,
    DecorrelationPenalty,
    DenoisingAutoencoder,
    OrderedCode,
    WeightConstraint,
)

# A linear autoencoder trained full-batch, started at random: what it learns
# is its own, not PCA's start kept.
LINEAR = {
    "hidden_layer_sizes": (),
    "activation": "identity",
    "init": "random",
    "early_stopping": False,
    "learning_rate_init": 1e-2,
    "tol": 0.0,
    "random_state": 0,
    "device": "cpu",
}


@pytest.fixture(scope="module")
def digits():
    X = load_digits().data / 16
    return X - X.mean(axis=0)


def encoder_weights(est):
    return [
        m.weight.detach()
        for m in est.net_.module_.encoder.modules()
        if isinstance(m, torch.nn.Linear)
    ]


@pytest.mark.parametrize("kind", ["orthogonal", "unit_norm"])
@pytest.mark.parametrize("hidden", [(), (24,)], ids=["one layer", "deep"])
def test_the_weight_constraint_holds_after_training(digits, kind, hidden):
    est = Autoencoder(
        n_components=5,
        hidden_layer_sizes=hidden,
        max_iter=5,
        random_state=0,
        device="cpu",
        regularizers=[("constraint", WeightConstraint(kind))],
    ).fit(digits[:400])
    weights = encoder_weights(est)
    assert weights
    for weight in weights:
        if kind == "unit_norm":
            torch.testing.assert_close(
                weight.norm(dim=1), torch.ones(len(weight)), atol=1e-6, rtol=0
            )
        else:
            torch.testing.assert_close(weight @ weight.T, torch.eye(len(weight)), atol=1e-5, rtol=0)


def test_constrained_linear_tied_autoencoder_is_pca_itself(digits):
    # Orthonormal tied weights span the principal subspace; uncorrelated codes
    # then pick its axes: each encoder row is one of PCA's components.
    k = 5
    est = Autoencoder(
        n_components=k,
        tied_weights=True,
        batch_size=len(digits),
        max_iter=1500,
        regularizers=[
            ("orthogonal", WeightConstraint("orthogonal")),
            ("uncorrelated", DecorrelationPenalty(1.0)),
        ],
        **LINEAR,
    ).fit(digits)
    rows = est.net_.module_.encoder.linears[0].weight.detach().numpy().astype(np.float64)
    components = PCA(k).fit(digits).components_
    cosines = np.abs(rows @ components.T)
    # Each row matches one component, a different one for each row.
    assert np.all(cosines.max(axis=1) >= 0.99), cosines.round(3)
    assert sorted(cosines.argmax(axis=1)) == list(range(k))


def test_without_the_penalty_only_the_subspace_is_pca(digits):
    k = 5
    est = Autoencoder(
        n_components=k,
        tied_weights=True,
        batch_size=len(digits),
        max_iter=1500,
        regularizers=[("orthogonal", WeightConstraint("orthogonal"))],
        **LINEAR,
    ).fit(digits)
    rows = est.net_.module_.encoder.linears[0].weight.detach().numpy().astype(np.float64)
    components = PCA(k).fit(digits).components_
    # The same subspace (singular values of the overlap all near 1) ...
    assert np.linalg.svd(rows @ components.T, compute_uv=False).min() > 0.99
    # ... but the rows are a rotation of the axes, not the axes.
    assert np.abs(rows @ components.T).max(axis=1).min() < 0.99


def test_an_ordered_linear_code_recovers_the_principal_directions_in_order():
    # Gaussian rows whose principal variances (9, 4, 1, 0.25, then 0.01) are
    # well apart, along random axes.
    rng = np.random.RandomState(0)
    axes = np.linalg.qr(rng.normal(size=(12, 12)))[0].T
    scales = np.array([3.0, 2.0, 1.0, 0.5] + [0.1] * 8)
    X = (rng.normal(size=(2000, 12)) * scales) @ axes
    k = 4
    est = Autoencoder(
        n_components=k,
        batch_size=len(X),
        max_iter=1500,
        regularizers=[("order", OrderedCode(p=0.3))],
        **LINEAR,
    ).fit(X)
    # The first j units span the first j principal directions (measured: 9, 5
    # and 12 degrees off for j = 1, 2, 3; nested dropout converges slowly on
    # its rarely trained last units, and the fourth is 58 degrees off).
    decoder = est.components_
    for j in (1, 2, 3):
        assert np.degrees(subspace_angles(decoder[:j].T, axes[:j].T)).max() < 15, j
    ratios = est.explained_variance_ratio_
    assert np.all(np.diff(ratios) < 0)  # ordered, as PCA's
    np.testing.assert_allclose(ratios, PCA(k).fit(X).explained_variance_ratio_, atol=0.04)


def test_explained_variance_of_the_pca_start_is_pcas(digits):
    # A linear autoencoder that keeps PCA's start is PCA: the same shares.
    est = Autoencoder(
        n_components=6,
        hidden_layer_sizes=(),
        activation="identity",
        max_iter=3,
        random_state=0,
        device="cpu",
        regularizers=[("order", OrderedCode())],
    ).fit(digits[:1000])
    pca = PCA(6).fit(digits[:1000])
    np.testing.assert_allclose(
        est.explained_variance_ratio_, pca.explained_variance_ratio_, atol=2e-3
    )
    assert est.total_explained_variance_ratio_ == pytest.approx(est.explained_variance_ratio_.sum())
    cosines = np.abs(np.sum(est.components_ * pca.components_, axis=1))
    np.testing.assert_allclose(cosines, 1.0, atol=1e-4)


def test_an_unordered_code_has_only_the_total(digits):
    est = Autoencoder(n_components=6, max_iter=5, random_state=0, device="cpu").fit(digits[:500])
    assert not hasattr(est, "explained_variance_ratio_")
    assert not hasattr(est, "components_")  # not a linear model
    reconstruction = est.inverse_transform(est.transform(digits[:500]))
    r2 = 1 - np.sum((reconstruction - digits[:500]) ** 2) / np.sum(
        (digits[:500] - digits[:500].mean(axis=0)) ** 2
    )
    assert est.total_explained_variance_ratio_ == pytest.approx(r2, rel=1e-4)


def test_a_share_of_variance_keeps_the_smallest_prefix_that_reaches_it(digits):
    X = digits[:1000]
    est = Autoencoder(
        n_components=0.8,
        max_iter=20,
        random_state=0,
        device="cpu",
        regularizers=[("order", OrderedCode())],
    ).fit(X)
    pca_width = int(np.searchsorted(np.cumsum(PCA().fit(X).explained_variance_ratio_), 0.8) + 1)
    width = est._fitted_with.n_components
    assert width <= pca_width
    k = est.n_components_
    assert 1 <= k <= width
    shares = np.cumsum(est.explained_variance_ratio_)
    assert shares[-1] >= 0.8 or k == width
    assert k == 1 or shares[-2] < 0.8  # the smallest such prefix
    codes = est.transform(X)
    assert codes.shape == (len(X), k)
    assert est.inverse_transform(codes).shape == X.shape
    assert len(est.get_feature_names_out()) == k
    # score_samples uses the kept prefix, as transform does.
    reconstruction = est.inverse_transform(codes).astype(np.float64)
    np.testing.assert_allclose(
        est.score_samples(X), -np.mean((reconstruction - X) ** 2, axis=1), rtol=1e-4
    )


def test_a_share_of_variance_needs_an_ordered_code(digits):
    with pytest.raises(ValueError, match="OrderedCode"):
        Autoencoder(n_components=0.9, max_iter=1).fit(digits[:50])


def test_weight_constraints_are_for_mlps(digits):
    conv = ConvolutionalArchitecture((8, 8), channels=(2,))
    with pytest.raises(ValueError, match="MLP"):
        Autoencoder(architecture=conv, max_iter=1, regularizers=[("w", WeightConstraint())]).fit(
            digits[:50]
        )


def test_constraints_and_ordering_combine_with_other_families(digits):
    dae = DenoisingAutoencoder(
        n_components=4,
        hidden_layer_sizes=(16,),
        max_iter=3,
        random_state=0,
        device="cpu",
        regularizers=[("order", OrderedCode()), ("unit", WeightConstraint("unit_norm"))],
    ).fit(digits[:300])
    assert dae.explained_variance_ratio_.shape == (4,)
    for weight in encoder_weights(dae):
        torch.testing.assert_close(weight.norm(dim=1), torch.ones(len(weight)), atol=1e-6, rtol=0)
