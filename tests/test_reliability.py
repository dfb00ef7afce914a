"""Reliability under faults and large inputs, for every family.

tests/test_base.py covers the basics (an interrupt at an epoch's end, a fit
diverging on huge data, the ConvergenceWarning of the plain autoencoder, sparse
results equal to dense ones); this file adds interrupts and divergence in
the middle of an epoch, the warning for every family, inference in bounded
batches, and sparse input that is never densified whole.
"""

import tracemalloc
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from _registry import ESTIMATOR_CLASSES, FAST
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from skorch.callbacks import Callback

import skae._base
import skae._pca
from skae import VAE, Autoencoder, ContractiveAutoencoder, DenoisingAutoencoder

FAMILY = pytest.mark.parametrize("Estimator", ESTIMATOR_CLASSES, ids=lambda cls: cls.__name__)

# 120 rows in batches of 25: five batches an epoch, the last one of 20 rows,
# all of them training rows (early stopping would restore its best epoch at
# the end, which is not what these tests look at).
SMALL = {key: value for key, value in FAST.items() if key != "max_iter"} | {
    "n_components": 3,
    "batch_size": 25,
    "random_state": 0,
    "early_stopping": False,
}


@pytest.fixture(scope="module")
def X():
    return load_digits().data[:120] / 16


def weights(est):
    return {k: v.detach().clone() for k, v in est.net_.module_.state_dict().items()}


def assert_same_weights(first, second):
    assert first.keys() == second.keys()
    for key in first:
        torch.testing.assert_close(first[key], second[key], rtol=0, atol=0)


class AtBatch(Callback):
    """Act after training batch ``batch`` of epoch ``epoch`` (both counted from 1)."""

    def __init__(self, epoch, batch, action):
        self.epoch = epoch
        self.batch = batch
        self.action = action

    def initialize(self):
        self.batches_ = 0
        self.epoch_start_ = None
        self.at_action_ = None
        return self

    def on_epoch_begin(self, net, **kwargs):
        self.batches_ = 0
        if len(net.history) == self.epoch:
            self.epoch_start_ = {k: v.clone() for k, v in net.module_.state_dict().items()}

    def on_batch_end(self, net, training=False, **kwargs):
        if not training:
            return
        self.batches_ += 1
        if len(net.history) == self.epoch and self.batches_ == self.batch:
            self.at_action_ = {k: v.clone() for k, v in net.module_.state_dict().items()}
            self.action(net)


def interrupt(net):
    raise KeyboardInterrupt


def poison(net):
    """Make the weights non-finite, as an overflowing step would."""
    with torch.no_grad():
        next(iter(net.module_.parameters())).fill_(float("inf"))


def recorder(est):
    return dict(est.net_.callbacks_)["AtBatch"]


# ---------------------------------------------------------------- interruption


@FAMILY
def test_interrupt_mid_epoch_keeps_the_weights_reached(Estimator, X):
    est = Estimator(**SMALL, max_iter=50, callbacks=[AtBatch(3, 3, interrupt)]).fit(X)
    rec = recorder(est)
    # Two whole epochs, then three of the five batches of the third.
    assert est.n_iter_ == 2 and len(est.loss_curve_) == 2
    assert_same_weights(weights(est), rec.at_action_)
    # Those three steps count: the weights moved on from the last whole epoch.
    assert any(not torch.equal(weights(est)[k], rec.epoch_start_[k]) for k in rec.epoch_start_)
    Z = est.transform(X)
    assert np.isfinite(Z).all()
    assert np.isfinite(est.score_samples(X)).all()
    np.testing.assert_array_equal(est.inverse_transform(Z).shape, X.shape)


class FirstWeights(Callback):
    def on_train_begin(self, net, **kwargs):
        self.weights_ = {k: v.clone() for k, v in net.module_.state_dict().items()}


def test_warm_start_continues_from_an_interrupted_fit(X):
    est = Autoencoder(
        **SMALL, max_iter=4, warm_start=True, callbacks=[AtBatch(2, 2, interrupt)]
    ).fit(X)
    reached = weights(est)
    assert est.n_iter_ == 1
    est.set_params(callbacks=[FirstWeights()])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X)
    # The second fit started from the interrupted one's weights and added epochs.
    assert_same_weights(dict(est.net_.callbacks_)["FirstWeights"].weights_, reached)
    assert est.n_iter_ == 1 + 4
    assert est.loss_curve_[0] > est.loss_curve_[-1]


# ------------------------------------------------------------------ divergence


@FAMILY
@pytest.mark.parametrize("batch", [2, 5], ids=["mid-epoch", "last-batch"])
def test_divergence_inside_an_epoch_restores_its_starting_weights(Estimator, X, batch):
    """Weights turn non-finite in epoch 3: an error, and the end of epoch 2 kept.

    After the last batch no loss is computed any more, so only the weights
    show the divergence; it must not go unnoticed either.
    """
    est = Estimator(**SMALL, max_iter=10, callbacks=[AtBatch(3, batch, poison)])
    with pytest.raises(ValueError, match="diverged.*learning_rate_init.*scale the data"):
        est.fit(X)
    rec = recorder(est)
    assert_same_weights(weights(est), rec.epoch_start_)
    assert all(torch.isfinite(p).all() for p in est.net_.module_.parameters())
    assert len([row for row in est.net_.history if "train_loss" in row]) == 2
    # The optimizer was restored too: training goes on from there, finitely
    # (partial_fit keeps the net and its callbacks: disarm the poison).
    rec.epoch = 0
    est.partial_fit(X)
    assert np.isfinite(est.transform(X)).all()
    assert np.isfinite(est.loss_curve_).all()


@FAMILY
def test_fit_still_improving_at_max_iter_warns_for_every_family(Estimator, X):
    with pytest.warns(ConvergenceWarning, match="max_iter=2"):
        Estimator(**SMALL, max_iter=2).fit(X)


@FAMILY
def test_fit_that_stops_on_tol_does_not_warn(Estimator, X):
    est = Estimator(**SMALL, max_iter=10, tol=1e9, n_iter_no_change=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est.fit(X)
    assert est.n_iter_ == 2


def test_contractive_with_early_stopping_scores_the_penalty_on_validation_rows(X):
    # Deep encoders estimate the penalty from random projections; the
    # validation pass (eval mode) uses fixed ones, so it is repeatable.
    early = {**SMALL, "max_iter": 3, "early_stopping": True}
    first = ContractiveAutoencoder(**early).fit(X)
    second = ContractiveAutoencoder(**early).fit(X)
    assert len(first.validation_scores_) == first.n_iter_
    assert np.isfinite(first.validation_scores_).all()
    assert first.validation_scores_ == second.validation_scores_
    plain = ContractiveAutoencoder(**early, contraction_weight=0)
    plain.fit(X)
    # The same weights (the penalty's gradient aside) score lower with it.
    assert first.validation_scores_[0] < plain.validation_scores_[0]


# ------------------------------------------------------------------ batching


class RowCounter:
    """Wrap ``skae._base.rows_as_tensor`` and record the rows of each batch."""

    def __init__(self, function):
        self.function = function
        self.rows = []

    def __call__(self, X, index, device):
        batch = self.function(X, index, device)
        self.rows.append(batch.shape[0])
        return batch


@FAMILY
def test_inference_runs_in_bounded_batches(Estimator, X, monkeypatch):
    est = Estimator(**SMALL, max_iter=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X)
    Z = est.transform(X)
    # 1,000 values a batch: 15 rows of 64 features, 333 codes of 3, and for
    # the VAE's score_samples (16 draws a row) 0 -> at least 1 row.
    monkeypatch.setattr(skae._base, "_INFERENCE_BATCH_VALUES", 1000)
    counter = RowCounter(skae._base.rows_as_tensor)
    monkeypatch.setattr(skae._base, "rows_as_tensor", counter)
    cases = [
        (est.transform, X, 1000 // X.shape[1]),
        (est.inverse_transform, Z, 1000 // Z.shape[1]),
        (est.score_samples, X, max(1, 1000 // (X.shape[1] * (16 if Estimator is VAE else 1)))),
    ]
    for method, data, limit in cases:
        counter.rows = []
        method(data)
        assert sum(counter.rows) == len(data)
        assert max(counter.rows) == min(limit, len(data))


def test_transform_peak_allocation_is_the_output_not_the_input(monkeypatch):
    """tracemalloc sees numpy's allocations: nothing of the input's size is made."""
    rng = np.random.default_rng(0)
    X = rng.random((20_000, 64), dtype=np.float32)  # 5.1 MB
    est = Autoencoder(**SMALL, max_iter=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X[:100])
    monkeypatch.setattr(skae._base, "_INFERENCE_BATCH_VALUES", 64 * 500)
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        Z = est.transform(X)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert Z.nbytes == 240_000
    # The output (240 kB) and a few batches of 500 rows; a dense copy of X
    # or a whole hidden layer (20,000 x 8 floats, 640 kB) would exceed it.
    assert peak < Z.nbytes + 400_000


# ---------------------------------------------------------------- sparse input


class DensifyRecorder:
    """Record the shape of every sparse matrix or array densified."""

    def __init__(self, monkeypatch):
        self.shapes = []
        for cls in {type(sp.csr_matrix((1, 1))), type(sp.csr_array((1, 1)))}:
            for base in cls.__mro__:
                for name in ("toarray", "todense"):
                    if name in vars(base):
                        monkeypatch.setattr(base, name, self._wrap(vars(base)[name]))

    def _wrap(self, method):
        def wrapper(matrix, *args, **kwargs):
            self.shapes.append(matrix.shape)
            return method(matrix, *args, **kwargs)

        return wrapper


def tfidf_like(n_rows=300, n_features=200, density=0.05, seed=0):
    X = sp.random(n_rows, n_features, density=density, format="csr", random_state=seed)
    X.data = X.data.astype(np.float64)
    return X


@FAMILY
@pytest.mark.parametrize("early_stopping", [False, True])
def test_sparse_input_is_densified_one_batch_at_a_time(Estimator, early_stopping, monkeypatch):
    X = tfidf_like()
    recorder_ = DensifyRecorder(monkeypatch)
    monkeypatch.setattr(skae._base, "_INFERENCE_BATCH_VALUES", 50 * X.shape[1])
    monkeypatch.setattr(skae._pca, "_BATCH_VALUES", 50 * X.shape[1])
    est = Estimator(**{**SMALL, "batch_size": 40, "early_stopping": early_stopping}, max_iter=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X)
    assert recorder_.shapes, "the batches should come from toarray"
    # Training batches of 40 rows; PCA for the start and fit's closing check
    # of the code run batches of 50.
    assert max(rows for rows, _ in recorder_.shapes) <= 50
    assert 40 in {rows for rows, _ in recorder_.shapes}
    recorder_.shapes.clear()
    Z = est.transform(X)
    scores = est.score_samples(X)
    assert recorder_.shapes and max(rows for rows, _ in recorder_.shapes) <= 50
    assert np.isfinite(Z).all() and np.isfinite(scores).all()


@pytest.mark.parametrize(
    "to_format",
    [
        sp.csc_matrix,
        sp.coo_matrix,
        sp.lil_matrix,
        sp.dok_matrix,
        sp.bsr_matrix,
        sp.csr_array,
        sp.csc_array,
        sp.coo_array,
    ],
    ids=lambda f: f.__name__,
)
def test_other_sparse_formats_give_the_csr_results(to_format, monkeypatch):
    X = tfidf_like(n_rows=60, n_features=30, density=0.2)
    monkeypatch.setattr(skae._base, "_INFERENCE_BATCH_VALUES", 10 * X.shape[1])
    est = Autoencoder(**SMALL, max_iter=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reference = est.fit(X)
        Z = reference.transform(X)
        other = Autoencoder(**SMALL, max_iter=2).fit(to_format(X))
    recorder_ = DensifyRecorder(monkeypatch)
    np.testing.assert_array_equal(other.transform(to_format(X)), Z)
    np.testing.assert_array_equal(reference.transform(to_format(X)), Z)
    # Converted to CSR, then densified in batches of 10 rows.
    assert max(rows for rows, _ in recorder_.shapes) <= 10


def test_sparse_input_is_not_modified_and_integer_sparse_works():
    X = tfidf_like(n_rows=50, n_features=20, density=0.3)
    X_int = X.copy()
    X_int.data = np.ceil(X_int.data * 3)
    X_int = X_int.astype(np.int64)
    originals = [(m, m.data.copy(), m.indices.copy(), m.indptr.copy()) for m in (X, X_int)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = DenoisingAutoencoder(**SMALL, noise="salt_and_pepper", max_iter=2).fit(X)
        est.transform(X)
        ints = Autoencoder(**SMALL, max_iter=2).fit(X_int)
    np.testing.assert_array_equal(ints.transform(X_int), ints.transform(X_int.toarray()))
    for matrix, data, indices, indptr in originals:
        np.testing.assert_array_equal(matrix.data, data)
        np.testing.assert_array_equal(matrix.indices, indices)
        np.testing.assert_array_equal(matrix.indptr, indptr)


def test_non_finite_values_in_sparse_input_are_a_clear_value_error():
    X = tfidf_like(n_rows=20, n_features=10, density=0.5)
    X.data[3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        Autoencoder(**SMALL, max_iter=1).fit(X)
