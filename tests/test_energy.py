"""The energy of a one-layer tied autoencoder, tested against its oracles.

1. Its gradient: ``grad E(x) = r(x) - x`` for a linear output, ``grad E(x) =
   logit(r(x))`` for a logistic one (``loss="bce"``), by autograd on random
   points, for every code activation.
2. For logistic codes, minus the free energy of the restricted Boltzmann
   machine with the same weights, computed by summing over every binary
   hidden configuration: ``E(x) = -F(x)`` exactly (additive constant 0).
"""

import itertools
import math

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError

from skae import VAE, Autoencoder, ConvolutionalArchitecture, SparseAutoencoder
from skae.nn import AutoencoderModule, MLPEncoder, TiedMLPDecoder, tied_energy
from skae.nn._energy import code_antiderivative, tied_energy_parameters

ACTIVATIONS = ["identity", "logistic", "tanh", "relu"]
OUTPUTS = ["identity", "logistic"]


def tied_module(n_features, n_components, activation, output_activation, seed=0):
    """A float64 one-layer tied autoencoder with random weights and biases."""
    encoder = MLPEncoder(n_features, (), n_components, "relu", activation)
    module = AutoencoderModule(
        encoder, TiedMLPDecoder(encoder, "relu"), output_activation=output_activation
    ).double()
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float64))
    return module.eval()


def energy_and_gradient(module, x):
    x = x.clone().requires_grad_(True)
    energy = tied_energy(x, **tied_energy_parameters(module))
    (gradient,) = torch.autograd.grad(energy.sum(), x)
    return energy.detach(), gradient


def random_points(n, n_features, seed=1):
    return 2 * torch.randn(n, n_features, generator=torch.Generator().manual_seed(seed)).double()


# ----------------------------------------------------------------- gradients


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_the_gradient_of_the_energy_is_the_reconstruction_minus_the_input(activation):
    module = tied_module(7, 4, activation, "identity")
    x = random_points(50, 7)
    _, gradient = energy_and_gradient(module, x)
    reconstruction = module(x)["reconstruction"]
    torch.testing.assert_close(gradient, reconstruction - x, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_with_a_logistic_output_the_gradient_is_the_reconstructions_logit(activation):
    # r(x) = sigmoid(W^T h + c): no potential has r(x) - x as its gradient,
    # but sum_k H(s_k) + c^T x has the logits W^T h + c.
    module = tied_module(7, 4, activation, "logistic")
    x = torch.rand(50, 7, generator=torch.Generator().manual_seed(2)).double()
    _, gradient = energy_and_gradient(module, x)
    output = module(x)
    torch.testing.assert_close(gradient, output["logits"], rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(torch.sigmoid(gradient), output["reconstruction"])
    assert not torch.allclose(gradient, output["reconstruction"] - x, atol=1e-2)


def test_the_relu_formula_of_the_slides_fails_the_gradient_test():
    # (sign(s) + 1) s^2 / 2 is s^2 on the positive side, whose derivative 2 s
    # is twice the relu: the antiderivative is max(s, 0)^2 / 2.
    module = tied_module(7, 4, "relu", "identity")
    params = tied_energy_parameters(module)
    x = random_points(50, 7).requires_grad_(True)
    s = x @ params["weight"].T + params["bias"]
    visible = 0.5 * (x - params["output_bias"]).pow(2).sum(1)
    slides = ((torch.sign(s) + 1) * s**2 / 2).sum(1) - visible
    (gradient,) = torch.autograd.grad(slides.sum(), x)
    target = module(x.detach())["reconstruction"] - x.detach()
    assert not torch.allclose(gradient, target, atol=1e-3)
    s = torch.linspace(-3, 3, 61, dtype=torch.float64, requires_grad=True)
    (derivative,) = torch.autograd.grad(code_antiderivative(s, "relu").sum(), s)
    torch.testing.assert_close(derivative, torch.relu(s.detach()))


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_the_antiderivative_differentiates_to_the_activation(activation):
    s = torch.linspace(-30, 30, 601, dtype=torch.float64, requires_grad=True)
    H = code_antiderivative(s, activation)
    assert torch.isfinite(H).all()  # log cosh and softplus stay finite far out
    (derivative,) = torch.autograd.grad(H.sum(), s)
    expected = {
        "identity": s,
        "logistic": torch.sigmoid(s),
        "tanh": torch.tanh(s),
        "relu": torch.relu(s),
    }[activation]
    torch.testing.assert_close(derivative, expected.detach())


# ------------------------------------------------------- restricted Boltzmann


def rbm_free_energy(v, W, b, c, visible):
    """Free energy of an RBM with binary hiddens, by summing over all 2^k hidden states.

    ``visible="gaussian"``: E(v, h) = ||v - c||^2 / 2 - b^T h - v^T W^T h
    (unit variances); ``visible="binary"``: E(v, h) = -c^T v - b^T h - v^T W^T h.
    F(v) = -log sum_h exp(-E(v, h)).
    """
    k = W.shape[0]
    states = torch.tensor(list(itertools.product([0.0, 1.0], repeat=k)), dtype=v.dtype)
    interaction = states @ b + (v @ W.T) @ states.T  # (n, 2^k)
    if visible == "gaussian":
        visible_term = -0.5 * (v - c).pow(2).sum(1, keepdim=True)
    else:
        visible_term = (v @ c)[:, None]
    return -torch.logsumexp(visible_term + interaction, dim=1)


@pytest.mark.parametrize(
    "output_activation, visible", [("identity", "gaussian"), ("logistic", "binary")]
)
def test_with_logistic_codes_the_energy_is_minus_the_rbm_free_energy(output_activation, visible):
    module = tied_module(6, 5, "logistic", output_activation, seed=3)
    params = tied_energy_parameters(module)
    v = random_points(40, 6, seed=4)
    if visible == "binary":
        v = (v > 0).double()
    energy = tied_energy(v, **params)
    free = rbm_free_energy(v, params["weight"], params["bias"], params["output_bias"], visible)
    # The constant is 0: H = softplus is exactly the RBM's marginalisation.
    torch.testing.assert_close(energy, -free, rtol=1e-12, atol=1e-10)
    # so exp(E) is proportional to the RBM's density: E - log Z is log p(v).
    assert not torch.allclose(energy, -free + 1.0)


# ---------------------------------------------------------------- estimators


@pytest.fixture(scope="module")
def digits():
    return (load_digits().data[:300] / 16).astype(np.float32)


def tied_estimator(activation, loss, **params):
    defaults = {"n_components": 6, "max_iter": 15, "device": "cpu", "random_state": 0}
    return Autoencoder(
        hidden_layer_sizes=(),
        tied_weights=True,
        code_activation=activation,
        loss=loss,
        **{**defaults, **params},
    )


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("loss", ["mse", "bce"])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_the_estimators_energy_holds_for_its_fitted_weights(digits, activation, loss):
    ae = tied_estimator(activation, loss).fit(digits)
    energy = ae.energy(digits)
    assert energy.dtype == np.float64 and energy.shape == (len(digits),)
    module = ae.net_.module_.double().eval()
    x = torch.as_tensor(digits, dtype=torch.float64)
    expected, gradient = energy_and_gradient(module, x)
    np.testing.assert_allclose(energy, expected.numpy(), rtol=1e-10, atol=1e-10)
    output = module(x)
    target = output["logits"] if loss == "bce" else output["reconstruction"] - x
    torch.testing.assert_close(gradient, target, rtol=1e-9, atol=1e-9)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_the_energy_holds_at_and_after_the_pca_start(digits):
    # init="auto" starts a linear tied network at PCA's solution: the energy
    # is that of whatever weights the fitted network has.
    for max_iter in (1, 30):
        ae = tied_estimator("identity", "mse", max_iter=max_iter).fit(digits)
        params = tied_energy_parameters(ae.net_.module_)
        W = params["weight"].detach().double().numpy()
        b = params["bias"].detach().double().numpy()
        c = params["output_bias"].detach().double().numpy()
        x = digits.astype(np.float64)
        expected = 0.5 * ((x @ W.T + b) ** 2).sum(1) - 0.5 * ((x - c) ** 2).sum(1)
        np.testing.assert_allclose(ae.energy(digits), expected, rtol=1e-9)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_a_row_has_the_same_energy_alone_as_in_a_batch(digits):
    ae = tied_estimator("logistic", "mse").fit(digits)
    batch = ae.energy(digits)
    alone = np.array([ae.energy(digits[i : i + 1])[0] for i in range(0, 300, 37)])
    np.testing.assert_allclose(alone, batch[::37], rtol=1e-12)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_the_energy_of_a_sparse_family_and_sparse_input(digits):
    import scipy.sparse as sp

    ae = SparseAutoencoder(
        n_components=6, hidden_layer_sizes=(), tied_weights=True, max_iter=5, random_state=0
    ).fit(digits)
    np.testing.assert_allclose(ae.energy(sp.csr_matrix(digits)), ae.energy(digits))


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize(
    "estimator, match",
    [
        (Autoencoder(hidden_layer_sizes=(8,), tied_weights=True), "encoder has 2 layers"),
        (Autoencoder(hidden_layer_sizes=()), "decoder is MLPDecoder, not the tied"),
        (Autoencoder(hidden_layer_sizes=(8,)), "encoder is LinearShortcut"),
        (
            Autoencoder(architecture=ConvolutionalArchitecture(channels=(2,)), init="random"),
            "encoder is ConvEncoder",
        ),
        (VAE(hidden_layer_sizes=()), "network is VariationalModule"),
    ],
    ids=["deep-tied", "untied", "deep-untied", "conv", "vae"],
)
def test_networks_without_a_closed_form_energy_are_refused(digits, estimator, match):
    estimator.set_params(max_iter=1, device="cpu", random_state=0).fit(digits)
    with pytest.raises(ValueError, match=rf"energy needs a one-layer .* here the {match}"):
        estimator.energy(digits)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_energy_needs_a_fitted_estimator_with_the_right_width(digits):
    ae = tied_estimator("tanh", "mse")
    with pytest.raises(NotFittedError):
        ae.energy(digits)
    ae.set_params(max_iter=1).fit(digits)
    with pytest.raises(ValueError, match="features"):
        ae.energy(digits[:, :10])


def test_unknown_activations_are_refused():
    with pytest.raises(ValueError, match="Unknown code activation"):
        code_antiderivative(torch.zeros(3), "gelu")
    with pytest.raises(ValueError, match="Unknown output_activation"):
        zeros = torch.zeros(1, 2), torch.zeros(1, 2), torch.zeros(1), torch.zeros(2)
        tied_energy(*zeros, "relu", "x")


def test_the_tanh_antiderivative_is_log_cosh_without_overflow():
    s = torch.tensor([-800.0, -3.0, 0.0, 0.5, 800.0], dtype=torch.float64)
    H = code_antiderivative(s, "tanh")
    np.testing.assert_allclose(H[1:4].numpy(), np.log(np.cosh(s[1:4].numpy())), rtol=1e-12)
    np.testing.assert_allclose(H[[0, 4]].numpy(), 800.0 - math.log(2.0), rtol=1e-12)
