"""How many torch threads a fit or an inference uses, and never behind the user's back.

torch starts one OpenMP thread per core. A second thread helps a large
network on an idle machine, but when another process holds a core the
threads of each parallel region wait for the one that is descheduled, and a
fit becomes several times slower (measured by ``benchmarks/threads.py``).
Small networks gain nothing from more threads even on an idle machine.

So, unless the user has chosen a thread count (``torch.set_num_threads``
after importing skae, or ``OMP_NUM_THREADS`` / ``MKL_NUM_THREADS``), each
``fit``, ``partial_fit``, ``transform``, ``inverse_transform`` and
``score_samples`` runs with as many threads as there are idle cores (the
cores minus the larger of the load average and the number of other tasks
runnable right now), one for small networks, and puts torch's setting back
afterwards.
"""

import contextlib
import os

import torch

__all__ = ["torch_threads", "threads_for"]

# torch's thread count when skae was imported: what it chose on its own,
# unless the user set it before.
_DEFAULT_THREADS = torch.get_num_threads()
_ENVIRONMENT = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")

# A network with fewer parameters than this runs on one thread: below it,
# a second thread did not pay on an idle machine (benchmarks/threads.py).
_SMALL_NETWORK = 1_000_000


def _user_chose():
    return (
        any(os.environ.get(name) for name in _ENVIRONMENT)
        or torch.get_num_threads() != _DEFAULT_THREADS
    )


def _runnable_others():
    """Processes other than this one that want a core right now (Linux), or None.

    The load average lags a process that has just started by about a
    minute; the kernel's count of runnable tasks does not.
    """
    try:
        with open("/proc/loadavg") as f:
            running = int(f.read().split()[3].split("/")[0])
    except (OSError, ValueError, IndexError):
        return None
    return max(0, running - 1)


def _idle_cores():
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # not on this platform
        load = 0.0
    now = _runnable_others()
    busy = max(load, now or 0)
    return max(1, min(_DEFAULT_THREADS, int(round((os.cpu_count() or 1) - busy))))


def threads_for(module, device):
    """The thread count skae would use for ``module`` on ``device``, or None to leave torch's.

    Parameters
    ----------
    module : torch.nn.Module or None
        The network (None: unknown, as large).
    device : torch.device
        Where it runs; threads only matter on the CPU.

    Returns
    -------
    n_threads : int or None
        None when the user chose a thread count, or off the CPU.
    """
    if torch.device(device).type != "cpu" or _user_chose():
        return None
    if module is not None and sum(p.numel() for p in module.parameters()) < _SMALL_NETWORK:
        return 1
    return _idle_cores()


@contextlib.contextmanager
def torch_threads(module, device):
    """Run the block with :func:`threads_for`'s thread count, then restore torch's."""
    wanted = threads_for(module, device)
    before = torch.get_num_threads()
    if wanted is None or wanted == before:
        yield
        return
    torch.set_num_threads(wanted)
    try:
        yield
    finally:
        torch.set_num_threads(before)
