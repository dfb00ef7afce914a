"""A pipeline with a skae estimator round-trips through mlflow.sklearn.

mlflow saves scikit-learn models with skops by default and loads them
trusting only the types named at logging time; skae's estimators are named by
their public path (``skae.Autoencoder``), so that is the whole list. Skipped
when mlflow is not installed (``pip install mlflow`` or ``mlflow-skinny``).
"""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from skae import ConvolutionalArchitecture, DenoisingAutoencoder

mlflow = pytest.importorskip("mlflow")
mlflow_sklearn = pytest.importorskip("mlflow.sklearn")
pytest.importorskip("skops")

TRUSTED = ["skae.DenoisingAutoencoder", "skae.ConvolutionalArchitecture"]


@pytest.fixture
def tracking(tmp_path, monkeypatch):
    """A local file store in ``tmp_path``; loading models allowed."""
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    monkeypatch.setenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "true")  # mlflow >= 3.x gates loading
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    mlflow.set_tracking_uri((tmp_path / "mlruns").as_uri())
    yield
    mlflow.set_tracking_uri(None)


@pytest.fixture(scope="module")
def fitted():
    X = load_digits().data[:300]
    conv = ConvolutionalArchitecture(image_shape=(8, 8), channels=(2,))
    ae = DenoisingAutoencoder(
        n_components=3, architecture=conv, max_iter=2, random_state=0, device="cpu"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return make_pipeline(MinMaxScaler(), ae).fit(X), X


def log(pipe, **kwargs):
    # Requirements given, so mlflow does not infer them by loading the model
    # in a subprocess (seconds of torch import).
    with mlflow.start_run():
        return mlflow_sklearn.log_model(pipe, name="model", pip_requirements=["skae"], **kwargs)


def test_pipeline_round_trips_with_the_default_serialization(tracking, fitted):
    pipe, X = fitted
    info = log(pipe, skops_trusted_types=TRUSTED)
    flavor = mlflow.models.Model.load(info.model_uri).flavors["sklearn"]
    assert flavor["serialization_format"] == "skops"
    loaded = mlflow_sklearn.load_model(info.model_uri)
    np.testing.assert_array_equal(loaded.transform(X), pipe.transform(X))
    Z = pipe.transform(X)
    np.testing.assert_array_equal(loaded[-1].inverse_transform(Z), pipe[-1].inverse_transform(Z))


def test_untrusted_skae_types_are_named_by_their_public_path(tracking, fitted):
    pipe, _ = fitted
    with pytest.raises(mlflow.exceptions.MlflowException) as error:
        log(pipe)
    message = str(error.value)
    assert "skae.DenoisingAutoencoder" in message
    assert "skae._" not in message
