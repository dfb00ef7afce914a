"""Pretrain, then fine-tune: an autoencoder's encoder as a classifier or a regressor.

:class:`AutoencoderClassifier` and :class:`AutoencoderRegressor` take a skae
autoencoder as a parameter, the way scikit-learn's meta-estimators take
theirs (``SelfTrainingClassifier(estimator=...)``): ``fit`` clones it, trains
the clone on ``X`` without the labels (for the classifier every row, those
labelled ``-1`` included: scikit-learn's convention for unlabelled rows),
copies its encoder, puts a linear output layer on the code and trains both
on the labelled rows through skorch, as every skae model trains (with
``vat_epsilon``, also smooth around every row: virtual adversarial
training, whose skorch net is :class:`FineTuningNet`). An
autoencoder fitted elsewhere is reused as it is when wrapped in
:class:`sklearn.frozen.FrozenEstimator`.

The torch half (the encoder with its head, the losses) is in
:mod:`skae.nn._supervised`; the skorch pieces (the net, the divergence guard,
early stopping that counts the untrained network) are those of
:mod:`skae._net`, and saving and loading is :mod:`skae._persistence`'s.
"""

import copy
import math
import warnings
from abc import ABCMeta, abstractmethod
from numbers import Integral, Real

import numpy as np
import torch
from scipy.special import log_softmax, softmax
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data
from skorch.callbacks import EarlyStopping, LRScheduler
from skorch.dataset import Dataset
from skorch.helper import predefined_split
from skorch.utils import noop
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from ._base import _INFERENCE_BATCH_VALUES, BaseAutoencoder
from ._device import resolve_device
from ._docs import DOC_LINK_TEMPLATE, fill_docstring
from ._net import AutoencoderNet, DivergenceGuard, EarlyStoppingFromStart, rows_as_tensor
from ._persistence import PersistenceMixin
from ._sklearn_internals import HasMethods, Interval, StrOptions, _fit_context
from ._training import adam_arguments, end_fit, hold_out
from ._warnings import warn
from .nn import init_parameters_
from .nn._supervised import (
    FineTuningModule,
    SupervisedLoss,
    reinit_dead_units_,
    virtual_adversarial_loss,
)

__all__ = ["AutoencoderClassifier", "AutoencoderRegressor", "LabelledBatchIterator"]

#: The label of an unlabelled row (scikit-learn's semi-supervised convention).
UNLABELLED = -1

# Rows of X compared between the autoencoder's encode() and the copied encoder.
_PROBE_ROWS = 8


class LabelledBatchIterator:
    """Iterate over mini-batches ``(X_batch, y_batch)`` of an in-memory dataset.

    The supervised counterpart of :class:`skae._net.TensorBatchIterator`: it
    slices whole batches of rows out of ``dataset.X`` (a tensor on the
    training device, or a scipy sparse matrix densified one batch at a time)
    and the same rows out of the target tensor ``dataset.y``.

    Parameters
    ----------
    dataset : skorch.dataset.Dataset
        Holds the rows in ``dataset.X`` and their targets in ``dataset.y``.
    batch_size : int
        Rows per batch; the last batch may be smaller.
    shuffle : bool, default=False
        Draw a new permutation each epoch from ``generator``.
    generator : torch.Generator or None, default=None
        CPU generator for the permutations.
    device : str or torch.device, default="cpu"
        Where densified sparse batches are put.
    n_batches : int or None, default=None
        Batches per epoch; None is one pass over the rows. More passes go
        on over the rows again (in a new order when shuffling), so an epoch
        can be as long as a pass over other, more numerous rows: the
        unlabelled ones of virtual adversarial training.

    Examples
    --------
    >>> import torch
    >>> from skorch.dataset import Dataset
    >>> from skae._supervised import LabelledBatchIterator
    >>> data = Dataset(torch.arange(10.0).reshape(5, 2), torch.arange(5))
    >>> [y.tolist() for _, y in LabelledBatchIterator(data, batch_size=2)]
    [[0, 1], [2, 3], [4]]
    >>> [y.tolist() for _, y in LabelledBatchIterator(data, batch_size=2, n_batches=5)]
    [[0, 1], [2, 3], [4], [0, 1], [2, 3]]
    """

    def __init__(
        self, dataset, batch_size, shuffle=False, generator=None, device="cpu", n_batches=None
    ):
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = generator
        self.device = device
        self.n_batches = n_batches

    def __len__(self):
        if self.n_batches is not None:
            return self.n_batches
        return math.ceil(self.dataset.X.shape[0] / self.batch_size)

    def _orders(self, n):
        """Row orders, one per pass: drawn anew each pass when shuffling."""
        while True:
            if self.shuffle:
                yield torch.randperm(n, generator=self.generator).to(self.dataset.y.device)
            else:
                yield None

    def __iter__(self):
        X, y = self.dataset.X, self.dataset.y
        n = X.shape[0]
        remaining = len(self)
        for order in self._orders(n):
            for start in range(0, n, self.batch_size):
                if remaining == 0:
                    return
                if order is None:
                    index = slice(start, start + self.batch_size)
                else:
                    index = order[start : start + self.batch_size]
                remaining -= 1
                yield rows_as_tensor(X, index, self.device), y[index]
            if self.n_batches is None:
                return


class FineTuningNet(AutoencoderNet):
    """The net that fine-tunes: the supervised loss, plus virtual adversarial training.

    Parameters
    ----------
    *args, **kwargs
        As for :class:`skae._net.AutoencoderNet`.
    smoothed_rows : Tensor, sparse matrix or None, default=None
        Rows (labelled or not) on which each training step also minimises
        :func:`skae.nn._supervised.virtual_adversarial_loss`: on the
        labelled batch and on ``batch_size`` rows drawn from these, in an
        order drawn anew at each pass; None adds nothing.
    smoothing_radius : float, default=0.0
        The radius of the virtual adversarial moves, in the units of the rows.
    smoothing_seed : int, default=0
        Seed of the private generators that draw those batches and the
        power iteration's starts.
    smoothing_divergence : {"kl", "squared_error"}, default="kl"
        How two outputs of the module are compared: class probabilities
        from logits, or regression outputs.
    ema_decay : float, default=0.0
        Decay of an exponential moving average of the module's weights,
        updated after each optimizer step (a
        :class:`torch.optim.swa_utils.AveragedModel`); 0 keeps none. The
        average gives the virtual adversarial loss its targets (a "mean
        teacher"), is what the validation rows score and the callbacks see
        at the end of each epoch, and is the module that training leaves.

    Notes
    -----
    The loss of a step is the labelled batch's mean loss plus the
    virtual adversarial loss of that batch and a batch of
    ``smoothed_rows``, with weight
    one (as in Miyato et al., 2018); the epoch mean of the latter is
    recorded in the history as ``train_virtual_adversarial``. Like the
    supervised loss, it is computed in training mode: with dropout, the
    output at a row and the output at its moved copy are drawn with
    different masks (as in Miyato et al.'s code), so the loss also asks the
    network to agree with itself under dropout.

    With ``ema_decay``, ``module_`` holds the trained weights during
    each training pass and the averaged ones from the end of the pass to
    the start of the next, so that early stopping keeps, and a fit ends
    with, the average; the training loss in the history is that of the
    trained weights, the validation loss that of the average.
    """

    def __init__(
        self,
        *args,
        smoothed_rows=None,
        smoothing_radius=0.0,
        smoothing_seed=0,
        smoothing_divergence="kl",
        ema_decay=0.0,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.smoothed_rows = smoothed_rows
        self.smoothing_radius = smoothing_radius
        self.smoothing_seed = smoothing_seed
        self.smoothing_divergence = smoothing_divergence
        self.ema_decay = ema_decay

    # The average and the trained weights it stands in for between passes
    # live in __dict__: skorch accepts torch modules as attributes only when
    # it builds them itself, and neither outlives the fit.
    @property
    def _average(self):
        return self.__dict__.get("average_module_")

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        super().on_train_begin(net, X=X, y=y, **kwargs)
        self.__dict__["average_module_"] = None
        self.__dict__["_trained_state"] = None
        if self.ema_decay:
            self.__dict__["average_module_"] = AveragedModel(
                self.module_,
                multi_avg_fn=get_ema_multi_avg_fn(self.ema_decay),
                use_buffers=True,
            )

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        if self._average is None or not training:
            return super().run_single_epoch(iterator, training, prefix, step_fn, **fit_params)
        if self.__dict__["_trained_state"] is not None:
            self.module_.load_state_dict(self.__dict__["_trained_state"])
        super().run_single_epoch(iterator, training, prefix, step_fn, **fit_params)
        self.__dict__["_trained_state"] = copy.deepcopy(self.module_.state_dict())
        self.module_.load_state_dict(self._average.module.state_dict())
        return None

    def train_step(self, batch, **fit_params):
        step = super().train_step(batch, **fit_params)
        if self._average is not None:
            self._average.update_parameters(self.module_)
        return step

    def on_train_end(self, net, X=None, y=None, **kwargs):
        super().on_train_end(net, X=X, y=y, **kwargs)
        self.__dict__.pop("average_module_", None)
        self.__dict__.pop("_trained_state", None)

    def _smoothing_batch(self, size):
        """The next ``size`` rows of ``smoothed_rows``, in an order drawn anew each pass."""
        if getattr(self, "_smoothing_order", None) is None:
            self._smoothing_draws = torch.Generator().manual_seed(self.smoothing_seed)
            self._smoothing_order = torch.empty(0, dtype=torch.long)
        needed = []
        while size > 0:
            if not len(self._smoothing_order):
                n_rows = self.smoothed_rows.shape[0]
                self._smoothing_order = torch.randperm(n_rows, generator=self._smoothing_draws)
            taken, self._smoothing_order = (
                self._smoothing_order[:size],
                self._smoothing_order[size:],
            )
            needed.append(taken)
            size -= len(taken)
        return rows_as_tensor(self.smoothed_rows, torch.cat(needed), self.device)

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        Xi, yi = batch
        y_pred = self.infer(Xi, **fit_params)
        loss = self.get_loss(y_pred, yi, X=Xi, training=True)
        if self.smoothed_rows is not None:
            # The labelled rows too: drawn among all rows alone, they were
            # 2 % of the smoothed rows on a 5,000-row MNIST subset with 100
            # labels, and the network learnt to predict one class everywhere
            # but next to them (0.27 accuracy on the training rows, 0.81
            # with them).
            rows = torch.cat([Xi, self._smoothing_batch(self.batch_size)])
            if getattr(self, "_power_draws", None) is None:
                self._power_draws = torch.Generator(device=rows.device).manual_seed(
                    self.smoothing_seed
                )
            # In training mode, dropout included, as Miyato et al.'s own code
            # computes it: in evaluation mode the network that the labels
            # train (with dropout) and the one made smooth (without) drifted
            # apart, and on a 5,000-image MNIST subset with 1,000 labels
            # (dropout 0.5) the latter came to predict 3 classes for most
            # images (0.70 accuracy after 12 epochs, 0.92 in training mode).
            teacher = None
            if self._average is not None:
                teacher = self._average.module
                teacher.train(self.module_.training)
            smoothing = virtual_adversarial_loss(
                self.module_,
                rows,
                self.smoothing_radius,
                self._power_draws,
                divergence=self.smoothing_divergence,
                target_module=teacher,
            )
            self.part_sums_["virtual_adversarial"] = self.part_sums_.get(
                "virtual_adversarial", 0.0
            ) + smoothing.detach() * len(yi)
            self.part_count_ += len(yi)
            loss = loss + smoothing
        loss.backward()
        return {"loss": loss, "y_pred": y_pred}


def _as_tensor(X, device):
    """Validated rows as a float32 tensor on ``device``, or the sparse matrix itself."""
    if hasattr(X, "tocsr"):
        return X
    return torch.tensor(np.asarray(X), dtype=torch.float32, device=device)


def _row_batches(X, device):
    """The rows of ``X`` as tensors on ``device``, in batches of inference size."""
    rows = max(1, _INFERENCE_BATCH_VALUES // max(1, X.shape[1]))
    for start in range(0, X.shape[0], rows):
        yield rows_as_tensor(X, slice(start, start + rows), device)


def _codes(module, X, device, standardized=False):
    """The (standardised) codes of the rows ``X`` under ``module``, in evaluation mode."""
    was_training = module.training
    module.eval()
    function = module.standardized_code if standardized else module.code
    with torch.no_grad():
        parts = [function(batch) for batch in _row_batches(X, device)]
    module.train(was_training)
    return torch.cat(parts)


def _unwrap(autoencoder):
    """The skae autoencoder inside ``autoencoder`` (itself, or a FrozenEstimator's)."""
    return autoencoder.estimator if isinstance(autoencoder, FrozenEstimator) else autoencoder


def _default_autoencoder():
    from ._autoencoder import Autoencoder

    return Autoencoder(n_components=16)


class _BaseFineTuning(PersistenceMixin, BaseEstimator, metaclass=ABCMeta):
    """The shared training of :class:`AutoencoderClassifier` and :class:`AutoencoderRegressor`."""

    _parameter_constraints = {
        "autoencoder": [HasMethods(["fit", "transform"]), None],
        "pretrain": ["boolean"],
        "freeze_encoder": ["boolean"],
        "reinit_dead_units": ["boolean"],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions({"constant", "cosine"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "input_dropout": [Interval(Real, 0, 1, closed="left")],
        "vat_epsilon": [Interval(Real, 0, None, closed="left")],
        "ema_decay": [Interval(Real, 0, 1, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
        "device": [str, torch.device],
        "verbose": ["verbose"],
        "callbacks": [list, None],
    }

    # The HTML repr links to the class's page of skae's API reference.
    _doc_link_module = "skae"
    _doc_link_template = DOC_LINK_TEMPLATE

    # The loss of SupervisedLoss.
    _loss = None

    @property
    @abstractmethod
    def _n_outputs(self):
        """Width of the output layer: the classes, or the targets."""

    # The subclasses' signatures are the parameters (scikit-learn reads them);
    # tests/test_supervised.py pins the two to each other.
    def _store_parameters(self, values):
        """Store each ``__init__`` argument as the attribute of its name, unchanged."""
        for name in self._get_param_names():
            setattr(self, name, values[name])

    # ---------------------------------------------------------- the encoder

    def _clone_autoencoder(self, seed, device):
        """The autoencoder to use: a clone of the parameter (a FrozenEstimator clones to itself)."""
        if self.autoencoder is None:
            return _default_autoencoder().set_params(random_state=seed, device=device)
        inner = _unwrap(self.autoencoder)
        if not isinstance(inner, BaseAutoencoder):
            raise TypeError(
                f"{type(self).__name__} needs a skae autoencoder (Autoencoder, "
                "DenoisingAutoencoder, SparseAutoencoder, ContractiveAutoencoder, "
                "VariationalAutoencoder), or a fitted one wrapped in "
                f"sklearn.frozen.FrozenEstimator, as autoencoder; got {type(inner).__name__}."
            )
        autoencoder = clone(self.autoencoder)
        if isinstance(autoencoder, FrozenEstimator):
            return autoencoder
        if autoencoder.random_state is None:
            # Seeded from this estimator's random_state, as scikit-learn's
            # ensembles seed their members: one random_state, one result.
            autoencoder.set_params(random_state=seed)
        return autoencoder

    def _encoder(self, autoencoder, X, seed):
        """A copy of the encoder to fine-tune and the width of its code.

        Trains the autoencoder on ``X`` first (``pretrain=True``, unless it is
        frozen), or builds its network at random (``pretrain=False``). The
        autoencoder itself is never changed by the fine-tuning.
        """
        inner = _unwrap(autoencoder)
        frozen = isinstance(autoencoder, FrozenEstimator)
        if not self.pretrain:
            if frozen:
                raise ValueError(
                    "pretrain=False builds the encoder at random, but the autoencoder is a "
                    "FrozenEstimator holding trained weights; pass the autoencoder itself "
                    "(not frozen) or set pretrain=True."
                )
            module = inner._build_module(X.shape[1], None)
            init_parameters_(module, torch.Generator().manual_seed(seed))
            return self._checked_encoder(inner, module, X, inner.n_components)
        if frozen:
            try:
                check_is_fitted(inner)
            except NotFittedError:
                raise NotFittedError(
                    f"The autoencoder wrapped in FrozenEstimator is not fitted; fit "
                    f"{type(inner).__name__} first, or pass it unfrozen so that "
                    f"{type(self).__name__} trains it."
                ) from None
            if inner.n_features_in_ != X.shape[1]:
                raise ValueError(
                    f"X has {X.shape[1]} features, but the frozen {type(inner).__name__} "
                    f"was fitted on {inner.n_features_in_}."
                )
        else:
            autoencoder.fit(X)
        return self._checked_encoder(inner, inner.net_.module_, X, inner.n_components_)

    def _checked_encoder(self, inner, module, X, code_width):
        """A copy of ``module.encoder``, checked to give ``module.encode``'s code first."""
        encoder = copy.deepcopy(module.encoder)
        device = next(module.parameters()).device
        probe = rows_as_tensor(X, slice(0, _PROBE_ROWS), device)
        was_training = module.training
        module.eval()
        encoder.eval()
        with torch.no_grad():
            expected = module.encode(probe)
            got = encoder(probe)
        module.train(was_training)
        if (
            got.ndim != 2
            or got.shape[1] < code_width
            or expected.shape != (len(probe), code_width)
            or not torch.allclose(got[:, :code_width], expected)
        ):
            raise ValueError(
                f"{type(self).__name__} cannot fine-tune {type(inner).__name__}: its code "
                "(module.encode) is not the first n_components outputs of its encoder."
            )
        return encoder, code_width

    def _encoder_template(self):
        """The encoder's architecture, for loading a saved model (weights come after)."""
        inner = _unwrap(self.autoencoder_)
        if self._fitted_with.pretrain:
            return copy.deepcopy(inner.net_.module_.encoder), inner.n_components_
        return inner._build_module(self.n_features_in_, None).encoder, inner.n_components

    # --------------------------------------------------------------- fitting

    def _dead_units(self, encoder, X, seed):
        """Count the encoder's dead ReLU units on ``X``; draw them again where they can learn.

        Only a pretrained encoder that fine-tuning trains has them drawn
        again (``reinit_dead_units``): a frozen one would keep them random.
        """
        batches = _row_batches(X, next(encoder.parameters()).device)
        redraw = self.reinit_dead_units and self.pretrain and not self.freeze_encoder
        generator = torch.Generator().manual_seed(seed)
        return reinit_dead_units_(encoder, batches, generator, redraw=redraw)

    def _split(self, n_rows, stratify, seed):
        """Indices ``(train, valid)`` of the held-out split, stratified when it can be."""
        if stratify is not None:
            n_valid = max(1, int(round(self.validation_fraction * n_rows)))
            try:
                train, valid = train_test_split(
                    np.arange(n_rows), test_size=n_valid, stratify=stratify, random_state=seed
                )
                return np.sort(train), np.sort(valid)
            except ValueError:
                pass  # a class too small to split, or fewer held-out rows than classes
        return hold_out(n_rows, self.validation_fraction, seed)

    def _build_net(self, module, n_train, valid, device, shuffle_seed, smoothing=None):
        """The initialised skorch net that fine-tunes ``module``.

        ``smoothing`` is ``(rows, radius, seed, divergence)`` for virtual adversarial
        training (see :class:`FineTuningNet`), or None.
        """
        sink = print if self.verbose else noop
        early = valid is not None
        stopper = (EarlyStoppingFromStart if early else EarlyStopping)(
            monitor="valid_loss" if early else "train_loss",
            patience=self.n_iter_no_change,
            threshold=self.tol,
            threshold_mode="abs",
            load_best=early,
            sink=sink,
        )
        callbacks = [("divergence_guard", DivergenceGuard()), ("early_stopping", stopper)]
        if self.learning_rate == "cosine":
            schedule = LRScheduler("CosineAnnealingLR", T_max=self.max_iter)
            callbacks.append(("learning_rate", schedule))
        callbacks += copy.deepcopy(self.callbacks or [])
        batch_size = min(200, n_train) if self.batch_size == "auto" else self.batch_size
        # Not fused: the published fine-tuning figures were made without it.
        optimizer_args = adam_arguments(self.alpha)
        rows, radius, seed, divergence = smoothing or (None, 0.0, 0, "kl")
        net = FineTuningNet(
            module=module,
            criterion=SupervisedLoss(self._loss),
            smoothed_rows=rows,
            smoothing_radius=radius,
            smoothing_seed=seed,
            smoothing_divergence=divergence,
            ema_decay=self.ema_decay,
            optimizer=torch.optim.Adam,
            lr=self.learning_rate_init,
            max_epochs=self.max_iter,
            batch_size=batch_size,
            iterator_train=LabelledBatchIterator,
            iterator_train__shuffle=True,
            iterator_train__generator=torch.Generator().manual_seed(shuffle_seed),
            iterator_train__device=device,
            # With virtual adversarial training an epoch is a pass over the
            # rows it smooths (every row of X), the labelled ones cycled.
            iterator_train__n_batches=(
                None if rows is None else max(1, math.ceil(rows.shape[0] / batch_size))
            ),
            iterator_valid=LabelledBatchIterator,
            iterator_valid__device=device,
            train_split=predefined_split(valid) if early else None,
            callbacks=callbacks,
            verbose=self.verbose,
            device=device,
            **optimizer_args,
        )
        return net.initialize()

    def _fine_tune(self, X, labelled, targets, n_outputs, stratify=None):
        """Pretrain on every row of ``X``, then fine-tune on ``X[labelled]`` and ``targets``."""
        if self.vat_epsilon and self.freeze_encoder:
            # Refused before the pretraining, so that nothing is fitted.
            raise ValueError(
                f"vat_epsilon={self.vat_epsilon!r} needs the encoder's gradient with respect to "
                "its input, but freeze_encoder=True runs the encoder without one; set "
                "vat_epsilon=0 or freeze_encoder=False."
            )
        rng = check_random_state(self.random_state)
        seeds = [int(s) for s in rng.randint(np.iinfo(np.int32).max, size=5)]
        device = resolve_device(self.device)
        autoencoder = self._clone_autoencoder(seeds[0], device)
        encoder, code_width = self._encoder(autoencoder, X, seeds[1])
        self.autoencoder_ = autoencoder
        self.n_dead_units_ = self._dead_units(encoder, X, seeds[1])

        X_labelled = X[labelled] if not labelled.all() else X
        n_rows = X_labelled.shape[0]
        early = bool(self.early_stopping)
        train, valid = self._split(n_rows, stratify, seeds[3]) if early else (None, None)
        if early:
            X_train, y_train = X_labelled[train], targets[train]
            valid_data = Dataset(
                _as_tensor(X_labelled[valid], device),
                torch.as_tensor(targets[valid], device=device),
            )
        else:
            X_train, y_train, valid_data = X_labelled, targets, None

        module = FineTuningModule(
            encoder,
            code_width,
            n_outputs,
            self.freeze_encoder,
            dropout=self.dropout,
            input_dropout=self.input_dropout,
            seed=seeds[4],
        )
        if not self.pretrain:
            # The plain network (MLPClassifier's, a hand-written torch loop's):
            # the head at PyTorch's default start like every other layer, and
            # the code read as it is. A random encoder's code varies by about
            # 0.013 on MNIST; standardised, the head learnt some 75 times
            # faster than the layers below it, and six epochs (dropout 0.5)
            # ended at 3.9 % test error where the plain network reaches 2.3 %.
            init_parameters_(module.head, torch.Generator().manual_seed(seeds[4]))
        module = module.to(device)
        if self.pretrain:
            # The head reads the code centred and scaled over every row of X
            # (the unlabelled ones too), and starts as a linear model fitted
            # to the codes of the training rows (a linear probe):
            # fine-tuning starts where "frozen code + linear model" ends.
            module.standardize_code_(_codes(module, X, device))
            codes = _codes(module, X_train, device, standardized=True).cpu().numpy()
            weight, bias = self._dropout_probe(codes.astype(np.float64), y_train)
            module.start_head_(torch.as_tensor(bias), torch.as_tensor(weight))
        self._fitted_with = clone(self)
        smoothing = self._smoothing(X, device, seeds[2])
        self.net_ = self._build_net(
            module, X_train.shape[0], valid_data, device, seeds[2], smoothing
        )
        self.net_.partial_fit(
            _as_tensor(X_train, device),
            torch.as_tensor(y_train, device=device),
            epochs=self.max_iter,
        )
        self.net_.smoothed_rows = None  # every row of X: not kept after fit
        self._read_history(early)
        end_fit(self)
        return self

    def _smoothing(self, X, device, seed):
        """``(rows, radius, seed, divergence)`` of virtual adversarial training, or None.

        Every row of ``X``, labelled or not; the radius is ``vat_epsilon``
        times the root of the total variance of ``X`` (the root mean squared
        distance of a row from the mean row).
        """
        if not self.vat_epsilon:
            return None
        if hasattr(X, "tocsr"):
            X64 = X.astype(np.float64)
            mean = np.asarray(X64.mean(axis=0)).ravel()
            squares = np.asarray(X64.multiply(X64).mean(axis=0)).ravel()
            total_variance = float(np.sum(squares - mean**2))
        else:
            total_variance = float(np.var(X, axis=0, dtype=np.float64).sum())
        radius = self.vat_epsilon * math.sqrt(max(total_variance, 0.0))
        divergence = "kl" if self._loss == "cross_entropy" else "squared_error"
        return _as_tensor(X, device), radius, seed, divergence

    # The largest second derivative of the loss in the head's output (the
    # log-loss: p (1 - p) <= 1/4), in the units of the probe's L2 penalty.
    _loss_curvature = None

    def _dropout_probe(self, Z, y_train):
        """The linear probe of the head under the dropout that the head's input will see.

        Dropping each code unit with probability ``p`` (survivors scaled by
        ``1 / (1 - p)``) adds to the head's expected loss an L2 penalty on
        each weight, ``p / (1 - p)`` times the sum of squares of its unit
        over the training rows: exactly for the squared error, to second
        order (and bounded with the curvature at its largest) for the
        log-loss (Wager et al., 2013). The probe is fitted under that
        penalty, added to its own, by rescaling each unit; on MNIST, with
        dropout 0.5, a probe fitted to the clean codes gave the pretrained
        network a first epoch's mean loss of 4.9 to 8.5, against 0.65 for
        this probe.
        """
        if not self.dropout:
            return self._probe(Z, y_train)
        odds = self.dropout / (1.0 - self.dropout)
        penalty = 1.0 + self._loss_curvature * odds * np.einsum("ij,ij->j", Z, Z)
        scale = 1.0 / np.sqrt(penalty)
        weight, bias = self._probe(Z * scale, y_train)
        return weight * scale, bias

    def _read_history(self, early):
        rows = [row for row in self.net_.history if "train_loss" in row]
        self.loss_curve_ = [float(row["train_loss"]) for row in rows]
        self.n_iter_ = len(rows)
        stopper = dict(self.net_.callbacks_)["early_stopping"]
        if early:
            self.validation_scores_ = [-float(row["valid_loss"]) for row in rows]
            self.best_validation_score_ = max(-stopper.start_score_, *self.validation_scores_)
        if stopper.misses_ < stopper.patience and self.n_iter_ == self.max_iter:
            warn(
                f"{type(self).__name__} ran max_iter={self.max_iter} epochs of fine-tuning and "
                "the loss was still improving by more than tol; consider increasing max_iter.",
                ConvergenceWarning,
            )

    def _rebuild_net(self, device):
        """A net built as the fitted estimator's was, for loading a saved state."""
        builder = self._fitted_with
        encoder, code_width = self._encoder_template()
        module = FineTuningModule(
            encoder,
            code_width,
            self._n_outputs,
            builder.freeze_encoder,
            dropout=builder.dropout,
            input_dropout=builder.input_dropout,
        )
        net = builder._build_net(module.to(device), 1, None, device, 0)
        # As end_fit leaves a fitted net: no schedule, no held-out rows.
        net.callbacks_ = [(name, cb) for name, cb in net.callbacks_ if name != "learning_rate"]
        return net

    # ------------------------------------------------------------- inference

    def _raw_predict(self, X):
        """The head's output for ``X``, in float64: logits or predictions."""
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse="csr", dtype=np.float32, reset=False)
        # A float64 copy of the network, so a row's output does not depend on
        # the rows predicted with it (float32 products round differently for
        # different batch sizes).
        module = copy.deepcopy(self.net_.module_).double().eval()
        device = self.net_.device
        rows = max(1, _INFERENCE_BATCH_VALUES // max(1, X.shape[1]))
        out = np.empty((X.shape[0], self._n_outputs), dtype=np.float64)
        with torch.inference_mode():
            for start in range(0, X.shape[0], rows):
                index = slice(start, start + rows)
                batch = rows_as_tensor(X, index, device).double()
                out[index] = module(batch).cpu().numpy()
        return out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


_SHARED_PARAMETERS = {
    "pretrain": """\
    pretrain : bool, default=True
        If True, ``fit`` first trains (a clone of) ``autoencoder`` on ``X``
        and fine-tunes its encoder. If False, the same network starts from
        PyTorch's default initialisation, drawn from ``random_state``, the
        output layer included, reads the code as it is (no linear probe, no
        rescaling: the network of
        :class:`~sklearn.neural_network.MLPClassifier`) and learns from the
        labelled rows only: the baseline that shows what the unsupervised
        pretraining brings.""",
    "freeze_encoder": """\
    freeze_encoder : bool, default=False
        If True, only the output layer learns: the encoder keeps the
        autoencoder's weights (a linear model on the frozen code, trained by
        the same loop, with ``dropout`` on the code). If False, encoder and
        output layer are fine-tuned together, which beat the frozen code
        with 1,000 labels on an MNIST subset (0.912 against 0.893 accuracy)
        and on the digits. After a denoising autoencoder pretrained on all
        60,000 MNIST images, the frozen encoder was ahead with 100 and 1,000
        labels (0.851 / 0.947 against 0.825 / 0.938): with few labels and
        many unlabelled rows, search both (see the fine-tuning page of the
        documentation).""",
    "reinit_dead_units": """\
    reinit_dead_units : bool, default=False
        If True, the ReLU units of the pretrained encoder that no row of
        ``X`` activates (whose gradient is zero on every row, so that
        fine-tuning could never use them) get new incoming weights, drawn
        as a fresh layer's, and zero weights in the layer that reads them,
        before fine-tuning (ReDo, Sokar et al., 2023). The pretrained
        784-500-500-2000 MNIST encoder had 22, 302 and 763 such units in
        its three layers; drawn again, fine-tuning on all 60,000 labels
        with dropout 0.5 (120 epochs) ended at 1.31 % test error against
        1.44 % (one seed; 1.17 % with ``learning_rate_init=3e-4``). Off by
        default: without dropout, on 5,000
        Fashion-MNIST labels, it cost 0.004 of accuracy on average over
        three seeds (see the fine-tuning page of the documentation). No
        effect with ``pretrain=False`` or ``freeze_encoder=True``;
        ``n_dead_units_`` counts the dead units either way.""",
    "max_iter": """\
    max_iter : int, default=200
        Maximum number of epochs of fine-tuning (passes over the labelled
        rows; with ``vat_epsilon``, over every row of ``X``), as in
        :class:`~sklearn.neural_network.MLPClassifier`.""",
    "batch_size": """\
    batch_size : int or "auto", default="auto"
        Labelled rows per mini-batch (with ``vat_epsilon``, as many rows of
        ``X`` join them in the virtual adversarial loss); ``"auto"`` means
        ``min(200, n_labelled)``.""",
    "learning_rate": """\
    learning_rate : {"constant", "cosine"}, default="constant"
        Schedule of the learning rate over the ``max_iter`` epochs:
        ``"constant"`` keeps ``learning_rate_init``; ``"cosine"`` decays it
        to zero along half a cosine, for when ``max_iter`` is the whole
        budget (as in the MNIST recipe of ``benchmarks/fine_tuning.py``).""",
    "learning_rate_init": """\
    learning_rate_init : float, default=1e-3
        Learning rate of the Adam optimizer that fine-tunes, as in
        :class:`~sklearn.neural_network.MLPClassifier`. A pretrained encoder
        fine-tuned with dropout on many labels keeps more of its pretraining
        at a smaller one (Srivastava et al., 2014): on all 60,000 MNIST
        labels with ``dropout=0.5``, 120 epochs and
        ``reinit_dead_units=True``, ``3e-4`` gave 1.17 % test error against
        1.31 % at ``1e-3`` (see the fine-tuning page of the documentation).""",
    "alpha": """\
    alpha : float, default=0.0
        Strength of the L2 penalty on the weights of the encoder and the
        output layer (Adam's weight decay; biases are not penalised).""",
    "dropout": """\
    dropout : float, default=0.0
        Probability of zeroing each hidden unit of the encoder and each
        code unit that the output layer reads, drawn anew at every
        fine-tuning step (dropout, Srivastava et al., 2014; the survivors
        are scaled by ``1 / (1 - dropout)``, and prediction drops nothing).
        Hidden units are the inputs of the encoder's linear and
        convolutional layers other than those reading ``X``, so it works
        with any architecture; with ``freeze_encoder=True`` only the code
        is dropped. Off by default, as in
        :class:`~sklearn.neural_network.MLPClassifier`, which has none: it
        regularises a wide network and slows its convergence (raise
        ``max_iter`` with it), and cost a small network accuracy on the
        digits with 100 labels. With 100 or 1,000 MNIST labels it helped
        the pretrained 784-500-500-2000 network (with
        ``input_dropout=0.2``). On all 60,000 MNIST
        labels, ``dropout=0.5`` with ``input_dropout=0.2`` and 120 epochs
        gave the pretrained 784-500-500-2000 network 1.44 % test error
        (1.31 % with ``reinit_dead_units=True``, **1.17 %** with it and
        ``learning_rate_init=3e-4``; 1.62 % without dropout and 40 epochs)
        and the same network from scratch 1.20 %: features pretrained
        without dropout do not survive it at the default learning rate, and
        fine-tuning relearns them (see the fine-tuning page of the
        documentation).""",
    "input_dropout": """\
    input_dropout : float, default=0.0
        Probability of zeroing each feature of the labelled rows at every
        fine-tuning step (0.2 in Srivastava et al., 2014, with
        ``dropout=0.5``).""",
    "vat_epsilon": """\
    vat_epsilon : float, default=0.0
        If positive, each fine-tuning step also minimises the virtual
        adversarial loss (Miyato et al., 2018) of its labelled batch and of
        ``batch_size`` rows of ``X``: how much the output of a row changes
        when the row moves by ``vat_epsilon`` times the spread of ``X`` (the
        root of its total variance) in the direction that changes it most.
        This trains the network to be smooth around every row of ``X``,
        labelled or not: the classifier's unlabelled rows (``-1``) then
        shape the fine-tuning too, not only the pretraining. The outputs
        compared are the class probabilities (KL divergence) of the
        classifier and the predictions (squared difference) of the
        regressor. An epoch then passes over every row of ``X`` (the
        labelled batches cycle), and each step costs about three times as
        much. It is computed in training mode, dropout included. On the
        digits (1,347 training rows, three seeds) the fine-tuned network
        reached 0.969 / 0.991 accuracy with 100 / 1,000 labels at
        ``vat_epsilon=0.3``, against 0.897 / 0.978 without, 0.916 / 0.991
        for PCA + SVC and 0.955 / 0.972 for
        :class:`~sklearn.semi_supervised.LabelSpreading`; on a 5,000-image
        MNIST subset with 1,000 labels, 0.926 against 0.895 without and
        0.889 for PCA + SVC, and on all 60,000 MNIST images with 1,000
        labels 0.958 (0.970 from scratch) against 0.921 without and 0.935
        for PCA + SVC (see the fine-tuning page of the documentation).
        **Off by default, and compare it with 0 on your data:** on that
        subset with 100 labels it fell to 0.504, against
        0.781 without, its predictions on the unlabelled rows drifting
        towards a few classes as training went on; choose it and
        ``max_iter`` by cross-validation with
        :class:`~skae.SemiSupervisedStratifiedKFold`. Incompatible with
        ``freeze_encoder=True``, whose encoder has no gradient.""",
    "ema_decay": """\
    ema_decay : float, default=0.0
        If positive, keep an exponential moving average of the network's
        weights, ``average = ema_decay * average + (1 - ema_decay) *
        weights`` after each fine-tuning step (Polyak averaging): the
        fitted network is that average (early stopping scores it and keeps
        its best epoch), and with ``vat_epsilon`` the virtual adversarial
        loss compares each moved row's output with the average's output at
        the row, a target that moves slowly (the "mean teacher" of
        Tarvainen and Valpola, 2017, who used 0.99 to 0.999). Off by
        default, because it trades one failure for another: on a
        5,000-image MNIST subset with 100 labels, ``ema_decay=0.999`` kept
        ``vat_epsilon=0.3`` from drifting (0.775 test accuracy against
        0.504), but with 1,000 labels it cost accuracy (0.894 against
        0.926), and on the digits at 0.99 as well (see the fine-tuning page
        of the documentation).""",
    "early_stopping": """\
    early_stopping : bool, default=False
        If True, hold out ``validation_fraction`` of the labelled rows
        (stratified by class for the classifier, when every class can be
        split), stop when their loss has not improved by ``tol`` for
        ``n_iter_no_change`` epochs, and restore the weights of the best
        epoch; the start (the encoder under its linear probe) counts as
        epoch 0, so the result is never worse than the linear probe on the
        held-out rows. If False, fine-tune on every labelled row and stop
        when the training loss has not improved by ``tol`` for
        ``n_iter_no_change`` epochs. Off by default, as in
        :class:`~sklearn.neural_network.MLPClassifier`: with 100 and 1,000
        labels (MNIST) the rows it holds out cost more accuracy than the
        stopping saved.""",
    "validation_fraction": """\
    validation_fraction : float, default=0.1
        Share of the labelled rows held out when early stopping is on.""",
    "n_iter_no_change": """\
    n_iter_no_change : int, default=10
        Epochs without an improvement of at least ``tol`` before stopping.""",
    "tol": """\
    tol : float, default=1e-4
        Smallest improvement of the monitored loss that counts.""",
    "random_state": """\
    random_state : int, RandomState instance or None, default=None
        Seeds the fine-tuning (the random start with ``pretrain=False``,
        the shuffling, the held-out split) through private
        ``torch.Generator`` objects, and the autoencoder's pretraining when
        the autoencoder's own ``random_state`` is None. An int gives
        bit-identical fits on the same data and device.""",
    "device": """\
    device : str or torch.device, default="auto"
        Where to fine-tune and predict: ``"auto"`` picks ``"cuda"`` when it
        is available and ``"cpu"`` otherwise. The default autoencoder
        pretrains there too; an autoencoder passed in trains on its own
        ``device``, and its encoder is copied here.""",
    "verbose": """\
    verbose : int, default=0
        If positive, skorch prints one line of progress per fine-tuning
        epoch.""",
    "callbacks": """\
    callbacks : list of skorch callbacks or None, default=None
        Extra :mod:`skorch.callbacks` run during fine-tuning (copied at
        each fit).""",
}

_SHARED_ATTRIBUTES = """\
    autoencoder_ : skae autoencoder or FrozenEstimator
        The fitted clone of ``autoencoder`` whose encoder was fine-tuned
        (the :class:`~sklearn.frozen.FrozenEstimator` itself when one was
        passed; with ``pretrain=False``, the unfitted clone whose network
        was built). Fine-tuning works on a copy of its encoder, so its own
        ``transform`` still gives the pretrained codes.

    n_features_in_ : int
        Number of features seen during ``fit``.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features seen during ``fit``, if they are all strings.

    n_dead_units_ : list of int
        For each ReLU layer of the encoder (outermost first), the number of
        units that no row of ``X`` activated before fine-tuning: drawn
        again when ``reinit_dead_units`` is True (see there).

    n_iter_ : int
        Number of fine-tuning epochs run.

    loss_curve_ : list of float
        Training loss at the end of each fine-tuning epoch.

    validation_scores_ : list of float
        Negative loss of the held-out labelled rows after each epoch
        (higher is better); only with early stopping.

    best_validation_score_ : float
        Best of ``validation_scores_``, or the untrained network's score
        when no epoch improved on it; only with early stopping.

    net_ : skae._supervised.FineTuningNet
        The skorch net that fine-tuned the torch module ``net_.module_``
        (a :class:`skae.nn._supervised.FineTuningModule`: the encoder and
        its output layer); its ``history`` holds every epoch's record."""


def _fill_doc(own_parameters, own_attributes):
    """:func:`~skae._docs.fill_docstring` with the fine-tuning estimators' shared entries."""
    attributes = "\n\n".join([own_attributes, _SHARED_ATTRIBUTES])
    return fill_docstring(_SHARED_PARAMETERS, attributes, own_parameters)


_AUTOENCODER_DOC = """\
    autoencoder : skae autoencoder, FrozenEstimator or None, default=None
        The autoencoder whose encoder is fine-tuned: any skae family
        (:class:`~skae.Autoencoder`, :class:`~skae.DenoisingAutoencoder`,
        ..., :class:`~skae.VariationalAutoencoder`, whose posterior mean is
        the code) with any network (MLP or ``architecture``). ``fit`` clones
        it and trains the clone on ``X``; its parameters are searchable as
        ``autoencoder__<name>`` (for example ``autoencoder__n_components``).
        An autoencoder already fitted (on a larger set, say) is reused
        without refitting when wrapped in
        :class:`sklearn.frozen.FrozenEstimator`. None uses
        ``Autoencoder(n_components=16)``, which pretrains on this
        estimator's ``device`` and from its ``random_state``: on the digits
        with 50 to 500 labels, codes of 8 to 32 components gave accuracies
        within 0.03 of each other after fine-tuning (the shorter ones
        slightly better with fewer labels). Search
        ``autoencoder__n_components`` for your data.{extra}"""


def _unlabelled_mask(y):
    """Which entries of a 1-D label array are ``-1``, scikit-learn's unlabelled marker."""
    if y.dtype.kind in "US":
        return np.zeros(len(y), dtype=bool)
    if y.dtype.kind == "O":
        return np.array([isinstance(v, Integral | Real) and v == UNLABELLED for v in y], bool)
    return y == UNLABELLED


def labelled_mask(y):
    """Which rows of a 1-D label array hold a label.

    All but the ``-1`` ones, unless the other labels hold a single class:
    binary labels ``{-1, c}`` are two classes, and every row is labelled.
    """
    labelled = ~_unlabelled_mask(y)
    if labelled.any() and not labelled.all() and len(np.unique(y[labelled])) == 1:
        labelled[:] = True
    return labelled


@_fill_doc(
    {
        "autoencoder": _AUTOENCODER_DOC.format(
            extra=" Every row of ``X`` trains it, the unlabelled ones included."
        )
    },
    """\
    classes_ : ndarray of shape (n_classes,)
        The class labels (the labels of ``y`` other than ``-1``).""",
)
class AutoencoderClassifier(ClassifierMixin, _BaseFineTuning):
    """Classifier that fine-tunes a pretrained autoencoder's encoder with a softmax layer.

    ``fit`` trains the autoencoder on every row of ``X``, labelled or not,
    then puts a linear layer with one output per class on a copy of its
    encoder and trains both on the labelled rows with the cross-entropy
    (softmax) loss, through skorch, as every skae model trains. Rows whose
    label is ``-1`` are unlabelled, scikit-learn's semi-supervised
    convention (:class:`~sklearn.semi_supervised.SelfTrainingClassifier`,
    :class:`~sklearn.semi_supervised.LabelSpreading`): they help through
    the pretraining and, with ``vat_epsilon``, through the fine-tuning too
    (virtual adversarial training, Miyato et al., 2018). This is the
    pretrain-then-fine-tune recipe of Hinton & Salakhutdinov (2006) and of
    stacked denoising autoencoders (Vincent et al., 2010): unlabelled rows
    shape the encoder, a few labels finish it.

    Parameters
    ----------
    {parameters}

    Attributes
    ----------
    {attributes}

    See Also
    --------
    AutoencoderRegressor : The same for one or several continuous targets.
    sklearn.neural_network.MLPClassifier : The same kind of network, started at random.
    sklearn.semi_supervised.SelfTrainingClassifier : Another way to use unlabelled rows.

    Notes
    -----
    **Which rows are unlabelled.** A label ``-1`` (an int, a float or an
    element of an object array) marks an unlabelled row when the other
    labels hold two classes or more. When they hold a single class, ``-1``
    is the other class of a binary problem (the ``{-1, 1}`` labels of
    scikit-learn's checks and of SVM conventions): a classifier needs two
    classes, so ``-1`` cannot mean "unlabelled" there. **With three classes
    or more, a class named -1 is taken as unlabelled**: recode such labels
    (for example with :class:`~sklearn.preprocessing.LabelEncoder`) before
    fitting. String labels need ``dtype=object`` to hold ``-1`` among them,
    as for ``SelfTrainingClassifier``.

    The output layer reads the code centred and scaled (one scale for all
    units) over every row of ``X``, the unlabelled ones included, and
    starts as a multinomial logistic regression (L2, ``C=1``, at most 100
    L-BFGS iterations) fitted to the codes of the labelled rows, a linear
    probe: fine-tuning then starts
    where "frozen code + logistic regression" ends, and the first gradient
    steps do not push the pretrained encoder towards a random head, which
    distorts its features (the "linear probe, then fine-tune" recipe of
    Kumar et al., 2022). On MNIST with 1,000 labels this start gave 0.912
    accuracy after fine-tuning against 0.880 for a head started at zero.
    With ``dropout``, the probe is fitted under the L2 penalty that
    dropping code units adds to the head's loss (Wager et al., 2013). With
    ``pretrain=False`` there is no probe and no rescaling: the network is
    the plain one of :class:`~sklearn.neural_network.MLPClassifier`, every
    layer at PyTorch's default start (see the fine-tuning page of the
    documentation for what rescaling a random code cost).
    ``predict_proba``, ``predict_log_proba`` and ``decision_function``
    are computed in float64 from a float64 copy of the network, so a row's
    result does not depend on the rows predicted with it. ``fit`` has no
    ``sample_weight``: with mini-batch training and an unsupervised
    pretraining on the rows themselves, a weight is not equivalent to
    repeating the row (scikit-learn's own MLP estimators fail that check).

    References
    ----------
    Hinton, G. E. and Salakhutdinov, R. R. (2006). Reducing the
    dimensionality of data with neural networks. Science, 313(5786).

    Vincent, P. et al. (2010). Stacked denoising autoencoders. Journal of
    Machine Learning Research, 11.

    Kumar, A. et al. (2022). Fine-tuning can distort pretrained features and
    underperform out-of-distribution. ICLR.

    Wager, S., Wang, S. and Liang, P. (2013). Dropout training as adaptive
    regularization. NeurIPS.

    Srivastava, N. et al. (2014). Dropout: a simple way to prevent neural
    networks from overfitting. Journal of Machine Learning Research, 15.

    Miyato, T., Maeda, S., Koyama, M. and Ishii, S. (2018). Virtual
    adversarial training: a regularization method for supervised and
    semi-supervised learning. IEEE TPAMI, 41(8).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from skae import Autoencoder
    >>> from skae import AutoencoderClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> X = X / 16
    >>> y_semi = np.full_like(y[:1000], -1)  # the first 1,000 rows, 100 of them labelled
    >>> y_semi[:100] = y[:100]
    >>> clf = AutoencoderClassifier(
    ...     Autoencoder(n_components=32, max_iter=20), max_iter=50, random_state=0
    ... ).fit(X[:1000], y_semi)
    >>> clf.classes_
    array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    >>> clf.predict_proba(X[1000:1003]).shape
    (3, 10)
    >>> bool(clf.score(X[1000:], y[1000:]) > 0.7)
    True
    """

    _loss = "cross_entropy"
    # C * (log-loss) + ||w||**2 / 2: a curvature of 1/4 against the penalty's 1.
    _loss_curvature = 0.25

    def __init__(
        self,
        autoencoder=None,
        *,
        pretrain=True,
        freeze_encoder=False,
        reinit_dead_units=False,
        max_iter=200,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=1e-3,
        alpha=0.0,
        dropout=0.0,
        input_dropout=0.0,
        vat_epsilon=0.0,
        ema_decay=0.0,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        random_state=None,
        device="auto",
        verbose=0,
        callbacks=None,
    ):
        self._store_parameters(locals())

    @property
    def _n_outputs(self):
        return len(self.classes_)

    def _probe(self, Z, y_train):
        """Multinomial logistic regression (L2, ``C=1``) on the standardised codes.

        At most 100 L-BFGS iterations: the probe is only the start of the
        fine-tuning, and on 60,000 codes of 2,000 units a converged one
        would cost minutes.
        """
        from sklearn.linear_model import LogisticRegression

        weight = np.zeros((self._n_outputs, Z.shape[1]))
        # A class missing from the training rows (possible after an
        # unstratified hold-out) starts with a probability of about e**-30.
        bias = np.full(self._n_outputs, -30.0)
        present = np.unique(y_train)
        if len(present) < 2:
            bias[present] = 0.0
            return weight, bias
        with warnings.catch_warnings():
            # Only a start: fine-tuning goes on from wherever it stopped.
            warnings.simplefilter("ignore", ConvergenceWarning)
            probe = LogisticRegression(max_iter=100).fit(Z, y_train)
        if len(present) == 2:  # one logit difference, split between two softmax outputs
            weight[present] = np.r_[-probe.coef_ / 2, probe.coef_ / 2]
            bias[present] = np.r_[-probe.intercept_ / 2, probe.intercept_ / 2]
        else:
            weight[present] = probe.coef_
            bias[present] = probe.intercept_
        return weight, bias

    @_fit_context(prefer_skip_nested_validation=False)  # the autoencoder validates its own
    def fit(self, X, y):
        """Pretrain the autoencoder on every row of ``X``, then fine-tune on the labelled ones.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training rows, labelled or not.
        y : array-like of shape (n_samples,)
            Class labels; ``-1`` marks an unlabelled row (used by the
            pretraining, and by the fine-tuning's virtual adversarial loss
            with ``vat_epsilon``), unless the other labels hold a single
            class (see Notes).

        Returns
        -------
        self : object
            The fitted classifier.

        Raises
        ------
        ValueError
            If fewer than two classes are labelled, or if fine-tuning
            diverges (the message says what to change).

        Examples
        --------
        >>> from sklearn.datasets import load_digits
        >>> from skae import Autoencoder
        >>> from skae import AutoencoderClassifier
        >>> X, y = load_digits(return_X_y=True)
        >>> clf = AutoencoderClassifier(Autoencoder(n_components=16, max_iter=5),
        ...                             max_iter=5, random_state=0).fit(X[:300] / 16, y[:300])
        >>> clf.n_iter_
        5
        """
        X, y = validate_data(self, X, y, accept_sparse="csr", dtype=np.float32)
        labelled = ~_unlabelled_mask(y)
        # Checked without the -1s: an object array of strings and -1s is fine.
        check_classification_targets(y[labelled] if labelled.any() else y)
        # One class besides -1: binary labels {-1, c}, where -1 is a class.
        labelled = labelled_mask(y)
        if not labelled.any():
            raise ValueError(
                f"{type(self).__name__} needs labelled rows to fine-tune on, but every label "
                "is -1 (unlabelled). Fit the autoencoder itself to learn from unlabelled "
                "rows only."
            )
        classes, codes = np.unique(y[labelled], return_inverse=True)
        if len(classes) < 2:
            raise ValueError(
                f"{type(self).__name__} needs labelled rows of at least 2 classes, but they "
                f"hold 1 class ({classes[0]!r})."
            )
        self.classes_ = classes
        codes = codes.astype(np.int64)
        return self._fine_tune(X, labelled, codes, len(classes), stratify=codes)

    def decision_function(self, X):
        """Confidence scores: the logits of the output layer.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows to score.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            The logit of each class (float64); for two classes, the logit of
            ``classes_[1]`` minus that of ``classes_[0]``, positive where
            ``classes_[1]`` is predicted.

        Examples
        --------
        >>> from sklearn.datasets import load_digits
        >>> from skae import Autoencoder
        >>> from skae import AutoencoderClassifier
        >>> X, y = load_digits(n_class=2, return_X_y=True)
        >>> clf = AutoencoderClassifier(Autoencoder(n_components=8, max_iter=5),
        ...                             max_iter=20, random_state=0).fit(X / 16, y)
        >>> scores = clf.decision_function(X[:4] / 16)
        >>> scores.shape
        (4,)
        >>> bool(((scores > 0) == (clf.predict(X[:4] / 16) == 1)).all())
        True
        """
        logits = self._raw_predict(X)
        if logits.shape[1] == 2:
            return logits[:, 1] - logits[:, 0]
        return logits

    def predict_proba(self, X):
        """Class probabilities: the softmax of the logits.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows to classify.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probability of each class of ``classes_`` (float64); rows sum
            to one.

        Examples
        --------
        >>> from sklearn.datasets import load_digits
        >>> from skae import Autoencoder
        >>> from skae import AutoencoderClassifier
        >>> X, y = load_digits(return_X_y=True)
        >>> clf = AutoencoderClassifier(Autoencoder(n_components=16, max_iter=5),
        ...                             max_iter=5, random_state=0).fit(X[:300] / 16, y[:300])
        >>> proba = clf.predict_proba(X[300:303] / 16)
        >>> proba.shape, bool(abs(proba.sum(axis=1) - 1).max() < 1e-12)
        ((3, 10), True)
        """
        return softmax(self._raw_predict(X), axis=1)

    def predict_log_proba(self, X):
        """Logarithm of the class probabilities, computed stably from the logits.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows to classify.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probability of each class of ``classes_`` (float64).

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.datasets import load_digits
        >>> from skae import Autoencoder
        >>> from skae import AutoencoderClassifier
        >>> X, y = load_digits(return_X_y=True)
        >>> clf = AutoencoderClassifier(Autoencoder(n_components=16, max_iter=5),
        ...                             max_iter=5, random_state=0).fit(X[:300] / 16, y[:300])
        >>> np.allclose(np.exp(clf.predict_log_proba(X[:3] / 16)), clf.predict_proba(X[:3] / 16))
        True
        """
        return log_softmax(self._raw_predict(X), axis=1)

    def predict(self, X):
        """Predict the class of each row: the one with the largest logit.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows to classify.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            Labels from ``classes_``.

        Examples
        --------
        >>> from sklearn.datasets import load_digits
        >>> from skae import Autoencoder
        >>> from skae import AutoencoderClassifier
        >>> X, y = load_digits(return_X_y=True)
        >>> clf = AutoencoderClassifier(Autoencoder(n_components=16, max_iter=5),
        ...                             max_iter=5, random_state=0).fit(X[:300] / 16, y[:300])
        >>> clf.predict(X[:5] / 16).shape
        (5,)
        """
        logits = self._raw_predict(X)
        return self.classes_[np.argmax(logits, axis=1)]


@_fill_doc(
    {
        "autoencoder": _AUTOENCODER_DOC.format(
            extra=(
                " To pretrain on more rows than have targets, fit the autoencoder on "
                "all of them and pass it wrapped in ``FrozenEstimator``."
            )
        )
    },
    """\
    n_outputs_ : int
        Number of targets.""",
)
class AutoencoderRegressor(RegressorMixin, _BaseFineTuning):
    """Regressor that fine-tunes a pretrained autoencoder's encoder with a linear layer.

    ``fit`` trains the autoencoder on ``X``, then puts a linear layer with
    one output per target on a copy of its encoder and trains both with the
    squared error, through skorch, as every skae model trains. One or
    several targets (``y`` of shape ``(n_samples,)`` or ``(n_samples,
    n_targets)``).

    Parameters
    ----------
    {parameters}

    Attributes
    ----------
    {attributes}

    See Also
    --------
    AutoencoderClassifier : The same for classes, with unlabelled rows.
    sklearn.neural_network.MLPRegressor : The same kind of network, started at random.

    Notes
    -----
    The output layer reads the code centred and scaled over the rows of
    ``X`` and starts as a ridge regression (``alpha=1``) of the targets on
    those codes, a linear probe, so fine-tuning starts where "frozen code +
    ridge" ends (see :class:`AutoencoderClassifier`). With ``dropout``, the
    ridge adds to each weight the penalty that dropping its code unit adds
    to the expected squared error, ``dropout / (1 - dropout)`` times the
    unit's sum of squares, so the head starts at that loss's minimum. With
    ``pretrain=False`` the head starts at random and reads the code as it
    is, as in :class:`~sklearn.neural_network.MLPRegressor`. The loss is the
    squared error averaged over the targets, on the targets' own scale:
    scale targets of very different sizes (for
    example with :class:`~sklearn.compose.TransformedTargetRegressor`).
    ``predict`` computes in float64 from a float64 copy of the network.
    ``fit`` has no ``sample_weight`` (see :class:`AutoencoderClassifier`).
    With ``vat_epsilon`` the virtual adversarial loss is the squared change
    of the predictions, again on the targets' scale: a smoothness penalty
    around every row of ``X``.

    References
    ----------
    Miyato, T., Maeda, S., Koyama, M. and Ishii, S. (2018). Virtual
    adversarial training: a regularization method for supervised and
    semi-supervised learning. IEEE TPAMI, 41(8).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from skae import Autoencoder
    >>> from skae import AutoencoderRegressor
    >>> X = load_digits().data / 16
    >>> Y = np.c_[X[:, :32].mean(axis=1), X[:, 32:].mean(axis=1)]  # two targets
    >>> reg = AutoencoderRegressor(
    ...     Autoencoder(n_components=16, max_iter=20), max_iter=50, random_state=0
    ... ).fit(X[:1000], Y[:1000])
    >>> reg.predict(X[1000:1003]).shape
    (3, 2)
    >>> bool(reg.score(X[1000:], Y[1000:]) > 0.8)
    True
    """

    _loss = "squared_error"
    # ||y - y_hat||**2 + alpha * ||w||**2: the penalty dropout adds is exact.
    _loss_curvature = 1.0

    def __init__(
        self,
        autoencoder=None,
        *,
        pretrain=True,
        freeze_encoder=False,
        reinit_dead_units=False,
        max_iter=200,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=1e-3,
        alpha=0.0,
        dropout=0.0,
        input_dropout=0.0,
        vat_epsilon=0.0,
        ema_decay=0.0,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        random_state=None,
        device="auto",
        verbose=0,
        callbacks=None,
    ):
        self._store_parameters(locals())

    @property
    def _n_outputs(self):
        return self.n_outputs_

    def _probe(self, Z, y_train):
        """Ridge regression (``alpha=1``) of the targets on the standardised codes."""
        from sklearn.linear_model import Ridge

        ridge = Ridge(alpha=1.0).fit(Z, y_train)
        return ridge.coef_.reshape(self._n_outputs, -1), np.ravel(ridge.intercept_)

    @_fit_context(prefer_skip_nested_validation=False)  # the autoencoder validates its own
    def fit(self, X, y):
        """Pretrain the autoencoder on ``X``, then fine-tune it with a linear layer on ``y``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training rows.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Target values.

        Returns
        -------
        self : object
            The fitted regressor.

        Raises
        ------
        ValueError
            If fine-tuning diverges (the message says what to change).

        Examples
        --------
        >>> from sklearn.datasets import load_diabetes
        >>> from sklearn.preprocessing import scale
        >>> from skae import Autoencoder
        >>> from skae import AutoencoderRegressor
        >>> X, y = load_diabetes(return_X_y=True)
        >>> reg = AutoencoderRegressor(Autoencoder(n_components=4, max_iter=5), max_iter=5,
        ...                            random_state=0).fit(scale(X), scale(y))
        >>> reg.n_outputs_, reg.n_iter_
        (1, 5)
        """
        X, y = validate_data(
            self, X, y, accept_sparse="csr", dtype=np.float32, multi_output=True, y_numeric=True
        )
        self._single_output = y.ndim == 1
        targets = np.asarray(y, dtype=np.float32).reshape(len(y), -1)
        self.n_outputs_ = targets.shape[1]
        return self._fine_tune(X, np.ones(len(y), dtype=bool), targets, self.n_outputs_)

    def predict(self, X):
        """Predict the targets of each row.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows to predict.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_targets)
            The predictions (float64), shaped as the ``y`` of ``fit``.

        Examples
        --------
        >>> from sklearn.datasets import load_diabetes
        >>> from sklearn.preprocessing import scale
        >>> from skae import Autoencoder
        >>> from skae import AutoencoderRegressor
        >>> X, y = load_diabetes(return_X_y=True)
        >>> reg = AutoencoderRegressor(Autoencoder(n_components=4, max_iter=5), max_iter=5,
        ...                            random_state=0).fit(scale(X), scale(y))
        >>> reg.predict(scale(X)[:3]).shape
        (3,)
        """
        out = self._raw_predict(X)
        return out.ravel() if self._single_output else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
