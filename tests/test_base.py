"""Behaviour every skae estimator shares through the base class."""

import io
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from _registry import ESTIMATOR_CLASSES
from _registry import fast as registry_fast
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler
from sklearn.svm import SVC
from sklearn.utils._param_validation import InvalidParameterError
from skorch.callbacks import Callback

from skae import VAE, Autoencoder, SparseAutoencoder

# The registry's fast settings, a little wider and shorter, seeded.
FAST = {"max_iter": 3, "hidden_layer_sizes": (16,), "random_state": 0}


ESTIMATORS = pytest.mark.parametrize("Estimator", ESTIMATOR_CLASSES, ids=lambda c: c.__name__)


@pytest.fixture(scope="module")
def X():
    # 500 rows hold out 50: one split decides whether a network beats PCA.
    return load_digits().data[:500] / 16


def fast(Estimator, **params):
    return registry_fast(Estimator, **{**FAST, **params})


def without_convergence_warning(function, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return function(*args)


# ---------------------------------------------------------------- determinism


@ESTIMATORS
def test_same_random_state_gives_bit_identical_fits(Estimator, X):
    first = without_convergence_warning(fast(Estimator).fit, X)
    second = without_convergence_warning(fast(Estimator).fit, X)
    assert first.loss_curve_ == second.loss_curve_
    np.testing.assert_array_equal(first.transform(X), second.transform(X))


@ESTIMATORS
def test_different_random_states_give_different_fits(Estimator, X):
    # Without early stopping: a fit that keeps PCA's start ends as PCA of
    # every row, which no seed changes.
    first = without_convergence_warning(
        fast(Estimator, random_state=0, early_stopping=False).fit, X
    )
    second = without_convergence_warning(
        fast(Estimator, random_state=1, early_stopping=False).fit, X
    )
    assert not np.array_equal(first.transform(X), second.transform(X))


@ESTIMATORS
def test_transform_is_deterministic_and_batch_size_independent(Estimator, X, monkeypatch):
    est = without_convergence_warning(fast(Estimator).fit, X)
    whole = est.transform(X)
    np.testing.assert_array_equal(whole, est.transform(X))
    # Force inference batches of 7 rows: the same codes, batch by batch.
    monkeypatch.setattr("skae._base._INFERENCE_BATCH_VALUES", 7 * X.shape[1])
    np.testing.assert_allclose(est.transform(X), whole, rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------ input handling


@ESTIMATORS
def test_float64_float32_and_list_inputs_give_float32_output(Estimator, X):
    est = without_convergence_warning(fast(Estimator).fit, X)
    from_64 = est.transform(X.astype(np.float64))
    from_32 = est.transform(X.astype(np.float32))
    from_list = est.transform(X.tolist())
    assert from_64.dtype == from_32.dtype == np.float32
    np.testing.assert_array_equal(from_64, from_32)
    np.testing.assert_array_equal(from_64, from_list)
    assert est.inverse_transform(from_64).dtype == np.float32


@ESTIMATORS
def test_pandas_in_and_out(Estimator, X):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(X, columns=[f"pixel{i}" for i in range(X.shape[1])])
    with warnings.catch_warnings():
        # No "X does not have valid feature names" from skae's own calls.
        warnings.filterwarnings("error", message=".*feature names")
        est = without_convergence_warning(
            fast(Estimator, n_components=3).set_output(transform="pandas").fit, df
        )
    np.testing.assert_array_equal(est.feature_names_in_, df.columns)
    out = est.transform(df)
    prefix = Estimator.__name__.lower()
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == [f"{prefix}0", f"{prefix}1", f"{prefix}2"]
    assert list(est.get_feature_names_out()) == list(out.columns)


@ESTIMATORS
def test_sparse_input_matches_dense_input(Estimator, X):
    X_sparse = sp.csr_matrix(X)
    dense = without_convergence_warning(fast(Estimator).fit, X)
    sparse = without_convergence_warning(fast(Estimator).fit, X_sparse)
    np.testing.assert_array_equal(dense.transform(X), sparse.transform(X_sparse))
    np.testing.assert_array_equal(dense.score_samples(X), sparse.score_samples(X_sparse))


@ESTIMATORS
@pytest.mark.parametrize("batch_size", [1, 10_000])
def test_any_batch_size_fits(Estimator, X, batch_size):
    est = without_convergence_warning(
        fast(Estimator, batch_size=batch_size, max_iter=1).fit, X[:20]
    )
    assert np.isfinite(est.transform(X[:20])).all()


@ESTIMATORS
def test_one_sample_fits(Estimator, X):
    est = without_convergence_warning(fast(Estimator).fit, X[:1])
    assert est.transform(X[:1]).shape == (1, est.n_components)


BAD_INPUTS = {
    "nan": (np.array([[0.0, np.nan], [1.0, 2.0]]), "NaN"),
    "inf": (np.array([[0.0, np.inf], [1.0, 2.0]]), "infinity"),
    "empty": (np.empty((0, 2)), "0 sample"),
    "strings": (np.array([["a", "b"], ["c", "d"]]), "could not convert"),
    "one-dimensional": (np.array([1.0, 2.0, 3.0]), "Expected 2D array"),
    "complex": (np.array([[1 + 1j, 2.0]]), "[Cc]omplex"),
}


@ESTIMATORS
@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_to_fit_is_a_clear_value_error(Estimator, case):
    X_bad, message = BAD_INPUTS[case]
    original = X_bad.copy()
    with pytest.raises(ValueError, match=message):
        fast(Estimator).fit(X_bad)
    np.testing.assert_array_equal(X_bad, original)


@ESTIMATORS
def test_wrong_width_is_a_clear_value_error(Estimator, X):
    est = without_convergence_warning(fast(Estimator, n_components=2).fit, X)
    with pytest.raises(ValueError, match=f"X has 3 features, but {Estimator.__name__}"):
        est.transform(X[:, :3])
    with pytest.raises(ValueError, match="inverse_transform expects codes with n_components=2"):
        est.inverse_transform(np.zeros((2, 5)))
    with pytest.raises(ValueError, match="NaN"):
        est.transform(np.full_like(X, np.nan))


@pytest.mark.parametrize(
    "params",
    [
        {"n_components": 0},
        {"batch_size": -1},
        {"activation": "softmax"},
        {"loss": "l1"},
        {"learning_rate_init": 0.0},
        {"validation_fraction": 1.0},
        {"device": 3},
    ],
)
def test_invalid_parameters_get_scikit_learn_validation_errors(params, X):
    with pytest.raises(InvalidParameterError):
        Autoencoder(**params).fit(X)


def test_unknown_device_string_is_a_value_error(X):
    with pytest.raises(ValueError, match="not a torch device"):
        Autoencoder(device="warp-drive", max_iter=1).fit(X)


def test_a_device_this_machine_lacks_is_a_value_error_saying_what_to_use(X):
    import torch

    # One CUDA device past the last one this machine has (cuda:0 without CUDA).
    missing = f"cuda:{torch.cuda.device_count()}"
    with pytest.raises(ValueError, match=f"device='{missing}' is not available.*device='auto'"):
        Autoencoder(device=missing, max_iter=1).fit(X)


# ------------------------------------------------------------------ training


@ESTIMATORS
def test_fitted_model_keeps_no_copy_of_its_weights(Estimator, X):
    est = fast(Estimator).fit(X)
    # The divergence guard's per-epoch copy (weights and Adam moments) and the
    # epoch's running loss sums are gone once training ends.
    assert dict(est.net_.callbacks_)["divergence_guard"].snapshot_ is None
    assert est.net_.part_sums_ == {}


def test_hidden_layer_sizes_may_be_an_int_as_in_scikit_learns_mlp(X):
    as_int = without_convergence_warning(fast(Autoencoder, hidden_layer_sizes=12).fit, X)
    as_tuple = without_convergence_warning(fast(Autoencoder, hidden_layer_sizes=(12,)).fit, X)
    np.testing.assert_array_equal(as_int.transform(X), as_tuple.transform(X))


def test_constant_code_units_are_reported_with_what_to_change(X):
    # A huge L1 weight drives every ReLU code unit to zero on every row.
    collapsing = SparseAutoencoder(
        **FAST
        | {
            "n_components": 3,
            "sparsity": "l1",
            "code_activation": "relu",
            "sparsity_weight": 10.0,
            "max_iter": 30,
        }
    )
    with pytest.warns(UserWarning, match="3 of the 3 code units.*code_activation='identity'") as w:
        collapsing.fit(X)
    assert [r.filename for r in w if "code units" in str(r.message)] == [__file__]
    assert np.ptp(collapsing.transform(X), axis=0).max() == 0


def test_constant_code_advice_never_repeats_the_current_setting(X):
    # A VAE's code is linear already: the warning must not tell its user to
    # "use code_activation='identity'".
    vae = fast(VAE, n_components=3, hidden_layer_sizes=(16,))
    with pytest.warns(UserWarning, match="code units") as record:
        vae.fit(np.zeros_like(X))  # constant rows give constant codes
    (message,) = [str(r.message) for r in record if "code units" in str(r.message)]
    assert "code_activation='identity'" not in message.split("try")[1]
    assert "a larger n_components" in message


def test_a_healthy_code_raises_no_warning_about_constant_units(X):
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        Autoencoder(**FAST | {"n_components": 3}).fit(X)


def test_fit_still_improving_at_max_iter_warns(X):
    with pytest.warns(ConvergenceWarning, match="max_iter=2") as record:
        Autoencoder(**FAST | {"max_iter": 2}).fit(X)
    # The warning points at the caller's line, not at skae or scikit-learn.
    assert record[0].filename == __file__


def test_training_loss_plateau_stops_before_max_iter(X):
    params = {"max_iter": 500, "tol": 1.0, "n_iter_no_change": 3, "early_stopping": False}
    est = Autoencoder(**FAST | params).fit(X)
    # Nothing improves by 1.0, so the 4th epoch is the last one.
    assert est.n_iter_ == 4
    assert len(est.loss_curve_) == 4


def test_early_stopping_counts_the_start_as_epoch_zero(X):
    # No epoch improves on the start by 1.0: three epochs, then the starting
    # weights (PCA's solution for the training rows) come back, refitted on
    # every row, which is PCA itself.
    est = Autoencoder(**FAST | {"n_components": 5, "tol": 1.0, "n_iter_no_change": 3})
    est.fit(X)
    assert est.n_iter_ == 3
    pca = PCA(5).fit(X.astype(np.float64))
    np.testing.assert_allclose(
        est.inverse_transform(est.transform(X)), pca.inverse_transform(pca.transform(X)), atol=2e-5
    )


def test_alpha_is_an_l2_penalty_on_the_weights_not_the_biases():
    # At the minimum of  loss + alpha / 2 * ||W||^2  (biases unpenalised) the
    # reconstruction loss's gradient is -alpha * W for every weight and zero
    # for every bias. Full-batch training of a linear autoencoder gets there.
    import torch

    X = load_digits().data.astype(np.float32) / 16
    alpha = 1e-2
    est = Autoencoder(
        n_components=5,
        hidden_layer_sizes=(),
        activation="identity",
        batch_size=len(X),
        max_iter=1000,
        learning_rate_init=1e-2,
        # At a constant rate Adam hovers around the stationary point (by
        # about its step on weights whose data gradient is zero); decayed to
        # zero it settles on it.
        learning_rate="cosine",
        alpha=alpha,
        early_stopping=False,
        tol=0.0,
        n_iter_no_change=1000,
        random_state=0,
        device="cpu",
    ).fit(X)
    module = est.net_.module_
    module.zero_grad()
    rows = torch.from_numpy(X)
    ((module(rows)["reconstruction"] - rows) ** 2).mean().backward()
    for name, parameter in module.named_parameters():
        scale = (alpha * module.get_parameter(name.replace("bias", "weight"))).norm()
        expected = -alpha * parameter if name.endswith("weight") else 0.0
        assert (parameter.grad - expected).norm() < 1e-3 * scale, name


@pytest.mark.filterwarnings("ignore:Autoencoder reconstructs the held-out rows worse")
def test_adaptive_learning_rate_divides_by_five_after_half_the_patience(X):
    # The history is the oracle: the rate starts at learning_rate_init and is
    # divided by 5 on the epoch after n_iter_no_change // 2 epochs in a row
    # whose held-out loss did not improve on the best so far by tol (here
    # 0: any decrease counts), twice at most; the fit stops after three such
    # spans.
    n_iter_no_change = 4
    params = dict(
        n_components=30,
        hidden_layer_sizes=(64,),
        init="random",
        learning_rate_init=1e-2,
        tol=0.0,
        n_iter_no_change=n_iter_no_change,
        max_iter=500,
        random_state=0,
        device="cpu",
    )
    # 500 rows hold out 50, the fewest at which the rate adapts.
    est = Autoencoder(**params).fit(X)
    assert est.learning_rate == "adaptive"
    history = est.net_.history
    losses = history[:, "valid_loss"]
    span = n_iter_no_change // 2
    expected, rate, best, misses = [], 1e-2, np.inf, 0
    for epoch, loss in enumerate(losses):
        expected.append(rate)
        if loss < best:
            best, misses, last_best = loss, 0, epoch
        else:
            misses += 1
        if misses == span and rate > 1e-2 / 25 * 1.001:
            rate, misses = rate / 5, 0
    np.testing.assert_allclose(history[:, "event_lr"], expected, rtol=1e-6)
    assert sorted(set(np.round(expected, 9)), reverse=True) == [1e-2, 2e-3, 4e-4]
    # It stopped on the third span without an improvement, not at max_iter.
    assert len(losses) - 1 - last_best == 3 * span
    # partial_fit goes on at learning_rate_init.
    est.partial_fit(X)
    assert [group["lr"] for group in est.net_.optimizer_.param_groups] == [1e-2]
    assert "event_lr" not in est.net_.history[-1]
    # On 49 held-out rows, and without early stopping, the rate stays constant
    # and the fit stops after n_iter_no_change epochs without an improvement.
    for rows, early_stopping in [(X[:490], True), (X, False)]:
        est = Autoencoder(**params, early_stopping=early_stopping).fit(rows)
        history = est.net_.history
        assert "event_lr" not in history[0]
        losses = history[:, "valid_loss" if early_stopping else "train_loss"]
        assert len(losses) - 1 - int(np.argmin(losses)) == n_iter_no_change


class KeepValidationRows(Callback):
    """Keep the rows skorch validated on, to score the restored model on them."""

    def on_epoch_end(self, net, dataset_valid=None, **kwargs):
        self.rows_ = dataset_valid.X.numpy()


def test_early_stopping_holds_out_rows_and_restores_best_weights(X):
    est = Autoencoder(
        **FAST
        | {
            "max_iter": 300,
            "early_stopping": True,
            "n_iter_no_change": 3,
            "tol": 0.0,
            "learning_rate_init": 1e-2,
            "init": "random",  # an actual descent, not PCA's start kept
            "callbacks": [KeepValidationRows()],
        }
    ).fit(X)
    assert est.n_iter_ < 300
    assert len(est.validation_scores_) == est.n_iter_
    assert est.best_validation_score_ == max(est.validation_scores_)
    # 50 of the 500 rows are held out: 450 train rows make three batches of 200.
    assert est.net_.history[-1, "train_batch_count"] == 3
    valid_rows = dict(est.net_.callbacks_)["KeepValidationRows"].rows_
    assert valid_rows.shape == (50, X.shape[1])
    # Stopped three epochs after the best one, whose weights were restored.
    best_epoch = int(np.argmax(est.validation_scores_))
    assert best_epoch == est.n_iter_ - 4
    assert est.score(valid_rows) == pytest.approx(est.best_validation_score_, rel=1e-5)
    assert est.score(valid_rows) > est.validation_scores_[-1]


def test_partial_fit_after_an_early_stopped_fit_trains_on_every_row(X):
    est = fast(Autoencoder, early_stopping=True, batch_size=5, callbacks=[RecordModes()])
    without_convergence_warning(est.fit, X)
    recorder = dict(est.net_.callbacks_)["RecordModes"]
    recorder.modes_ = []
    est.partial_fit(X[:20])
    # Four training batches of 5: all 20 rows, none held out, no validation.
    assert recorder.modes_ == [(True, True)] * 4
    assert est.net_.history[-1, "train_batch_count"] == 4


def test_early_stopping_with_one_sample_says_what_to_change(X):
    with pytest.raises(ValueError, match="early_stopping=False"):
        Autoencoder(early_stopping=True, max_iter=1).fit(X[:1])


@ESTIMATORS
def test_partial_fit_trains_one_epoch_per_call(Estimator, X):
    est = fast(Estimator, init="random")
    est.partial_fit(X)
    assert est.n_iter_ == 1
    first_codes = est.transform(X)
    for _ in range(4):
        est.partial_fit(X)
    assert est.n_iter_ == 5
    assert est.loss_curve_[-1] < est.loss_curve_[0]
    assert not np.array_equal(first_codes, est.transform(X))
    with pytest.raises(ValueError, match="features"):
        est.partial_fit(X[:, :5])


def test_warm_start_continues_from_the_last_fit(X):
    est = Autoencoder(**FAST | {"max_iter": 4, "warm_start": True, "init": "random"})
    without_convergence_warning(est.fit, X)
    first_curve = list(est.loss_curve_)
    without_convergence_warning(est.fit, X)
    assert est.n_iter_ == 8
    assert est.loss_curve_[:4] == first_curve
    assert est.loss_curve_[4] < first_curve[0]

    cold = Autoencoder(**FAST | {"max_iter": 4, "init": "random"})
    without_convergence_warning(cold.fit, X)
    without_convergence_warning(cold.fit, X)
    assert cold.loss_curve_ == first_curve


class StopAtEpoch(Callback):
    """Raise KeyboardInterrupt at the end of the given epoch, as Ctrl-C would."""

    def __init__(self, epoch=2):
        self.epoch = epoch

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == self.epoch:
            raise KeyboardInterrupt


def test_keyboard_interrupt_keeps_a_usable_model(X):
    est = Autoencoder(**FAST | {"max_iter": 50, "callbacks": [StopAtEpoch(2)]}).fit(X)
    assert est.n_iter_ == 2
    assert np.isfinite(est.transform(X)).all()


class RecordModes(Callback):
    """Record, after each batch, whether it was a training one and the module's mode."""

    def on_batch_end(self, net, training=False, **kwargs):
        self.modes_ = [*getattr(self, "modes_", []), (training, net.module_.training)]


def test_training_batches_run_in_train_mode_and_validation_batches_in_eval_mode(X):
    est = Autoencoder(
        **FAST | {"early_stopping": True, "batch_size": 100, "callbacks": [RecordModes()]}
    ).fit(X)
    modes = dict(est.net_.callbacks_)["RecordModes"].modes_
    # 450 training rows in 5 batches and 50 validation rows in 1, for 3 epochs.
    epoch = [(True, True)] * 5 + [(False, False)]
    assert modes == epoch * 3


def test_callbacks_parameter_is_copied_not_modified(X):
    class CountEpochs(Callback):
        def initialize(self):
            self.epochs_ = 0
            return self

        def on_epoch_end(self, net, **kwargs):
            self.epochs_ += 1

    counter = CountEpochs()
    est = without_convergence_warning(Autoencoder(**FAST | {"callbacks": [counter]}).fit, X)
    assert not hasattr(counter, "epochs_")
    assert dict(est.net_.callbacks_)["CountEpochs"].epochs_ == 3
    assert clone(est).callbacks[0] is not counter


def test_verbose_prints_progress_and_default_is_silent(X, capsys):
    without_convergence_warning(Autoencoder(**FAST).fit, X)
    assert capsys.readouterr().out == ""
    without_convergence_warning(Autoencoder(**FAST | {"verbose": 1}).fit, X)
    out = capsys.readouterr().out
    assert "train_loss" in out and out.count("\n") >= 3


# ------------------------------------------------------------------- scoring


@ESTIMATORS
def test_score_is_the_mean_of_score_samples(Estimator, X):
    est = without_convergence_warning(fast(Estimator).fit, X)
    scores = est.score_samples(X)
    assert scores.shape == (len(X),) and scores.dtype == np.float64
    assert est.score(X) == pytest.approx(scores.mean())


def test_autoencoder_score_samples_is_minus_the_row_mse(X):
    est = without_convergence_warning(Autoencoder(**FAST).fit, X)
    reconstruction = est.inverse_transform(est.transform(X)).astype(np.float64)
    np.testing.assert_allclose(
        est.score_samples(X), -((reconstruction - X) ** 2).mean(axis=1), rtol=1e-5
    )


# ------------------------------------------------------------------- in use


def test_pipeline_grid_search_with_pca_and_autoencoder_in_one_grid():
    # 500 rows a fold: three Adam steps an epoch, and one training a fit
    # (with held-out rows, both starts would be trained).
    X, y = load_digits(return_X_y=True)
    X, y = X[:1000], y[:1000]
    pipe = Pipeline([("scale", MinMaxScaler()), ("ae", PCA()), ("svm", SVC())])
    ae = Autoencoder(max_iter=40, early_stopping=False, random_state=0)
    grid = [
        {"ae": [PCA()], "ae__n_components": [5, 10]},
        {"ae": [ae], "ae__n_components": [5, 10]},
    ]
    search = GridSearchCV(pipe, grid, cv=2, n_jobs=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    assert len(scores) == 4 and np.all(scores > 0.7)
    assert search.best_score_ == scores.max()
    assert search.predict(X[:5]).shape == (5,)


def test_unsupervised_grid_search_selects_by_reconstruction(X):
    # With 250 rows a fold, each epoch is two Adam steps; one training per fit.
    params = FAST | {"max_iter": 200, "early_stopping": False}
    search = GridSearchCV(Autoencoder(**params), {"n_components": [1, 16]}, cv=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X)
    assert search.best_params_ == {"n_components": 16}


def test_knn_on_codes_in_a_pipeline(X):
    y = load_digits().target[: len(X)]
    pipe = Pipeline(
        [("ae", Autoencoder(**FAST | {"n_components": 8})), ("knn", KNeighborsClassifier())]
    )
    without_convergence_warning(pipe.fit, X, y)
    assert pipe.score(X, y) > 0.5


def test_repr_shows_only_changed_parameters():
    buffer = io.StringIO()
    print(Autoencoder(n_components=5), file=buffer)
    assert buffer.getvalue().strip() == "Autoencoder(n_components=5)"


def test_fused_adam_is_used_where_torch_supports_it_and_falls_back_elsewhere(monkeypatch):
    from skae import _training

    X = load_digits().data[:100] / 16
    ae = Autoencoder(n_components=2, max_iter=1, random_state=0, device="cpu").fit(X)
    assert ae.net_.optimizer_.defaults["fused"] is _training.fused_adam_supported("cpu")
    assert _training.fused_adam_supported("cpu")  # torch has had a fused CPU Adam since 2.4

    class NoFusedAdam(torch.optim.Adam):
        def __init__(self, params, fused=None, **kwargs):
            if fused:
                raise RuntimeError("fused=True is not supported on this device")
            super().__init__(params, **kwargs)

    _training.fused_adam_supported.cache_clear()
    monkeypatch.setattr(torch.optim, "Adam", NoFusedAdam)
    try:
        assert _training.fused_adam_supported("cpu") is False
    finally:
        _training.fused_adam_supported.cache_clear()
