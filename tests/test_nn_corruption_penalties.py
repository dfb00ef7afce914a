"""Corruption modules and penalty functions, tested on tensors against oracles."""

import io
import math

import pytest
import torch
from torch import nn

from skae.nn import (
    AutoencoderModule,
    GaussianNoise,
    JacobianProjectionModule,
    MaskingNoise,
    MLPDecoder,
    MLPEncoder,
    SaltAndPepperNoise,
    activation_derivative,
    contractive_penalty_closed_form,
    contractive_penalty_projected,
    encode_with_projection,
    init_parameters_,
    kl_sparsity,
    l1_activity,
)

N = 200_000  # values per statistics test: standard errors near 1e-3


def corruptions(seed=0):
    low, high = torch.tensor([-1.0, 0.0, 2.0]), torch.tensor([1.0, 5.0, 3.0])
    return [
        GaussianNoise(0.3, seed),
        MaskingNoise(0.3, seed),
        SaltAndPepperNoise(0.3, low, high, seed),
    ]


def rows(n=N // 3, seed=1):
    return torch.rand(n, 3, generator=torch.Generator().manual_seed(seed)) + 0.5


# ----------------------------------------------------------------- corruption


@pytest.mark.parametrize("noise", corruptions(), ids=type)
def test_corruption_acts_only_in_training_mode(noise):
    x = rows(100)
    assert noise.eval()(x) is x
    assert not torch.equal(noise.train()(x), x)


def test_gaussian_noise_has_zero_mean_and_the_given_std():
    x = rows()
    delta = (GaussianNoise(0.3, seed=0)(x) - x).flatten()
    assert abs(delta.mean().item()) < 4 * 0.3 / math.sqrt(N)
    assert delta.std().item() == pytest.approx(0.3, rel=0.01)


def test_masking_zeroes_the_fraction_and_keeps_the_rest():
    x = rows()
    out = MaskingNoise(0.3, seed=0)(x)
    zeroed = out == 0
    assert zeroed.float().mean().item() == pytest.approx(0.3, abs=0.005)
    assert torch.equal(out[~zeroed], x[~zeroed])
    assert torch.equal(MaskingNoise(0.0, seed=0)(x), x)
    assert not MaskingNoise(1.0, seed=0)(x).any()


def test_salt_and_pepper_uses_each_features_low_and_high_values():
    x = rows()
    noise = corruptions()[2]
    out = noise(x)
    is_low, is_high = out == noise.low, out == noise.high
    assert is_low.float().mean().item() == pytest.approx(0.15, abs=0.005)
    assert is_high.float().mean().item() == pytest.approx(0.15, abs=0.005)
    # Each feature gets its own values, in equal shares.
    for j in range(3):
        assert is_low[:, j].float().mean().item() == pytest.approx(0.15, abs=0.01)
        assert is_high[:, j].float().mean().item() == pytest.approx(0.15, abs=0.01)
    kept = ~(is_low | is_high)
    assert torch.equal(out[kept], x[kept])


@pytest.mark.parametrize("index", range(3), ids=["gaussian", "masking", "salt_and_pepper"])
def test_noise_comes_from_the_seed_not_the_global_generator(index):
    x = rows(1000)
    torch.manual_seed(123)
    state = torch.get_rng_state()
    first = corruptions(seed=5)[index](x)
    assert torch.equal(torch.get_rng_state(), state)
    torch.manual_seed(999)
    assert torch.equal(corruptions(seed=5)[index](x), first)
    assert not torch.equal(corruptions(seed=6)[index](x), first)


@pytest.mark.parametrize("index", range(3), ids=["gaussian", "masking", "salt_and_pepper"])
def test_pickled_corruption_drops_its_generator_and_restarts_from_the_seed(index):
    x = rows(1000)
    noise = corruptions(seed=5)[index]
    first = noise(x)
    assert noise._generator is not None
    buffer = io.BytesIO()
    torch.save(noise, buffer)
    buffer.seek(0)
    restored = torch.load(buffer, weights_only=False)
    assert restored._generator is None
    assert torch.equal(restored(x), first)


def test_invalid_corruption_strengths_are_rejected():
    with pytest.raises(ValueError, match="std"):
        GaussianNoise(-0.1, seed=0)
    with pytest.raises(ValueError, match="fraction"):
        MaskingNoise(1.5, seed=0)


# ------------------------------------------------------------------ penalties


def test_l1_activity_is_the_row_sum_of_absolute_values():
    code = torch.tensor([[1.0, -2.0, 0.0], [-0.5, 0.5, 3.0]])
    assert torch.equal(l1_activity(code), torch.tensor([3.0, 4.0]))


def test_kl_sparsity_matches_the_bernoulli_kl_of_the_mean_activations():
    code = torch.tensor([[0.1, 0.8], [0.3, 0.4], [0.2, 0.3]], requires_grad=True)
    rho, p = [0.2, 0.5], 0.05
    expected = sum(p * math.log(p / r) + (1 - p) * math.log((1 - p) / (1 - r)) for r in rho)
    values = kl_sparsity(code, target=p)
    assert values.shape == (3,)
    torch.testing.assert_close(values, torch.full((3,), expected))
    # The batch mean is the penalty, so its gradient is the penalty's gradient.
    (grad,) = torch.autograd.grad(values.mean(), code)
    mean = code.detach().mean(dim=0)
    expected_grad = (-p / mean + (1 - p) / (1 - mean)) / 3
    torch.testing.assert_close(grad, expected_grad.expand(3, 2))


def test_kl_sparsity_is_finite_for_dead_units():
    assert torch.isfinite(kl_sparsity(torch.zeros(4, 3), target=0.05)).all()


def exact_jacobian_norm(encoder, x):
    """Squared Frobenius norm of the encoder's Jacobian at each row, by autograd."""
    jacobian = torch.func.vmap(torch.func.jacrev(lambda row: encoder(row[None])[0]))(x)
    return jacobian.pow(2).flatten(1).sum(dim=1)


@pytest.mark.parametrize("activation", ["logistic", "tanh", "relu", "identity"])
def test_closed_form_contraction_matches_the_autograd_jacobian(activation):
    generator = torch.Generator().manual_seed(0)
    encoder = init_parameters_(MLPEncoder(7, (), 5, "relu", activation), generator)
    x = torch.randn(6, 7, generator=generator)
    layer = encoder.linears[0]
    values = contractive_penalty_closed_form(encoder(x), layer.weight, activation)
    torch.testing.assert_close(values, exact_jacobian_norm(encoder, x))
    # Its gradient with respect to the weights is the exact penalty's too.
    (got,) = torch.autograd.grad(values.sum(), layer.weight)
    exact = sum(
        torch.autograd.functional.jacobian(encoder, row[None], create_graph=True).pow(2).sum()
        for row in x
    )
    (expected,) = torch.autograd.grad(exact, layer.weight)
    torch.testing.assert_close(got, expected)


def test_activation_derivative_rejects_unknown_names():
    with pytest.raises(ValueError, match="softplus"):
        activation_derivative(torch.zeros(1), "softplus")


def deep_encoder(seed=0):
    generator = torch.Generator().manual_seed(seed)
    return init_parameters_(MLPEncoder(6, (9, 7), 3, "tanh", "logistic"), generator)


def test_projected_contraction_is_unbiased_against_the_autograd_jacobian():
    encoder = deep_encoder()
    x = torch.randn(4, 6, generator=torch.Generator().manual_seed(1))
    exact = exact_jacobian_norm(encoder, x)
    m = 20_000
    with torch.no_grad():
        repeated = x.repeat(m, 1)
        _, projection = encode_with_projection(encoder, repeated, torch.Generator().manual_seed(2))
        draws = projection.pow(2).sum(dim=1).view(m, 4)
    standard_error = draws.std(dim=0) / math.sqrt(m)
    assert torch.all((draws.mean(dim=0) - exact).abs() < 4 * standard_error)
    estimate = contractive_penalty_projected(
        encoder, x, n_projections=m, generator=torch.Generator().manual_seed(2)
    )
    torch.testing.assert_close(estimate, draws.mean(dim=0))


def test_projection_is_a_jacobian_vector_product_with_sign_vectors():
    encoder = deep_encoder()
    x = torch.randn(5, 6, generator=torch.Generator().manual_seed(1))
    code, projection = encode_with_projection(encoder, x, torch.Generator().manual_seed(3))
    torch.testing.assert_close(code, encoder(x))
    jacobian = torch.func.vmap(torch.func.jacrev(lambda row: encoder(row[None])[0]))(x)
    # Some vector of six signs v must give projection = J v, row by row.
    signs = torch.tensor([[1.0 - 2 * ((k >> i) & 1) for i in range(6)] for k in range(64)])
    candidates = torch.einsum("nij,kj->nki", jacobian, signs)
    distance = (candidates - projection[:, None]).abs().amax(dim=2).amin(dim=1)
    assert torch.all(distance < 1e-5)


def test_projected_contraction_gradient_flows_to_the_encoder_weights():
    encoder = deep_encoder()
    x = torch.randn(8, 6)
    contractive_penalty_projected(encoder, x, generator=torch.Generator()).sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in encoder.parameters())


def test_jacobian_projection_module_starts_as_the_plain_module_and_adds_the_projection():
    def build(cls):
        encoder = MLPEncoder(6, (9,), 3, "relu", "identity")
        decoder = MLPDecoder(3, (9,), 6, "relu")
        return init_parameters_(cls(encoder, decoder), torch.Generator().manual_seed(0))

    plain, projecting = build(AutoencoderModule), build(JacobianProjectionModule)
    for (name, a), (_, b) in zip(
        plain.named_parameters(), projecting.named_parameters(), strict=True
    ):
        assert torch.equal(a, b), name
    x = torch.rand(4, 6)
    out = projecting.train()(x)
    torch.testing.assert_close(out["reconstruction"], plain(x)["reconstruction"])
    assert out["jacobian_projection"].shape == (4, 3)
    evaluated = projecting.eval()(x)
    assert "jacobian_projection" not in evaluated
    torch.testing.assert_close(evaluated["code"], plain.encoder(x))


def test_projection_of_a_constant_encoder_is_zero():
    constant = nn.Linear(2, 3)
    code, projection = encode_with_projection(
        lambda x: constant.bias.expand(len(x), 3), torch.ones(4, 2)
    )
    assert torch.equal(projection, torch.zeros(4, 3))
    assert code.shape == (4, 3)
