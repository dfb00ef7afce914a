"""The GPU path: data on the device, CPU / CUDA agreement, persistence without CUDA.

Tests marked ``cuda`` are skipped where torch sees no CUDA device. The others
run everywhere and check the device-independent half of each contract: the
batch iterator slices the stored tensor, fit hands skorch a tensor already on
the training device, and a pickle holds no tensor that would be restored to
its original device (outside what skorch maps to the CPU when CUDA is absent).
"""

import os
import pickle
import subprocess
import sys
import textwrap
import warnings

import joblib
import numpy as np
import pytest
import torch
from _registry import ESTIMATOR_CLASSES
from _unpickling import loads_without_torch
from sklearn.base import clone
from sklearn.datasets import load_digits
from skorch.callbacks import Callback
from skorch.dataset import Dataset

from skae import Autoencoder
from skae._net import TensorBatchIterator

HAS_CUDA = torch.cuda.is_available()
_skip_without_cuda = pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA device")


def needs_cuda(test):
    """Mark ``test`` as a CUDA test, skipped without a CUDA device."""
    return pytest.mark.cuda(_skip_without_cuda(test))


DEVICES = ["cpu", pytest.param("cuda", marks=[pytest.mark.cuda, _skip_without_cuda])]

FAMILIES = ESTIMATOR_CLASSES


@pytest.fixture(scope="module")
def X():
    return load_digits().data[:120] / 16.0


def _small(estimator_class, device, **params):
    params = {
        "n_components": 3,
        "hidden_layer_sizes": (16,),
        "max_iter": 3,
        "random_state": 0,
        "device": device,
        **params,
    }
    return estimator_class(**params)


def _fit_quietly(estimator, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning after so few epochs
        return estimator.fit(X)


def _float32_tolerance():
    """(rtol, atol) for comparing float32 results computed on CPU and on CUDA."""
    tf32 = torch.backends.cuda.matmul.allow_tf32 or (
        os.environ.get("TORCH_ALLOW_TF32_CUBLAS_OVERRIDE") == "1"
    )
    # TF32 matmuls keep a 10-bit mantissa: compare at its precision instead.
    return (5e-3, 5e-3) if tf32 else (1e-5, 1e-5)


# ------------------------------------------------------ data stays on the device


@pytest.mark.parametrize("device", DEVICES)
def test_batch_iterator_slices_the_stored_tensor(device):
    data = torch.arange(30, dtype=torch.float32, device=device).reshape(10, 3)
    iterator = TensorBatchIterator(Dataset(data), batch_size=4, device=device)
    batches = list(iterator)
    assert len(batches) == len(iterator) == 3
    for start, (Xb, yb) in zip(range(0, 10, 4), batches, strict=True):
        assert Xb is yb  # the target is the input, not a second copy
        # A view into the stored tensor: no copy on the host or on the device.
        assert Xb.device == data.device
        assert Xb.untyped_storage().data_ptr() == data.untyped_storage().data_ptr()
        assert Xb.data_ptr() == data[start].data_ptr()
    torch.testing.assert_close(torch.cat([Xb for Xb, _ in batches]), data, rtol=0, atol=0)


@pytest.mark.parametrize("device", DEVICES)
def test_shuffled_batches_are_gathered_on_the_device(device):
    data = torch.arange(30, dtype=torch.float32, device=device).reshape(10, 3)
    iterator = TensorBatchIterator(
        Dataset(data),
        batch_size=4,
        shuffle=True,
        generator=torch.Generator().manual_seed(7),
        device=device,
    )
    batches = [Xb for Xb, _ in iterator]
    assert all(Xb.device == data.device for Xb in batches)
    order = torch.randperm(10, generator=torch.Generator().manual_seed(7))
    expected = data[order.to(data.device)]
    torch.testing.assert_close(torch.cat(batches), expected, rtol=0, atol=0)


class _DeviceProbe(Callback):
    """Record where the training data and each training batch live."""

    def initialize(self):
        self.train_data_ = []
        self.batch_devices_ = set()
        return self

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        self.train_data_.append((type(X), str(X.device) if hasattr(X, "device") else None))

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        if training:
            self.batch_devices_.add(str(batch[0].device))


@pytest.mark.parametrize("device", DEVICES)
def test_fit_moves_the_training_data_to_the_device_once(X, device):
    ae = _small(Autoencoder, device, batch_size=32, callbacks=[("probe", _DeviceProbe())])
    _fit_quietly(ae, X)
    ae.partial_fit(X)
    probe = dict(ae.net_.callbacks_)["probe"]
    expected = str(torch.device(device, 0) if device == "cuda" else torch.device(device))
    # skorch receives one tensor already on the device (not the numpy array),
    # and every mini-batch is cut from it there.
    assert probe.train_data_ == [(torch.Tensor, expected)] * 2
    assert probe.batch_devices_ == {expected}


# ------------------------------------------------------------------ persistence


def test_the_plain_data_check_refuses_a_pickled_tensor():
    # The check below must be able to fail: a tensor in the stream is refused.
    with pytest.raises(pickle.UnpicklingError, match="torch"):
        loads_without_torch(pickle.dumps({"weights": torch.zeros(2)}))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("Estimator", FAMILIES, ids=lambda cls: cls.__name__)
def test_pickle_holds_no_tensor_tied_to_its_device(X, Estimator, device):
    est = _fit_quietly(_small(Estimator, device), X)
    data = pickle.dumps(est)
    assert b"cuda" not in data
    # Weights, optimizer moments and generator states are numpy arrays: the
    # model loads with every torch and skorch global refused.
    loaded = loads_without_torch(data)
    assert str(loaded.net_.device) == str(est.net_.device)
    # The same weights on the same device: the same codes.
    np.testing.assert_allclose(loaded.transform(X), est.transform(X), rtol=1e-6, atol=1e-7)


# ------------------------------------------------------------------- CUDA only


@needs_cuda
def test_cuda_fit_matches_cpu_fit(X):
    # Full-batch training with smooth activations: the two fits start from the
    # same weights (drawn on the CPU) and differ only by float32 rounding.
    params = dict(batch_size=len(X), activation="tanh", max_iter=5)
    cpu = _fit_quietly(_small(Autoencoder, "cpu", **params), X)
    gpu = _fit_quietly(_small(Autoencoder, "cuda", **params), X)
    assert all(p.is_cuda for p in gpu.net_.module_.parameters())
    np.testing.assert_allclose(gpu.loss_curve_, cpu.loss_curve_, rtol=1e-3)
    Z_cpu, Z_gpu = cpu.transform(X), gpu.transform(X)
    assert Z_gpu.dtype == np.float32 and Z_gpu.shape == (len(X), 3)
    np.testing.assert_allclose(Z_gpu, Z_cpu, rtol=1e-3, atol=1e-3)


@needs_cuda
def test_cuda_and_cpu_transforms_agree_with_the_same_weights(X):
    gpu = _fit_quietly(_small(Autoencoder, "cuda"), X)
    cpu = _fit_quietly(clone(gpu).set_params(device="cpu"), X)
    cpu.net_.module_.load_state_dict(gpu.net_.module_.state_dict())
    rtol, atol = _float32_tolerance()
    Z = gpu.transform(X)
    np.testing.assert_allclose(Z, cpu.transform(X), rtol=rtol, atol=atol)
    np.testing.assert_allclose(
        gpu.inverse_transform(Z), cpu.inverse_transform(Z), rtol=rtol, atol=atol
    )
    np.testing.assert_allclose(gpu.score_samples(X), cpu.score_samples(X), rtol=rtol, atol=atol)


_LOAD_WITHOUT_CUDA = textwrap.dedent(
    """
    import sys, warnings
    import joblib, numpy as np, torch
    assert not torch.cuda.is_available()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the DeviceWarning: loading on the CPU
        est = joblib.load(sys.argv[1])
    assert str(est.net_.device) == "cpu", est.net_.device
    assert all(not p.is_cuda for p in est.net_.module_.parameters())
    np.save(sys.argv[3], est.transform(np.load(sys.argv[2])))
    """
)


@needs_cuda
def test_cuda_model_persists_and_loads_without_cuda(X, tmp_path):
    gpu = _fit_quietly(_small(Autoencoder, "cuda"), X)
    Z = gpu.transform(X)
    path = tmp_path / "gpu_model.joblib"
    joblib.dump(gpu, path)

    # Where CUDA is present, the model comes back on the GPU, unchanged.
    same = joblib.load(path)
    assert all(p.is_cuda for p in same.net_.module_.parameters())
    np.testing.assert_allclose(same.transform(X), Z, rtol=1e-6, atol=1e-7)

    # Where CUDA is absent (hidden from a fresh interpreter), it loads on the CPU.
    np.save(tmp_path / "X.npy", X)
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    subprocess.run(
        [
            sys.executable,
            "-c",
            _LOAD_WITHOUT_CUDA,
            str(path),
            str(tmp_path / "X.npy"),
            str(tmp_path / "Z.npy"),
        ],
        env=env,
        check=True,
        timeout=120,
    )
    rtol, atol = _float32_tolerance()
    np.testing.assert_allclose(np.load(tmp_path / "Z.npy"), Z, rtol=rtol, atol=atol)
