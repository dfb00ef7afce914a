"""Saving and loading: a fitted estimator pickles as plain data.

The fitted skorch net is exported as numpy arrays and builtins (weights,
buffers, optimizer moments, generator states, history), never as torch or
skorch objects, so a model trained on a GPU loads on a machine without one
and ``skops.io`` can check every type it loads. Loading rebuilds the network
from the parameters the estimator had when it was fitted (kept as
``_fitted_with``), not from its current ones, so ``set_params`` between
``fit`` and saving changes nothing in the saved model.
"""

import numpy as np
import torch
from skorch.history import History

from ._device import loadable_device

__all__ = ["PersistenceMixin", "export_net", "restore_net"]


class PersistenceMixin:
    """``__getstate__`` and ``__setstate__`` for estimators that hold a skorch net ``net_``.

    The estimator must set ``_fitted_with`` (an unfitted clone of itself) when it
    builds ``net_``, and have ``_rebuild_net(exported, device)`` returning a net
    built as that clone would build it.
    """

    def __getstate__(self):
        """State for pickle, joblib and ``skops.io``: the fitted net as plain data.

        Warnings
        --------
        pickle and joblib files run arbitrary code when loaded: never load one
        from an untrusted source. Use ``skops.io`` for files you did not write
        yourself (see the persistence page of the documentation).
        """
        state = super().__getstate__()
        if "net_" in state:
            state = {**state, "net_": export_net(state["net_"])}
        return state

    def __setstate__(self, state):
        exported = state.get("net_")
        if isinstance(exported, dict):
            state = {key: value for key, value in state.items() if key != "net_"}
        super().__setstate__(state)
        if isinstance(exported, dict):
            net = self._rebuild_net(loadable_device(exported["device"]))
            self.net_ = restore_net(net, exported)


def _to_plain(value):
    """``value`` with every tensor (and numpy scalar) as a numpy array or Python scalar."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {key: _to_plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_to_plain(item) for item in value)
    return value


def _to_tensors(value):
    """Inverse of :func:`_to_plain` for state dicts: numpy arrays back to CPU tensors."""
    if isinstance(value, np.ndarray):
        return torch.from_numpy(np.array(value))
    if isinstance(value, dict):
        return {key: _to_tensors(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_to_tensors(item) for item in value)
    return value


def _public_scalars(module):
    return {
        key: value
        for key, value in vars(module).items()
        if not key.startswith("_") and type(value) in (bool, int, float, str)
    }


def _generator_states(module):
    return {
        key: (str(value.device), _to_plain(value.get_state()))
        for key, value in vars(module).items()
        if isinstance(value, torch.Generator)
    }


def export_net(net):
    """The fitted state of a trained ``net`` as builtins and numpy arrays only.

    Weights, buffers, optimizer moments and the shuffling generator's state
    become numpy arrays on the CPU; the history becomes a list of dicts. No
    torch or skorch object is kept, so the result pickles without device
    tensors and is readable by ``skops.io`` without trusting anything.
    :func:`restore_net` puts it back into a net built the same way.

    Parameters
    ----------
    net : AutoencoderNet
        An initialised net.

    Returns
    -------
    state : dict
        Plain data: str keys, numpy arrays, lists, dicts and Python scalars.
    """
    return {
        "device": str(net.device),
        "batch_size": net.batch_size,
        "module": _to_plain(dict(net.module_.state_dict())),
        # Plain settings of each submodule that are not weights, such as the
        # seeds of private noise generators drawn at initialisation.
        "module_scalars": {name: _public_scalars(m) for name, m in net.module_.named_modules()},
        # Private noise generators (corruption, sampling): their device and state.
        "module_generators": {
            name: _generator_states(m) for name, m in net.module_.named_modules()
        },
        "criterion": _to_plain(dict(net.criterion_.state_dict())),
        "optimizer": _to_plain(net.optimizer_.state_dict()),
        "shuffle_generator": _to_plain(net.iterator_train__generator.get_state()),
        "history": _to_plain([dict(row) for row in net.history]),
    }


def restore_net(net, state):
    """Load a state from :func:`export_net` into ``net``, in place.

    Parameters
    ----------
    net : AutoencoderNet
        An initialised net whose module has the architecture of the exported
        one (built by the same estimator parameters).
    state : dict
        From :func:`export_net`.

    Returns
    -------
    net : AutoencoderNet
        The same net, now holding the exported weights, optimizer state and
        history.
    """
    net.batch_size = state["batch_size"]
    net.module_.load_state_dict(_to_tensors(state["module"]))
    for name, module in net.module_.named_modules():
        for key, value in state["module_scalars"].get(name, {}).items():
            if key in vars(module):
                setattr(module, key, value)
        for key, (device, generator_state) in state["module_generators"].get(name, {}).items():
            # A generator saved on another kind of device (a CUDA one loaded
            # on the CPU) is left out: the module draws again from its seed.
            if key in vars(module) and torch.device(device).type == torch.device(net.device).type:
                generator = torch.Generator(device=device)
                generator.set_state(_to_tensors(generator_state))
                setattr(module, key, generator)
    net.criterion_.load_state_dict(_to_tensors(state["criterion"]))
    net.optimizer_.load_state_dict(_to_tensors(state["optimizer"]))
    net.iterator_train__generator.set_state(_to_tensors(state["shuffle_generator"]))
    net.history = History(state["history"])
    return net
