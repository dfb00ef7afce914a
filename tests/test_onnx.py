"""ONNX export: onnxruntime gives what transform and inverse_transform give.

Every variant of the test registry, fitted briefly inside a pipeline
(MinMaxScaler, the autoencoder, LogisticRegression) on the digits, converts
with skl2onnx as scikit-learn's own estimators do, right after ``import skae``;
onnxruntime's codes, reconstructions and class probabilities then equal the
pipeline's within 1e-5. Further networks cover what the registry's short fits
leave out: every activation, the PCA start's linear path with its gate open,
and the convolutional decoder's three upsampling kinds on odd image sizes.
Skipped without the ``onnx`` extra.
"""

import warnings

import numpy as np
import pytest
import torch
from _registry import VARIANTS
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler
from sklearn.svm import SVC

from skae import VAE, Autoencoder, ConvolutionalArchitecture
from skae.nn import ConvDecoder, LinearShortcut, MLPDecoder, MLPEncoder

skl2onnx = pytest.importorskip("skl2onnx")
rt = pytest.importorskip("onnxruntime")
from skl2onnx import to_onnx  # noqa: E402
from skl2onnx.common.exceptions import MissingShapeCalculator  # noqa: E402

import skae._onnx  # noqa: E402

ATOL = 1e-5


def _registered_families():
    from skl2onnx._supported_operators import sklearn_operator_name_map

    return set(skae._onnx.ESTIMATOR_CLASSES) & set(sklearn_operator_name_map)


# Read before any test registers a class itself.
REGISTERED_AT_IMPORT = _registered_families()


# The two tests of registration itself, which need no converter.
WITHOUT_CONVERTERS = {
    "test_nothing_is_registered_without_skl2onnx",
    "test_a_broken_skl2onnx_warns_instead_of_failing_import",
}


@pytest.fixture(autouse=True)
def registered_by_import_skae(request):
    """One clear failure, rather than skl2onnx's MissingShapeCalculator in each test."""
    if request.node.name not in WITHOUT_CONVERTERS and REGISTERED_AT_IMPORT != set(
        skae._onnx.ESTIMATOR_CLASSES
    ):
        pytest.fail(
            "import skae did not register the ONNX converters: skae/__init__.py should call "
            "skae._onnx.register_if_available()."
        )


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:500], y[:500], X[500:700]


@pytest.fixture(scope="module")
def scaled(digits):
    X, _, X_test = digits
    return X / 16, X_test / 16


def run(onx, X):
    """onnxruntime's outputs for the one input ``X``."""
    session = rt.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: X})


def quietly_fit(estimator, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence of the short fits
        return estimator.fit(*args)


def assert_exports(ae, X):
    """The ONNX encoder and decoder of a fitted ``ae`` match it on ``X``."""
    X = X.astype(np.float32)
    Z = ae.transform(X)
    (codes,) = run(to_onnx(ae, X[:1]), X)
    assert codes.dtype == np.float32 and codes.shape == Z.shape
    np.testing.assert_allclose(codes, Z, rtol=0, atol=ATOL)
    decoder = to_onnx(ae, Z[:1], options={id(ae): {"inverse_transform": True}})
    (reconstructions,) = run(decoder, Z)
    np.testing.assert_allclose(reconstructions, ae.inverse_transform(Z), rtol=0, atol=ATOL)


def test_import_skae_registers_every_family():
    assert REGISTERED_AT_IMPORT == set(skae._onnx.ESTIMATOR_CLASSES)


@pytest.mark.parametrize("case", sorted(VARIANTS))
def test_every_variant_exports_inside_a_pipeline(case, digits):
    X, y, X_test = digits
    ae = clone(VARIANTS[case]).set_params(n_components=3, random_state=0)
    pipe = Pipeline(
        [("scale", MinMaxScaler()), ("ae", ae), ("clf", LogisticRegression(max_iter=500))]
    )
    quietly_fit(pipe, X, y)

    # float64 rows, as the user's X[:1]: the scaler runs in float64, skae casts.
    (codes,) = run(to_onnx(pipe[:-1], X[:1]), X_test)
    np.testing.assert_allclose(codes, pipe[:-1].transform(X_test), rtol=0, atol=ATOL)

    onx = to_onnx(pipe, X[:1], options={id(pipe[-1]): {"zipmap": False}})
    labels, probabilities = run(onx, X_test)
    expected = pipe.predict_proba(X_test)
    np.testing.assert_allclose(probabilities, expected, rtol=0, atol=ATOL)
    top_two = np.sort(expected, axis=1)[:, -2:]
    clear = top_two[:, 1] - top_two[:, 0] > ATOL  # no tie that rounding could flip
    np.testing.assert_array_equal(labels[clear], pipe.predict(X_test)[clear])

    fitted = pipe["ae"]
    Z = codes.astype(np.float32)
    decoder = to_onnx(fitted, Z[:1], options={id(fitted): {"inverse_transform": True}})
    (reconstructions,) = run(decoder, Z)
    np.testing.assert_allclose(reconstructions, fitted.inverse_transform(Z), rtol=0, atol=ATOL)


# skl2onnx's SVC converter reads attributes scikit-learn 1.9 deprecates.
@pytest.mark.filterwarnings("ignore:Attribute `prob:FutureWarning")
def test_the_pipeline_of_the_issue_exports_with_float32_rows(digits):
    # MinMaxScaler -> Autoencoder -> SVC, converted from float32 rows.
    X, y, X_test = digits
    pipe = Pipeline(
        [
            ("scale", MinMaxScaler()),
            ("ae", Autoencoder(n_components=10, max_iter=5, random_state=0, device="cpu")),
            ("svc", SVC()),
        ]
    )
    quietly_fit(pipe, X, y)
    onx = to_onnx(pipe, X[:1].astype(np.float32))
    labels, _ = run(onx, X_test.astype(np.float32))
    assert np.mean(labels == pipe.predict(X_test)) >= 0.99
    (codes,) = run(to_onnx(pipe[:-1], X[:1].astype(np.float32)), X_test.astype(np.float32))
    np.testing.assert_allclose(codes, pipe[:-1].transform(X_test), rtol=0, atol=ATOL)


@pytest.mark.parametrize("activation", ["identity", "relu", "tanh", "logistic"])
@pytest.mark.parametrize("tied_weights", [False, True])
def test_mlp_of_every_activation_and_tied_weights(activation, tied_weights, scaled):
    X, X_test = scaled
    ae = Autoencoder(
        n_components=3,
        hidden_layer_sizes=(8, 6),
        activation=activation,
        code_activation=activation,
        tied_weights=tied_weights,
        init="random",
        max_iter=3,
        random_state=0,
        device="cpu",
    )
    quietly_fit(ae, X)
    assert isinstance(ae.net_.module_.encoder, MLPEncoder)
    assert_exports(ae, X_test)


def test_pca_start_with_an_open_gate(scaled):
    # Without early stopping the network's correction beside PCA's linear
    # path is kept: linear(x) + gate * branch(x) with the gate open.
    X, X_test = scaled
    ae = Autoencoder(
        n_components=4,
        hidden_layer_sizes=(8,),
        init="pca",
        early_stopping=False,
        max_iter=3,
        random_state=0,
        device="cpu",
    )
    quietly_fit(ae, X)
    encoder, decoder = ae.net_.module_.encoder, ae.net_.module_.decoder
    assert isinstance(encoder, LinearShortcut) and isinstance(decoder, LinearShortcut)
    assert float(encoder.gate.detach()) != 0 and float(decoder.gate.detach()) != 0
    assert isinstance(decoder.branch, MLPDecoder)
    assert_exports(ae, X_test)


@pytest.mark.parametrize("upsampling", ["nearest", "bilinear", "transposed"])
@pytest.mark.parametrize("init", ["random", "pca"])
@pytest.mark.parametrize("dense", [(), (6, 5)])
def test_convolutional_architecture(upsampling, init, dense, scaled):
    # 7 x 9 images (the digits' first 63 pixels) go through 4 x 5 and 2 x 3
    # and back: odd sizes, output padding and interpolation to exact sizes;
    # with and without fully connected layers before the code.
    X, X_test = scaled
    conv = ConvolutionalArchitecture(
        image_shape=(7, 9),
        channels=(2, 4),
        dense_layer_sizes=dense,
        activation="tanh",
        upsampling=upsampling,
    )
    ae = Autoencoder(
        n_components=3,
        architecture=conv,
        init=init,
        early_stopping=False,
        max_iter=2,
        random_state=0,
        device="cpu",
    )
    quietly_fit(ae, X[:, :63])
    decoder = ae.net_.module_.decoder
    if init == "pca":
        assert float(decoder.gate.detach()) != 0
        decoder = decoder.branch
    assert isinstance(decoder, ConvDecoder)
    assert_exports(ae, X_test[:, :63])


@pytest.mark.parametrize("loss", ["mse", "bce"])
@pytest.mark.parametrize("conv", [False, True])
def test_vae_exports_its_posterior_mean_and_its_likelihood_mean(loss, conv, scaled):
    X, X_test = scaled
    architecture = ConvolutionalArchitecture((8, 8), channels=(2, 4), upsampling="bilinear")
    vae = VAE(
        n_components=2,
        hidden_layer_sizes=(8,),
        architecture=architecture if conv else None,
        loss=loss,
        max_iter=2,
        random_state=0,
        device="cpu",
    )
    quietly_fit(vae, X)
    assert_exports(vae, X_test)


def test_a_family_of_your_own_registers_explicitly(scaled):
    X, X_test = scaled

    class MyAutoencoder(Autoencoder):
        pass

    ae = quietly_fit(MyAutoencoder(n_components=2, max_iter=2, random_state=0, device="cpu"), X)
    with pytest.raises(MissingShapeCalculator):
        to_onnx(ae, X[:1].astype(np.float32))
    assert skae._onnx.register_converters(MyAutoencoder) == (MyAutoencoder,)
    assert_exports(ae, X_test)
    with pytest.raises(TypeError, match="skae estimator classes"):
        skae._onnx.register_converters(MinMaxScaler)


class _GeluArchitecture:
    """An architecture of torch modules the converter does not know."""

    def get_params(self, deep=True):
        return {}

    def set_params(self, **params):
        return self

    def build(self, n_features, code_width, code_activation):
        encoder = torch.nn.Sequential(torch.nn.Linear(n_features, code_width), torch.nn.GELU())
        return encoder, torch.nn.Linear(code_width, n_features)


def test_unknown_torch_modules_are_named(scaled):
    X, _ = scaled
    ae = Autoencoder(
        n_components=2, architecture=_GeluArchitecture(), max_iter=1, init="random", device="cpu"
    )
    quietly_fit(ae, X)
    with pytest.raises(NotImplementedError, match=r"torch\.nn\.modules\.activation\.GELU"):
        to_onnx(ae, X[:1].astype(np.float32))


def test_input_width_is_checked(scaled):
    X, _ = scaled
    ae = quietly_fit(Autoencoder(n_components=2, max_iter=1, device="cpu"), X)
    with pytest.raises(ValueError, match="n_features_in_=64"):
        to_onnx(ae, X[:1, :10].astype(np.float32))
    with pytest.raises(ValueError, match="n_components=2"):
        to_onnx(ae, X[:1].astype(np.float32), options={id(ae): {"inverse_transform": True}})


def test_a_broken_skl2onnx_warns_instead_of_failing_import(monkeypatch):
    def broken(*classes):
        raise ImportError("protobuf mismatch")

    monkeypatch.setattr(skae._onnx, "register_converters", broken)
    with pytest.warns(RuntimeWarning, match="protobuf mismatch"):
        assert skae._onnx.register_if_available() is False


def test_nothing_is_registered_without_skl2onnx(monkeypatch):
    monkeypatch.setattr(skae._onnx.importlib.util, "find_spec", lambda name: None)
    assert skae._onnx.register_if_available() is False
