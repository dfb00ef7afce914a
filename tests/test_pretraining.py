"""Greedy layer-wise pretraining of deep stacks, then end-to-end fine-tuning."""

import warnings

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from skae import (
    VAE,
    Autoencoder,
    ContractionPenalty,
    ContractiveAutoencoder,
    ConvolutionalArchitecture,
    DenoisingAutoencoder,
    NoiseCorruption,
    SparseAutoencoder,
    SparsityPenalty,
)
from skae._pretraining import greedy_pretrain
from skae.nn import init_parameters_

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def digits():
    return load_digits().data[:300] / 16


def pretrain(estimator, X):
    module = estimator._build_module(X.shape[1], None)
    init_parameters_(module, torch.Generator().manual_seed(0))
    return module, greedy_pretrain(estimator, module, X, seed=1, device=CPU)


def decoder_linears(module):
    return [layer for layer in module.decoder if isinstance(layer, torch.nn.Linear)]


def test_each_layer_is_trained_on_the_codes_below_and_copied(digits):
    estimator = Autoencoder(
        n_components=4,
        hidden_layer_sizes=(24, 12),
        activation="tanh",
        code_activation="logistic",
        pretraining="greedy",
        pretraining_max_iter=3,
        random_state=0,
        device="cpu",
    )
    module, layers = pretrain(estimator, digits)
    assert [layer.n_features_in_ for layer in layers] == [64, 24, 12]
    assert [layer.n_components for layer in layers] == [24, 12, 4]
    assert [layer.code_activation for layer in layers] == ["tanh", "tanh", "logistic"]
    assert all(layer.n_iter_ == 3 and layer.hidden_layer_sizes == () for layer in layers)
    decoder = decoder_linears(module)
    for index, layer in enumerate(layers):
        shallow = layer.net_.module_
        deep_encoder = module.encoder.linears[index]
        assert torch.equal(deep_encoder.weight, shallow.encoder.linears[0].weight)
        assert torch.equal(deep_encoder.bias, shallow.encoder.linears[0].bias)
        mirror = decoder[len(layers) - 1 - index]
        assert torch.equal(mirror.weight, decoder_linears(shallow)[0].weight)
        assert torch.equal(mirror.bias, decoder_linears(shallow)[0].bias)


def test_each_layer_sees_the_codes_of_the_layer_below(digits):
    # Salt-and-pepper keeps the range of what each layer was trained on.
    estimator = DenoisingAutoencoder(
        n_components=3,
        hidden_layer_sizes=(10,),
        noise="salt_and_pepper",
        pretraining="greedy",
        pretraining_max_iter=2,
        random_state=0,
        device="cpu",
    )
    _, (first, second) = pretrain(estimator, digits)
    codes = first.transform(digits)
    corruption = second.net_.module_.corruption
    np.testing.assert_array_equal(corruption.low.numpy(), codes.min(axis=0))
    np.testing.assert_array_equal(corruption.high.numpy(), codes.max(axis=0))
    assert first.net_.module_.corruption.high.numpy().max() == digits.max()


def test_tied_weights_copy_the_encoder_and_the_decoder_biases(digits):
    estimator = Autoencoder(
        n_components=4,
        hidden_layer_sizes=(16,),
        tied_weights=True,
        pretraining="greedy",
        pretraining_max_iter=2,
        random_state=0,
        device="cpu",
    )
    module, layers = pretrain(estimator, digits)
    for index, layer in enumerate(layers):
        shallow = layer.net_.module_
        assert torch.equal(module.encoder.linears[index].weight, shallow.encoder.linears[0].weight)
        assert torch.equal(module.decoder.biases[1 - index], shallow.decoder.biases[0])


@pytest.mark.parametrize(
    "cls, params, expected",
    [
        (
            DenoisingAutoencoder,
            {"noise": "gaussian", "noise_level": 0.2},
            {"noise": NoiseCorruption("gaussian", 0.2)},
        ),
        (
            SparseAutoencoder,
            {"sparsity": "l1", "sparsity_weight": 0.01},
            {"sparsity": SparsityPenalty("l1", 0.01)},
        ),
        (
            ContractiveAutoencoder,
            {"contraction_weight": 0.05},
            {"contraction": ContractionPenalty(0.05)},
        ),
        (
            Autoencoder,
            {
                "regularizers": [
                    ("noise", NoiseCorruption("masking", 0.1)),
                    ("sparsity", SparsityPenalty("l1", 0.01)),
                    ("contraction", ContractionPenalty(0.05)),
                ]
            },
            {
                "noise": NoiseCorruption("masking", 0.1),
                "sparsity": SparsityPenalty("l1", 0.01),
                "contraction": ContractionPenalty(0.05),
            },
        ),
    ],
    ids=["denoising", "sparse", "contractive", "all three combined"],
)
def test_layers_are_trained_with_the_stacks_regularizers(digits, cls, params, expected):
    estimator = cls(
        n_components=3,
        hidden_layer_sizes=(8,),
        pretraining="greedy",
        pretraining_max_iter=2,
        random_state=0,
        device="cpu",
        **params,
    )
    _, layers = pretrain(estimator, digits)
    for layer in layers:
        assert type(layer) is Autoencoder
        assert {name: repr(r) for name, r in layer.regularizers} == {
            name: repr(r) for name, r in expected.items()
        }
        penalties = [name for name, r in expected.items() if not isinstance(r, NoiseCorruption)]
        assert all(f"train_{name}" in layer.net_.history[-1] for name in penalties)
    if any(isinstance(r, NoiseCorruption) for r in expected.values()):
        assert not isinstance(layers[1].net_.module_.corruption, torch.nn.Identity)
    estimator.fit(digits)  # and the whole stack fine-tunes


def test_kl_sparsity_is_left_out_of_relu_hidden_layers_only(digits):
    # The default SparseAutoencoder (KL penalty, logistic code, ReLU hidden
    # layers) pretrains: the penalty needs codes in (0, 1), so the ReLU hidden
    # layer trains without it and the logistic code layer with it.
    estimator = SparseAutoencoder(
        n_components=3, hidden_layer_sizes=(8,), pretraining="greedy", pretraining_max_iter=2
    )
    _, (hidden, code) = pretrain(estimator.set_params(random_state=0, device="cpu"), digits)
    assert hidden.regularizers == []
    assert "train_sparsity" not in hidden.net_.history[-1]
    ((name, penalty),) = code.regularizers
    assert name == "sparsity" and penalty.weight == estimator.sparsity_weight > 0
    assert "train_sparsity" in code.net_.history[-1]
    # With logistic hidden layers the penalty applies to every layer.
    _, layers = pretrain(estimator.set_params(activation="logistic"), digits)
    assert all("train_sparsity" in layer.net_.history[-1] for layer in layers)


def test_pretrained_stack_starts_from_a_lower_loss_and_fits_better(digits):
    params = {
        "n_components": 8,
        "hidden_layer_sizes": (32, 16),
        "max_iter": 5,
        "batch_size": 32,
        "random_state": 0,
        "device": "cpu",
        "early_stopping": False,
    }
    random = Autoencoder(init="random", **params).fit(digits)
    pretrained = Autoencoder(pretraining="greedy", pretraining_max_iter=10, **params).fit(digits)
    # Measured: first epoch 0.084 against 0.24, fifth 0.071 against 0.096.
    assert pretrained.loss_curve_[0] < 0.6 * random.loss_curve_[0]
    assert pretrained.loss_curve_[-1] < random.loss_curve_[-1]


def test_pretrained_fits_are_reproducible(digits):
    params = {
        "n_components": 3,
        "hidden_layer_sizes": (8,),
        "max_iter": 2,
        "pretraining": "greedy",
        "pretraining_max_iter": 2,
        "device": "cpu",
    }
    first = DenoisingAutoencoder(random_state=3, **params).fit(digits)
    second = DenoisingAutoencoder(random_state=3, **params).fit(digits)
    other = DenoisingAutoencoder(random_state=4, **params).fit(digits)
    np.testing.assert_array_equal(first.transform(digits), second.transform(digits))
    assert not np.array_equal(first.transform(digits), other.transform(digits))


@pytest.mark.parametrize(
    "estimator, message",
    [
        (Autoencoder(hidden_layer_sizes=()), "needs a deep network"),
        (Autoencoder(architecture=ConvolutionalArchitecture(image_shape=(8, 8))), "architecture"),
        (VAE(hidden_layer_sizes=(8,)), "not available for VariationalAutoencoder"),
        (
            Autoencoder(hidden_layer_sizes=(8,), learning_rate_init=1e12, random_state=0),
            r"layer 1 of 2 \(64 -> 8 units\).*diverged.*learning_rate_init",
        ),
    ],
    ids=["one layer", "architecture", "vae", "layer diverges"],
)
def test_where_greedy_pretraining_does_not_apply_is_a_clear_value_error(digits, estimator, message):
    estimator.set_params(pretraining="greedy", max_iter=1, pretraining_max_iter=1, device="cpu")
    with pytest.raises(ValueError, match=message):
        estimator.fit(digits)


def test_hidden_layers_raise_no_warning_about_their_units(digits):
    # Each layer is fitted as a shallow clone whose "code" is a hidden ReLU
    # layer of the stack; idle units there are not the user's code.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        Autoencoder(
            n_components=10,
            hidden_layer_sizes=(256, 128),
            pretraining="greedy",
            pretraining_max_iter=5,
            max_iter=2,
            random_state=0,
            device="cpu",
        ).fit(digits)
    assert not [w for w in caught if "code units" in str(w.message)]
