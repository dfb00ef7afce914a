"""Persistence: pickle, joblib and skops.io keep everything and hold no device tensor.

tests/test_base.py checks that a round trip gives the same transforms and
tests/test_cuda.py the CUDA round trip itself; this file checks what is in
the saved bytes (plain numpy data, nothing that runs code or needs a device),
that a restored model trains on exactly as the original would, and secure
loading with ``skops.io`` for every family.
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
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from skorch.exceptions import DeviceWarning

from skae import (
    VAE,
    Autoencoder,
    ContractiveAutoencoder,
    ConvolutionalArchitecture,
    DenoisingAutoencoder,
    SparseAutoencoder,
)

skops_io = pytest.importorskip("skops.io")

SMALL = {"n_components": 3, "hidden_layer_sizes": (8,), "max_iter": 3, "random_state": 0}

# One instance per family and per kind of module state: noise generators and
# feature-range buffers (denoising), a learned output scale (VAE, "mse"),
# projection seeds (contractive), a convolutional network, a held-out split.
CASES = {
    "Autoencoder": lambda: Autoencoder(**SMALL),
    "Autoencoder-tied-bce": lambda: Autoencoder(**SMALL, tied_weights=True, loss="bce"),
    "Autoencoder-early-stopping": lambda: Autoencoder(**SMALL, early_stopping=True),
    "Autoencoder-conv": lambda: Autoencoder(
        **SMALL, architecture=ConvolutionalArchitecture(channels=(2,))
    ),
    "DenoisingAutoencoder-masking": lambda: DenoisingAutoencoder(**SMALL),
    "DenoisingAutoencoder-salt-and-pepper": lambda: DenoisingAutoencoder(
        **SMALL, noise="salt_and_pepper"
    ),
    "SparseAutoencoder-kl": lambda: SparseAutoencoder(
        **SMALL, sparsity="kl", code_activation="logistic"
    ),
    "ContractiveAutoencoder": lambda: ContractiveAutoencoder(**SMALL),
    "VAE-mse": lambda: VAE(**SMALL),
    "VAE-bce": lambda: VAE(**SMALL, loss="bce"),
}
CASE = pytest.mark.parametrize("case", sorted(CASES))


@pytest.fixture(scope="module")
def X():
    return load_digits().data[:90] / 16


def fitted(case, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return CASES[case]().fit(X)


def assert_same_outputs(restored, est, X):
    Z = est.transform(X)
    np.testing.assert_array_equal(restored.transform(X), Z)
    np.testing.assert_array_equal(restored.inverse_transform(Z), est.inverse_transform(Z))
    np.testing.assert_array_equal(restored.score_samples(X), est.score_samples(X))
    assert restored.n_iter_ == est.n_iter_
    assert restored.loss_curve_ == est.loss_curve_


class NoTorchUnpickler(pickle.Unpickler):
    """Unpickle, refusing every torch and skorch object: plain data only."""

    def find_class(self, module, name):
        if module.split(".")[0] in {"torch", "skorch"}:
            raise pickle.UnpicklingError(f"the pickle holds {module}.{name}")
        return super().find_class(module, name)


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
def test_pickle_stream_holds_plain_data_only(case, X):
    """No tensor, device or skorch object in the bytes: loads on any machine."""
    est = fitted(case, X)
    data = pickle.dumps(est)
    assert b"cuda" not in data
    # Loads with every torch and skorch global refused: weights are numpy
    # arrays, and the net is rebuilt from the estimator's parameters.
    restored = NoTorchUnpickler(io.BytesIO(data)).load()
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
    assert restored.n_iter_ == est.n_iter_ == 6
    assert restored.loss_curve_ == est.loss_curve_


def test_model_saved_on_a_missing_device_loads_on_the_cpu(X):
    """What a CUDA-trained model does on a machine without CUDA, simulated."""
    est = fitted("DenoisingAutoencoder-masking", X)
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


def test_unfitted_estimator_round_trips(X):
    est = pickle.loads(pickle.dumps(DenoisingAutoencoder(noise_level=0.1)))
    assert est.get_params()["noise_level"] == 0.1
    assert not hasattr(est, "net_")


# -------------------------------------------------------------------- skops


def expected_trusted_types(est):
    types = {f"{type(est).__module__}.{type(est).__qualname__}"}
    if est.architecture is not None:
        types.add("skae._architecture.ConvolutionalArchitecture")
    return sorted(types)


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
