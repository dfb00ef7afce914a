"""The private base estimator: the whole scikit-learn surface of skae.

Every family (``Autoencoder``, ``DenoisingAutoencoder``, ...) subclasses
:class:`BaseAutoencoder` and overrides at most a few hooks:

``_build_module(n_features, corruption)``
    the torch network (default: an MLP :class:`skae.nn.AutoencoderModule`);
``_build_corruption(X, seed)``
    what happens to the input in training mode (default: nothing);
``_loss_terms()``
    extra loss terms ``(name, weight, function)`` (default: none).

This is the only module that imports scikit-learn internals.
"""

import copy
import warnings
from abc import ABCMeta, abstractmethod
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_array, check_is_fitted, validate_data
from skorch.callbacks import EarlyStopping
from skorch.exceptions import DeviceWarning
from skorch.utils import noop

from ._net import (
    AutoencoderNet,
    DivergenceGuard,
    HoldOutSplit,
    TensorBatchIterator,
    export_net,
    restore_net,
    rows_as_tensor,
)
from .nn import (
    ACTIVATIONS,
    AutoencoderModule,
    MLPDecoder,
    MLPEncoder,
    ReconstructionLoss,
    TiedMLPDecoder,
    init_parameters_,
)

__all__ = ["BaseAutoencoder"]

# Rows are processed in inference batches of at most this many values
# (rows x features), so transform's memory does not grow with n_samples.
# 2**20 (about 1,300 rows of 784 features) measured as fast as 2**22 for
# transform on one CPU thread and about twice as fast for score_samples,
# with a quarter of the working set.
_INFERENCE_BATCH_VALUES = 1 << 20

_COMMON_PARAMETERS = """\
    n_components : int, default=2
        Width of the code, the number of features ``transform`` returns. It
        may exceed the number of input features (an overcomplete code).

    hidden_layer_sizes : tuple of int, default=(512,)
        Widths of the encoder's hidden layers, outermost first; the decoder
        mirrors them. ``()`` gives a single-layer autoencoder.

    activation : {"relu", "tanh", "logistic", "identity"}, default="relu"
        Activation of the hidden layers, as in
        :class:`~sklearn.neural_network.MLPRegressor`.

    code_activation : {"identity", "relu", "tanh", "logistic"}, \
default="identity"
        Activation of the code layer. The default linear code keeps all
        directions of the code usable; ``"logistic"`` gives codes in (0, 1).
        With ``hidden_layer_sizes=()`` and both activations ``"identity"``
        the autoencoder is linear and learns the principal subspace.

    architecture : object or None, default=None
        The network's shape when it is not an MLP: an object whose
        ``build(n_features, n_components, code_activation)`` returns a torch
        ``(encoder, decoder)`` pair, such as a convolutional architecture for
        image rows. Its own parameters are grid-searchable as
        ``architecture__<name>``. None builds the MLP described by
        ``hidden_layer_sizes`` and ``activation``.

    pretraining : {"greedy"} or None, default=None
        ``"greedy"`` first trains each layer of a deep MLP as a shallow
        autoencoder of the same family on the codes of the layer below
        (Hinton & Salakhutdinov, 2006), then fine-tunes the whole stack.

    pretraining_max_iter : int, default=20
        Epochs of each layer's pretraining.

    loss : {"mse", "bce"}, default="mse"
        Reconstruction loss: mean squared error, or binary cross-entropy
        for data in [0, 1] (the reconstruction then passes through a
        sigmoid).

    tied_weights : bool, default=False
        If True, each decoder layer uses the transposed weights of the
        mirrored encoder layer (only its bias is its own).

    max_iter : int, default=200
        Maximum number of epochs (passes over the data).

    batch_size : int or "auto", default="auto"
        Rows per mini-batch; ``"auto"`` means ``min(200, n_samples)``. A
        size larger than the data gives full-batch training.

    learning_rate_init : float, default=1e-3
        Learning rate of the Adam optimizer.

    alpha : float, default=0.0
        Strength of the L2 penalty on the weights (Adam's weight decay, as in
        scikit-learn's MLP; biases are not penalised). Off by default,
        measured on the digits (3 splits, 450 test rows): 1e-4 raised the
        test reconstruction error at 2 and 30 components (30: 0.0026 to
        0.0033) and lowered the 2-D 5-NN accuracy of the denoising and
        sparse families (0.83 to 0.78, 0.79 to 0.73), the plain one's
        moving from 0.82 to 0.83; 1e-3 hurt every family (the plain one
        reconstructs at 0.019 with 30 components).

    early_stopping : bool, default=False
        If True, hold out ``validation_fraction`` of the rows and stop when
        the validation loss has not improved by ``tol`` for
        ``n_iter_no_change`` epochs, restoring the best weights. If False,
        stop when the training loss has not improved by ``tol`` for
        ``n_iter_no_change`` epochs.

    validation_fraction : float, default=0.1
        Share of the rows held out when ``early_stopping`` is True.

    n_iter_no_change : int, default=10
        Epochs without an improvement of at least ``tol`` before stopping.
        With fewer rows than ``batch_size`` an epoch is a single optimizer
        step, and a short rise of the loss early in training can end the
        fit too soon: raise ``n_iter_no_change`` (or lower ``batch_size``)
        on very small data.

    tol : float, default=1e-4
        Smallest improvement of the monitored loss that counts.

    warm_start : bool, default=False
        If True, ``fit`` continues from the weights of the previous fit
        (with a fresh optimizer) instead of starting anew.

    random_state : int, RandomState instance or None, default=None
        Seeds the weight initialisation, the shuffling, the validation split
        and any corruption, through private ``torch.Generator`` objects (the
        global torch seed is never touched). An int gives bit-identical fits
        on the same data and device.

    device : str or torch.device, default="auto"
        Where to train and infer: ``"auto"`` picks ``"cuda"`` when it is
        available and ``"cpu"`` otherwise; any torch device string works.
        ``fit`` raises a ``ValueError`` for a device this machine lacks
        (``"cuda"`` without a GPU).

    verbose : int, default=0
        If positive, skorch prints one line of progress per epoch.

    callbacks : list of skorch callbacks or None, default=None
        Extra :mod:`skorch.callbacks` run during training (copied at each
        fit, so the ones passed here are never modified)."""

_COMMON_ATTRIBUTES = """\
    n_features_in_ : int
        Number of features seen during ``fit``.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features seen during ``fit``, if they are all strings.

    n_iter_ : int
        Number of epochs run, over all fits when warm-starting.

    loss_curve_ : list of float
        Training loss at the end of each epoch.

    validation_scores_ : list of float
        Negative validation loss after each epoch (higher is better); only
        with ``early_stopping=True``.

    best_validation_score_ : float
        Best of ``validation_scores_``; only with ``early_stopping=True``.

    net_ : skae._net.AutoencoderNet
        The skorch net that trained the torch module ``net_.module_``; its
        ``history`` holds every per-epoch and per-batch record."""


def _fill_doc(cls):
    """Put the shared parameter and attribute documentation into ``cls.__doc__``."""
    cls.__doc__ = cls.__doc__.replace("    {common_parameters}", _COMMON_PARAMETERS).replace(
        "    {common_attributes}", _COMMON_ATTRIBUTES
    )
    return cls


def _device_error(device):
    """Why a tensor cannot be put on ``device`` here (as a string), or None if it can."""
    try:
        torch.empty(0, device=device)
    except (RuntimeError, AssertionError) as exc:  # torch asserts when CUDA is not compiled in
        return str(exc)
    return None


def _resolve_device(device):
    if isinstance(device, str) and device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device={device!r} is not a torch device: {exc}") from None
    if (error := _device_error(resolved)) is not None:
        raise ValueError(
            f"device={device!r} is not available on this machine ({error}). Use "
            "device='auto' (CUDA when available, else the CPU) or device='cpu'."
        )
    return resolved


def _loadable_device(name):
    """The saved device ``name`` if this machine has it, else the CPU (with a warning)."""
    device = torch.device(name)
    if _device_error(device) is not None:
        warnings.warn(
            f"This model was saved on device {name!r}, which is not available here; "
            "it is loaded on the CPU.",
            DeviceWarning,
            stacklevel=4,
        )
        return torch.device("cpu")
    return device


class BaseAutoencoder(
    ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator, metaclass=ABCMeta
):
    """Base class of every skae estimator. Not for direct use."""

    _parameter_constraints = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "hidden_layer_sizes": ["array-like"],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "code_activation": [StrOptions(set(ACTIVATIONS))],
        "architecture": [HasMethods(["build"]), None],
        "pretraining": [StrOptions({"greedy"}), None],
        "pretraining_max_iter": [Interval(Integral, 1, None, closed="left")],
        "loss": [StrOptions({"mse", "bce"})],
        "tied_weights": ["boolean"],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "warm_start": ["boolean"],
        "random_state": ["random_state"],
        "device": [str, torch.device],
        "verbose": ["verbose"],
        "callbacks": [list, None],
    }

    @abstractmethod
    def __init__(
        self,
        n_components=2,
        *,
        hidden_layer_sizes=(512,),
        activation="relu",
        code_activation="identity",
        architecture=None,
        pretraining=None,
        pretraining_max_iter=20,
        loss="mse",
        tied_weights=False,
        max_iter=200,
        batch_size="auto",
        learning_rate_init=1e-3,
        alpha=0.0,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        warm_start=False,
        random_state=None,
        device="auto",
        verbose=0,
        callbacks=None,
    ):
        self.n_components = n_components
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.code_activation = code_activation
        self.architecture = architecture
        self.pretraining = pretraining
        self.pretraining_max_iter = pretraining_max_iter
        self.loss = loss
        self.tied_weights = tied_weights
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.alpha = alpha
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.warm_start = warm_start
        self.random_state = random_state
        self.device = device
        self.verbose = verbose
        self.callbacks = callbacks

    # ------------------------------------------------------------------ hooks

    def _build_module(self, n_features, corruption):
        """Return the torch network; families may override.

        Parameters
        ----------
        n_features : int
            Width of the input rows.
        corruption : torch.nn.Module or None
            From :meth:`_build_corruption`, to apply in training mode.

        Returns
        -------
        module : torch.nn.Module
            Has ``encode(x)``, ``decode(code)`` and ``forward(x)`` returning
            a dict with at least ``"reconstruction"`` and ``"code"`` (see
            :class:`skae.nn.AutoencoderModule`). Its parameters are
            initialised afterwards by :func:`skae.nn.init_parameters_`.
        """
        encoder, decoder = self._encoder_decoder(n_features, self.n_components)
        return AutoencoderModule(
            encoder,
            decoder,
            corruption=corruption,
            output_activation="logistic" if self.loss == "bce" else "identity",
        )

    def _encoder_decoder(self, n_features, code_width):
        """Return the ``(encoder, decoder)`` pair between ``n_features`` and ``code_width``.

        Built by ``architecture`` when one is given, otherwise the MLP of
        ``hidden_layer_sizes``; the decoder returns pre-activations.
        """
        if self.architecture is not None:
            return self.architecture.build(n_features, code_width, self.code_activation)
        hidden = self._hidden_layer_sizes()
        encoder = MLPEncoder(n_features, hidden, code_width, self.activation, self.code_activation)
        if self.tied_weights:
            return encoder, TiedMLPDecoder(encoder, self.activation)
        return encoder, MLPDecoder(code_width, hidden, n_features, self.activation)

    def _build_corruption(self, X, seed):
        """Return a module corrupting the input in training mode, or None.

        Parameters
        ----------
        X : torch.Tensor or scipy.sparse matrix of shape (n_samples, n_features)
            The training rows (for statistics such as per-feature ranges).
        seed : int
            Seed for the corruption's private generator.
        """
        return None

    def _loss_terms(self):
        """Return extra loss terms as a list of ``(name, weight, function)``.

        ``function(output, X, module)`` gets the module's output dict, the
        clean input batch and the module, and returns one value per row.
        """
        return []

    def _layer_pretraining_params(self, code_activation):
        """Parameters to change for one shallow layer of greedy pretraining.

        ``code_activation`` is that layer's code activation (the stack's
        ``activation`` for hidden layers). A family whose corruption or
        penalty does not apply to such a layer returns the settings that
        leave it out; the default changes nothing.
        """
        return {}

    def _build_criterion(self):
        """Return the per-row reconstruction loss module."""
        return ReconstructionLoss(self.loss)

    # ------------------------------------------------------------- validation

    def _hidden_layer_sizes(self):
        hidden = self.hidden_layer_sizes
        hidden = [hidden] if isinstance(hidden, Integral) else list(hidden)
        if not all(isinstance(h, Integral) and h > 0 for h in hidden):
            raise ValueError(
                "hidden_layer_sizes must be a tuple of positive integers, "
                f"got {self.hidden_layer_sizes!r}."
            )
        return tuple(int(h) for h in hidden)

    def _validate_X(self, X, *, reset):
        X = validate_data(self, X, accept_sparse="csr", dtype=np.float32, reset=reset)
        return X

    def _check_loss_range(self, X):
        if self.loss != "bce":
            return
        low = X.min() if X.shape[0] else 0.0
        high = X.max() if X.shape[0] else 0.0
        if low < 0 or high > 1:
            raise ValueError(
                f"loss='bce' needs data in [0, 1], but X ranges over [{low:g}, {high:g}]. "
                "Scale it with sklearn.preprocessing.MinMaxScaler or use loss='mse'."
            )

    # ---------------------------------------------------------------- fitting

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train the autoencoder on ``X``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training rows: a numpy array, pandas DataFrame, list of lists or
            scipy sparse matrix (densified one batch at a time).
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : object
            The fitted estimator.

        Raises
        ------
        ValueError
            If the training loss or the weights become NaN or infinite. The
            message names what to change (a lower ``learning_rate_init``,
            scaled data); the weights of the last finite epoch are kept.

        Notes
        -----
        A fit interrupted with ``KeyboardInterrupt`` (Ctrl-C), even in the
        middle of an epoch, returns normally: skorch catches the interrupt
        and the estimator keeps the weights reached so far, ready for
        ``transform``. ``n_iter_`` and ``loss_curve_`` count whole epochs
        only. With ``warm_start=True`` the next ``fit`` continues training
        from those weights; ``partial_fit`` also continues from them.

        Examples
        --------
        >>> from sklearn.datasets import load_digits
        >>> from skae import Autoencoder
        >>> X = load_digits().data[:300] / 16
        >>> ae = Autoencoder(n_components=4, max_iter=5, random_state=0).fit(X)
        >>> ae.n_iter_, len(ae.loss_curve_)
        (5, 5)
        """
        continuing = self.warm_start and hasattr(self, "net_")
        X = self._validate_X(X, reset=not continuing)
        return self._train(X, continuing=continuing, incremental=False)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Train for one epoch on ``X``, initialising on the first call.

        Successive calls continue with the same weights and optimizer
        state, so a dataset too large for memory can be streamed in chunks.
        No validation rows are held out and no early stopping applies.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            A chunk of training rows.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : object
            The estimator, trained one more epoch.

        Examples
        --------
        >>> from sklearn.datasets import load_digits
        >>> from skae import Autoencoder
        >>> X = load_digits().data / 16
        >>> ae = Autoencoder(n_components=4, random_state=0)
        >>> for chunk in (X[:600], X[600:1200], X[1200:]):
        ...     ae = ae.partial_fit(chunk)
        >>> ae.n_iter_
        3
        """
        continuing = hasattr(self, "net_")
        X = self._validate_X(X, reset=not continuing)
        return self._train(X, continuing=continuing, incremental=True)

    def _train(self, X, *, continuing, incremental):
        self._check_loss_range(X)
        rng = check_random_state(self.random_state)
        seeds = [int(s) for s in rng.randint(np.iinfo(np.int32).max, size=4)]
        if continuing:
            device = self.net_.device
            module = self.net_.module_
        else:
            device = _resolve_device(self.device)
        data = X if sp.issparse(X) else torch.tensor(X, dtype=torch.float32, device=device)
        if not continuing:
            corruption = self._build_corruption(data, seeds[0])
            module = self._build_module(X.shape[1], corruption)
            init_parameters_(module, torch.Generator().manual_seed(seeds[1]))
            if self.pretraining == "greedy":
                from ._pretraining import greedy_pretrain

                greedy_pretrain(self, module, X, seed=seeds[1], device=device)
        elif not incremental:
            # A warm-started fit keeps the weights but applies the current
            # parameters, the corruption's included.
            module.corruption = self._build_corruption(data, seeds[0]) or torch.nn.Identity()
        if not (continuing and incremental):
            history = self.net_.history if continuing else None
            self.net_ = self._build_net(module, X.shape[0], seeds, device, incremental)
            if history is not None:
                self.net_.history = history
        epochs_before = self._completed_epochs()
        epochs = 1 if incremental else self.max_iter
        self.net_.partial_fit(data, epochs=epochs)
        self._read_history()
        if not incremental:
            stopper = dict(self.net_.callbacks_)["early_stopping"]
            stopped = stopper.misses_ >= stopper.patience
            if not stopped and self.n_iter_ - epochs_before == self.max_iter:
                warnings.warn(
                    f"{type(self).__name__} ran max_iter={self.max_iter} epochs and the "
                    "loss was still improving by more than tol; consider "
                    "increasing max_iter.",
                    ConvergenceWarning,
                    # _train <- fit <- scikit-learn's _fit_context <- the caller
                    stacklevel=4,
                )
            self._warn_about_constant_code_units(X)
        return self

    def _warn_about_constant_code_units(self, X):
        """Warn when code units take one value on every training row.

        A unit that never varies (typically a ReLU code unit that no longer
        activates) carries no information, so ``transform`` returns fewer
        useful features than ``n_components``. Checked on up to 2,000 rows.
        """
        if X.shape[0] < 2:
            return
        codes = self._encode(X[:2000])
        constant = int(np.sum(codes.max(axis=0) == codes.min(axis=0)))
        if constant:
            warnings.warn(
                f"{constant} of the {self.n_components} code units of "
                f"{type(self).__name__} take the same value on every training row, "
                "so the code carries fewer useful features than n_components. With "
                f"code_activation={self.code_activation!r} such units may have stopped "
                "activating: use code_activation='identity', a larger n_components, "
                "a weaker penalty or another random_state.",
                UserWarning,
                # this <- _train <- fit <- scikit-learn's _fit_context <- the caller
                stacklevel=5,
            )

    def _build_net(self, module, n_samples, seeds, device, incremental):
        early = self.early_stopping and not incremental
        sink = print if self.verbose else noop
        callbacks = [
            ("divergence_guard", DivergenceGuard()),
            (
                "early_stopping",
                EarlyStopping(
                    monitor="valid_loss" if early else "train_loss",
                    patience=self.n_iter_no_change,
                    threshold=self.tol,
                    threshold_mode="abs",
                    load_best=early,
                    sink=sink,
                ),
            ),
            *copy.deepcopy(self.callbacks or []),
        ]
        batch_size = min(200, n_samples) if self.batch_size == "auto" else self.batch_size
        optimizer_args = {"optimizer__weight_decay": self.alpha}
        if self.alpha:
            optimizer_args["optimizer__param_groups"] = [("*bias*", {"weight_decay": 0.0})]
        net = AutoencoderNet(
            module=module,
            criterion=self._build_criterion(),
            optimizer=torch.optim.Adam,
            lr=self.learning_rate_init,
            max_epochs=self.max_iter,
            batch_size=batch_size,
            iterator_train=TensorBatchIterator,
            iterator_train__shuffle=True,
            iterator_train__generator=torch.Generator().manual_seed(seeds[2]),
            iterator_train__device=device,
            iterator_valid=TensorBatchIterator,
            iterator_valid__device=device,
            train_split=HoldOutSplit(self.validation_fraction, seeds[3]) if early else None,
            callbacks=callbacks,
            verbose=self.verbose,
            device=device,
            loss_terms=self._loss_terms(),
            **optimizer_args,
        )
        return net.initialize()

    def _completed_epochs(self):
        if not hasattr(self, "net_"):
            return 0
        return sum("train_loss" in row for row in self.net_.history)

    def _read_history(self):
        rows = [row for row in self.net_.history if "train_loss" in row]
        self.loss_curve_ = [float(row["train_loss"]) for row in rows]
        self.n_iter_ = len(rows)
        valid = [-float(row["valid_loss"]) for row in rows if "valid_loss" in row]
        if valid:
            self.validation_scores_ = valid
            self.best_validation_score_ = max(valid)

    # ------------------------------------------------------------ persistence

    def __getstate__(self):
        """State for pickle, joblib and ``skops.io``: the fitted net as plain data.

        The fitted ``net_`` is stored as numpy arrays on the CPU (weights,
        buffers, optimizer moments, shuffling state) plus its history, never
        as torch or skorch objects: a model trained on a GPU loads on a
        machine without one, and ``skops.io`` can check every type it loads.
        Loading rebuilds the network from the estimator's parameters, so do
        not change them with ``set_params`` between ``fit`` and saving.

        Warnings
        --------
        pickle and joblib files run arbitrary code when loaded: never load one
        from an untrusted source. Use ``skops.io`` for files you did not
        write yourself (see the persistence page of the documentation).
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
            self.net_ = self._rebuild_net(exported)

    def _rebuild_net(self, exported):
        """Build the net from the estimator's hooks and load an exported state into it."""
        device = _loadable_device(exported["device"])
        # The hooks' statistics (such as salt-and-pepper's feature ranges) are
        # buffers of the module, overwritten by the exported state.
        stub = torch.zeros((1, self.n_features_in_), device=device)
        module = self._build_module(self.n_features_in_, self._build_corruption(stub, 0))
        early = exported["hold_out_seed"] is not None
        seeds = [0, 0, 0, exported["hold_out_seed"] or 0]
        net = self._build_net(module, 1, seeds, device, incremental=not early)
        return restore_net(net, exported)

    # -------------------------------------------------------------- inference

    def _batches(self, X, width):
        """Yield ``(slice, tensor)`` inference batches of ``X`` on the net's device."""
        rows = max(1, _INFERENCE_BATCH_VALUES // max(1, width))
        device = self.net_.device
        for start in range(0, X.shape[0], rows):
            index = slice(start, start + rows)
            yield index, rows_as_tensor(X, index, device)

    def _infer(self, X, width_in, width_out, function, dtype=np.float32):
        """Apply ``function(module, batch)`` batch by batch in eval mode."""
        module = self.net_.module_
        module.eval()
        out = np.empty((X.shape[0], width_out), dtype=dtype)
        with torch.inference_mode():
            for index, batch in self._batches(X, width_in):
                out[index] = function(module, batch).detach().cpu().numpy().reshape(len(batch), -1)
        return out

    def transform(self, X):
        """Encode ``X``: the code of each row.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows to encode.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components), dtype float32
            The codes, computed batch by batch in evaluation mode (no
            corruption, no sampling), so repeated calls give the same result.

        Examples
        --------
        >>> from sklearn.datasets import load_digits
        >>> from skae import Autoencoder
        >>> X = load_digits().data[:300] / 16
        >>> ae = Autoencoder(n_components=4, max_iter=5, random_state=0).fit(X)
        >>> codes = ae.transform(X)
        >>> codes.shape, codes.dtype
        ((300, 4), dtype('float32'))
        """
        check_is_fitted(self)
        return self._encode(self._validate_X(X, reset=False))

    def _encode(self, X):
        """Codes of already validated rows, batch by batch."""
        return self._infer(X, X.shape[1], self.n_components, lambda m, b: m.encode(b))

    def inverse_transform(self, X):
        """Decode codes back to the input space.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)
            Codes, for example from :meth:`transform`.

        Returns
        -------
        X_original : ndarray of shape (n_samples, `n_features_in_`), dtype float32
            The reconstructions.

        Examples
        --------
        >>> from sklearn.datasets import load_digits
        >>> from skae import Autoencoder
        >>> X = load_digits().data[:300] / 16
        >>> ae = Autoencoder(n_components=4, max_iter=5, random_state=0).fit(X)
        >>> X_back = ae.inverse_transform(ae.transform(X))
        >>> X_back.shape
        (300, 64)
        """
        check_is_fitted(self)
        Z = check_array(X, dtype=np.float32)
        if Z.shape[1] != self.n_components:
            raise ValueError(
                f"X has {Z.shape[1]} features, but {type(self).__name__}.inverse_transform "
                f"expects codes with n_components={self.n_components} features."
            )
        return self._infer(Z, Z.shape[1], self.n_features_in_, lambda m, b: m.decode(b))

    def score_samples(self, X):
        """Negative reconstruction error of each row (higher is better).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows to score.

        Returns
        -------
        scores : ndarray of shape (n_samples,), dtype float64
            Minus the per-row loss (mean squared error, or binary
            cross-entropy with ``loss="bce"``), computed in float64 from a
            float64 copy of the network, so a row's score does not depend
            on the rows scored with it (float32 matrix products round
            differently for different batch sizes). Low scores flag rows the
            model reconstructs badly, such as outliers.

        Examples
        --------
        >>> from sklearn.datasets import load_digits
        >>> from skae import Autoencoder
        >>> X = load_digits().data[:300] / 16
        >>> ae = Autoencoder(n_components=4, max_iter=20, random_state=0).fit(X)
        >>> scores = ae.score_samples(X)
        >>> scores.shape, scores.dtype
        ((300,), dtype('float64'))
        >>> bool(ae.score_samples(1 - X).mean() < scores.mean())
        True
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        module = self._float64_module()

        def score_batch(_, batch):
            batch = batch.double()
            output = {k: v for k, v in module(batch).items() if isinstance(v, torch.Tensor)}
            return -self.net_.criterion_(output, batch)

        return self._infer(X, X.shape[1], 1, score_batch, dtype=np.float64).ravel()

    def _float64_module(self):
        """An evaluation-mode float64 copy of the fitted network, for scoring."""
        return copy.deepcopy(self.net_.module_).double().eval()

    def score(self, X, y=None):
        """Mean of :meth:`score_samples`, so that higher is better.

        Lets ``GridSearchCV`` choose among autoencoders without labels.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows to score.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        score : float
            Mean score of the rows.

        Examples
        --------
        >>> from sklearn.datasets import load_digits
        >>> from skae import Autoencoder
        >>> X = load_digits().data[:300] / 16
        >>> ae = Autoencoder(n_components=4, max_iter=5, random_state=0).fit(X)
        >>> bool(ae.score(X) == ae.score_samples(X).mean())
        True
        """
        return float(np.mean(self.score_samples(X)))

    @property
    def _n_features_out(self):
        return self.n_components

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags
