"""The skorch training engine behind every skae estimator.

skorch runs the loop; this file only gives it what an autoencoder needs:
a loss made of the reconstruction plus weighted extra terms, an in-memory
batch iterator, early stopping that counts the untrained network as a
candidate, and a guard against divergence.
"""

import copy
import math

import numpy as np
import scipy.sparse as sp
import torch
from skorch import NeuralNet
from skorch.callbacks import Callback, EarlyStopping

__all__ = [
    "AutoencoderNet",
    "DivergenceGuard",
    "EarlyStoppingFromStart",
    "TensorBatchIterator",
    "compose_loss",
    "rows_as_tensor",
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
    autoencoder's target is its input. With ``corruption``, each batch is
    ``(corrupted X_batch, X_batch)``, corrupted by a module that
    ``corruption()`` builds afresh for each pass from a fixed seed, so a
    denoising model's held-out rows are scored on the same noise every
    epoch.

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
    corruption : callable or None, default=None
        Returns a corruption module (see :class:`skae.Corruption`); used for
        the validation rows of a model trained on corrupted input.
    """

    def __init__(
        self, dataset, batch_size, shuffle=False, generator=None, device="cpu", corruption=None
    ):
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = generator
        self.device = device
        self.corruption = corruption

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
        corrupt = self.corruption().train() if self.corruption is not None else None
        for start in range(0, n, self.batch_size):
            if order is None:
                index = slice(start, start + self.batch_size)
            else:
                index = order[start : start + self.batch_size]
            batch = rows_as_tensor(X, index, self.device)
            yield (batch if corrupt is None else corrupt(batch)), batch


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


def compose_loss(criterion, loss_terms, output, X, module):
    """Each row's training loss: its reconstruction loss plus the weighted terms.

    The one place where skae's loss is put together: the skorch net and the
    hand-written loop of ``benchmarks/training_speed.py`` both call it.

    Parameters
    ----------
    criterion : callable
        ``criterion(output, X)`` returns the per-row reconstruction loss.
    loss_terms : sequence of (str, float, callable)
        ``(name, weight, function)``; ``function(output, X, module)`` returns
        one value per row.
    output : dict
        The module's output for the batch.
    X : Tensor of shape (n, n_features)
        The clean batch, the reconstruction target.
    module : torch.nn.Module
        The network.

    Returns
    -------
    loss : Tensor of shape (n,)
        Per-row loss; its mean is the batch's training loss.
    parts : dict of str to Tensor of shape (n,)
        ``"reconstruction"`` and each term by name, unweighted.
    """
    per_sample = criterion(output, X)
    parts = {"reconstruction": per_sample}
    for name, weight, function in loss_terms:
        value = function(output, X, module)
        parts[name] = value
        per_sample = per_sample + weight * value
    return per_sample, parts


class EarlyStoppingFromStart(EarlyStopping):
    """skorch's ``EarlyStopping`` that counts the untrained network as epoch 0.

    Before the first epoch it scores the starting weights on the validation
    rows, so with ``load_best=True`` a fit in which no epoch beats the start
    by more than ``threshold`` ends with the starting weights. Started at
    PCA's solution, an autoencoder therefore never ends worse than PCA on the
    held-out rows.

    Parameters
    ----------
    **kwargs
        As for :class:`skorch.callbacks.EarlyStopping`; ``monitor`` must be
        ``"valid_loss"``.

    Attributes
    ----------
    start_score_ : float
        The validation loss of the starting weights.
    active_ : bool
        False when the net has no validation rows (``partial_fit`` after an
        early-stopped ``fit``): the callback then does nothing.
    """

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        super().on_train_begin(net, X=X, y=y, **kwargs)
        _, valid = net.get_split_datasets(X, y)
        # Without held-out rows (partial_fit after an early-stopped fit) it
        # stands aside.
        self.active_ = valid is not None
        if not self.active_:
            return
        total, count = 0.0, 0
        for batch in net.get_iterator(valid, training=False):
            total += float(net.validation_step(batch)["loss"]) * len(batch[0])
            count += len(batch[0])
        self.start_score_ = total / count
        self.dynamic_threshold_ = self._calc_new_threshold(self.start_score_)
        if self.load_best:
            self.best_model_weights_ = copy.deepcopy(net.module_.state_dict())

    def on_epoch_end(self, net, **kwargs):
        if self.active_:
            super().on_epoch_end(net, **kwargs)

    def on_train_end(self, net, **kwargs):
        if self.active_:
            super().on_train_end(net, **kwargs)


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

    def held_out_losses(self, dataset):
        """Each row's loss on ``dataset``, in evaluation mode, as validation scores it.

        Parameters
        ----------
        dataset : skorch.dataset.Dataset
            The held-out rows; a denoising model's are corrupted by the
            validation iterator's fixed noise, as every epoch scores them.

        Returns
        -------
        losses : ndarray of shape (n_rows,)
            The reconstruction loss plus the weighted terms of each row, in
            float64.
        """
        self._set_training(False)
        losses = []
        with torch.no_grad():
            for Xi, yi in self.get_iterator(dataset, training=False):
                per_sample, _ = compose_loss(
                    self.criterion_, self.loss_terms, self.infer(Xi), yi, self.module_
                )
                losses.append(per_sample.double().cpu())
        return torch.cat(losses).numpy()

    def get_loss(self, y_pred, y_true, X=None, training=False):
        per_sample, parts = compose_loss(
            self.criterion_, self.loss_terms, y_pred, y_true, self.module_
        )
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
