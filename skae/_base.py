"""The private base estimator: the scikit-learn surface of every skae autoencoder.

A family (``Autoencoder``, ``DenoisingAutoencoder``, ...) is a subclass whose
``__init__`` lists its parameters (the shared ones with the same defaults,
which ``tests/test_docs.py`` pins) and stores them with
``self._store_parameters(locals())``, and which overrides at most these
hooks, each with a default here:

``_family_regularizers()``
    the family's own corruptions and penalties as ``(name, regularizer)``
    pairs, built from its parameters (default: none). Denoising, sparse and
    contractive autoencoders override only this.
``_build_module(n_features, corruption)``
    the torch network (default: an :class:`skae.nn.AutoencoderModule` around
    the MLP or the ``architecture``, with a linear path when it starts at
    PCA's solution);
``_build_criterion()``
    the per-row reconstruction loss (default:
    :class:`skae.nn.ReconstructionLoss` of ``loss``);
``_loss_terms()``
    terms that belong to the model itself rather than to a regularizer, as
    ``(name, weight, function)`` (default: none; the VAE's KL term);
``_read_history()``
    fitted attributes read from the skorch history (default: ``n_iter_``,
    ``loss_curve_``, ``validation_scores_``);

and the class attribute ``_supports_pca_init`` (default True). The "Write
your own family or regularizer" page of the documentation shows them at
work. Training lives in :mod:`skae._training`, saving and loading in
:mod:`skae._persistence`, the shared documentation in :mod:`skae._docs`.
"""

import copy
from abc import ABCMeta, abstractmethod
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin, clone
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from . import _training
from ._docs import DOC_LINK_TEMPLATE
from ._net import rows_as_tensor
from ._persistence import PersistenceMixin
from ._sklearn_internals import (
    HasMethods,
    Interval,
    StrOptions,
    _BaseComposition,
    _fit_context,
)
from ._threads import torch_threads
from .nn import (
    ACTIVATIONS,
    AutoencoderModule,
    LinearShortcut,
    MLPDecoder,
    MLPEncoder,
    ReconstructionLoss,
    TiedMLPDecoder,
)

__all__ = ["BaseAutoencoder"]

# Rows are processed in inference batches of at most this many values
# (rows x features), so transform's memory does not grow with n_samples.
# 2**20 (about 1,300 rows of 784 features) measured as fast as 2**22 for
# transform on one CPU thread and about twice as fast for score_samples,
# with a quarter of the working set.
_INFERENCE_BATCH_VALUES = 1 << 20

# What a fit may choose for the network beyond the parameters: its start
# (``init``), and the MLP an architecture holds (``settle_start``).
_NETWORK_CHOICES = ("init", "architecture", "hidden_layer_sizes", "activation")


class _FirstUnits(torch.nn.Module):
    """Keep the first ``k`` code units, zero the rest (the kept prefix of an ordered code)."""

    def __init__(self, k):
        super().__init__()
        self.k = k

    def forward(self, code):
        return torch.cat([code[:, : self.k], torch.zeros_like(code[:, self.k :])], dim=1)


class BaseAutoencoder(
    PersistenceMixin,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _BaseComposition,
    metaclass=ABCMeta,
):
    """Base class of every skae estimator. Not for direct use."""

    _parameter_constraints = {
        "n_components": [
            Interval(Integral, 1, None, closed="left"),
            Interval(Real, 0, 1, closed="neither"),
        ],
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "code_activation": [StrOptions(set(ACTIVATIONS))],
        "architecture": [HasMethods(["build"]), None],
        "regularizers": [list, None],
        "init": [StrOptions({"auto", "pca", "random"})],
        "pretraining": [StrOptions({"greedy"}), None],
        "pretraining_max_iter": [Interval(Integral, 1, None, closed="left")],
        "loss": [StrOptions({"mse", "bce"})],
        "tied_weights": ["boolean"],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions({"constant", "adaptive", "cosine"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "early_stopping": ["boolean", StrOptions({"auto"})],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "warm_start": ["boolean"],
        "random_state": ["random_state"],
        "device": [str, torch.device],
        "verbose": ["verbose"],
        "callbacks": [list, None],
    }

    # Whether init="pca" applies to the family's network.
    _supports_pca_init = True
    # The notebook (HTML) repr links to the class's API page (skae._docs.DOCS_URL).
    _doc_link_module = "skae"
    _doc_link_template = DOC_LINK_TEMPLATE

    @abstractmethod
    def __init__(self):
        """Families list their parameters and call ``self._store_parameters(locals())``."""

    def _store_parameters(self, values):
        """Store each ``__init__`` argument as the attribute of its name, unchanged."""
        for name in self._get_param_names():
            setattr(self, name, values[name])

    # Named regularizers are reachable as <name>__<parameter>, as the steps of
    # a Pipeline are.

    def get_params(self, deep=True):
        """Get the parameters of this estimator.

        Parameters
        ----------
        deep : bool, default=True
            If True, also return the parameters of the ``architecture`` and of
            each named regularizer (as ``<name>__<parameter>``).

        Returns
        -------
        params : dict
            Parameter names mapped to their values.
        """
        return self._get_params("regularizers", deep=deep)

    def set_params(self, **params):
        """Set the parameters of this estimator.

        Parameters
        ----------
        **params : dict
            Estimator parameters, including ``architecture__<name>`` and
            ``<regularizer name>__<parameter>``.

        Returns
        -------
        self : estimator instance
            The estimator.
        """
        self._set_params("regularizers", **params)
        return self

    # ------------------------------------------------------------------ hooks

    def _family_regularizers(self):
        """The family's own ``(name, regularizer)`` pairs, from its parameters."""
        return []

    def _build_module(self, n_features, corruption):
        """Return the torch network.

        Parameters
        ----------
        n_features : int
            Width of the input rows.
        corruption : torch.nn.Module or None
            Applied to the input in training mode (the fit sets it again from
            the regularizers).

        Returns
        -------
        module : torch.nn.Module
            Has ``encode(x)``, ``decode(code)`` and ``forward(x)`` returning
            a dict with at least ``"reconstruction"``, ``"code"`` and
            ``"input"`` (see :class:`skae.nn.AutoencoderModule`). Its
            parameters are initialised afterwards by
            :func:`skae.nn.init_parameters_`.
        """
        encoder, decoder = self._encoder_decoder(n_features, self.n_components)
        if self._is_deep() and _training.resolved_init(self, n_features) == "pca":
            encoder = LinearShortcut(encoder, n_features, self.n_components)
            decoder = LinearShortcut(decoder, self.n_components, n_features)
        return AutoencoderModule(
            encoder,
            decoder,
            corruption=corruption,
            output_activation="logistic" if self.loss == "bce" else "identity",
        )

    def _encoder_decoder(self, n_features, code_width):
        """The ``(encoder, decoder)`` pair between ``n_features`` and ``code_width``.

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

    def _build_criterion(self):
        """Return the per-row reconstruction loss module."""
        return ReconstructionLoss(self.loss)

    def _loss_terms(self):
        """Return the model's own loss terms as ``(name, weight, function)``."""
        return []

    def _read_history(self):
        """Set the fitted attributes that come from ``net_.history``."""
        rows = [row for row in self.net_.history if "train_loss" in row]
        self.loss_curve_ = [float(row["train_loss"]) for row in rows]
        self.n_iter_ = len(rows)
        valid = [-float(row["valid_loss"]) for row in rows if "valid_loss" in row]
        if valid:
            self.validation_scores_ = valid
            self.best_validation_score_ = max(valid)

    # ------------------------------------------------------------- validation

    def _is_deep(self):
        """Whether the network has layers between the rows and the code.

        An ``architecture`` or a non-empty ``hidden_layer_sizes``; a network
        without them is linear maps to and from the code, which PCA's start
        already is.
        """
        return self.architecture is not None or bool(self._hidden_layer_sizes())

    def _hidden_layer_sizes(self):
        hidden = self.hidden_layer_sizes
        hidden = [hidden] if isinstance(hidden, Integral) else list(hidden)
        if not all(isinstance(h, Integral) and h > 0 for h in hidden):
            raise ValueError(
                "hidden_layer_sizes must be a positive int or a tuple of positive integers, "
                f"got {self.hidden_layer_sizes!r}."
            )
        return tuple(int(h) for h in hidden)

    def _validate_X(self, X, *, reset):
        return validate_data(self, X, accept_sparse="csr", dtype=np.float32, reset=reset)

    def _check_loss_range(self, X):
        if self.loss != "bce" or X.shape[0] == 0:
            return
        low, high = X.min(), X.max()
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
        self._check_loss_range(X)
        device = self.net_.device if continuing else None
        fit = _training.FitData.from_rows(self, X, incremental=False, device=device)
        previous = self._fitted_with if continuing else None
        spec = _training.specification(self, fit, previous)
        train = fit.train_tensor()
        if continuing:
            history = self.net_.history
            module, terms, noise = _training.attach_regularizers(
                spec, self.net_.module_, X, fit.seeds[0]
            )
        else:
            history = None
            module, terms, noise = _training.build_module(spec, fit)
        epochs_before = len(history) if history is not None else 0
        # A continued fit keeps the network, so it keeps the start it was built
        # for, and the layers: an architecture's fit can keep the MLP it holds.
        self._fitted_with = clone(spec)
        if continuing:
            self._fitted_with.set_params(
                **{name: getattr(previous, name) for name in _NETWORK_CHOICES}
            )
        self.net_ = _training.build_net(spec, module, terms, fit, noise)
        if history is not None:
            self.net_.history = history
        with torch_threads(module, fit.device):
            self.net_.partial_fit(train, epochs=self.max_iter)
            if not continuing:
                _training.settle_start(self, fit)
        _training.check_fit(self, fit, epochs_before)
        _training.end_fit(self)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Train for one epoch on ``X``, initialising on the first call.

        Successive calls continue with the same weights and optimizer
        state, so a dataset too large for memory can be streamed in chunks.
        Every row of ``X`` is trained on: no rows are held out and no early
        stopping applies, even after a ``fit`` with early stopping. The first
        call starts the network as ``fit`` would, from the first chunk.

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
        first = not hasattr(self, "net_")
        X = self._validate_X(X, reset=first)
        self._check_loss_range(X)
        device = None if first else self.net_.device
        fit = _training.FitData.from_rows(self, X, incremental=True, device=device)
        if first:
            spec = _training.specification(self, fit)
            module, terms, _ = _training.build_module(spec, fit)
            self._fitted_with = clone(spec)
            self.net_ = _training.build_net(spec, module, terms, fit)
        with torch_threads(self.net_.module_, fit.device):
            self.net_.partial_fit(fit.train_tensor(), epochs=1)
        self._read_history()
        _training.read_code(self, fit)
        return self

    def _rebuild_net(self, device):
        """A net built as the fitted estimator's was, for loading a saved state."""
        builder = self._fitted_with
        stub = torch.zeros((1, self.n_features_in_), device=device)
        fit = _training.FitData(stub, stub, None, device, [0, 0, 0, 0], False, True)
        module = builder._build_module(self.n_features_in_, None).to(device)
        module, terms, _ = _training.attach_regularizers(builder, module, stub, 0)
        return _training.build_net(builder, module, terms, fit)

    # -------------------------------------------------------------- inference

    def _batches(self, X, width):
        """Yield ``(slice, tensor)`` inference batches of ``X`` on the net's device."""
        rows = max(1, _INFERENCE_BATCH_VALUES // max(1, width))
        device = self.net_.device
        for start in range(0, X.shape[0], rows):
            index = slice(start, start + rows)
            yield index, rows_as_tensor(X, index, device)

    def _infer(self, X, width_in, width_out, function, dtype=np.float32, module=None):
        """Apply ``function(module, batch)`` batch by batch in eval mode."""
        module = self.net_.module_ if module is None else module
        module.eval()
        out = np.empty((X.shape[0], width_out), dtype=dtype)
        with torch.inference_mode(), torch_threads(module, self.net_.device):
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
        """Codes of already validated rows, batch by batch (the ``n_components_`` kept)."""
        k = self.n_components_
        return self._infer(X, X.shape[1], k, lambda m, b: m.encode(b)[:, :k])

    def _encode_full(self, X):
        """Every code unit the network has, for validated rows."""
        width = self._fitted_with.n_components
        return self._infer(X, X.shape[1], width, lambda m, b: m.encode(b))

    def _decode_full(self, Z):
        """Reconstructions of codes as wide as the network's."""
        return self._infer(Z, Z.shape[1], self.n_features_in_, lambda m, b: m.decode(b))

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
        if Z.shape[1] != self.n_components_:
            raise ValueError(
                f"X has {Z.shape[1]} features, but {type(self).__name__}.inverse_transform "
                f"expects codes with n_components={self.n_components_} features."
            )
        width = self._fitted_with.n_components
        if width > Z.shape[1]:  # a kept prefix of an ordered code: the rest are zero
            Z = np.hstack([Z, np.zeros((Z.shape[0], width - Z.shape[1]), dtype=Z.dtype)])
        return self._decode_full(Z)

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

        def score_batch(module, batch):
            batch = batch.double()
            output = {k: v for k, v in module(batch).items() if isinstance(v, torch.Tensor)}
            return -self.net_.criterion_(output, batch)

        module = self._float64_module()
        if self.n_components_ < self._fitted_with.n_components:
            module.code_corruption = _FirstUnits(self.n_components_)
        return self._infer(X, X.shape[1], 1, score_batch, np.float64, module).ravel()

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

    def energy(self, X):
        """Energy of each row under a one-layer tied-weight autoencoder (higher is more typical).

        A tied autoencoder with one layer has a potential whose gradient is
        ``r(x) - x`` (Kamyshanska & Memisevic, 2013): ``E(x) = sum_k H(s_k)
        - ||x - c||^2 / 2``, with ``s = W x + b`` the code's pre-activation,
        ``H`` the antiderivative of ``code_activation`` (``s**2 / 2``,
        softplus, ``log cosh`` or ``max(s, 0)**2 / 2`` for identity,
        logistic, tanh and relu) and ``c`` the decoder's bias; with
        ``loss="bce"`` the last term is ``c^T x`` and the gradient is the
        reconstruction's logits. See :func:`skae.nn.tied_energy`.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows to score.

        Returns
        -------
        energy : ndarray of shape (n_samples,), dtype float64
            ``E(x)`` of each row, computed in float64 from the fitted
            weights (whatever the start, PCA's solution included). For a
            logistic code it is minus the free energy of the restricted
            Boltzmann machine with the same weights, so
            ``exp(E(x))`` is proportional to that model's density.

        Raises
        ------
        ValueError
            If the network has no closed-form energy: hidden layers, untied
            weights, an ``architecture`` or a variational network.

        Examples
        --------
        >>> from sklearn.datasets import load_digits
        >>> from skae import Autoencoder
        >>> X = load_digits().data[:300] / 16
        >>> ae = Autoencoder(n_components=8, hidden_layer_sizes=(), tied_weights=True,
        ...                  max_iter=20, random_state=0).fit(X)
        >>> energy = ae.energy(X)
        >>> energy.shape, energy.dtype
        ((300,), dtype('float64'))
        >>> bool(ae.energy(1 - X).mean() < energy.mean())  # inverted digits are atypical
        True
        """
        from .nn._energy import tied_energy, tied_energy_parameters

        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        module = self._float64_module()
        try:
            params = tied_energy_parameters(module)
        except ValueError as exc:
            raise ValueError(
                f"{type(self).__name__}.energy needs a one-layer autoencoder with tied weights "
                "(hidden_layer_sizes=(), tied_weights=True, no architecture, not a "
                f"variational autoencoder), whose energy has a closed form; here {exc}"
            ) from None

        def energy_batch(_, batch):
            return tied_energy(batch.double(), **params)

        return self._infer(X, X.shape[1], 1, energy_batch, np.float64, module).ravel()

    @property
    def _n_features_out(self):
        return self.n_components_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags
