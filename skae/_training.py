"""Training: from validated rows to a trained skorch net.

:class:`~skae._base.BaseAutoencoder` calls these in ``fit`` and
``partial_fit``; each function does one step of the path and reads the
estimator's parameters and hooks:

1. :class:`FitData` turns validated rows into tensors on the training device,
   seeds, and (with early stopping) the split into training and held-out rows;
2. :func:`build_module` builds the network from the family's hooks, starts it
   (at random, at PCA's solution, or by greedy pretraining) and lets the
   penalties wrap it;
3. :func:`build_net` builds the skorch net that trains it;
4. :func:`check_fit` reads the history and warns about what the user should
   know (``max_iter`` reached, constant code units, worse than PCA).
"""

import copy
import functools
from dataclasses import dataclass
from functools import partial
from numbers import Integral

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from skorch.callbacks import EarlyStopping, LRScheduler
from skorch.dataset import Dataset
from skorch.helper import predefined_split
from skorch.utils import noop
from torch.optim.lr_scheduler import LambdaLR, ReduceLROnPlateau

from ._device import resolve_device
from ._net import (
    AutoencoderNet,
    DivergenceGuard,
    EarlyStoppingFromStart,
    TensorBatchIterator,
)
from ._pca import MAX_FEATURES, PrincipalAxes, row_batches
from ._regularizer import build_corruption, split_regularizers
from ._warnings import warn
from .nn import init_from_pca_, init_parameters_

__all__ = [
    "FitData",
    "attach_regularizers",
    "build_module",
    "build_net",
    "check_fit",
    "end_fit",
]

# With fewer rows, "auto" trains on every row: a held-out set of one row
# says little, and the smallest inputs of scikit-learn's checks have 1 to 10.
_MIN_ROWS_FOR_AUTO_EARLY_STOPPING = 20


def _as_tensor(X, device):
    """Validated rows as a float32 tensor on ``device`` (sharing memory when it can)."""
    if sp.issparse(X):
        return X
    if device.type == "cpu" and X.flags.writeable and X.flags.c_contiguous:
        return torch.from_numpy(X)
    return torch.tensor(X, dtype=torch.float32, device=device)


def hold_out(n_samples, fraction, seed):
    """Indices ``(train, valid)`` of a random hold-out split, reproducible from ``seed``."""
    n_valid = max(1, int(round(fraction * n_samples)))
    if n_samples - n_valid < 1:
        raise ValueError(
            f"early_stopping=True holds out validation_fraction={fraction} of the "
            f"{n_samples} samples and leaves none to train on; pass more samples or "
            "set early_stopping=False."
        )
    return hold_out_folds(n_samples, fraction, seed)[0]


def hold_out_folds(n_samples, fraction, seed):
    """Every ``(train, valid)`` split of the rows into disjoint held-out folds.

    The first is :func:`hold_out`'s split; each other fold holds out the
    next ``round(fraction * n_samples)`` rows of the same permutation (the
    rows left over after the last whole fold are always training rows).
    """
    n_valid = max(1, int(round(fraction * n_samples)))
    order = torch.randperm(n_samples, generator=torch.Generator().manual_seed(seed)).numpy()
    splits = []
    for start in range(0, n_samples - n_valid + 1, n_valid):
        valid = order[start : start + n_valid]
        train = np.concatenate([order[:start], order[start + n_valid :]])
        splits.append((np.sort(train), np.sort(valid)))
    return splits


@dataclass
class FitData:
    """The rows of one ``fit`` or ``partial_fit`` call, ready to train on.

    Attributes
    ----------
    X : ndarray or sparse matrix
        The validated rows (float32).
    train, valid : ndarray or sparse matrix
        The training rows and the held-out rows (``valid`` is None without
        early stopping).
    device : torch.device
        The training device.
    seeds : list of int
        Seeds of the corruption, the initialisation, the shuffling and the
        split, drawn from ``random_state``.
    early_stopping : bool
        Whether rows are held out and the best epoch restored.
    incremental : bool
        Whether this is one epoch of ``partial_fit``.
    learning_rates, patience : tuple of float or None, int or None
        The learning rate of each epoch and the stopping patience, replayed
        instead of ``learning_rate``'s schedule and ``n_iter_no_change``
        when a network is trained again on every row for its split's best
        epoch count (:func:`refit_on_every_row`): no held-out loss drives
        ``"adaptive"`` there, and ``"cosine"`` would decay over those
        epochs instead of ``max_iter``.
    """

    X: object
    train: object
    valid: object
    device: torch.device
    seeds: list
    early_stopping: bool
    incremental: bool
    validation_fraction: float = None
    started_at_pca: bool = False
    back_to_pca: bool = False
    held_out_mse: tuple = None
    learning_rates: tuple = None
    patience: int = None
    _pca: object = None
    _variance: object = None
    _train_tensor: object = None

    @classmethod
    def from_rows(cls, estimator, X, *, incremental, device=None):
        """Seed, choose the device and split ``X`` as the estimator's parameters say."""
        rng = check_random_state(estimator.random_state)
        seeds = [int(s) for s in rng.randint(np.iinfo(np.int32).max, size=4)]
        device = resolve_device(estimator.device) if device is None else device
        early = estimator.early_stopping
        if early == "auto":
            early = X.shape[0] >= _MIN_ROWS_FOR_AUTO_EARLY_STOPPING
        early = bool(early) and not incremental
        if not early:
            return cls(X, X, None, device, seeds, False, incremental)
        fraction = estimator.validation_fraction
        train, valid = hold_out(X.shape[0], fraction, seeds[3])
        return cls(X, X[train], X[valid], device, seeds, True, incremental, fraction)

    def other_folds(self):
        """The same rows split at each other held-out fold (see :func:`hold_out_folds`)."""
        folds = hold_out_folds(self.X.shape[0], self.validation_fraction, self.seeds[3])
        for train, valid in folds[1:]:
            rows = (self.X, self.X[train], self.X[valid], self.device, self.seeds, True, False)
            yield FitData(*rows, self.validation_fraction)

    def tensor(self, rows):
        """``rows`` (one of the attributes) on the training device."""
        return _as_tensor(rows, self.device)

    def train_tensor(self):
        """The training rows on the training device (made once)."""
        if self._train_tensor is None:
            self._train_tensor = self.tensor(self.train)
        return self._train_tensor

    def variance_scale(self):
        """Mean variance per feature of the training rows (1 for constant rows): ``tol``'s unit."""
        if self._variance is not None:
            return self._variance
        rows = self.train
        if isinstance(rows, torch.Tensor):
            rows = rows.cpu().numpy()
        total, squares = 0.0, 0.0
        for batch in row_batches(rows):
            total = total + batch.sum(axis=0)
            squares += float(np.sum(batch**2))
        n, d = rows.shape
        variance = (squares - float(np.sum(total**2)) / n) / (n * d) if n else 0.0
        self._variance = variance if variance > 0 else 1.0
        return self._variance

    def pca(self, n_components=None):
        """PCA of the training rows (fitted once), or None for < 2 rows or too many features."""
        if self.train.shape[1] > MAX_FEATURES:
            return None
        if self._pca is None:
            self._pca = fit_pca(self.train, None) or False
        return self._pca.truncated(n_components) if self._pca else None


def has_ordered_code(estimator):
    """Whether a regularizer of the estimator orders its code (``orders_code``)."""
    regularizers = [*estimator._family_regularizers(), *(estimator.regularizers or [])]
    return any(getattr(r, "orders_code", False) for _, r in regularizers)


def specification(estimator, fit, previous=None):
    """The estimator to build the network from: itself, or with an integer code width.

    A float ``n_components`` is a share of variance: the code is as wide as
    PCA needs to explain that share of the training rows' variance (the
    network, started at PCA's solution, needs at most as many units), and
    the fit keeps the smallest ordered prefix that reaches it.
    """
    if isinstance(estimator.n_components, Integral):
        return estimator
    share = estimator.n_components
    if not has_ordered_code(estimator):
        raise ValueError(
            f"n_components={share} asks for the smallest code that explains that share of "
            "the variance, which needs an ordered code: add "
            "regularizers=[('order', OrderedCode())], or pass an int."
        )
    if previous is not None:
        width = previous.n_components
    else:
        pca = fit.pca()
        if pca is None:
            raise ValueError(
                f"n_components={share} needs PCA of the training rows to size the code, "
                f"which takes at least 2 rows and at most {MAX_FEATURES} features; pass an int."
            )
        explained = np.cumsum(pca.explained_variance_) / pca.total_variance_
        width = min(int(np.searchsorted(explained, share) + 1), len(explained))
    return clone(estimator).set_params(n_components=width)


def resolved_init(estimator, n_features):
    """``"pca"`` or ``"random"``: how the estimator's network starts on ``n_features`` features."""
    hidden = estimator._hidden_layer_sizes()
    reasons = []
    if n_features > MAX_FEATURES:
        reasons.append(f"{n_features} features make PCA's covariance too large")
    if not estimator._supports_pca_init:
        reasons.append(f"{type(estimator).__name__}'s network is not PCA's linear maps")
    if estimator.loss != "mse":
        reasons.append(f"loss={estimator.loss!r} is not squared error")
    if estimator.code_activation != "identity":
        reasons.append(f"code_activation={estimator.code_activation!r} is not linear")
    if estimator.pretraining is not None:
        reasons.append(f"pretraining={estimator.pretraining!r} chooses the start")
    if estimator.tied_weights and (hidden or estimator.architecture is not None):
        reasons.append("tied weights with hidden layers have no linear path")
    if estimator.init == "pca" and reasons:
        raise ValueError(f"init='pca' does not apply here: {'; '.join(reasons)}. Use init='auto'.")
    if estimator.init == "auto":
        return "random" if reasons else "pca"
    return estimator.init


def fit_pca(rows, n_components):
    """PCA of ``rows`` (see :class:`skae._pca.PrincipalAxes`), or None for fewer than 2 rows."""
    if rows.shape[0] < 2:
        return None
    return PrincipalAxes(n_components).fit(rows)


def start_at_pca(module, pca):
    """Put PCA's solution into the linear path of ``module`` (see ``init_from_pca_``)."""
    device = next(module.parameters()).device
    components = torch.as_tensor(pca.components_, dtype=torch.float32, device=device)
    mean = torch.as_tensor(pca.mean_, dtype=torch.float32, device=device)
    init_from_pca_(module, components, mean)


def attach_regularizers(estimator, module, data, seed):
    """Set the module's corruption (built from ``data``) and let the penalties wrap it.

    Returns
    -------
    module : torch.nn.Module
        The network to train.
    terms : list of (str, float, callable)
        The family's own terms and the penalties', for the net's loss.
    validation_corruption : callable or None
        Builds the corruption afresh from a fixed seed, for the held-out
        rows (None without corruptions).
    """
    family = estimator._family_regularizers()
    user = estimator.regularizers or []
    parts = split_regularizers([*family, *user])
    estimator._validate_names([name for name, _ in user])
    module.corruption = build_corruption(parts["input"], data, seed) or torch.nn.Identity()
    if parts["code"]:
        if not hasattr(module, "code_corruption"):
            raise ValueError(
                f"{type(estimator).__name__}'s network has no code to corrupt; "
                f"leave out {[name for name, _ in parts['code']]}."
            )
        module.code_corruption = build_corruption(parts["code"], data, seed + 100)
    for _, constraint in parts["constraint"]:
        module = constraint.build(estimator, module)
    terms = list(estimator._loss_terms())
    for name, penalty in parts["penalty"]:
        module, term = penalty.build(estimator, module)
        terms.append((name, float(penalty.weight), term))
    validation_corruption = None
    if parts["input"]:
        validation_corruption = partial(build_corruption, parts["input"], data, seed + 1)
    return module, terms, validation_corruption


def build_module(estimator, fit):
    """The freshly started network of a new fit, and its loss terms.

    The family's ``_build_module`` builds it; it starts from PyTorch's
    default initialisation drawn from the seeded generator, then from PCA's
    solution for the training rows (``init="pca"``) or from greedy
    pretraining; the regularizers come last.
    """
    init = resolved_init(estimator, fit.X.shape[1])
    module = estimator._build_module(fit.X.shape[1], None)
    init_parameters_(module, torch.Generator().manual_seed(fit.seeds[1]))
    if init == "pca" and (pca := fit.pca(estimator.n_components)) is not None:
        start_at_pca(module, pca)
        fit.started_at_pca = True
    module = module.to(fit.device)
    if estimator.pretraining == "greedy":
        from ._pretraining import greedy_pretrain

        greedy_pretrain(estimator, module, fit.train, seed=fit.seeds[1], device=fit.device)
    return attach_regularizers(estimator, module, fit.X, fit.seeds[0])


# Standard errors by which a network must beat PCA's start on the held-out
# rows to be kept: with 10 held-out rows (100 training rows) an improvement
# of mean held-out loss alone was noise, and the fit ended up to 1.10 times
# PCA's test error on the digits (see "Never worse than PCA" in the user guide).
_STANDARD_ERRORS_TO_BEAT_PCA = 2.0

# Below this many rows a deep network is trained from both starts (PCA's and
# a random one; settle_start): such fits take seconds to a minute or two, and
# there the start decides the solution (a convolutional one on 1,000 MNIST
# images with 10 components: 0.83 times PCA's test error from PCA's start,
# 0.73 from a random one). At 10,000 Fashion-MNIST rows the PCA start's MLP
# was within 3 % of the random start's (0.648 against 0.632 times PCA's
# error with 2 components), and a second fit there takes minutes.
_BOTH_STARTS_MAX_ROWS = 10_000


# Held-out rows below which settle_start decides on every held-out fold: with
# the 10 held-out rows of 100 training rows, the two-standard-error test kept
# the random start on 1 Fashion-MNIST subset of 3 with 2 components, where
# it was 0.83 to 0.87 times PCA's test error on all 3; with the 30 held-out
# rows of 300 training rows, one split sent a convolutional network 0.88
# times PCA's test error back to PCA (Fashion-MNIST, 10 components) and
# chose the worse of two starts on the digits (0.834 against 0.789), where
# every fold kept 0.854 and chose 0.786 (see "Never worse than PCA").
_MIN_HELD_OUT_ROWS = 50
# ... from this many rows on. Below it the folds were not measured, the single
# split's few held-out rows send nearly every fit back to PCA (the safe
# side), and scikit-learn's estimator checks, whose inputs have 20 to 60
# rows, would train some 20 networks in each of their fits.
_MIN_ROWS_FOR_FOLDS = 100


# Up to this many rows, a network kept on one held-out split is then trained
# on every row as well (refit_on_every_row), as the folds' winner is: on
# 1,000 Fashion-MNIST rows with 30 components the network that had seen 90 %
# of them reached 0.939 times PCA's test error and the same start trained
# on all of them for its best epoch count 0.927; on 10,000 MNIST rows,
# 0.527 against 0.505 (see "Never worse than PCA" in the user guide). The second
# training costs about as much as the first; on larger data the held-out
# tenth is worth less and a training takes many minutes of CPU.
_REFIT_MAX_ROWS = 10_000


def beats_start(losses, start_losses):
    """Whether ``losses`` beat ``start_losses`` (paired, per held-out row) beyond noise.

    True when the mean difference is below zero by more than
    ``_STANDARD_ERRORS_TO_BEAT_PCA`` standard errors of the paired
    differences: a one-sided test at about 2 %.
    """
    difference = np.asarray(losses) - np.asarray(start_losses)
    if difference.size < 2:
        return False
    error = difference.std(ddof=1) / np.sqrt(difference.size)
    return bool(difference.mean() + _STANDARD_ERRORS_TO_BEAT_PCA * error < 0)


def _losses_and_start_losses(net, fit, n_components):
    """Each held-out row's loss under ``net`` and under PCA's start (PCA of the training rows)."""
    valid = Dataset(fit.tensor(fit.valid))
    losses = net.held_out_losses(valid)
    state = copy.deepcopy(net.module_.state_dict())
    start_at_pca(net.module_, fit.pca(n_components))
    start_losses = net.held_out_losses(valid)
    net.module_.load_state_dict(state)
    return losses, start_losses


def _trained_net(spec, fit):
    """A net built from ``spec`` and trained on ``fit``'s training rows, as ``fit`` trains one."""
    module, terms, noise = build_module(spec, fit)
    net = build_net(spec, module, terms, fit, noise)
    net.partial_fit(fit.train_tensor(), epochs=spec.max_iter)
    return net


def _finished(net, spec):
    """Whether ``net``'s training ended by early stopping or at ``max_iter`` (not by Ctrl-C)."""
    stopper = dict(net.callbacks_)["early_stopping"]
    return stopper.misses_ >= stopper.patience or len(net.history) >= spec.max_iter


def _held_out_losses(nets, folds):
    """Each held-out row's loss, fold after fold, under the net trained on that fold."""
    return np.concatenate(
        [
            net.held_out_losses(Dataset(fold.tensor(fold.valid)))
            for net, fold in zip(nets, folds, strict=True)
        ]
    )


def _settle_network(spec, folds, first_net, finished):
    """Keep ``spec``'s network from PCA's start or from a random one, or neither.

    ``first_net`` is ``spec``'s network trained on ``folds[0]``; the others
    are trained here. Returns ``(spec, nets, losses, start_losses, kept)``:
    the spec of the network kept (``init="random"`` where the random start
    won), its net on each fold, their held-out losses, PCA's start's, and
    whether a network beats PCA's start (see :func:`settle_start`).
    """
    width = spec.n_components
    deep = spec._is_deep()
    nets = [first_net] + [_trained_net(spec, fold) for fold in folds[1:]]
    pairs = [
        _losses_and_start_losses(net, fold, width) for net, fold in zip(nets, folds, strict=True)
    ]
    losses = np.concatenate([pair[0] for pair in pairs])
    start_losses = np.concatenate([pair[1] for pair in pairs])
    kept = beats_start(losses, start_losses)
    small = folds[0].X.shape[0] < _BOTH_STARTS_MAX_ROWS
    if deep and spec.init == "auto" and finished and (small or not kept):
        random_spec = clone(spec).set_params(init="random")
        candidates = [_trained_net(random_spec, fold) for fold in folds]
        candidate_losses = _held_out_losses(candidates, folds)
        better = not kept or beats_start(candidate_losses, losses)
        if better and beats_start(candidate_losses, start_losses):
            return random_spec, candidates, candidate_losses, start_losses, True
    return spec, nets, losses, start_losses, kept


def held_mlp_spec(spec):
    """The MLP that ``spec``'s architecture holds beside its other layers, as an estimator.

    None unless the architecture says which (``held_mlp_parameters``, as
    :class:`~skae.ConvolutionalArchitecture` with a pixel path does).
    """
    held = getattr(spec.architecture, "held_mlp_parameters", None)
    parameters = held() if held is not None else None
    if parameters is None:
        return None
    return clone(spec).set_params(architecture=None, **parameters)


def settle_start(estimator, fit):
    """After an early-stopped fit that started at PCA's solution: keep the network, or PCA.

    The network early stopping restored is kept only if it beats PCA's
    start on the held-out rows beyond noise (:func:`beats_start`). For a
    deep network under ``init="auto"``, the same network is also trained
    from a random start when the PCA start gained nothing: on some data the
    non-linear branch of the PCA start does not open before early stopping
    ends it (Fashion-MNIST, 300 rows, 10 components). A deep network (an MLP
    or a convolutional one) on fewer than ``_BOTH_STARTS_MAX_ROWS`` rows is
    trained from both starts whatever the first gained: there the PCA start
    can settle on a worse solution than a random one (Fashion-MNIST, 2
    components: 0.85 against 0.79 times PCA's test error on 300 rows; see
    "Never worse than PCA" in the user guide).
    The random-start network is kept, with ``_fitted_with.init = "random"``,
    if it beats PCA's start in the same way and, where the PCA start's
    network was kept, that network too: picking the lower mean of two on
    30 held-out digits chose the worse network on the test rows (0.822
    against 0.793 times PCA's error). If no network beats PCA's start,
    ``fit.back_to_pca`` is set and :func:`check_fit` ends the fit as PCA of
    all the rows. A linear network is not retried: PCA is already its best
    solution on the training rows.

    An architecture that holds an MLP beside its other layers
    (:func:`held_mlp_spec`: a convolutional network with a pixel path) is,
    on fewer than ``_BOTH_STARTS_MAX_ROWS`` rows, matched against that MLP
    trained alone, from both starts in the same way; the MLP, with
    ``_fitted_with.architecture = None``, is kept if it beats PCA's start
    and the architecture's network does not beat it beyond noise. On 100 to
    1,000 digits or Fashion-MNIST images the convolutions lost to the MLP
    alone by 2.7 to 4.3 % in four cells of eighteen, which are now level
    with it (see "Never worse than PCA"); on 10,000 images they won in
    every cell.

    When the held-out split of a deep network has fewer than
    ``_MIN_HELD_OUT_ROWS`` rows, and the fit at least
    ``_MIN_ROWS_FOR_FOLDS`` rows, the decision is taken on every held-out
    fold of the rows (:func:`hold_out_folds`): each candidate is trained
    once more on each other fold, and the tests compare the losses of all
    the held-out rows, each under the network and the PCA start that did
    not see it; the network that wins is then trained on every row
    (:func:`refit_on_every_row`). So is a network kept on one split of up
    to ``_REFIT_MAX_ROWS`` rows.
    """
    if not (fit.early_stopping and fit.started_at_pca):
        return
    first_spec = estimator._fitted_with
    deep = first_spec._is_deep()
    folds = [fit]
    few_held_out = fit.valid.shape[0] < _MIN_HELD_OUT_ROWS
    enough_rows = fit.X.shape[0] >= _MIN_ROWS_FOR_FOLDS
    if deep and few_held_out and enough_rows:
        folds += list(fit.other_folds())
    # A fit cut short by Ctrl-C (neither stopped nor at max_iter) is not retried.
    finished = _finished(estimator.net_, first_spec)
    spec, nets, losses, start_losses, kept = _settle_network(
        first_spec, folds, estimator.net_, finished
    )
    mlp_spec = held_mlp_spec(first_spec)
    if mlp_spec is not None and finished and fit.X.shape[0] < _BOTH_STARTS_MAX_ROWS:
        mlp_net = _trained_net(mlp_spec, fit)
        mlp_spec, mlp_nets, mlp_losses, _, mlp_kept = _settle_network(
            mlp_spec, folds, mlp_net, _finished(mlp_net, mlp_spec)
        )
        if mlp_kept and (not kept or not beats_start(losses, mlp_losses)):
            spec, nets, kept = mlp_spec, mlp_nets, True
    if spec is not first_spec:
        estimator.net_ = nets[0]
        estimator._fitted_with = spec
    if not kept:
        fit.back_to_pca = True
    elif len(folds) > 1 or (finished and fit.X.shape[0] <= _REFIT_MAX_ROWS):
        refit_on_every_row(estimator, spec, fit, nets, folds)


def refit_on_every_row(estimator, spec, fit, nets, folds):
    """Train the network the held-out rows chose on every row, as long as they trained it.

    The folds (or the one split) compared networks with PCA of their own
    training rows; the fit ends as PCA of every row when no network wins,
    so a network that wins must see every row too: with 100 digits and 30
    components, PCA of 90 rows had 1.11 times the test error of PCA of 100,
    and the first split's network, 1.6 % better than the former on the
    held-out rows, was 1.09 times the latter on the test rows. The network
    is trained for the median of the folds' best epochs, without held-out
    rows, at the learning rates and with the patience of the first split
    (where ``"adaptive"`` lowered the rate, one split decides: the folds
    hold out too few rows for it to adapt, and their cosine or constant
    rates are the same); its weights and optimizer state replace those of
    the first split's net (whose history and validation scores the
    estimator keeps).
    The held-out errors recorded are the folds' (``fit.held_out_mse``).
    """
    errors = [
        (
            _mse(estimator, fold.valid, net.module_),
            fold.pca(spec.n_components).reconstruction_mse(fold.valid),
        )
        for net, fold in zip(nets, folds, strict=True)
    ]
    fit.held_out_mse = tuple(float(value) for value in np.mean(errors, axis=0))
    stoppers = [dict(net.callbacks_)["early_stopping"] for net in nets]
    epochs = int(np.median([stopper.best_epoch_ for stopper in stoppers]))
    if epochs < 1:  # most folds kept the start, untrained
        # PCA's start trained on every row for no epoch is PCA of every row;
        # a random start is its own weights, which the net already holds.
        fit.back_to_pca = spec.init != "random"
        return
    every_row = FitData(fit.X, fit.X, None, fit.device, fit.seeds, False, False)
    every_row.learning_rates = learning_rates(nets[0], epochs)
    every_row.patience = stoppers[0].patience
    net = _trained_net(clone(spec).set_params(max_iter=epochs), every_row)
    estimator.net_.module_.load_state_dict(net.module_.state_dict())
    estimator.net_.optimizer_.load_state_dict(net.optimizer_.state_dict())


def learning_rates(net, epochs):
    """The learning rate of each of the first ``epochs`` epochs of ``net``'s training.

    After its last epoch, its last rate; ``net.lr`` throughout when it
    recorded none (at a constant rate).
    """
    recorded = [row["event_lr"] for row in net.history if "event_lr" in row] or [net.lr]
    return tuple(float(recorded[min(epoch, len(recorded) - 1)]) for epoch in range(epochs))


# learning_rate="adaptive" divides the rate by this factor, as scikit-learn's
# MLP does, at most _ADAPTIVE_STEPS times, after each _plateau_epochs without
# an improvement, and stops after _ADAPTIVE_STEPS + 1 of them: on 1,000
# Fashion-MNIST rows with 30 components the network reached 0.905 times PCA's
# test error, against 0.927 at a constant rate stopped after 10 epochs. Dividing
# after a third of n_iter_no_change instead of half sent one fit of three back
# to PCA (1.000) before its non-linear part opened (see "Training parameters"
# in the user guide).
_ADAPTIVE_FACTOR = 5.0
_ADAPTIVE_STEPS = 2


def _plateau_epochs(estimator):
    """Epochs without an improvement after which ``"adaptive"`` divides the rate."""
    return max(estimator.n_iter_no_change // 2, 1)


def adapts_learning_rate(estimator, fit):
    """Whether ``learning_rate="adaptive"`` lowers the rate of this fit at its plateaus.

    Only with early stopping on at least ``_MIN_HELD_OUT_ROWS`` held-out
    rows. On fewer, their loss is too noisy to show a plateau: on 300
    Fashion-MNIST rows (30 held out) with 10 components, rates lowered at
    such plateaus took the network from 0.902 to 0.920 times PCA's test
    error. Without early stopping the training loss of a stochastic
    objective (nested dropout, corruptions) stalls by noise, and the fit
    runs to ``max_iter`` at the rate the user set. Elsewhere the rate
    stays constant.
    """
    return (
        estimator.learning_rate == "adaptive"
        and fit.early_stopping
        and fit.valid.shape[0] >= _MIN_HELD_OUT_ROWS
    )


def learning_rate_schedule(estimator, fit, threshold):
    """The skorch callback that sets the learning rate of each epoch, or None."""
    if fit.learning_rates is not None:
        rates, start = fit.learning_rates, estimator.learning_rate_init
        last = len(rates) - 1
        return LRScheduler(LambdaLR, lr_lambda=lambda epoch: rates[min(epoch, last)] / start)
    if fit.incremental or estimator.learning_rate == "constant":
        return None
    if estimator.learning_rate == "cosine":
        return LRScheduler("CosineAnnealingLR", T_max=estimator.max_iter)
    if not adapts_learning_rate(estimator, fit):
        return None
    # The lowest rate, multiplied as ReduceLROnPlateau multiplies it (so
    # that float rounding cannot put a third, tiny step below it).
    lowest = estimator.learning_rate_init
    for _ in range(_ADAPTIVE_STEPS):
        lowest *= 1 / _ADAPTIVE_FACTOR
    # ReduceLROnPlateau lowers the rate on the epoch after `patience` epochs
    # without an improvement.
    return LRScheduler(
        ReduceLROnPlateau,
        monitor="valid_loss",
        factor=1 / _ADAPTIVE_FACTOR,
        patience=_plateau_epochs(estimator) - 1,
        threshold=threshold,
        threshold_mode="abs",
        min_lr=lowest,
    )


def adam_arguments(alpha, fused=False):
    """skorch's optimizer arguments for Adam with weight decay ``alpha`` on the weights only.

    The biases go in a parameter group without weight decay, as
    scikit-learn's ``MLPRegressor`` penalises the coefficients only.
    """
    arguments = {"optimizer__weight_decay": alpha, "optimizer__fused": fused}
    if alpha:
        arguments["optimizer__param_groups"] = [("*bias*", {"weight_decay": 0.0})]
    return arguments


@functools.cache
def fused_adam_supported(device_type):
    """Whether torch's fused Adam (one kernel for every parameter) runs on this kind of device.

    It took 0.89x the CPU time of the default implementation on a
    784-256-64 network (benchmarks/training_speed.py); where torch lacks it,
    the default one is used.
    """
    try:
        parameter = torch.zeros(1, device=device_type, requires_grad=True)
        parameter.grad = torch.zeros_like(parameter)
        torch.optim.Adam([parameter], fused=True).step()
    except (RuntimeError, ValueError, TypeError):
        return False
    return True


def build_net(estimator, module, terms, fit, validation_corruption=None):
    """The initialised skorch net that trains ``module`` on ``fit``'s rows."""
    sink = print if estimator.verbose else noop
    monitor = "valid_loss" if fit.early_stopping else "train_loss"
    n_train = fit.train.shape[0]
    batch_size = min(200, n_train) if estimator.batch_size == "auto" else estimator.batch_size
    threshold = estimator.tol * fit.variance_scale()
    patience = estimator.n_iter_no_change
    if fit.patience is not None:
        patience = fit.patience
    elif adapts_learning_rate(estimator, fit):
        patience = (_ADAPTIVE_STEPS + 1) * _plateau_epochs(estimator)
    stopper = (EarlyStoppingFromStart if fit.early_stopping else EarlyStopping)(
        monitor=monitor,
        patience=patience,
        threshold=threshold,
        threshold_mode="abs",
        load_best=fit.early_stopping,
        sink=sink,
    )
    callbacks = [("divergence_guard", DivergenceGuard())]
    # The schedule comes before the stopper, which ends the last epoch before
    # the callbacks after it: so every epoch's rate is in the history.
    if (schedule := learning_rate_schedule(estimator, fit, threshold)) is not None:
        callbacks.append(("learning_rate", schedule))
    callbacks.append(("early_stopping", stopper))
    callbacks += copy.deepcopy(estimator.callbacks or [])
    optimizer_args = adam_arguments(estimator.alpha, fused_adam_supported(fit.device.type))
    valid = predefined_split(Dataset(fit.tensor(fit.valid))) if fit.early_stopping else None
    net = AutoencoderNet(
        module=module,
        criterion=estimator._build_criterion(),
        optimizer=torch.optim.Adam,
        lr=estimator.learning_rate_init,
        max_epochs=estimator.max_iter,
        batch_size=batch_size,
        iterator_train=TensorBatchIterator,
        iterator_train__shuffle=True,
        iterator_train__generator=torch.Generator().manual_seed(fit.seeds[2]),
        iterator_train__device=fit.device,
        iterator_valid=TensorBatchIterator,
        iterator_valid__device=fit.device,
        iterator_valid__corruption=validation_corruption,
        train_split=valid,
        callbacks=callbacks,
        verbose=estimator.verbose,
        device=fit.device,
        loss_terms=terms,
        **optimizer_args,
    )
    return net.initialize()


def _mse(estimator, rows, module=None):
    """Mean squared reconstruction error of ``rows`` under ``module`` (by default the net's)."""
    width = rows.shape[1]
    reconstruction = estimator._infer(
        rows, width, width, lambda m, batch: m.decode(m.encode(batch)), module=module
    )
    rows = rows.toarray() if sp.issparse(rows) else rows
    return float(np.mean((reconstruction.astype(np.float64) - rows) ** 2))


def compare_with_pca(estimator, fit):
    """Record the held-out reconstruction error of the network and of PCA; warn if worse."""
    pca = fit.pca(estimator._fitted_with.n_components)
    if pca is None:
        return
    if fit.held_out_mse is not None:  # every fold's held-out rows (refit_on_every_row)
        estimator.validation_mse_, estimator.pca_validation_mse_ = fit.held_out_mse
    else:
        estimator.validation_mse_ = _mse(estimator, fit.valid)
        estimator.pca_validation_mse_ = pca.reconstruction_mse(fit.valid)
    # A corruption, a penalty or a VAE's KL term trades reconstruction for
    # something else on purpose: only a plain reconstruction objective is
    # expected to match PCA.
    plain = not (
        estimator._family_regularizers() or estimator.regularizers or estimator._loss_terms()
    )
    # Below a millionth of the variance per feature, a difference is float32 rounding.
    rounding = 1e-6 * pca.total_variance_ / fit.X.shape[1]
    if plain and estimator.validation_mse_ > 1.02 * estimator.pca_validation_mse_ + rounding:
        warn(
            f"{type(estimator).__name__} reconstructs the held-out rows worse than PCA with "
            f"the same n_components: a mean squared error of {estimator.validation_mse_:.4g} "
            f"against {estimator.pca_validation_mse_:.4g}. PCA may be the better choice for "
            "this data; if not, init='pca' (with loss='mse' and a linear code), fewer "
            "components, a smaller network or more rows can help.",
            UserWarning,
        )


def warn_about_constant_code_units(estimator, X):
    """Warn when code units take one value on every training row (checked on 2,000 rows).

    A unit that never varies (typically a ReLU code unit that no longer
    activates) carries no information, so ``transform`` returns fewer
    useful features than ``n_components``.
    """
    if X.shape[0] < 2:
        return
    codes = estimator._encode_full(X[:2000])
    constant = int(np.sum(codes.max(axis=0) == codes.min(axis=0)))
    if not constant:
        return
    advice = ["a larger n_components", "a weaker penalty", "another random_state"]
    if estimator.code_activation in ("relu", "logistic", "tanh"):
        advice.insert(0, "code_activation='identity'")
    warn(
        f"{constant} of the {codes.shape[1]} code units of "
        f"{type(estimator).__name__} take the same value on every training row, so the "
        "code carries fewer useful features than n_components. "
        f"With code_activation={estimator.code_activation!r} try {', '.join(advice[:-1])} "
        f"or {advice[-1]}.",
        UserWarning,
    )


def end_fit(estimator):
    """Drop what only ``fit`` uses, so ``partial_fit`` (and a saved model) go on without it.

    The held-out rows are released and the learning-rate schedule removed,
    with the rate back at ``learning_rate_init``: ``partial_fit`` trains on
    every row at that rate.
    """
    net = estimator.net_
    net.train_split = None
    net.callbacks_ = [(name, cb) for name, cb in net.callbacks_ if name != "learning_rate"]
    for group in net.optimizer_.param_groups:
        group["lr"] = estimator.learning_rate_init


# Rows of the training set on which the explained variance is measured.
_EXPLAINED_VARIANCE_ROWS = 2000


def explained_variance(estimator, X):
    """Share of the variance of (up to 2,000) training rows that the code explains.

    Returns, for an ordered code, the share explained by each prefix of the
    code (the first unit, the first two, ...), from reconstructions with the
    later units set to zero as nested dropout trains them; for any other
    code, a single value, the whole code's. The share is the reconstruction
    R^2: ``1 - sum of squared errors / sum of squared deviations from the
    mean``.
    """
    rows = X[:_EXPLAINED_VARIANCE_ROWS]
    width = estimator._fitted_with.n_components
    prefixes = range(1, width + 1) if has_ordered_code(estimator) else [width]
    errors = np.zeros(len(prefixes))
    total, squares = 0.0, 0.0
    module = estimator.net_.module_
    module.eval()
    with torch.inference_mode():
        # In inference batches: sparse rows are densified one batch at a time.
        for _, batch in estimator._batches(rows, rows.shape[1]):
            target = batch.double()
            total = total + target.sum(dim=0)
            squares += float(target.pow(2).sum())
            code = module.encode(batch)
            for i, j in enumerate(prefixes):
                truncated = code.clone()
                truncated[:, j:] = 0.0
                residual = module.decode(truncated).double() - target
                errors[i] += float(residual.pow(2).sum())
    deviations = squares - float((total**2).sum()) / rows.shape[0]
    if deviations <= 0:
        return np.zeros(len(prefixes))
    return 1.0 - errors / deviations


def read_code(estimator, fit):
    """Set ``n_components_`` and the explained-variance attributes after a fit."""
    width = estimator._fitted_with.n_components
    shares = explained_variance(estimator, fit.X)
    n_components = width
    if not isinstance(estimator.n_components, Integral):
        reached = np.flatnonzero(shares >= estimator.n_components)
        n_components = int(reached[0]) + 1 if len(reached) else width
    estimator.n_components_ = n_components
    estimator.total_explained_variance_ratio_ = float(shares[min(n_components, len(shares)) - 1])
    if has_ordered_code(estimator):
        estimator.explained_variance_ratio_ = np.diff(shares[:n_components], prepend=0.0)
    elif hasattr(estimator, "explained_variance_ratio_"):
        del estimator.explained_variance_ratio_
    components = linear_components(estimator.net_.module_, estimator)
    if components is not None:
        estimator.components_ = components[:n_components]
    elif hasattr(estimator, "components_"):
        del estimator.components_


def linear_components(module, estimator):
    """The decoder's directions of a linear autoencoder (one row per code unit), or None."""
    linear = (
        estimator.architecture is None
        and not estimator._hidden_layer_sizes()
        and estimator.code_activation == "identity"
        and estimator.loss == "mse"
        and type(module).__name__ in ("AutoencoderModule", "JacobianProjectionModule")
    )
    if not linear:
        return None
    decoder = module.decoder
    if hasattr(decoder, "biases"):  # tied: the encoder's weight, transposed back
        weight = module.encoder.linears[0].weight
    else:
        weight = [m for m in decoder if isinstance(m, torch.nn.Linear)][0].weight.T
    return weight.detach().cpu().double().numpy()


def check_fit(estimator, fit, epochs_before):
    """After ``fit``: read the history and the code, compare with PCA, warn about what to know.

    With early stopping, a fit that started at PCA's solution and kept no
    network that beats it on the held-out rows (:func:`settle_start`) ends
    as PCA of all the rows: the held-out rows have done their job, and PCA
    fitted on every row is the better estimate.
    """
    estimator._read_history()
    stopper = dict(estimator.net_.callbacks_)["early_stopping"]
    if fit.early_stopping:
        scores = getattr(estimator, "validation_scores_", [])
        estimator.best_validation_score_ = max(-stopper.start_score_, *scores)
        compare_with_pca(estimator, fit)
        if fit.back_to_pca:
            width = estimator._fitted_with.n_components
            start_at_pca(estimator.net_.module_, fit_pca(fit.X, width))
            estimator.validation_mse_ = estimator.pca_validation_mse_
    read_code(estimator, fit)
    stopped = stopper.misses_ >= stopper.patience
    if not stopped and estimator.n_iter_ - epochs_before == estimator.max_iter:
        warn(
            f"{type(estimator).__name__} ran max_iter={estimator.max_iter} epochs and the "
            "loss was still improving by more than tol; consider increasing max_iter.",
            ConvergenceWarning,
        )
    warn_about_constant_code_units(estimator, fit.X)
