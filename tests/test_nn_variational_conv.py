"""Torch-level tests of the variational and convolutional building blocks."""

import copy
import pickle

import numpy as np
import pytest
import torch
from torch.distributions import Bernoulli, Normal, kl_divergence

from skae.nn import (
    ConvDecoder,
    ConvEncoder,
    GaussianSampler,
    MLPDecoder,
    MLPEncoder,
    NegativeLogLikelihood,
    VariationalModule,
    bernoulli_nll,
    conv_output_sizes,
    gaussian_kl,
    gaussian_nll,
    init_parameters_,
)


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


# ------------------------------------------------------------------ losses


def test_gaussian_kl_of_standard_normal_is_zero():
    kl = gaussian_kl(torch.zeros(4, 3, dtype=torch.float64), torch.zeros(4, 3, dtype=torch.float64))
    assert kl.shape == (4,)
    np.testing.assert_array_equal(kl.numpy(), 0.0)


def test_gaussian_kl_matches_closed_forms():
    g = _gen(1)
    mean = torch.randn(50, 5, generator=g, dtype=torch.float64) * 2
    log_var = torch.randn(50, 5, generator=g, dtype=torch.float64)
    kl = gaussian_kl(mean, log_var)
    # torch.distributions, factor by factor.
    oracle = kl_divergence(Normal(mean, (0.5 * log_var).exp()), Normal(0.0, 1.0)).sum(dim=1)
    np.testing.assert_allclose(kl.numpy(), oracle.numpy(), rtol=1e-12)
    # The multivariate formula 0.5 (tr S + m'm - k - log det S), in numpy.
    m, s = mean.numpy(), np.exp(log_var.numpy())
    formula = 0.5 * (s.sum(1) + (m * m).sum(1) - m.shape[1] - np.log(np.prod(s, axis=1)))
    np.testing.assert_allclose(kl.numpy(), formula, rtol=1e-10)
    assert (kl.numpy() > 0).all()


def test_gaussian_nll_matches_normal_log_prob():
    g = _gen(2)
    target, mean = torch.randn(2, 6, 7, generator=g, dtype=torch.float64)
    log_scale = torch.tensor([-0.7], dtype=torch.float64)
    nll = gaussian_nll(target, mean, log_scale)
    oracle = -Normal(mean, log_scale.exp()).log_prob(target).sum(dim=1)
    np.testing.assert_allclose(nll.numpy(), oracle.numpy(), rtol=1e-12)


def test_bernoulli_nll_matches_bernoulli_log_prob():
    g = _gen(3)
    logits = torch.randn(6, 9, generator=g, dtype=torch.float64) * 3
    target = (torch.rand(6, 9, generator=g, dtype=torch.float64) > 0.5).double()
    oracle = -Bernoulli(logits=logits).log_prob(target).sum(dim=1)
    np.testing.assert_allclose(bernoulli_nll(logits, target).numpy(), oracle.numpy(), rtol=1e-12)


def test_negative_log_likelihood_reads_the_likelihoods_parameters():
    x = torch.rand(3, 4)
    out = {"logits": torch.zeros(3, 4), "reconstruction": x, "log_scale": torch.zeros(1)}
    bce = NegativeLogLikelihood("bernoulli")(out, x)
    np.testing.assert_allclose(bce.numpy(), 4 * np.log(2), rtol=1e-6)
    gauss = NegativeLogLikelihood("gaussian")(out, x)  # perfect mean, unit variance
    np.testing.assert_allclose(gauss.numpy(), 2 * np.log(2 * np.pi), rtol=1e-6)
    with pytest.raises(ValueError, match="likelihood"):
        NegativeLogLikelihood("poisson")


# ---------------------------------------------------------------- sampling


def test_sampler_is_identity_in_eval_and_gaussian_in_training():
    sampler = GaussianSampler(seed=5)
    mean = torch.full((20000, 2), 3.0)
    log_var = torch.log(torch.tensor([[0.25, 4.0]])).expand(20000, 2)
    sampler.eval()
    assert torch.equal(sampler(mean, log_var), mean)
    sampler.train()
    z = sampler(mean, log_var)
    np.testing.assert_allclose(z.mean(0).numpy(), [3.0, 3.0], atol=0.05)
    np.testing.assert_allclose(z.var(0).numpy(), [0.25, 4.0], rtol=0.05)


def test_sampler_is_reproducible_private_and_pickles_without_its_generator():
    mean, log_var = torch.zeros(4, 3), torch.zeros(4, 3)
    state = torch.get_rng_state()
    first = GaussianSampler(seed=7)
    a = first(mean, log_var)
    assert torch.equal(torch.get_rng_state(), state)  # global RNG untouched
    assert torch.equal(GaussianSampler(seed=7)(mean, log_var), a)
    assert not torch.equal(GaussianSampler(seed=8)(mean, log_var), a)
    b = first(mean, log_var)  # the stream goes on
    clone = pickle.loads(pickle.dumps(first))
    assert clone._generator is None
    assert torch.equal(clone(mean, log_var), a)  # restarts from the seed
    assert not torch.equal(a, b)


def test_init_draws_the_sampler_seed_from_the_generator():
    def build():
        enc = MLPEncoder(5, (8,), 4, "relu", "identity")
        return VariationalModule(enc, MLPDecoder(2, (8,), 5, "relu"), 2, "gaussian")

    one = init_parameters_(build(), _gen(0))
    two = init_parameters_(build(), _gen(0))
    other = init_parameters_(build(), _gen(1))
    assert one.sampler.seed == two.sampler.seed != other.sampler.seed
    assert one.log_scale.item() == 0.0
    for p, q in zip(one.parameters(), two.parameters(), strict=True):
        assert torch.equal(p, q)


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_variational_module_outputs(likelihood):
    enc = MLPEncoder(5, (8,), 4, "relu", "identity")
    module = VariationalModule(enc, MLPDecoder(2, (8,), 5, "relu"), 2, likelihood)
    init_parameters_(module, _gen(0))
    x = torch.rand(6, 5)
    h = module.encoder(x)
    module.eval()
    out = module(x)
    assert torch.equal(out["mean"], h[:, :2]) and torch.equal(out["log_var"], h[:, 2:])
    assert torch.equal(out["code"], out["mean"])
    assert torch.equal(module.encode(x), out["mean"])
    assert torch.allclose(module.decode(out["mean"]), out["reconstruction"])
    assert ("logits" in out) == (likelihood == "bernoulli")
    module.train()
    assert not torch.equal(module(x)["code"], out["mean"])
    twin = copy.deepcopy(module).double()
    assert twin.encode(x.double()).dtype == torch.float64


# ------------------------------------------------------------ convolutions


@pytest.mark.parametrize("upsampling", ["nearest", "bilinear", "transposed"])
@pytest.mark.parametrize("shape", [(1, 8, 8), (3, 7, 5), (1, 1, 6), (2, 28, 28)])
def test_conv_shapes_round_trip(shape, upsampling):
    channels = (4, 6, 8)
    n_features = int(np.prod(shape))
    enc = ConvEncoder(shape, channels, 3)
    dec = ConvDecoder(shape, channels, 3, upsampling=upsampling)
    init_parameters_(torch.nn.ModuleList([enc, dec]), _gen(0))
    x = torch.rand(2, n_features)
    assert enc(x).shape == (2, 3)
    assert dec(enc(x)).shape == (2, n_features)
    # The encoder's feature maps have the documented sizes.
    maps = enc.convs(x.reshape(2, *shape))
    assert tuple(maps.shape[2:]) == conv_output_sizes(*shape[1:], len(channels))[-1]


def test_conv_encoder_reads_rows_as_channel_height_width():
    # Shifting the image by the stride shifts the feature map by one cell, which
    # holds only if rows are reshaped in (C, H, W) order.
    enc = init_parameters_(ConvEncoder((2, 12, 10), (3,), 2), _gen(0))
    image = torch.zeros(1, 2, 12, 10)
    image[0, :, 4:7, 3:5] = torch.rand(2, 3, 2, generator=_gen(1))
    shifted = torch.roll(image, shifts=(2, 2), dims=(2, 3))
    seen = []
    enc.convs.register_forward_hook(lambda module, inputs, output: seen.append(output))
    enc(image.reshape(1, -1))
    enc(shifted.reshape(1, -1))
    assert seen[0].shape == (1, 3, 6, 5)
    torch.testing.assert_close(seen[1][..., 1:, 1:], seen[0][..., :-1, :-1])
    assert not torch.allclose(seen[1], seen[0])


def test_upsampling_then_convolution_has_no_checkerboard():
    # A constant code map: interpolation + convolution gives a constant
    # interior, a stride-2 transposed convolution a pattern of period 2.
    interiors = {}
    for upsampling in ("nearest", "transposed"):
        dec = init_parameters_(ConvDecoder((1, 16, 16), (4,), 2, upsampling=upsampling), _gen(3))
        with torch.no_grad():
            dec.linear.weight.zero_()
            dec.linear.bias.fill_(1.0)
            out = dec(torch.zeros(1, 2)).reshape(16, 16)
        interiors[upsampling] = out[2:-2, 2:-2]
    assert interiors["nearest"].std() < 1e-6
    pattern = interiors["transposed"]
    assert pattern.std() > 1e-3
    torch.testing.assert_close(pattern[2:, 2:], pattern[:-2, :-2])  # period 2


def test_conv_decoder_rejects_unknown_upsampling():
    with pytest.raises(ValueError, match="upsampling"):
        ConvDecoder((1, 8, 8), (4,), 2, upsampling="pixelshuffle")
