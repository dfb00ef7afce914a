"""Persistence: pickle, joblib and skops.io keep everything and hold no device tensor.

For every variant of the test registry: a round trip gives the same outputs,
the saved bytes hold plain numpy data only (nothing that runs code or needs
a device), a restored model trains on exactly as the original would, and
``skops.io`` loads it trusting only skae's public classes. The loaded model
is the one that was fitted, whatever ``set_params`` did before saving.
tests/test_cuda.py covers the CUDA round trip itself.
"""

import io
import json
import pickle
import warnings
import zipfile

import joblib
import numpy as np
import pytest
import torch
from _registry import VARIANTS
from _unpickling import loads_without_torch
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from skorch.exceptions import DeviceWarning

from skae import DenoisingAutoencoder, NoiseCorruption

skops_io = pytest.importorskip("skops.io")

# Every kind of module state: noise generators and feature-range buffers
# (denoising), a learned output scale (VAE), projection seeds (contractive),
# a convolutional network, a held-out split (the default early stopping).
CASE = pytest.mark.parametrize("case", sorted(VARIANTS))


@pytest.fixture(scope="module")
def X():
    return load_digits().data[:90] / 16


def fitted(case, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return clone(VARIANTS[case]).set_params(n_components=3, random_state=0).fit(X)


def assert_same_outputs(restored, est, X):
    Z = est.transform(X)
    np.testing.assert_array_equal(restored.transform(X), Z)
    np.testing.assert_array_equal(restored.inverse_transform(Z), est.inverse_transform(Z))
    np.testing.assert_array_equal(restored.score_samples(X), est.score_samples(X))
    assert restored.n_iter_ == est.n_iter_
    assert restored.loss_curve_ == est.loss_curve_


def all_tensors(obj):
    """Every tensor reachable from ``obj`` through attributes and containers."""
    seen, found, stack = set(), [], [obj]
    while stack:
        item = stack.pop()
        if id(item) in seen or isinstance(item, (str, bytes, int, float, np.ndarray)):
            continue
        seen.add(id(item))
        if isinstance(item, torch.Tensor):
            found.append(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, set)):
            stack.extend(item)
        elif isinstance(item, torch.nn.Module):
            stack.extend(item.state_dict().values())
        elif hasattr(item, "__dict__"):
            stack.extend(vars(item).values())
    return found


# ------------------------------------------------------------ pickle and joblib


@CASE
def test_pickle_and_joblib_round_trips_give_identical_outputs(case, X, tmp_path):
    est = fitted(case, X)
    assert_same_outputs(pickle.loads(pickle.dumps(est)), est, X)
    joblib.dump(est, tmp_path / "model.joblib")
    assert_same_outputs(joblib.load(tmp_path / "model.joblib"), est, X)


@CASE
def test_pickle_stream_holds_plain_data_only(case, X):
    """No tensor, device or skorch object in the bytes: loads on any machine."""
    est = fitted(case, X)
    data = pickle.dumps(est)
    assert b"cuda" not in data
    # Loads with every torch and skorch global refused: weights are numpy
    # arrays, and the net is rebuilt from the estimator's parameters.
    restored = loads_without_torch(data)
    assert type(restored) is type(est)
    assert_same_outputs(restored, est, X)


@CASE
def test_every_tensor_of_a_restored_model_is_on_its_device(case, X, tmp_path):
    est = fitted(case, X)
    joblib.dump(est, tmp_path / "model.joblib")
    restored = joblib.load(tmp_path / "model.joblib")
    tensors = all_tensors(restored)
    assert tensors, "the walk should reach the weights"
    assert {t.device for t in tensors} == {torch.device("cpu")}
    assert_same_outputs(restored, est, X)


@CASE
def test_a_restored_model_trains_on_exactly_as_the_original(case, X):
    """partial_fit after a round trip: same weights, optimizer, shuffling and noise."""
    est = fitted(case, X)
    restored = pickle.loads(pickle.dumps(est))
    for model in (est, restored):
        model.partial_fit(X)
        model.partial_fit(X)
    assert restored.loss_curve_ == est.loss_curve_
    np.testing.assert_array_equal(restored.transform(X), est.transform(X))


def test_warm_start_continues_after_a_round_trip(X):
    est = fitted("Autoencoder", X).set_params(warm_start=True)
    restored = pickle.loads(pickle.dumps(est))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X)
        restored.fit(X)
    assert restored.n_iter_ == est.n_iter_ == 2 * est.max_iter
    assert restored.loss_curve_ == est.loss_curve_


def test_model_saved_on_a_missing_device_loads_on_the_cpu(X):
    """What a CUDA-trained model does on a machine without CUDA, simulated."""
    est = fitted("DenoisingAutoencoder", X)
    state = est.__getstate__()
    state["net_"]["device"] = "cuda:99"  # no such device here (nor on one-GPU machines)
    state["net_"]["module_generators"] = {
        name: {key: ("cuda:99", value) for key, (_, value) in generators.items()}
        for name, generators in state["net_"]["module_generators"].items()
    }
    restored = DenoisingAutoencoder.__new__(DenoisingAutoencoder)
    with pytest.warns(DeviceWarning, match="'cuda:99'.*loaded on the CPU"):
        restored.__setstate__(state)
    assert str(restored.net_.device) == "cpu"
    assert_same_outputs(restored, est, X)
    restored.partial_fit(X)  # the noise restarts from its seed, on the CPU
    assert np.isfinite(restored.transform(X)).all()


@pytest.mark.parametrize(
    "change",
    [
        {"hidden_layer_sizes": (4, 4)},
        {"noise": "gaussian", "noise_level": 3.0},
        {"n_components": 5},
        {"architecture": None, "regularizers": [("noise", NoiseCorruption(level=0.9))]},
    ],
    ids=lambda change: ",".join(change),
)
def test_set_params_before_saving_does_not_change_the_saved_model(change, X):
    est = fitted("DenoisingAutoencoder", X)
    restored = pickle.loads(pickle.dumps(est.set_params(**change)))
    assert restored.get_params()[next(iter(change))] == change[next(iter(change))]
    # The corruption, network and code width are the fitted ones: training on
    # goes exactly as it would have without the change.
    original = fitted("DenoisingAutoencoder", X)
    assert_same_outputs(restored, original, X)
    restored.partial_fit(X)
    original.partial_fit(X)
    assert restored.loss_curve_ == original.loss_curve_


def test_unfitted_estimator_round_trips(X):
    est = pickle.loads(pickle.dumps(DenoisingAutoencoder(noise_level=0.1)))
    assert est.get_params()["noise_level"] == 0.1
    assert not hasattr(est, "net_")


# -------------------------------------------------------------------- skops


def expected_trusted_types(est):
    """skae's public names of the estimator and of the objects among its parameters."""
    params = est.get_params(deep=False)
    objects = [est, params["architecture"], *(r for _, r in params["regularizers"] or [])]
    return sorted({f"skae.{type(obj).__name__}" for obj in objects if obj is not None})


@CASE
def test_skops_round_trip_trusting_only_the_estimator_classes(case, X, tmp_path):
    est = fitted(case, X)
    path = tmp_path / "model.skops"
    skops_io.dump(est, path)
    untrusted = skops_io.get_untrusted_types(file=path)
    # Only skae's own classes need trusting: no torch, skorch or builtins.
    assert untrusted == expected_trusted_types(est)
    with pytest.raises(Exception, match="[Uu]ntrusted"):
        skops_io.load(path)
    restored = skops_io.load(path, trusted=untrusted)
    assert_same_outputs(restored, est, X)
    restored.partial_fit(X)
    est.partial_fit(X)
    assert restored.loss_curve_ == est.loss_curve_


def _schema_nodes(node):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _schema_nodes(value)
    elif isinstance(node, list):
        for value in node:
            yield from _schema_nodes(value)


@CASE
def test_skops_file_holds_no_opaque_bytes(case, X):
    """Every stored object is one skops audits; no pickle blob rides along.

    skorch pickles its module and optimizer into a bytes blob that it
    unpickles on load; inside a skops file that blob would run any code it
    holds, whatever the user trusted.
    """
    data = skops_io.dumps(fitted(case, X))
    archive = zipfile.ZipFile(io.BytesIO(data))
    nodes = list(_schema_nodes(json.loads(archive.read("schema.json"))))
    loaders = {node["__loader__"] for node in nodes if "__loader__" in node}
    assert "BytesNode" not in loaders and "BytearrayNode" not in loaders
    assert not any(node.get("__module__", "").startswith(("torch", "skorch")) for node in nodes)
    assert all(name == "schema.json" or name.endswith(".npy") for name in archive.namelist())
