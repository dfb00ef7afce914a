"""How many torch threads a fit uses: skae's choice, never against the user's."""

import os

import pytest
import torch
from sklearn.datasets import load_digits
from skorch.callbacks import Callback

from skae import Autoencoder, _threads


class RecordThreads(Callback):
    """Record torch's thread count at the start of every epoch."""

    def initialize(self):
        self.seen = []
        return self

    def on_epoch_begin(self, net, **kwargs):
        self.seen.append(torch.get_num_threads())


@pytest.fixture
def nobody_chose(monkeypatch):
    """As if the user had set no thread count: torch's is the one skae saw at import."""
    for name in _threads._ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(_threads, "_DEFAULT_THREADS", torch.get_num_threads())


def _seen(estimator):
    """The thread counts the fitted estimator's own copy of the recorder saw."""
    return dict(estimator.net_.callbacks_)["RecordThreads"].seen


def _large_network():
    return torch.nn.Linear(1000, 1001)  # 1,002,001 parameters


def test_small_network_runs_on_one_thread_and_torch_setting_is_restored(nobody_chose):
    before = torch.get_num_threads()
    X = load_digits().data[:200] / 16
    ae = Autoencoder(n_components=3, max_iter=3, callbacks=[RecordThreads()], random_state=0)
    assert _seen(ae.fit(X)) == [1, 1, 1]
    assert torch.get_num_threads() == before


def test_large_network_uses_the_idle_cores(nobody_chose, monkeypatch):
    cores = os.cpu_count()
    all_threads = min(cores, torch.get_num_threads())
    monkeypatch.setattr(os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    monkeypatch.setattr(_threads, "_runnable_others", lambda: 0)
    assert _threads.threads_for(_large_network(), "cpu") == all_threads
    # A busy machine, seen by the load average ...
    monkeypatch.setattr(os, "getloadavg", lambda: (float(cores), 0.0, 0.0))
    assert _threads.threads_for(_large_network(), "cpu") == 1
    # ... or by the tasks runnable now, before the load average catches up.
    monkeypatch.setattr(os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    monkeypatch.setattr(_threads, "_runnable_others", lambda: cores)
    assert _threads.threads_for(_large_network(), "cpu") == 1


def test_runnable_others_reads_the_kernels_count():
    others = _threads._runnable_others()
    if others is None:
        pytest.skip("no /proc/loadavg on this platform")
    assert isinstance(others, int) and others >= 0


def test_the_users_choice_is_left_alone(nobody_chose, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert _threads.threads_for(torch.nn.Linear(2, 2), "cpu") is None
    monkeypatch.delenv("OMP_NUM_THREADS")
    # torch.set_num_threads after importing skae: the count differs from the one seen then.
    monkeypatch.setattr(_threads, "_DEFAULT_THREADS", torch.get_num_threads() + 1)
    assert _threads.threads_for(torch.nn.Linear(2, 2), "cpu") is None
    X = load_digits().data[:200] / 16
    ae = Autoencoder(n_components=3, max_iter=2, callbacks=[RecordThreads()], random_state=0)
    assert _seen(ae.fit(X)) == [torch.get_num_threads()] * 2


def test_threads_only_matter_on_the_cpu(nobody_chose):
    assert _threads.threads_for(torch.nn.Linear(2, 2), torch.device("cuda")) is None


def test_torch_threads_restores_the_setting_after_an_error(nobody_chose):
    before = torch.get_num_threads()
    with pytest.raises(RuntimeError, match="inside"):
        with _threads.torch_threads(torch.nn.Linear(2, 2), "cpu"):
            assert torch.get_num_threads() == 1
            raise RuntimeError("inside")
    assert torch.get_num_threads() == before
