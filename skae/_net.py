"""The skorch training engine behind every skae estimator.

skorch runs the loop; this file only gives it what an autoencoder needs:
a loss made of the reconstruction plus weighted extra terms, an in-memory
batch iterator, a reproducible validation split and a guard against
divergence.
"""

import copy
import math

import numpy as np
import scipy.sparse as sp
import torch
from skorch import NeuralNet
from skorch.callbacks import Callback
from skorch.dataset import Dataset
from skorch.history import History

__all__ = [
    "AutoencoderNet",
    "TensorBatchIterator",
    "HoldOutSplit",
    "DivergenceGuard",
    "export_net",
    "restore_net",
]


def rows_as_tensor(X, index, device):
    """Rows ``index`` of ``X`` (tensor, array or sparse matrix) as a dense float32 tensor."""
    if isinstance(X, torch.Tensor):
        if index is None:
            return X
        return X[index.to(X.device)] if isinstance(index, torch.Tensor) else X[index]
    if isinstance(index, torch.Tensor):
        index = index.cpu().numpy()
    rows = X if index is None else X[index]
    if sp.issparse(rows):
        return torch.from_numpy(rows.toarray().astype(np.float32, copy=False)).to(device)
    rows = np.asarray(rows)
    if rows.dtype == np.float32 and rows.flags.c_contiguous and rows.flags.writeable:
        # No copy on the CPU: nothing in skae writes to its input batches.
        return torch.from_numpy(rows).to(device)
    # Read-only arrays (torch warns on sharing them) and other layouts are copied.
    return torch.tensor(rows, dtype=torch.float32, device=device)


class TensorBatchIterator:
    """Iterate over mini-batches of an in-memory dataset.

    Slices whole batches out of ``dataset.X`` (a tensor, already on the
    training device, or a scipy sparse matrix densified one batch at a time)
    instead of indexing and collating one sample at a time as a
    ``DataLoader`` does. Each batch is ``(X_batch, X_batch)``: an
    autoencoder's target is its input.

    Parameters
    ----------
    dataset : skorch.dataset.Dataset
        Holds the rows in ``dataset.X``.
    batch_size : int
        Rows per batch; the last batch may be smaller.
    shuffle : bool, default=False
        Draw a new permutation each epoch from ``generator``.
    generator : torch.Generator or None, default=None
        CPU generator for the permutations.
    device : str or torch.device, default="cpu"
        Where densified sparse batches are put.
    """

    def __init__(self, dataset, batch_size, shuffle=False, generator=None, device="cpu"):
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = generator
        self.device = device

    def __len__(self):
        return math.ceil(self.dataset.X.shape[0] / self.batch_size)

    def __iter__(self):
        X = self.dataset.X
        n = X.shape[0]
        order = torch.randperm(n, generator=self.generator) if self.shuffle else None
        if order is not None and isinstance(X, torch.Tensor):
            # One copy of the permutation to the data's device per epoch, not
            # one host-to-device copy of its slice per batch.
            order = order.to(X.device)
        for start in range(0, n, self.batch_size):
            if order is None:
                index = slice(start, start + self.batch_size)
            else:
                index = order[start : start + self.batch_size]
            batch = rows_as_tensor(X, index, self.device)
            yield batch, batch


class HoldOutSplit:
    """skorch ``train_split``: hold out a random fraction of rows for validation.

    Parameters
    ----------
    fraction : float
        Share of rows held out, in (0, 1).
    seed : int
        Seed of the permutation, so the split is the same on every fit with
        the same ``random_state``.
    """

    def __init__(self, fraction, seed):
        self.fraction = fraction
        self.seed = seed

    def __call__(self, dataset, y=None, **fit_params):
        X = dataset.X
        n = X.shape[0]
        n_valid = max(1, int(round(self.fraction * n)))
        if n - n_valid < 1:
            raise ValueError(
                f"early_stopping=True holds out validation_fraction={self.fraction} "
                f"of the {n} samples and leaves none to train on; pass more "
                "samples or set early_stopping=False."
            )
        generator = torch.Generator().manual_seed(self.seed)
        order = torch.randperm(n, generator=generator)
        valid, train = order[:n_valid], order[n_valid:]
        if not isinstance(X, torch.Tensor):
            valid, train = valid.numpy(), train.numpy()
        else:
            valid, train = valid.to(X.device), train.to(X.device)
        return Dataset(X[train]), Dataset(X[valid])


class DivergenceGuard(Callback):
    """Stop a fit whose loss stops being finite, keeping the last good weights.

    At the start of each epoch the module and optimizer state are copied; if
    the epoch ends with a non-finite training loss or non-finite weights
    (even when the loss became non-finite in the middle of the epoch) they
    are restored and a ``ValueError`` tells the user what to change.
    """

    def on_epoch_begin(self, net, **kwargs):
        self.snapshot_ = (
            copy.deepcopy(net.module_.state_dict()),
            copy.deepcopy(net.optimizer_.state_dict()),
        )

    def on_train_end(self, net, **kwargs):
        # The copy is only needed while training; don't keep a second set of
        # weights (and Adam's moments) in a fitted model.
        self.snapshot_ = None

    def on_epoch_end(self, net, **kwargs):
        loss = net.history[-1, "train_loss"]
        # The last optimizer step comes after the last finite loss: check the
        # weights it left as well.
        weights_finite = all(bool(torch.isfinite(p).all()) for p in net.module_.parameters())
        if math.isfinite(loss) and weights_finite:
            return
        module_state, optimizer_state = self.snapshot_
        net.module_.load_state_dict(module_state)
        net.optimizer_.load_state_dict(optimizer_state)
        self.snapshot_ = None
        del net.history[-1]
        raise ValueError(
            f"Training diverged: the training loss became {loss} "
            f"{'' if weights_finite else 'and the weights non-finite '}in epoch "
            f"{len(net.history) + 1}. Lower learning_rate_init (it is {net.lr}) "
            "or scale the data first, for example with "
            "sklearn.preprocessing.StandardScaler or MinMaxScaler. The weights "
            "of the last finite epoch were kept."
        )


class AutoencoderNet(NeuralNet):
    """skorch ``NeuralNet`` whose loss is reconstruction plus weighted terms.

    Parameters
    ----------
    *args, **kwargs
        As for :class:`skorch.NeuralNet`. ``criterion`` returns one
        reconstruction loss per row (see :class:`skae.nn.ReconstructionLoss`).
    loss_terms : sequence of (str, float, callable), default=()
        Extra terms ``(name, weight, function)``; ``function(output, X,
        module)`` returns one value per row, where ``output`` is the module's
        output dict and ``X`` the clean input batch.

    Notes
    -----
    The loss of a batch is the mean over its rows of the reconstruction loss
    plus the weighted terms. When there are extra terms, the epoch means of
    each part are recorded in the history as ``train_reconstruction`` and
    ``train_<name>`` (unweighted).
    """

    def __init__(self, *args, loss_terms=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.loss_terms = loss_terms

    def _set_training(self, training=True):
        # skorch sets the mode before every batch, and torch's train() walks
        # the whole module tree each time: about 40 microseconds a step, as
        # much as the forward pass of a small network on a GPU. Switch only
        # when the mode changes (skae never sets a submodule's mode alone).
        for name in self._modules + self._criteria:
            module = getattr(self, name + "_")
            if isinstance(module, torch.nn.Module) and module.training != training:
                module.train(training)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        per_sample = self.criterion_(y_pred, y_true)
        parts = {"reconstruction": per_sample}
        for name, weight, function in self.loss_terms:
            value = function(y_pred, X, self.module_)
            parts[name] = value
            per_sample = per_sample + weight * value
        if training and self.loss_terms:
            for name, value in parts.items():
                total = value.detach().sum()
                self.part_sums_[name] = self.part_sums_.get(name, 0.0) + total
            self.part_count_ += len(per_sample)
        return per_sample.mean()

    def on_epoch_begin(self, net, **kwargs):
        super().on_epoch_begin(net, **kwargs)
        self.part_sums_, self.part_count_ = {}, 0

    def on_epoch_end(self, net, **kwargs):
        super().on_epoch_end(net, **kwargs)
        for name, total in self.part_sums_.items():
            self.history.record(f"train_{name}", float(total) / self.part_count_)
        self.part_sums_ = {}


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
    split = net.train_split
    return {
        "device": str(net.device),
        "batch_size": net.batch_size,
        "hold_out_seed": split.seed if isinstance(split, HoldOutSplit) else None,
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
