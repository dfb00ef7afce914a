"""ConvolutionalArchitecture: image rows, every family, grid search, clone."""

import numpy as np
import pytest
import torch
from _registry import ESTIMATOR_CLASSES
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline

from skae import VAE, Autoencoder, ConvolutionalArchitecture, DenoisingAutoencoder
from skae.nn import ConvDecoder, ConvEncoder, LinearShortcut

FAST = {"device": "cpu", "random_state": 0}


def conv_part(part):
    """The convolutional network inside an encoder or decoder (beside PCA's linear path)."""
    return part.branch if isinstance(part, LinearShortcut) else part


@pytest.fixture(scope="module")
def digits():
    X, _ = load_digits(return_X_y=True)
    X_train, X_test = train_test_split((X / 16).astype(np.float32), test_size=0.3, random_state=0)
    return X_train, X_test


def _mse(a, b):
    return float(np.mean((a - b) ** 2))


def test_builds_conv_modules_for_the_image_shape():
    conv = ConvolutionalArchitecture((3, 8, 6), channels=(4, 8), upsampling="transposed")
    encoder, decoder = conv.build(144, 5, "tanh")
    assert isinstance(encoder, ConvEncoder) and isinstance(decoder, ConvDecoder)
    assert encoder.image_shape == decoder.image_shape == (3, 8, 6)
    assert [c.out_channels for c in encoder.convs if hasattr(c, "out_channels")] == [4, 8]
    assert conv.image_shape_for(144) == (3, 8, 6)
    assert ConvolutionalArchitecture((8, 8)).image_shape_for(64) == (1, 8, 8)


@pytest.mark.parametrize(
    ("image_shape", "n_features", "channels"),
    [
        ((28, 28), 784, (16, 32)),
        ((16, 16), 256, (16, 32)),
        ((8, 8), 64, (32,)),
        ((15, 40), 600, (32,)),
        ((3, 20, 20), 1200, (16, 32)),
        (None, 50, (32,)),
    ],
)
def test_auto_channels_use_one_stage_on_small_images(image_shape, n_features, channels):
    # Two stride-2 stages on an 8 x 8 image leave 2 x 2 maps.
    conv = ConvolutionalArchitecture(image_shape)
    assert conv.channels_for(n_features) == channels
    encoder, decoder = conv.build(n_features, 2, "identity")
    assert [c.out_channels for c in encoder.convs if hasattr(c, "out_channels")] == list(channels)
    assert decoder.start_shape[0] == channels[-1]


def test_dense_layers_sit_between_the_feature_maps_and_the_code():
    conv = ConvolutionalArchitecture(
        (8, 8), channels=(4, 8), dense_layer_sizes=(12, 6), pixel_path=False
    )
    encoder, decoder = conv.build(64, 3, "identity")
    assert decoder.pixels is None
    widths = [(m.in_features, m.out_features) for m in encoder.dense if hasattr(m, "in_features")]
    assert widths == [(32, 12), (12, 6)]  # 8 channels of 2 x 2, then the dense layers
    assert (encoder.code.in_features, encoder.code.out_features) == (6, 3)
    widths = [(m.in_features, m.out_features) for m in decoder.dense if hasattr(m, "in_features")]
    assert widths == [(3, 6), (6, 12)]  # mirrored
    assert (decoder.linear.in_features, decoder.linear.out_features) == (12, 32)
    x = torch.rand(5, 64)
    assert decoder(encoder(x)).shape == (5, 64)
    # Without them the code is a linear map of the flattened feature maps.
    encoder, decoder = ConvolutionalArchitecture(
        (8, 8), channels=(4, 8), dense_layer_sizes=()
    ).build(64, 3, "identity")
    assert len(encoder.dense) == len(decoder.dense) == 0
    assert encoder.code.in_features == 32 and decoder.linear.in_features == 3
    h = encoder.convs(x.reshape(5, 1, 8, 8)).flatten(1)
    torch.testing.assert_close(encoder(x), encoder.code(h))


def test_the_pixel_path_puts_an_mlp_of_the_same_widths_beside_the_convolutions():
    conv = ConvolutionalArchitecture((8, 8), channels=(4, 8), dense_layer_sizes=(12,))
    assert conv.get_params()["pixel_path"] is True  # the default
    encoder, decoder = conv.build(64, 3, "identity")
    first = encoder.dense[0]
    assert (first.in_features, first.out_features) == (32 + 64, 12)  # feature maps, then pixels
    assert (decoder.pixels.in_features, decoder.pixels.out_features) == (12, 64)
    x = torch.rand(5, 64)
    h = encoder.convs(x.reshape(5, 1, 8, 8)).flatten(1)
    torch.testing.assert_close(encoder(x), encoder.code(encoder.dense(torch.cat([h, x], dim=1))))
    z = torch.randn(5, 3)
    dense = decoder.dense(z)
    maps = decoder.linear_activation(decoder.linear(dense)).reshape(5, *decoder.start_shape)
    torch.testing.assert_close(decoder(z), decoder.stages(maps).flatten(1) + decoder.pixels(dense))
    # With the weights that read the feature maps and the upsampling stages'
    # output zeroed, what is left is exactly the MLP 64-12-3-12-64.
    with torch.no_grad():
        first.weight[:, :32] = 0
        decoder.stages[-1].weight.zero_()
        decoder.stages[-1].bias.zero_()
    relu = torch.nn.functional.relu
    mlp_code = relu(x @ first.weight[:, 32:].T + first.bias) @ encoder.code.weight.T
    torch.testing.assert_close(encoder(x), mlp_code + encoder.code.bias)
    mlp_out = decoder.pixels(relu(decoder.dense[0](z)))
    torch.testing.assert_close(decoder(z), mlp_out)
    # Without fully connected layers there is no path to add.
    encoder, decoder = ConvolutionalArchitecture((8, 8), channels=(4,), dense_layer_sizes=()).build(
        64, 3, "identity"
    )
    assert not encoder.pixel_path and decoder.pixels is None
    assert encoder.code.in_features == 4 * 4 * 4


def test_rows_without_an_image_shape_are_one_dimensional_signals():
    conv = ConvolutionalArchitecture(channels=(2,))
    assert conv.image_shape_for(7) == (1, 1, 7)
    X = np.random.RandomState(0).normal(size=(30, 7))
    ae = Autoencoder(3, architecture=conv, max_iter=2, **FAST).fit(X)
    assert conv_part(ae.net_.module_.encoder).image_shape == (1, 1, 7)
    assert ae.inverse_transform(ae.transform(X)).shape == (30, 7)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"image_shape": (8, 7)}, "holds 56 values"),
        ({"image_shape": (8,)}, "image_shape must be"),
        ({"image_shape": (8, 8), "channels": ()}, "channels"),
        ({"image_shape": (8, 8), "channels": "wide"}, "channels"),
        ({"image_shape": (8, 8), "dense_layer_sizes": (16, 0)}, "dense_layer_sizes"),
        ({"image_shape": (8, 8), "dense_layer_sizes": "wide"}, "dense_layer_sizes"),
        ({"image_shape": (8, 8), "kernel_size": 4}, "odd"),
        ({"image_shape": (8, 8), "activation": "gelu"}, "activation"),
        ({"image_shape": (8, 8), "upsampling": "pixelshuffle"}, "upsampling"),
        ({"image_shape": (8, 8), "pixel_path": "yes"}, "pixel_path"),
    ],
)
def test_bad_settings_fail_fit_with_a_clear_message(digits, params, match):
    ae = Autoencoder(architecture=ConvolutionalArchitecture(**params), max_iter=1, **FAST)
    with pytest.raises(ValueError, match=match):
        ae.fit(digits[0][:20])


def test_params_are_nested_cloned_and_searchable(digits):
    X_train = digits[0][:300]
    # Without a pixel path the fitted network is always the convolutional one.
    conv = ConvolutionalArchitecture((8, 8), channels=(4,), pixel_path=False)
    ae = Autoencoder(4, architecture=conv, max_iter=3, **FAST)
    assert ae.get_params()["architecture__channels"] == (4,)
    copy = clone(ae)
    assert copy.architecture is not conv
    assert copy.architecture.get_params() == conv.get_params()
    pipe = Pipeline([("ae", ae)])
    grid = {"ae__architecture__channels": [(2,), (3, 5)], "ae__architecture__kernel_size": [3]}
    search = GridSearchCV(pipe, grid, cv=2).fit(X_train)
    assert len(search.cv_results_["params"]) == 2
    best = search.best_params_["ae__architecture__channels"]
    module = search.best_estimator_.named_steps["ae"].net_.module_
    convs = conv_part(module.encoder).convs
    assert [c.out_channels for c in convs if hasattr(c, "out_channels")] == list(best)
    assert conv.channels == (4,)  # the search never touched the original


def test_conv_autoencoder_reconstructs_digits_better_than_pca(digits):
    X_train, X_test = digits
    pca = PCA(n_components=8).fit(X_train)
    pca_error = _mse(pca.inverse_transform(pca.transform(X_test)), X_test)  # about 0.025
    conv = ConvolutionalArchitecture((8, 8), channels=(16, 32))
    ae = Autoencoder(
        8, architecture=conv, max_iter=15, batch_size=32, learning_rate_init=3e-3, **FAST
    ).fit(X_train)
    assert _mse(ae.inverse_transform(ae.transform(X_test)), X_test) < 0.95 * pca_error  # 0.021


def test_conv_denoising_autoencoder_cleans_masked_digits(digits):
    # The reference material's challenge: train on corrupted images, then
    # reconstruct corrupted test images closer to the clean ones.
    X_train, X_test = digits
    noisy = X_test * (np.random.RandomState(1).uniform(size=X_test.shape) > 0.3)
    conv = ConvolutionalArchitecture((8, 8), channels=(16, 32))
    settings = {"architecture": conv, "max_iter": 30, **FAST}
    dae = DenoisingAutoencoder(32, noise="masking", noise_level=0.3, **settings).fit(X_train)
    plain = Autoencoder(32, **settings).fit(X_train)
    denoised = _mse(dae.inverse_transform(dae.transform(noisy)), X_test)
    assert denoised < 0.7 * _mse(noisy, X_test)
    assert denoised < 0.9 * _mse(plain.inverse_transform(plain.transform(noisy)), X_test)


@pytest.mark.parametrize("family", ESTIMATOR_CLASSES, ids=lambda cls: cls.__name__)
@pytest.mark.parametrize("upsampling", ["nearest", "transposed"])
def test_every_family_trains_a_conv_network(digits, family, upsampling):
    X_train = digits[0][:400]
    conv = ConvolutionalArchitecture((8, 8), channels=(4, 8), upsampling=upsampling)
    # One training (the starts early stopping compares are tested in test_autoencoder.py).
    params = dict(max_iter=8, batch_size=50, early_stopping=False, **FAST)
    est = family(5, architecture=conv, **params).fit(X_train)
    encoder, decoder = (
        conv_part(part) for part in (est.net_.module_.encoder, est.net_.module_.decoder)
    )
    assert isinstance(encoder, ConvEncoder) and isinstance(decoder, ConvDecoder)
    expected_code = 10 if family is VAE else 5  # the VAE's encoder gives means and log-variances
    assert encoder.code.out_features == expected_code
    codes = est.transform(X_train)
    assert codes.shape == (400, 5) and np.isfinite(codes).all()
    np.testing.assert_array_equal(codes, est.transform(X_train))
    assert est.inverse_transform(codes).shape == (400, 64)
    assert est.loss_curve_[-1] < est.loss_curve_[0]
