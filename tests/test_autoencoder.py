"""What the plain Autoencoder adds: architecture options and its oracles."""

import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from scipy.linalg import subspace_angles
from sklearn.datasets import load_breast_cancer, load_digits, make_s_curve
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler
from skorch.callbacks import Callback, LRScheduler
from torch.optim.lr_scheduler import LambdaLR

from skae import Autoencoder, ConvolutionalArchitecture, _training
from skae._training import beats_start
from skae.nn import ConvEncoder


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16, y


@pytest.fixture(scope="module")
def digits_split(digits):
    X, y = digits
    return train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)


def test_linear_autoencoder_reaches_pca_subspace(digits):
    # Baldi & Hornik (1989): a linear autoencoder trained on squared error
    # spans the top principal subspace. Full-batch training removes the
    # mini-batch noise that would otherwise decide where it lands.
    X = digits[0] - digits[0].mean(axis=0)
    k = 10
    pca = PCA(n_components=k).fit(X)
    ae = Autoencoder(
        n_components=k,
        hidden_layer_sizes=(),
        activation="identity",
        init="random",  # the default would start at PCA's solution
        early_stopping=False,
        batch_size=len(X),
        max_iter=500,
        learning_rate_init=1e-2,
        alpha=0.0,
        tol=0.0,
        n_iter_no_change=500,
        random_state=0,
    ).fit(X)
    decoder_weight = ae.net_.module_.decoder[0].weight.detach().numpy()
    largest_angle = np.degrees(subspace_angles(decoder_weight, pca.components_.T)).max()
    assert largest_angle < 3.0

    pca_error = np.mean((pca.inverse_transform(pca.transform(X)) - X) ** 2)
    ae_error = np.mean((ae.inverse_transform(ae.transform(X)) - X) ** 2)
    assert ae_error <= 1.02 * pca_error


def test_default_linear_autoencoder_starts_at_pca_and_stays_there(digits):
    # init="auto" starts a linear autoencoder at PCA's solution, which no
    # epoch can improve on the held-out rows: the fit ends as PCA itself.
    X = digits[0]
    pca = PCA(n_components=10).fit(X)
    ae = Autoencoder(
        n_components=10, hidden_layer_sizes=(), activation="identity", max_iter=20, random_state=0
    ).fit(X)
    np.testing.assert_allclose(
        ae.inverse_transform(ae.transform(X)), pca.inverse_transform(pca.transform(X)), atol=1e-4
    )
    assert ae.validation_mse_ <= ae.pca_validation_mse_ * (1 + 1e-6)


def test_beating_pca_counts_only_beyond_two_standard_errors():
    # Paired per-row differences: the mean must be below zero by more than
    # two standard errors of the mean difference.
    start = np.ones(10)
    assert beats_start(start - 0.1, start)
    noisy = start + np.array([-0.5, 0.4] * 5)  # mean -0.05, standard error 0.15
    assert not beats_start(noisy, start)
    assert not beats_start(np.array([0.0]), np.array([1.0]))  # one row says nothing
    assert not beats_start(start, start)


@pytest.mark.parametrize("sparse", [False, True])
def test_tol_is_in_units_of_the_rows_mean_variance(digits, sparse):
    X = digits[0][:300] * 7.0
    ae = Autoencoder(n_components=5, max_iter=2, early_stopping=False, tol=1e-3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ae.fit(sp.csr_matrix(X) if sparse else X)
    stopper = dict(ae.net_.callbacks_)["early_stopping"]
    assert stopper.threshold == pytest.approx(1e-3 * X.var(axis=0).mean(), rel=1e-9)


def test_a_deep_network_ahead_of_pca_only_within_noise_ends_as_pca(digits):
    # 100 training rows leave 10 held-out rows: the network's best epoch is
    # ahead of PCA's start on their mean loss, but not beyond noise, so the
    # fit ends as PCA of all the rows.
    X = digits[0][:-397][np.random.RandomState(0).permutation(1400)[:100]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ae = Autoencoder(n_components=30, random_state=0).fit(X)
    stopper = dict(ae.net_.callbacks_)["early_stopping"]
    assert min(ae.net_.history[:, "valid_loss"]) < stopper.start_score_  # ahead on the mean
    assert ae.validation_mse_ == ae.pca_validation_mse_
    pca = PCA(n_components=30).fit(X)
    np.testing.assert_allclose(
        ae.inverse_transform(ae.transform(X)), pca.inverse_transform(pca.transform(X)), atol=1e-4
    )


def kept_start(ae):
    """The ``init`` that trains the start a fitted ``init="auto"`` estimator kept."""
    return "random" if ae._fitted_with.init == "random" else "pca"


def on_every_row(ae, X, **params):
    """The network ``ae`` kept on one held-out split, trained alone on every row of ``X``.

    From the start it kept, for the best epoch count of that split, at the
    learning rates the split's epochs had, without held-out rows: what a fit
    of up to ``_REFIT_MAX_ROWS`` rows ends with.
    """
    epochs = dict(ae.net_.callbacks_)["early_stopping"].best_epoch_
    replay = {}
    if "event_lr" in ae.net_.history[0]:  # the rate adapted on the split
        rates = [row["event_lr"] for row in ae.net_.history][:epochs]
        start = ae.learning_rate_init
        schedule = LRScheduler(LambdaLR, lr_lambda=lambda e: rates[min(e, epochs - 1)] / start)
        # "adaptive" stops after three spans of half n_iter_no_change.
        replay = dict(
            n_iter_no_change=3 * (ae.n_iter_no_change // 2), callbacks=[("replay", schedule)]
        )
    return Autoencoder(
        **{**params, "max_iter": epochs},
        init=kept_start(ae),
        early_stopping=False,
        learning_rate="constant",
        **replay,
    ).fit(X)


def assert_kept(auto, alone, X, params):
    """``auto`` kept the network ``alone`` trained on its split, then trained it on every row."""
    np.testing.assert_array_equal(
        auto.net_.history[:, "valid_loss"], alone.net_.history[:, "valid_loss"]
    )
    np.testing.assert_array_equal(auto.transform(X), on_every_row(auto, X, **params).transform(X))


def test_a_pca_start_that_gains_nothing_is_trained_again_from_a_random_start(monkeypatch):
    # On these rows the PCA start's non-linear branch does not open before
    # early stopping ends it, while the network from a random start beats PCA
    # on the held-out rows: the fit keeps the network init="random" trains,
    # trained again on every row. One split decides, as from 500 rows up
    # (200 rows hold out only 20).
    monkeypatch.setattr(_training, "_MIN_HELD_OUT_ROWS", 0)
    X = StandardScaler().fit_transform(load_breast_cancer().data)[:200]
    params = dict(n_components=2, hidden_layer_sizes=(64,), random_state=0)
    auto = Autoencoder(**params).fit(X)
    at_random = Autoencoder(init="random", **params).fit(X)
    assert kept_start(auto) == "random"
    assert_kept(auto, at_random, X, params)
    assert auto.validation_mse_ < auto.pca_validation_mse_
    restored = pickle.loads(pickle.dumps(auto))
    np.testing.assert_array_equal(restored.transform(X), auto.transform(X))


def s_curve_in_ten_dimensions():
    """600 points near a 2-D S-shaped sheet, standardised and rotated into 10 dimensions."""
    Y, _ = make_s_curve(600, noise=0.05, random_state=0)
    rotation = np.linalg.qr(np.random.RandomState(0).randn(10, 3))[0]
    return ((Y - Y.mean(0)) / Y.std(0)) @ rotation.T


def test_on_small_data_a_random_start_replaces_a_pca_start_it_beats():
    # The PCA start's network beats PCA on the held-out rows, but a random
    # start unrolls the sheet far better: on fewer than
    # _BOTH_STARTS_MAX_ROWS rows both are trained, and the fit keeps the
    # network init="random" trains.
    X = s_curve_in_ten_dimensions()
    params = dict(n_components=2, random_state=0)
    from_pca = Autoencoder(init="pca", **params).fit(X)
    assert from_pca.validation_mse_ < from_pca.pca_validation_mse_
    auto = Autoencoder(**params).fit(X)
    at_random = Autoencoder(init="random", **params).fit(X)
    assert kept_start(auto) == "random"
    assert_kept(auto, at_random, X, params)
    assert auto.validation_mse_ < 0.5 * from_pca.validation_mse_


def test_a_random_start_within_noise_of_the_pca_start_does_not_replace_it(digits):
    # On 500 digits with 2 components both starts beat PCA and the random
    # start is not ahead of the PCA start beyond noise: the PCA start stays.
    X = digits[0][:500]
    params = dict(n_components=2, random_state=0)
    auto = Autoencoder(**params).fit(X)
    from_pca = Autoencoder(init="pca", **params).fit(X)
    assert kept_start(auto) == "pca"
    assert_kept(auto, from_pca, X, params)
    assert auto.validation_mse_ < auto.pca_validation_mse_
    # The 50 held-out rows lowered the rate before the best epoch, so the
    # network trained on every row replayed a schedule, not a constant rate.
    best = dict(auto.net_.callbacks_)["early_stopping"].best_epoch_
    assert len(set(auto.net_.history[:best, "event_lr"])) == 2


def test_from_both_starts_only_below_the_row_limit(monkeypatch):
    # Above the limit a PCA start that gained something is not trained again.
    monkeypatch.setattr(_training, "_BOTH_STARTS_MAX_ROWS", 500)
    X = s_curve_in_ten_dimensions()
    params = dict(n_components=2, random_state=0)
    CountTrainings.started.clear()
    auto = Autoencoder(**params, callbacks=[CountTrainings()]).fit(X)
    assert len(CountTrainings.started) == 2  # the PCA start, then on every row
    from_pca = Autoencoder(init="pca", **params).fit(X)
    assert kept_start(auto) == "pca"
    assert_kept(auto, from_pca, X, params)


def test_a_random_start_kept_untrained_stays_its_own_weights(monkeypatch):
    # A random start whose best epoch is 0 (a learning rate too small to
    # move it) and that the held-out test keeps (forced here) ends as its
    # own untrained weights: trained on every row for no epoch it is itself,
    # where PCA's start would be PCA of every row.
    monkeypatch.setattr(_training, "beats_start", lambda losses, start_losses: True)
    X = load_digits().data[:200] / 16
    params = dict(n_components=2, learning_rate_init=1e-12, max_iter=5, random_state=0)
    auto = Autoencoder(**params).fit(X)
    at_random = Autoencoder(init="random", **params).fit(X)
    assert kept_start(auto) == "random"
    assert dict(at_random.net_.callbacks_)["early_stopping"].best_epoch_ == 0
    np.testing.assert_array_equal(auto.transform(X), at_random.transform(X))


def test_above_the_refit_limit_the_network_of_the_split_is_kept(monkeypatch):
    # Above _REFIT_MAX_ROWS the network kept on the held-out split is the
    # fit's: nothing is trained on every row.
    monkeypatch.setattr(_training, "_BOTH_STARTS_MAX_ROWS", 500)
    monkeypatch.setattr(_training, "_REFIT_MAX_ROWS", 500)
    X = s_curve_in_ten_dimensions()
    auto = Autoencoder(n_components=2, random_state=0).fit(X)
    from_pca = Autoencoder(n_components=2, init="pca", random_state=0).fit(X)
    np.testing.assert_array_equal(auto.transform(X), from_pca.transform(X))


class CountTrainings(Callback):
    """Count the networks trained, across the copies each net makes of it."""

    started = []  # a class attribute: shared by the deep copies

    def on_train_begin(self, net, **kwargs):
        CountTrainings.started.append(len(net.history))


class InterruptAtEpoch(Callback):
    """Raise KeyboardInterrupt at the end of epoch 2, as Ctrl-C would."""

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == 2:
            raise KeyboardInterrupt


def test_an_interrupted_fit_is_not_trained_again_from_a_random_start(monkeypatch):
    monkeypatch.setattr(_training, "_MIN_HELD_OUT_ROWS", 0)  # one split
    X = StandardScaler().fit_transform(load_breast_cancer().data)[:200]
    params = dict(n_components=2, hidden_layer_sizes=(64,), random_state=0)
    CountTrainings.started.clear()
    Autoencoder(**params, callbacks=[CountTrainings()]).fit(X)
    assert len(CountTrainings.started) == 3  # the PCA start, the random one, on every row
    CountTrainings.started.clear()
    ae = Autoencoder(**params, callbacks=[CountTrainings(), InterruptAtEpoch()]).fit(X)
    assert len(CountTrainings.started) == 1
    assert ae.n_iter_ == 2


def test_the_held_out_folds_partition_the_rows_and_the_first_is_the_hold_out_split():
    folds = _training.hold_out_folds(105, 0.1, seed=3)
    assert len(folds) == 10  # of 10 rows each; 5 rows are always training rows
    for first, expected in zip(folds[0], _training.hold_out(105, 0.1, 3), strict=True):
        np.testing.assert_array_equal(first, expected)
    held_out = np.concatenate([valid for _, valid in folds])
    assert len(np.unique(held_out)) == 100
    for train, valid in folds:
        assert len(valid) == 10
        np.testing.assert_array_equal(np.sort(np.concatenate([train, valid])), np.arange(105))


class RecordTrainings(Callback):
    """The epochs of each network trained, across the copies each net makes of it."""

    epochs = []  # a class attribute: shared by the deep copies

    def on_train_end(self, net, **kwargs):
        RecordTrainings.epochs.append(len(net.history))


def hundred_digits(digits):
    """The 100 training digits of the never-worse benchmark's seed 0, and its 397 test digits."""
    pool, test = digits[0][:1400], digits[0][-397:]
    return pool[np.sort(np.random.RandomState(0).choice(1400, 100, replace=False))], test


def test_on_tiny_data_every_fold_decides_and_the_winner_is_trained_on_every_row(digits):
    # 100 rows hold out 10: one split's test did not separate the network
    # from PCA's start, and its network ended at 1.01 times PCA's test error.
    # On every fold's held-out rows (100 paired differences) the PCA start's
    # network wins, and the network trained on every row for the median of
    # the folds' best epochs is ahead of PCA on the test rows (0.875 x).
    X, test = hundred_digits(digits)

    def test_error(model):
        return np.sum((model.inverse_transform(model.transform(test)) - test) ** 2)

    pca_error = test_error(PCA(n_components=2).fit(X))
    RecordTrainings.epochs.clear()
    ae = Autoencoder(n_components=2, random_state=0, callbacks=[RecordTrainings()]).fit(X)
    # The PCA start and the random one on each of the 10 folds, then the refit.
    assert len(RecordTrainings.epochs) == 21
    assert ae.validation_mse_ < ae.pca_validation_mse_
    assert test_error(ae) < 0.95 * pca_error
    refit = Autoencoder(
        n_components=2, early_stopping=False, max_iter=RecordTrainings.epochs[-1], random_state=0
    ).fit(X)
    np.testing.assert_array_equal(ae.transform(X), refit.transform(X))


def test_on_tiny_data_a_win_of_most_folds_over_pca_of_fewer_rows_ends_as_pca(digits):
    # With 30 components, PCA of 90 rows has 1.11 times the test error of
    # PCA of 100. The folds' networks beat the former on the held-out rows
    # but most stayed at their start, and trained for the median of their
    # best epochs (0) on every row the network is PCA: the fit ends as PCA.
    X, _ = hundred_digits(digits)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ae = Autoencoder(n_components=30, random_state=0).fit(X)
    pca = PCA(n_components=30).fit(X)
    np.testing.assert_allclose(
        ae.inverse_transform(ae.transform(X)), pca.inverse_transform(pca.transform(X)), atol=1e-4
    )


def test_a_convolutional_network_on_small_data_is_trained_from_both_starts(digits):
    # As an MLP: below _BOTH_STARTS_MAX_ROWS the random start is trained too
    # whatever the PCA start gained (on 1,000 MNIST images with 10
    # components it reached 0.73 times PCA's test error, the PCA start 0.83),
    # and the fit is that of the start it keeps. 500 rows: one split decides.
    # No pixel path: no MLP of its own to be matched against (tested below).
    X = digits[0][:500]
    conv = ConvolutionalArchitecture(image_shape=(8, 8), channels=(4, 8), pixel_path=False)
    params = dict(n_components=2, architecture=conv, max_iter=30, random_state=0)
    CountTrainings.started.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # 30 epochs, for time
        auto = Autoencoder(**params, callbacks=[CountTrainings()]).fit(X)
        alone = Autoencoder(**params, init=kept_start(auto)).fit(X)
        assert len(CountTrainings.started) == 3  # both starts, then on every row
        assert auto.validation_mse_ < auto.pca_validation_mse_
        assert_kept(auto, alone, X, params)


def test_a_convolutional_network_on_tiny_data_decides_on_every_fold(digits):
    # As an MLP: 100 rows hold out 10, so both starts are trained on each of
    # the 10 folds, and the network that wins on them is trained again on
    # every row, for the median of the folds' best epochs.
    X, _ = hundred_digits(digits)
    conv = ConvolutionalArchitecture(image_shape=(8, 8), channels=(4,), pixel_path=False)
    params = dict(n_components=2, architecture=conv, max_iter=30, random_state=0)
    RecordTrainings.epochs.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ae = Autoencoder(**params, callbacks=[RecordTrainings()]).fit(X)
        assert ae.validation_mse_ < ae.pca_validation_mse_  # a network won
        assert len(RecordTrainings.epochs) == 21
        epochs = RecordTrainings.epochs[-1]
        refit = Autoencoder(
            **{**params, "max_iter": epochs}, init=kept_start(ae), early_stopping=False
        ).fit(X)
    np.testing.assert_array_equal(ae.transform(X), refit.transform(X))


def holds_convolutions(ae):
    """Whether the fitted network of ``ae`` is convolutional (not the MLP it holds)."""
    return any(isinstance(m, ConvEncoder) for m in ae.net_.module_.modules())


def test_convolutions_that_do_not_beat_the_mlp_they_hold_leave_the_mlp(digits):
    # With a pixel path the network holds the MLP of its dense layers. On
    # 500 digits the convolutions do not beat that MLP trained alone on the
    # held-out rows, so the fit is that MLP's fit, bit for bit: from the
    # same split and starts, trained again on every row.
    # (With 32 dense units instead of 512 the convolutions do win here.)
    X = digits[0][:500]
    conv = ConvolutionalArchitecture(image_shape=(8, 8), channels=(4,))
    params = dict(n_components=2, max_iter=30, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # 30 epochs, for time
        ae = Autoencoder(architecture=conv, **params).fit(X)
        mlp = Autoencoder(**params).fit(X)  # the default MLP: 512 units, as the dense layer
    assert not holds_convolutions(ae) and ae.validation_mse_ < ae.pca_validation_mse_
    np.testing.assert_array_equal(ae.transform(X), mlp.transform(X))
    np.testing.assert_array_equal(
        ae.inverse_transform(ae.transform(X)), mlp.inverse_transform(mlp.transform(X))
    )
    assert ae.architecture is conv  # the parameters are the user's
    restored = pickle.loads(pickle.dumps(ae))
    np.testing.assert_array_equal(restored.transform(X), ae.transform(X))
    # A warm start goes on training the MLP it kept.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ae.set_params(warm_start=True, max_iter=2, early_stopping=False).fit(X)
        mlp.set_params(warm_start=True, max_iter=2, early_stopping=False).fit(X)
    assert not holds_convolutions(ae)
    np.testing.assert_array_equal(ae.transform(X), mlp.transform(X))


def blob_images(n_images, side, seed):
    """Images of one Gaussian blob each (width 2 pixels) at a random position: a 2-D manifold."""
    rng = np.random.RandomState(seed)
    rows, columns = np.mgrid[:side, :side]
    y, x = rng.uniform(2, side - 3, size=(2, n_images))
    squared = (rows - y[:, None, None]) ** 2 + (columns - x[:, None, None]) ** 2
    return np.exp(-squared / 8.0).reshape(n_images, -1).astype(np.float32)


def test_convolutions_that_beat_the_mlp_they_hold_are_kept():
    # A blob moving over the image: the same few weights serve every
    # position in a convolution, while the MLP has to learn each position
    # on its own. The convolutional network beats its MLP on the held-out
    # rows and on new images (measured: 0.059 against 0.155 per image).
    X, X_new = blob_images(500, 12, seed=0), blob_images(500, 12, seed=1)
    conv = ConvolutionalArchitecture(image_shape=(12, 12), channels=(4,), dense_layer_sizes=(32,))
    params = dict(n_components=2, max_iter=100, random_state=0)
    ae = Autoencoder(architecture=conv, **params).fit(X)
    mlp = Autoencoder(hidden_layer_sizes=(32,), **params).fit(X)
    assert holds_convolutions(ae)
    assert ae.validation_mse_ < mlp.validation_mse_

    def error(model):
        return np.mean((model.inverse_transform(model.transform(X_new)) - X_new) ** 2)

    assert error(ae) < 0.5 * error(mlp)


def test_rounding_on_exactly_low_rank_rows_does_not_warn_of_losing_to_pca(digits):
    # Rows with 3 dimensions, up to float32 rounding: PCA and the float32
    # network both reconstruct them to rounding, the network's larger by
    # far more than 2 %. That is no reason to warn that PCA does better.
    X = digits[0]
    pca = PCA(n_components=3).fit(X)
    low_rank = pca.inverse_transform(pca.transform(X)).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)  # five epochs on purpose
        ae = Autoencoder(
            n_components=3, hidden_layer_sizes=(), activation="identity", max_iter=5, random_state=0
        ).fit(low_rank)
    # The start was not beaten, so the fit ends as PCA and reports PCA's error.
    assert ae.validation_mse_ == ae.pca_validation_mse_ < 1e-9


def test_digits_2d_codes_beat_pca_in_knn_accuracy(digits_split):
    X_train, X_test, y_train, y_test = digits_split

    def knn_accuracy(reducer):
        reducer.fit(X_train)
        knn = KNeighborsClassifier(n_neighbors=5).fit(reducer.transform(X_train), y_train)
        return knn.score(reducer.transform(X_test), y_test)

    pca_accuracy = knn_accuracy(PCA(n_components=2))
    ae_accuracy = knn_accuracy(Autoencoder(n_components=2, random_state=0))
    # Measured: 0.78 on this split and 0.83 on another (random_state=1),
    # against PCA's 0.61 and 0.63.
    assert pca_accuracy < 0.65
    assert ae_accuracy > 0.75
    assert ae_accuracy > pca_accuracy + 0.12


def test_digits_10d_test_reconstruction_beats_pca(digits_split):
    X_train, X_test, _, _ = digits_split
    pca = PCA(n_components=10).fit(X_train)
    ae = Autoencoder(n_components=10, random_state=0).fit(X_train)
    pca_error = np.mean((pca.inverse_transform(pca.transform(X_test)) - X_test) ** 2)
    ae_error = np.mean((ae.inverse_transform(ae.transform(X_test)) - X_test) ** 2)
    assert ae_error < 0.8 * pca_error


def test_linear_autoencoder_transform_is_affine(digits):
    X = digits[0][:50]
    ae = Autoencoder(
        n_components=3, hidden_layer_sizes=(), activation="identity", max_iter=3, random_state=0
    ).fit(X)
    a, b = X[:25], X[25:]
    mix = ae.transform(0.3 * a + 0.7 * b)
    np.testing.assert_allclose(mix, 0.3 * ae.transform(a) + 0.7 * ae.transform(b), atol=1e-5)


def test_logistic_code_lies_in_unit_interval(digits):
    X = digits[0][:200]
    ae = Autoencoder(n_components=4, code_activation="logistic", max_iter=3, random_state=0)
    Z = ae.fit(X).transform(X)
    assert Z.min() > 0 and Z.max() < 1


def test_tied_weights_decoder_reuses_transposed_encoder_weights(digits):
    X = digits[0][:200]
    params = {"n_components": 4, "hidden_layer_sizes": (16,), "max_iter": 3, "random_state": 0}
    tied = Autoencoder(tied_weights=True, **params).fit(X)
    # Without PCA's linear path beside the network (it has weights of its own).
    untied = Autoencoder(init="random", **params).fit(X)

    def n_parameters(est):
        return sum(p.numel() for p in est.net_.module_.parameters())

    weights = 64 * 16 + 16 * 4
    assert n_parameters(untied) - n_parameters(tied) == weights

    # The reconstruction is computed by hand from the encoder's weights alone.
    module = tied.net_.module_
    first, second = module.encoder.linears
    biases = module.decoder.biases
    Z = torch.as_tensor(tied.transform(X))
    hidden = torch.relu(Z @ second.weight + biases[0])
    expected = hidden @ first.weight + biases[1]
    np.testing.assert_allclose(
        tied.inverse_transform(Z.numpy()), expected.detach().numpy(), rtol=1e-5, atol=1e-5
    )


def test_bce_loss_gives_reconstructions_in_unit_interval(digits):
    X = digits[0][:300]
    ae = Autoencoder(n_components=8, loss="bce", max_iter=5, random_state=0).fit(X)
    X_hat = ae.inverse_transform(ae.transform(X))
    assert X_hat.min() > 0 and X_hat.max() < 1
    # score_samples is minus the per-row binary cross-entropy.
    p = np.clip(X_hat.astype(np.float64), 1e-12, 1 - 1e-12)
    bce = -(X * np.log(p) + (1 - X) * np.log(1 - p)).mean(axis=1)
    np.testing.assert_allclose(ae.score_samples(X), -bce, rtol=1e-4)


def test_bce_loss_rejects_data_outside_unit_interval(digits):
    with pytest.raises(ValueError, match=r"loss='bce' needs data in \[0, 1\].*MinMaxScaler"):
        Autoencoder(loss="bce", max_iter=1).fit(digits[0][:20] * 16)


@pytest.mark.parametrize("hidden", [(0,), (10, -1), ("a",)])
def test_bad_hidden_layer_sizes_are_rejected(digits, hidden):
    with pytest.raises(
        ValueError, match="hidden_layer_sizes must be a positive int or a tuple of positive"
    ):
        Autoencoder(hidden_layer_sizes=hidden, max_iter=1).fit(digits[0][:20])


def test_single_layer_nonlinear_autoencoder(digits):
    # hidden_layer_sizes=() with a non-linear code is the classic one-layer
    # autoencoder h = s(Wx + b).
    X = digits[0][:200]
    ae = Autoencoder(
        n_components=5,
        hidden_layer_sizes=(),
        code_activation="logistic",
        max_iter=2,
        random_state=0,
    ).fit(X)
    linear = ae.net_.module_.encoder[0]
    expected = torch.sigmoid(linear(torch.as_tensor(X, dtype=torch.float32)))
    np.testing.assert_allclose(ae.transform(X), expected.detach().numpy(), rtol=1e-5, atol=1e-6)
